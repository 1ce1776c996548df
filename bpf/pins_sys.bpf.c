// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pins at the syscall/tracepoint tier: io_uring fixed buffers.
 *
 * Works where function hooks are refused. A buffer operation is seen at syscall entry, its ring
 * (io_ring_ctx) at the io_uring:io_uring_register tracepoint, and at syscall exit the ring's
 * whole buffer table is read from the kernel with CO-RE and re-stated (PS_EV_OBJ_SYNC + one
 * PS_EV_PIN per buffer), so pages and charged pages are the kernel's own numbers. The ring's
 * teardown (io_ring_exit_work, which unpins a closed or dead ring asynchronously) is seen on the
 * workqueue tracepoints.
 */
#include "common.bpf.h"
#include "pins.bpf.h"
#include "pins_cache.bpf.h"

#define IORING_REGISTER_BUFFERS		    0
#define IORING_UNREGISTER_BUFFERS	    1
#define IORING_REGISTER_BUFFERS2	    15
#define IORING_REGISTER_BUFFERS_UPDATE	    16
#define IORING_REGISTER_CLONE_BUFFERS	    30
#define IORING_REGISTER_USE_REGISTERED_RING (1U << 31)

#define PS_MAX_BUFS_HARD 16384 /* IORING_MAX_REG_BUFFERS */

struct reg_call {
	__u64 ctx;
	__u32 opcode;
	__u32 fd;
};

/* LRU: a thread killed inside the syscall never reaches sys_exit; its entry must not stay. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32); /* tid */
	__type(value, struct reg_call);
} pins_inflight SEC(".maps");

/* Thread groups holding io_uring buffers: only their exits are reported. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u8);
} pins_holders SEC(".maps");

struct walk_scratch {
	__u64 ustack[PS_MAX_STACK];
	/* The PS_EV_PINS record being filled: too large for the stack, and a ring reservation
	 * cannot be held across bpf_loop's calls. One program run fills and sends it. */
	struct ps_ev_pins batch;
	/* Its buffers so far. Here, not in walk_ctx: a count the verifier tracks there would make
	 * it verify every iteration of bpf_loop once per value. */
	__u32 nbatch;
	/* The walk filling it (walk_token). A program run can be preempted, and another walk on
	 * this CPU then takes the scratch over: the first finds out by this and counts what it
	 * had gathered as lost rather than send it under the other's header. */
	__u64 owner;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct walk_scratch);
} pins_scratch SEC(".maps");

/*
 * struct ps_churn per ring (io_ring_ctx) that unregistered buffers while cfg.churn_window, in
 * the slot its address hashes to: a look-up is an index, where a hash map's costs ~20 ns a run
 * of the register/unregister loop. User space reads it mapped, every tick, and frees the slots
 * of torn-down rings (src/churn_poll.c).
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PS_CHURN_SLOTS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct ps_churn);
} pins_churn SEC(".maps");

/* The churn slot of ring if ring holds it, else NULL. */
static __always_inline struct ps_churn *churn_of(__u64 ring)
{
	__u32 slot = ps_churn_slot(ring);
	struct ps_churn *c = bpf_map_lookup_elem(&pins_churn, &slot);

	return c && c->ring == ring ? c : NULL;
}

/*
 * Claim ring's slot (its first unregister): only a free one, with cmpxchg, as another CPU may
 * claim it for another ring at the same time. User space zeroed it when it freed it.
 */
static __always_inline void churn_claim(__u64 ring)
{
	__u32 slot = ps_churn_slot(ring);
	struct ps_churn *c = bpf_map_lookup_elem(&pins_churn, &slot);

	if (!c || c->ring || __sync_val_compare_and_swap(&c->ring, 0, ring) != 0)
		return;
	c->tgid = ps_tgid();
	c->cgroup_id = cfg.no_cgroup ? 0 : bpf_get_current_cgroup_id();
	bpf_get_current_comm(c->comm, sizeof(c->comm));
}

