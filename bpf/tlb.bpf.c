// SPDX-License-Identifier: GPL-2.0-only
/*
 * TLB flushes and their shootdown IPIs at the raw tracepoint tier, aggregated in BPF.
 *
 * One flush on x86, as the tracepoints show it (6.12+; 6.1 lacks the csd and ipi events):
 *   sender CPU:   tlb_flush(4 "remote IPI send", pages)       native_flush_tlb_multi()
 *                 csd_queue_cpu(target, flush_tlb_func, csd)   once per CPU still to flush
 *                 ipi_send_cpu / ipi_send_cpumask              only if the target's queue was empty
 *                 csd_function_entry(flush_tlb_func, NULL)     the sender's own flush, run locally
 *                 csd_function_exit(flush_tlb_func, NULL)
 *   target CPU:   csd_function_entry(flush_tlb_func, csd)      the shootdown: /proc/interrupts TLB
 *                 tlb_flush(1 "remote shootdown" | 5 "wrong CPU")
 *                 csd_function_exit(flush_tlb_func, csd)
 * The cause is the sender's (its syscall, or the kernel thread it is): shootdowns are counted
 * where they are queued, per target CPU, under the sender's key. The flushed mm comes from the
 * sender's per-CPU flush_tlb_info, so a flush made by khugepaged is charged to the process whose
 * mm it was.
 *
 * Latency is sampled by the sender: 1 in cfg.tlb_sample_mask + 1 of the shootdowns a CPU queues
 * (its own count, hashed) is timed from when the sender asked (delivery) and until the target is
 * done (handling). For a timed one the sender reads the clock (once per flush) and leaves a
 * stamp on the target, in the target's per-CPU state: the csd it queued, the time, its key. The
 * target's handler compares its csd argument with its stamps (no read of the sender's memory)
 * and takes a matching one. On the 6.18 development host (bpf_stats) the clock read cost the
 * sender 50-60 ns per flush, and reading the csd, the flush_tlb_info and the sender's state
 * cost a timed handler 150-300 ns: neither is paid for the shootdowns that are not timed.
 * A stamp the target never takes (its handler run unseen: about 1 in 100,000 here) stays until
 * the sender's next timed shootdown to it replaces it; a shootdown the same sender queues to it
 * before that carries the same csd and is timed from the stale stamp.
 *
 * tlb_flush fires on every switch of mm (reason 0), where any program costs the switch ~30 ns,
 * so where the csd tracepoints exist it is attached only for --tlb-local (local flushes, task
 * switches). Without it (cfg.tlb_by_csd) the first csd_queue_cpu of a flush starts the send and
 * csd_function_exit ends the handler; with it, tlb_flush reasons 4 and 1/5 do, and
 * csd_function_exit is not attached.
 *
 * Counters go to per-CPU accumulator slots, folded into a per-CPU hash keyed by (tgid, cause)
 * when a slot changes hands, and to one per-CPU array of global counters; user space reads all
 * of them every tick. Nothing goes through the ring buffer per event. tlb_flush reason 0 (task
 * switch), where attached, only bumps a per-CPU counter.
 */
#include "common.bpf.h"
#include "tlb.h"

#define PF_KTHREAD     0x00200000
#define TLB_FLUSH_ALL  (~0UL)
#define ENOSYS	       38
#define MAX_SYSCALL    1024
#define TLB_STATS_MAX  4096
#define PAGE_SHIFT     12
#define TLB_STAMPS     4
#define TLB_STAMP_BUSY 1ULL

enum {
	R_TASK_SWITCH = 0,
	R_REMOTE_SHOOTDOWN = 1,
	R_LOCAL_SHOOTDOWN = 2,
	R_LOCAL_MM_SHOOTDOWN = 3,
	R_REMOTE_SEND_IPI = 4,
	R_REMOTE_WRONG_CPU = 5,
};

