// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pins at the function tier: every FOLL_PIN pin and release, whoever makes it.
 *
 * The GUP entry points (pin_user_pages*) are seen on return (fexit, or kprobe + kretprobe), when
 * the kernel says how many pages it pinned and the caller's page array holds them. A pin is one
 * call: its identity is its first struct page, and every page it pinned is remembered in
 * pins_pages (page -> pin), so a release (unpin_user_page*, fentry or kprobe) names exactly the
 * pins it ends, page by page, whoever calls it (the holder, or a kworker tearing a ring down).
 * Pins that predate pinscope are entered into the same table when pinscope seeds an io_uring
 * (its own close() of a duplicate of the ring: see pins_sys.bpf.c), under the identity the seed
 * records use, so their releases match too.
 *
 * The holder subsystem comes from context: the system call the pin is made in (io_uring_register,
 * a VFIO/iommufd/KVM/vhost/udmabuf/RDMA ioctl, a write to uverbs) for FOLL_LONGTERM pins; pins
 * without FOLL_LONGTERM are short-term GUP (O_DIRECT, process_vm_readv, ...).
 */
#include "common.bpf.h"
#include "pins.bpf.h"

#define PF_IO_WORKER 0x00000010
#define PF_KTHREAD   0x00200000
#define EEXIST	     17

/* x86_64 system call numbers */
#define NR_write	     1
#define NR_ioctl	     16
#define NR_io_uring_register 427

#define PS_MAX_CALL_PAGES (1U << 20) /* pages walked per call (4 GiB) */

/* One pinned page: which pin (PS_EV_PIN obj, slot) it belongs to. */
struct page_owner {
	__u64 obj;
	__u32 slot;
	__u32 pad;
};

/* Every page pinned by a pin pinscope reported and not yet released. Not preallocated: it is
 * sized for a large host (4 GiB of 4 KiB pages) but costs only what is pinned. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1 << 20);
	__type(key, __u64); /* struct page * */
	__type(value, struct page_owner);
} pins_pages SEC(".maps");

/* Shared with pins_sys.bpf.c (the loader reuses one map): thread groups holding long-term pins. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u8);
} pins_holders SEC(".maps");

/* kprobe tier: the arguments of a pin_user_pages* call, from entry to return. */
struct pin_args {
	__u64 start;
	__u64 pages;
	__u64 mm;
	__u32 flags;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32); /* tid */
	__type(value, struct pin_args);
} pins_fn_inflight SEC(".maps");

static __always_inline __u8 ioctl_subsys(unsigned long cmd)
{
	switch ((cmd >> 8) & 0xff) {
	case 0x3b: /* ';': VFIO, and iommufd from command 0x80 on */
		return (cmd & 0xff) >= 0x80 ? PS_SUB_IOMMUFD : PS_SUB_VFIO;
	case 0xae:
		return PS_SUB_KVM;
	case 0xaf:
		return PS_SUB_VHOST;
	case 'u':
		return PS_SUB_UDMABUF;
	case 0x1b: /* RDMA_IOCTL_MAGIC */
		return PS_SUB_RDMA;
	}
	return PS_SUB_UNKNOWN;
}

/* Who holds a pin made now: from the system call the current task is in. */
static __always_inline __u8 classify(bool longterm)
{
	struct task_struct *t = bpf_get_current_task_btf();
	unsigned int flags = BPF_CORE_READ(t, flags);
	struct pt_regs *regs;

	if (!longterm)
		return PS_SUB_GUP;
	if (flags & PF_IO_WORKER)
		return PS_SUB_IO_URING;
	if (flags & PF_KTHREAD)
		return PS_SUB_UNKNOWN;
	regs = (struct pt_regs *)bpf_task_pt_regs(t);
	switch (BPF_CORE_READ(regs, orig_ax)) {
	case NR_io_uring_register:
		return PS_SUB_IO_URING;
	case NR_ioctl:
		return ioctl_subsys(BPF_CORE_READ(regs, si));
	case NR_write: /* the uverbs write() interface registers memory regions */
		return PS_SUB_RDMA;
	}
	return PS_SUB_UNKNOWN;
}

