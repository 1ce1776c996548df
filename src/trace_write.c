// SPDX-License-Identifier: BSD-2-Clause
#include "trace_write.h"
#include "tbuf.h"
#include "trace_fmt.h"
#include "trace_meta.h"
#include "util.h"
#include "zblock.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define QUEUE_MAX   16 /* sealed batches waiting for the writer threads: 4 MiB */
#define MAX_WORKERS 2  /* threads that deflate batches side by side (one writes at a time) */
/* Event batches are sealed at this many raw bytes (or at every tick). Deflate is no slower on
 * 256 KiB than on 64 KiB, compresses event records ~15% better, and the writer thread wakes
 * a quarter as often. */
#define BATCH_RAW (256u << 10)
/* zlib level when the caller leaves it to us: on event records level 2 is as fast as level 1
 * (its matches are longer) and ~15% smaller. */
#define DEFAULT_LEVEL 2
#define FOOTER_ROOM   4096u /* kept free under the size limit for the footer */
#define FOOTER_TEXT   4000u

struct batch {
	struct tbuf raw;
	unsigned int type;
	uint32_t nr;
	uint64_t by_type[PS_EV_TYPE_MAX];
	uint64_t first_ts, last_ts;
	struct ps_ev_loss loss;
	bool has_loss;
	enum { QUEUED, ENCODING, ENCODED } state; /* threaded writers only */
	uint32_t seq;				  /* its block's number, given when queued */
	int enc_err;
	struct tbuf out; /* the framed block */
	struct batch *next;
};

struct worker {
	struct trace_writer *w;
	struct zblock zip;
	pthread_t th;
	bool started;
};

struct trace_writer {
	int fd;
	struct trace_writer_opts o;
	size_t batch_raw;
	uint64_t soft_limit, hard_limit;
	bool header_done;

	struct batch *cur;   /* being filled by the caller */
	struct batch *spare; /* recycled batches (protected by mu) */

	bool threaded;
	struct worker wk[MAX_WORKERS];
	uint32_t next_seq; /* the next queued batch's block number */
	bool writing;	   /* a worker is writing the head batch */
	pthread_mutex_t mu;
	pthread_cond_t work, space;
	struct batch *qhead, *qtail;
	int qlen;
	bool closing;

	/* Owned by whoever writes: the thread, or the caller when synchronous. */
	struct zblock zip;
	struct tbuf out;
	uint32_t seq;
	struct trace_writer_stats st;
	struct ps_ev_loss loss;
	bool has_loss;

	atomic_int full;
	atomic_int err;
};

