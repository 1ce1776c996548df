// SPDX-License-Identifier: BSD-2-Clause
#include "hooks.h"
#include "unit.h"

#include <errno.h>
#include <string.h>

static const struct ps_hook twins = {
	.name = "t.twins",
	.concern = "t",
	.impls =
		{
			{PS_TIER_FENTRY, "f", "t_fentry", NULL},
			{PS_TIER_RAW_TP, "g/e", "t_cast", "bpf_rdonly_cast"},
			{PS_TIER_RAW_TP, "g/e", "t_raw", NULL},
		},
};

/* The next implementation hooks another event: not a twin. */
static const struct ps_hook no_twin = {
	.name = "t.no_twin",
	.concern = "t",
	.impls =
		{
			{PS_TIER_RAW_TP, "g/e", "u_cast", "bpf_rdonly_cast"},
			{PS_TIER_RAW_TP, "g/other", "u_raw", NULL},
		},
};

UNIT_TEST(hooks_fall_back_from_kfuncs_takes_the_twin)
{
	struct ps_choice c[3];

	memset(c, 0, sizeof(c));
	c[0].hook = &twins;
	c[0].chosen = 1;
	c[1].hook = &no_twin;
	c[1].chosen = 0;
	c[2].hook = &twins;
	c[2].chosen = 0; /* fentry: nothing to fall back from */
	CHECK(hooks_need_kfuncs(c, 3));
	CHECK(hooks_prog_wanted(c, 3, "t_cast"));
	CHECK_EQ(hooks_fall_back_from_kfuncs(c, 3, -EACCES, "loading: Permission denied"), 1);
	CHECK_EQ(c[0].err[1], -EACCES);
	CHECK_EQ(c[0].chosen, 2);
	CHECK(!strcmp(c[0].why[1], "load failed: loading: Permission denied"));
	CHECK_EQ(c[1].chosen, 0);
	CHECK_EQ(c[2].chosen, 0);
	CHECK(!hooks_prog_wanted(c, 3, "t_cast"));
	CHECK(hooks_prog_wanted(c, 3, "t_raw"));
	/* what is left needs the kfunc only where no twin exists */
	CHECK(hooks_need_kfuncs(c, 3));
	CHECK_EQ(hooks_fall_back_from_kfuncs(c, 3, -EINVAL, "again"), 0);
	CHECK(!hooks_need_kfuncs(c, 1));
}

/* The TLB table's own hooks, indexed by name. */
static const struct ps_hook *tlb_hook(const char *name)
{
	for (const struct ps_hook *h = ps_hooks_tlb; h->name; h++)
		if (!strcmp(h->name, name))
			return h;
	return NULL;
}

/* Choices as a kernel would make them: flush and handled at the raw tracepoint tier; shootdown
 * at the raw tracepoint tier (csd) or unavailable (6.1). */
static int tlb_choices(struct ps_choice *c, bool csd)
{
	static const char *const names[] = {"tlb.flush", "tlb.shootdown", "tlb.handled"};

	memset(c, 0, 3 * sizeof(*c));
	for (int i = 0; i < 3; i++) {
		c[i].hook = tlb_hook(names[i]);
		c[i].chosen = -1;
		for (int t = 0; t < PS_MAX_IMPLS && c[i].hook->impls[t].tier; t++)
			if (c[i].hook->impls[t].tier == PS_TIER_RAW_TP && c[i].chosen < 0)
				c[i].chosen = t;
	}
	if (!csd)
		c[1].chosen = c[2].chosen = -1;
	return 3;
}

UNIT_TEST(hooks_tlb_mode_leaves_tlb_flush_out_where_csd_counts)
{
	struct ps_choice c[3];
	int n = tlb_choices(c, true);

	CHECK(c[0].chosen >= 0 && c[1].chosen >= 0 && c[2].chosen >= 0);
	CHECK(hooks_tlb_mode(c, n, false, false));
	CHECK_EQ(c[0].chosen, -1);
	CHECK(!strcmp(choice_tier(&c[0]), "off"));
	CHECK(strstr(c[0].off, "--tlb-local"));
	CHECK(!hooks_prog_wanted(c, n, "tlb_flush_cast_rtp"));
	CHECK(hooks_prog_wanted(c, n, "tlb_csd_exit_rtp"));
	CHECK(!strcmp(choice_tier(&c[2]), "raw_tp"));

	/* --tlb-local: tlb_flush ends the handlers, csd_function_exit is left out */
	n = tlb_choices(c, true);
	CHECK(!hooks_tlb_mode(c, n, true, false));
	CHECK(hooks_prog_wanted(c, n, "tlb_flush_cast_rtp"));
	CHECK(!hooks_prog_wanted(c, n, "tlb_csd_exit_rtp"));
	CHECK(!strcmp(choice_tier(&c[2]), "off"));

	/* 6.1: no csd tracepoints, tlb_flush is all there is, whatever the option */
	n = tlb_choices(c, false);
	CHECK(!hooks_tlb_mode(c, n, false, false));
	CHECK(hooks_prog_wanted(c, n, "tlb_flush_cast_rtp"));
	CHECK(!strcmp(choice_tier(&c[2]), "unavailable"));

	/* --no-tlb: every TLB hook chosen is left out, saying why; the unavailable stays so */
	for (int csd = 0; csd <= 1; csd++) {
		n = tlb_choices(c, csd);
		CHECK(!hooks_tlb_mode(c, n, false, true));
		CHECK(!hooks_prog_wanted(c, n, "tlb_flush_cast_rtp"));
		CHECK(!hooks_prog_wanted(c, n, "tlb_csd_queue_rtp"));
		CHECK(!hooks_prog_wanted(c, n, "tlb_csd_entry_rtp"));
		CHECK(!hooks_prog_wanted(c, n, "tlb_csd_exit_rtp"));
		CHECK(!strcmp(choice_tier(&c[0]), "off"));
		CHECK(strstr(c[0].off, "--no-tlb"));
		CHECK(!strcmp(choice_tier(&c[2]), csd ? "off" : "unavailable"));
	}
}
