// SPDX-License-Identifier: BSD-2-Clause
#include "session.h"
#include "loader.h"
#include "log.h"
#include "procfs.h"
#include "seed.h"
#include "tlb_poll.h"
#include "churn_poll.h"
#include "kvm_gate.h"
#include "pageref_poll.h"
#include "util.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_CHOICES 64

volatile int session_stop;

static void on_signal(int sig)
{
	(void)sig;
	session_stop = 1;
}

void session_install_signals(void)
{
	struct sigaction sa = {.sa_handler = on_signal};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

struct run {
	const struct session_opts *o;
	struct agg *a;
	const struct session_sink *sink;
	struct loader *l;
	struct seed *seed;
	struct ring_buffer *rb;
	uint64_t malformed;
	uint64_t break_at; /* leave the ring-buffer callback loop at this time (0: never) */
	bool final;	   /* the last drain: a stop request does not cut it short */
	/* When the last read that emptied the ring began: every record committed before it has
	 * been read (churn_poll trusts no held-back unregister younger than this). */
	uint64_t drained_ns;
	unsigned int since_check;
	int stop;
	int holders_fd;
	struct tlb_poll *tlb;
	struct churn_poll *churn;
	struct kvm_gate *gate;
};

static void emit(struct run *r, union ps_event *e)
{
	agg_apply(r->a, e);
	if (r->sink->on_event && r->sink->on_event(r->sink->ctx, e))
		r->stop = 1;
}

static void emit_tlb_cb(void *ctx, union ps_event *e)
{
	emit(ctx, e);
}

/* Seeded records: their holders' exits must be reported too. */
static void emit_seed_cb(void *ctx, union ps_event *e)
{
	struct run *r = ctx;
	__u8 one = 1;

	if (e->h.type == PS_EV_OBJ_SYNC && r->holders_fd >= 0)
		bpf_map_update_elem(r->holders_fd, &e->h.tgid, &one, BPF_ANY);
	emit(r, e);
}

static void synth_hdr(union ps_event *e, unsigned int type, size_t size, uint32_t tgid)
{
	memset(e, 0, sizeof(*e));
	e->h.type = type;
	e->h.size = size;
	e->h.tier = PS_TIER_PROCFS;
	e->h.flags = PS_F_SYNTH;
	e->h.tgid = tgid;
	e->h.tid = tgid;
	e->h.ts_ns = now_mono_ns();
}

static void emit_mark(struct run *r, unsigned int kind, unsigned int flags)
{
	union ps_event e;

	synth_hdr(&e, PS_EV_MARK, sizeof(e.mark), getpid());
	e.h.tier = PS_TIER_USER;
	e.mark.kind = kind;
	e.mark.flags = flags;
	e.mark.wall_ns = now_wall_ns();
	emit(r, &e);
}

static void emit_loss(struct run *r)
{
	union ps_event e;

	synth_hdr(&e, PS_EV_LOSS, sizeof(e.loss), getpid());
	e.h.tier = PS_TIER_USER;
	loader_drops(r->l, e.loss.drops);
	e.loss.malformed = r->malformed;
	emit(r, &e);
}

/* Processes sampled per ordinary tick; a full sample (start, end, every tenth tick) takes all. */
#define TICK_SAMPLES 512

struct pid_set {
	uint32_t *pid;
	size_t n, cap;
};

static void pid_add(struct pid_set *s, uint32_t pid)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		uint32_t *p = realloc(s->pid, cap * sizeof(*p));

		if (!p)
			return;
		s->pid = p;
		s->cap = cap;
	}
	s->pid[s->n++] = pid;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Sort and drop duplicates: O(n log n) however many holders share a process. */
static void pid_unique(struct pid_set *s)
{
	size_t j = 0;

	if (s->n < 2)
		return;
	qsort(s->pid, s->n, sizeof(*s->pid), cmp_u32);
	for (size_t i = 0; i < s->n; i++)
		if (!j || s->pid[j - 1] != s->pid[i])
			s->pid[j++] = s->pid[i];
	s->n = j;
}

