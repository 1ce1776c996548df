/* SPDX-License-Identifier: BSD-2-Clause */
/* Small helpers with no better home: time, parsing, files. Split when a concern grows. */
#ifndef PS_UTIL_H
#define PS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define NSEC_PER_SEC  1000000000ULL

uint64_t now_mono_ns(void);
uint64_t now_wall_ns(void);

/* "5", "5s", "250ms", "2m", "1h" -> nanoseconds. 0 or -EINVAL. */
int parse_duration_ns(const char *s, uint64_t *out);
/* Decimal unsigned with an upper bound. 0 or -EINVAL / -ERANGE. */
int parse_u64(const char *s, uint64_t max, uint64_t *out);
/* "4K", "16M", "1G", plain bytes. */
int parse_size(const char *s, uint64_t *out);

/* Read a whole small file into buf (NUL-terminated). Returns bytes or -errno. */
long read_file(const char *path, char *buf, size_t size);

/* Human formats into caller buffers; return buf. */
const char *fmt_bytes(uint64_t bytes, char *buf, size_t size);
const char *fmt_age(uint64_t ns, char *buf, size_t size);

#define FNV1A64_INIT 0xcbf29ce484222325ULL

/* FNV-1a over n bytes, continuing from h (FNV1A64_INIT to start): names, file contents. */
static inline uint64_t fnv1a64(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

/* A 64-bit mixer (murmur3's finaliser); inline: hash tables run it several times per event. */
static inline uint64_t hash64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

#endif
