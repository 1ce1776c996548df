// SPDX-License-Identifier: BSD-2-Clause
#include "replay.h"
#include "cmd.h"
#include "log.h"

int replay_file(const char *path, struct agg *a)
{
	(void)a;
	ps_err("report %s: reading recordings is not implemented yet", path);
	return PS_EXIT_USAGE;
}
