/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The TLB concern's source: BPF aggregates flushes in maps (bpf/tlb.bpf.c); every tick this
 * reads them and emits PS_EV_TLB records with the deltas since the previous tick, plus one
 * system-wide record beside the TLB row of /proc/interrupts read at the same moment. It also
 * tells BPF which ranges each process has pinned, so flushes over them are counted.
 */
#ifndef PS_TLB_POLL_H
#define PS_TLB_POLL_H

#include "agg.h"
#include "decode.h"

struct loader;
struct tlb_poll;

typedef void (*tlb_emit_fn)(void *ctx, union ps_event *e);

/* NULL when the TLB programs are not loaded (then the other calls do nothing). `flags`: the
 * PS_TLB_F_* of what is attached (hooks_tlb_flags), carried by every GLOBAL record. */
struct tlb_poll *tlb_poll_new(const struct loader *l, uint32_t flags);
/* The baseline: call once counting has started (after loader_ready). */
void tlb_poll_start(struct tlb_poll *p, struct agg *a);
void tlb_poll_tick(struct tlb_poll *p, struct agg *a, tlb_emit_fn emit, void *ctx);
void tlb_poll_free(struct tlb_poll *p);

/* Sum of the "TLB:" row of /proc/interrupts (shootdowns received, all CPUs); -errno. */
int tlb_irq_count(uint64_t *sum);

#endif