struct own_ctx {
	__u64 pages; /* struct page ** */
	struct page_owner v;
};

static long own_cb(__u64 i, void *data)
{
	struct own_ctx *o = data;
	__u64 pg = 0;

	if (bpf_probe_read_kernel(&pg, sizeof(pg), (void *)(o->pages + i * sizeof(pg))) || !pg)
		return 0;
	if (bpf_map_update_elem(&pins_pages, &pg, &o->v, BPF_ANY)) {
		ps_drop(PS_DROP_MAP_FULL);
		return 1;
	}
	return 0;
}

/* A pin_user_pages* call returned `ret` pinned pages (or folios) into the array `pages`. mm:
 * the address space of `start` when it is not current's (1: `start` is no user address). */
static __always_inline int pinned(void *ctx, __u8 tier, __u64 start, bool longterm, __u64 pages,
				  __u64 mm, long ret)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct own_ctx o = {.pages = pages};
	struct ps_ev_pin *e;
	__u64 first = 0;
	__u32 tgid;
	__u8 one = 1;
	long n;

	if (ret <= 0 || !pages || !ps_want_current())
		return 0;
	if (bpf_probe_read_kernel(&first, sizeof(first), (void *)pages) || !first)
		return 0;
	if (ret > PS_MAX_CALL_PAGES) {
		ps_drop(PS_DROP_TRUNC);
		ret = PS_MAX_CALL_PAGES;
	}
	o.v.obj = first;
	bpf_loop(ret, own_cb, &o, 0);
	if (longterm) {
		tgid = ps_tgid();
		if (bpf_map_update_elem(&pins_holders, &tgid, &one, BPF_ANY))
			ps_drop(PS_DROP_MAP_FULL);
	}

	e = ps_reserve(PS_EV_PIN, struct ps_ev_pin, tier);
	if (!e)
		return 0;
	e->h.flags = longterm ? PS_F_LONGTERM : 0;
	e->obj = first;
	e->slot = 0;
	e->subsys = classify(longterm);
	e->backing = PS_BACK_UNKNOWN;
	e->pad0 = 0;
	e->uaddr = start;
	e->len = ret * 4096;
	e->pages = ret;
	/* io_uring and RDMA charge what they pin to VmPin (pinned_vm); VFIO charges VmLck. */
	e->acct_pages =
		longterm && (e->subsys == PS_SUB_IO_URING || e->subsys == PS_SUB_RDMA) ? ret : 0;
	e->ino = 0;
	e->dev = 0;
	e->pad1 = 0;
	__builtin_memset(e->pad2, 0, sizeof(e->pad2));
	if (!mm || mm == (__u64)BPF_CORE_READ(task, mm)) {
		struct vma_ctx v = {};

		bpf_find_vma(task, start, vma_cb, &v, 0);
		e->backing = v.backing;
		e->ino = v.ino;
		e->dev = v.dev;
	}
	n = bpf_get_stack(ctx, e->ustack, sizeof(e->ustack), BPF_F_USER_STACK);
	e->nr_ustack = n > 0 ? n / sizeof(__u64) : 0;
	n = bpf_get_stack(ctx, e->kstack, sizeof(e->kstack), 0);
	e->nr_kstack = n > 0 ? n / sizeof(__u64) : 0;
	ps_submit(e);
	return 0;
}

static __always_inline int on_pinned(void *ctx, __u8 tier, __u64 start, __u32 gup_flags,
				     __u64 pages, __u64 mm, long ret)
{
	return pinned(ctx, tier, start, cfg.foll_longterm && (gup_flags & cfg.foll_longterm), pages,
		      mm, ret);
}

/* ---- releases ---- */

