// SPDX-License-Identifier: BSD-2-Clause
#include "kfeat.h"
#include "util.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <zlib.h>

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

#define MAX_CACHE 256

struct trial {
	char kind;
	char name[96];
	int err;
};

static struct trial cache[MAX_CACHE];
static int ncache;

static int *cached(char kind, const char *name)
{
	for (int i = 0; i < ncache; i++)
		if (cache[i].kind == kind && !strcmp(cache[i].name, name))
			return &cache[i].err;
	return NULL;
}

static int remember(char kind, const char *name, int err)
{
	if (ncache < MAX_CACHE) {
		cache[ncache].kind = kind;
		snprintf(cache[ncache].name, sizeof(cache[ncache].name), "%s", name);
		cache[ncache].err = err;
		ncache++;
	}
	return err;
}

static void probe_caps(struct ps_kfeat *k)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {};

	if (syscall(SYS_capget, &hdr, data))
		return;
	k->cap_sys_admin = data[CAP_SYS_ADMIN / 32].effective & (1u << (CAP_SYS_ADMIN % 32));
	k->cap_perfmon = data[CAP_PERFMON / 32].effective & (1u << (CAP_PERFMON % 32));
	k->cap_bpf = data[CAP_BPF / 32].effective & (1u << (CAP_BPF % 32));
	k->privileged = k->cap_sys_admin || (k->cap_bpf && k->cap_perfmon);
}

static void probe_tracefs(struct ps_kfeat *k)
{
	static const char *const paths[] = {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"};
	char p[128];

	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		snprintf(p, sizeof(p), "%s/events", paths[i]);
		if (!access(p, F_OK)) {
			k->tracefs = paths[i];
			return;
		}
	}
	if (!k->privileged) {
		k->tracefs_errno = EPERM;
		return;
	}
	if (mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL)) {
		k->tracefs_errno = errno;
		return;
	}
	k->tracefs = "/sys/kernel/tracing";
	k->tracefs_mounted = true;
}

static const struct bpf_insn ret0[] = {
	{.code = 0xb7, .dst_reg = 0, .imm = 0}, /* r0 = 0 */
	{.code = 0x95},				/* exit */
};

static int prog_load(enum bpf_prog_type type, struct bpf_prog_load_opts *opts)
{
	int fd = bpf_prog_load(type, NULL, "GPL", ret0, ARRAY_SIZE(ret0), opts);

	return fd < 0 ? -errno : fd;
}

static int func_nr_args(const struct btf *b, int func_id)
{
	const struct btf_type *f = btf__type_by_id(b, func_id);
	const struct btf_type *proto = f ? btf__type_by_id(b, f->type) : NULL;

	return proto && btf_is_func_proto(proto) ? btf_vlen(proto) : -1;
}

static int trial_fentry(struct ps_kfeat *k, const char *func)
{
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_FENTRY);
	int id, fd, link;

	if (!k->vmlinux_btf)
		return -ENOENT;
	id = btf__find_by_name_kind(k->vmlinux_btf, func, BTF_KIND_FUNC);
	if (id < 0)
		return -ENOENT;
	opts.attach_btf_id = id;
	fd = prog_load(BPF_PROG_TYPE_TRACING, &opts);
	if (fd < 0)
		return fd;
	link = bpf_link_create(fd, 0, BPF_TRACE_FENTRY, NULL);
	if (link < 0) {
		int err = -errno;

		close(fd);
		/* ENOTSUPP also comes from a trampoline that cannot take the function's
		 * arguments: x86 before 6.6 passes at most 6 (pin_user_pages_remote has 7 on
		 * 6.1). Say which. */
		if (err == -524 && func_nr_args(k->vmlinux_btf, id) > 6)
			err = -E2BIG;
		return err;
	}
	close(link);
	close(fd);
	return 0;
}

static int tp_id(struct ps_kfeat *k, const char *cat_name)
{
	char path[256], buf[32];

	if (!k->tracefs)
		return -ENOENT;
	snprintf(path, sizeof(path), "%s/events/%s/id", k->tracefs, cat_name);
	if (read_file(path, buf, sizeof(buf)) < 0)
		return -ENOENT;
	return atoi(buf);
}

