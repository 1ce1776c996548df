/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The hook table: every logical hook pinscope knows, with its implementations in order of
 * preference (fentry, kprobe, tracepoint, syscall tracepoint, procfs). At start-up each
 * implementation is tried on this kernel and the first that works, and whose programs this
 * binary carries, is chosen. `pinscope probes` prints the decisions; the loader enables exactly
 * the programs of the chosen implementations.
 */
#ifndef PS_HOOKS_H
#define PS_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "events.h"

struct ps_kfeat;

#define PS_MAX_IMPLS 6

struct ps_impl {
	enum ps_tier tier;
	/* Comma-separated: functions (fentry/kprobe) or "category/event" (tracepoints);
	 * NULL for procfs. Every target must work for the implementation to be chosen, except
	 * those marked optional with a leading '?': where one fails, the programs attached to it
	 * (by section name) are left out and the rest is used. */
	const char *targets;
	/* Space-separated BPF program names the implementation needs; NULL: user space only. */
	const char *progs;
	/* kallsyms symbols the programs need (comma-separated), or NULL. */
	const char *ksyms;
};

struct ps_hook {
	const char *name;    /* "pin.acquire" */
	const char *concern; /* "pins", "gmem", "conv", "tlb" */
	const char *what;
	struct ps_impl impls[PS_MAX_IMPLS];
	/* What the syscall/tracepoint/procfs implementations cannot see. */
	const char *blind;
	/* Why no tier works, when that has one known cause (probes prints it); or NULL. */
	const char *absent;
};

struct ps_choice {
	const struct ps_hook *hook;
	int chosen; /* index into hook->impls, -1: unavailable */
	int err[PS_MAX_IMPLS];
	bool built[PS_MAX_IMPLS];
	char why[PS_MAX_IMPLS][160];
	char skipped[PS_MAX_IMPLS][128]; /* optional targets that failed, comma-separated */
	const char *off; /* left out by choice (chosen -1): why, and what attaches it */
};

/* Per-concern tables, each ended by an entry with name == NULL. */
extern const struct ps_hook ps_hooks_pins[];
extern const struct ps_hook ps_hooks_gmem[];
extern const struct ps_hook ps_hooks_tlb[];
extern const struct ps_hook ps_hooks_pageref[];

/* Does this binary carry a BPF program of that name? (answered by the loader) */
typedef bool (*ps_has_prog_fn)(const char *name);

/* Decide every hook. Returns the number of choices written to out (at most max). */
int hooks_choose(struct ps_kfeat *k, ps_has_prog_fn has_prog, struct ps_choice *out, int max);
/* The same, but the implementations after the first that works are not tried (what a session
 * needs: every trial costs an attach, and a fentry attach is slow on a busy machine). */
int hooks_choose_first(struct ps_kfeat *k, ps_has_prog_fn has_prog, struct ps_choice *out, int max);

/* Is program `prog` needed by a chosen implementation? */
bool hooks_prog_wanted(const struct ps_choice *c, int n, const char *prog);

/*
 * The KVM gate's rule (kvm_gate.h), for the loader and for probes alike: the syscall tier of the
 * guest_memfd and conversion hooks waits until KVM is used (a syscall tracepoint puts every
 * system call of the host on the slow path).
 */
bool hooks_impl_waits_for_kvm(const struct ps_hook *h, const struct ps_impl *im);
/* Is program `prog` wanted only by chosen implementations that wait for KVM? */
bool hooks_prog_waits_for_kvm(const struct ps_choice *c, int n, const char *prog);

/*
 * The load failed with chosen implementations that need the kfunc bpf_rdonly_cast: choose
 * instead the next implementation of the same tier and targets without it (the probe-read
 * twin), and say why (err, why) in the choice. Returns how many were switched.
 */
int hooks_fall_back_from_kfuncs(struct ps_choice *c, int n, int err, const char *why);
/* Does a chosen implementation need bpf_rdonly_cast? */
bool hooks_need_kfuncs(const struct ps_choice *c, int n);

/*
 * The TLB concern's mode. Where the csd tracepoints count shootdowns, tlb.flush (tlb_flush,
 * which runs on every switch of mm) is left out unless `local` (--tlb-local) and tlb.handled
 * (csd_function_exit) ends the handlers instead; otherwise tlb.handled is left out. `off`
 * (--no-tlb) leaves every TLB hook out. Returns true when tlb_flush is left out and the csd
 * tracepoints count (struct ps_cfg.tlb_by_csd).
 */
bool hooks_tlb_mode(struct ps_choice *c, int n, bool local, bool off);
/* PS_TLB_F_* of the TLB records: what the chosen hooks count (by_csd: hooks_tlb_mode's). */
uint32_t hooks_tlb_flags(struct ps_choice *c, int n, bool by_csd);

/* The tier a choice names: the chosen implementation's, "off" or "unavailable". */
const char *choice_tier(const struct ps_choice *c);
/* PS_MARK_F_* of the READY mark: which optional counts the chosen hooks make. */
unsigned int hooks_mark_flags(const struct ps_choice *c, int n);

/* Is `func` an optional target of a chosen implementation that this kernel refused? */
bool hooks_target_skipped(const struct ps_choice *c, int n, const char *func);

/*
 * PINSCOPE_TIER=<tier> (debugging, tests): function-level implementations better than <tier>
 * are not tried, nor any better than <tier> in a hook that has one at <tier>; e.g. "syscall"
 * compares the syscall tier with the function tier (and the io_uring raw tracepoint) on one
 * kernel, "kprobe" tries kprobes before fentry. Unset: every tier is tried.
 */
#define PS_TIER_ENV "PINSCOPE_TIER"

const char *tier_name(enum ps_tier t);

#endif
