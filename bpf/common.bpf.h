/* SPDX-License-Identifier: GPL-2.0-only */
/* What every pinscope BPF object includes: config, the shared ring buffer, drop counters. */
#ifndef PINSCOPE_COMMON_BPF_H
#define PINSCOPE_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "events.h"

char LICENSE[] SEC("license") = "GPL";

const volatile struct ps_cfg cfg = {};

/* Set by user space once every chosen hook is attached: nothing counts before that. */
volatile bool ready = false;

/*
 * Read-only typed views of kernel pointers: loads through them are plain loads the verifier
 * guards, not bpf_probe_read_kernel calls. 6.2+; a program that calls it is loaded only where
 * the kernel has it (libbpf 1.1 leaves a missing weak kfunc unresolved, which the verifier
 * refuses in any program that calls it, taken or not).
 */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

/* Each skeleton has these two; the loader makes them all share one map (bpf_map__reuse_fd). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PS_DROP_MAX);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

static __always_inline void ps_drop_n(enum ps_drop_reason reason, __u32 n)
{
	__u32 key = reason;
	__u64 *v = bpf_map_lookup_elem(&drops, &key);

	if (v)
		*v += n;
}

static __always_inline void ps_drop(enum ps_drop_reason reason)
{
	ps_drop_n(reason, 1);
}

static __always_inline __u32 ps_tgid(void)
{
	return bpf_get_current_pid_tgid() >> 32;
}

/* Should the current task's activity be recorded? */
static __always_inline bool ps_want_current(void)
{
	__u32 tgid = ps_tgid();

	if (!ready || tgid == cfg.self_tgid)
		return false;
	if (cfg.filter_tgid && tgid != cfg.filter_tgid)
		return false;
	if (cfg.filter_cgroup && bpf_get_current_cgroup_id() != cfg.filter_cgroup)
		return false;
	return true;
}

static __always_inline void ps_fill_hdr(struct ps_ev_hdr *h, __u16 type, __u16 size, __u8 tier)
{
	__u64 id = bpf_get_current_pid_tgid();

	h->type = type;
	h->size = size;
	h->tier = tier;
	h->flags = 0;
	h->cpu = bpf_get_smp_processor_id();
	h->tgid = id >> 32;
	h->tid = (__u32)id;
	h->ts_ns = bpf_ktime_get_ns();
	/* A constant in .rodata: the verifier never sees the helper where it does not exist. */
	h->cgroup_id = cfg.no_cgroup ? 0 : bpf_get_current_cgroup_id();
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

/* Reserve a record of `size` bytes (a constant) and fill its header; counts the loss when the
 * ring buffer is full. */
#define ps_reserve_size(type_id, T, tier, size)                                                    \
	({                                                                                         \
		T *__e = bpf_ringbuf_reserve(&events, (size), 0);                                  \
		if (__e)                                                                           \
			ps_fill_hdr(&__e->h, type_id, (size), tier);                               \
		else                                                                               \
			ps_drop(PS_DROP_RINGBUF);                                                  \
		__e;                                                                               \
	})

#define ps_reserve(type_id, T, tier) ps_reserve_size(type_id, T, tier, sizeof(T))

/* The same with a header filled once (ps_fill_hdr) for many records of one program run: five
 * helper calls fewer per record, the clock read (~25 ns in a VM) among them. */
#define ps_reserve_like(T, sz, hdr)                                                                \
	({                                                                                         \
		T *__e = bpf_ringbuf_reserve(&events, (sz), 0);                                    \
		if (__e) {                                                                         \
			__builtin_memcpy(&__e->h, (hdr), sizeof(__e->h));                          \
			__e->h.size = (sz);                                                        \
		} else {                                                                           \
			ps_drop(PS_DROP_RINGBUF);                                                  \
		}                                                                                  \
		__e;                                                                               \
	})

/*
 * Wake the reader once per PS_WAKEUP_BYTES of records, not per record. With the default
 * (adaptive) wakeup every record that finds the reader idle costs the traced task an irq_work,
 * a self-IPI (a VM exit under KVM) and a wakeup of the reader; forcing a wakeup for every record
 * past a mark is worse (a self-IPI per record while the reader waits for a CPU). So a record
 * wakes the reader only when it carries the unread data across a multiple of PS_WAKEUP_BYTES;
 * if a race between CPUs hides one crossing, the next one wakes it, and the reader drains the
 * ring at every tick anyway, so a quiet ring is read at most one interval late.
 */
#define PS_WAKEUP_BYTES (256 << 10)

/* The ring's bytes for a record of `size`: it adds an 8-byte header and rounds to 8. */
static __always_inline __u64 ps_ring_bytes(__u64 size)
{
	return (size + 8 + 7) & ~7ULL;
}

/* Wake the reader if unread data going from `before` to `after` bytes crosses a multiple of
 * PS_WAKEUP_BYTES. */
static __always_inline __u64 ps_wakeup(__u64 before, __u64 after)
{
	return before / PS_WAKEUP_BYTES != after / PS_WAKEUP_BYTES ? BPF_RB_FORCE_WAKEUP
								   : BPF_RB_NO_WAKEUP;
}

static __always_inline void ps_submit_batched(void *e)
{
	__u64 sz = ps_ring_bytes(((struct ps_ev_hdr *)e)->size);
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA); /* the record included */

	bpf_ringbuf_submit(e, ps_wakeup(avail > sz ? avail - sz : 0, avail));
}

#define ps_submit(e) ps_submit_batched(e)

/* A record built elsewhere (a per-CPU scratch), copied in, with ps_submit's wakeups. `lost`: the
 * records it stands for, counted when the ring is full. */
static __always_inline void ps_output(void *data, __u64 size, __u32 lost)
{
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

	if (bpf_ringbuf_output(&events, data, size, ps_wakeup(avail, avail + ps_ring_bytes(size))))
		ps_drop_n(PS_DROP_RINGBUF, lost);
}

#endif /* PINSCOPE_COMMON_BPF_H */
