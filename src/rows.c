// SPDX-License-Identifier: BSD-2-Clause
#include "rows.h"
#include "cgname.h"
#include "json.h"
#include "util.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* What rows without their own histogram (unattributed VmPin) show. */
static const struct hist no_hist;

enum kind { K_U32, K_U64, K_I64KB, K_STR, K_STRP, K_AGE, K_BYTES, K_RATE, K_CGROUP, K_BACKING };

struct field {
	const char *key; /* JSON key, units in the name */
	const char *hdr; /* text column, NULL: JSON only */
	int width;	 /* negative: left aligned */
	enum kind kind;
	size_t off;
	unsigned int flags;
};

#define ASC  1u /* sorts ascending by default (names, pids) */
#define LIVE 2u /* only in the live view: means nothing in a report of a whole run */

/* clang-format off */
#define F(key, hdr, w, kind, m, fl) { key, hdr, w, kind, offsetof(struct holder_row, m), fl }
/* clang-format on */

static const struct field fields[] = {
	F("pid", "PID", 7, K_U32, pid, ASC),
	F("comm", "COMM", -15, K_STR, comm, ASC),
	F("subsystem", "SUBSYS", -12, K_STRP, subsystem, ASC),
	F("pins", "PINS", 5, K_U64, pins, 0),
	F("pinned_pages", "PAGES", 8, K_U64, pinned_pages, 0),
	F("pinned_bytes", "PINNED", 10, K_BYTES, pinned_bytes, 0),
	F("charged_pages", "CHARGED", 8, K_U64, charged_pages, 0),
	F("vmpin_kb", "VMPIN_KB", 9, K_I64KB, vmpin_kb, 0),
	F("oldest_pin_age_ns", "AGE", 8, K_AGE, oldest_age_ns, 0),
	F("acquire_pages_per_s", "ACQ/s", 7, K_RATE, acquire_rate, LIVE),
	F("release_pages_per_s", "REL/s", 7, K_RATE, release_rate, LIVE),
	F("state", "STATE", -9, K_STRP, state, ASC),
	F("backing", "BACKING", -10, K_BACKING, backing_mask, ASC),
	F("cgroup", "CGROUP", -24, K_CGROUP, cgroup_id, ASC),
	F("longterm_pages", NULL, 0, K_U64, longterm_pages, 0),
	F("shortterm_pages", NULL, 0, K_U64, shortterm_pages, 0),
	F("acquired_pages", NULL, 0, K_U64, acquired_pages, 0),
	F("released_pages", NULL, 0, K_U64, released_pages, 0),
	F("churn_pairs", NULL, 0, K_U64, churn_pairs, 0),
	F("cgroup_id", NULL, 0, K_U64, cgroup_id, 0),
};

/* The --sort words, kept for scripts. */
static const char *const sort_words[SORT_MAX][2] = {
	[SORT_PAGES] = {"pages", "pinned_pages"},	  [SORT_PID] = {"pid", "pid"},
	[SORT_AGE] = {"age", "oldest_pin_age_ns"},	  [SORT_COMM] = {"comm", "comm"},
	[SORT_ACQUIRED] = {"acquired", "acquired_pages"},
};

static bool shown(const struct field *f, enum rows_set set)
{
	return f->hdr && (set == ROWS_LIVE || !(f->flags & LIVE));
}

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

bool subsys_known(const char *name)
{
	for (unsigned int s = 0; s < PS_SUB_MAX; s++)
		if (!strcmp(name, subsys_name(s)))
			return true;
	return !strcmp(name, "unattributed");
}

const char *subsys_names(void)
{
	static char list[160];
	size_t off = 0;

	if (list[0])
		return list;
	for (unsigned int s = 0; s < PS_SUB_MAX && off < sizeof(list); s++)
		off += snprintf(list + off, sizeof(list) - off, "%s, ", subsys_name(s));
	if (off < sizeof(list))
		snprintf(list + off, sizeof(list) - off, "unattributed");
	return list;
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
	r->churn_pairs = h->churn_pairs;
	if (a->interval_ns) {
		r->acquire_rate = (double)h->acquired_delta * NSEC_PER_SEC / a->interval_ns;
		r->release_rate = (double)h->released_delta * NSEC_PER_SEC / a->interval_ns;
	}
	r->vmpin_kb = p && p->sampled && p->alive ? (int64_t)p->vmpin_kb : -1;
	if (h->oldest_ns == UINT64_MAX)
		r->oldest_age_ns = -2;
	else if (h->oldest_ns == 0)
		r->oldest_age_ns = -1;
	else
		r->oldest_age_ns = a->now_ns > h->oldest_ns ? a->now_ns - h->oldest_ns : 0;
	r->state = state_name(h);
	r->backing_mask = h->backing_mask;
	r->nr_ustack = h->nr_ustack;
	r->ustack = h->ustack;
	r->nr_kstack = h->nr_kstack;
	r->kstack = h->kstack;
	r->shortterm_ns = h->shortterm_ns;
}

