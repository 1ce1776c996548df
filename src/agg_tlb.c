// SPDX-License-Identifier: BSD-2-Clause
#include "agg_tlb.h"

#include <stdio.h>
#include <string.h>

int agg_tlb_init(struct agg_tlb *t, size_t max_ents)
{
	memset(t, 0, sizeof(*t));
	t->on_csd = -1;
	return htab_init(&t->ents, max_ents, sizeof(struct tlb_ent));
}

void agg_tlb_free(struct agg_tlb *t)
{
	htab_free(&t->ents);
}

static void add_counts(struct ps_tlb_counts *dst, const struct ps_tlb_counts *src)
{
	const __u64 *s = (const __u64 *)src;
	__u64 *d = (__u64 *)dst;

	for (size_t i = 0; i < sizeof(*src) / sizeof(__u64); i++)
		d[i] += s[i];
}

static struct tlb_ent *ent_of(struct agg_tlb *t, const struct ps_ev_tlb *e)
{
	int created;
	struct tlb_ent *x = htab_insert(&t->ents, e->h.tgid, e->cause, &created);

	if (!x)
		return NULL;
	if (created) {
		x->tgid = e->h.tgid;
		x->cause = e->cause;
	}
	if (e->h.comm[0])
		memcpy(x->comm, e->h.comm, sizeof(x->comm));
	return x;
}

void agg_tlb_apply(struct agg_tlb *t, const struct ps_ev_tlb *e)
{
	struct tlb_ent *x;

	t->records++;
	switch (e->kind) {
	case PS_TLB_GLOBAL:
		add_counts(&t->global, &e->c);
		t->last_global = e->c;
		t->covered_ns += e->interval_ns;
		t->last_interval_ns = e->interval_ns;
		t->irq_valid = e->hist && (t->ticks == 0 || t->irq_valid);
		t->no_local |= !!(e->flags & PS_TLB_F_NO_LOCAL);
		if (e->flags & (PS_TLB_F_CSD | PS_TLB_F_NO_CSD))
			t->on_csd = !!(e->flags & PS_TLB_F_CSD);
		t->ticks++;
		break;
	case PS_TLB_COUNTS:
		x = ent_of(t, e);
		if (!x)
			break;
		add_counts(&x->c, &e->c);
		x->last = e->c;
		x->last_tick = t->ticks;
		break;
	case PS_TLB_HIST:
		if (e->hist >= PS_TLB_H_MAX)
			break;
		x = ent_of(t, e);
		if (x)
			hist_merge(&x->h[e->hist], e->slots);
		break;
	default:
		break;
	}
}

bool agg_tlb_in_last(const struct agg_tlb *t, const struct tlb_ent *e)
{
	return t->ticks && e->last_tick == t->ticks - 1;
}

const char *tlb_cause_name(unsigned int cause, char *buf, size_t size)
{
	static const char *const names[PS_TLB_C_MAX] = {
		[PS_TLB_C_UNKNOWN] = "unknown",
		[PS_TLB_C_MUNMAP] = "munmap",
		[PS_TLB_C_MPROTECT] = "mprotect",
		[PS_TLB_C_MADVISE] = "madvise",
		[PS_TLB_C_MREMAP] = "mremap",
		[PS_TLB_C_MMAP] = "mmap",
		[PS_TLB_C_BRK] = "brk",
		[PS_TLB_C_MIGRATION] = "migration",
		[PS_TLB_C_KHUGEPAGED] = "khugepaged",
		[PS_TLB_C_KSM] = "ksm",
		[PS_TLB_C_KVM] = "kvm",
		[PS_TLB_C_COMPACTION] = "compaction",
		[PS_TLB_C_RECLAIM] = "reclaim",
		[PS_TLB_C_FAULT] = "fault",
		[PS_TLB_C_FORK] = "fork",
		[PS_TLB_C_EXEC] = "exec",
		[PS_TLB_C_EXIT] = "exit",
		[PS_TLB_C_FALLOCATE] = "fallocate",
		[PS_TLB_C_IO_URING] = "io_uring",
		[PS_TLB_C_IOCTL] = "ioctl",
		[PS_TLB_C_KTHREAD] = "kthread",
		[PS_TLB_C_KERNEL] = "kernel",
	};

	if (cause & PS_TLB_C_SYSCALL)
		snprintf(buf, size, "syscall_%u", cause & ~PS_TLB_C_SYSCALL);
	else
		snprintf(buf, size, "%s",
			 cause < PS_TLB_C_MAX && names[cause] ? names[cause] : "unknown");
	return buf;
}

const char *tlb_reason_name(unsigned int reason)
{
	static const char *const names[] = {
		"task_switch",	      "remote_shootdown", "local_shootdown",
		"local_mm_shootdown", "remote_send_ipi",  "remote_wrong_cpu",
	};

	return reason < sizeof(names) / sizeof(names[0]) ? names[reason] : "other";
}