static int add_pinned_pid(void *ctx, pid_t pid, uint64_t vmpin_kb, uint64_t vmlck_kb)
{
	(void)vmlck_kb;
	if (vmpin_kb)
		pid_add(ctx, pid);
	return 0;
}

/*
 * Ground truth for every process the aggregate knows and, when `full`, for every process with
 * VmPin (pins this tier cannot attribute show up that way); and the global counters. Reads
 * the aggregate, changes it only through the events it emits. An ordinary tick samples at most
 * TICK_SAMPLES processes, in rotation, so the cost per tick stays bounded on a host with many.
 */
static void sample_procfs(struct run *r, bool full)
{
	static struct pid_set set;
	static size_t rotor;
	struct holder_ent *h;
	struct proc_ent *p;
	union ps_event e;
	size_t first = 0, count;

	synth_hdr(&e, PS_EV_VMSTAT, sizeof(e.vmstat), 0);
	if (!procfs_vmstat(&e.vmstat.foll_pin_acquired, &e.vmstat.foll_pin_released, full))
		emit(r, &e);
	set.n = 0;
	for (size_t it = 0; (h = htab_next(&r->a->pins.holders, &it));)
		pid_add(&set, h->tgid);
	for (size_t it = 0; (p = htab_next(&r->a->pins.procs, &it));)
		if (!(p->exited && p->sampled && !p->alive))
			pid_add(&set, p->k.k1);
	if (full)
		procfs_each_pinned(r->o->pid, add_pinned_pid, &set);
	pid_unique(&set);
	count = set.n;
	if (!full && set.n > TICK_SAMPLES) {
		first = rotor % set.n;
		count = TICK_SAMPLES;
		rotor += TICK_SAMPLES;
	}
	for (size_t k = 0; k < count; k++) {
		size_t i = (first + k) % set.n;

		p = htab_find(&r->a->pins.procs, set.pid[i], 0);
		if (p && p->exited && p->sampled && !p->alive)
			continue;
		synth_hdr(&e, PS_EV_PROCFS, sizeof(e.procfs), set.pid[i]);
		e.procfs.alive =
			procfs_status(set.pid[i], &e.procfs.vmpin_kb, &e.procfs.vmlck_kb) == 0;
		if (procfs_comm(set.pid[i], e.h.comm, sizeof(e.h.comm)))
			e.h.comm[0] = 0;
		emit(r, &e);
	}
}

static int on_sample(void *ctx, void *data, size_t size)
{
	struct run *r = ctx;
	const struct ps_ev_hdr *h = data;
	union ps_event copy, *e = &copy;

	/* A record that decode_event would copy unchanged (its exact size, comm terminated, not
	 * a seed record to rewrite) is used where it lies: no 512-byte clear and copy per event. */
	if (size >= sizeof(*h) && h->size == size && event_in_place(h->type, size) &&
	    h->tier < PS_TIER_MAX && !h->comm[PS_COMM_LEN - 1] && !(h->flags & PS_F_SEED)) {
		e = data;
	} else {
		if (decode_event(data, size, &copy)) {
			r->malformed++;
			return 0;
		}
		if (seed_take(r->seed, &copy))
			return 0;
	}
	emit(r, e);
	if (r->stop)
		return -ECANCELED;
	/* A producer faster than this loop would keep ring_buffer__poll() from ever returning:
	 * leave at the deadline (this record is consumed; the rest wait for the next round). */
	if (r->break_at && !(++r->since_check & 255) &&
	    ((session_stop && !r->final) || now_mono_ns() >= r->break_at))
		return -EAGAIN;
	return 0;
}

/* Read what the ring holds, for at most budget_ns; notes whether it was emptied. */
static int drain(struct run *r, uint64_t budget_ns)
{
	uint64_t t0 = now_mono_ns();
	int err;

	r->break_at = t0 + budget_ns;
	err = ring_buffer__consume(r->rb);
	if (err >= 0)
		r->drained_ns = t0;
	return err;
}

