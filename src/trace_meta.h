/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What a recording says about where it was made: versions, kernel, BTF, host, boot, clocks and
 * the tier chosen for every hook. Written as the header text of a recording (key=value lines),
 * so a reader on another host can say what it is looking at.
 */
#ifndef PS_TRACE_META_H
#define PS_TRACE_META_H

#include <stddef.h>
#include <stdint.h>

struct ps_choice;

struct trace_meta {
	char pinscope_version[32];
	unsigned int abi_version;
	char kernel_release[65];
	char kernel_build_id[48]; /* hex of the GNU build id note, "" if unknown */
	char btf_hash[48];	  /* "fnv1a64:<hex>" of /sys/kernel/btf/vmlinux, "" if none */
	uint64_t btf_size;
	char hostname[65];
	char boot_id[40];
	char clock[16];		 /* the clock of every ts_ns: "monotonic" */
	int64_t mono_to_wall_ns; /* CLOCK_REALTIME - CLOCK_MONOTONIC when recording started */
	uint64_t filter_pid, filter_cgroup, interval_ns;
	char tiers[1024]; /* "hook=tier hook=tier ..." */
};

/* Facts of this host, now. Never fails: what cannot be read stays empty. */
void trace_meta_collect(struct trace_meta *m);
void trace_meta_set_tiers(struct trace_meta *m, const struct ps_choice *c, int n);
/* key=value lines into buf; returns the length (truncated to size - 1). */
size_t trace_meta_format(const struct trace_meta *m, char *buf, size_t size);
/* Parses what it knows, ignores other keys. */
void trace_meta_parse(struct trace_meta *m, const char *text, size_t len);

#endif
