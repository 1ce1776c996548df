/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The recording sink: every event the session emits (BPF, procfs samples, marks, losses, seeds)
 * goes to the trace writer as it is, and the stacks it carries are named while the processes are
 * still there. `record` and `report -d TIME -o FILE` both use it.
 */
#ifndef PS_RECORDER_H
#define PS_RECORDER_H

#include <stdbool.h>
#include <stdint.h>
#include "decode.h"
#include "trace_write.h"

struct ps_choice;
struct recorder;
struct symtab;

struct recorder_opts {
	uint64_t size_limit; /* 0: none */
	uint64_t filter_pid, filter_cgroup, interval_ns;
};

/* Opens path (mode 0600, no symlinks). syms: where names go (shared with a live report), or
 * NULL for the recorder's own table. Returns 0 or -errno; prints nothing. */
int recorder_open(struct recorder **out, const char *path, const struct recorder_opts *o,
		  struct symtab *syms);
/* The session's on_setup: writes the header with the tier of every hook. */
void recorder_setup(struct recorder *r, const struct ps_choice *c, int n);
/* Returns non-zero when the recording cannot take more (size limit, write error). */
int recorder_event(struct recorder *r, const union ps_event *e);
/* Every interval: seal the batch and write the names learnt since the last tick. */
int recorder_tick(struct recorder *r);
/* Why it should stop, if it should: "size_limit", "write_error" or NULL. */
const char *recorder_stop_reason(struct recorder *r);
/* Did the session get as far as choosing its tiers (on_setup)? */
bool recorder_started(const struct recorder *r);
/* The run never started: close and remove the file, so a failed start leaves nothing. */
void recorder_discard(struct recorder *r);
/* Writes what is left and the footer. Returns 0 or -errno (the first write error). */
int recorder_close(struct recorder *r, const char *stop, struct trace_writer_stats *st);

#endif
