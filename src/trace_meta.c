// SPDX-License-Identifier: BSD-2-Clause
#include "trace_meta.h"
#include "events.h"
#include "hooks.h"
#include "util.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

enum mkind { M_STR, M_U64, M_I64, M_UINT };

struct mfield {
	const char *key;
	enum mkind kind;
	size_t off, size;
};

#define MF(key, kind, member)                                                                      \
	{                                                                                          \
		key, kind, offsetof(struct trace_meta, member),                                    \
			sizeof(((struct trace_meta *)0)->member)                                   \
	}

/* One table drives writing and reading the header, so the two cannot disagree. */
static const struct mfield mfields[] = {
	MF("pinscope_version", M_STR, pinscope_version),
	MF("abi_version", M_UINT, abi_version),
	MF("kernel_release", M_STR, kernel_release),
	MF("kernel_build_id", M_STR, kernel_build_id),
	MF("btf_hash", M_STR, btf_hash),
	MF("btf_size", M_U64, btf_size),
	MF("hostname", M_STR, hostname),
	MF("boot_id", M_STR, boot_id),
	MF("clock", M_STR, clock),
	MF("mono_to_wall_ns", M_I64, mono_to_wall_ns),
	MF("filter_pid", M_U64, filter_pid),
	MF("filter_cgroup", M_U64, filter_cgroup),
	MF("interval_ns", M_U64, interval_ns),
	MF("tiers", M_STR, tiers),
};

static void copy_str(char *dst, size_t size, const char *src, size_t len)
{
	size_t n = len < size - 1 ? len : size - 1;

	for (size_t i = 0; i < n; i++)
		dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ? '?' : src[i];
	dst[n] = 0;
}

static void read_trimmed(const char *path, char *buf, size_t size)
{
	char tmp[256];
	long n = read_file(path, tmp, sizeof(tmp));

	buf[0] = 0;
	if (n <= 0)
		return;
	while (n > 0 && (tmp[n - 1] == '\n' || tmp[n - 1] == ' '))
		n--;
	copy_str(buf, size, tmp, n);
}

/* The GNU build-id note of the running kernel, from /sys/kernel/notes. */
static void kernel_build_id(char *out, size_t size)
{
	unsigned char notes[4096];
	int fd = open("/sys/kernel/notes", O_RDONLY | O_CLOEXEC);
	ssize_t n;
	size_t off = 0;

	out[0] = 0;
	if (fd < 0)
		return;
	n = read(fd, notes, sizeof(notes));
	close(fd);
	while (n > 0 && off + 12 <= (size_t)n) {
		uint32_t namesz, descsz, type;
		size_t name_off = off + 12, desc_off;

		memcpy(&namesz, notes + off, 4);
		memcpy(&descsz, notes + off + 4, 4);
		memcpy(&type, notes + off + 8, 4);
		desc_off = name_off + ((namesz + 3) & ~3u);
		if (namesz > 64 || descsz > 1024 || desc_off + descsz > (size_t)n)
			return;
		if (type == 3 && namesz == 4 && !memcmp(notes + name_off, "GNU", 4)) {
			size_t o = 0;

			for (uint32_t i = 0; i < descsz && o + 3 <= size; i++)
				o += snprintf(out + o, size - o, "%02x", notes[desc_off + i]);
			return;
		}
		off = desc_off + ((descsz + 3) & ~3u);
	}
}

static void btf_hash(struct trace_meta *m)
{
	unsigned char buf[65536];
	uint64_t h = FNV1A64_INIT, size = 0;
	int fd = open("/sys/kernel/btf/vmlinux", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		h = fnv1a64(h, buf, n);
		size += n;
	}
	close(fd);
	if (n < 0 || !size)
		return;
	snprintf(m->btf_hash, sizeof(m->btf_hash), "fnv1a64:%016" PRIx64, h);
	m->btf_size = size;
}

