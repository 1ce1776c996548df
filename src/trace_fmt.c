// SPDX-License-Identifier: BSD-2-Clause
#include "trace_fmt.h"
#include "tbuf.h"

#include <errno.h>
#include <string.h>
#include <zlib.h>

_Static_assert(sizeof(struct trace_preamble) == 24, "preamble is 24 bytes on disk");
_Static_assert(sizeof(struct trace_blk) == 24, "block frame is 24 bytes on disk");
_Static_assert(sizeof(struct trace_sym) == 16, "symbol entry is 16 bytes on disk");

static const char *const blk_names[TRACE_BLK_MAX] = {
	[TRACE_BLK_EVENTS] = "events",
	[TRACE_BLK_SYMBOLS] = "symbols",
	[TRACE_BLK_FOOTER] = "footer",
};

const char *trace_blk_name(unsigned int type)
{
	return type < TRACE_BLK_MAX && blk_names[type] ? blk_names[type] : "unknown";
}

uint32_t trace_blk_crc(const struct trace_blk *b, const void *payload)
{
	uLong c = crc32(0, (const Bytef *)b, offsetof(struct trace_blk, crc));

	return crc32(c, payload, b->len);
}

int trace_block_store(struct tbuf *out, unsigned int type, uint32_t seq, const void *raw,
		      size_t raw_len)
{
	struct trace_blk b = {
		.magic = TRACE_BLK_MAGIC,
		.type = type,
		.seq = seq,
		.raw_len = raw_len,
		.len = raw_len,
	};
	size_t at = out->len;
	unsigned char *payload;
	int err;

	if (raw_len > TRACE_MAX_BLOCK_RAW)
		return -E2BIG;
	err = tbuf_reserve(out, sizeof(b) + raw_len);
	if (err)
		return err;
	payload = out->data + at + sizeof(b);
	if (raw_len)
		memcpy(payload, raw, raw_len);
	b.crc = trace_blk_crc(&b, payload);
	memcpy(out->data + at, &b, sizeof(b));
	out->len = at + sizeof(b) + raw_len;
	return 0;
}

void trace_block_reseq(void *frame, uint32_t seq)
{
	struct trace_blk b;

	memcpy(&b, frame, sizeof(b));
	b.seq = seq;
	b.crc = trace_blk_crc(&b, (unsigned char *)frame + sizeof(b));
	memcpy(frame, &b, sizeof(b));
}
