// SPDX-License-Identifier: BSD-2-Clause
#include "rows.h"
#include "json.h"
#include "util.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind { K_U32, K_U64, K_I64KB, K_STR, K_STRP, K_AGE, K_BYTES };

struct field {
	const char *key; /* JSON key, units in the name */
	const char *hdr; /* text column, NULL: JSON only */
	int width;	 /* negative: left aligned */
	enum kind kind;
	size_t off;
};

#define F(key, hdr, w, kind, member)                                                               \
	{                                                                                          \
		key, hdr, w, kind, offsetof(struct holder_row, member)                             \
	}

static const struct field fields[] = {
	F("pid", "PID", 7, K_U32, pid),
	F("comm", "COMM", -15, K_STR, comm),
	F("subsystem", "SUBSYS", -12, K_STRP, subsystem),
	F("pins", "PINS", 5, K_U64, pins),
	F("pinned_pages", "PAGES", 8, K_U64, pinned_pages),
	F("pinned_bytes", "PINNED", 10, K_BYTES, pinned_bytes),
	F("charged_pages", "CHARGED", 8, K_U64, charged_pages),
	F("vmpin_kb", "VMPIN_KB", 9, K_I64KB, vmpin_kb),
	F("oldest_pin_age_ns", "AGE", 8, K_AGE, oldest_age_ns),
	F("state", "STATE", -9, K_STRP, state),
	F("backing", "BACKING", -10, K_STR, backing),
	F("longterm_pages", NULL, 0, K_U64, longterm_pages),
	F("shortterm_pages", NULL, 0, K_U64, shortterm_pages),
	F("acquired_pages", NULL, 0, K_U64, acquired_pages),
	F("released_pages", NULL, 0, K_U64, released_pages),
	F("cgroup_id", NULL, 0, K_U64, cgroup_id),
};

const char *subsys_name(unsigned int s)
{
	static const char *const n[PS_SUB_MAX] = {
		[PS_SUB_UNKNOWN] = "unknown", [PS_SUB_IO_URING] = "io_uring",
		[PS_SUB_VFIO] = "vfio",	      [PS_SUB_IOMMUFD] = "iommufd",
		[PS_SUB_RDMA] = "rdma",	      [PS_SUB_KVM] = "kvm",
		[PS_SUB_VHOST] = "vhost",     [PS_SUB_UDMABUF] = "udmabuf",
		[PS_SUB_GUP] = "gup",
	};

	return s < PS_SUB_MAX && n[s] ? n[s] : "unknown";
}

const char *backing_name(unsigned int b)
{
	static const char *const n[PS_BACK_MAX] = {
		[PS_BACK_UNKNOWN] = "?",   [PS_BACK_ANON] = "anon", [PS_BACK_FILE] = "file",
		[PS_BACK_SHMEM] = "shmem", [PS_BACK_GMEM] = "gmem", [PS_BACK_HUGETLB] = "hugetlb",
	};

	return b < PS_BACK_MAX && n[b] ? n[b] : "?";
}

static const char *state_name(const struct holder_ent *h)
{
	if (!h->pages)
		return h->exit_ns ? "gone" : "released";
	switch (h->state) {
	case HOLDER_EXITED:
		return "exited";
	case HOLDER_RELEASING:
		return "releasing";
	default:
		return "alive";
	}
}

static void fill(struct agg *a, const struct holder_ent *h, struct holder_row *r)
{
	struct proc_ent *p = htab_find(&a->pins.procs, h->tgid, 0);
	size_t off = 0;

	memset(r, 0, sizeof(*r));
	r->pid = h->tgid;
	memcpy(r->comm, h->comm, sizeof(r->comm));
	r->subsystem = subsys_name(h->subsys);
	r->cgroup_id = h->cgroup_id;
	r->pins = h->pins;
	r->pinned_pages = h->pages;
	r->pinned_bytes = h->pages * 4096;
	r->charged_pages = h->acct_pages;
	r->longterm_pages = h->pages_longterm;
	r->shortterm_pages = h->pages_shortterm;
	r->acquired_pages = h->acquired_pages;
	r->released_pages = h->released_pages;
	r->vmpin_kb = p && p->sampled && p->alive ? (int64_t)p->vmpin_kb : -1;
	if (h->oldest_ns == UINT64_MAX)
		r->oldest_age_ns = -2;
	else if (h->oldest_ns == 0)
		r->oldest_age_ns = -1;
	else
		r->oldest_age_ns = a->now_ns > h->oldest_ns ? a->now_ns - h->oldest_ns : 0;
	r->state = state_name(h);
	for (unsigned int b = 0; b < PS_BACK_MAX; b++) {
		if (!(h->backing_mask & (1u << b)))
			continue;
		off += snprintf(r->backing + off, sizeof(r->backing) - off, "%s%s", off ? "," : "",
				backing_name(b));
		if (off >= sizeof(r->backing))
			break;
	}
	if (!off)
		snprintf(r->backing, sizeof(r->backing), "-");
	r->nr_ustack = h->nr_ustack;
	memcpy(r->ustack, h->ustack, sizeof(r->ustack));
	r->nr_kstack = h->nr_kstack;
	memcpy(r->kstack, h->kstack, sizeof(r->kstack));
	r->shortterm_ns = h->shortterm_ns;
}

