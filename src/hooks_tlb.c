// SPDX-License-Identifier: BSD-2-Clause
/*
 * Hooks of the TLB-flush concern. Function targets are those of KERNELS.md section 3.9; this
 * pinscope carries raw tracepoint programs only (bpf/tlb.bpf.c), so on a kernel that allows
 * fentry the function tier reports "no program yet" and the raw tracepoints are used.
 */
#include "hooks.h"

#include <string.h>

#define CSD_TPS	  "csd/csd_queue_cpu,csd/csd_function_entry"
#define CSD_PROGS "tlb_csd_queue_rtp tlb_csd_entry_rtp"

const struct ps_hook ps_hooks_tlb[] = {
	{
		.name = "tlb.flush",
		.concern = "tlb",
		.what = "TLB flushes by reason: requests sent to other CPUs, local flushes, "
			"remote shootdowns handled, task switches",
		.impls =
			{
				{PS_TIER_FENTRY,
				 "flush_tlb_mm_range,arch_tlbbatch_flush,flush_tlb_func",
				 "tlb_flush_mm_range_fentry tlb_tlbbatch_fentry "
				 "tlb_flush_func_fentry",
				 NULL},
				{PS_TIER_RAW_TP, "tlb/tlb_flush", "tlb_flush_cast_rtp",
				 "bpf_rdonly_cast"},
				{PS_TIER_RAW_TP, "tlb/tlb_flush", "tlb_flush_rtp", NULL},
			},
		.blind = "the tracepoint names the flush, not the mm: the mm is read from the "
			 "sender's per-CPU flush_tlb_info",
	},
	{
		.name = "tlb.shootdown",
		.concern = "tlb",
		.what = "shootdown IPIs: counted per target CPU where the sender queues them, "
			"under its cause; handled on the target (delivery and handling latency, "
			"sampled: --tlb-sample)",
		.impls =
			{
				{PS_TIER_FENTRY,
				 "native_flush_tlb_multi,smp_call_function_many_cond",
				 "tlb_flush_multi_fentry tlb_call_many_fentry", NULL},
				{PS_TIER_RAW_TP, CSD_TPS, CSD_PROGS, "flush_tlb_func"},
			},
		.blind =
			"without csd tracepoints (6.1) remote shootdowns are counted on the target "
			"(tlb_flush reason 1) with no cause and no latency; kernel-range "
			"shootdowns "
			"are counted, not timed (their handler has no tlb_flush event to end it)",
	},
	{
		.name = "tlb.handled",
		.concern = "tlb",
		.what = "the end of a shootdown handler (handling latency) where tlb_flush is "
			"not attached",
		.impls =
			{
				{PS_TIER_RAW_TP, "csd/csd_function_exit", "tlb_csd_exit_rtp",
				 "flush_tlb_func"},
			},
	},
	{
		.name = "tlb.ipi_send",
		.concern = "tlb",
		.what = "IPIs actually sent for queued shootdowns (several queued shootdowns share "
			"one IPI)",
		.impls =
			{
				{PS_TIER_FENTRY, "native_send_call_func_ipi,kvm_flush_tlb_multi",
				 "tlb_send_ipi_fentry tlb_pv_flush_fentry", NULL},
				{PS_TIER_RAW_TP, "ipi/ipi_send_cpu,ipi/ipi_send_cpumask",
				 "tlb_ipi_cpu_rtp tlb_ipi_mask_rtp", NULL},
			},
	},
	{
		.name = "tlb.kvm",
		.concern = "tlb",
		.what = "KVM remote TLB flushes of guest mappings",
		.impls =
			{
				{PS_TIER_FENTRY,
				 "kvm_flush_remote_tlbs,kvm_flush_remote_tlbs_range,"
				 "kvm_flush_remote_tlbs_memslot",
				 "tlb_kvm_flush_fentry tlb_kvm_flush_range_fentry "
				 "tlb_kvm_flush_memslot_fentry",
				 NULL},
				/* 6.1 */
				{PS_TIER_FENTRY,
				 "kvm_flush_remote_tlbs,kvm_flush_remote_tlbs_with_address",
				 "tlb_kvm_flush_fentry tlb_kvm_flush_addr_fentry", NULL},
				{PS_TIER_RAW_TP, "csd/csd_queue_cpu", "tlb_csd_queue_rtp",
				 "ack_kick"},
			},
		.blind = "the raw tracepoint tier sees KVM's kicks of running vCPUs (ack_kick), "
			 "which "
			 "carry its flush requests, not the flushes themselves",
	},
	{
		.name = "tlb.gup_fast",
		.concern = "tlb",
		.what = "GUP-fast walks (interrupts off) overlapping shootdown IPIs",
		.impls =
			{
				{PS_TIER_FENTRY, "gup_fast_fallback", "tlb_gup_fast_fentry", NULL},
				/* 6.1 */
				{PS_TIER_FENTRY, "internal_get_user_pages_fast",
				 "tlb_gup_fast_fentry", NULL},
			},
		.blind = "no tracepoint covers GUP-fast: its interrupts-off window shows only as "
			 "IPI delivery latency",
	},
	{0},
};

static struct ps_choice *find(struct ps_choice *c, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(c[i].hook->name, name))
			return &c[i];
	return NULL;
}

static void leave_out(struct ps_choice *c, const char *why)
{
	if (!c || c->chosen < 0)
		return;
	c->chosen = -1;
	c->off = why;
}

uint32_t hooks_tlb_flags(struct ps_choice *c, int n, bool by_csd)
{
	struct ps_choice *sd = find(c, n, "tlb.shootdown");

	return (by_csd ? PS_TLB_F_NO_LOCAL : 0) |
	       (sd && sd->chosen >= 0 ? PS_TLB_F_CSD : PS_TLB_F_NO_CSD);
}

bool hooks_tlb_mode(struct ps_choice *c, int n, bool local, bool off)
{
	struct ps_choice *sd = find(c, n, "tlb.shootdown"), *handled = find(c, n, "tlb.handled");
	bool by_csd;

	if (off) {
		for (int i = 0; i < n; i++)
			if (!strcmp(c[i].hook->concern, "tlb"))
				leave_out(&c[i], "--no-tlb leaves the TLB concern out");
		return false;
	}
	by_csd = !local && sd && sd->chosen >= 0 &&
		 sd->hook->impls[sd->chosen].tier == PS_TIER_RAW_TP && handled &&
		 handled->chosen >= 0;

	if (by_csd)
		leave_out(find(c, n, "tlb.flush"),
			  "--tlb-local attaches it (local flushes, task switches): it runs on "
			  "every switch of mm; the csd tracepoints count shootdowns without it");
	else
		leave_out(handled, "tlb_flush (reasons 1 and 5) ends the handlers instead");
	return by_csd;
}