int session_preflight(struct ps_kfeat *k)
{
	kfeat_probe(k);
	if (!k->privileged) {
		ps_err("loading BPF programs: permission denied: need root or CAP_BPF and "
		       "CAP_PERFMON");
		ps_hint("what still works without privileges: 'pinscope report FILE' on a "
			"recording, 'pinscope probes' (without trial loads)");
		return 1;
	}
	if (!k->btf) {
		ps_err("kernel BTF: /sys/kernel/btf/vmlinux: %s: this kernel lacks "
		       "CONFIG_DEBUG_INFO_BTF, which pinscope's CO-RE programs need",
		       strerror(k->btf_errno));
		ps_hint("what still works: 'pinscope report FILE' on a recording made on a kernel "
			"with BTF");
		return 1;
	}
	if (!k->tracefs) {
		ps_err("tracefs: not mounted and mounting it at /sys/kernel/tracing failed: %s",
		       strerror(k->tracefs_errno));
		ps_hint("mount it: mount -t tracefs nodev /sys/kernel/tracing");
		return 1;
	}
	if (k->tracefs_mounted)
		ps_info(0, "mounted tracefs at %s (it was not mounted)", k->tracefs);
	if (k->ringbuf_errno) {
		ps_err("BPF ring buffer: %s: pinscope needs Linux 5.8 or later",
		       strerror(-k->ringbuf_errno));
		return 1;
	}
	return 0;
}

static void seed_all(struct run *r, const struct ps_choice *c, int n)
{
	bool by_bpf = false;

	for (int i = 0; i < n; i++)
		if (!strcmp(c[i].hook->name, "pin.seed") && c[i].chosen >= 0)
			by_bpf = c[i].hook->impls[c[i].chosen].tier != PS_TIER_PROCFS;
	r->seed = seed_new(r->o->pid);
	if (!r->seed)
		return;
	ps_info(1, "seeding: %d io_uring ring(s) with buffers found in /proc", seed_count(r->seed));
	if (seed_skipped(r->seed))
		ps_warn("seeding: %d more rings not seeded (bound reached): their pins show as "
			"unattributed VmPin",
			seed_skipped(r->seed));
	for (int i = 0; i < seed_count(r->seed); i++) {
		int err = by_bpf ? seed_state_by_bpf(r->seed, i) : -ENOSYS;
		uint64_t give_up = now_mono_ns() + 2 * NSEC_PER_SEC;

		/* The ring's records are in the buffer once close() returned, possibly behind
		 * other traffic: read until its end record, without letting a storm hold us. */
		while (!err && !seed_ring_done(r->seed) && now_mono_ns() < give_up) {
			r->break_at = now_mono_ns() + 50 * 1000000ULL;
			ring_buffer__consume(r->rb);
		}
		if (!err && !seed_ring_done(r->seed))
			err = -ETIMEDOUT;
		if (err) {
			seed_abandon(r->seed);
			ps_info(1, "seeding pid %d from fdinfo (%s)", (int)seed_pid(r->seed, i),
				strerror(-err));
			seed_state_by_procfs(r->seed, i, emit_seed_cb, r);
			continue;
		}
		seed_flush(r->seed, emit_seed_cb, r);
	}
}

/*
 * The seed hook is needed only while seeding. Left attached, its syscall tracepoint cost every
 * close() on the host ~190 ns for the whole run (dup+close: 540 -> 730 ns, tools/bench).
 */
static void detach_seed(struct run *r, const struct ps_choice *c, int n)
{
	for (int i = 0; i < n; i++) {
		char buf[256], *save = NULL;
		const char *progs;

		if (strcmp(c[i].hook->name, "pin.seed") || c[i].chosen < 0)
			continue;
		progs = c[i].hook->impls[c[i].chosen].progs;
		snprintf(buf, sizeof(buf), "%s", progs ? progs : "");
		for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save))
			loader_detach(r->l, w);
	}
	/* The function tier's seed program rides in pin.release (FN_SEED_PROG, hooks_pins.c). */
	loader_detach(r->l, "pins_fn_seed_close_tp");
}

