/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The map layouts of bpf/tlb.bpf.c, read and written by src/tlb_poll.c: the only place they are
 * written down. (The records user space makes from them are in events.h.)
 */
#ifndef PINSCOPE_TLB_H
#define PINSCOPE_TLB_H

#include "events.h"

#define TLB_WATCH_RANGES 8

/* tlb_stats: per-CPU hash (tlb_key -> tlb_val) */
struct tlb_key {
	__u32 tgid;
	__u16 cause; /* enum ps_tlb_cause */
	__u16 pad;   /* 0 */
};

struct tlb_val {
	struct ps_tlb_counts c;
	__u64 hist[PS_TLB_H_MAX][PS_TLB_HIST_SLOTS];
	char comm[PS_COMM_LEN];
};

/*
 * tlb_acc: per-CPU array of TLB_ACC_SLOTS. Counts go to a slot chosen by the key and are folded
 * into tlb_stats only when another key needs the slot: a hash lookup per flush touches cold
 * cache lines and costs more than the rest of the program. Readers add the used slots to
 * tlb_stats; `used` comes first and is cleared before a fold starts.
 */
#define TLB_ACC_SLOTS 4

struct tlb_acc {
	__u32 used;
	__u32 pad;
	struct tlb_key key;
	struct tlb_val v;
};

/* tlb_global: per-CPU array of one struct ps_tlb_counts (system-wide, unfiltered). */

/* tlb_watch: hash tgid -> ranges the process has pinned (or is converting), [start, end). */
struct tlb_watch {
	__u32 n;
	__u32 pad;
	__u64 start[TLB_WATCH_RANGES];
	__u64 end[TLB_WATCH_RANGES];
};

/* tlb_conf: array of one, written by user space. */
struct tlb_conf {
	__u32 watching; /* processes in tlb_watch */
	__u32 pad;
};

#endif /* PINSCOPE_TLB_H */
