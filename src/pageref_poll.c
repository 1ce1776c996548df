// SPDX-License-Identifier: BSD-2-Clause
#include "pageref_poll.h"
#include "loader.h"
#include "log.h"
#include "util.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define PR_SCAN_MAX  65536 /* pages read from pagemap per tick, over every memslot */
#define PR_SLOTS     64	   /* memslots whose watched count is remembered (for -v) */
#define PM_PRESENT   (1ULL << 63)
#define PM_PFN_MASK  ((1ULL << 55) - 1)
#define PM_CHUNK     512
#define PAGE_SIZE_4K ((uint64_t)4096)

struct pr_seen {
	uint64_t vm, slot, pages;
};

struct pageref_poll {
	int fd;
	uint64_t added; /* pfns put in the map, over the run */
	struct pr_seen seen[PR_SLOTS];
};

struct pageref_poll *pageref_poll_new(const struct loader *l)
{
	int fd = loader_map_fd(l, "pageref_pfns");
	struct pageref_poll *p;

	if (fd < 0)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (p)
		p->fd = fd;
	return p;
}

/* Present pages of [uaddr, uaddr + pages * 4K) in tgid's memory, each put in the map; the
 * number present, or -errno. *added: how many were new there. */
static int64_t scan(struct pageref_poll *p, uint32_t tgid, uint64_t uaddr, uint64_t pages,
		    uint64_t *added)
{
	uint64_t buf[PM_CHUNK];
	char path[64];
	int64_t present = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%" PRIu32 "/pagemap", tgid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (uint64_t done = 0; done < pages;) {
		uint64_t n = pages - done < PM_CHUNK ? pages - done : PM_CHUNK;
		off_t off = (off_t)((uaddr / PAGE_SIZE_4K + done) * sizeof(uint64_t));
		ssize_t got = pread(fd, buf, n * sizeof(uint64_t), off);

		if (got <= 0)
			break;
		n = (uint64_t)got / sizeof(uint64_t);
		for (uint64_t i = 0; i < n; i++) {
			uint64_t pfn = buf[i] & PM_PFN_MASK;
			uint32_t v = tgid;

			/* no pfn without CAP_SYS_ADMIN: the field reads 0 */
			if (!(buf[i] & PM_PRESENT) || !pfn)
				continue;
			present++;
			if (!bpf_map_update_elem(p->fd, &pfn, &v, BPF_NOEXIST))
				(*added)++;
		}
		done += n;
	}
	close(fd);
	return present;
}

static struct pr_seen *seen_of(struct pageref_poll *p, uint64_t vm, uint64_t slot)
{
	struct pr_seen *free_one = NULL;

	for (int i = 0; i < PR_SLOTS; i++) {
		if (p->seen[i].vm == vm && p->seen[i].slot == slot)
			return &p->seen[i];
		if (!free_one && !p->seen[i].vm)
			free_one = &p->seen[i];
	}
	if (free_one) {
		free_one->vm = vm;
		free_one->slot = slot;
		free_one->pages = 0;
	}
	return free_one;
}

void pageref_poll_tick(struct pageref_poll *p, const struct agg *a)
{
	const struct gmem_slot *s;
	uint64_t budget = PR_SCAN_MAX;

	if (!p)
		return;
	for (size_t it = 0; (s = htab_next(&a->gmem.slots, &it));) {
		const struct gmem_proc *proc = htab_find(&a->gmem.procs, s->tgid, 0);
		uint64_t pages = s->size / PAGE_SIZE_4K, added = 0;
		struct pr_seen *seen;
		int64_t present;

		if (!s->ino || !s->uaddr || !pages || !budget || (proc && proc->exited))
			continue;
		if (pages > budget)
			pages = budget;
		budget -= pages;
		present = scan(p, s->tgid, s->uaddr, pages, &added);
		if (present < 0)
			continue;
		p->added += added;
		seen = seen_of(p, s->k.k1, s->k.k2);
		if (seen && seen->pages != (uint64_t)present) {
			seen->pages = (uint64_t)present;
			/* Tests wait for this line before they take references. */
			ps_info(1,
				"page_ref: watching %" PRId64 " pages of %s[%" PRIu32
				"] memslot gpa 0x%" PRIx64 "+%" PRIu64 " pages (%" PRIu64 " new)",
				present, proc ? proc->comm : "?", s->tgid, s->gpa,
				s->size / PAGE_SIZE_4K, added);
		}
	}
}

void pageref_poll_free(struct pageref_poll *p)
{
	free(p);
}
