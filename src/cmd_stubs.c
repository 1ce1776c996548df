// SPDX-License-Identifier: BSD-2-Clause
/* Commands whose issue has not landed yet: they say so and exit 2. */
#include "cmd.h"
#include "log.h"

int cmd_watch(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ps_err("watch: not implemented yet");
	return PS_EXIT_USAGE;
}
