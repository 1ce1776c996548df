/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * guest_memfd state: VMs, files (dev, ino), memslots (gpa -> file offset and user address),
 * host mappings (user address -> file offset), per-process call counts with their errnos, and
 * the pins a punch-hole or a release left orphaned (pinned pages no longer in the file).
 *
 * It joins with the pin aggregate: a pin on guest_memfd memory (backing gmem, dev, ino) is
 * placed at a file offset through the holder's mapping of the file, or through a memslot of
 * the holder's VM; a conversion's range is placed the same way, and the pins overlapping it
 * are what block it (agg_gmem_blockers).
 */
#ifndef PS_AGG_GMEM_H
#define PS_AGG_GMEM_H

#include <stdbool.h>
#include <stdint.h>
#include "agg_convert.h"
#include "agg_pins.h"
#include "decode.h"
#include "htab.h"

/* What a process asked of KVM, counted per call with the errno it got. */
enum gmem_op {
	GOP_VM_CREATE = 0,
	GOP_CREATE,
	GOP_BIND,
	GOP_MMAP,
	GOP_ALLOC,
	GOP_PUNCH,
	GOP_CONVERT,
	GOP_FAULT_EXIT,
	GOP_GUEST_FAULT, /* function tier only (faults_counted) */
	GOP_MAX,
};

#define GMEM_OP_ERRNOS 6

struct gmem_op_count {
	uint64_t calls, ok;
	struct {
		int32_t err;
		uint64_t count;
	} errs[GMEM_OP_ERRNOS];
	uint64_t errs_other;
};

struct gmem_proc {
	struct htab_key k; /* tgid, 0 */
	char comm[PS_COMM_LEN];
	bool exited;
	struct gmem_op_count ops[GOP_MAX];
};

struct gmem_vm {
	struct htab_key k; /* vm, 0 */
	uint32_t tgid;
	int32_t fd;
	uint64_t created_ns; /* 0: before pinscope started */
	uint64_t released_ns;
	bool released;
};

struct gmem_file {
	struct htab_key k; /* ino, dev */
	uint64_t vm;
	uint32_t tgid;
	int32_t fd;
	uint64_t size, flags;
	uint64_t created_ns, released_ns;
	bool seeded, fd_closed, released;
	uint64_t allocs, alloc_bytes, punches, punched_bytes, mmaps;
	uint64_t guest_faults, guest_fault_errors; /* function tier only (faults_counted) */
	/* function tier only (inval_counted): ranges unmapped from the guests, their bytes, and
	 * those to the end of the file (a release) */
	uint64_t invalidations, invalidated_bytes, invalidated_whole;
	uint64_t orphaned_pages; /* pages that became orphans here, summed over the run */
};

struct gmem_slot {
	struct htab_key k; /* vm, slot */
	uint32_t tgid;
	uint32_t flags;
	uint64_t gpa, size, uaddr, ino, offset;
	uint32_t dev;
	uint64_t bound_ns;
};

struct gmem_map {
	struct htab_key k; /* tgid, uaddr */
	uint64_t len, ino, offset;
	uint32_t dev;
	uint64_t since_ns;
};

#define GMEM_ORPHAN_RANGES 8

enum gmem_orphan_why {
	ORPHAN_PUNCH = 1, /* fallocate(PUNCH_HOLE) truncated pinned pages */
	ORPHAN_RELEASE,	  /* the file was released while pages stayed pinned */
};

/* A pin some of whose pages left the file. Valid while the pin it names still exists. */
struct gmem_orphan {
	struct htab_key k; /* the pin: obj, slot */
	uint64_t pin_since_ns, pin_uaddr, pin_len;
	struct htab_key holder;
	uint64_t ino;
	uint32_t dev;
	uint8_t why; /* enum gmem_orphan_why of the first */
	uint8_t nr;
	bool inexact; /* more disjoint ranges than kept: merged, counts may be high */
	uint64_t first_ns;
	struct {
		uint64_t lo, hi; /* file offsets, page aligned */
	} r[GMEM_ORPHAN_RANGES];
};

struct agg_gmem {
	struct htab procs, vms, files, slots, maps, orphans;
	uint64_t unplaced_pins; /* gmem pins whose file offset is not known (no mapping seen) */
	bool faults_counted;	/* gmem.fault is attached (the READY mark says so) */
	bool inval_counted;	/* gmem.invalidate is attached (the same) */
};

struct gmem_limits {
	size_t max_procs, max_vms, max_files, max_slots, max_maps, max_orphans;
};

extern const struct gmem_limits gmem_default_limits;

int agg_gmem_init(struct agg_gmem *g, const struct gmem_limits *lim);
void agg_gmem_free(struct agg_gmem *g);
/* Applied after the pin aggregate has seen the same event. */
void agg_gmem_apply(struct agg_gmem *g, const struct agg_pins *p, const union ps_event *e);
uint64_t agg_gmem_overflow(const struct agg_gmem *g);
const char *gmem_op_name(unsigned int op);

/* Where a pin lives in guest_memfd: 0 and the file range (page aligned), or -1. */
int agg_gmem_pin_range(const struct agg_gmem *g, const struct agg_pins *p,
		       const struct pin_ent *pin, uint64_t *ino, uint32_t *dev, uint64_t *lo,
		       uint64_t *hi);
/* Where a VM's gpa lives in guest_memfd (conv_gpa_fn). */
int agg_gmem_gpa_to_file(void *g, uint64_t vm, uint64_t gpa, uint64_t *ino, uint32_t *dev,
			 uint64_t *off);
/* Pages of an orphan record still pinned now; 0 when its pin has gone. */
uint64_t agg_gmem_orphan_pages(const struct agg_gmem *g, const struct agg_pins *p,
			       const struct gmem_orphan *o);

/* A holder whose pins overlap a conversion's range. */
struct gmem_blocker {
	uint32_t tgid;
	char comm[PS_COMM_LEN];
	uint8_t subsys;
	uint8_t nr_ustack;
	bool by_file; /* joined by guest_memfd offset; else by the VMM's user address */
	uint64_t pins, pages;
	uint64_t oldest_ns; /* 0: pinned before pinscope started */
	uint64_t lo, hi;    /* the blocked part, in the conversion's space (gpa or offset) */
	uint64_t ino, off_lo, off_hi;
	uint64_t ustack[PS_MAX_STACK];
	struct htab_key holder;
};

/* The holders pinning pages of c's range; returns how many (at most max). */
int agg_gmem_blockers(const struct agg_gmem *g, const struct agg_pins *p, const struct conv_ent *c,
		      struct gmem_blocker *out, int max);

#endif
