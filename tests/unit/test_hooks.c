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
