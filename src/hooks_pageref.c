// SPDX-License-Identifier: BSD-2-Clause
/*
 * The folio refcount tier: the page_ref tracepoints, which exist only in kernels built with
 * CONFIG_DEBUG_PAGE_REF (none of the stock ones; the purpose-built guest kernel of
 * tools/vm/kernel has them). bpf/pageref.bpf.c filters them by pfn in BPF.
 */
#include "hooks.h"

#define PR_TPS                                                                                     \
	"page_ref/page_ref_set,page_ref/page_ref_mod,page_ref/page_ref_mod_and_test,"              \
	"page_ref/page_ref_mod_and_return,page_ref/page_ref_mod_unless,"                           \
	"page_ref/page_ref_freeze,page_ref/page_ref_unfreeze"
#define PR_PROGS                                                                                   \
	"pageref_set_tp pageref_mod_tp pageref_mod_and_test_tp pageref_mod_and_return_tp "         \
	"pageref_mod_unless_tp pageref_freeze_tp pageref_unfreeze_tp"

const struct ps_hook ps_hooks_pageref[] = {
	{
		.name = "page_ref",
		.concern = "pageref",
		.what = "folio refcount changes on the shared side of guest_memfd memslots: who "
			"holds references that are not pins (with kernel stacks), transient or "
			"lasting",
		.impls =
			{
				{PS_TIER_TP, PR_TPS, PR_PROGS, NULL},
			},
		.absent = "no page_ref tracepoints: kernel built without CONFIG_DEBUG_PAGE_REF",
	},
	{0},
};
