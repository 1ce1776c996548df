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

#define SEED_MAX_RINGS 4096

struct seed_ring {
	pid_t pid;
	int fd;
	int dupfd;
	uint64_t obj; /* learnt from the OBJ_SYNC record */
	char comm[PS_COMM_LEN];
};

struct seed {
	struct seed_ring rings[SEED_MAX_RINGS];
	int n;
	int current; /* ring being stated */
};

static int add_ring(void *ctx, pid_t pid, int fd, unsigned int nbufs)
{
	struct seed *s = ctx;
	struct seed_ring *r;

	(void)nbufs;
	if (pid == getpid() || s->n >= SEED_MAX_RINGS)
		return 0;
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
	procfs_each_uring(only_pid, add_ring, s);
	return s;
}

void seed_free(struct seed *s)
{
	free(s);
}

int seed_count(const struct seed *s)
{
	return s->n;
}

pid_t seed_pid(const struct seed *s, int i)
{
	return s->rings[i].pid;
}

int seed_state_by_bpf(struct seed *s, int i)
{
	struct seed_ring *r = &s->rings[i];
	int pidfd = syscall(SYS_pidfd_open, r->pid, 0), err = 0;

	if (pidfd < 0)
		return -errno;
	r->dupfd = syscall(SYS_pidfd_getfd, pidfd, r->fd, 0);
	if (r->dupfd < 0)
		err = -errno;
	close(pidfd);
	if (err)
		return err;
	s->current = i;
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

bool seed_rewrite(struct seed *s, union ps_event *e)
{
	struct seed_ring *r;

	if (!(e->h.flags & PS_F_SEED) || (e->h.flags & PS_F_SYNTH))
		return true;
	if (s->current < 0)
		return false;
	r = &s->rings[s->current];
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
	e.pin.pages = ((addr + len + 4095) >> 12) - (addr >> 12);
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