/* Per (tgid, cause); per-CPU so the sender and the target never share a cache line. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, TLB_STATS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tlb_key);
	__type(value, struct tlb_val);
} tlb_stats SEC(".maps");

/* Set by user space: tlb_watch has entries (the lookup is skipped otherwise). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tlb_conf);
} tlb_conf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TLB_ACC_SLOTS);
	__type(key, __u32);
	__type(value, struct tlb_acc);
} tlb_acc SEC(".maps");

/* A zeroed value to create entries from (a value this large does not fit on the stack). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tlb_val);
} tlb_zero SEC(".maps");

/* System-wide counters, everything after `ready`, whatever the filter. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ps_tlb_counts);
} tlb_global SEC(".maps");

struct cpu_state {
	/* This CPU's flush_tlb_info (the per-CPU request that get_flush_tlb_info() fills), found
	 * from its runqueue (fti_learn), else learnt from the first shootdown it queues: kallsyms
	 * has no per-CPU symbols to find it by. */
	__u64 fti;
	/* Sender side: the flush this CPU is sending (a timed shootdown copies its key and time
	 * into the target's stamp slot, stamp_target). */
	struct tlb_key send_key;
	__u64 send_gen;	     /* its flush_tlb_info.new_tlb_gen */
	__u64 send_ts;	     /* when it was asked for: read at its first timed shootdown, or 0 */
	__u64 send_callsite; /* csd_queue_cpu callsite, matched by the IPI send */
	__u64 send_mm;	     /* cfg.tlb_by_csd: the flushed mm, with send_gen names the send */
	__u32 send_cpu;	     /* cfg.tlb_by_csd: the last CPU it queued a shootdown to */
	__u8 send_valid;
	__u8 send_skip;	    /* filtered out */
	__u8 send_armed;    /* shootdowns queued, IPI not yet seen */
	__u8 local_of_send; /* running this CPU's own part of the flush it sends */
	__u8 send_done;	    /* cfg.tlb_by_csd: its own part ran, the next queue is a new send */
	__u8 send_queued;   /* a shootdown of the send was queued (else: no_ipi) */
	__u32 queue_seq;    /* shootdowns queued (chooses the timed ones) */
	/* Target side: inside a timed handler. */
	__u8 handling;
	struct tlb_key handle_key;
	__u64 handle_ts;
	/*
	 * Target side, written by the senders: the timed shootdowns queued to this CPU, one slot
	 * per sender CPU modulo TLB_STAMPS (csd 0: empty; TLB_STAMP_BUSY: being written). Cache
	 * lines of their own, as other CPUs write them.
	 */
	__u8 pad_before[64];
	__u64 stamp_csd[TLB_STAMPS];
	__u64 stamp_ts[TLB_STAMPS];
	struct tlb_key stamp_key[TLB_STAMPS];
	__u8 pad_after[64];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_state);
} tlb_cpu SEC(".maps");

/* Pinned (or converting) ranges per process, written by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct tlb_watch);
} tlb_watch SEC(".maps");

static __always_inline __u32 log2_slot(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) {
		v >>= 32;
		r += 32;
	}
	if (v >> 16) {
		v >>= 16;
		r += 16;
	}
	if (v >> 8) {
		v >>= 8;
		r += 8;
	}
	if (v >> 4) {
		v >>= 4;
		r += 4;
	}
	if (v >> 2) {
		v >>= 2;
		r += 2;
	}
	if (v >> 1)
		r += 1;
	return r < PS_TLB_HIST_SLOTS ? r : PS_TLB_HIST_SLOTS - 1;
}

static __always_inline struct ps_tlb_counts *global(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&tlb_global, &zero);
}

static __always_inline struct cpu_state *cpu_state(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&tlb_cpu, &zero);
}

static __always_inline bool key_wanted(const struct tlb_key *k)
{
	if (k->tgid == cfg.self_tgid && k->tgid)
		return false;
	return !cfg.filter_tgid || k->tgid == cfg.filter_tgid;
}

/* The tlb_stats entry of k, created (with comm) if missing. */
static __always_inline struct tlb_val *stat_of(const struct tlb_key *k, const char *comm)
{
	struct tlb_val *v = bpf_map_lookup_elem(&tlb_stats, k);
	__u32 zero = 0;
	void *z;

	if (v)
		return v;
	z = bpf_map_lookup_elem(&tlb_zero, &zero);
	if (!z)
		return NULL;
	if (bpf_map_update_elem(&tlb_stats, k, z, BPF_NOEXIST))
		return bpf_map_lookup_elem(&tlb_stats, k); /* another CPU made it, or none */
	v = bpf_map_lookup_elem(&tlb_stats, k);
	if (v)
		__builtin_memcpy(v->comm, comm, sizeof(v->comm));
	return v;
}

#define VAL_WORDS ((sizeof(struct ps_tlb_counts) + sizeof(((struct tlb_val *)0)->hist)) / 8)

