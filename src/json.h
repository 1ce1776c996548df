/* SPDX-License-Identifier: BSD-2-Clause */
/* A small streaming JSON writer: compact output, one document per json_new/json_free. */
#ifndef PS_JSON_H
#define PS_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct json;

struct json *json_new(FILE *out);
void json_free(struct json *j); /* ends the line */

/* key is NULL inside arrays and at top level. */
void json_obj_begin(struct json *j, const char *key);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j, const char *key);
void json_arr_end(struct json *j);
void json_str(struct json *j, const char *key, const char *v);
void json_u64(struct json *j, const char *key, uint64_t v);
void json_i64(struct json *j, const char *key, int64_t v);
void json_bool(struct json *j, const char *key, bool v);
void json_null(struct json *j, const char *key);
void json_hex(struct json *j, const char *key, uint64_t v); /* "0x..." string */
void json_f64(struct json *j, const char *key, double v);   /* 2 decimals; null if not finite */

#endif