/*
 * The run of pages being released lives in a map value, not on the stack: a 6.1 verifier checks
 * a bpf_loop callback as if it ran once, takes a stack counter to be the constant it was before
 * the loop, and hard-wires the branches that depend on it (seen: a 16-page release counted as
 * one page). Map values are never taken for constants.
 */
struct rel_run {
	__u64 obj; /* the pin of the run of pages being released */
	__u32 slot;
	__u32 n; /* pages of the run */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rel_run);
} pins_rel_run SEC(".maps");

struct rel_ctx {
	__u64 base;   /* struct page ** (array) or struct page * (range) */
	__u64 stride; /* range: sizeof(struct page); array: 0 */
	struct rel_run *run;
	__u8 tier;
};

static __always_inline void rel_flush(struct rel_run *run, __u8 tier)
{
	struct ps_ev_unpin *e;

	if (!run->n)
		return;
	e = ps_reserve(PS_EV_UNPIN, struct ps_ev_unpin, tier);
	if (e) {
		e->obj = run->obj;
		e->slot = run->slot;
		e->subsys = 0;
		e->reason = PS_UNPIN_FUNC;
		e->pad0 = 0;
		e->pages = run->n;
		ps_submit(e);
	}
	run->n = 0;
}

static long rel_cb(__u64 i, void *data)
{
	struct rel_ctx *r = data;
	struct rel_run *run = r->run;
	struct page_owner *o, v;
	__u64 pg = 0;

	if (r->stride)
		pg = r->base + i * r->stride;
	else if (bpf_probe_read_kernel(&pg, sizeof(pg), (void *)(r->base + i * sizeof(pg))))
		return 0;
	o = pg ? bpf_map_lookup_elem(&pins_pages, &pg) : NULL;
	if (!o)
		return 0;
	v = *o;
	bpf_map_delete_elem(&pins_pages, &pg);
	/* One record per run of pages of the same pin. */
	if (run->n && (v.obj != run->obj || v.slot != run->slot))
		rel_flush(run, r->tier);
	run->obj = v.obj;
	run->slot = v.slot;
	run->n++;
	return 0;
}

static __always_inline int on_release(__u8 tier, __u64 base, __u64 stride, __u64 npages)
{
	struct rel_ctx r = {.base = base, .stride = stride, .tier = tier};
	__u32 zero = 0;

	if (!ready || !base)
		return 0;
	r.run = bpf_map_lookup_elem(&pins_rel_run, &zero);
	if (!r.run)
		return 0;
	r.run->n = 0;
	if (npages > PS_MAX_CALL_PAGES) {
		ps_drop(PS_DROP_TRUNC);
		npages = PS_MAX_CALL_PAGES;
	}
	bpf_loop(npages, rel_cb, &r, 0);
	rel_flush(r.run, tier);
	return 0;
}

static __always_inline __u64 arg(void *ctx, __u32 n)
{
	__u64 v = 0;

	bpf_get_func_arg(ctx, n, &v);
	return v;
}

static __always_inline long fn_ret(void *ctx)
{
	__u64 v = 0;

	bpf_get_func_ret(ctx, &v);
	return (long)v;
}

/* ---- fexit / fentry ---- */

/* long pin_user_pages_fast(unsigned long start, int nr_pages, unsigned int gup_flags,
 *			    struct page **pages): io_uring on 6.12, O_DIRECT, ... */
SEC("fexit/pin_user_pages_fast")
int pins_pin_fast_fexit(__u64 *ctx)
{
	return on_pinned(ctx, PS_TIER_FENTRY, arg(ctx, 0), arg(ctx, 2), arg(ctx, 3), 0,
			 (int)fn_ret(ctx));
}

/* pin_user_pages(start, nr_pages, gup_flags, pages[, vmas on 6.1]): io_uring on 6.1 */
SEC("fexit/pin_user_pages")
int pins_pin_fexit(__u64 *ctx)
{
	return on_pinned(ctx, PS_TIER_FENTRY, arg(ctx, 0), arg(ctx, 2), arg(ctx, 3), 0,
			 fn_ret(ctx));
}

