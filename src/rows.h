/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Holder rows: built once from the aggregate, rendered as a text table or as JSON by walking one
 * field table, so the two can never drift apart. report, top --batch and top's screen use it.
 */
#ifndef PS_ROWS_H
#define PS_ROWS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "agg.h"
#include "hist.h"

struct json;

struct holder_row {
	uint32_t pid;
	char comm[PS_COMM_LEN];
	const char *subsystem;
	uint64_t cgroup_id;
	uint64_t pins, pinned_pages, pinned_bytes, charged_pages;
	uint64_t longterm_pages, shortterm_pages;
	uint64_t acquired_pages, released_pages;
	int64_t vmpin_kb;      /* -1: not sampled or process gone */
	int64_t oldest_age_ns; /* -1: before pinscope started; -2: no pins held */
	const char *state;
	char backing[48];
	uint8_t nr_ustack;
	uint64_t ustack[PS_MAX_STACK];
	uint8_t nr_kstack;
	uint64_t kstack[PS_MAX_STACK];
	struct hist shortterm_ns;
};

enum row_sort { SORT_PAGES = 0, SORT_PID, SORT_AGE, SORT_COMM, SORT_ACQUIRED, SORT_MAX };

/* Rows with pins held or activity in the run; returns the count (at most max). */
int rows_build(struct agg *a, struct holder_row *rows, int max, enum row_sort sort,
	       const char *only_subsys);
void rows_text_header(FILE *out);
void rows_text(FILE *out, const struct holder_row *r);
/* Hold times of the short-term pins released during the run, one line per holder. */
void rows_text_shortterm(FILE *out, const struct holder_row *rows, int n);
void rows_json(struct json *j, const struct holder_row *r);
/* The short-term hold-time fields of a holder (flat keys, units in the names). */
void rows_json_shortterm(struct json *j, const struct hist *h);
const char *subsys_name(unsigned int s);
const char *backing_name(unsigned int b);

#endif