struct walk_ctx {
	__u64 ring;
	__u64 fp, pages; /* of the buffers walked */
	bool dry;	 /* only fingerprint them */
	struct walk_scratch *scratch;
	__u32 nr_ustack;
	__u32 sent;
	__u32 gathered; /* buffers in scratch->batch from this walk (only counted, never tested) */
	__u8 flags;
	__u8 tier;
	bool own_mm; /* current is the ring's owner: user addresses can be resolved */
	/* The last VMA looked up: buffers are usually consecutive ranges of one mapping, and a
	 * bpf_find_vma per buffer was most of the cost of registering many small buffers. */
	struct vma_ctx vma;
	struct ps_ev_hdr hdr; /* of every PIN record of the walk: one system call */
};

/*
 * A buffer's address and length. They are adjacent on every kernel pinscope knows (ubuf, then
 * len from 6.10 on or ubuf_end before): one read instead of two, which matters at a register and
 * unregister loop's rate (the churn check reads the table at every registration).
 */
static __always_inline int buf_span(struct io_mapped_ubuf *imu, __u64 *ubuf, __u64 *len)
{
	struct io_mapped_ubuf___old *old = (void *)imu;
	__u64 two[2];

	if (bpf_core_field_exists(imu->len)) {
		if (bpf_core_field_offset(imu->len) != bpf_core_field_offset(imu->ubuf) + 8) {
			*ubuf = BPF_CORE_READ(imu, ubuf);
			*len = BPF_CORE_READ(imu, len);
			return 0;
		}
		if (bpf_core_read(two, sizeof(two), &imu->ubuf))
			return -1;
		*ubuf = two[0];
		*len = (__u32)two[1];
		return 0;
	}
	if (bpf_core_field_offset(old->ubuf_end) != bpf_core_field_offset(old->ubuf) + 8) {
		*ubuf = BPF_CORE_READ(old, ubuf);
		*len = BPF_CORE_READ(old, ubuf_end) - *ubuf;
		return 0;
	}
	if (bpf_core_read(two, sizeof(two), &old->ubuf))
		return -1;
	*ubuf = two[0];
	*len = two[1] - two[0];
	return 0;
}

/* The mapping ubuf lies in: the walk's last one, or looked up. */
static __always_inline struct vma_ctx *walk_vma(struct walk_ctx *w, __u64 ubuf)
{
	struct vma_ctx *v = &w->vma;

	if (ubuf < v->start || ubuf >= v->end)
		vma_lookup(ubuf, v);
	return v;
}

/* A buffer's PIN record up to its user stack (all of a PS_EV_PIN_NOSTACK record). */
static __always_inline void pin_fill(struct ps_ev_pin *e, struct walk_ctx *w,
				     struct io_mapped_ubuf *imu, __u64 i, __u64 ubuf, __u64 len)
{
	e->h.flags = w->flags | PS_F_LONGTERM;
	e->obj = w->ring;
	e->slot = i;
	e->subsys = PS_SUB_IO_URING;
	e->backing = PS_BACK_UNKNOWN;
	e->uaddr = ubuf;
	e->len = len;
	e->pages = ps_span_pages(ubuf, len);
	e->acct_pages = BPF_CORE_READ(imu, acct_pages);
	e->ino = 0;
	e->dev = 0;
	e->pad0 = 0;
	e->pad1 = 0;
	e->nr_ustack = 0;
	if (w->own_mm) {
		struct vma_ctx *v = walk_vma(w, ubuf);

		e->backing = v->backing;
		e->ino = v->ino;
		e->dev = v->dev;
	}
}

static __always_inline __u64 walk_token(const struct walk_ctx *w)
{
	return w->hdr.ts_ns ^ ((__u64)w->hdr.tid << 32);
}

/* Is the scratch still this walk's? If not, count what this walk had gathered there as lost
 * and take the scratch back, empty. */
static __always_inline bool scratch_kept(struct walk_ctx *w)
{
	if (w->scratch->owner == walk_token(w))
		return true;
	ps_drop_n(PS_DROP_READ, w->gathered);
	w->gathered = 0;
	w->scratch->owner = walk_token(w);
	w->scratch->nbatch = 0;
	return false;
}

