// SPDX-License-Identifier: GPL-2.0-only
/*
 * Folio refcount changes at the page_ref tracepoints (kernels built with CONFIG_DEBUG_PAGE_REF).
 * They fire on every refcount change in the system, so the first thing each program does is
 * one hash lookup of the pfn in pageref_pfns, which user space fills with the pages that matter
 * (src/pageref_poll.c: the shared side of guest_memfd memslots, the pages conversions move);
 * everything else returns there. A change on a watched pfn becomes a PS_EV_PAGEREF record with
 * the task, its system call and, for an increment, the kernel stack that took the reference.
 * A watched page whose count drops to 0 was freed: it leaves the filter.
 *
 * Classic tracepoints, not raw ones: the record carries the pfn, which a raw tracepoint would
 * have to compute from the struct page (the guest kernel has no SPARSEMEM_VMEMMAP, so that is
 * not a subtraction). The record layout is the same from 5.x to 6.18 (page_ref.h).
 */
#include "common.bpf.h"

#define PAGEREF_MAX_PFNS 65536

/* include/trace/events/page_ref.h, after the 8-byte common header */
struct pageref_tp {
	__u64 common;
	unsigned long pfn;
	unsigned long flags;
	int count;
	int mapcount;
	void *mapping;
	int mt;
	int val;
};

struct pageref_tp_ret {
	struct pageref_tp t;
	int ret;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PAGEREF_MAX_PFNS);
	__type(key, __u64);   /* pfn */
	__type(value, __u32); /* the tgid whose memory it is */
} pageref_pfns SEC(".maps");

static __always_inline int pageref_emit(void *ctx, const struct pageref_tp *tp, __u8 op, int ret)
{
	struct ps_ev_pageref *e;
	struct pt_regs *regs;
	__u64 pfn = tp->pfn;
	int val = tp->val, count = tp->count, delta = 0;
	long n;

	if (!ready || !bpf_map_lookup_elem(&pageref_pfns, &pfn))
		return 0;
	switch (op) {
	case PS_PR_MOD:
	case PS_PR_MOD_AND_TEST:
	case PS_PR_MOD_AND_RETURN:
		delta = val;
		break;
	case PS_PR_MOD_UNLESS:
		delta = ret ? val : 0;
		break;
	default:
		break;
	}
	e = ps_reserve(PS_EV_PAGEREF, struct ps_ev_pageref, PS_TIER_TP);
	if (!e)
		return 0;
	e->pfn = pfn;
	e->delta = delta;
	e->count = count;
	e->val = val;
	e->ret = ret;
	regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	e->sysnr = regs ? (int)BPF_CORE_READ(regs, orig_ax) : -1;
	e->op = op;
	e->pad0 = 0;
	e->nr_kstack = 0;
	if (delta > 0) {
		n = bpf_get_stack(ctx, e->kstack, sizeof(e->kstack), 0);
		e->nr_kstack = n > 0 ? n / sizeof(__u64) : 0;
	}
	/* Freed (not frozen: a freeze is undone by unfreeze): stop watching the pfn. */
	if (count == 0 && op != PS_PR_FREEZE && delta < 0)
		bpf_map_delete_elem(&pageref_pfns, &pfn);
	ps_submit(e);
	return 0;
}

SEC("tracepoint/page_ref/page_ref_set")
int pageref_set_tp(struct pageref_tp *tp)
{
	return pageref_emit(tp, tp, PS_PR_SET, 0);
}

SEC("tracepoint/page_ref/page_ref_mod")
int pageref_mod_tp(struct pageref_tp *tp)
{
	return pageref_emit(tp, tp, PS_PR_MOD, 0);
}

SEC("tracepoint/page_ref/page_ref_mod_and_test")
int pageref_mod_and_test_tp(struct pageref_tp_ret *tp)
{
	return pageref_emit(tp, &tp->t, PS_PR_MOD_AND_TEST, tp->ret);
}

SEC("tracepoint/page_ref/page_ref_mod_and_return")
int pageref_mod_and_return_tp(struct pageref_tp_ret *tp)
{
	return pageref_emit(tp, &tp->t, PS_PR_MOD_AND_RETURN, tp->ret);
}

SEC("tracepoint/page_ref/page_ref_mod_unless")
int pageref_mod_unless_tp(struct pageref_tp_ret *tp)
{
	return pageref_emit(tp, &tp->t, PS_PR_MOD_UNLESS, tp->ret);
}

SEC("tracepoint/page_ref/page_ref_freeze")
int pageref_freeze_tp(struct pageref_tp_ret *tp)
{
	return pageref_emit(tp, &tp->t, PS_PR_FREEZE, tp->ret);
}

SEC("tracepoint/page_ref/page_ref_unfreeze")
int pageref_unfreeze_tp(struct pageref_tp *tp)
{
	return pageref_emit(tp, tp, PS_PR_UNFREEZE, 0);
}
