/* SPDX-License-Identifier: GPL-2.0-only */
/* What the guest_memfd programs of both tiers share (gmem_sys.bpf.c, gmem_fn.bpf.c). */
#ifndef PS_GMEM_BPF_H
#define PS_GMEM_BPF_H

#include "common.bpf.h"

/* A PS_EV_GMEM record of kind for VM vm, everything else zero but fd and err (from ret). */
static __always_inline struct ps_ev_gmem *gmem_reserve_at(__u8 kind, __u64 vm, int fd, long ret,
							  __u8 tier)
{
	struct ps_ev_gmem *e = ps_reserve(PS_EV_GMEM, struct ps_ev_gmem, tier);

	if (!e)
		return NULL;
	__builtin_memset((char *)e + sizeof(e->h), 0, sizeof(*e) - sizeof(e->h));
	e->kind = kind;
	e->vm = vm;
	e->fd = fd;
	e->err = ret < 0 ? -ret : 0;
	return e;
}

#endif
