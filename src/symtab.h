/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Names of the addresses in the recorded stacks: (pid, address) -> "function+0xoff (file)",
 * pid 0 for kernel addresses. Filled when the events are seen (the processes and their
 * binaries are there then), carried in the recording, and read back by `report FILE`, so the
 * live report and the report of its recording print the same names. Bounded: what does not fit
 * is counted and printed as an address.
 */
#ifndef PS_SYMTAB_H
#define PS_SYMTAB_H

#include <stddef.h>
#include <stdint.h>
#include "decode.h"

struct symtab;
struct symbolizer;
struct tbuf;

#define SYMTAB_MAX_ENTRIES 16384
#define SYMTAB_MAX_BYTES   (1u << 20)
#define SYMTAB_MAX_NAME	   200

/* The paths of cgroups by id (the cgroup2 mount's view when the event was seen, "" when it had
 * none) share the table under a pid no process has: a recording carries them like names. */
#define SYMTAB_CGROUP_PID UINT32_MAX

/* kernel addresses live in the top half of the address space */
#define SYMTAB_KERNEL_MIN 0xffff800000000000ULL

struct symtab *symtab_new(void);
void symtab_free(struct symtab *st);

/* An empty name records "tried, not found", so it is not tried again. 0, -EEXIST or -ENOSPC. */
int symtab_put(struct symtab *st, uint32_t pid, uint64_t addr, const char *name, size_t len);
/* NULL: not in the table; "": looked up, unknown. */
const char *symtab_get(const struct symtab *st, uint32_t pid, uint64_t addr);
size_t symtab_count(const struct symtab *st);
uint64_t symtab_dropped(const struct symtab *st);

/* Resolve the stack of a record that carries one (through sz, which may be NULL: then
 * nothing new is resolved), and name its cgroup if it is new. */
void symtab_note_event(struct symtab *st, struct symbolizer *sz, const union ps_event *e);

/* Entries added since the last call (or all of them), as a TRACE_BLK_SYMBOLS payload.
 * Returns the number of entries appended to out, or -ENOMEM. */
int symtab_take_new(struct symtab *st, struct tbuf *out);
int symtab_encode_all(const struct symtab *st, struct tbuf *out);

#endif
