// SPDX-License-Identifier: BSD-2-Clause
#include "unit.h"
#include "util.h"

UNIT_TEST(util_parse_duration)
{
	uint64_t v;

	CHECK(parse_duration_ns("5", &v) == 0 && v == 5 * NSEC_PER_SEC);
	CHECK(parse_duration_ns("250ms", &v) == 0 && v == 250000000ULL);
	CHECK(parse_duration_ns("1.5s", &v) == 0 && v == 1500000000ULL);
	CHECK(parse_duration_ns("2m", &v) == 0 && v == 120 * NSEC_PER_SEC);
	CHECK(parse_duration_ns("-1", &v) != 0);
	CHECK(parse_duration_ns("abc", &v) != 0);
	CHECK(parse_duration_ns("5x", &v) != 0);
	CHECK(parse_duration_ns("", &v) != 0);
	CHECK(parse_duration_ns("1e30", &v) != 0);
}

UNIT_TEST(util_parse_u64_and_size)
{
	uint64_t v;

	CHECK(parse_u64("42", 100, &v) == 0 && v == 42);
	CHECK(parse_u64("101", 100, &v) != 0);
	CHECK(parse_u64("-1", 100, &v) != 0);
	CHECK(parse_u64("4x", 100, &v) != 0);
	CHECK(parse_size("16M", &v) == 0 && v == 16ULL << 20);
	CHECK(parse_size("4096", &v) == 0 && v == 4096);
	CHECK(parse_size("1Q", &v) != 0);
}