/* Move a slot's counts into tlb_stats and empty it. */
static __always_inline void fold(struct tlb_acc *a)
{
	struct tlb_val *v;
	__u64 *d, *s = (__u64 *)&a->v;

	a->used = 0;
	barrier();
	v = stat_of(&a->key, a->v.comm);
	/*
	 * No entry: the map allocates entries as they come (preallocated, it would cost its size
	 * times the CPUs), and an allocation can fail for a moment in IPI context, or the map is
	 * full. The counts go to the entry of unattributed flushes, which user space creates at
	 * start, rather than being lost.
	 */
	if (!v) {
		struct tlb_key u = {};

		v = bpf_map_lookup_elem(&tlb_stats, &u);
		if (!v)
			ps_drop(PS_DROP_MAP_FULL);
	}
	d = (__u64 *)v;
	for (int i = 0; i < VAL_WORDS; i++) {
		if (d)
			d[i] += s[i];
		s[i] = 0;
	}
}

/* Where to count for key k on this CPU: its accumulator slot. */
static __always_inline struct tlb_val *acc_of(const struct tlb_key *k, const char *kcomm)
{
	__u32 slot = (k->tgid ^ ((__u32)k->cause * 0x9e37)) & (TLB_ACC_SLOTS - 1);
	struct tlb_acc *a = bpf_map_lookup_elem(&tlb_acc, &slot);

	if (!a)
		return NULL;
	if (a->used && a->key.tgid == k->tgid && a->key.cause == k->cause)
		return &a->v;
	if (a->used)
		fold(a);
	a->key.tgid = k->tgid;
	a->key.cause = k->cause;
	a->key.pad = 0;
	if (!kcomm || bpf_probe_read_kernel_str(a->v.comm, sizeof(a->v.comm), kcomm) < 0)
		a->v.comm[0] = 0;
	/*
	 * The key's first use on the sender (the callers with a comm: task context) makes its
	 * tlb_stats entry, so that a fold in a shootdown handler later finds it rather than
	 * allocating in IRQ context, which can fail (and would move a target's latency samples
	 * away from the shootdowns the sender counted under the key).
	 */
	if (kcomm)
		stat_of(&a->key, a->v.comm);
	barrier();
	a->used = 1;
	return &a->v;
}

static __always_inline __u16 kthread_cause(struct task_struct *t)
{
	char c[8] = {};

	bpf_probe_read_kernel(c, sizeof(c), t->comm);
	if (c[0] == 'k' && c[1] == 'h' && c[2] == 'u' && c[3] == 'g' && c[4] == 'e')
		return PS_TLB_C_KHUGEPAGED;
	if (c[0] == 'k' && c[1] == 's' && c[2] == 'm' && c[3] == 'd' && c[4] == 0)
		return PS_TLB_C_KSM;
	if (c[0] == 'k' && c[1] == 'c' && c[2] == 'o' && c[3] == 'm' && c[4] == 'p')
		return PS_TLB_C_COMPACTION;
	if (c[0] == 'k' && c[1] == 's' && c[2] == 'w' && c[3] == 'a' && c[4] == 'p')
		return PS_TLB_C_RECLAIM;
	return PS_TLB_C_KTHREAD;
}

/* Is fd of the current task a KVM VM or vCPU? (the ioctl that flushed) */
static __always_inline bool fd_is_kvm(struct task_struct *t, __u64 fd)
{
	struct file **fds, *f = NULL;
	__u64 ioctl_fn;

	if (!cfg.kvm_vm_ioctl && !cfg.kvm_vcpu_ioctl)
		return false;
	if (fd >= BPF_CORE_READ(t, files, fdt, max_fds))
		return false;
	fds = BPF_CORE_READ(t, files, fdt, fd);
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) || !f)
		return false;
	ioctl_fn = (__u64)BPF_CORE_READ(f, f_op, unlocked_ioctl);
	return ioctl_fn && (ioctl_fn == cfg.kvm_vm_ioctl || ioctl_fn == cfg.kvm_vcpu_ioctl);
}

/*
 * What the current task is doing. A task inside a syscall has the syscall number in
 * orig_ax and -ENOSYS in ax (set at entry, replaced by the return value at exit); a page fault
 * has its error code in orig_ax and the user's rax in ax.
 */
