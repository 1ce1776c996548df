// SPDX-License-Identifier: BSD-2-Clause
#include "report_gmem.h"
#include "conv_fmt.h"
#include "json.h"
#include "rows.h"
#include "util.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LIST     4096
#define MAX_BLOCKERS 64

static int cmp_key(const void *x, const void *y)
{
	const struct htab_key *a = *(const struct htab_key *const *)x;
	const struct htab_key *b = *(const struct htab_key *const *)y;

	if (a->k1 != b->k1)
		return a->k1 < b->k1 ? -1 : 1;
	return (a->k2 > b->k2) - (a->k2 < b->k2);
}

/* The entries of a table in key order (output does not depend on hashing). */
static void **sorted(const struct htab *h, int *n)
{
	void **v = calloc(h->count ? h->count : 1, sizeof(*v));
	void *e;

	*n = 0;
	if (!v)
		return NULL;
	for (size_t it = 0; *n < (int)h->count && (e = htab_next(h, &it));)
		v[(*n)++] = e;
	qsort(v, *n, sizeof(*v), cmp_key);
	return v;
}

static uint64_t now_of(const struct agg *a)
{
	return a->end_ns ? a->end_ns : a->now_ns;
}

static uint64_t age(uint64_t now, uint64_t since)
{
	return since && now > since ? now - since : 0;
}

static uint64_t orphaned_total(struct agg *a)
{
	const struct gmem_orphan *o;
	uint64_t t = 0;

	for (size_t it = 0; (o = htab_next(&a->gmem.orphans, &it));)
		t += agg_gmem_orphan_pages(&a->gmem, &a->pins, o);
	return t;
}

static bool any_activity(struct agg *a)
{
	return a->gmem.procs.count || a->gmem.files.count || a->conv.requests ||
	       a->conv.fault_exits || a->conv.open.count;
}

static const char *file_state(const struct gmem_file *f)
{
	return f->released ? "released" : f->fd_closed ? "fd_closed" : "open";
}

static const char *orphan_why(unsigned int w)
{
	return w == ORPHAN_RELEASE ? "release" : "punch_hole";
}

/* ---- text ---- */

static void ops_text(FILE *out, const struct gmem_proc *pr)
{
	char e[32];
	const char *sep = "";

	fprintf(out, "  %s[%" PRIu64 "]%s:", pr->comm, pr->k.k1, pr->exited ? " (exited)" : "");
	for (int op = 0; op < GOP_MAX; op++) {
		const struct gmem_op_count *c = &pr->ops[op];

		if (!c->calls)
			continue;
		fprintf(out, "%s %s %" PRIu64, sep, gmem_op_name(op), c->calls);
		sep = ";";
		if (c->ok == c->calls) {
			fprintf(out, " ok");
			continue;
		}
		fprintf(out, " (%" PRIu64 " ok", c->ok);
		for (int i = 0; i < GMEM_OP_ERRNOS && c->errs[i].count; i++)
			fprintf(out, ", %s %" PRIu64, errno_name(c->errs[i].err, e, sizeof(e)),
				c->errs[i].count);
		if (c->errs_other)
			fprintf(out, ", other %" PRIu64, c->errs_other);
		fprintf(out, ")");
	}
	fputc('\n', out);
}

