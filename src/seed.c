// SPDX-License-Identifier: BSD-2-Clause
#include "seed.h"
#include "procfs.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

#define SEED_MAX_RINGS (1 << 20) /* rings seeded at most; the rest are counted */

struct seed_ring {
	pid_t pid;
	int fd;
	int dupfd;
	uint64_t obj; /* learnt from the OBJ_SYNC record */
	char comm[PS_COMM_LEN];
};

#define SEED_MAX_RECORDS (16384 + 2) /* IORING_MAX_REG_BUFFERS, plus the two sync records */

struct seed {
	struct seed_ring *rings;
	int n, cap;
	int skipped; /* rings over SEED_MAX_RINGS */
	int current; /* ring being stated, -1: none */
	bool done;   /* its end record arrived */
	union ps_event *held;
	int nheld, held_cap;
	int pidfd;
	pid_t pidfd_pid;
};

static int add_ring(void *ctx, pid_t pid, int fd, unsigned int nbufs)
{
	struct seed *s = ctx;
	struct seed_ring *r;

	(void)nbufs;
	if (pid == getpid())
		return 0;
	if (s->n == s->cap) {
		int cap = s->cap ? s->cap * 2 : 64;

		r = cap <= SEED_MAX_RINGS ? realloc(s->rings, cap * sizeof(*r)) : NULL;
		if (!r) {
			s->skipped++;
			return 0;
		}
		s->rings = r;
		s->cap = cap;
	}
	r = &s->rings[s->n++];
	r->pid = pid;
	r->fd = fd;
	r->dupfd = -1;
	if (procfs_comm(pid, r->comm, sizeof(r->comm)))
		snprintf(r->comm, sizeof(r->comm), "?");
	return 0;
}

struct seed *seed_new(pid_t only_pid)
{
	struct seed *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->current = -1;
	s->pidfd = -1;
	procfs_each_uring(only_pid, add_ring, s);
	return s;
}

void seed_free(struct seed *s)
{
	if (s) {
		if (s->pidfd >= 0)
			close(s->pidfd);
		free(s->held);
		free(s->rings);
	}
	free(s);
}

int seed_skipped(const struct seed *s)
{
	return s->skipped;
}

int seed_count(const struct seed *s)
{
	return s->n;
}

pid_t seed_pid(const struct seed *s, int i)
{
	return s->rings[i].pid;
}

/* One pidfd per process, kept while its rings (found in pid order) are seeded. */
static int pidfd_of(struct seed *s, pid_t pid)
{
	if (s->pidfd >= 0 && s->pidfd_pid == pid)
		return s->pidfd;
	if (s->pidfd >= 0)
		close(s->pidfd);
	s->pidfd = syscall(SYS_pidfd_open, pid, 0);
	s->pidfd_pid = pid;
	return s->pidfd;
}

int seed_state_by_bpf(struct seed *s, int i)
{
	struct seed_ring *r = &s->rings[i];
	int pidfd = pidfd_of(s, r->pid);

	if (pidfd < 0)
		return -errno;
	r->dupfd = syscall(SYS_pidfd_getfd, pidfd, r->fd, 0);
	if (r->dupfd < 0)
		return -errno;
	s->current = i;
	s->done = false;
	s->nheld = 0;
	close(r->dupfd); /* the BPF program reads the ring here */
	return 0;
}

static void fill_identity(const struct seed_ring *r, union ps_event *e)
{
	e->h.tgid = r->pid;
	e->h.tid = r->pid;
	memcpy(e->h.comm, r->comm, sizeof(e->h.comm));
	e->h.cgroup_id = 0;
}

static void fill_backing(const struct seed_ring *r, struct ps_ev_pin *p)
{
	struct procfs_map m;

	if (procfs_backing(r->pid, p->uaddr, &m))
		return;
	p->backing = m.backing;
	p->ino = m.ino;
	p->dev = m.dev;
}

/* Give a held record its holder's identity. False: it is not part of the current ring. */
static bool rewrite(struct seed *s, union ps_event *e)
{
	struct seed_ring *r = &s->rings[s->current];

	if (e->h.type == PS_EV_OBJ_SYNC) {
		if (e->obj.fd != r->dupfd)
			return false;
		r->obj = e->obj.obj;
		e->obj.fd = r->fd;
	} else if (e->h.type == PS_EV_PIN) {
		if (e->pin.obj != r->obj)
			return false;
		fill_backing(r, &e->pin);
	} else {
		return false;
	}
	fill_identity(r, e);
	return true;
}

bool seed_take(struct seed *s, const union ps_event *e)
{
	union ps_event copy;

	if (!(e->h.flags & PS_F_SEED) || (e->h.flags & PS_F_SYNTH))
		return false;
	if (!s || s->current < 0 || s->done)
		return true; /* late or stray: dropped */
	copy = *e;
	if (!rewrite(s, &copy))
		return true;
	if (s->nheld == s->held_cap && s->held_cap < SEED_MAX_RECORDS) {
		int cap = s->held_cap ? s->held_cap * 2 : 64;
		union ps_event *h;

		cap = cap < SEED_MAX_RECORDS ? cap : SEED_MAX_RECORDS;
		h = realloc(s->held, cap * sizeof(*h));
		if (h) {
			s->held = h;
			s->held_cap = cap;
		}
	}
	if (s->nheld < s->held_cap)
		s->held[s->nheld++] = copy;
	if (copy.h.type == PS_EV_OBJ_SYNC && (copy.h.flags & PS_F_END))
		s->done = true;
	return true;
}

bool seed_ring_done(const struct seed *s)
{
	return s->current >= 0 && s->done;
}

void seed_flush(struct seed *s, seed_emit_fn emit, void *ctx)
{
	for (int i = 0; i < s->nheld; i++)
		emit(ctx, &s->held[i]);
	s->nheld = 0;
	s->current = -1;
}

void seed_abandon(struct seed *s)
{
	s->nheld = 0;
	s->current = -1;
}

struct procfs_seed {
	const struct seed_ring *r;
	seed_emit_fn emit;
	void *ctx;
};

static void emit_buf(void *ctx, unsigned int idx, uint64_t addr, uint64_t len)
{
	struct procfs_seed *ps = ctx;
	union ps_event e;

	memset(&e, 0, sizeof(e));
	e.h.type = PS_EV_PIN;
	e.h.size = sizeof(e.pin);
	e.h.tier = PS_TIER_PROCFS;
	e.h.flags = PS_F_SEED | PS_F_SYNTH | PS_F_LONGTERM;
	e.h.ts_ns = now_mono_ns();
	fill_identity(ps->r, &e);
	/* No kernel pointer at this tier: the ring is named by pid and fd. */
	e.pin.obj = (uint64_t)ps->r->pid << 32 | (uint32_t)ps->r->fd;
	e.pin.slot = idx;
	e.pin.subsys = PS_SUB_IO_URING;
	e.pin.uaddr = addr;
	e.pin.len = len;
	e.pin.pages = ps_span_pages(addr, len);
	e.pin.acct_pages = e.pin.pages;
	fill_backing(ps->r, &e.pin);
	ps->emit(ps->ctx, &e);
}

int seed_state_by_procfs(struct seed *s, int i, seed_emit_fn emit, void *ctx)
{
	struct procfs_seed ps = {.r = &s->rings[i], .emit = emit, .ctx = ctx};
	int n = procfs_uring_bufs(s->rings[i].pid, s->rings[i].fd, emit_buf, &ps);

	return n < 0 ? n : 0;
}