static __always_inline __u16 cause_of(struct task_struct *t)
{
	struct pt_regs *regs;
	__u64 nr, ax;

	if (t->flags & PF_KTHREAD)
		return kthread_cause(t);
	regs = (struct pt_regs *)bpf_task_pt_regs(t);
	if (!regs)
		return PS_TLB_C_FAULT;
	nr = regs->orig_ax;
	ax = regs->ax;
	if (ax != (__u64)-ENOSYS || nr >= MAX_SYSCALL)
		return PS_TLB_C_FAULT;
	switch (nr) {
	case 9:
		return PS_TLB_C_MMAP;
	case 10:  /* mprotect */
	case 329: /* pkey_mprotect */
		return PS_TLB_C_MPROTECT;
	case 11:
		return PS_TLB_C_MUNMAP;
	case 12:
		return PS_TLB_C_BRK;
	case 25:
		return PS_TLB_C_MREMAP;
	case 28:  /* madvise */
	case 440: /* process_madvise */
		return PS_TLB_C_MADVISE;
	case 237: /* mbind */
	case 256: /* migrate_pages */
	case 279: /* move_pages */
		return PS_TLB_C_MIGRATION;
	case 16:
		return fd_is_kvm(t, regs->di) ? PS_TLB_C_KVM : PS_TLB_C_IOCTL;
	case 285:
		return PS_TLB_C_FALLOCATE;
	case 56:  /* clone */
	case 57:  /* fork */
	case 58:  /* vfork */
	case 435: /* clone3 */
		return PS_TLB_C_FORK;
	case 59:  /* execve */
	case 322: /* execveat */
		return PS_TLB_C_EXEC;
	case 60:  /* exit */
	case 231: /* exit_group */
		return PS_TLB_C_EXIT;
	case 425: /* io_uring_setup */
	case 426: /* io_uring_enter */
	case 427: /* io_uring_register */
		return PS_TLB_C_IO_URING;
	}
	return PS_TLB_C_SYSCALL | nr;
}

struct fti_head {
	struct mm_struct *mm;
	unsigned long start, end;
	__u64 new_tlb_gen;
};

struct flush_req {
	struct tlb_key key;
	const char *comm;
	__u64 start, end, gen;
	bool has_range;
};

/* Is the n-th shootdown a CPU queues timed? Hashed, so that shootdowns sent in a fixed pattern
 * (to two targets taking turns, say) are sampled all the same. */
static __always_inline bool shootdown_timed(__u64 n)
{
	return !(((n * 0x9e3779b97f4a7c15ULL) >> 40) & cfg.tlb_sample_mask);
}

/*
 * The process whose mm this CPU is flushing, and the cause. The mm, the range and the
 * generation come from this CPU's flush_tlb_info once its address is known; before that the mm
 * is the task's own.
 */
static __always_inline void sender_key(struct flush_req *r, struct cpu_state *cs, bool cast)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct mm_struct *mm = NULL;

	r->key.tgid = t->tgid;
	r->key.cause = cause_of(t);
	r->key.pad = 0;
	r->comm = t->comm;
	r->has_range = false;
	r->gen = 0;
	r->start = 0;
	r->end = TLB_FLUSH_ALL;
	if (cast && cs && cs->fti) {
		struct flush_tlb_info *fi = bpf_rdonly_cast(
			(void *)cs->fti, bpf_core_type_id_kernel(struct flush_tlb_info));

		/* loads, where the kernel has bpf_rdonly_cast: ~30 ns less than a probe read */
		mm = fi->mm;
		r->start = fi->start;
		r->end = fi->end;
		r->has_range = mm != NULL;
		r->gen = fi->new_tlb_gen;
	} else if (cs && cs->fti) {
		struct flush_tlb_info *fi = (struct flush_tlb_info *)cs->fti;
		struct fti_head h;

		/* mm, start, end, new_tlb_gen are adjacent on every kernel pinscope knows: one
		 * read (the generation is taken only where CO-RE says it is where it is read) */
		if (!bpf_core_read(&h, sizeof(h), &fi->mm)) {
			mm = h.mm;
			r->start = h.start;
			r->end = h.end;
			r->has_range = mm != NULL;
			if (bpf_core_field_offset(struct flush_tlb_info, new_tlb_gen) ==
			    bpf_core_field_offset(struct flush_tlb_info, mm) + 24)
				r->gen = h.new_tlb_gen;
		}
	} else if (t->mm) {
		r->has_range = true; /* range unknown: any pinned range may be hit */
	}
	if (mm && mm != t->mm && bpf_core_field_exists(mm->owner)) {
		struct task_struct *owner = BPF_CORE_READ(mm, owner);

		if (owner) {
			r->key.tgid = BPF_CORE_READ(owner, tgid);
			r->comm = owner->comm;
		}
	}
}

static __always_inline void check_pinned(struct tlb_val *v, const struct flush_req *r)
{
	struct tlb_watch *w;
	struct tlb_conf *conf;
	__u32 tgid = r->key.tgid, zero = 0;
	__u64 pages = 0;
	bool hit = false;

	if (!r->has_range)
		return;
	conf = bpf_map_lookup_elem(&tlb_conf, &zero);
	if (!conf || !conf->watching)
		return;
	w = bpf_map_lookup_elem(&tlb_watch, &tgid);
	if (!w)
		return;
	for (int i = 0; i < TLB_WATCH_RANGES; i++) {
		__u64 s, e;

		if (i >= w->n)
			break;
		s = w->start[i] > r->start ? w->start[i] : r->start;
		e = w->end[i] < r->end ? w->end[i] : r->end;
		if (s < e) {
			hit = true;
			pages += (e - s) >> PAGE_SHIFT;
		}
	}
	if (hit) {
		v->c.on_pinned++;
		v->c.on_pinned_pages += pages;
	}
}

