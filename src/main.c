// SPDX-License-Identifier: BSD-2-Clause
/* pinscope: who holds pages pinned, which conversions they block, what TLB flushes cost. */
#include "cmd.h"
#include "log.h"
#include "util.h"
#include "events.h"

#include <bpf/libbpf.h>
#include <stdio.h>
#include <string.h>

static int cmd_help(int argc, char **argv);

static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("pinscope %s (%s), libbpf %s, event ABI %d\n", PS_VERSION, PS_GIT_REV,
	       libbpf_version_string(), PS_ABI_VERSION);
	return PS_EXIT_OK;
}

static const struct ps_cmd cmds[] = {
	{"top", cmd_top, "live view of pin holders"},
	{"report", cmd_report, "report of a live run (-d TIME) or of a recording (FILE)"},
	{"record", cmd_record, "capture events to a file for later analysis"},
	{"watch", cmd_watch, "alert on stuck guest_memfd conversions"},
	{"probes", cmd_probes, "what this kernel allows; the tier chosen for every hook"},
	{"version", cmd_version, "print the version"},
	{"help", cmd_help, "this text; 'pinscope COMMAND --help' for a command"},
};

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("Usage: pinscope COMMAND [OPTIONS]\n\nCommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		printf("  %-9s %s\n", cmds[i].name, cmds[i].summary);
	printf("\nRun 'pinscope COMMAND --help' for its options. Exit codes: 0 ok, 1 runtime "
	       "error,\n"
	       "2 usage error, 3 alert (watch --exit-on-alert), 4 damaged recording (report).\n");
	return PS_EXIT_OK;
}

int main(int argc, char **argv)
{
	const char *name;

	libbpf_set_print(ps_libbpf_print);
	if (argc < 2) {
		cmd_help(0, NULL);
		return PS_EXIT_USAGE;
	}
	name = argv[1];
	if (!strcmp(name, "--help") || !strcmp(name, "-h"))
		return cmd_help(0, NULL);
	if (!strcmp(name, "--version") || !strcmp(name, "-V"))
		return cmd_version(0, NULL);
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		if (!strcmp(name, cmds[i].name))
			return cmds[i].run(argc - 1, argv + 1);
	ps_err("unknown command '%s'", name);
	fprintf(stderr, "pinscope: try 'pinscope help'\n");
	return PS_EXIT_USAGE;
}