/* pin_user_pages_remote(mm, start, nr_pages, gup_flags, pages[, vmas on 6.1], locked):
 * VFIO type1, process_vm_readv/writev */
SEC("fexit/pin_user_pages_remote")
int pins_pin_remote_fexit(__u64 *ctx)
{
	return on_pinned(ctx, PS_TIER_FENTRY, arg(ctx, 1), arg(ctx, 3), arg(ctx, 4), arg(ctx, 0),
			 fn_ret(ctx));
}

/* pin_user_pages_unlocked(start, nr_pages, pages, gup_flags) */
SEC("fexit/pin_user_pages_unlocked")
int pins_pin_unlocked_fexit(__u64 *ctx)
{
	return on_pinned(ctx, PS_TIER_FENTRY, arg(ctx, 0), arg(ctx, 3), arg(ctx, 2), 0,
			 fn_ret(ctx));
}

/* void unpin_user_page(struct page *page) */
SEC("fentry/unpin_user_page")
int pins_unpin_fentry(__u64 *ctx)
{
	return on_release(PS_TIER_FENTRY, arg(ctx, 0), 1, 1);
}

/* void unpin_user_pages(struct page **pages, unsigned long npages) */
SEC("fentry/unpin_user_pages")
int pins_unpins_fentry(__u64 *ctx)
{
	return on_release(PS_TIER_FENTRY, arg(ctx, 0), 0, arg(ctx, 1));
}

/* void unpin_user_pages_dirty_lock(struct page **pages, unsigned long npages, bool make_dirty):
 * without make_dirty it calls unpin_user_pages, which counts the release. */
SEC("fentry/unpin_user_pages_dirty_lock")
int pins_unpins_dirty_fentry(__u64 *ctx)
{
	if (!(arg(ctx, 2) & 0xff))
		return 0;
	return on_release(PS_TIER_FENTRY, arg(ctx, 0), 0, arg(ctx, 1));
}

/* void unpin_user_page_range_dirty_lock(struct page *page, unsigned long npages, bool dirty):
 * contiguous pages (RDMA ib_umem) */
SEC("fentry/unpin_user_page_range_dirty_lock")
int pins_unpin_range_fentry(__u64 *ctx)
{
	return on_release(PS_TIER_FENTRY, arg(ctx, 0), bpf_core_type_size(struct page),
			  arg(ctx, 1));
}

/* long memfd_pin_folios(struct file *memfd, loff_t start, loff_t end, struct folio **folios,
 *			  unsigned int max_folios, pgoff_t *offset): udmabuf (6.11+), always
 * long-term, one pin per folio; start is a file offset */
SEC("fexit/memfd_pin_folios")
int pins_memfd_pin_fexit(__u64 *ctx)
{
	return pinned(ctx, PS_TIER_FENTRY, arg(ctx, 1), true, arg(ctx, 3), 1, fn_ret(ctx));
}

/* void unpin_user_folio(struct folio *folio, unsigned long npages): io_uring on 6.12 */
SEC("fentry/unpin_user_folio")
int pins_unpin_folio_npages_fentry(__u64 *ctx)
{
	return on_release(PS_TIER_FENTRY, arg(ctx, 0), bpf_core_type_size(struct page),
			  arg(ctx, 1));
}

/* void unpin_folio(struct folio *folio) */
SEC("fentry/unpin_folio")
int pins_unpin_folio_fentry(__u64 *ctx)
{
	return on_release(PS_TIER_FENTRY, arg(ctx, 0), 1, 1);
}

/* void unpin_folios(struct folio **folios, unsigned long nfolios) */
SEC("fentry/unpin_folios")
int pins_unpin_folios_fentry(__u64 *ctx)
{
	return on_release(PS_TIER_FENTRY, arg(ctx, 0), 0, arg(ctx, 1));
}

