/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The user-space half of churn counting (struct ps_churn in bpf/events.h): every tick, after
 * the ring buffer is drained, reads the BPF array (mapped) and emits PS_EV_CHURN with the
 * register/unregister pairs counted since the last tick, then the unregisters BPF has held back,
 * seen pending for more than twice the window, as PS_EV_UNPIN. It only reads the slots: BPF
 * reports a torn-down ring's last counts itself and frees its slot.
 *
 * A held-back unregister is reported only once the ring buffer has been emptied after it: the
 * records of the registration it releases come before it, and a release applied ahead of them
 * would leave their pins standing (a reader behind a backlog saw that).
 */
#ifndef PS_CHURN_POLL_H
#define PS_CHURN_POLL_H

#include <stdbool.h>
#include <stdint.h>
#include "decode.h"

struct loader;
struct churn_poll;

typedef void (*churn_emit_fn)(void *ctx, union ps_event *e);

/* NULL when the map is not loaded or window_ns is 0 (then the other calls do nothing). hz: BPF's
 * churn clock is jiffies at this HZ (struct ps_cfg.churn_hz), 0: ns. */
struct churn_poll *churn_poll_new(const struct loader *l, uint64_t window_ns, unsigned int hz);
/* final: the run ends, report every held-back unregister whatever its age. drained_ns: when
 * the last read that emptied the ring buffer began (CLOCK_MONOTONIC, as BPF's clock). */
void churn_poll_tick(struct churn_poll *p, bool final, uint64_t drained_ns, churn_emit_fn emit,
		     void *ctx);
void churn_poll_free(struct churn_poll *p);

#endif