/*
 * This CPU's flush_tlb_info before a shootdown queued from here names it: its runqueue (the
 * current task's, found through its cfs_rq) plus cfg.fti_from_rq, the distance between the two
 * per-CPU variables. So a request that queues no shootdown (the other CPUs idle, or flushed by
 * the hypervisor) has its mm, range and generation too. A csd's own info replaces it.
 */
static __always_inline void fti_learn(struct cpu_state *cs)
{
	struct task_struct *t;
	struct cfs_rq *crq;
	__u64 rq;

	if (cs->fti || !cfg.fti_from_rq || !bpf_core_field_exists(struct cfs_rq, rq))
		return;
	t = bpf_get_current_task_btf();
	crq = t->se.cfs_rq;
	rq = crq ? (__u64)crq->rq : 0;
	if (rq)
		cs->fti = rq + cfg.fti_from_rq;
}

/* The generation of the flush this CPU's flush_tlb_info holds now (~0 if it is not known). */
static __always_inline __u64 fti_gen(struct cpu_state *cs, bool cast)
{
	struct flush_tlb_info *fi = (struct flush_tlb_info *)cs->fti;
	__u64 gen = ~0ULL;

	if (!fi)
		return gen;
	if (cast) {
		fi = bpf_rdonly_cast(fi, bpf_core_type_id_kernel(struct flush_tlb_info));
		return fi->new_tlb_gen;
	}
	bpf_core_read(&gen, sizeof(gen), &fi->new_tlb_gen);
	return gen;
}

static __always_inline bool sender_wanted(const struct tlb_key *k)
{
	return key_wanted(k) &&
	       !(cfg.filter_cgroup && bpf_get_current_cgroup_id() != cfg.filter_cgroup);
}

/* This CPU sends the flush r: remember whose it is and when it was asked for. False: filtered. */
static __always_inline bool send_begins(struct cpu_state *cs, const struct flush_req *r)
{
	cs->send_key = r->key;
	cs->send_gen = r->gen;
	cs->send_valid = 1;
	cs->send_armed = 0;
	cs->local_of_send = 0;
	cs->send_done = 0;
	cs->send_queued = 0;
	cs->send_skip = !sender_wanted(&r->key);
	cs->send_ts = 0;
	return !cs->send_skip;
}

/* Reasons 2, 3, 4: this CPU flushes (locally) or asks others to. */
static __always_inline void on_flush_request(__u32 reason, __u64 pages, bool cast)
{
	struct cpu_state *cs = cpu_state();
	struct flush_req r;
	struct tlb_val *v;

	if (!cs)
		return;
	fti_learn(cs);
	/*
	 * The sender's own part of the flush it just sent (after csd_function_entry(NULL)): same
	 * key, counted once as a flush. Unless the part returned before flushing (up to date
	 * already: no event) and this is the next flush, which has another generation.
	 */
	if (cs->local_of_send && reason != R_REMOTE_SEND_IPI) {
		cs->local_of_send = 0;
		if (fti_gen(cs, cast) == cs->send_gen) {
			if (cs->send_skip)
				return;
			v = acc_of(&cs->send_key, NULL);
			if (v) {
				v->c.reason[reason & (PS_TLB_REASONS - 1)]++;
				if (pages != TLB_FLUSH_ALL)
					v->c.local_pages += pages;
			}
			return;
		}
	}
	sender_key(&r, cs, cast);
	if (reason == R_REMOTE_SEND_IPI) {
		if (!send_begins(cs, &r))
			return;
	} else if (!sender_wanted(&r.key)) {
		return;
	}
	v = acc_of(&r.key, r.comm);
	if (!v)
		return;
	v->c.reason[reason & (PS_TLB_REASONS - 1)]++;
	if (reason == R_REMOTE_SEND_IPI) {
		if (pages == TLB_FLUSH_ALL)
			v->c.full++;
		else
			v->c.pages += pages;
	} else if (pages != TLB_FLUSH_ALL) {
		v->c.local_pages += pages;
	}
	check_pinned(v, &r);
}