static void files_text(FILE *out, struct agg *a, uint64_t vm, const char *indent)
{
	const struct gmem_slot *s;
	const struct gmem_file *f;
	char b1[32], b2[32], b3[32];
	int n;
	void **v = sorted(&a->gmem.files, &n);

	for (int i = 0; v && i < n; i++) {
		f = v[i];
		if (f->vm != vm)
			continue;
		fprintf(out,
			"%sguest_memfd ino %" PRIu64 ": %s, flags 0x%" PRIx64
			", fd %d %s; mmaps %" PRIu64 ", allocated %s, punched %s in %" PRIu64
			" call(s), orphaned %" PRIu64 " pages\n",
			indent, f->k.k1, fmt_bytes(f->size, b1, sizeof(b1)), f->flags, f->fd,
			file_state(f), f->mmaps, fmt_bytes(f->alloc_bytes, b2, sizeof(b2)),
			fmt_bytes(f->punched_bytes, b3, sizeof(b3)), f->punches, f->orphaned_pages);
		if (a->gmem.faults_counted)
			fprintf(out,
				"%s  guest faults on private memory: %" PRIu64 " (%" PRIu64
				" failed)\n",
				indent, f->guest_faults, f->guest_fault_errors);
		if (a->gmem.inval_counted)
			fprintf(out,
				"%s  guest mappings invalidated: %" PRIu64 " range(s), %" PRIu64
				" page(s) + %" PRIu64 " to the end of the file\n",
				indent, f->invalidations, f->invalidated_bytes / 4096,
				f->invalidated_whole);
	}
	free(v);
	v = sorted(&a->gmem.slots, &n);
	for (int i = 0; v && i < n; i++) {
		s = v[i];
		if (s->k.k1 != vm)
			continue;
		fprintf(out, "%smemslot %" PRIu64 ": gpa 0x%" PRIx64 "-0x%" PRIx64, indent, s->k.k2,
			s->gpa, s->gpa + s->size);
		if (s->ino)
			fprintf(out, " -> guest_memfd ino %" PRIu64 " offset 0x%" PRIx64, s->ino,
				s->offset);
		fprintf(out, ", user 0x%" PRIx64 "\n", s->uaddr);
	}
	free(v);
}

static void orphans_text(FILE *out, struct agg *a, uint64_t now)
{
	const struct gmem_orphan *o;
	char t[32];
	int n;
	void **v = sorted(&a->gmem.orphans, &n);
	uint64_t total = orphaned_total(a);

	fprintf(out,
		"  orphaned pins (pinned pages no longer in their guest_memfd): %" PRIu64
		" pages\n",
		total);
	for (int i = 0; v && i < n; i++) {
		const struct holder_ent *h;
		uint64_t pages;

		o = v[i];
		pages = agg_gmem_orphan_pages(&a->gmem, &a->pins, o);
		if (!pages)
			continue;
		h = htab_find(&a->pins.holders, o->holder.k1, o->holder.k2);
		fprintf(out,
			"    %s[%" PRIu64 "] %s %" PRIu64 " pages, guest_memfd ino %" PRIu64
			" offset 0x%" PRIx64 "-0x%" PRIx64 "%s (%s %s ago)\n",
			h ? h->comm : "?", o->holder.k1 >> 8, subsys_name(o->holder.k1 & 0xff),
			pages, o->ino, o->r[0].lo, o->r[o->nr - 1].hi,
			o->nr > 1 ? " (in parts)" : "", orphan_why(o->why),
			fmt_age(age(now, o->first_ns), t, sizeof(t)));
	}
	free(v);
}

static void conv_list_text(FILE *out, struct agg *a, uint64_t now)
{
	struct gmem_blocker b[MAX_BLOCKERS];
	const struct conv_ent *c;
	int n;
	void **v = sorted(&a->conv.open, &n);

	for (int i = 0; v && i < n; i++) {
		int nb;

		c = v[i];
		fprintf(out, "  open ");
		conv_text(out, c, now);
		fputc('\n', out);
		nb = agg_gmem_blockers(&a->gmem, &a->pins, c, b, MAX_BLOCKERS);
		for (int k = 0; k < nb; k++) {
			fprintf(out, "      pinned by ");
			blocker_text(out, &b[k], now);
			fputc('\n', out);
		}
	}
	free(v);
	for (int i = 0; i < a->conv.nrecent; i++) {
		fprintf(out, "  %s ", conv_outcome_name(a->conv.recent[i].outcome));
		conv_text(out, &a->conv.recent[i], now);
		fputc('\n', out);
	}
}

static void conv_errs_text(FILE *out, struct agg *a)
{
	const struct conv_vm *v;
	char e[32];

	for (size_t it = 0; (v = htab_next(&a->conv.vms, &it));)
		for (int i = 0; i < CONV_MAX_ERRNOS && v->errs[i].count; i++)
			fprintf(out, " %s %" PRIu64, errno_name(v->errs[i].err, e, sizeof(e)),
				v->errs[i].count);
}

