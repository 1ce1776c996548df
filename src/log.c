// SPDX-License-Identifier: BSD-2-Clause
#include "log.h"
#include "json.h"

#include <bpf/libbpf.h>
#include <stdio.h>
#include <string.h>

int ps_verbose;
int ps_json_errors;

void ps_err(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "pinscope: %s\n", msg);
	if (ps_json_errors) {
		struct json *j = json_new(stdout);

		json_obj_begin(j, NULL);
		json_str(j, "error", msg);
		json_obj_end(j);
		json_free(j);
		fflush(stdout);
	}
}

void ps_hint(const char *fmt, ...)
{
	va_list ap;

	fputs("pinscope: hint: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void ps_warn(const char *fmt, ...)
{
	va_list ap;

	fputs("pinscope: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void ps_info(int level, const char *fmt, ...)
{
	va_list ap;

	if (ps_verbose < level)
		return;
	fputs("pinscope: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int ps_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && ps_verbose < 3)
		return 0;
	if (level == LIBBPF_INFO && ps_verbose < 2)
		return 0;
	if (level == LIBBPF_WARN && ps_verbose < 2)
		return 0; /* failures are reported by our own error path, once, in one line */
	fputs("libbpf: ", stderr);
	return vfprintf(stderr, fmt, ap);
}