/* Send the buffers gathered in the scratch PS_EV_PINS record, if any. */
static __always_inline void batch_flush(struct walk_ctx *w)
{
	struct ps_ev_pins *b;
	__u64 sz;
	__u32 n;

	if (!w->scratch || !scratch_kept(w))
		return;
	n = w->scratch->nbatch;
	if (!n)
		return;
	if (n > PS_PINS_MAX)
		n = PS_PINS_MAX;
	b = &w->scratch->batch;
	sz = offsetof(struct ps_ev_pins, item) + n * sizeof(struct ps_pin_item);
	b->nr = n;
	b->h.size = sz;
	ps_output(b, sz, n);
	w->scratch->nbatch = 0;
	w->gathered = 0;
}

/* A buffer after the first of a walk (its user stack the walk's): into the PS_EV_PINS record,
 * which is sent when full or when the buffer lies in another mapping than the record's. */
static __always_inline void batch_add(struct walk_ctx *w, struct io_mapped_ubuf *imu, __u64 i,
				      __u64 ubuf, __u64 len)
{
	struct ps_ev_pins *b = &w->scratch->batch;
	struct vma_ctx *v = walk_vma(w, ubuf);
	struct ps_pin_item *it;
	__u32 n;
	__u64 acct;

	scratch_kept(w);
	n = w->scratch->nbatch;
	if (n && (n >= PS_PINS_MAX || b->backing != v->backing || b->ino != v->ino ||
		  b->dev != v->dev)) {
		batch_flush(w);
		n = 0;
	}
	if (!n) {
		__builtin_memcpy(&b->h, &w->hdr, sizeof(b->h));
		b->h.type = PS_EV_PINS;
		b->h.flags = w->flags | PS_F_LONGTERM | PS_F_USTACK_PREV;
		b->obj = w->ring;
		b->ino = v->ino;
		b->dev = v->dev;
		b->subsys = PS_SUB_IO_URING;
		b->backing = v->backing;
	}
	it = &b->item[n & (PS_PINS_MAX - 1)];
	it->uaddr = ubuf;
	it->len = len;
	it->slot = i;
	acct = BPF_CORE_READ(imu, acct_pages);
	it->acct_pages = acct > 0xffffffffULL ? 0xffffffffU : acct;
	w->scratch->nbatch = (n & (PS_PINS_MAX - 1)) + 1;
	w->gathered++;
}

static long walk_cb(__u64 i, void *data)
{
	struct walk_ctx *w = data;
	struct io_mapped_ubuf *imu = ring_buf((void *)w->ring, i);
	struct ps_ev_pin *e;
	__u64 ubuf, len;

	if (!imu || buf_span(imu, &ubuf, &len))
		return 0;
	/* Sparse slots point at a dummy buffer (ubuf -1) before 6.18. */
	if (ubuf == (__u64)-1 || len == 0 || len > (1ULL << 40))
		return 0;
	/* Kernel buffers (ublk) are not user pins. A dry walk only follows a fresh registration,
	 * which has none, and skips the read: a kernel buffer it did count would only make the
	 * fingerprints differ, so the registration is reported, never wrongly paired. */
	if (!w->dry && bpf_core_field_exists(imu->is_kbuf) && BPF_CORE_READ(imu, is_kbuf))
		return 0;
	w->fp = (w->fp ^ ubuf) * 0x100000001b3ULL;
	w->fp = (w->fp ^ len) * 0x100000001b3ULL;
	w->pages += ps_span_pages(ubuf, len);
	if (w->dry)
		return 0;

	/* The first record of a walk carries the syscall's user stack; the rest say "the same",
	 * PS_PINS_MAX buffers a record. */
	if (w->own_mm && w->scratch && w->sent) {
		batch_add(w, imu, i, ubuf, len);
		w->sent++;
		return 0;
	}
	e = ps_reserve_like(struct ps_ev_pin, PS_EV_PIN_NOKSTACK, &w->hdr);
	if (!e)
		return 0;
	pin_fill(e, w, imu, i, ubuf, len);
	e->nr_kstack = 0;
	__builtin_memset(e->pad2, 0, sizeof(e->pad2));
	__builtin_memset(e->ustack, 0, sizeof(e->ustack));
	if (w->own_mm && w->scratch) {
		e->nr_ustack = w->nr_ustack;
		__builtin_memcpy(e->ustack, w->scratch->ustack, sizeof(e->ustack));
	}
	ps_submit(e);
	w->sent++;
	return 0;
}

