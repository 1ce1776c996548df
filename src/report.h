/* SPDX-License-Identifier: BSD-2-Clause */
/* The report of an aggregate: the same function serves a live run and a replayed recording. */
#ifndef PS_REPORT_H
#define PS_REPORT_H

#include <stdbool.h>
#include <stdio.h>
#include "agg.h"

struct symtab;

struct report_opts {
	bool json;
	const char *only_subsys;
	int sort;		   /* enum row_sort */
	const struct symtab *syms; /* names of stack addresses; NULL: addresses only */
};

void report_print(FILE *out, struct agg *a, const struct report_opts *o);

#endif
