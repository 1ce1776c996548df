/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A live run: detect, choose tiers, load, attach, seed, then feed every event (from BPF or made
 * here from procfs) through decode -> agg -> sink until the duration ends or a signal arrives.
 * report -d, top, record and watch are all this loop with different sinks.
 */
#ifndef PS_SESSION_H
#define PS_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "agg.h"
#include "hooks.h"
#include "kfeat.h"

struct session_opts {
	pid_t pid;		  /* 0: all */
	uint64_t cgroup_id;	  /* 0: all */
	uint64_t duration_ns;	  /* 0: until a signal */
	uint64_t interval_ns;	  /* tick period; 0: 1 s */
	uint64_t buffer_bytes;	  /* BPF ring buffer; 0: PS_RING_DEFAULT */
	uint64_t churn_window_ns; /* struct ps_churn (bpf/events.h); 0: every operation reported */
	uint32_t tlb_sample;	  /* 1 shootdown in this many is timed; 0: PS_TLB_SAMPLE_DEFAULT */
	bool tlb_local; /* attach tlb_flush where the csd tracepoints would do (hooks.h) */
	bool no_tlb;	/* no TLB hook at all (hooks.h) */
	bool no_seed;
};

struct session_sink {
	/* Every event, after the aggregate has applied it. Non-zero stops the run. */
	int (*on_event)(void *ctx, const union ps_event *e);
	/* Every interval; non-zero stops the run. */
	int (*on_tick)(void *ctx, struct agg *a);
	/* Called in the loop with the time left until the next tick, instead of sleeping in the
	 * ring-buffer poll (the live view reads keys here). Return <0 to stop, >0 to take the
	 * next snapshot (tick) now. */
	int (*wait)(void *ctx, int ring_fd, int timeout_ms);
	void *ctx;
	/* Once the tier of every hook is chosen and the programs are loaded, before the first
	 * event (the recorder writes the tiers into its header). May be NULL. */
	void (*on_setup)(void *ctx, const struct ps_choice *c, int n);
};

/* Checks privileges, BTF, tracefs. Prints the one-line error and returns 1 when one is
 * missing, naming what still works. */
int session_preflight(struct ps_kfeat *k);

struct loader;

/* The programs' configuration for options o on kernel k (kallsyms addresses, clocks, filters);
 * ps_cfg.tlb_by_csd is hooks_tlb_mode()'s, left to the caller. */
void session_cfg(const struct session_opts *o, struct ps_kfeat *k, struct ps_cfg *cfg);

/*
 * Load (and attach) the chosen programs. Where the load fails with programs that need
 * bpf_rdonly_cast, says so and loads their probe-read twins instead, in a new loader (*l; NULL
 * if that could not be made). 0 or -errno, with what failed in `what`.
 */
int session_load(struct loader **l, const struct session_opts *o, const struct ps_cfg *cfg,
		 struct ps_choice *c, int n, char *what, size_t what_len);

/* Runs a live session. Returns a process exit code (0 ok, 1 runtime error). */
int session_run(const struct session_opts *o, struct agg *a, const struct session_sink *sink);

/* Set by SIGINT/SIGTERM. */
extern volatile int session_stop;
void session_install_signals(void);

#endif