void report_gmem_text(FILE *out, struct agg *a)
{
	uint64_t now = now_of(a);
	const struct gmem_vm *vm;
	char t[32];
	int n;
	void **v;

	if (!any_activity(a))
		return;
	fprintf(out, "\nguest_memfd:\n");
	v = sorted(&a->gmem.procs, &n);
	for (int i = 0; v && i < n; i++)
		ops_text(out, v[i]);
	free(v);
	v = sorted(&a->gmem.vms, &n);
	for (int i = 0; v && i < n; i++) {
		vm = v[i];
		fprintf(out, "  vm 0x%" PRIx64 " of pid %" PRIu32 ": %s%s%s%s\n", vm->k.k1,
			vm->tgid, vm->created_ns ? "created " : "created before pinscope started",
			vm->created_ns ? fmt_age(age(now, vm->created_ns), t, sizeof(t)) : "",
			vm->created_ns ? " ago" : "", vm->released ? ", released" : "");
		files_text(out, a, vm->k.k1, "    ");
	}
	free(v);
	files_text(out, a, 0, "  ");
	orphans_text(out, a, now);
	fprintf(out, "conversions: %" PRIu64 " requests, %" PRIu64 " ok, %" PRIu64 " failed%s",
		a->conv.requests, a->conv.ok, a->conv.failed, a->conv.failed ? ":" : "");
	conv_errs_text(out, a);
	fprintf(out, "; memory-fault exits %" PRIu64 "; stuck %" PRIu64 ", resolved %" PRIu64 "\n",
		a->conv.fault_exits, a->conv.stuck, a->conv.resolved);
	if (a->conv.applied[0] || a->conv.applied[1])
		fprintf(out,
			"applied by KVM (kvm_arch_post_set_memory_attributes): %" PRIu64
			" to private (%" PRIu64 " pages), %" PRIu64 " to shared (%" PRIu64
			" pages)\n",
			a->conv.applied[1], a->conv.applied_pages[1], a->conv.applied[0],
			a->conv.applied_pages[0]);
	if (a->conv.held_twice)
		fprintf(out,
			"conversions to private with the old backing still pinned (held twice): "
			"%" PRIu64 "\n",
			a->conv.held_twice);
	conv_list_text(out, a, now);
}

/* ---- JSON ---- */

static void errs_json(struct json *j, const struct gmem_op_count *c)
{
	char e[32];

	json_obj_begin(j, "errors");
	for (int i = 0; i < GMEM_OP_ERRNOS && c->errs[i].count; i++)
		json_u64(j, errno_name(c->errs[i].err, e, sizeof(e)), c->errs[i].count);
	if (c->errs_other)
		json_u64(j, "other", c->errs_other);
	json_obj_end(j);
}

static void procs_json(struct json *j, struct agg *a)
{
	int n;
	void **v = sorted(&a->gmem.procs, &n);

	json_arr_begin(j, "processes");
	for (int i = 0; v && i < n; i++) {
		const struct gmem_proc *pr = v[i];

		json_obj_begin(j, NULL);
		json_u64(j, "pid", pr->k.k1);
		json_str(j, "comm", pr->comm);
		json_bool(j, "exited", pr->exited);
		json_obj_begin(j, "calls");
		for (int op = 0; op < GOP_MAX; op++) {
			const struct gmem_op_count *c = &pr->ops[op];

			if (op == GOP_GUEST_FAULT && !a->gmem.faults_counted) {
				json_null(j, gmem_op_name(op));
				continue;
			}
			json_obj_begin(j, gmem_op_name(op));
			json_u64(j, "calls", c->calls);
			json_u64(j, "ok", c->ok);
			json_u64(j, "failed", c->calls - c->ok);
			errs_json(j, c);
			json_obj_end(j);
		}
		json_obj_end(j);
		json_obj_end(j);
	}
	json_arr_end(j);
	free(v);
}

