/* SPDX-License-Identifier: GPL-2.0-only */
/* The syscall tier's caches of what a registration costs most to learn again. */
#ifndef PINSCOPE_PINS_CACHE_BPF_H
#define PINSCOPE_PINS_CACHE_BPF_H

#include "pins.bpf.h"

/*
 * Caches for what a registration costs most to learn again (tools/bench: the io_uring
 * register/unregister loop spent ~500 ns of ~1 us per registration unwinding the user stack and
 * ~300 ns in bpf_find_vma). A program that registers buffers again and again does so from the
 * same place in its code, on the same mappings.
 *
 * The VMA behind an address: reused while the mm's mmap write-lock sequence (mm_lock_seq, with
 * per-VMA locks: 6.4+) has not moved since the look-up, i.e. no mapping of the process has
 * changed. An odd sequence is a writer at work (6.13+): never trusted.
 */
struct vma_cache {
	__u64 mm;
	__u32 seq;
	__u32 pad;
	struct vma_ctx v;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32); /* tgid */
	__type(value, struct vma_cache);
} pins_vma_cache SEC(".maps");

static __always_inline bool mm_seq(struct mm_struct *mm, __u32 *seq)
{
	if (!mm || !bpf_core_field_exists(mm->mm_lock_seq))
		return false;
	if (bpf_probe_read_kernel(seq, sizeof(*seq),
				  (void *)mm +
					  bpf_core_field_offset(struct mm_struct, mm_lock_seq)))
		return false;
	return !(*seq & 1);
}

/* Fills v with the VMA of the current process that holds addr (backing PS_BACK_UNKNOWN when
 * none could be looked up). */
static __always_inline void vma_lookup(__u64 addr, struct vma_ctx *v)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	__u32 tgid = ps_tgid(), seq = 0;
	struct vma_cache *c = bpf_map_lookup_elem(&pins_vma_cache, &tgid);
	bool seq_ok = mm_seq(mm, &seq);

	if (c && seq_ok && c->mm == (__u64)mm && c->seq == seq && addr >= c->v.start &&
	    addr < c->v.end) {
		*v = c->v;
		return;
	}
	v->start = v->end = 0;
	v->backing = PS_BACK_UNKNOWN;
	if (bpf_find_vma(task, addr, vma_cb, v, 0) || !seq_ok)
		return;
	{
		struct vma_cache n = {.mm = (__u64)mm, .seq = seq, .v = *v};

		bpf_map_update_elem(&pins_vma_cache, &tgid, &n, BPF_ANY);
	}
}

/*
 * The user stack of the current syscall, unwound again only when the thread calls from another
 * place: the cached stack is reused while the user ip, stack pointer, frame pointer and the
 * return address the frame pointer leads to are all the same.
 */
struct ustack_cache {
	__u64 ip, sp, bp, ra;
	__u64 nr;
	__u64 st[PS_MAX_STACK];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32); /* tid */
	__type(value, struct ustack_cache);
} pins_ustack_cache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ustack_cache);
} pins_ustack_scratch SEC(".maps");

/* Copies the user stack into st (PS_MAX_STACK entries) and returns how many are valid. */
static __always_inline __u32 ustack_get(void *ctx, __u64 *st)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct ustack_cache *c = bpf_map_lookup_elem(&pins_ustack_cache, &tid);
	__u64 ip = BPF_CORE_READ(regs, ip), sp = BPF_CORE_READ(regs, sp);
	__u64 bp = BPF_CORE_READ(regs, bp), ra = 0;
	__u32 zero = 0;
	long n;

	bpf_probe_read_user(&ra, sizeof(ra), (void *)(bp + 8));
	if (c && c->ip == ip && c->sp == sp && c->bp == bp && c->ra == ra) {
		__builtin_memcpy(st, c->st, sizeof(c->st));
		return c->nr;
	}
	n = bpf_get_stack(ctx, st, PS_MAX_STACK * sizeof(__u64), BPF_F_USER_STACK);
	if (n <= 0)
		return 0;
	/* a new entry is built in per-CPU scratch: BPF's 512-byte stack is nearly full here */
	c = bpf_map_lookup_elem(&pins_ustack_scratch, &zero);
	if (c) {
		c->ip = ip;
		c->sp = sp;
		c->bp = bp;
		c->ra = ra;
		c->nr = n / sizeof(__u64);
		__builtin_memcpy(c->st, st, sizeof(c->st));
		bpf_map_update_elem(&pins_ustack_cache, &tid, c, BPF_ANY);
	}
	return n / sizeof(__u64);
}

#endif /* PINSCOPE_PINS_CACHE_BPF_H */
