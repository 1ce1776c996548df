// SPDX-License-Identifier: BSD-2-Clause
#include "loader.h"
#include "kfeat.h"
#include "log.h"
#include "util.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pins_sys.skel.h"
#include "pins_fn.skel.h"
#include "tlb.skel.h"
#include "gmem_sys.skel.h"
#include "gmem_fn.skel.h"
#include "pageref.skel.h"

/* Every BPF object this binary carries. Adding a concern adds one line here. */
static const struct {
	const char *name;
	const void *(*elf)(size_t *sz);
} objs[] = {
	{"pins_sys", pins_sys_bpf__elf_bytes}, {"pins_fn", pins_fn_bpf__elf_bytes},
	{"tlb", tlb_bpf__elf_bytes},	       {"gmem_sys", gmem_sys_bpf__elf_bytes},
	{"gmem_fn", gmem_fn_bpf__elf_bytes},   {"pageref", pageref_bpf__elf_bytes},
};

/* Maps that several objects declare and that must be one map: the first loaded object's copy
 * is reused by the others. */
static const char *const shared_maps[] = {"pins_holders"};

#define MAX_LINKS 64

struct loader {
	struct bpf_object *obj[ARRAY_SIZE(objs)];
	bool loaded[ARRAY_SIZE(objs)];
	struct bpf_link *links[MAX_LINKS];
	const char *link_prog[MAX_LINKS]; /* the program of each link */
	int nlinks;
	pthread_mutex_t mu;		     /* links: the KVM gate's thread attaches too */
	struct bpf_program *held[MAX_LINKS]; /* loaded, not attached yet */
	int nheld;
	int rb_fd, drops_fd;
	uint64_t rb_bytes;
};

static struct loader *the_loader; /* for loader_has_prog, a plain callback */

struct loader *loader_open(void)
{
	struct loader *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->rb_fd = l->drops_fd = -1;
	l->rb_bytes = PS_RING_DEFAULT;
	pthread_mutex_init(&l->mu, NULL);
	for (size_t i = 0; i < ARRAY_SIZE(objs); i++) {
		LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = objs[i].name);
		size_t sz;
		const void *elf = objs[i].elf(&sz);

		l->obj[i] = bpf_object__open_mem(elf, sz, &opts);
		if (!l->obj[i]) {
			int err = errno;

			ps_err("opening BPF object %s: %s", objs[i].name, strerror(err));
			loader_free(l);
			errno = err;
			return NULL;
		}
	}
	the_loader = l;
	return l;
}

bool loader_has_prog(const char *name)
{
	if (!the_loader)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(objs); i++)
		if (bpf_object__find_program_by_name(the_loader->obj[i], name))
			return true;
	return false;
}

/* The internal map holding section `sec` (".rodata", ".bss") and the offset of `var` in it. */
static struct bpf_map *global_var_map(struct bpf_object *obj, const char *sec, const char *var,
				      size_t size, size_t *off)
{
	const struct btf_var_secinfo *vs = kfeat_datasec_var(bpf_object__btf(obj), sec, var);
	struct bpf_map *map;

	if (!vs)
		return NULL;
	bpf_object__for_each_map (map, obj) {
		const char *n = bpf_map__name(map);
		size_t ln = strlen(n), ls = strlen(sec);

		if (bpf_map__is_internal(map) && ln >= ls && !strcmp(n + ln - ls, sec))
			break;
	}
	if (!map || vs->size != size || vs->offset + size > bpf_map__value_size(map))
		return NULL;
	*off = vs->offset;
	return map;
}

/* Before load: the address of a global in the object's initial data. */
static void *global_var(struct bpf_object *obj, const char *sec, const char *var, size_t size)
{
	size_t off, sz;
	struct bpf_map *map = global_var_map(obj, sec, var, size, &off);
	/* libbpf 1.1 returns const; before load it is the object's own writable copy. */
	char *data = map ? (char *)bpf_map__initial_value(map, &sz) : NULL;

	return data && off + size <= sz ? data + off : NULL;
}

/* After load: write a global in the kernel's copy (the generic API does not mmap it). */
static int set_global(struct bpf_object *obj, const char *sec, const char *var, const void *val,
		      size_t size)
{
	size_t off;
	struct bpf_map *map = global_var_map(obj, sec, var, size, &off);
	__u32 key = 0;
	char *buf;
	int err;

	if (!map)
		return -ENOENT;
	buf = calloc(1, bpf_map__value_size(map));
	if (!buf)
		return -ENOMEM;
	err = bpf_map_lookup_elem(bpf_map__fd(map), &key, buf);
	if (!err) {
		memcpy(buf + off, val, size);
		err = bpf_map_update_elem(bpf_map__fd(map), &key, buf, BPF_ANY);
	}
	free(buf);
	return err ? -errno : 0;
}

