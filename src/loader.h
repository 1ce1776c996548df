/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Owns the BPF objects: one per concern (a verifier failure in one cannot take another down).
 * They share one ring buffer and one drop-counter map, created here. Lifecycle:
 * loader_open -> hooks_choose(loader_has_prog) -> loader_load(choices) -> loader_ready -> free.
 */
#ifndef PS_LOADER_H
#define PS_LOADER_H

#include <stdbool.h>
#include <stdint.h>
#include "events.h"
#include "hooks.h"

struct loader;

/* The ring buffer every object writes to: 2 MiB unless --buffer-size says otherwise. */
#define PS_RING_DEFAULT (2ULL << 20)

struct loader *loader_open(void);
/* Before loader_load: the ring buffer's size in bytes (a power of two, at least a page). */
void loader_ring_size(struct loader *l, uint64_t bytes);
bool loader_has_prog(const char *name);
/* Enables the chosen programs, loads and attaches them. Returns 0 or -errno; on failure
 * `what` names the program or object that failed. */
int loader_load(struct loader *l, const struct ps_cfg *cfg, const struct ps_choice *c, int n,
		char *what, int what_len);
/* Starts counting: sets `ready` in every loaded object. */
void loader_ready(struct loader *l);
int loader_ringbuf_fd(const struct loader *l);
int loader_map_fd(const struct loader *l, const char *name);
/* Sum of the per-CPU drop counters. */
void loader_drops(const struct loader *l, __u64 out[PS_DROP_MAX]);
int loader_nr_attached(struct loader *l);
/* loader_load loads the programs of the hooks that wait for KVM (hooks_impl_waits_for_kvm;
 * src/kvm_gate.h says why) but does not attach them: loader_attach_held does, from any thread. */
int loader_nr_held(const struct loader *l);
/* Returns how many were attached, or -errno when none could be. */
int loader_attach_held(struct loader *l);
/* Detach program `prog` (a hook needed only for a while, like seeding). */
void loader_detach(struct loader *l, const char *prog);
void loader_free(struct loader *l);

#endif