static enum row_sort sort_key;

static int cmp_rows(const void *x, const void *y)
{
	const struct holder_row *a = x, *b = y;
	int c = 0;

	switch (sort_key) {
	case SORT_PAGES:
		c = (a->pinned_pages < b->pinned_pages) - (a->pinned_pages > b->pinned_pages);
		break;
	case SORT_AGE: {
		/* before-start (-1) is oldest */
		int64_t aa = a->oldest_age_ns == -1 ? INT64_MAX : a->oldest_age_ns;
		int64_t bb = b->oldest_age_ns == -1 ? INT64_MAX : b->oldest_age_ns;

		c = (aa < bb) - (aa > bb);
		break;
	}
	case SORT_COMM:
		c = strcmp(a->comm, b->comm);
		break;
	case SORT_ACQUIRED:
		c = (a->acquired_pages < b->acquired_pages) -
		    (a->acquired_pages > b->acquired_pages);
		break;
	default:
		break;
	}
	if (!c)
		c = (a->pid > b->pid) - (a->pid < b->pid);
	if (!c)
		c = strcmp(a->subsystem, b->subsystem);
	if (!c)
		c = (a->charged_pages > b->charged_pages) - (a->charged_pages < b->charged_pages);
	if (!c)
		c = memcmp(a->ustack, b->ustack, sizeof(a->ustack));
	return c;
}

static uint64_t attributed_kb(struct agg *a, uint32_t tgid)
{
	struct holder_ent *h;
	uint64_t kb = 0;

	for (size_t it = 0; (h = htab_next(&a->pins.holders, &it));)
		if (h->tgid == tgid)
			kb += h->acct_pages * 4;
	return kb;
}

/* VmPin that no hook explained: pins of a subsystem this tier cannot see (RDMA, iommufd, ...)
 * or made before start without a way to seed them. One row per such process. */
static int unattributed_rows(struct agg *a, struct holder_row *rows, int max)
{
	struct proc_ent *p;
	int n = 0;

	for (size_t it = 0; n < max && (p = htab_next(&a->pins.procs, &it));) {
		uint64_t attr;

		if (!p->sampled || !p->alive || !p->vmpin_kb)
			continue;
		attr = attributed_kb(a, p->k.k1);
		if (p->vmpin_kb <= attr)
			continue;
		memset(&rows[n], 0, sizeof(rows[n]));
		rows[n].pid = p->k.k1;
		memcpy(rows[n].comm, p->comm, sizeof(rows[n].comm));
		rows[n].subsystem = "unattributed";
		rows[n].pinned_pages = rows[n].charged_pages = (p->vmpin_kb - attr) / 4;
		rows[n].pinned_bytes = rows[n].pinned_pages * 4096;
		rows[n].longterm_pages = rows[n].pinned_pages;
		rows[n].vmpin_kb = p->vmpin_kb;
		rows[n].oldest_age_ns = -2;
		rows[n].state = "alive";
		snprintf(rows[n].backing, sizeof(rows[n].backing), "-");
		n++;
	}
	return n;
}

int rows_build(struct agg *a, struct holder_row *rows, int max, enum row_sort sort,
	       const char *only_subsys)
{
	struct holder_ent *h;
	int n = 0;

	agg_refresh(a);
	for (size_t it = 0; n < max && (h = htab_next(&a->pins.holders, &it));) {
		if (!h->pages && !h->acquired_pages && !h->released_pages && !h->seeded)
			continue;
		if (only_subsys && strcmp(only_subsys, subsys_name(h->subsys)))
			continue;
		fill(a, h, &rows[n++]);
	}
	if (!only_subsys || !strcmp(only_subsys, "unattributed"))
		n += unattributed_rows(a, rows + n, max - n);
	sort_key = sort;
	qsort(rows, n, sizeof(*rows), cmp_rows);
	return n;
}

static const void *at(const struct holder_row *r, const struct field *f)
{
	return (const char *)r + f->off;
}

void rows_text_header(FILE *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		if (fields[i].hdr)
			fprintf(out, "%s%*s", i ? " " : "", fields[i].width, fields[i].hdr);
	fputc('\n', out);
}