static int perf_open(struct perf_event_attr *attr)
{
	int fd = syscall(SYS_perf_event_open, attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static int trial_tracepoint(struct ps_kfeat *k, const char *cat_name)
{
	struct perf_event_attr attr = {.type = PERF_TYPE_TRACEPOINT, .size = sizeof(attr)};
	int id = tp_id(k, cat_name), prog, pfd, err = 0;

	if (id < 0)
		return id;
	prog = prog_load(BPF_PROG_TYPE_TRACEPOINT, NULL);
	if (prog < 0)
		return prog;
	attr.config = id;
	attr.sample_period = 1;
	attr.wakeup_events = 1;
	pfd = perf_open(&attr);
	if (pfd < 0) {
		close(prog);
		return pfd;
	}
	if (ioctl(pfd, PERF_EVENT_IOC_SET_BPF, prog))
		err = -errno;
	close(pfd);
	close(prog);
	return err;
}

static int kprobe_pmu_type(void)
{
	char buf[32];

	if (read_file("/sys/bus/event_source/devices/kprobe/type", buf, sizeof(buf)) < 0)
		return -ENOENT;
	return atoi(buf);
}

static int trial_kprobe(const char *func)
{
	struct perf_event_attr attr = {.size = sizeof(attr)};
	int type = kprobe_pmu_type(), fd;

	if (type < 0)
		return -EOPNOTSUPP;
	attr.type = type;
	attr.config1 = (uint64_t)(uintptr_t)func;
	fd = perf_open(&attr);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

static int trial_rawtp(void)
{
	int prog = prog_load(BPF_PROG_TYPE_RAW_TRACEPOINT, NULL), fd, err = 0;

	if (prog < 0)
		return prog;
	fd = bpf_raw_tracepoint_open("sched_switch", prog);
	if (fd < 0)
		err = -errno;
	else
		close(fd);
	close(prog);
	return err;
}

static int trial_ringbuf(void)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, NULL, 0, 0, 4096, NULL);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

int kfeat_probe(struct ps_kfeat *k)
{
	struct utsname u;

	memset(k, 0, sizeof(*k));
	if (!uname(&u))
		snprintf(k->release, sizeof(k->release), "%s", u.release);
	probe_caps(k);
	k->vmlinux_btf = btf__load_vmlinux_btf();
	if (!k->vmlinux_btf) {
		k->btf_errno = errno ? errno : ENOENT;
	} else {
		k->btf = true;
	}
	probe_tracefs(k);
	k->kprobe_pmu = kprobe_pmu_type() >= 0;
	if (!k->privileged) {
		k->fentry_errno = k->rawtp_errno = k->tp_errno = k->ringbuf_errno = -EPERM;
		return 0;
	}
	k->ringbuf_errno = trial_ringbuf();
	k->rawtp_errno = trial_rawtp();
	k->tp_errno = trial_tracepoint(k, "sched/sched_process_exit");
	/* schedule() exists on every kernel with an ftrace site: a refusal here is the tier's. */
	k->fentry_errno = trial_fentry(k, "do_nanosleep");
	return 0;
}

void kfeat_free(struct ps_kfeat *k)
{
	btf__free(k->vmlinux_btf);
	k->vmlinux_btf = NULL;
	if (k->tracefs_mounted)
		umount("/sys/kernel/tracing");
}

bool kfeat_has_func(struct ps_kfeat *k, const char *func)
{
	return k->vmlinux_btf && btf__find_by_name_kind(k->vmlinux_btf, func, BTF_KIND_FUNC) > 0;
}

int kfeat_enum_value(struct ps_kfeat *k, const char *name, int64_t *val)
{
	const struct btf *b = k->vmlinux_btf;
	int n = b ? (int)btf__type_cnt(b) : 0;

	for (int id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(b, id);

		if (btf_is_enum(t)) {
			const struct btf_enum *e = btf_enum(t);

			for (int i = 0; i < btf_vlen(t); i++, e++)
				if (!strcmp(btf__name_by_offset(b, e->name_off), name)) {
					*val = e->val;
					return 0;
				}
		} else if (btf_is_enum64(t)) {
			const struct btf_enum64 *e = btf_enum64(t);

			for (int i = 0; i < btf_vlen(t); i++, e++)
				if (!strcmp(btf__name_by_offset(b, e->name_off), name)) {
					*val = (int64_t)btf_enum64_value(e);
					return 0;
				}
		}
	}
	return -ENOENT;
}

uint32_t kfeat_foll_longterm(struct ps_kfeat *k)
{
	int64_t v;

	if (!k->vmlinux_btf)
		return 0;
	if (!kfeat_enum_value(k, "FOLL_LONGTERM", &v))
		return (uint32_t)v;
	/* include/linux/mm.h of 6.1: #define FOLL_LONGTERM 0x10000 (not in BTF) */
	return 0x10000;
}

const struct btf_var_secinfo *kfeat_datasec_var(const struct btf *b, const char *sec,
						const char *var)
{
	int id = b ? btf__find_by_name_kind(b, sec, BTF_KIND_DATASEC) : -ENOENT;
	const struct btf_type *t;
	const struct btf_var_secinfo *vs;

	if (id < 0)
		return NULL;
	t = btf__type_by_id(b, id);
	vs = btf_var_secinfos(t);
	for (int i = 0; i < btf_vlen(t); i++, vs++) {
		const struct btf_type *v = btf__type_by_id(b, vs->type);

		if (v && !strcmp(btf__name_by_offset(b, v->name_off), var))
			return vs;
	}
	return NULL;
}

int64_t kfeat_fti_from_rq(struct ps_kfeat *k)
{
	const struct btf_var_secinfo *fti =
		kfeat_datasec_var(k->vmlinux_btf, ".data..percpu", "flush_tlb_info");
	const struct btf_var_secinfo *rq =
		kfeat_datasec_var(k->vmlinux_btf, ".data..percpu", "runqueues");

	return fti && rq ? (int64_t)fti->offset - (int64_t)rq->offset : 0;
}

int kfeat_try_fentry(struct ps_kfeat *k, const char *func)
{
	int *c = cached('f', func);

	if (c)
		return *c;
	if (!kfeat_has_func(k, func))
		return remember('f', func, -ENOENT);
	if (!k->privileged)
		return -EPERM;
	if (k->fentry_errno && k->fentry_errno != -ENOENT)
		return remember('f', func, k->fentry_errno);
	return remember('f', func, trial_fentry(k, func));
}

int kfeat_try_kprobe(struct ps_kfeat *k, const char *func)
{
	int *c = cached('k', func);

	if (c)
		return *c;
	if (!k->kprobe_pmu)
		return remember('k', func, -EOPNOTSUPP);
	if (!k->privileged)
		return -EPERM;
	return remember('k', func, trial_kprobe(func));
}

int kfeat_try_tracepoint(struct ps_kfeat *k, const char *cat_name)
{
	int *c = cached('t', cat_name);

	if (c)
		return *c;
	if (tp_id(k, cat_name) < 0)
		return remember('t', cat_name, -ENOENT);
	if (!k->privileged)
		return -EPERM;
	if (k->tp_errno)
		return remember('t', cat_name, k->tp_errno);
	return remember('t', cat_name, trial_tracepoint(k, cat_name));
}

/*
 * /proc/kallsyms' text symbols, read once for every lookup until kfeat_drop_ksyms(), as (name
 * hash, address) pairs sorted by hash: ~2 MB for 120,000 symbols where the file's text is 8 MB,
 * and held while vmlinux BTF is (the start-up's peak). A 64-bit hash makes a wrong match between
 * the few names looked up and the file's a 1-in-10^12 event.
 */
struct ksym {
	uint64_t hash, addr;
};

static struct ksym *syms;
static size_t nsyms;

void kfeat_drop_ksyms(void)
{
	free(syms);
	syms = NULL;
	nsyms = 0;
}

void kfeat_drop_btf(struct ps_kfeat *k)
{
	btf__free(k->vmlinux_btf);
	k->vmlinux_btf = NULL;
}

static int ksym_cmp(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Lines are "addr type name[\t[module]]"; only text (t, T) is kept. */
static int read_ksyms(void)
{
	FILE *f = fopen("/proc/kallsyms", "re");
	char line[1024], vbuf[1 << 16];
	size_t cap = 0;

	if (!f)
		return -errno;
	setvbuf(f, vbuf, _IOFBF, sizeof(vbuf));
	while (fgets(line, sizeof(line), f)) {
		char *type, *name;
		size_t n;

		type = strchr(line, ' ');
		if (!type || (type[1] != 't' && type[1] != 'T') || type[2] != ' ')
			continue;
		name = type + 3;
		n = strcspn(name, "\t\n");
		if (nsyms == cap) {
			struct ksym *m = realloc(syms, (cap ? cap * 2 : 65536) * sizeof(*m));

			if (!m) {
				fclose(f);
				kfeat_drop_ksyms();
				return -ENOMEM;
			}
			syms = m;
			cap = cap ? cap * 2 : 65536;
		}
		syms[nsyms].hash = fnv1a64(FNV1A64_INIT, name, n);
		syms[nsyms].addr = strtoull(line, NULL, 16);
		nsyms++;
	}
	fclose(f);
	qsort(syms, nsyms, sizeof(*syms), ksym_cmp);
	return 0;
}

/* Of names defined more than once (static functions), the lowest address: the core kernel's,
 * which kallsyms lists first, before any module's. */
uint64_t kfeat_ksym(const char *name)
{
	uint64_t h = fnv1a64(FNV1A64_INIT, name, strlen(name));
	size_t lo = 0, hi;

	if (!syms && read_ksyms())
		return 0;
	hi = nsyms;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (syms[mid].hash < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < nsyms && syms[lo].hash == h ? syms[lo].addr : 0;
}

/* CONFIG_HZ=N in a kernel config text, or 0. */
static unsigned int hz_of_config(const char *line)
{
	unsigned long v;
	char *end;

	if (strncmp(line, "CONFIG_HZ=", 10))
		return 0;
	v = strtoul(line + 10, &end, 10);
	return (*end == '\n' || !*end) && v >= 24 && v <= 10000 ? (unsigned int)v : 0;
}

unsigned int kfeat_config_hz(const char *release)
{
	char path[256];

	snprintf(path, sizeof(path), "/boot/config-%s", release);
	return kfeat_config_hz_from(path, "/proc/config.gz");
}

/* CONFIG_HZ in the config at path, plain or gzipped (zlib reads plain text as it is), or 0. */
static unsigned int hz_in(const char *path)
{
	unsigned int hz = 0;
	char line[256];
	gzFile gz = gzopen(path, "rb");

	if (!gz)
		return 0;
	while (!hz && gzgets(gz, line, sizeof(line)))
		hz = hz_of_config(line);
	gzclose(gz);
	return hz;
}

unsigned int kfeat_config_hz_from(const char *path, const char *gz_path)
{
	unsigned int hz = hz_in(path);

	return hz ? hz : hz_in(gz_path);
}

const char *kfeat_why(int err, char *buf, int size, const char *tier)
{
	err = err < 0 ? -err : err;
	if (!err)
		snprintf(buf, size, "ok");
	else if (err == ENOENT)
		snprintf(buf, size, "not in this kernel");
	else if (err == EOPNOTSUPP && !strcmp(tier, "kprobe"))
		snprintf(buf, size, "no kprobe PMU (CONFIG_KPROBES off)");
	else if (err == E2BIG && !strcmp(tier, "fentry"))
		snprintf(buf, size,
			 "attach refused: more than 6 arguments, more than this kernel's BPF "
			 "trampolines take");
	else if (err == 524) /* ENOTSUPP, kernel-internal */
		snprintf(buf, size,
			 "attach refused: ENOTSUPP (no ftrace site: inlined or notrace)");
	else if (err == EPERM && !strcmp(tier, "fentry"))
		snprintf(buf, size, "load refused: EPERM (this kernel forbids fentry/fexit)");
	else
		snprintf(buf, size, "refused: %s", strerror(err));
	return buf;
}
