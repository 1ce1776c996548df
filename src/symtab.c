// SPDX-License-Identifier: BSD-2-Clause
#include "symtab.h"
#include "cgname.h"
#include "htab.h"
#include "symbolize.h"
#include "tbuf.h"
#include "trace_fmt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct sym_ent {
	struct htab_key k; /* pid, addr */
	uint32_t off;	   /* into names */
	uint16_t len;
};

struct symtab {
	struct htab ents;
	struct tbuf names;
	struct tbuf fresh; /* struct sym_ent * added since symtab_take_new */
	uint64_t dropped;
	uint64_t last_cgroup; /* of the last event noted: most come from the cgroup before */
};

struct symtab *symtab_new(void)
{
	struct symtab *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	if (htab_init(&st->ents, SYMTAB_MAX_ENTRIES, sizeof(struct sym_ent))) {
		free(st);
		return NULL;
	}
	return st;
}

void symtab_free(struct symtab *st)
{
	if (!st)
		return;
	htab_free(&st->ents);
	tbuf_free(&st->names);
	tbuf_free(&st->fresh);
	free(st);
}

static uint32_t key_pid(uint32_t pid, uint64_t addr)
{
	return addr >= SYMTAB_KERNEL_MIN ? 0 : pid;
}

int symtab_put(struct symtab *st, uint32_t pid, uint64_t addr, const char *name, size_t len)
{
	struct sym_ent *s;
	int created;

	pid = key_pid(pid, addr);
	if (len > SYMTAB_MAX_NAME)
		len = SYMTAB_MAX_NAME;
	if (htab_find(&st->ents, pid, addr))
		return -EEXIST;
	if (st->names.len + len > SYMTAB_MAX_BYTES) {
		st->dropped++;
		return -ENOSPC;
	}
	s = htab_insert(&st->ents, pid, addr, &created);
	if (!s) {
		st->dropped++;
		return -ENOSPC;
	}
	s->off = st->names.len;
	s->len = len;
	/* Names are stored NUL-terminated so symtab_get can hand them out as they are. */
	if (tbuf_append(&st->names, name, len) || tbuf_append(&st->names, "", 1) ||
	    tbuf_append(&st->fresh, &s, sizeof(s))) {
		htab_del(&st->ents, s);
		st->dropped++;
		return -ENOMEM;
	}
	return 0;
}

const char *symtab_get(const struct symtab *st, uint32_t pid, uint64_t addr)
{
	const struct sym_ent *s;

	if (!st)
		return NULL;
	s = htab_find(&st->ents, key_pid(pid, addr), addr);
	return s ? (const char *)st->names.data + s->off : NULL;
}

size_t symtab_count(const struct symtab *st)
{
	return st ? st->ents.count : 0;
}

uint64_t symtab_dropped(const struct symtab *st)
{
	return st ? st->dropped : 0;
}

/* The cgroup's path as the host names it now, kept for the report and the recording. */
static void note_cgroup(struct symtab *st, uint64_t id)
{
	const char *p;

	st->last_cgroup = id;
	if (symtab_get(st, SYMTAB_CGROUP_PID, id))
		return;
	p = cgname_live(id);
	symtab_put(st, SYMTAB_CGROUP_PID, id, p ? p : "", p ? strlen(p) : 0);
}

void symtab_note_event(struct symtab *st, struct symbolizer *sz, const union ps_event *e)
{
	char name[SYMTAB_MAX_NAME + 1];

	if (st && e->h.cgroup_id && e->h.cgroup_id != st->last_cgroup)
		note_cgroup(st, e->h.cgroup_id);
	if (st && sz && e->h.type == PS_EV_PAGEREF) {
		for (unsigned int i = 0; i < e->pageref.nr_kstack && i < PS_MAX_STACK; i++) {
			uint64_t addr = e->pageref.kstack[i];

			if (symtab_get(st, 0, addr))
				continue;
			if (symbolize(sz, 0, addr, name, sizeof(name)))
				name[0] = 0;
			symtab_put(st, 0, addr, name, strlen(name));
		}
		return;
	}
	if (!st || !sz || e->h.type != PS_EV_PIN)
		return;
	for (unsigned int i = 0; i < e->pin.nr_ustack && i < PS_MAX_STACK; i++) {
		uint64_t addr = e->pin.ustack[i];

		if (symtab_get(st, e->h.tgid, addr))
			continue;
		if (symbolize(sz, e->h.tgid, addr, name, sizeof(name)))
			name[0] = 0;
		symtab_put(st, e->h.tgid, addr, name, strlen(name));
	}
}

static int encode(const struct symtab *st, const struct sym_ent *s, struct tbuf *out)
{
	struct trace_sym t = {.addr = s->k.k2, .pid = s->k.k1, .len = s->len};

	if (tbuf_append(out, &t, sizeof(t)) || tbuf_append(out, st->names.data + s->off, s->len))
		return -ENOMEM;
	return 0;
}

int symtab_take_new(struct symtab *st, struct tbuf *out)
{
	size_t n = st->fresh.len / sizeof(struct sym_ent *);

	for (size_t i = 0; i < n; i++) {
		struct sym_ent *s;

		memcpy(&s, st->fresh.data + i * sizeof(s), sizeof(s));
		if (encode(st, s, out))
			return -ENOMEM;
	}
	st->fresh.len = 0;
	return n;
}

int symtab_encode_all(const struct symtab *st, struct tbuf *out)
{
	struct sym_ent *s;
	int n = 0;

	for (size_t it = 0; (s = htab_next(&st->ents, &it)); n++)
		if (encode(st, s, out))
			return -ENOMEM;
	return n;
}
