// SPDX-License-Identifier: BSD-2-Clause
/* Hooks of the guest_memfd and conversion concerns. */
#include "hooks.h"

const struct ps_hook ps_hooks_gmem[] = {
	{0},
};
