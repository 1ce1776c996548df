/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pinscope top's full-screen view: raw ANSI on a termios raw-mode terminal. A session sink: it
 * waits for keys and ring-buffer data in .wait and draws snapshots of the aggregate in .on_tick
 * (and at once after a key). It renders what rows.c and snap.c build; it computes nothing.
 * The terminal is restored by view_free(), at exit(), and around a suspend (^Z); what is
 * written to stderr while the screen is up is kept and printed after it.
 */
#ifndef PS_VIEW_TOP_H
#define PS_VIEW_TOP_H

#include <stdbool.h>
#include <stdint.h>
#include "agg.h"

struct view;

struct view_cfg {
	int sort_col; /* rows.c column */
	bool reverse;
	uint32_t pid; /* initial filters; 0/NULL: none */
	uint64_t cgroup_id;
	const char *subsys;
	uint64_t iterations; /* stop after this many snapshots; 0: never */
};

/* Can the full-screen view run here (stdin and stdout a terminal TERM can drive)? */
bool view_possible(void);
/* NULL on allocation failure. The terminal is taken over at the first wait. */
struct view *view_new(struct agg *a, const struct view_cfg *cfg);
void view_free(struct view *v);

/* struct session_sink callbacks (ctx: the view). */
int view_wait(void *ctx, int ring_fd, int timeout_ms);
int view_tick(void *ctx, struct agg *a);

/* cmd_top.c: return what loading left on the heap to the system (once). */
void top_trim_memory(void);

#endif
