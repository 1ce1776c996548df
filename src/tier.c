// SPDX-License-Identifier: BSD-2-Clause
/*
 * Tier names, apart from the hook chooser (hooks.c needs libbpf to try attaches): the trace
 * reader and its fuzz target name the tiers a recording was made with, and link this alone.
 */
#include "hooks.h"

const char *tier_name(enum ps_tier t)
{
	static const char *const names[PS_TIER_MAX] = {
		[PS_TIER_NONE] = "unavailable", [PS_TIER_FENTRY] = "fentry",
		[PS_TIER_KPROBE] = "kprobe",	[PS_TIER_RAW_TP] = "raw_tp",
		[PS_TIER_TP] = "tracepoint",	[PS_TIER_SYSCALL] = "syscall",
		[PS_TIER_PROCFS] = "procfs",	[PS_TIER_USER] = "user",
	};

	return t < PS_TIER_MAX && names[t] ? names[t] : "?";
}

const char *choice_tier(const struct ps_choice *c)
{
	if (c->chosen >= 0)
		return tier_name(c->hook->impls[c->chosen].tier);
	return c->off ? "off" : "unavailable";
}
