/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cgroup v2 ids (what BPF's bpf_get_current_cgroup_id gives) <-> paths under the cgroup2
 * mount, for people: the id is turned into a file handle and opened (open_by_handle_at), so a
 * name costs two syscalls once and is cached. Needs CAP_DAC_READ_SEARCH; without it, or for a
 * removed cgroup, there is no name and callers show the id.
 */
#ifndef PS_CGNAME_H
#define PS_CGNAME_H

#include <stddef.h>
#include <stdint.h>

struct symtab;

/* The path of cgroup `id` relative to the cgroup2 mount ("/" for the root), or NULL: the name
 * cgname_use() table has for it (looked up when an event of the cgroup was seen, or read from a
 * recording), else the host's now. */
const char *cgname(uint64_t id);
/* The host's name now (cached), whatever the table says. */
const char *cgname_live(uint64_t id);
/* Names come from st first (NULL: none), so that a report says what the run saw. */
void cgname_use(const struct symtab *st);
/* "ID", an absolute path, or a path relative to the cgroup2 mount -> id. 0 or -errno. */
int cgname_parse(const char *s, uint64_t *id);

#endif
