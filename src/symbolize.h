/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Address -> name, on this host, now: user addresses through /proc/PID/maps and the ELF symbol
 * tables of the mapped files (libelf), kernel addresses through /proc/kallsyms. Caches are
 * bounded (a few dozen processes and files); a miss costs a re-read, never memory.
 */
#ifndef PS_SYMBOLIZE_H
#define PS_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>

struct symbolizer;

struct symbolizer *symbolizer_new(void);
void symbolizer_free(struct symbolizer *sz);
/* Writes "func+0xoff (file)" (or "file+0xoff" without a symbol) into out. pid 0 or a kernel
 * address: kallsyms. Returns 0, or -ENOENT when nothing is known of the address. */
int symbolize(struct symbolizer *sz, uint32_t pid, uint64_t addr, char *out, size_t size);

#endif
