// SPDX-License-Identifier: BSD-2-Clause
#include "tbuf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TBUF_MAX (1ULL << 31)

int tbuf_reserve(struct tbuf *b, size_t more)
{
	size_t want = b->len + more, cap = b->cap ? b->cap : 4096;
	unsigned char *p;

	if (want <= b->cap)
		return 0;
	if (want > TBUF_MAX || more > TBUF_MAX)
		return -ENOMEM;
	while (cap < want)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int tbuf_append(struct tbuf *b, const void *p, size_t n)
{
	int err = tbuf_reserve(b, n);

	if (err)
		return err;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

void tbuf_free(struct tbuf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}
