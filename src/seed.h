/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Pins that predate pinscope. Rings with registered buffers are found in procfs; each is then
 * stated by the kernel itself: pinscope duplicates the holder's ring fd (pidfd_getfd) and closes
 * the duplicate, and the pin.seed BPF program reads the ring's buffer table in that close(). The
 * records come back marked PS_F_SEED under pinscope's own pid; seed_take() holds them until the
 * ring's end record has arrived and then hands them on with their holder's pid, comm and
 * backing, so a ring is seeded whole or (on a time-out) not at all. Without the BPF program (the
 * procfs tier), or after a time-out, the buffers are taken from fdinfo.
 */
#ifndef PS_SEED_H
#define PS_SEED_H

#include <stdbool.h>
#include <sys/types.h>
#include "decode.h"

struct seed;

struct seed *seed_new(pid_t only_pid);
void seed_free(struct seed *s);
int seed_count(const struct seed *s);
/* Rings found but not seeded (over the bound). */
int seed_skipped(const struct seed *s);
pid_t seed_pid(const struct seed *s, int i);

/* Close a duplicate of ring i so that BPF states it. -errno when the ring cannot be reached. */
int seed_state_by_bpf(struct seed *s, int i);
/* Emit ring i's buffers from fdinfo (procfs tier) through emit(). */
typedef void (*seed_emit_fn)(void *ctx, union ps_event *e);
int seed_state_by_procfs(struct seed *s, int i, seed_emit_fn emit, void *ctx);

/* A record from BPF marked PS_F_SEED (and not PS_F_SYNTH): keep it for the ring being seeded
 * (or drop it if it belongs to none). Returns true when it was such a record. */
bool seed_take(struct seed *s, const union ps_event *e);
/* Has the ring being seeded sent its end record? */
bool seed_ring_done(const struct seed *s);
/* Hand the ring's records, with their holder's identity, to emit(); or drop them (time-out). */
void seed_flush(struct seed *s, seed_emit_fn emit, void *ctx);
void seed_abandon(struct seed *s);

#endif