void trace_meta_collect(struct trace_meta *m)
{
	struct utsname u;
	uint64_t w0, mono, w1;

	memset(m, 0, sizeof(*m));
	snprintf(m->pinscope_version, sizeof(m->pinscope_version), "%s", PS_VERSION);
	m->abi_version = PS_ABI_VERSION;
	if (!uname(&u)) {
		copy_str(m->kernel_release, sizeof(m->kernel_release), u.release,
			 strlen(u.release));
		copy_str(m->hostname, sizeof(m->hostname), u.nodename, strlen(u.nodename));
	}
	kernel_build_id(m->kernel_build_id, sizeof(m->kernel_build_id));
	btf_hash(m);
	read_trimmed("/proc/sys/kernel/random/boot_id", m->boot_id, sizeof(m->boot_id));
	snprintf(m->clock, sizeof(m->clock), "monotonic");
	/* The wall clock read on both sides of the monotonic one: the midpoint is the offset. */
	w0 = now_wall_ns();
	mono = now_mono_ns();
	w1 = now_wall_ns();
	m->mono_to_wall_ns = (int64_t)(w0 / 2 + w1 / 2 - mono);
}

void trace_meta_set_tiers(struct trace_meta *m, const struct ps_choice *c, int n)
{
	size_t off = 0;

	m->tiers[0] = 0;
	for (int i = 0; i < n && off < sizeof(m->tiers); i++) {
		const char *t = choice_tier(&c[i]);

		off += snprintf(m->tiers + off, sizeof(m->tiers) - off, "%s%s=%s", off ? " " : "",
				c[i].hook->name, t);
	}
}

size_t trace_meta_format(const struct trace_meta *m, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = 0;
	for (size_t i = 0; i < ARRAY_SIZE(mfields) && off < size; i++) {
		const struct mfield *f = &mfields[i];
		const void *v = (const char *)m + f->off;
		int n = 0;

		switch (f->kind) {
		case M_STR:
			n = snprintf(buf + off, size - off, "%s=%s\n", f->key, (const char *)v);
			break;
		case M_U64:
			n = snprintf(buf + off, size - off, "%s=%" PRIu64 "\n", f->key,
				     *(const uint64_t *)v);
			break;
		case M_I64:
			n = snprintf(buf + off, size - off, "%s=%" PRId64 "\n", f->key,
				     *(const int64_t *)v);
			break;
		case M_UINT:
			n = snprintf(buf + off, size - off, "%s=%u\n", f->key,
				     *(const unsigned int *)v);
			break;
		}
		off += n;
	}
	return off < size ? off : size - 1;
}

static void set_field(struct trace_meta *m, const struct mfield *f, const char *v, size_t len)
{
	void *dst = (char *)m + f->off;
	char num[32];

	if (f->kind == M_STR) {
		copy_str(dst, f->size, v, len);
		return;
	}
	copy_str(num, sizeof(num), v, len);
	switch (f->kind) {
	case M_U64:
		*(uint64_t *)dst = strtoull(num, NULL, 10);
		break;
	case M_I64:
		*(int64_t *)dst = strtoll(num, NULL, 10);
		break;
	case M_UINT:
		*(unsigned int *)dst = strtoul(num, NULL, 10);
		break;
	default:
		break;
	}
}

void trace_meta_parse(struct trace_meta *m, const char *text, size_t len)
{
	const char *p = text, *end = text + len;

	memset(m, 0, sizeof(*m));
	while (p < end) {
		const char *nl = memchr(p, '\n', end - p), *eq;

		if (!nl)
			nl = end;
		eq = memchr(p, '=', nl - p);
		for (size_t i = 0; eq && i < ARRAY_SIZE(mfields); i++) {
			size_t klen = strlen(mfields[i].key);

			if ((size_t)(eq - p) == klen && !memcmp(p, mfields[i].key, klen)) {
				set_field(m, &mfields[i], eq + 1, nl - eq - 1);
				break;
			}
		}
		p = nl + 1;
	}
}