/* ---- kprobe / kretprobe: the same, where fentry is refused ---- */

static __always_inline int save_args(__u64 start, __u32 flags, __u64 pages, __u64 mm)
{
	struct pin_args a = {.start = start, .flags = flags, .pages = pages, .mm = mm};
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (!ps_want_current())
		return 0;
	if (bpf_map_update_elem(&pins_fn_inflight, &tid, &a, BPF_ANY))
		ps_drop(PS_DROP_MAP_FULL);
	return 0;
}

static __always_inline int pinned_ret(void *ctx, long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pin_args *p = bpf_map_lookup_elem(&pins_fn_inflight, &tid);
	struct pin_args a;

	if (!p)
		return 0;
	a = *p;
	bpf_map_delete_elem(&pins_fn_inflight, &tid);
	return on_pinned(ctx, PS_TIER_KPROBE, a.start, a.flags, a.pages, a.mm, ret);
}

SEC("kprobe/pin_user_pages_fast")
int BPF_KPROBE(pins_pin_fast_kprobe, unsigned long start, int nr, unsigned int gup_flags,
	       struct page **pages)
{
	return save_args(start, gup_flags, (__u64)pages, 0);
}

SEC("kretprobe/pin_user_pages_fast")
int BPF_KRETPROBE(pins_pin_fast_kretprobe, int ret)
{
	return pinned_ret(ctx, ret);
}

SEC("kprobe/pin_user_pages")
int BPF_KPROBE(pins_pin_kprobe, unsigned long start, unsigned long nr, unsigned int gup_flags,
	       struct page **pages)
{
	return save_args(start, gup_flags, (__u64)pages, 0);
}

SEC("kretprobe/pin_user_pages")
int BPF_KRETPROBE(pins_pin_kretprobe, long ret)
{
	return pinned_ret(ctx, ret);
}

SEC("kprobe/pin_user_pages_remote")
int BPF_KPROBE(pins_pin_remote_kprobe, struct mm_struct *mm, unsigned long start, unsigned long nr,
	       unsigned int gup_flags, struct page **pages)
{
	return save_args(start, gup_flags, (__u64)pages, (__u64)mm);
}

SEC("kretprobe/pin_user_pages_remote")
int BPF_KRETPROBE(pins_pin_remote_kretprobe, long ret)
{
	return pinned_ret(ctx, ret);
}

SEC("kprobe/pin_user_pages_unlocked")
int BPF_KPROBE(pins_pin_unlocked_kprobe, unsigned long start, unsigned long nr, struct page **pages,
	       unsigned int gup_flags)
{
	return save_args(start, gup_flags, (__u64)pages, 0);
}

SEC("kretprobe/pin_user_pages_unlocked")
int BPF_KRETPROBE(pins_pin_unlocked_kretprobe, long ret)
{
	return pinned_ret(ctx, ret);
}

SEC("kprobe/unpin_user_page")
int BPF_KPROBE(pins_unpin_kprobe, struct page *page)
{
	return on_release(PS_TIER_KPROBE, (__u64)page, 1, 1);
}

SEC("kprobe/unpin_user_pages")
int BPF_KPROBE(pins_unpins_kprobe, struct page **pages, unsigned long npages)
{
	return on_release(PS_TIER_KPROBE, (__u64)pages, 0, npages);
}

SEC("kprobe/unpin_user_pages_dirty_lock")
int BPF_KPROBE(pins_unpins_dirty_kprobe, struct page **pages, unsigned long npages, bool make_dirty)
{
	if (!make_dirty)
		return 0;
	return on_release(PS_TIER_KPROBE, (__u64)pages, 0, npages);
}

SEC("kprobe/unpin_user_page_range_dirty_lock")
int BPF_KPROBE(pins_unpin_range_kprobe, struct page *page, unsigned long npages)
{
	return on_release(PS_TIER_KPROBE, (__u64)page, bpf_core_type_size(struct page), npages);
}