/* From the KVM gate's thread: KVM announced a VM of pid (0: not known), or the gate cannot wait. */
static void kvm_opened(void *ctx, pid_t pid)
{
	struct run *r = ctx;
	int n = loader_attach_held(r->l);

	if (n < 0)
		ps_warn("guest_memfd hooks could not be attached: %s", strerror(-n));
	else if (pid)
		ps_info(1, "KVM: pid %d created a VM: %d held-back programs attached", pid, n);
	else
		ps_info(1, "KVM: %d held-back programs attached", n);
}

/* The programs that wait for KVM (hooks_impl_waits_for_kvm): attached now, when KVM is first
 * used, or never. */
static void kvm_gate_open(struct run *r)
{
	enum kvm_gate_state st;
	const char *why = "";

	if (!loader_nr_held(r->l))
		return;
	r->gate = kvm_gate_start(kvm_opened, r, &st, &why);
	switch (st) {
	case KVM_GATE_WAITING:
		ps_info(1, "KVM: guest_memfd syscall hooks %s", why);
		break;
	case KVM_GATE_NO_KVM:
		ps_info(1, "KVM: guest_memfd syscall hooks not attached: %s", why);
		break;
	case KVM_GATE_OPEN:
		ps_info(1, "KVM: guest_memfd syscall hooks attached now: %s", why);
		kvm_opened(r, 0);
		break;
	}
}

static int tick_ms(uint64_t deadline)
{
	uint64_t now = now_mono_ns();

	return deadline > now ? (int)((deadline - now + 999999) / 1000000) : 0;
}

void session_cfg(const struct session_opts *o, struct ps_kfeat *k, struct ps_cfg *cfg)
{
	cfg->self_tgid = getpid();
	cfg->filter_tgid = o->pid;
	cfg->filter_cgroup = o->cgroup_id;
	cfg->io_ring_exit_work = kfeat_ksym("io_ring_exit_work");
	cfg->io_uring_release = kfeat_ksym("io_uring_release");
	cfg->kvm_gmem_mmap = kfeat_ksym("kvm_gmem_mmap");
	cfg->shmem_mmap = kfeat_ksym("shmem_mmap");
	cfg->hugetlbfs_mmap = kfeat_ksym("hugetlbfs_file_mmap");
	cfg->max_bufs = 16384;
	/* The churn clock: jiffies where the kernel's HZ is known (rounded up to whole ticks) */
	cfg->churn_hz = o->churn_window_ns ? kfeat_config_hz(k->release) : 0;
	cfg->churn_window =
		cfg->churn_hz
			? (o->churn_window_ns * cfg->churn_hz + NSEC_PER_SEC - 1) / NSEC_PER_SEC
			: o->churn_window_ns;
	if (o->churn_window_ns && cfg->churn_hz)
		ps_info(1, "churn clock: jiffies, HZ=%u (kernel config)", cfg->churn_hz);
	else if (o->churn_window_ns)
		ps_info(1, "churn clock: ns (no kernel config says CONFIG_HZ)");
	cfg->foll_longterm = kfeat_foll_longterm(k);
	cfg->tlb_sample_mask = (o->tlb_sample ? o->tlb_sample : PS_TLB_SAMPLE_DEFAULT) - 1;
	cfg->flush_tlb_func = kfeat_ksym("flush_tlb_func");
	cfg->do_flush_tlb_all = kfeat_ksym("do_flush_tlb_all");
	cfg->do_kernel_range_flush = kfeat_ksym("do_kernel_range_flush");
	/* --no-tlb loads no TLB program: nothing reads it */
	cfg->fti_from_rq = o->no_tlb ? 0 : kfeat_fti_from_rq(k);
	if (cfg->fti_from_rq)
		ps_info(1, "tlb: a CPU's flush_tlb_info lies at its runqueue %+lld (vmlinux BTF)",
			(long long)cfg->fti_from_rq);
	else if (!o->no_tlb)
		ps_info(1, "tlb: flush_tlb_info or runqueues not in vmlinux BTF: a CPU's requests "
			   "have their pages once it has queued a shootdown");
	cfg->kvm_ack_kick = kfeat_ksym("ack_kick");
	cfg->kvm_vm_ioctl = kfeat_ksym("kvm_vm_ioctl");
	cfg->kvm_vcpu_ioctl = kfeat_ksym("kvm_vcpu_ioctl");
	cfg->kvm_dev_ioctl = kfeat_ksym("kvm_dev_ioctl");
	cfg->kvm_gmem_release = kfeat_ksym("kvm_gmem_release");
	cfg->no_cgroup = access("/proc/self/cgroup", F_OK) != 0;
}