/* Reasons 1, 5: the end of a shootdown handler, timed if its start was. */
static __always_inline void on_flush_remote(void)
{
	struct cpu_state *cs = cpu_state();
	struct tlb_val *v;
	__u64 now;

	if (!cs || !cs->handling)
		return;
	cs->handling = 0;
	now = bpf_ktime_get_ns();
	v = acc_of(&cs->handle_key, NULL);
	if (v && now > cs->handle_ts)
		v->hist[PS_TLB_H_HANDLING][log2_slot(now - cs->handle_ts)]++;
}

static __always_inline int tlb_flush_common(__u32 reason, unsigned long pages, bool cast)
{
	struct ps_tlb_counts *g;

	if (!ready)
		return 0;
	g = global();
	if (!g)
		return 0;
	if (reason == R_TASK_SWITCH) {
		g->reason[R_TASK_SWITCH]++;
		return 0;
	}
	if (reason >= PS_TLB_REASONS)
		return 0;
	reason &= PS_TLB_REASONS - 1; /* for the verifier */
	g->reason[reason]++;
	if (reason == R_REMOTE_SEND_IPI) {
		if (pages == TLB_FLUSH_ALL)
			g->full++;
		else
			g->pages += pages;
	}
	if (reason == R_REMOTE_SHOOTDOWN || reason == R_REMOTE_WRONG_CPU)
		on_flush_remote();
	else
		on_flush_request(reason, pages, cast);
	return 0;
}

/*
 * Two programs, as bpf_rdonly_cast (6.2+) must not appear in one loaded where the kernel lacks
 * it: the loader takes tlb_flush_cast_rtp where kallsyms has it (src/hooks_tlb.c).
 */
SEC("raw_tp/tlb_flush")
int BPF_PROG(tlb_flush_rtp, int reason, unsigned long pages)
{
	return tlb_flush_common((__u32)reason, pages, false);
}

SEC("raw_tp/tlb_flush")
int BPF_PROG(tlb_flush_cast_rtp, int reason, unsigned long pages)
{
	return tlb_flush_common((__u32)reason, pages, true);
}

static __always_inline bool is_kernel_flush(__u64 fn)
{
	return fn && (fn == cfg.do_flush_tlb_all || fn == cfg.do_kernel_range_flush);
}

/* Count a queued shootdown for k (NULL: the sender's flush, unless filtered out). */
static __always_inline void count_shootdown(struct cpu_state *cs, const struct tlb_key *k)
{
	struct tlb_val *v;

	if (!k) {
		if (cs->send_valid && cs->send_skip)
			return;
		k = cs->send_valid ? &cs->send_key : NULL;
	}
	if (!k) {
		struct tlb_key unknown = {};

		if (cfg.filter_tgid)
			return;
		v = acc_of(&unknown, NULL);
	} else {
		v = acc_of(k, NULL);
	}
	if (v)
		v->c.shootdowns++;
}

/*
 * cfg.tlb_by_csd: a send begins (what tlb_flush reason 4 counts otherwise): the request, under
 * the sender's key. Its range is in this CPU's flush_tlb_info; where its address is not known
 * yet (no runqueue to find it from, and no shootdown queued from here) the pages are not
 * counted.
 */
static __always_inline void csd_request(struct cpu_state *cs, struct ps_tlb_counts *g)
{
	struct flush_req r;
	struct tlb_val *v;
	__u64 pages;
	bool full;

	g->reason[R_REMOTE_SEND_IPI]++;
	sender_key(&r, cs, true);
	full = r.end == TLB_FLUSH_ALL;
	pages = full ? 0 : (r.end - r.start) >> PAGE_SHIFT;
	if (cs->fti) {
		g->full += full;
		g->pages += pages;
	}
	if (!send_begins(cs, &r))
		return;
	v = acc_of(&r.key, r.comm);
	if (!v)
		return;
	v->c.reason[R_REMOTE_SEND_IPI]++;
	if (!cs->fti)
		return;
	v->c.full += full;
	v->c.pages += pages;
	check_pinned(v, &r);
}

/*
 * cfg.tlb_by_csd: the first shootdown this CPU queues for a flush starts its send (what
 * tlb_flush reason 4 does otherwise). The other targets of the same send come in ascending CPU
 * order (smp_call_function_many_cond walks the mask), with the same generation of the same mm,
 * before this CPU runs its own part of the flush: a queue that breaks any of that is the next
 * send (two batch flushes, which have no mm and no generation, are told apart by the order).
 */