static __always_inline void emit_sync(__u64 ring, __u32 nr, __u8 flags, int fd, __u8 tier)
{
	struct ps_ev_obj *o = ps_reserve(PS_EV_OBJ_SYNC, struct ps_ev_obj, tier);

	if (!o)
		return;
	o->h.flags = flags;
	o->obj = ring;
	o->nr = nr;
	o->fd = fd;
	o->subsys = PS_SUB_IO_URING;
	__builtin_memset(o->pad0, 0, sizeof(o->pad0));
	ps_submit(o);
}

/*
 * Re-state every buffer of a ring: PS_EV_OBJ_SYNC, one PS_EV_PIN per live buffer, and an
 * OBJ_SYNC with PS_F_END. `fresh`: the table was empty before (IORING_REGISTER_BUFFERS fails
 * with EBUSY otherwise), so every buffer is new and the PIN records alone say it all: two
 * records fewer per registration (a third of the records of a register/unregister loop).
 */
static __always_inline void sync_ring(void *tp_ctx, __u64 ring, __u8 flags, bool own_mm, int fd,
				      __u8 tier, bool fresh, bool replace, struct ps_churn *out)
{
	struct walk_ctx w = {.ring = ring, .flags = flags, .own_mm = own_mm, .tier = tier};
	__u32 nr = ring_nr_bufs((void *)ring);
	__u32 zero = 0, max = cfg.max_bufs ? cfg.max_bufs : PS_MAX_BUFS_HARD;

	if (nr > max) {
		ps_drop(PS_DROP_TRUNC);
		nr = max;
	}
	if (!fresh)
		emit_sync(ring, nr, flags | (replace ? PS_F_REPLACE : 0), fd, tier);
	ps_fill_hdr(&w.hdr, PS_EV_PIN, 0, tier);
	if (own_mm) {
		w.scratch = bpf_map_lookup_elem(&pins_scratch, &zero);
		if (w.scratch) {
			w.scratch->nbatch = 0;
			w.scratch->owner = walk_token(&w);
			w.nr_ustack = ustack_get(tp_ctx, w.scratch->ustack);
		}
	}
	bpf_loop(nr, walk_cb, &w, 0);
	batch_flush(&w);
	if (!fresh)
		emit_sync(ring, w.sent, flags | PS_F_END, fd, tier);
	if (out) {
		out->fp = w.fp;
		out->pages = w.pages;
	}
}

static __always_inline bool is_buf_op(__u32 op)
{
	return op == IORING_REGISTER_BUFFERS || op == IORING_UNREGISTER_BUFFERS ||
	       op == IORING_REGISTER_BUFFERS2 || op == IORING_REGISTER_BUFFERS_UPDATE ||
	       op == IORING_REGISTER_CLONE_BUFFERS;
}

SEC("tracepoint/syscalls/sys_enter_io_uring_register")
int pins_uring_reg_enter_tp(struct syscall_trace_enter *ctx)
{
	struct reg_call c = {};
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (!ps_want_current())
		return 0;
	c.fd = ctx->args[0];
	c.opcode = ctx->args[1] & ~IORING_REGISTER_USE_REGISTERED_RING;
	if (!is_buf_op(c.opcode))
		return 0;
	if (bpf_map_update_elem(&pins_inflight, &tid, &c, BPF_ANY))
		ps_drop(PS_DROP_MAP_FULL);
	return 0;
}

SEC("tracepoint/io_uring/io_uring_register")
int pins_uring_reg_tp(struct trace_event_raw_io_uring_register *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct reg_call *c = bpf_map_lookup_elem(&pins_inflight, &tid);

	if (c)
		c->ctx = (__u64)ctx->ctx;
	return 0;
}