void rows_text(FILE *out, const struct holder_row *r)
{
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		const struct field *f = &fields[i];
		const void *v = at(r, f);
		char buf[48];

		if (!f->hdr)
			continue;
		switch (f->kind) {
		case K_U32:
			snprintf(buf, sizeof(buf), "%" PRIu32, *(const uint32_t *)v);
			break;
		case K_U64:
			snprintf(buf, sizeof(buf), "%" PRIu64, *(const uint64_t *)v);
			break;
		case K_I64KB:
			if (*(const int64_t *)v < 0)
				snprintf(buf, sizeof(buf), "-");
			else
				snprintf(buf, sizeof(buf), "%" PRId64, *(const int64_t *)v);
			break;
		case K_STR:
			snprintf(buf, sizeof(buf), "%s", (const char *)v);
			break;
		case K_STRP:
			snprintf(buf, sizeof(buf), "%s", *(const char *const *)v);
			break;
		case K_AGE: {
			int64_t ns = *(const int64_t *)v;

			if (ns == -1)
				snprintf(buf, sizeof(buf), "<start");
			else if (ns < 0)
				snprintf(buf, sizeof(buf), "-");
			else
				fmt_age(ns, buf, sizeof(buf));
			break;
		}
		case K_BYTES:
			fmt_bytes(*(const uint64_t *)v, buf, sizeof(buf));
			break;
		}
		fprintf(out, "%s%*s", i ? " " : "", f->width, buf);
	}
	fputc('\n', out);
}

void rows_json(struct json *j, const struct holder_row *r)
{
	json_obj_begin(j, NULL);
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		const struct field *f = &fields[i];
		const void *v = at(r, f);

		switch (f->kind) {
		case K_U32:
			json_u64(j, f->key, *(const uint32_t *)v);
			break;
		case K_U64:
		case K_BYTES:
			json_u64(j, f->key, *(const uint64_t *)v);
			break;
		case K_I64KB:
			if (*(const int64_t *)v < 0)
				json_null(j, f->key);
			else
				json_u64(j, f->key, *(const int64_t *)v);
			break;
		case K_STR:
			json_str(j, f->key, (const char *)v);
			break;
		case K_STRP:
			json_str(j, f->key, *(const char *const *)v);
			break;
		case K_AGE:
			if (*(const int64_t *)v < 0)
				json_null(j, f->key);
			else
				json_u64(j, f->key, *(const int64_t *)v);
			break;
		}
	}
	json_bool(j, "before_start", r->oldest_age_ns == -1);
	json_arr_begin(j, "user_stack");
	for (unsigned int i = 0; i < r->nr_ustack && i < PS_MAX_STACK; i++)
		json_hex(j, NULL, r->ustack[i]);
	json_arr_end(j);
	json_arr_begin(j, "kernel_stack");
	for (unsigned int i = 0; i < r->nr_kstack && i < PS_MAX_STACK; i++)
		json_hex(j, NULL, r->kstack[i]);
	json_arr_end(j);
	rows_json_shortterm(j, &r->shortterm_ns);
	json_obj_end(j);
}

void rows_json_shortterm(struct json *j, const struct hist *h)
{
	unsigned int last = 0;

	json_u64(j, "shortterm_pins_released", h->count);
	json_u64(j, "shortterm_hold_ns_p50", hist_quantile(h, 0.5));
	json_u64(j, "shortterm_hold_ns_p99", hist_quantile(h, 0.99));
	json_u64(j, "shortterm_hold_ns_max", h->max);
	/* Element i counts pins held [2^i, 2^(i+1)) ns; trailing empty buckets are left out. */
	for (unsigned int i = 0; i < HIST_BUCKETS; i++)
		if (h->bucket[i])
			last = i + 1;
	json_arr_begin(j, "shortterm_hold_ns_log2");
	for (unsigned int i = 0; i < last; i++)
		json_u64(j, NULL, h->bucket[i]);
	json_arr_end(j);
}

static const char *fmt_ns(uint64_t ns, char *buf, size_t size)
{
	if (ns < 10000)
		snprintf(buf, size, "%" PRIu64 " ns", ns);
	else if (ns < 10000000)
		snprintf(buf, size, "%.1f us", ns / 1e3);
	else
		snprintf(buf, size, "%.1f ms", ns / 1e6);
	return buf;
}

void rows_text_shortterm(FILE *out, const struct holder_row *rows, int n)
{
	bool any = false;

	for (int i = 0; i < n; i++) {
		const struct hist *h = &rows[i].shortterm_ns;
		char p50[32], p99[32], max[32];

		if (!h->count)
			continue;
		if (!any)
			fprintf(out, "\nshort-term pins released during the run (hold time):\n");
		any = true;
		fprintf(out,
			"  pid %" PRIu32 " %s (%s): %" PRIu64 " pins, p50 < %s, p99 < %s, max %s\n",
			rows[i].pid, rows[i].comm, rows[i].subsystem, h->count,
			fmt_ns(hist_quantile(h, 0.5), p50, sizeof(p50)),
			fmt_ns(hist_quantile(h, 0.99), p99, sizeof(p99)),
			fmt_ns(h->max, max, sizeof(max)));
	}
}