static __always_inline void csd_send(struct cpu_state *cs, struct ps_tlb_counts *g, void *csd,
				     __u32 cpu)
{
	struct __call_single_data *c =
		bpf_rdonly_cast(csd, bpf_core_type_id_kernel(struct __call_single_data));
	struct flush_tlb_info *fi;
	__u64 mm;

	cs->fti = (__u64)c->info;
	if (!cs->fti)
		return;
	fi = bpf_rdonly_cast(c->info, bpf_core_type_id_kernel(struct flush_tlb_info));
	mm = (__u64)fi->mm;
	if (cs->send_valid && !cs->send_done && cs->send_gen == fi->new_tlb_gen &&
	    cs->send_mm == mm && cpu > cs->send_cpu) {
		cs->send_cpu = cpu;
		return;
	}
	cs->send_mm = mm;
	cs->send_cpu = cpu;
	csd_request(cs, g);
}

/*
 * A shootdown of the flush this CPU sends, queued to cpu: if it is to be timed, leave its stamp
 * on the target. The slot is claimed with cmpxchg and its csd written last, so the target takes
 * a whole stamp or none; a stamp still waiting there from another sender of the same slot is
 * replaced (that sample is lost, not misattributed).
 */
static __always_inline void stamp_target(struct cpu_state *cs, __u32 cpu, void *csd)
{
	__u32 zero = 0, i = bpf_get_smp_processor_id() & (TLB_STAMPS - 1);
	struct cpu_state *t;
	__u64 old;

	if (!cs->send_valid || cs->send_skip || !shootdown_timed(++cs->queue_seq))
		return;
	t = bpf_map_lookup_percpu_elem(&tlb_cpu, &zero, cpu);
	if (!t)
		return;
	if (!cs->send_ts)
		cs->send_ts = bpf_ktime_get_ns();
	old = t->stamp_csd[i];
	if (old == TLB_STAMP_BUSY ||
	    __sync_val_compare_and_swap(&t->stamp_csd[i], old, TLB_STAMP_BUSY) != old)
		return;
	t->stamp_ts[i] = cs->send_ts;
	t->stamp_key[i] = cs->send_key;
	__sync_val_compare_and_swap(&t->stamp_csd[i], TLB_STAMP_BUSY, (__u64)csd);
}

SEC("raw_tp/csd_queue_cpu")
int BPF_PROG(tlb_csd_queue_rtp, unsigned int cpu, unsigned long callsite, void *func, void *csd)
{
	__u64 fn = (__u64)func;
	struct ps_tlb_counts *g;
	struct cpu_state *cs;

	if (!ready)
		return 0;
	cs = cpu_state();
	g = global();
	if (!cs || !g)
		return 0;
	if (fn != cfg.flush_tlb_func) {
		cs->send_armed = 0;
		if (fn && fn == cfg.kvm_ack_kick) {
			struct task_struct *t = bpf_get_current_task_btf();
			struct tlb_key k = {.tgid = t->tgid, .cause = PS_TLB_C_KVM};
			struct tlb_val *v;

			g->kvm_kicks++;
			if (!key_wanted(&k))
				return 0;
			v = acc_of(&k, t->comm);
			if (v)
				v->c.kvm_kicks++;
		} else if (is_kernel_flush(fn)) {
			struct tlb_key k = {.cause = PS_TLB_C_KERNEL};

			g->ipis++;
			if (!cfg.filter_tgid)
				count_shootdown(cs, &k);
		}
		return 0;
	}
	g->ipis++;
	if (cfg.tlb_by_csd) {
		csd_send(cs, g, csd, cpu);
	} else if (!cs->fti) {
		struct __call_single_data *c =
			bpf_rdonly_cast(csd, bpf_core_type_id_kernel(struct __call_single_data));
		struct flush_tlb_info *fi;

		cs->fti = (__u64)c->info;
		/* the flush being sent began before its generation could be read: read it here */
		fi = bpf_rdonly_cast(c->info, bpf_core_type_id_kernel(struct flush_tlb_info));
		if (cs->fti && cs->send_valid)
			cs->send_gen = fi->new_tlb_gen;
	}
	count_shootdown(cs, NULL);
	stamp_target(cs, cpu, csd);
	cs->send_queued = 1;
	cs->send_armed = 1;
	cs->send_callsite = callsite;
	return 0;
}

static __always_inline void on_ipi_sent(unsigned long callsite, __u64 n)
{
	struct cpu_state *cs = cpu_state();
	struct ps_tlb_counts *g;

	if (!cs || !cs->send_armed)
		return;
	cs->send_armed = 0;
	if (callsite != cs->send_callsite)
		return;
	g = global();
	if (g)
		g->hw_ipis += n;
}

