/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Pins that predate pinscope. Rings with registered buffers are found in procfs; each is then
 * stated by the kernel itself: pinscope duplicates the holder's ring fd (pidfd_getfd) and closes
 * the duplicate, and the pin.seed BPF program reads the ring's buffer table in that close(). The
 * records come back marked PS_F_SEED under pinscope's own pid; seed_rewrite() gives them their
 * holder's pid, comm and backing before anything else sees them. Without the BPF program (the
 * procfs tier) the buffers are taken from fdinfo.
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
pid_t seed_pid(const struct seed *s, int i);

/* Close a duplicate of ring i so that BPF states it. -errno when the ring cannot be reached. */
int seed_state_by_bpf(struct seed *s, int i);
/* Emit ring i's buffers from fdinfo (procfs tier) through emit(). */
typedef void (*seed_emit_fn)(void *ctx, union ps_event *e);
int seed_state_by_procfs(struct seed *s, int i, seed_emit_fn emit, void *ctx);

/* Give a PS_F_SEED record from BPF its holder's identity. Returns false to drop it. */
bool seed_rewrite(struct seed *s, union ps_event *e);

#endif