/* "anon,shmem", or "-" */
static const char *fmt_backing(uint32_t mask, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = 0;
	for (unsigned int b = 0; b < PS_BACK_MAX && off < size; b++)
		if (mask & (1u << b))
			off += snprintf(buf + off, size - off, "%s%s", off ? "," : "",
					backing_name(b));
	if (!off)
		snprintf(buf, size, "-");
	return buf;
}

static const char *cgroup_path(uint64_t id)
{
	const char *p = cgname(id);

	return p ? p : "";
}

static const void *at(const struct holder_row *r, const struct field *f)
{
	return (const char *)r + f->off;
}

static int cmp_num(double a, double b)
{
	return (a > b) - (a < b);
}

/* Ascending order of one field's values. */
static int cmp_field(const struct field *f, const struct holder_row *a, const struct holder_row *b)
{
	const void *x = at(a, f), *y = at(b, f);

	switch (f->kind) {
	case K_U32:
		return cmp_num(*(const uint32_t *)x, *(const uint32_t *)y);
	case K_U64:
	case K_BYTES: {
		uint64_t u = *(const uint64_t *)x, v = *(const uint64_t *)y;

		return (u > v) - (u < v);
	}
	case K_I64KB: {
		int64_t u = *(const int64_t *)x, v = *(const int64_t *)y;

		return (u > v) - (u < v);
	}
	case K_AGE: {
		/* before-start (-1) is the oldest, no pins (-2) the youngest */
		int64_t u = *(const int64_t *)x, v = *(const int64_t *)y;

		u = u == -1 ? INT64_MAX : u;
		v = v == -1 ? INT64_MAX : v;
		return (u > v) - (u < v);
	}
	case K_RATE:
		return cmp_num(*(const double *)x, *(const double *)y);
	case K_CGROUP:
		return strcmp(cgroup_path(*(const uint64_t *)x), cgroup_path(*(const uint64_t *)y));
	case K_BACKING: {
		char u[64], v[64];

		return strcmp(fmt_backing(*(const uint32_t *)x, u, sizeof(u)),
			      fmt_backing(*(const uint32_t *)y, v, sizeof(v)));
	}
	case K_STR:
		return strcmp(x, y);
	case K_STRP:
		return strcmp(*(const char *const *)x, *(const char *const *)y);
	}
	return 0;
}

struct sort_ctx {
	const struct field *f;
	bool reverse;
};

static int cmp_rows(const void *x, const void *y, void *arg)
{
	const struct sort_ctx *s = arg;
	const struct holder_row *a = x, *b = y;
	int c = cmp_field(s->f, a, b);

	if (!(s->f->flags & ASC))
		c = -c;
	if (s->reverse)
		c = -c;
	if (!c)
		c = (a->pid > b->pid) - (a->pid < b->pid);
	if (!c)
		c = strcmp(a->subsystem, b->subsystem);
	if (!c)
		c = (a->charged_pages > b->charged_pages) - (a->charged_pages < b->charged_pages);
	/* Last, the holder itself: its entry never moves, so the order is stable between ticks. */
	if (!c)
		c = (a->ustack > b->ustack) - (a->ustack < b->ustack);
	return c;
}

