// SPDX-License-Identifier: BSD-2-Clause
#include "conv_fmt.h"
#include "json.h"
#include "rows.h"
#include "util.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

const char *errno_name(int err, char *buf, size_t size)
{
	const char *n = err ? strerrorname_np(err) : "none";

	if (n)
		return n;
	snprintf(buf, size, "E%d", err);
	return buf;
}

static const char *state_name(const struct conv_ent *c)
{
	switch (c->state) {
	case CONV_ASKED:
		return "asked";
	case CONV_INFLIGHT:
		return "in_flight";
	default:
		return "failed";
	}
}

static uint64_t age(uint64_t now, uint64_t since)
{
	return now > since ? now - since : 0;
}

#define KV_U(key, v)                                                                               \
	do {                                                                                       \
		snprintf(b, sizeof(b), "%" PRIu64, (uint64_t)(v));                                 \
		fn(ctx, key, b, 1);                                                                \
	} while (0)
#define KV_X(key, v)                                                                               \
	do {                                                                                       \
		snprintf(b, sizeof(b), "0x%" PRIx64, (uint64_t)(v));                               \
		fn(ctx, key, b, 0);                                                                \
	} while (0)
#define KV_S(key, v) fn(ctx, key, v, 0)

void conv_fields(const struct conv_ent *c, uint64_t now, conv_kv_fn fn, void *ctx)
{
	char b[64], e[32];

	KV_U("id", c->id);
	KV_U("pid", c->tgid);
	KV_S("comm", c->comm);
	KV_X("vm", c->vm);
	KV_S("space", c->ino ? "guest_memfd" : "gpa");
	if (c->ino)
		KV_U("ino", c->ino);
	KV_X("start", c->start);
	KV_U("size_bytes", c->size);
	KV_U("pages", (c->size + 4095) / 4096);
	KV_S("direction", c->to_private ? "to_private" : "to_shared");
	KV_S("interface", conv_iface_name(c->iface));
	KV_S("state", c->outcome ? conv_outcome_name(c->outcome) : state_name(c));
	KV_U("attempts", c->attempts);
	KV_U("failures", c->failures);
	KV_U("consecutive_failures", c->consecutive_failures);
	KV_S("last_errno", errno_name(c->last_err, e, sizeof(e)));
	KV_U("memory_fault_exits", c->fault_exits);
	KV_U("age_ns", age(c->outcome ? c->resolved_ns : now, c->first_ns));
	KV_U("last_duration_ns", c->last_duration_ns);
	KV_U("max_duration_ns", c->max_duration_ns);
	KV_S("stuck_reason", conv_stuck_name(c->stuck_why));
	if (c->outcome)
		KV_S("outcome", conv_outcome_name(c->outcome));
}

void blocker_fields(const struct gmem_blocker *b_, uint64_t now, conv_kv_fn fn, void *ctx)
{
	char b[64], st[PS_MAX_STACK * 19 + 1] = "";
	size_t n = 0;

	KV_U("pid", b_->tgid);
	KV_S("comm", b_->comm);
	KV_S("subsystem", subsys_name(b_->subsys));
	KV_U("pages", b_->pages);
	KV_U("pins", b_->pins);
	KV_X("start", b_->lo);
	KV_X("end", b_->hi);
	KV_S("joined_by", b_->by_file ? "guest_memfd_offset" : "user_address");
	if (b_->ino) {
		KV_U("ino", b_->ino);
		KV_X("offset_start", b_->off_lo);
		KV_X("offset_end", b_->off_hi);
	}
	KV_S("pinned_before_start", b_->oldest_ns ? "no" : "yes");
	KV_U("pinned_age_ns", b_->oldest_ns ? age(now, b_->oldest_ns) : 0);
	for (int i = 0; i < b_->nr_ustack && i < PS_MAX_STACK && b_->ustack[i]; i++)
		n += snprintf(st + n, sizeof(st) - n, "%s0x%" PRIx64, i ? "," : "", b_->ustack[i]);
	KV_S("ustack", st);
}