void loader_ring_size(struct loader *l, uint64_t bytes)
{
	if (bytes)
		l->rb_bytes = bytes;
}

static int create_shared(struct loader *l)
{
	l->rb_fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "events", 0, 0, l->rb_bytes, NULL);
	if (l->rb_fd < 0)
		return -errno;
	l->drops_fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "drops", sizeof(__u32),
				     sizeof(__u64), PS_DROP_MAX, NULL);
	if (l->drops_fd < 0)
		return -errno;
	return 0;
}

/* The kernel function a fentry/fexit/kprobe program attaches to (its section's suffix), or
 * NULL for other programs. */
static const char *prog_target(const struct bpf_program *p)
{
	static const char *const kinds[] = {"fentry/", "fexit/", "kprobe/", "kretprobe/"};
	const char *sec = bpf_program__section_name(p);

	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (!strncmp(sec, kinds[i], strlen(kinds[i])))
			return sec + strlen(kinds[i]);
	return NULL;
}

/* The kernel's id of a loaded program (fdinfo and bpf_stats name programs by it), 0 if unknown. */
static __u32 prog_id(const struct bpf_program *p)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len) ? 0 : info.id;
}

static int reuse_shared(struct loader *l, size_t i)
{
	for (size_t s = 0; s < ARRAY_SIZE(shared_maps); s++) {
		struct bpf_map *m = bpf_object__find_map_by_name(l->obj[i], shared_maps[s]);

		for (size_t j = 0; m && j < i; j++) {
			struct bpf_map *prev;
			int err;

			if (!l->loaded[j])
				continue;
			prev = bpf_object__find_map_by_name(l->obj[j], shared_maps[s]);
			if (!prev)
				continue;
			err = bpf_map__reuse_fd(m, bpf_map__fd(prev));
			if (err)
				return err;
			break;
		}
	}
	return 0;
}

/* Attach a loaded program and keep its link (the caller holds mu or is alone). 0 or -errno. */
static int attach(struct loader *l, struct bpf_program *p)
{
	struct bpf_link *link = bpf_program__attach(p);

	if (!link)
		return -errno;
	l->link_prog[l->nlinks] = bpf_program__name(p);
	l->links[l->nlinks++] = link;
	ps_info(1, "attached %s (%s) id %u", bpf_program__name(p), bpf_program__section_name(p),
		prog_id(p));
	return 0;
}

static int load_one(struct loader *l, size_t i, const struct ps_cfg *cfg, const struct ps_choice *c,
		    int n, char *what, int what_len)
{
	struct bpf_object *obj = l->obj[i];
	struct bpf_program *p;
	struct bpf_map *m;
	struct ps_cfg *ro;
	__u32 *by_fn;
	int wanted = 0, err;

	bpf_object__for_each_program (p, obj) {
		bool want = hooks_prog_wanted(c, n, bpf_program__name(p)) &&
			    !hooks_target_skipped(c, n, prog_target(p));

		bpf_program__set_autoload(p, want);
		wanted += want;
	}
	if (!wanted)
		return 0;
	ro = global_var(obj, ".rodata", "cfg", sizeof(*ro));
	if (!ro) {
		snprintf(what, what_len, "%s: no cfg in .rodata", objs[i].name);
		return -ENOENT;
	}
	*ro = *cfg;
	/* gmem_sys leaves the VM's conversion requests to gmem_fn where that tier was chosen. */
	by_fn = global_var(obj, ".rodata", "gmem_conv_by_fn", sizeof(*by_fn));
	if (by_fn)
		*by_fn = hooks_prog_wanted(c, n, "gmem_conv_fentry");
	m = bpf_object__find_map_by_name(obj, "events");
	if (m && (err = bpf_map__reuse_fd(m, l->rb_fd)))
		goto fail;
	m = bpf_object__find_map_by_name(obj, "drops");
	if (m && (err = bpf_map__reuse_fd(m, l->drops_fd)))
		goto fail;
	err = reuse_shared(l, i);
	if (err)
		goto fail;
	err = bpf_object__load(obj);
	if (err)
		goto fail;
	l->loaded[i] = true;
	bpf_object__for_each_program (p, obj) {
		if (!bpf_program__autoload(p))
			continue;
		if (l->nlinks + l->nheld >= MAX_LINKS) {
			snprintf(what, what_len, "too many programs");
			return -E2BIG;
		}
		/* src/kvm_gate.h: these wait until KVM is used (loader_attach_held). */
		if (hooks_prog_waits_for_kvm(c, n, bpf_program__name(p))) {
			l->held[l->nheld++] = p;
			ps_info(1, "holding %s (%s) back until KVM is used", bpf_program__name(p),
				bpf_program__section_name(p));
			continue;
		}
		err = attach(l, p);
		if (err) {
			snprintf(what, what_len, "attaching %s", bpf_program__name(p));
			return err;
		}
	}
	return 0;
fail:
	snprintf(what, what_len, "loading BPF object %s", objs[i].name);
	return err < 0 ? err : -err;
}