void rows_sort(struct holder_row *rows, int n, int col, bool reverse)
{
	struct sort_ctx s = {&fields[0], reverse};

	if (col >= 0 && col < (int)ARRAY_SIZE(fields))
		s.f = &fields[col];
	qsort_r(rows, n, sizeof(*rows), cmp_rows, &s);
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
static int unattributed_rows(struct agg *a, struct holder_row *rows, int max,
			     const struct row_filter *f)
{
	struct proc_ent *p;
	int n = 0;

	if (f && (f->cgroup_id || (f->subsys && strcmp(f->subsys, "unattributed"))))
		return 0;
	for (size_t it = 0; n < max && (p = htab_next(&a->pins.procs, &it));) {
		uint64_t attr;

		if (!p->sampled || !p->alive || !p->vmpin_kb || (f && f->pid && p->k.k1 != f->pid))
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
		n++;
	}
	return n;
}

int rows_collect(struct agg *a, struct holder_row *rows, int max, const struct row_filter *f)
{
	struct holder_ent *h;
	int n = 0;

	agg_refresh(a);
	for (size_t it = 0; n < max && (h = htab_next(&a->pins.holders, &it));) {
		if (!h->pages && !h->acquired_pages && !h->released_pages && !h->seeded)
			continue;
		if (f && f->pid && h->tgid != f->pid)
			continue;
		if (f && f->cgroup_id && h->cgroup_id != f->cgroup_id)
			continue;
		if (f && f->subsys && strcmp(f->subsys, subsys_name(h->subsys)))
			continue;
		fill(a, h, &rows[n++]);
	}
	return n + unattributed_rows(a, rows + n, max - n, f);
}

int rows_build(struct agg *a, struct holder_row *rows, int max, enum row_sort sort,
	       const char *only_subsys)
{
	struct row_filter f = {.subsys = only_subsys};
	int n = rows_collect(a, rows, max, &f);

	rows_sort(rows, n, rows_col_of_sort(sort), false);
	return n;
}

int rows_col_count(void)
{
	return ARRAY_SIZE(fields);
}

int rows_col_find(const char *name)
{
	for (int s = 0; s < SORT_MAX; s++)
		if (!strcasecmp(name, sort_words[s][0]))
			name = sort_words[s][1];
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		if (!strcasecmp(name, fields[i].key) ||
		    (fields[i].hdr && !strcasecmp(name, fields[i].hdr)))
			return i;
	return -1;
}

int rows_col_of_sort(enum row_sort s)
{
	int c = s < SORT_MAX ? rows_col_find(sort_words[s][1]) : -1;

	return c < 0 ? 0 : c;
}

const char *rows_col_header(int col)
{
	return col >= 0 && col < (int)ARRAY_SIZE(fields) ? fields[col].hdr : NULL;
}

int rows_col_next(int col, int dir, enum rows_set set)
{
	int n = ARRAY_SIZE(fields);

	for (int i = 1; i <= n; i++) {
		int c = ((col + dir * i) % n + n) % n;

		if (shown(&fields[c], set))
			return c;
	}
	return col;
}

int rows_col_span(int col, enum rows_set set, size_t *off, size_t *width)
{
	size_t o = 0;

	for (int i = 0; i < (int)ARRAY_SIZE(fields); i++) {
		const struct field *f = &fields[i];
		size_t w = f->width < 0 ? -f->width : f->width;

		if (!shown(f, set))
			continue;
		if (o)
			o++;
		if (i == col) {
			*off = o;
			*width = w;
			return 0;
		}
		o += w;
	}
	return -1;
}

/* A path that does not fit keeps its end: the leaf names the cgroup. */
static void fmt_path(const char *p, int width, char *buf, size_t size)
{
	size_t len = strlen(p), w = width < 0 ? -width : width;

	if (!*p)
		snprintf(buf, size, "-");
	else if (len <= w || w < 4)
		snprintf(buf, size, "%s", p);
	else
		snprintf(buf, size, "...%s", p + len - (w - 3));
}

static void fmt_rate(double v, char *buf, size_t size)
{
	if (v == 0)
		snprintf(buf, size, "0");
	else if (v < 10)
		snprintf(buf, size, "%.1f", v);
	else
		snprintf(buf, size, "%.0f", v);
}

static void fmt_u64(uint64_t v, char *buf, size_t size);

static void fmt_field(const struct field *f, const struct holder_row *r, char *buf, size_t size)
{
	const void *v = at(r, f);

	switch (f->kind) {
	case K_U32:
		fmt_u64(*(const uint32_t *)v, buf, size);
		break;
	case K_U64:
		fmt_u64(*(const uint64_t *)v, buf, size);
		break;
	case K_I64KB:
		if (*(const int64_t *)v < 0)
			snprintf(buf, size, "-");
		else
			fmt_u64(*(const int64_t *)v, buf, size);
		break;
	case K_STR:
		snprintf(buf, size, "%s", (const char *)v);
		break;
	case K_STRP:
		snprintf(buf, size, "%s", *(const char *const *)v);
		break;
	case K_AGE: {
		int64_t ns = *(const int64_t *)v;

		if (ns == -1)
			snprintf(buf, size, "<start");
		else if (ns < 0)
			snprintf(buf, size, "-");
		else
			fmt_age(ns, buf, size);
		break;
	}
	case K_BYTES:
		fmt_bytes(*(const uint64_t *)v, buf, size);
		break;
	case K_RATE:
		fmt_rate(*(const double *)v, buf, size);
		break;
	case K_CGROUP:
		fmt_path(cgroup_path(*(const uint64_t *)v), f->width, buf, size);
		break;
	case K_BACKING:
		fmt_backing(*(const uint32_t *)v, buf, size);
		break;
	}
}

/* Append " s" padded to |width| (right-aligned when width > 0); a table of 10k rows is
 * printed every second, so this avoids snprintf. */
static size_t put(char *buf, size_t size, size_t off, const char *s, int width)
{
	size_t len = strlen(s), w = width < 0 ? -width : width;
	size_t pad = len < w ? w - len : 0;

	if (off && off + 1 < size)
		buf[off++] = ' ';
	if (width > 0)
		for (; pad && off + 1 < size; pad--)
			buf[off++] = ' ';
	for (size_t i = 0; i < len && off + 1 < size; i++)
		buf[off++] = s[i];
	for (; pad && off + 1 < size; pad--)
		buf[off++] = ' ';
	buf[off < size ? off : size - 1] = 0;
	return off;
}

static void fmt_u64(uint64_t v, char *buf, size_t size)
{
	char tmp[24];
	size_t n = 0, i = 0;

	do
		tmp[n++] = '0' + v % 10;
	while ((v /= 10) && n < sizeof(tmp));
	for (; n && i + 1 < size; i++)
		buf[i] = tmp[--n];
	buf[i] = 0;
}

static size_t trim(char *buf, size_t size, size_t off)
{
	if (off >= size)
		off = size - 1;
	while (off && buf[off - 1] == ' ')
		off--;
	buf[off] = 0;
	return off;
}

size_t rows_header_str(char *buf, size_t size, enum rows_set set)
{
	size_t off = 0;

	buf[0] = 0;
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		if (shown(&fields[i], set))
			off = put(buf, size, off, fields[i].hdr, fields[i].width);
	return trim(buf, size, off);
}

size_t rows_text_str(char *buf, size_t size, const struct holder_row *r, enum rows_set set)
{
	size_t off = 0;

	buf[0] = 0;
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		char v[128];

		if (!shown(&fields[i], set))
			continue;
		fmt_field(&fields[i], r, v, sizeof(v));
		off = put(buf, size, off, v, fields[i].width);
	}
	return trim(buf, size, off);
}

