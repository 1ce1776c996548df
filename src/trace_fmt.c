// SPDX-License-Identifier: BSD-2-Clause
#include "trace_fmt.h"
#include "tbuf.h"

#include <errno.h>
#include <string.h>

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

void trace_zip_free(struct trace_zip *z)
{
	if (z->ready)
		deflateEnd(&z->zs);
	z->ready = false;
}

static int zip_ready(struct trace_zip *z)
{
	if (z->ready)
		return deflateReset(&z->zs) == Z_OK ? 0 : -EIO;
	memset(&z->zs, 0, sizeof(z->zs));
	if (deflateInit(&z->zs, z->level ? z->level : Z_BEST_SPEED) != Z_OK)
		return -ENOMEM;
	z->ready = true;
	return 0;
}

int trace_block_encode(struct trace_zip *z, struct tbuf *out, unsigned int type, uint32_t seq,
		       const void *raw, size_t raw_len)
{
	struct trace_blk b = {
		.magic = TRACE_BLK_MAGIC,
		.type = type,
		.seq = seq,
		.raw_len = raw_len,
	};
	size_t at = out->len, room;
	unsigned char *payload;
	int err;

	if (raw_len > TRACE_MAX_BLOCK_RAW)
		return -E2BIG;
	room = z ? compressBound(raw_len) : raw_len;
	err = tbuf_reserve(out, sizeof(b) + room);
	if (err)
		return err;
	payload = out->data + at + sizeof(b);
	if (z && raw_len) {
		err = zip_ready(z);
		if (err)
			return err;
		z->zs.next_in = (Bytef *)raw;
		z->zs.avail_in = raw_len;
		z->zs.next_out = payload;
		z->zs.avail_out = room;
		if (deflate(&z->zs, Z_FINISH) != Z_STREAM_END)
			return -EIO;
		b.len = room - z->zs.avail_out;
		b.flags = TRACE_BLK_F_ZLIB;
	} else {
		if (raw_len)
			memcpy(payload, raw, raw_len);
		b.len = raw_len;
	}
	b.crc = trace_blk_crc(&b, payload);
	memcpy(out->data + at, &b, sizeof(b));
	out->len = at + sizeof(b) + b.len;
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