static void vms_files_json(struct json *j, struct agg *a, uint64_t now)
{
	int n;
	void **v = sorted(&a->gmem.vms, &n);

	json_arr_begin(j, "vms");
	for (int i = 0; v && i < n; i++) {
		const struct gmem_vm *vm = v[i];

		json_obj_begin(j, NULL);
		json_hex(j, "vm", vm->k.k1);
		json_u64(j, "pid", vm->tgid);
		json_i64(j, "fd", vm->fd);
		json_u64(j, "age_ns", age(now, vm->created_ns));
		json_bool(j, "released", vm->released);
		json_obj_end(j);
	}
	json_arr_end(j);
	free(v);
	v = sorted(&a->gmem.files, &n);
	json_arr_begin(j, "files");
	for (int i = 0; v && i < n; i++) {
		const struct gmem_file *f = v[i];

		json_obj_begin(j, NULL);
		json_u64(j, "ino", f->k.k1);
		json_u64(j, "dev", f->k.k2);
		json_hex(j, "vm", f->vm);
		json_u64(j, "pid", f->tgid);
		json_i64(j, "fd", f->fd);
		json_u64(j, "size_bytes", f->size);
		json_hex(j, "flags", f->flags);
		json_str(j, "state", file_state(f));
		json_u64(j, "mmaps", f->mmaps);
		json_u64(j, "allocations", f->allocs);
		json_u64(j, "allocated_bytes", f->alloc_bytes);
		json_u64(j, "punch_holes", f->punches);
		json_u64(j, "punched_bytes", f->punched_bytes);
		json_u64(j, "orphaned_pages_total", f->orphaned_pages);
		/* null where gmem.fault is not attached: not counted, rather than none */
		if (a->gmem.faults_counted) {
			json_u64(j, "guest_faults", f->guest_faults);
			json_u64(j, "guest_faults_failed", f->guest_fault_errors);
		} else {
			json_null(j, "guest_faults");
			json_null(j, "guest_faults_failed");
		}
		/* the same for gmem.invalidate */
		if (a->gmem.inval_counted) {
			json_u64(j, "invalidations", f->invalidations);
			json_u64(j, "invalidated_bytes", f->invalidated_bytes);
			json_u64(j, "invalidated_to_end", f->invalidated_whole);
		} else {
			json_null(j, "invalidations");
			json_null(j, "invalidated_bytes");
			json_null(j, "invalidated_to_end");
		}
		json_obj_end(j);
	}
	json_arr_end(j);
	free(v);
}

static void slots_maps_json(struct json *j, struct agg *a)
{
	int n;
	void **v = sorted(&a->gmem.slots, &n);

	json_arr_begin(j, "memslots");
	for (int i = 0; v && i < n; i++) {
		const struct gmem_slot *s = v[i];

		json_obj_begin(j, NULL);
		json_hex(j, "vm", s->k.k1);
		json_u64(j, "slot", s->k.k2);
		json_u64(j, "pid", s->tgid);
		json_hex(j, "gpa", s->gpa);
		json_u64(j, "size_bytes", s->size);
		json_hex(j, "userspace_addr", s->uaddr);
		json_u64(j, "ino", s->ino);
		json_u64(j, "offset_bytes", s->offset);
		json_hex(j, "flags", s->flags);
		json_obj_end(j);
	}
	json_arr_end(j);
	free(v);
	v = sorted(&a->gmem.maps, &n);
	json_arr_begin(j, "mappings");
	for (int i = 0; v && i < n; i++) {
		const struct gmem_map *m = v[i];

		json_obj_begin(j, NULL);
		json_u64(j, "pid", m->k.k1);
		json_hex(j, "addr", m->k.k2);
		json_u64(j, "size_bytes", m->len);
		json_u64(j, "ino", m->ino);
		json_u64(j, "offset_bytes", m->offset);
		json_obj_end(j);
	}
	json_arr_end(j);
	free(v);
}

static void orphans_json(struct json *j, struct agg *a, uint64_t now)
{
	int n;
	void **v = sorted(&a->gmem.orphans, &n);

	json_u64(j, "orphaned_pages", orphaned_total(a));
	json_arr_begin(j, "orphans");
	for (int i = 0; v && i < n; i++) {
		const struct gmem_orphan *o = v[i];
		const struct holder_ent *h;
		uint64_t pages = agg_gmem_orphan_pages(&a->gmem, &a->pins, o);

		if (!pages)
			continue;
		h = htab_find(&a->pins.holders, o->holder.k1, o->holder.k2);
		json_obj_begin(j, NULL);
		json_u64(j, "pid", o->holder.k1 >> 8);
		json_str(j, "comm", h ? h->comm : "");
		json_str(j, "subsystem", subsys_name(o->holder.k1 & 0xff));
		json_u64(j, "pages", pages);
		json_u64(j, "ino", o->ino);
		json_hex(j, "offset_start", o->r[0].lo);
		json_hex(j, "offset_end", o->r[o->nr - 1].hi);
		json_u64(j, "ranges", o->nr);
		json_bool(j, "inexact", o->inexact);
		json_str(j, "cause", orphan_why(o->why));
		json_u64(j, "age_ns", age(now, o->first_ns));
		json_obj_end(j);
	}
	json_arr_end(j);
	free(v);
}

