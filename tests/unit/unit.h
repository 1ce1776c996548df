/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A tiny unit-test framework printing TAP. A test file defines cases with UNIT_TEST(name) {...}
 * and checks with CHECK(cond) / CHECK_EQ(a, b); cases register themselves, so adding a file
 * needs no list edited anywhere. `unit [FILTER]` runs the cases whose name contains FILTER.
 */
#ifndef PS_UNIT_H
#define PS_UNIT_H

#include <stdint.h>
#include <stdio.h>

struct unit_case {
	const char *name;
	void (*fn)(void);
	struct unit_case *next;
};

void unit_register(struct unit_case *c);
void unit_fail(const char *file, int line, const char *what);
void unit_skip(const char *why);

#define UNIT_TEST(n)                                                                               \
	static void n(void);                                                                       \
	static struct unit_case n##_case = {#n, n, NULL};                                          \
	__attribute__((constructor)) static void n##_reg(void)                                     \
	{                                                                                          \
		unit_register(&n##_case);                                                          \
	}                                                                                          \
	static void n(void)

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			unit_fail(__FILE__, __LINE__, #cond);                                      \
			return;                                                                    \
		}                                                                                  \
	} while (0)

#define CHECK_EQ(a, b)                                                                             \
	do {                                                                                       \
		unsigned long long __a = (unsigned long long)(a), __b = (unsigned long long)(b);   \
		if (__a != __b) {                                                                  \
			char __m[256];                                                             \
			snprintf(__m, sizeof(__m), "%s == %s (%llu != %llu)", #a, #b, __a, __b);   \
			unit_fail(__FILE__, __LINE__, __m);                                        \
			return;                                                                    \
		}                                                                                  \
	} while (0)

#endif
