/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Pin holders. A pin is (object, slot): an io_uring ring and buffer index, a VFIO mapping, the
 * first page of a GUP call. A holder is (tgid, subsystem, user stack): the rows of every view.
 * Processes carry the procfs ground truth (VmPin, VmLck) sampled into the event stream.
 * Every table is bounded; what does not fit is counted.
 */
#ifndef PS_AGG_PINS_H
#define PS_AGG_PINS_H

#include <stdbool.h>
#include <stdint.h>
#include "hist.h"
#include "htab.h"
#include "decode.h"

enum holder_state {
	HOLDER_ALIVE = 0,
	HOLDER_EXITED,	  /* process gone, pins still held: the kernel releases them later */
	HOLDER_RELEASING, /* the kernel is tearing the object down right now */
};

struct pin_ent {
	struct htab_key k; /* obj, slot */
	struct htab_key holder;
	struct holder_ent *hp; /* the holder's entry when the pin was added (agg_pins_holder_of) */
	uint64_t uaddr, len, pages, acct_pages, ino;
	uint64_t since_ns; /* 0: before pinscope started */
	uint32_t dev;
	uint8_t backing, subsys, flags;
	bool stale; /* restated by an OBJ_SYNC in progress, not yet confirmed */
};

struct holder_ent {
	struct htab_key k; /* (tgid << 8 | subsys), ustack hash */
	uint32_t tgid;
	uint8_t subsys;
	uint8_t state;
	bool seeded;
	char comm[PS_COMM_LEN];
	uint64_t cgroup_id;
	uint64_t pins, pages, acct_pages;
	uint64_t pages_longterm, pages_shortterm;
	uint64_t acquired_pages, released_pages; /* counters since start */
	uint64_t acquired_tick, released_tick;	 /* the counters at the last interval's end */
	uint64_t acquired_delta, released_delta; /* ... and their growth during it */
	uint64_t first_ns, last_ns, exit_ns;
	uint64_t
		oldest_ns; /* oldest pin held: 0 before start, UINT64_MAX none (agg_pins_refresh) */
	uint32_t backing_mask; /* 1 << enum ps_backing of every pin it held */
	uint64_t churn_pairs;  /* register/unregister pairs BPF counted (PS_EV_CHURN) */
	bool churn_seen;       /* on_churn's scratch */
	uint8_t nr_ustack;
	uint64_t ustack[PS_MAX_STACK];
	/* Out of line, allocated on first use: most holders (every one at the syscall tier) have
	 * neither, and inline they were half of an entry (10k holders: 4 MB of RSS). */
	uint8_t nr_kstack;	   /* function tier: kernel stack of its first pin */
	uint64_t *kstack;	   /* PS_MAX_STACK entries, or NULL */
	struct hist *shortterm_ns; /* how long its short-term pins were held, or NULL */
};

struct obj_ent {
	struct htab_key k; /* obj, subsys */
	uint32_t tgid;
	uint32_t nslots; /* 1 + the highest slot a pin of this object ever had */
	bool syncing;	 /* between an OBJ_SYNC and its PS_F_END */
	bool complete;	 /* every pin of the object was inserted while it had this entry */
	uint8_t nr_ustack;
	uint64_t teardown_ns;
	/* The user stack of its last PIN record that had one: PS_F_USTACK_PREV records take it. */
	__u64 ustack[PS_MAX_STACK];
	uint64_t ustack_hash;  /* ... and its hash, the holder key's second half */
	struct holder_ent *hp; /* the holder of its last pin: likely that of the next */
};

struct proc_ent {
	struct htab_key k; /* tgid, 0 */
	uint64_t vmpin_kb, vmlck_kb;
	uint64_t first_vmpin_kb;
	bool sampled, alive, exited;
	uint64_t exit_ns;
	char comm[PS_COMM_LEN];
};

/* The totals of PS_EV_CHURN applied so far, per ring, until its teardown. */
struct churn_ent {
	struct htab_key k; /* obj, subsys */
	uint64_t pairs, pages;
};

struct agg_pins {
	struct htab pins, holders, objs, procs, churn;
	uint64_t orphan_unpins;	     /* releases of pins never seen (e.g. lost records) */
	uint64_t orphan_churn_pages; /* PS_EV_CHURN for an object without pins */
	struct obj_ent *last_obj;    /* the last one obj_get returned (checked before use) */
};

struct agg_limits {
	size_t max_pins, max_holders, max_objs, max_procs;
};

int agg_pins_init(struct agg_pins *p, const struct agg_limits *lim);
void agg_pins_free(struct agg_pins *p);
void agg_pins_apply(struct agg_pins *p, const union ps_event *e);
/* Close any OBJ_SYNC still waiting for records (end of a run or of a file). */
void agg_pins_settle(struct agg_pins *p);
uint64_t agg_pins_overflow(const struct agg_pins *p);
/* The holder of a pin, or NULL: the entry it kept, checked, else a lookup of its key. */
static inline struct holder_ent *agg_pins_holder_of(const struct agg_pins *p,
						    const struct pin_ent *pin)
{
	if (htab_live(&p->holders, pin->hp, pin->holder.k1, pin->holder.k2))
		return pin->hp;
	return htab_find(&p->holders, pin->holder.k1, pin->holder.k2);
}
/* Recompute derived per-holder fields (oldest pin, backing mask) in one pass over the pins. */
void agg_pins_refresh(struct agg_pins *p);
/* End of a sampling interval: each holder's acquired/released growth during it. */
void agg_pins_tick(struct agg_pins *p);

#endif