int loader_load(struct loader *l, const struct ps_cfg *cfg, const struct ps_choice *c, int n,
		char *what, int what_len)
{
	const char *fault = getenv("PINSCOPE_FAULT");
	int err;

	/* Tests: as if the verifier refused the programs that use bpf_rdonly_cast. */
	if (fault && !strcmp(fault, "cast-load") && hooks_need_kfuncs(c, n)) {
		snprintf(what, what_len, "loading BPF programs (PINSCOPE_FAULT=cast-load)");
		return -EACCES;
	}
	err = create_shared(l);
	if (err) {
		snprintf(what, what_len, "creating the ring buffer");
		return err;
	}
	for (size_t i = 0; i < ARRAY_SIZE(objs); i++) {
		err = load_one(l, i, cfg, c, n, what, what_len);
		if (err)
			return err;
	}
	return 0;
}

void loader_ready(struct loader *l)
{
	for (size_t i = 0; i < ARRAY_SIZE(objs); i++) {
		bool ready = true;
		int err;

		if (!l->loaded[i])
			continue;
		err = set_global(l->obj[i], ".bss", "ready", &ready, sizeof(ready));
		if (err)
			ps_warn("%s: setting 'ready': %s: it records nothing", objs[i].name,
				strerror(-err));
	}
}

int loader_ringbuf_fd(const struct loader *l)
{
	return l->rb_fd;
}

int loader_map_fd(const struct loader *l, const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(objs); i++) {
		struct bpf_map *m;

		if (!l->loaded[i])
			continue;
		m = bpf_object__find_map_by_name(l->obj[i], name);
		if (m)
			return bpf_map__fd(m);
	}
	return -ENOENT;
}

void loader_drops(const struct loader *l, __u64 out[PS_DROP_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;

	memset(out, 0, sizeof(__u64) * PS_DROP_MAX);
	if (ncpu <= 0 || l->drops_fd < 0)
		return;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return;
	for (__u32 k = 0; k < PS_DROP_MAX; k++) {
		if (bpf_map_lookup_elem(l->drops_fd, &k, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[k] += vals[c];
	}
	free(vals);
}

int loader_nr_held(const struct loader *l)
{
	return l->nheld;
}

int loader_attach_held(struct loader *l)
{
	int n = 0, err = 0;

	pthread_mutex_lock(&l->mu);
	for (int i = 0; i < l->nheld; i++) {
		int e = attach(l, l->held[i]);

		if (e) {
			err = e;
			ps_warn("attaching %s: %s", bpf_program__name(l->held[i]), strerror(-e));
			continue;
		}
		n++;
	}
	l->nheld = 0;
	pthread_mutex_unlock(&l->mu);
	return err && !n ? err : n;
}

void loader_detach(struct loader *l, const char *prog)
{
	pthread_mutex_lock(&l->mu);
	for (int i = 0; i < l->nlinks; i++) {
		if (!l->links[i] || strcmp(l->link_prog[i], prog))
			continue;
		bpf_link__destroy(l->links[i]);
		l->links[i] = NULL;
		ps_info(1, "detached %s", prog);
	}
	pthread_mutex_unlock(&l->mu);
}

int loader_nr_attached(struct loader *l)
{
	int n = 0;

	pthread_mutex_lock(&l->mu);
	for (int i = 0; i < l->nlinks; i++)
		n += l->links[i] != NULL;
	pthread_mutex_unlock(&l->mu);
	return n;
}

void loader_free(struct loader *l)
{
	if (!l)
		return;
	for (int i = l->nlinks - 1; i >= 0; i--)
		bpf_link__destroy(l->links[i]);
	for (size_t i = 0; i < ARRAY_SIZE(objs); i++)
		bpf_object__close(l->obj[i]);
	if (l->rb_fd >= 0)
		close(l->rb_fd);
	if (l->drops_fd >= 0)
		close(l->drops_fd);
	if (the_loader == l)
		the_loader = NULL;
	pthread_mutex_destroy(&l->mu);
	free(l);
}
