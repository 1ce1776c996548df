/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Holder rows: built once from the aggregate, rendered as a text table or as JSON by walking one
 * field table, so the two can never drift apart. report, top --batch and top's screen use it.
 * A column is a field of that table, by index: sorting works on any of them.
 */
#ifndef PS_ROWS_H
#define PS_ROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "agg.h"
#include "hist.h"

struct json;

struct holder_row {
	uint32_t pid;
	char comm[PS_COMM_LEN];
	const char *subsystem;
	uint64_t cgroup_id; /* shown as its path under the cgroup2 mount (cgname.h) */
	uint64_t pins, pinned_pages, pinned_bytes, charged_pages;
	uint64_t longterm_pages, shortterm_pages;
	uint64_t acquired_pages, released_pages;
	uint64_t churn_pairs; /* register/unregister pairs counted in BPF (--churn-window) */
	double acquire_rate, release_rate; /* pages/s over the last interval */
	int64_t vmpin_kb;		   /* -1: not sampled or process gone */
	int64_t oldest_age_ns;		   /* -1: before pinscope started; -2: no pins held */
	const char *state;
	uint32_t backing_mask; /* 1 << enum ps_backing */
	uint8_t nr_ustack;
	/* The holder's own (holders live as long as the aggregate); NULL for unattributed rows. */
	const uint64_t *ustack;
	uint8_t nr_kstack;
	const uint64_t *kstack;
	const struct hist *shortterm_ns;
};

enum row_sort { SORT_PAGES = 0, SORT_PID, SORT_AGE, SORT_COMM, SORT_ACQUIRED, SORT_MAX };

/* Which fields a renderer shows: the report leaves out what only means something live. */
enum rows_set { ROWS_REPORT = 0, ROWS_LIVE };

struct row_filter {
	uint32_t pid;	    /* 0: all */
	uint64_t cgroup_id; /* 0: all */
	const char *subsys; /* NULL: all */
};

/* Rows with pins held or activity in the run; returns the count (at most max). */
int rows_build(struct agg *a, struct holder_row *rows, int max, enum row_sort sort,
	       const char *only_subsys);
/* The same, unsorted, with a filter (may be NULL). */
int rows_collect(struct agg *a, struct holder_row *rows, int max, const struct row_filter *f);
/* Sort by column `col`: numbers largest first, names and pids ascending; `reverse` flips. */
void rows_sort(struct holder_row *rows, int n, int col, bool reverse);

/* Columns. */
int rows_col_count(void);
/* By JSON key or text header (case-insensitive), or one of the --sort words; -1 if none. */
int rows_col_find(const char *name);
int rows_col_of_sort(enum row_sort s);
/* The text header of a column, NULL when it is JSON-only. */
const char *rows_col_header(int col);
/* The next column shown as text in `set`, dir +1 or -1, wrapping. */
int rows_col_next(int col, int dir, enum rows_set set);
/* Where column `col` sits in a text line: offset and width; -1 when it is not shown. */
int rows_col_span(int col, enum rows_set set, size_t *off, size_t *width);

/* One text line without the newline, into buf; returns its length (may be cut at size-1). */
size_t rows_header_str(char *buf, size_t size, enum rows_set set);
size_t rows_text_str(char *buf, size_t size, const struct holder_row *r, enum rows_set set);
void rows_json_set(struct json *j, const struct holder_row *r, enum rows_set set);

/* The report's renderers (ROWS_REPORT). */
void rows_text_header(FILE *out);
void rows_text(FILE *out, const struct holder_row *r);
/* Hold times of the short-term pins released during the run, one line per holder. */
void rows_text_shortterm(FILE *out, const struct holder_row *rows, int n);
void rows_json(struct json *j, const struct holder_row *r);
/* The short-term hold-time fields of a holder (flat keys, units in the names). */
void rows_json_shortterm(struct json *j, const struct hist *h);
const char *subsys_name(unsigned int s);
/* Is name a subsystem rows can have ("unattributed" included)? For --subsystem. */
bool subsys_known(const char *name);
/* Those names, comma-separated. */
const char *subsys_names(void);
const char *backing_name(unsigned int b);

#endif
