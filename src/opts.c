// SPDX-License-Identifier: BSD-2-Clause
#include "cmd.h"
#include "events.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const struct option common[] = {
	{"pid", required_argument, NULL, 'p'},
	{"cgroup", required_argument, NULL, 'c'},
	{"interval", required_argument, NULL, 'i'},
	{"duration", required_argument, NULL, 'd'},
	{"json", no_argument, NULL, 'j'},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{"buffer-size", required_argument, NULL, 0x100},
	{"churn-window", required_argument, NULL, 0x101},
	{"tlb-sample", required_argument, NULL, 0x102},
	{"tlb-local", no_argument, NULL, 0x103},
	{"no-tlb", no_argument, NULL, 0x104},
};

static const char *cur_cmd = "pinscope";

int usage_error(const char *cmd, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ps_err("%s: %s", cmd, msg);
	fprintf(stderr, "pinscope: try 'pinscope %s --help'\n", cmd);
	return PS_EXIT_USAGE;
}

static int parse_cgroup(const char *s, uint64_t *id)
{
	struct stat st;

	if (!parse_u64(s, UINT64_MAX, id) && *id)
		return 0;
	if (stat(s, &st)) {
		char path[4096];

		snprintf(path, sizeof(path), "/sys/fs/cgroup/%s", s);
		if (stat(path, &st))
			return -ENOENT;
	}
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	*id = st.st_ino;
	return 0;
}

int opts_parse(int argc, char **argv, struct ps_opts *o, const struct option *extra,
	       const char *extra_short, int (*on_opt)(int c, const char *arg, void *ctx), void *ctx,
	       const char *usage)
{
	struct option longopts[64];
	char shortopts[64];
	size_t n = 0;
	int c;

	cur_cmd = argv[0];
	memset(o, 0, sizeof(*o));
	o->churn_window_ns = 50 * 1000000ULL;
	o->tlb_sample = PS_TLB_SAMPLE_DEFAULT;
	for (size_t i = 0; i < ARRAY_SIZE(common); i++)
		longopts[n++] = common[i];
	for (; extra && extra->name && n < ARRAY_SIZE(longopts) - 1; extra++)
		longopts[n++] = *extra;
	memset(&longopts[n], 0, sizeof(longopts[n]));
	snprintf(shortopts, sizeof(shortopts), ":p:c:i:d:jvh%s", extra_short ? extra_short : "");
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		uint64_t v;

		switch (c) {
		case 'p':
			if (parse_u64(optarg, 4194304, &v) || !v)
				return usage_error(cur_cmd, "--pid: '%s' is not a process id",
						   optarg);
			o->pid = v;
			break;
		case 'c':
			if (parse_cgroup(optarg, &o->cgroup_id))
				return usage_error(cur_cmd,
						   "--cgroup: '%s' is not a cgroup v2 path or id",
						   optarg);
			break;
		case 'i':
			if (parse_duration_ns(optarg, &o->interval_ns) ||
			    o->interval_ns < 10000000ULL || o->interval_ns > 86400 * NSEC_PER_SEC)
				return usage_error(cur_cmd,
						   "--interval: '%s' is not a time from 10ms to 1d",
						   optarg);
			break;
		case 'd':
			if (parse_duration_ns(optarg, &o->duration_ns) || !o->duration_ns ||
			    o->duration_ns > 365 * 86400 * NSEC_PER_SEC)
				return usage_error(
					cur_cmd, "--duration: '%s' is not a positive time", optarg);
			break;
		case 'j':
			o->json = true;
			ps_json_errors = 1;
			break;
		case 'v':
			o->verbose++;
			ps_verbose++;
			break;
		case 0x100:
			if (parse_size(optarg, &v) || v < (64 << 10) || v > (1ULL << 30) ||
			    (v & (v - 1)))
				return usage_error(cur_cmd,
						   "--buffer-size: '%s' is not a power of two from "
						   "64K to 1G",
						   optarg);
			o->buffer_bytes = v;
			break;
		case 0x101:
			if (strcmp(optarg, "0") &&
			    (parse_duration_ns(optarg, &o->churn_window_ns) ||
			     o->churn_window_ns > 10 * NSEC_PER_SEC))
				return usage_error(
					cur_cmd,
					"--churn-window: '%s' is not 0 or a time up to 10s",
					optarg);
			if (!strcmp(optarg, "0"))
				o->churn_window_ns = 0;
			break;
		case 0x102:
			if (parse_u64(optarg, 1024, &v) || !v || (v & (v - 1)))
				return usage_error(
					cur_cmd,
					"--tlb-sample: '%s' is not a power of two from 1 "
					"to 1024",
					optarg);
			o->tlb_sample = v;
			break;
		case 0x103:
			o->tlb_local = true;
			break;
		case 0x104:
			o->no_tlb = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return PS_EXIT_OK;
		case ':':
			return usage_error(cur_cmd, "option '%s' needs a value", argv[optind - 1]);
		case '?':
			if (optopt)
				return usage_error(cur_cmd, "unknown option '-%c'", optopt);
			return usage_error(cur_cmd, "unknown option '%s'", argv[optind - 1]);
		default: {
			int rc = on_opt ? on_opt(c, optarg, ctx) : PS_EXIT_USAGE;

			if (rc >= 0)
				return rc;
		}
		}
	}
	if (o->tlb_local && o->no_tlb)
		return usage_error(cur_cmd, "--tlb-local and --no-tlb exclude each other");
	o->argc = argc - optind;
	o->argv = argv + optind;
	return -1;
}
