/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One description of a conversion and of what blocks it, rendered as a text line, as JSON, or
 * as key=value pairs (watch --exec's environment). The report and watch both use it, so the
 * three never disagree.
 */
#ifndef PS_CONV_FMT_H
#define PS_CONV_FMT_H

#include <stdint.h>
#include <stdio.h>
#include "agg_convert.h"
#include "agg_gmem.h"

struct json;

/* "ENOTTY", or "E123" for numbers glibc does not name. */
const char *errno_name(int err, char *buf, size_t size);

/* One conversion's fields: calls fn(key, value-as-text, is_number) for each, in order. */
typedef void (*conv_kv_fn)(void *ctx, const char *key, const char *val, int is_number);
void conv_fields(const struct conv_ent *c, uint64_t now_ns, conv_kv_fn fn, void *ctx);
void blocker_fields(const struct gmem_blocker *b, uint64_t now_ns, conv_kv_fn fn, void *ctx);

/* An object (member `key`, or an array element when key is NULL). */
void conv_json(struct json *j, const char *key, const struct conv_ent *c,
	       const struct gmem_blocker *b, int nb, uint64_t now_ns);
void blocker_json(struct json *j, const struct gmem_blocker *b, uint64_t now_ns);
/* "vmmload[1234] gpa 0x100000000+16 pages to private: 10 attempts, 10 failed (ENOTTY), 3 ms" */
void conv_text(FILE *out, const struct conv_ent *c, uint64_t now_ns);
/* "vmmload[1234] io_uring 8 pages gpa 0x100000000-0x100008000 (ino 106008 +0x0) pinned 12 ms" */
void blocker_text(FILE *out, const struct gmem_blocker *b, uint64_t now_ns);

#endif