/* Every buffer of the ring released at once: unregistered, or torn down by the kernel. */
static __always_inline void emit_unpin_all(__u64 ring, __u8 reason, __u8 tier)
{
	struct ps_ev_unpin *e = ps_reserve(PS_EV_UNPIN, struct ps_ev_unpin, tier);

	if (!e)
		return;
	e->obj = ring;
	e->slot = PS_SLOT_ALL;
	e->subsys = PS_SUB_IO_URING;
	e->reason = reason;
	e->pad0 = 0;
	e->pages = 0;
	ps_submit(e);
}

/*
 * walk_cb's dry walk through bpf_rdonly_cast views: four probe reads per buffer become loads
 * (25-40 ns less per registration of one buffer on the 6.18 host, bpf_stats). An array element
 * (a pointer in a table of pointers) is read as struct llist_node, whose one member is a pointer
 * at offset 0: older kernels cast to struct types only.
 */
static long dry_cast_cb(__u64 i, void *data)
{
	struct walk_ctx *w = data;
	struct io_ring_ctx *ctx =
		bpf_rdonly_cast((void *)w->ring, bpf_core_type_id_kernel(struct io_ring_ctx));
	__u32 node_id = bpf_core_type_id_kernel(struct llist_node);
	struct io_mapped_ubuf *imu;
	struct llist_node *slot;
	__u64 ubuf, len, table;

	if (bpf_core_field_exists(ctx->buf_table))
		table = (__u64)ctx->buf_table.nodes;
	else
		table = (__u64)((struct io_ring_ctx___old *)ctx)->user_bufs;
	if (!table)
		return 1;
	slot = bpf_rdonly_cast((void *)(table + i * 8), node_id);
	if (bpf_core_field_exists(ctx->buf_table)) { /* a table of resource nodes */
		struct io_rsrc_node *node =
			bpf_rdonly_cast(slot->next, bpf_core_type_id_kernel(struct io_rsrc_node));

		if (!node)
			return 0;
		/* a union member on 6.18: the verifier types it a scalar */
		imu = bpf_rdonly_cast(node->buf, bpf_core_type_id_kernel(struct io_mapped_ubuf));
	} else {
		imu = bpf_rdonly_cast(slot->next, bpf_core_type_id_kernel(struct io_mapped_ubuf));
	}
	if (!imu)
		return 0;
	ubuf = imu->ubuf;
	if (bpf_core_field_exists(imu->len))
		len = imu->len;
	else
		len = ((struct io_mapped_ubuf___old *)imu)->ubuf_end - ubuf;
	if (ubuf == (__u64)-1 || len == 0 || len > (1ULL << 40))
		return 0;
	w->fp = (w->fp ^ ubuf) * 0x100000001b3ULL;
	w->fp = (w->fp ^ len) * 0x100000001b3ULL;
	w->pages += ps_span_pages(ubuf, len);
	return 0;
}

/* The churn clock: jiffies where user space knows HZ, a load where the ns clock costs ~25 ns a
 * call in a VM. cfg.churn_hz is a constant: the other branch is left out. */
static __always_inline __u64 churn_now(void)
{
	return cfg.churn_hz ? bpf_jiffies64() : bpf_ktime_get_ns();
}

/*
 * A registration of the ring whose unregister is held back (struct ps_churn in events.h). The
 * hold is released first (before any record, so a user-space reader that saw it pending reports
 * it before these records). The same buffers inside the window: one pair counted, nothing
 * reported. Returns true when so.
 */
static __always_inline bool churn_pair(struct ps_churn *c, __u64 ring, bool fresh, __u32 nr,
				       bool cast)
{
	struct walk_ctx w = {.ring = ring, .dry = true};
	__u32 max = cfg.max_bufs ? cfg.max_bufs : PS_MAX_BUFS_HARD;
	__u64 now;

	c->pending = 0;
	now = churn_now();
	if (!fresh || now - c->unreg_t >= cfg.churn_window)
		return false;
	if (cast && nr == 1) /* the common loop: a subprogram call, not bpf_loop's */
		dry_cast_cb(0, &w);
	else if (cast)
		bpf_loop(nr < max ? nr : max, dry_cast_cb, &w, 0);
	else
		bpf_loop(nr < max ? nr : max, walk_cb, &w, 0);
	if (w.fp != c->fp || w.pages != c->pages)
		return false;
	c->reg_t = now;
	/* Atomic: io_uring_register's tracepoint fires after the ring's uring_lock is dropped
	 * (6.12 io_uring/register.c), so two threads of one ring may count at once. */
	__sync_fetch_and_add(&c->pairs, 1);
	__sync_fetch_and_add(&c->pair_pages, w.pages);
	return true;
}

