/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Alerts about conversions: what `watch` says when one becomes stuck and when a stuck one is
 * resolved. An alert is built once (the conversion, the holders pinning its range, the VMM's
 * VmPin against what pinscope attributes) and handed to every registered hook: the outputs
 * (stderr line, JSON line, --exec, syslog) and anything else that wants to hear about it.
 *
 * A flight recorder plugs in through alert_set_dumper(): on every stuck alert, before the
 * outputs run, it is asked to write what it holds to a file, and the alert names that file.
 * `watch --dump-dir` registers the one of src/flight.c.
 */
#ifndef PS_ALERT_H
#define PS_ALERT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "agg_convert.h"
#include "agg_gmem.h"

#define ALERT_MAX_BLOCKERS 32

struct ps_alert {
	const char *event; /* "stuck" or "resolved" */
	uint64_t seq;	   /* 1, 2, ... in this run */
	uint64_t now_ns;   /* CLOCK_MONOTONIC */
	uint64_t wall_ns;  /* CLOCK_REALTIME */
	struct conv_ent c; /* as it was when the alert was raised */
	struct gmem_blocker b[ALERT_MAX_BLOCKERS];
	int nb;
	uint64_t blocked_pages;
	int64_t vmpin_kb;	/* the VMM's VmPin, -1 if not sampled */
	int64_t attributed_kb;	/* what pinscope attributes to the VMM's own pins */
	char dump[4096];	/* the file the flight recorder wrote; "" if none */
	const char *dump_error; /* why there is no dump file */
};

/* Writes the flight recorder's content to path. 0 or -errno. */
typedef int (*alert_dump_fn)(void *ctx, const char *path);
void alert_set_dumper(alert_dump_fn fn, void *ctx);
bool alert_have_dumper(void);
int alert_dump(const char *path);

typedef void (*alert_hook_fn)(void *ctx, const struct ps_alert *al);
/* Registers a hook; hooks run in registration order. 0 or -ENOSPC. */
int alert_hook_add(alert_hook_fn fn, void *ctx);
void alert_hooks_clear(void);
void alert_fire(const struct ps_alert *al);

/* Renderers: one line each (no trailing newline for text). */
void alert_text(FILE *out, const struct ps_alert *al);
void alert_json(FILE *out, const struct ps_alert *al);
/* The process environment plus PINSCOPE_* variables describing the alert (and PINSCOPE_JSON,
 * the JSON line). NULL on allocation failure; free with alert_env_free. */
char **alert_env(const struct ps_alert *al);
void alert_env_free(char **env);

#endif
