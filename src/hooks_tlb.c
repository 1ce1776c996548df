// SPDX-License-Identifier: BSD-2-Clause
/* Hooks of the TLB-flush concern. */
#include "hooks.h"

const struct ps_hook ps_hooks_tlb[] = {
	{0},
};