/* A buffer operation on `ring` succeeded: report the release, or re-state the buffer table.
 * nr: the ring's buffer count now, as the io_uring_register tracepoint gives it (-1: read it). */
static __always_inline void uring_buf_op_done(void *tp_ctx, __u64 ring, __u32 opcode, __u8 tier,
					      __s64 nr, bool cast)
{
	struct ps_churn *c = cfg.churn_window ? churn_of(ring) : NULL;
	bool fresh = opcode == IORING_REGISTER_BUFFERS || opcode == IORING_REGISTER_BUFFERS2;
	struct ps_churn *n;
	__u32 tgid;
	bool replace = false;
	__u8 one = 1;

	if (opcode == IORING_UNREGISTER_BUFFERS) {
		__u64 now = churn_now();

		/* Registered moments ago: a loop, probably. Hold the unregister back. */
		if (c && !c->dead && !c->pending && now - c->reg_t < cfg.churn_window) {
			c->unreg_t = now;
			c->holds++;
			c->pending = 1;
			return;
		}
		emit_unpin_all(ring, PS_UNPIN_UNREGISTER, tier);
		/* Only rings that unregister get an entry: the next cycle can then be counted, and
		 * the many rings that register once and keep their buffers cost user space nothing
		 * at each tick. */
		if (cfg.churn_window && !c)
			churn_claim(ring);
		return;
	}
	if (c && c->pending) {
		if (churn_pair(c, ring, fresh, nr >= 0 ? nr : ring_nr_bufs((void *)ring), cast))
			return;
		/* Something else follows the held-back unregister, which user space may or may not
		 * have reported meanwhile: re-state the whole table as replacing what the ring
		 * held, so the release is counted once either way. */
		fresh = false;
		replace = true;
	}
	/* a look-up is much cheaper than an update that finds the entry there */
	tgid = ps_tgid();
	if (!bpf_map_lookup_elem(&pins_holders, &tgid) &&
	    bpf_map_update_elem(&pins_holders, &tgid, &one, BPF_ANY))
		ps_drop(PS_DROP_MAP_FULL);
	/* A torn-down ring's slot is user space's until it frees it: a new ring at the same
	 * address is not paired until then. */
	n = c && !c->dead ? c : NULL;
	sync_ring(tp_ctx, ring, 0, true, -1, tier, fresh, replace, n);
	if (n)
		n->reg_t = churn_now();
}

SEC("tracepoint/syscalls/sys_exit_io_uring_register")
int pins_uring_reg_exit_tp(struct syscall_trace_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct reg_call *c = bpf_map_lookup_elem(&pins_inflight, &tid);
	struct reg_call call;

	if (!c)
		return 0;
	call = *c;
	bpf_map_delete_elem(&pins_inflight, &tid);
	if (ctx->ret < 0 || !call.ctx)
		return 0;
	uring_buf_op_done(ctx, call.ctx, call.opcode, PS_TIER_SYSCALL, -1, false);
	return 0;
}

/*
 * The same from one raw tracepoint. io_uring:io_uring_register fires inside the syscall once the
 * operation is done, with the ring, the opcode (USE_REGISTERED_RING masked off) and the result,
 * so the two syscall tracepoints, the per-thread map and the trace records they fill are not
 * needed: a third of the cost per registration on the 6.18 host (tools/bench). Two programs:
 * pins_uring_reg_cast, where the kernel has bpf_rdonly_cast (6.2+), reads the buffer table for
 * the churn check with loads; the loader takes it where it can (src/hooks_pins.c).
 */