static void json_kv(void *ctx, const char *key, const char *val, int is_number)
{
	if (is_number)
		json_u64(ctx, key, strtoull(val, NULL, 10));
	else
		json_str(ctx, key, val);
}

void blocker_json(struct json *j, const struct gmem_blocker *b, uint64_t now)
{
	json_obj_begin(j, NULL);
	blocker_fields(b, now, json_kv, j);
	json_obj_end(j);
}

void conv_json(struct json *j, const char *key, const struct conv_ent *c,
	       const struct gmem_blocker *b, int nb, uint64_t now)
{
	json_obj_begin(j, key);
	conv_fields(c, now, json_kv, j);
	if (b) {
		uint64_t pages = 0;

		json_arr_begin(j, "blockers");
		for (int i = 0; i < nb; i++) {
			blocker_json(j, &b[i], now);
			pages += b[i].pages;
		}
		json_arr_end(j);
		json_u64(j, "blocked_pages", pages);
	}
	if (c->held_pages) {
		char r[48];

		json_obj_begin(j, "held_twice");
		json_u64(j, "pages", c->held_pages);
		json_u64(j, "pins", c->held_pins);
		json_u64(j, "pid", c->held_tgid);
		json_str(j, "comm", c->held_comm);
		json_str(j, "subsystem", subsys_name(c->held_subsys));
		snprintf(r, sizeof(r), "0x%" PRIx64 "-0x%" PRIx64, c->held_lo, c->held_hi);
		json_str(j, "range", r);
		json_str(j, "backing", c->held_by_file ? "guest_memfd" : "shared mapping");
		json_obj_end(j);
	}
	json_obj_end(j);
}

void conv_text(FILE *out, const struct conv_ent *c, uint64_t now)
{
	char a[32], e[32];

	fprintf(out, "#%" PRIu64 " %s[%" PRIu32 "] %s 0x%" PRIx64 "+%" PRIu64 " pages to %s", c->id,
		c->comm, c->tgid, c->ino ? "guest_memfd offset" : "gpa", c->start,
		(c->size + 4095) / 4096, c->to_private ? "private" : "shared");
	if (c->state == CONV_ASKED && !c->attempts)
		fprintf(out, ": asked by %" PRIu32 " memory-fault exit(s), never requested",
			c->fault_exits);
	else
		fprintf(out, " (%s): %" PRIu32 " attempts, %" PRIu32 " failed (last %s)",
			conv_iface_name(c->iface), c->attempts, c->failures,
			errno_name(c->last_err, e, sizeof(e)));
	fprintf(out, ", for %s",
		fmt_age(age(c->outcome ? c->resolved_ns : now, c->first_ns), a, sizeof(a)));
	if (c->stuck)
		fprintf(out, ", stuck (%s)", conv_stuck_name(c->stuck_why));
	if (c->held_pages)
		fprintf(out,
			"; held twice: %" PRIu64 " pages still pinned by %s[%" PRIu32
			"] %s 0x%" PRIx64 "-0x%" PRIx64 " (%s)",
			c->held_pages, c->held_comm, c->held_tgid, subsys_name(c->held_subsys),
			c->held_lo, c->held_hi, c->held_by_file ? "guest_memfd" : "shared mapping");
}

void blocker_text(FILE *out, const struct gmem_blocker *b, uint64_t now)
{
	char a[32];

	fprintf(out, "%s[%" PRIu32 "] %s %" PRIu64 " pages 0x%" PRIx64 "-0x%" PRIx64, b->comm,
		b->tgid, subsys_name(b->subsys), b->pages, b->lo, b->hi);
	if (b->ino)
		fprintf(out, " (guest_memfd ino %" PRIu64 " offset 0x%" PRIx64 "-0x%" PRIx64 ")",
			b->ino, b->off_lo, b->off_hi);
	if (b->oldest_ns)
		fprintf(out, " pinned %s", fmt_age(age(now, b->oldest_ns), a, sizeof(a)));
	else
		fprintf(out, " pinned before pinscope started");
}
