/* SPDX-License-Identifier: BSD-2-Clause */
/* Feeding a recording through the aggregate: the replay source of the pipeline. */
#ifndef PS_REPLAY_H
#define PS_REPLAY_H

#include "agg.h"
#include "trace_meta.h"

struct symtab;
struct trace_reader;

/*
 * Applies every intact event of the recording at path to a, and its names to syms (may be
 * NULL); meta (may be NULL) gets the header. Returns PS_EXIT_OK, PS_EXIT_PARTIAL (the damage
 * reported on stderr in one line, intact blocks applied) or PS_EXIT_RUNTIME / PS_EXIT_USAGE
 * with a one-line error (not a recording, a newer format, cannot be read).
 */
int replay_file(const char *path, struct agg *a, struct symtab *syms, struct trace_meta *meta);

/* The same from a reader already open (tr stays the caller's); name is what messages call it. */
int replay_reader(struct trace_reader *tr, const char *name, struct agg *a, struct symtab *syms,
		  struct trace_meta *meta);

#endif