static void conv_vms_json(struct json *j, struct agg *a)
{
	int n;
	void **v = sorted(&a->conv.vms, &n);
	char e[32];

	json_arr_begin(j, "by_vm");
	for (int i = 0; v && i < n; i++) {
		const struct conv_vm *cv = v[i];

		json_obj_begin(j, NULL);
		json_hex(j, "vm", cv->k.k1);
		json_u64(j, "pid", cv->tgid);
		json_str(j, "comm", cv->comm);
		json_u64(j, "requests", cv->requests);
		json_u64(j, "ok", cv->ok);
		json_u64(j, "failed", cv->failed);
		json_u64(j, "to_private", cv->to_private);
		json_u64(j, "to_shared", cv->to_shared);
		json_u64(j, "memory_fault_exits", cv->fault_exits);
		json_u64(j, "stuck", cv->stuck);
		json_u64(j, "resolved", cv->resolved);
		json_u64(j, "total_duration_ns", cv->total_ns);
		json_u64(j, "max_duration_ns", cv->max_ns);
		json_obj_begin(j, "errors");
		for (int k = 0; k < CONV_MAX_ERRNOS && cv->errs[k].count; k++)
			json_u64(j, errno_name(cv->errs[k].err, e, sizeof(e)), cv->errs[k].count);
		json_obj_end(j);
		json_obj_end(j);
	}
	json_arr_end(j);
	free(v);
}

static void conversions_json(struct json *j, struct agg *a, uint64_t now)
{
	struct gmem_blocker b[MAX_BLOCKERS];
	int n;
	void **v;

	json_obj_begin(j, "conversions");
	json_u64(j, "requests", a->conv.requests);
	json_u64(j, "completed", a->conv.ok + a->conv.failed);
	json_u64(j, "ok", a->conv.ok);
	json_u64(j, "failed", a->conv.failed);
	json_u64(j, "memory_fault_exits", a->conv.fault_exits);
	json_u64(j, "stuck", a->conv.stuck);
	json_u64(j, "resolved", a->conv.resolved);
	json_u64(j, "stuck_after_ns", a->conv.lim.stuck_after_ns);
	json_u64(j, "retries", a->conv.lim.retries);
	json_obj_begin(j, "applied");
	json_u64(j, "to_private", a->conv.applied[1]);
	json_u64(j, "to_private_pages", a->conv.applied_pages[1]);
	json_u64(j, "to_shared", a->conv.applied[0]);
	json_u64(j, "to_shared_pages", a->conv.applied_pages[0]);
	json_obj_end(j);
	conv_vms_json(j, a);
	v = sorted(&a->conv.open, &n);
	json_arr_begin(j, "open");
	for (int i = 0; v && i < n; i++) {
		int nb = agg_gmem_blockers(&a->gmem, &a->pins, v[i], b, MAX_BLOCKERS);

		conv_json(j, NULL, v[i], b, nb, now);
	}
	json_arr_end(j);
	free(v);
	json_arr_begin(j, "recent");
	for (int i = 0; i < a->conv.nrecent; i++)
		conv_json(j, NULL, &a->conv.recent[i], NULL, 0, now);
	json_arr_end(j);
	json_u64(j, "table_overflow", agg_convert_overflow(&a->conv));
	json_obj_end(j);
}

void report_gmem_json(struct json *j, struct agg *a)
{
	uint64_t now = now_of(a);

	json_obj_begin(j, "gmem");
	procs_json(j, a);
	vms_files_json(j, a, now);
	slots_maps_json(j, a);
	orphans_json(j, a, now);
	json_u64(j, "unplaced_pins", a->gmem.unplaced_pins);
	json_u64(j, "table_overflow", agg_gmem_overflow(&a->gmem));
	json_obj_end(j);
	conversions_json(j, a, now);
}
