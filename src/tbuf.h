/* SPDX-License-Identifier: BSD-2-Clause */
/* A growable byte buffer with a hard cap: appends past the cap fail instead of growing. */
#ifndef PS_TBUF_H
#define PS_TBUF_H

#include <stddef.h>

struct tbuf {
	unsigned char *data;
	size_t len, cap;
};

/* Make room for `more` bytes; 0 or -ENOMEM. */
int tbuf_reserve(struct tbuf *b, size_t more);
int tbuf_append(struct tbuf *b, const void *p, size_t n);
void tbuf_free(struct tbuf *b);

#endif