static __always_inline int uring_reg_raw(void *ctx, __u64 *args, bool cast)
{
	/* TP_PROTO(void *ctx, unsigned opcode, unsigned nr_files, unsigned nr_bufs, long ret) */
	__u64 ring = args[0];
	__u32 opcode = args[1];

	if ((long)args[4] < 0 || !is_buf_op(opcode) || !ring || !ps_want_current())
		return 0;
	uring_buf_op_done(ctx, ring, opcode, PS_TIER_RAW_TP, (__u32)args[3], cast);
	return 0;
}

SEC("raw_tp/io_uring_register")
int pins_uring_reg_raw(struct bpf_raw_tracepoint_args *ctx)
{
	return uring_reg_raw(ctx, ctx->args, false);
}

SEC("raw_tp/io_uring_register")
int pins_uring_reg_cast(struct bpf_raw_tracepoint_args *ctx)
{
	return uring_reg_raw(ctx, ctx->args, true);
}

/*
 * Seeding rings that existed before pinscope started: user space duplicates the holder's ring fd
 * (pidfd_getfd) and closes the duplicate; here, in pinscope's own close(), the fd still names the
 * ring, so its buffer table is read exactly as after a registration.
 */
SEC("tracepoint/syscalls/sys_enter_close")
int pins_seed_close_tp(struct syscall_trace_enter *ctx)
{
	unsigned int fd = ctx->args[0];
	__u64 ring;

	if (!ready || ps_tgid() != cfg.self_tgid)
		return 0;
	ring = own_uring_fd(fd);
	if (ring)
		sync_ring(ctx, ring, PS_F_SEED, false, fd, PS_TIER_SYSCALL, false, false, NULL);
	return 0;
}

static __always_inline __u64 exit_work_ring(void *work)
{
	return (__u64)work - bpf_core_field_offset(struct io_ring_ctx, exit_work);
}

static __always_inline void teardown_begins(void *work, __u8 tier)
{
	__u64 ring = exit_work_ring(work);
	struct ps_churn *c = churn_of(ring);
	struct ps_ev_obj *o;

	/* The pairs counted go out before the pins they belong to are released. */
	if (c && !c->dead) {
		struct ps_ev_churn *e;
		bool held = c->pending;

		c->pending = 0;
		c->dead = 1;
		e = c->pairs ? ps_reserve(PS_EV_CHURN, struct ps_ev_churn, tier) : NULL;
		if (e) {
			e->h.tgid = e->h.tid = c->tgid;
			e->h.cgroup_id = c->cgroup_id;
			__builtin_memcpy(e->h.comm, c->comm, sizeof(e->h.comm));
			e->obj = ring;
			e->pairs = c->pairs;
			e->pages = c->pair_pages;
			e->subsys = PS_SUB_IO_URING;
			__builtin_memset(e->pad0, 0, sizeof(e->pad0));
			ps_submit(e);
		}
		/* A held-back unregister released the buffers before the close: said now, not when
		 * the teardown ends (4-30 ms later on the 6.18 host). User space may have said it
		 * already: a second release of the ring finds nothing to release. */
		if (held)
			emit_unpin_all(ring, PS_UNPIN_UNREGISTER, tier);
	}
	o = ps_reserve(PS_EV_OBJ_TEARDOWN, struct ps_ev_obj, tier);

	if (!o)
		return;
	o->obj = exit_work_ring(work);
	o->nr = 0;
	o->fd = -1;
	o->subsys = PS_SUB_IO_URING;
	__builtin_memset(o->pad0, 0, sizeof(o->pad0));
	ps_submit(o);
}

/*
 * The slot of a ring whose teardown ended: its last counts went out when the teardown began, and
 * the ring's memory is free now, so a new ring may have its address at once. Zeroed inside a
 * sequence count (gen odd meanwhile: user space's copy of the slot is then not one owner's), the
 * owner last: churn_claim() takes only a free slot. Only this ring's teardown frees its slot.
 */