static int write_all(int fd, const void *p, size_t n)
{
	const unsigned char *c = p;

	while (n) {
		ssize_t k = write(fd, c, n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			return -EIO;
		c += k;
		n -= k;
	}
	return 0;
}

static void fail(struct trace_writer *w, int err)
{
	int zero = 0;

	atomic_compare_exchange_strong(&w->err, &zero, err);
	atomic_store(&w->full, 1);
}

/* Deflate and frame one batch as block number seq. */
static int encode_batch(struct zblock *z, struct tbuf *out, const struct batch *b, uint32_t seq)
{
	out->len = 0;
	return zblock_encode(z, out, b->type, seq, b->raw.data, b->raw.len);
}

/*
 * Write one encoded batch (enc_err: how its encoding failed), within the size limit, and count
 * it. One thread at a time, in block order: the caller when synchronous, else the worker that
 * holds `writing`.
 */
static void write_batch(struct trace_writer *w, struct batch *b, const struct tbuf *out,
			int enc_err)
{
	int err;

	if (atomic_load(&w->err))
		goto drop;
	if (enc_err) {
		fail(w, enc_err);
		goto drop;
	}
	if (w->hard_limit && w->st.file_bytes + out->len > w->hard_limit) {
		atomic_store(&w->full, 1);
		goto drop;
	}
	err = write_all(w->fd, out->data, out->len);
	if (err) {
		fail(w, err);
		goto drop;
	}
	w->seq++;
	w->st.blocks++;
	w->st.file_bytes += out->len;
	w->st.raw_bytes += b->raw.len;
	if (b->type == TRACE_BLK_SYMBOLS)
		w->st.symbols += b->nr;
	if (b->type == TRACE_BLK_EVENTS && b->nr) {
		w->st.events += b->nr;
		for (int t = 0; t < PS_EV_TYPE_MAX; t++)
			w->st.by_type[t] += b->by_type[t];
		if (!w->st.first_ts_ns || b->first_ts < w->st.first_ts_ns)
			w->st.first_ts_ns = b->first_ts;
		if (b->last_ts > w->st.last_ts_ns)
			w->st.last_ts_ns = b->last_ts;
		if (b->has_loss) {
			w->loss = b->loss;
			w->has_loss = true;
		}
	}
	if (w->soft_limit && w->st.file_bytes > w->soft_limit)
		atomic_store(&w->full, 1);
	return;
drop:
	if (b->type == TRACE_BLK_EVENTS)
		w->st.not_written += b->nr;
}

/* Synchronous: encode with the writer's own stream and write now. */
static void put_batch(struct trace_writer *w, struct batch *b)
{
	int err = atomic_load(&w->err) ? 0 : encode_batch(&w->zip, &w->out, b, w->seq);

	write_batch(w, b, &w->out, err);
}

/* Caller holds mu when the writer is threaded. */
static void recycle_locked(struct trace_writer *w, struct batch *b)
{
	b->raw.len = 0;
	b->nr = 0;
	b->has_loss = false;
	b->first_ts = b->last_ts = 0;
	memset(b->by_type, 0, sizeof(b->by_type));
	b->state = QUEUED;
	b->enc_err = 0;
	b->out.len = 0;
	b->next = w->spare;
	w->spare = b;
}

static void recycle(struct trace_writer *w, struct batch *b)
{
	if (w->threaded)
		pthread_mutex_lock(&w->mu);
	recycle_locked(w, b);
	if (w->threaded)
		pthread_mutex_unlock(&w->mu);
}

/*
 * A worker deflates the first batch nobody has taken yet; whichever worker finds the head of
 * the queue encoded while nobody writes, writes it. So blocks are deflated side by side and
 * written in order.
 */
static void *writer_main(void *arg)
{
	struct worker *k = arg;
	struct trace_writer *w = k->w;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct batch *b = w->qhead;

		if (b && b->state == ENCODED && !w->writing) {
			w->qhead = b->next;
			if (!w->qhead)
				w->qtail = NULL;
			w->writing = true;
			pthread_mutex_unlock(&w->mu);
			write_batch(w, b, &b->out, b->enc_err);
			pthread_mutex_lock(&w->mu);
			w->writing = false;
			w->qlen--;
			recycle_locked(w, b);
			pthread_cond_broadcast(&w->space);
			pthread_cond_broadcast(&w->work); /* the next head may be encoded already */
			continue;
		}
		while (b && b->state != QUEUED)
			b = b->next;
		if (b) {
			b->state = ENCODING;
			pthread_mutex_unlock(&w->mu);
			b->enc_err = atomic_load(&w->err)
					     ? 0
					     : encode_batch(&k->zip, &b->out, b, b->seq);
			pthread_mutex_lock(&w->mu);
			b->state = ENCODED;
			continue;
		}
		if (!w->qhead && w->closing)
			break;
		pthread_cond_wait(&w->work, &w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static struct batch *new_batch(struct trace_writer *w, unsigned int type)
{
	struct batch *b = NULL;

	if (w->threaded)
		pthread_mutex_lock(&w->mu);
	if (w->spare) {
		b = w->spare;
		w->spare = b->next;
	}
	if (w->threaded)
		pthread_mutex_unlock(&w->mu);
	if (!b)
		b = calloc(1, sizeof(*b));
	if (b) {
		b->type = type;
		b->next = NULL;
	}
	return b;
}

/* Hand a filled batch to the writer; waits while the queue is full (never drops). */
static void submit(struct trace_writer *w, struct batch *b)
{
	if (!w->threaded) {
		put_batch(w, b);
		recycle(w, b);
		return;
	}
	pthread_mutex_lock(&w->mu);
	while (w->qlen >= QUEUE_MAX)
		pthread_cond_wait(&w->space, &w->mu);
	b->state = QUEUED;
	b->seq = w->next_seq++;
	if (w->qtail)
		w->qtail->next = b;
	else
		w->qhead = b;
	w->qtail = b;
	w->qlen++;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->mu);
}

struct trace_writer *trace_writer_fdopen(int fd, const struct trace_writer_opts *o)
{
	struct trace_writer *w = calloc(1, sizeof(*w));

	if (!w) {
		close(fd);
		return NULL;
	}
	w->fd = fd;
	if (o)
		w->o = *o;
	w->zip.level = w->o.level ? w->o.level : DEFAULT_LEVEL;
	w->batch_raw = BATCH_RAW;
	if (w->o.size_limit) {
		uint64_t reserve = w->o.size_limit / 8;

		if (reserve < 8192)
			reserve = 8192;
		w->hard_limit = w->o.size_limit - FOOTER_ROOM;
		w->soft_limit = w->hard_limit > reserve ? w->hard_limit - reserve : 0;
		w->batch_raw = w->o.size_limit / 16;
		if (w->batch_raw > TRACE_BATCH_RAW)
			w->batch_raw = TRACE_BATCH_RAW; /* synchronous: keep the steps small */
		if (w->batch_raw < 4096)
			w->batch_raw = 4096;
		w->o.sync = true;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->work, NULL);
	pthread_cond_init(&w->space, NULL);
	if (!w->o.sync) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		int nworkers = cpus > 1 ? MAX_WORKERS : 1;
		sigset_t all, old;

		/* Signals (SIGINT, SIGUSR1) are for the session's thread: it must wake up. */
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		for (int i = 0; i < nworkers; i++) {
			struct worker *k = &w->wk[i];

			k->w = w;
			k->zip.level = w->zip.level;
			k->started = !pthread_create(&k->th, NULL, writer_main, k);
			if (!k->started)
				break;
			w->threaded = true;
		}
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	return w;
}

int trace_writer_open(const char *path, const struct trace_writer_opts *o,
		      struct trace_writer **out)
{
	struct trace_writer *w;
	struct stat st;
	int fd, err;

	/* O_NONBLOCK: a FIFO must not hang the open; it is refused just below. */
	fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto bad;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto bad;
	}
	if (ftruncate(fd, 0) || fchmod(fd, 0600) || fcntl(fd, F_SETFL, 0)) {
		err = -errno;
		goto bad;
	}
	w = trace_writer_fdopen(fd, o);
	if (!w)
		return -ENOMEM;
	*out = w;
	return 0;
bad:
	close(fd);
	return err;
}

int trace_writer_header(struct trace_writer *w, const struct trace_meta *m)
{
	struct trace_preamble p = {.version = TRACE_FORMAT_VERSION};
	char *text = malloc(TRACE_MAX_HDR_TEXT);
	size_t len;
	int err;

	if (!text)
		return -ENOMEM;
	memcpy(p.magic, TRACE_MAGIC, TRACE_MAGIC_LEN);
	len = trace_meta_format(m, text, TRACE_MAX_HDR_TEXT);
	p.hdr_len = len;
	p.hdr_crc = crc32(0, (const Bytef *)text, len);
	err = write_all(w->fd, &p, sizeof(p));
	if (!err)
		err = write_all(w->fd, text, len);
	free(text);
	if (err) {
		fail(w, err);
		return err;
	}
	w->header_done = true;
	w->st.file_bytes += sizeof(p) + len;
	return 0;
}

int trace_writer_flush(struct trace_writer *w)
{
	if (w->cur && w->cur->raw.len)
		submit(w, w->cur);
	else if (w->cur)
		recycle(w, w->cur);
	w->cur = NULL;
	return atomic_load(&w->err);
}

int trace_writer_event(struct trace_writer *w, const union ps_event *e)
{
	struct batch *b;
	size_t size = e->h.size;

	if (size < sizeof(e->h) || size > sizeof(*e))
		return -EINVAL;
	if (!w->cur) {
		w->cur = new_batch(w, TRACE_BLK_EVENTS);
		if (!w->cur) {
			fail(w, -ENOMEM);
			return -ENOMEM;
		}
	}
	b = w->cur;
	if (tbuf_append(&b->raw, e, size)) {
		fail(w, -ENOMEM);
		return -ENOMEM;
	}
	if (!b->nr++)
		b->first_ts = e->h.ts_ns;
	if (e->h.ts_ns > b->last_ts)
		b->last_ts = e->h.ts_ns;
	if (e->h.ts_ns < b->first_ts)
		b->first_ts = e->h.ts_ns;
	if (e->h.type < PS_EV_TYPE_MAX)
		b->by_type[e->h.type]++;
	if (e->h.type == PS_EV_LOSS) {
		b->loss = e->loss;
		b->has_loss = true;
	}
	if (b->raw.len >= w->batch_raw)
		trace_writer_flush(w);
	return atomic_load(&w->err);
}

int trace_writer_block(struct trace_writer *w, unsigned int type, const void *raw, size_t len,
		       uint32_t nr_items)
{
	struct batch *b;

	trace_writer_flush(w);
	b = new_batch(w, type);
	if (!b || tbuf_append(&b->raw, raw, len)) {
		if (b)
			recycle(w, b);
		fail(w, -ENOMEM);
		return -ENOMEM;
	}
	b->nr = nr_items;
	submit(w, b);
	return atomic_load(&w->err);
}

int trace_writer_encoded(struct trace_writer *w, void *frame, size_t len, uint32_t nr,
			 const uint64_t *by_type, uint64_t first_ts, uint64_t last_ts)
{
	struct trace_blk b;
	int err;

	if (w->threaded || len < sizeof(b))
		return -EINVAL;
	trace_writer_flush(w);
	if (atomic_load(&w->err))
		return atomic_load(&w->err);
	memcpy(&b, frame, sizeof(b));
	if (w->hard_limit && w->st.file_bytes + len > w->hard_limit) {
		atomic_store(&w->full, 1);
		w->st.not_written += nr;
		return 0;
	}
	trace_block_reseq(frame, w->seq);
	err = write_all(w->fd, frame, len);
	if (err) {
		fail(w, err);
		w->st.not_written += nr;
		return err;
	}
	w->seq++;
	w->st.blocks++;
	w->st.file_bytes += len;
	w->st.raw_bytes += b.raw_len;
	w->st.events += nr;
	for (int t = 0; by_type && t < PS_EV_TYPE_MAX; t++)
		w->st.by_type[t] += by_type[t];
	if (nr && (!w->st.first_ts_ns || first_ts < w->st.first_ts_ns))
		w->st.first_ts_ns = first_ts;
	if (last_ts > w->st.last_ts_ns)
		w->st.last_ts_ns = last_ts;
	return 0;
}

bool trace_writer_full(struct trace_writer *w)
{
	return atomic_load(&w->full);
}

int trace_writer_error(struct trace_writer *w)
{
	return atomic_load(&w->err);
}

static size_t footer_text(struct trace_writer *w, const char *stop, char *buf, size_t size)
{
	const struct trace_writer_stats *s = &w->st;
	size_t off = 0;

#define PUT(...)                                                                                   \
	do {                                                                                       \
		if (off < size)                                                                    \
			off += snprintf(buf + off, size - off, __VA_ARGS__);                       \
	} while (0)
	PUT("stop=%s\n", stop ? stop : "end");
	PUT("events=%" PRIu64 "\n", s->events);
	PUT("blocks=%" PRIu64 "\n", s->blocks);
	PUT("symbols=%" PRIu64 "\n", s->symbols);
	PUT("raw_bytes=%" PRIu64 "\n", s->raw_bytes);
	PUT("not_written_events=%" PRIu64 "\n", s->not_written);
	PUT("first_ts_ns=%" PRIu64 "\n", s->first_ts_ns);
	PUT("last_ts_ns=%" PRIu64 "\n", s->last_ts_ns);
	for (int t = 1; t < PS_EV_TYPE_MAX; t++)
		if (s->by_type[t])
			PUT("events_%s=%" PRIu64 "\n", event_type_name(t), s->by_type[t]);
	if (w->has_loss) {
		for (int d = 0; d < PS_DROP_MAX; d++)
			PUT("loss_%s=%" PRIu64 "\n", drop_name(d), (uint64_t)w->loss.drops[d]);
		PUT("loss_malformed=%" PRIu64 "\n", (uint64_t)w->loss.malformed);
	}
#undef PUT
	return off < size ? off : size - 1;
}

int trace_writer_close(struct trace_writer *w, const char *stop, struct trace_writer_stats *st)
{
	char text[FOOTER_TEXT];
	size_t len;
	int err;

	if (!w->header_done) {
		struct trace_meta m;

		trace_meta_collect(&m);
		trace_writer_header(w, &m);
	}
	trace_writer_flush(w);
	if (w->threaded) {
		pthread_mutex_lock(&w->mu);
		w->closing = true;
		pthread_cond_broadcast(&w->work);
		pthread_mutex_unlock(&w->mu);
		for (int i = 0; i < MAX_WORKERS; i++) {
			if (w->wk[i].started)
				pthread_join(w->wk[i].th, NULL);
			zblock_free(&w->wk[i].zip);
		}
		w->threaded = false;
	}
	len = footer_text(w, stop, text, sizeof(text));
	w->out.len = 0;
	err = trace_block_store(&w->out, TRACE_BLK_FOOTER, w->seq, text, len);
	if (!err && !atomic_load(&w->err)) {
		err = write_all(w->fd, w->out.data, w->out.len);
		if (!err) {
			w->st.file_bytes += w->out.len;
			if (fdatasync(w->fd) && errno != EINVAL && errno != EROFS)
				err = -errno;
		}
		if (err)
			fail(w, err);
	}
	if (close(w->fd) && !atomic_load(&w->err))
		fail(w, -errno);
	err = atomic_load(&w->err);
	if (st)
		*st = w->st;
	while (w->spare) {
		struct batch *b = w->spare;

		w->spare = b->next;
		tbuf_free(&b->raw);
		tbuf_free(&b->out);
		free(b);
	}
	zblock_free(&w->zip);
	tbuf_free(&w->out);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->work);
	pthread_cond_destroy(&w->space);
	free(w);
	return err;
}
