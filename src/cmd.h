/* SPDX-License-Identifier: BSD-2-Clause */
/* Commands and the options every command shares. */
#ifndef PS_CMD_H
#define PS_CMD_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum {
	PS_EXIT_OK = 0,
	PS_EXIT_RUNTIME = 1,
	PS_EXIT_USAGE = 2,
	PS_EXIT_ALERT = 3,   /* watch --exit-on-alert: an alert fired */
	PS_EXIT_PARTIAL = 4, /* report FILE: the file was damaged; intact blocks were read */
};

struct ps_opts {
	pid_t pid;
	uint64_t cgroup_id;
	uint64_t interval_ns;
	uint64_t duration_ns;
	uint64_t buffer_bytes;	  /* --buffer-size: the BPF ring buffer, 0 = default */
	uint64_t churn_window_ns; /* --churn-window */
	uint32_t tlb_sample;	  /* --tlb-sample: 1 shootdown in this many is timed */
	bool tlb_local;		  /* --tlb-local: tlb_flush too (local flushes, task switches) */
	bool no_tlb;		  /* --no-tlb: no TLB concern at all */
	bool json;
	int verbose;
	int argc; /* positional arguments left */
	char **argv;
};

struct ps_cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

/*
 * Parse the shared options plus a command's own. `extra` (may be NULL) lists the command's
 * long options, `extra_short` its short letters; `on_opt` gets each of them. `usage` is
 * printed for --help. Returns -1 to go on, or an exit code (0 after --help, 2 on error).
 */
int opts_parse(int argc, char **argv, struct ps_opts *o, const struct option *extra,
	       const char *extra_short, int (*on_opt)(int c, const char *arg, void *ctx), void *ctx,
	       const char *usage);

/* Print `pinscope <cmd>: <msg>` and the usage hint; returns PS_EXIT_USAGE. */
int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define COMMON_HELP                                                                                \
	"  -p, --pid PID          only this process\n"                                             \
	"  -c, --cgroup PATH|ID   only this cgroup (v2 path or id)\n"                              \
	"  -i, --interval TIME    refresh/sample period (default 1s; 250ms, 2s, 1m)\n"             \
	"  -d, --duration TIME    stop after this long\n"                                          \
	"  -j, --json             JSON output\n"                                                   \
	"  -v, --verbose          say what was attached and why (-vv: libbpf too)\n"               \
	"      --buffer-size SIZE BPF ring buffer (power of two, 64K..1G; default 2M)\n"           \
	"      --churn-window TIME  count io_uring buffers unregistered and registered again\n"    \
	"                         within TIME in BPF instead of reporting each (default 50ms;\n"   \
	"                         0: report every operation)\n"                                    \
	"      --tlb-sample N     time 1 TLB shootdown in N for the latency histograms (power\n"   \
	"                         of two up to 1024; default 8; counts are always exact)\n"        \
	"      --tlb-local        count local TLB flushes and task switches too (a program on\n"   \
	"                         every switch of mm, ~30 ns each; shootdowns are counted\n"       \
	"                         without it)\n"                                                   \
	"      --no-tlb           leave the TLB concern out: no program on the csd, ipi or tlb\n"  \
	"                         tracepoints (where a probe there costs too much)\n"              \
	"  -h, --help             this help\n"

int cmd_probes(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_watch(int argc, char **argv);

#endif