int session_load(struct loader **l, const struct session_opts *o, const struct ps_cfg *cfg,
		 struct ps_choice *c, int n, char *what, size_t what_len)
{
	int err = loader_load(*l, cfg, c, n, what, what_len);
	char why[200];

	if (!err || !hooks_need_kfuncs(c, n))
		return err;
	/* A kernel may list bpf_rdonly_cast and still refuse a program using it: take the
	 * probe-read twins rather than nothing. */
	snprintf(why, sizeof(why), "%s: %s", what, strerror(-err));
	if (!hooks_fall_back_from_kfuncs(c, n, err, why))
		return err;
	ps_warn("%s: loading the programs that read with probes instead of bpf_rdonly_cast", why);
	loader_free(*l);
	*l = loader_open();
	if (!*l)
		return -ENOMEM;
	loader_ring_size(*l, o->buffer_bytes);
	return loader_load(*l, cfg, c, n, what, what_len);
}

int session_run(const struct session_opts *o, struct agg *a, const struct session_sink *sink)
{
	struct run r = {.o = o, .a = a, .sink = sink, .holders_fd = -1};
	struct ps_choice choices[MAX_CHOICES];
	struct ps_kfeat k;
	struct ps_cfg cfg = {};
	struct ring_buffer *rb = NULL;
	struct pageref_poll *pr = NULL;
	uint64_t interval = o->interval_ns ? o->interval_ns : NSEC_PER_SEC;
	uint64_t end, next_tick, ticks = 0;
	char what[160] = "";
	int n, err, rc = 1;

	if (session_preflight(&k))
		return 1;
	r.l = loader_open();
	if (!r.l)
		goto out;
	loader_ring_size(r.l, o->buffer_bytes);
	n = hooks_choose_first(&k, loader_has_prog, choices, MAX_CHOICES);
	cfg.tlb_by_csd = hooks_tlb_mode(choices, n, o->tlb_local, o->no_tlb);
	for (int i = 0; i < n; i++) {
		const struct ps_choice *c = &choices[i];

		ps_info(1, "%-16s %s", c->hook->name, choice_tier(c));
	}
	session_cfg(o, &k, &cfg);
	/* Tiers are chosen and symbols resolved: libbpf parses vmlinux BTF again to load, so do
	 * not hold a second copy (and kallsyms) through that peak or after. */
	kfeat_drop_ksyms();
	kfeat_drop_btf(&k);
	err = session_load(&r.l, o, &cfg, choices, n, what, sizeof(what));
	if (!r.l)
		goto out;
	if (err) {
		ps_err("%s: %s", what, strerror(-err));
		ps_hint("'pinscope probes -v' shows what this kernel allows; -vv shows libbpf's "
			"log");
		goto out;
	}
	if (sink->on_setup)
		sink->on_setup(sink->ctx, choices, n);
	/* Freeing kallsyms' index (a 2 MB mmap'd block) raises glibc's mmap threshold, so buffers
	 * of libbpf's load below that size come from the heap and stay after it: give them back. */
	malloc_trim(0);
	r.holders_fd = loader_map_fd(r.l, "pins_holders");
	rb = ring_buffer__new(loader_ringbuf_fd(r.l), on_sample, &r, NULL);
	if (!rb) {
		ps_err("ring buffer: %s", strerror(errno));
		goto out;
	}
	r.rb = rb;
	emit_mark(&r, PS_MARK_START, 0);
	loader_ready(r.l);
	emit_mark(&r, PS_MARK_READY, hooks_mark_flags(choices, n));
	/* Seeding reads its own records back from the ring: give it a second, not forever. */
	r.break_at = now_mono_ns() + NSEC_PER_SEC;
	r.tlb = tlb_poll_new(r.l, hooks_tlb_flags(choices, n, cfg.tlb_by_csd));
	tlb_poll_start(r.tlb, a);
	r.churn = churn_poll_new(r.l, o->churn_window_ns, cfg.churn_hz);
	pr = pageref_poll_new(r.l);
	if (!o->no_seed) {
		seed_all(&r, choices, n);
		ring_buffer__consume(rb);
		seed_free(r.seed);
		r.seed = NULL;
	}
	detach_seed(&r, choices, n);
	kvm_gate_open(&r);
	sample_procfs(&r, true);
	/* Tests and scripts wait for this line (-v) before they start a workload. */
	ps_info(1, "ready: %d programs attached", loader_nr_attached(r.l));
	end = o->duration_ns ? now_mono_ns() + o->duration_ns : UINT64_MAX;
	next_tick = now_mono_ns() + interval;
	while (!session_stop && !r.stop) {
		uint64_t deadline = next_tick < end ? next_tick : end;
		int ms = tick_ms(deadline);

		r.break_at = deadline;
		if (sink->wait) {
			int w = sink->wait(sink->ctx, ring_buffer__epoll_fd(rb), ms);

			if (w < 0)
				break;
			if (w > 0) /* the sink asks for a fresh snapshot now */
				next_tick = r.break_at = now_mono_ns();
			err = ring_buffer__consume(rb);
		} else {
			err = ring_buffer__poll(rb, ms);
		}
		if (err < 0 && err != -EINTR && err != -ECANCELED && err != -EAGAIN) {
			ps_err("reading the ring buffer: %s", strerror(-err));
			goto out;
		}
		if (now_mono_ns() >= end)
			break;
		if (now_mono_ns() >= next_tick) {
			/* BPF wakes us only for a batch (ps_submit): read what is there first, all
			 * of it unless a storm keeps it coming for a quarter of the interval (the
			 * deadline above has passed: it would cut this read at 256 records). */
			drain(&r, interval / 4);
			next_tick += interval;
			if (next_tick < now_mono_ns())
				next_tick = now_mono_ns() + interval;
			/* A scan of every process costs ~10 ms per 1000: not every tick. */
			sample_procfs(&r, ++ticks % 10 == 0);
			churn_poll_tick(r.churn, false, r.drained_ns, emit_tlb_cb, &r);
			tlb_poll_tick(r.tlb, a, emit_tlb_cb, &r);
			pageref_poll_tick(pr, a);
			emit_loss(&r);
			emit_mark(&r, PS_MARK_TICK, 0);
			if (sink->on_tick && sink->on_tick(sink->ctx, a))
				break;
		}
	}
	/* What the workload did up to the stop is in the ring (up to a wakeup's worth of records
	 * never woke us): read it all, but do not chase a producer forever. */
	r.final = true;
	drain(&r, NSEC_PER_SEC);
	churn_poll_tick(r.churn, true, r.drained_ns, emit_tlb_cb, &r);
	sample_procfs(&r, true);
	tlb_poll_tick(r.tlb, a, emit_tlb_cb, &r);
	emit_loss(&r);
	emit_mark(&r, PS_MARK_END, 0);
	rc = 0;
out:
	kvm_gate_stop(r.gate);
	tlb_poll_free(r.tlb);
	churn_poll_free(r.churn);
	pageref_poll_free(pr);
	ring_buffer__free(rb);
	loader_free(r.l);
	kfeat_free(&k);
	return rc;
}