SEC("raw_tp/ipi_send_cpu")
int BPF_PROG(tlb_ipi_cpu_rtp, unsigned int cpu, unsigned long callsite, void *callback)
{
	if (ready)
		on_ipi_sent(callsite, 1);
	return 0;
}

SEC("raw_tp/ipi_send_cpumask")
int BPF_PROG(tlb_ipi_mask_rtp, const struct cpumask *mask, unsigned long callsite, void *callback)
{
	__u64 bits[4] = {};
	__u64 n = 0;

	if (!ready)
		return 0;
	bpf_probe_read_kernel(bits, sizeof(bits), mask);
	for (int i = 0; i < 4; i++)
		n += __builtin_popcountll(bits[i]);
	on_ipi_sent(callsite, n);
	return 0;
}

/*
 * A shootdown starting on this CPU, timed if its sender left a stamp with its csd: the stamp
 * says when it was asked for and who asked. Its delivery latency is counted now, its handling
 * when the handler ends (csd_function_exit, or tlb_flush with --tlb-local). The stamp is taken
 * with cmpxchg: a sender that claimed the slot meanwhile may have changed it.
 */
static __always_inline void shootdown_start(void *csd, struct cpu_state *cs)
{
	struct tlb_val *v;
	__u64 ts, now;

	for (int i = 0; i < TLB_STAMPS; i++) {
		if (cs->stamp_csd[i] != (__u64)csd)
			continue;
		ts = cs->stamp_ts[i];
		cs->handle_key = cs->stamp_key[i];
		if (__sync_val_compare_and_swap(&cs->stamp_csd[i], (__u64)csd, 0) != (__u64)csd)
			return;
		now = bpf_ktime_get_ns();
		cs->handle_ts = now;
		cs->handling = 1;
		v = acc_of(&cs->handle_key, NULL);
		if (v && now > ts)
			v->hist[PS_TLB_H_DELIVERY][log2_slot(now - ts)]++;
		return;
	}
}

/*
 * This CPU runs its own part of a flush it asks other CPUs for (flush_tlb_multi), after queueing
 * their shootdowns. A request that queued none (every other CPU lazy, or a paravirtual remote
 * flush: the hypervisor flushes the other vCPUs, no IPI) is counted here as no_ipi; with csd
 * counting nothing began its send, so it begins here. (A flush of an mm this CPU is not in, as
 * khugepaged's, has no part here: sent without IPIs, it is not seen.)
 */
static __always_inline void own_part(struct cpu_state *cs, struct ps_tlb_counts *g)
{
	bool ours = cs->send_valid && !cs->send_done;
	struct tlb_val *v;

	fti_learn(cs);
	/* a send that queued but had no part here is not this one: another generation */
	if (ours && cfg.tlb_by_csd && cs->fti) {
		struct flush_tlb_info *fi = bpf_rdonly_cast(
			(void *)cs->fti, bpf_core_type_id_kernel(struct flush_tlb_info));

		ours = fi->new_tlb_gen == cs->send_gen && (__u64)fi->mm == cs->send_mm;
	}
	if (!ours && cfg.tlb_by_csd) {
		csd_request(cs, g);
		ours = true;
	}
	cs->local_of_send = cs->send_valid;
	if (!ours || cs->send_queued)
		return;
	g->no_ipi++;
	if (cs->send_skip)
		return;
	v = acc_of(&cs->send_key, NULL);
	if (v)
		v->c.no_ipi++;
}

SEC("raw_tp/csd_function_entry")
int BPF_PROG(tlb_csd_entry_rtp, void *func, void *csd)
{
	__u64 fn = (__u64)func;
	struct ps_tlb_counts *g;
	struct cpu_state *cs;

	if (!ready)
		return 0;
	if (fn != cfg.flush_tlb_func && !is_kernel_flush(fn))
		return 0;
	cs = cpu_state();
	g = global();
	if (!g || !cs)
		return 0;
	/* csd NULL: the sender running its own part of the flush. */
	if (!csd) {
		if (fn == cfg.flush_tlb_func)
			own_part(cs, g);
		else
			cs->local_of_send = 0;
		cs->send_done = 1;
		return 0;
	}
	cs->handling = 0;
	if (fn != cfg.flush_tlb_func) {
		g->kernel_flushes++;
		return 0;
	}
	g->shootdowns++;
	shootdown_start(csd, cs);
	return 0;
}

/* cfg.tlb_by_csd: the end of a shootdown handler, timed if its start was. */
SEC("raw_tp/csd_function_exit")
int BPF_PROG(tlb_csd_exit_rtp, void *func, void *csd)
{
	if (ready && csd && (__u64)func == cfg.flush_tlb_func)
		on_flush_remote();
	return 0;
}
