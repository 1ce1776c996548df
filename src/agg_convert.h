/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Shared<->private conversions: one entry per conversion not yet done, identified by its space
 * (a VM's guest physical addresses, or a guest_memfd's offsets), its range and its direction.
 *
 *   asked (a memory-fault exit wants it) -> requested (in flight) -> failed -> requested ...
 *   -> done | superseded (the opposite conversion of the range succeeded) | abandoned (the VM
 *   or its process went away) | requested (an ask that a request covering it took over)
 *
 * A conversion is stuck when it is not done stuck_after after it was first asked for or
 * requested, or when it failed `retries` times in a row, or when the guest raised `retries`
 * memory-fault exits for it (re-raising the same fault over and over). Each conversion becomes stuck at most
 * once and is resolved at most once: the notify callback hears both, which is what makes
 * `watch` alert without duplicates. Everything is a function of the events and of the times
 * passed in, so crafted sequences test it exactly.
 */
#ifndef PS_AGG_CONVERT_H
#define PS_AGG_CONVERT_H

#include <stdbool.h>
#include <stdint.h>
#include "decode.h"
#include "htab.h"

enum conv_state {
	CONV_ASKED = 1, /* a memory-fault exit asked; no request seen yet */
	CONV_INFLIGHT,	/* a request is in the kernel */
	CONV_FAILED,	/* the last request failed; the VMM may retry */
};

enum conv_stuck_why {
	CONV_STUCK_NONE = 0,
	CONV_STUCK_TIME,       /* not done stuck_after after it was first requested */
	CONV_STUCK_RETRIES,    /* failed `retries` times in a row */
	CONV_STUCK_UNANSWERED, /* the guest asked stuck_after ago; the VMM never requested it */
	CONV_STUCK_REFAULTS,   /* the guest raised `retries` memory-fault exits for it */
};

enum conv_outcome {
	CONV_OPEN = 0,
	CONV_DONE,	 /* a request for it (or covering it) succeeded */
	CONV_SUPERSEDED, /* the opposite conversion of an overlapping range succeeded */
	CONV_ABANDONED,	 /* its VM or its process went away */
	CONV_REQUESTED,	 /* an ask taken over by a request covering it */
};

enum conv_note {
	CONV_NOTE_STUCK = 1,
	CONV_NOTE_RESOLVED, /* only for conversions that were stuck */
};

struct conv_ent {
	struct htab_key k; /* id, 0 */
	uint64_t id;	   /* 1, 2, ... in order of appearance */
	uint64_t vm;
	uint64_t ino; /* guest_memfd space: the file; 0: the VM's gpa space */
	uint32_t dev;
	uint32_t tgid;
	char comm[PS_COMM_LEN];
	uint8_t iface; /* enum ps_conv_iface of the last request; 0: never requested */
	bool to_private;
	uint8_t state;	   /* enum conv_state */
	uint8_t stuck_why; /* enum conv_stuck_why */
	uint8_t outcome;   /* enum conv_outcome, set when it leaves the open table */
	bool stuck;
	uint64_t start, size; /* gpa or file offset, bytes */
	/* Asked entries also know where the gpa lives in guest_memfd, if the memslot is known. */
	uint64_t fault_ino, fault_off;
	uint32_t fault_dev;
	uint64_t first_ns, last_ns, inflight_ns, stuck_ns, resolved_ns;
	uint32_t attempts, failures, consecutive_failures, fault_exits;
	int32_t last_err;
	uint64_t last_duration_ns, max_duration_ns, error_offset;
	/* Done to private while pinned (src/agg_held.c): pins and pages of the range still
	 * held, and the holder with the most pages (its part of the range, in gpa/offset). */
	uint64_t held_pins, held_pages, held_lo, held_hi;
	uint32_t held_tgid;
	uint8_t held_subsys;
	bool held_by_file;
	char held_comm[PS_COMM_LEN];
};

#define CONV_MAX_ERRNOS 8
#define CONV_RECENT	16

struct conv_errno {
	int32_t err;
	uint64_t count;
};

struct conv_vm {
	struct htab_key k; /* vm, 0 */
	uint32_t tgid;
	char comm[PS_COMM_LEN];
	uint64_t requests, ok, failed, to_private, to_shared, fault_exits, stuck, resolved;
	uint64_t total_ns, max_ns;
	struct conv_errno errs[CONV_MAX_ERRNOS];
	uint64_t errs_other;
};

struct conv_limits {
	uint64_t stuck_after_ns; /* 0: no time limit */
	uint32_t retries;	 /* 0: no retry limit */
};

typedef void (*conv_notify_fn)(void *ctx, enum conv_note note, const struct conv_ent *c);
/* Where a VM's gpa lives in guest_memfd (from the memslots). 0 or -1 when unknown. */
typedef int (*conv_gpa_fn)(void *ctx, uint64_t vm, uint64_t gpa, uint64_t *ino, uint32_t *dev,
			   uint64_t *off);

struct agg_convert {
	struct htab open;		     /* struct conv_ent */
	struct htab vms;		     /* struct conv_vm */
	struct conv_ent recent[CONV_RECENT]; /* the last conversions to leave, oldest first */
	int nrecent;
	struct conv_limits lim;
	uint64_t next_id;
	uint64_t requests, ok, failed, fault_exits, stuck, resolved;
	uint64_t held_twice; /* done to private with the range still pinned (agg_held.c) */
	/* Applied by KVM (PS_CONV_APPLIED, function tier): memslot ranges and their pages, by
	 * direction ([1]: to private) */
	uint64_t applied[2], applied_pages[2];
	conv_notify_fn notify;
	void *notify_ctx;
	conv_gpa_fn gpa_to_file;
	void *gpa_ctx;
};

extern const struct conv_limits conv_default_limits;

int agg_convert_init(struct agg_convert *c, size_t max_open, size_t max_vms);
void agg_convert_free(struct agg_convert *c);
void agg_convert_apply(struct agg_convert *c, const union ps_event *e);
/* Time passes: conversions not done after stuck_after become stuck. */
void agg_convert_tick(struct agg_convert *c, uint64_t now_ns);
uint64_t agg_convert_overflow(const struct agg_convert *c);

const char *conv_stuck_name(unsigned int why);
const char *conv_outcome_name(unsigned int o);
const char *conv_iface_name(unsigned int iface);

#endif