SEC("kprobe/memfd_pin_folios")
int BPF_KPROBE(pins_memfd_pin_kprobe, struct file *memfd, long long start, long long end,
	       struct folio **folios)
{
	return save_args(start, cfg.foll_longterm, (__u64)folios, 1);
}

SEC("kretprobe/memfd_pin_folios")
int BPF_KRETPROBE(pins_memfd_pin_kretprobe, long ret)
{
	return pinned_ret(ctx, ret);
}

SEC("kprobe/unpin_user_folio")
int BPF_KPROBE(pins_unpin_folio_npages_kprobe, struct folio *folio, unsigned long npages)
{
	return on_release(PS_TIER_KPROBE, (__u64)folio, bpf_core_type_size(struct page), npages);
}

SEC("kprobe/unpin_folio")
int BPF_KPROBE(pins_unpin_folio_kprobe, struct folio *folio)
{
	return on_release(PS_TIER_KPROBE, (__u64)folio, 1, 1);
}

SEC("kprobe/unpin_folios")
int BPF_KPROBE(pins_unpin_folios_kprobe, struct folio **folios, unsigned long nfolios)
{
	return on_release(PS_TIER_KPROBE, (__u64)folios, 0, nfolios);
}

/* ---- seeding: pins that predate pinscope ---- */

struct seed_buf {
	__u64 ring;
	__u64 bvec; /* &imu->bvec[0] */
	__u32 slot;
};

static long seed_page_cb(__u64 j, void *data)
{
	struct seed_buf *s = data;
	struct page_owner v = {.obj = s->ring, .slot = s->slot};
	__u64 pg = 0;
	long err;

	/* Each bio_vec holds one pinned page (a coalesced 6.12 buffer keeps one pin per folio, on
	 * its head page: the bio_vec's page too). */
	if (bpf_probe_read_kernel(&pg, sizeof(pg),
				  (void *)(s->bvec + j * bpf_core_type_size(struct bio_vec) +
					   bpf_core_field_offset(struct bio_vec, bv_page))) ||
	    !pg)
		return 0;
	err = bpf_map_update_elem(&pins_pages, &pg, &v, BPF_NOEXIST);
	if (err && err != -EEXIST) {
		ps_drop(PS_DROP_MAP_FULL);
		return 1;
	}
	return 0;
}

static long seed_buf_cb(__u64 i, void *data)
{
	__u64 ring = *(__u64 *)data;
	struct io_mapped_ubuf *imu = ring_buf((void *)ring, i);
	struct seed_buf s = {.ring = ring, .slot = i};
	__u32 nr;

	if (!imu || BPF_CORE_READ(imu, ubuf) == (__u64)-1)
		return 0;
	if (bpf_core_field_exists(imu->is_kbuf) && BPF_CORE_READ(imu, is_kbuf))
		return 0;
	nr = BPF_CORE_READ(imu, nr_bvecs);
	s.bvec = (__u64)imu + bpf_core_field_offset(struct io_mapped_ubuf, bvec);
	bpf_loop(nr < PS_MAX_CALL_PAGES ? nr : PS_MAX_CALL_PAGES, seed_page_cb, &s, 0);
	return 0;
}

/* pinscope's own close() of a duplicate of a ring's fd: the ring's pinned pages, under the
 * (ring, buffer index) identity of the seed records pins_seed_close_tp sends. */
SEC("tracepoint/syscalls/sys_enter_close")
int pins_fn_seed_close_tp(struct syscall_trace_enter *ctx)
{
	__u64 ring;
	__u32 nr;

	if (!ready || ps_tgid() != cfg.self_tgid)
		return 0;
	ring = own_uring_fd(ctx->args[0]);
	if (!ring)
		return 0;
	nr = ring_nr_bufs((void *)ring);
	if (nr > 16384)
		nr = 16384;
	bpf_loop(nr, seed_buf_cb, &ring, 0);
	return 0;
}