static __always_inline void churn_free(__u64 ring)
{
	struct ps_churn *c = churn_of(ring);
	__u32 gen;

	if (!c || !c->dead)
		return;
	gen = __sync_fetch_and_add(&c->gen, 1); /* fully ordered: the stores below come after */
	/* everything but the owner and the count: what lies between them, and what follows */
	__builtin_memset((char *)c + sizeof(c->ring), 0,
			 __builtin_offsetof(struct ps_churn, gen) - sizeof(c->ring));
	__builtin_memset((char *)c + __builtin_offsetof(struct ps_churn, gen) + sizeof(c->gen), 0,
			 sizeof(*c) - __builtin_offsetof(struct ps_churn, gen) - sizeof(c->gen));
	__sync_val_compare_and_swap(&c->gen, gen + 1, gen + 2);
	__sync_val_compare_and_swap(&c->ring, ring, 0);
}

/* The work item may be freed by now (the ring is): only its address is used. */
static __always_inline void teardown_ends(void *work, __u8 tier)
{
	__u64 ring = exit_work_ring(work);

	emit_unpin_all(ring, PS_UNPIN_TEARDOWN, tier);
	churn_free(ring);
}

SEC("tracepoint/workqueue/workqueue_execute_start")
int pins_uring_exit_start_tp(struct trace_event_raw_workqueue_execute_start *ctx)
{
	if (!ready || !cfg.io_ring_exit_work || (__u64)ctx->function != cfg.io_ring_exit_work)
		return 0;
	teardown_begins(ctx->work, PS_TIER_TP);
	return 0;
}

SEC("tracepoint/workqueue/workqueue_execute_end")
int pins_uring_exit_end_tp(struct trace_event_raw_workqueue_execute_end *ctx)
{
	if (!ready || !cfg.io_ring_exit_work || (__u64)ctx->function != cfg.io_ring_exit_work)
		return 0;
	teardown_ends(ctx->work, PS_TIER_TP);
	return 0;
}

/*
 * The same from raw tracepoints. These fire for every work item on the host (thousands a
 * second on a busy one), and all but io_ring_exit_work return at once: without the trace
 * record the classic tracepoint fills first, that return is nearly free.
 */
SEC("raw_tp/workqueue_execute_start")
int BPF_PROG(pins_uring_exit_start_raw, struct work_struct *work)
{
	if (!ready || !cfg.io_ring_exit_work ||
	    (__u64)BPF_CORE_READ(work, func) != cfg.io_ring_exit_work)
		return 0;
	teardown_begins(work, PS_TIER_RAW_TP);
	return 0;
}

/*
 * The same check with a load through bpf_rdonly_cast (6.2+) instead of a probe read, on every
 * work item of the host: 978 -> 751 ns a run on the idle 6.18 host (bpf_stats, means of five
 * 15 s runs each), where the program mostly runs cold (the end program, right after it, takes
 * ~320). The loader takes it where it can (src/hooks_pins.c).
 */
SEC("raw_tp/workqueue_execute_start")
int BPF_PROG(pins_uring_exit_start_cast, struct work_struct *work)
{
	struct work_struct *w;

	if (!ready || !cfg.io_ring_exit_work)
		return 0;
	w = bpf_rdonly_cast(work, bpf_core_type_id_kernel(struct work_struct));
	if ((__u64)w->func != cfg.io_ring_exit_work)
		return 0;
	teardown_begins(work, PS_TIER_RAW_TP);
	return 0;
}

SEC("raw_tp/workqueue_execute_end")
int BPF_PROG(pins_uring_exit_end_raw, struct work_struct *work, work_func_t function)
{
	if (!ready || !cfg.io_ring_exit_work || (__u64)function != cfg.io_ring_exit_work)
		return 0;
	teardown_ends(work, PS_TIER_RAW_TP);
	return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int pins_proc_exit_tp(void *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 tgid = ps_tgid();
	struct ps_ev_hdr *e;

	if (!ready || !bpf_map_lookup_elem(&pins_holders, &tgid))
		return 0;
	/* Only the last thread of the group: signal->live has dropped to zero. */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	bpf_map_delete_elem(&pins_holders, &tgid);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		ps_drop(PS_DROP_RINGBUF);
		return 0;
	}
	ps_fill_hdr(e, PS_EV_PROC_EXIT, sizeof(*e), PS_TIER_TP);
	ps_submit(e);
	return 0;
}
