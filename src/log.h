/* SPDX-License-Identifier: BSD-2-Clause */
/* Diagnostics, all on stderr: `pinscope: <what failed>: <why>` plus an optional hint line. */
#ifndef PS_LOG_H
#define PS_LOG_H

#include <stdarg.h>

extern int ps_verbose;	   /* -v count */
extern int ps_json_errors; /* -j: errors are also written as {"error": ...} on stdout */

void ps_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ps_hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ps_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ps_info(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* libbpf's print callback: its debug output only with -vv. */
#include <bpf/libbpf.h>
int ps_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap);

#endif