void rows_text_header(FILE *out)
{
	char buf[512];

	rows_header_str(buf, sizeof(buf), ROWS_REPORT);
	fprintf(out, "%s\n", buf);
}

void rows_text(FILE *out, const struct holder_row *r)
{
	char buf[512];

	rows_text_str(buf, sizeof(buf), r, ROWS_REPORT);
	fprintf(out, "%s\n", buf);
}

void rows_json_set(struct json *j, const struct holder_row *r, enum rows_set set)
{
	json_obj_begin(j, NULL);
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		const struct field *f = &fields[i];
		const void *v = at(r, f);

		if ((f->flags & LIVE) && set != ROWS_LIVE)
			continue;
		switch (f->kind) {
		case K_U32:
			json_u64(j, f->key, *(const uint32_t *)v);
			break;
		case K_U64:
		case K_BYTES:
			json_u64(j, f->key, *(const uint64_t *)v);
			break;
		case K_I64KB:
		case K_AGE:
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
		case K_RATE:
			json_f64(j, f->key, *(const double *)v);
			break;
		case K_CGROUP: {
			const char *cg = cgname(*(const uint64_t *)v);

			if (cg)
				json_str(j, f->key, cg);
			else
				json_null(j, f->key);
			break;
		}
		case K_BACKING: {
			char b[64];

			json_str(j, f->key, fmt_backing(*(const uint32_t *)v, b, sizeof(b)));
			break;
		}
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
	rows_json_shortterm(j, r->shortterm_ns ? r->shortterm_ns : &no_hist);
	json_obj_end(j);
}

void rows_json(struct json *j, const struct holder_row *r)
{
	rows_json_set(j, r, ROWS_REPORT);
}

void rows_json_shortterm(struct json *j, const struct hist *h)
{
	unsigned int last = 0;

	json_u64(j, "shortterm_pins_released", hist_count(h));
	json_u64(j, "shortterm_hold_ns_p50", hist_quantile(h, 0.5));
	json_u64(j, "shortterm_hold_ns_p99", hist_quantile(h, 0.99));
	json_u64(j, "shortterm_hold_ns_max", h->max);
	/* Element i counts pins held [2^i, 2^(i+1)) ns; trailing empty buckets are left out. */
	for (unsigned int i = 0; i < HIST_SLOTS; i++)
		if (h->slot[i])
			last = i + 1;
	json_arr_begin(j, "shortterm_hold_ns_log2");
	for (unsigned int i = 0; i < last; i++)
		json_u64(j, NULL, h->slot[i]);
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
		const struct hist *h = rows[i].shortterm_ns ? rows[i].shortterm_ns : &no_hist;
		char p50[32], p99[32], max[32];

		if (!hist_count(h))
			continue;
		if (!any)
			fprintf(out, "\nshort-term pins released during the run (hold time):\n");
		any = true;
		fprintf(out,
			"  pid %" PRIu32 " %s (%s): %" PRIu64 " pins, p50 < %s, p99 < %s, max %s\n",
			rows[i].pid, rows[i].comm, rows[i].subsystem, hist_count(h),
			fmt_ns(hist_quantile(h, 0.5), p50, sizeof(p50)),
			fmt_ns(hist_quantile(h, 0.99), p99, sizeof(p99)),
			fmt_ns(h->max, max, sizeof(max)));
	}
}
