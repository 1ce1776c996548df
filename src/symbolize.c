// SPDX-License-Identifier: BSD-2-Clause
#include "symbolize.h"
#include "symtab.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdbool.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_PROCS    32	       /* processes whose maps are cached */
#define MAX_MAPS     4096      /* mappings kept per process */
#define MAX_FILES    32	       /* ELF files whose symbols are cached */
#define MAX_SYMS     (1 << 20) /* symbols kept per file */
#define MAX_SEGS     16
#define MAX_PATH_LEN 256

struct map {
	uint64_t start, end, off, ino;
	uint32_t dev;
	uint16_t path_off; /* into proc.paths */
};

struct proc {
	uint32_t pid;
	int nr;
	struct map *maps;
	char *paths;
	size_t paths_len;
};

struct sym {
	uint64_t addr, size;
	uint32_t name; /* into file.strs */
};

struct seg {
	uint64_t off, vaddr, filesz;
};

struct file {
	uint64_t ino;
	uint32_t dev;
	bool used;
	int nr_segs;
	struct seg segs[MAX_SEGS];
	size_t nr_syms;
	struct sym *syms;
	char *strs;
};

struct ksym {
	uint64_t addr;
	char *name;
};

struct symbolizer {
	struct proc procs[MAX_PROCS];
	unsigned int next_proc;
	struct file files[MAX_FILES];
	unsigned int next_file;
	struct ksym *ksyms;
	size_t nr_ksyms;
	bool ksyms_tried;
};

struct symbolizer *symbolizer_new(void)
{
	elf_version(EV_CURRENT);
	return calloc(1, sizeof(struct symbolizer));
}

static void proc_clear(struct proc *p)
{
	free(p->maps);
	free(p->paths);
	memset(p, 0, sizeof(*p));
}

static void file_clear(struct file *f)
{
	free(f->syms);
	free(f->strs);
	memset(f, 0, sizeof(*f));
}

void symbolizer_free(struct symbolizer *sz)
{
	if (!sz)
		return;
	for (int i = 0; i < MAX_PROCS; i++)
		proc_clear(&sz->procs[i]);
	for (int i = 0; i < MAX_FILES; i++)
		file_clear(&sz->files[i]);
	for (size_t i = 0; i < sz->nr_ksyms; i++)
		free(sz->ksyms[i].name);
	free(sz->ksyms);
	free(sz);
}

/* ---- /proc/PID/maps ------------------------------------------------------------------------ */

static int load_maps(struct proc *p, uint32_t pid)
{
	char path[64], line[512 + MAX_PATH_LEN];
	FILE *f;

	proc_clear(p);
	snprintf(path, sizeof(path), "/proc/%u/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	p->pid = pid;
	p->maps = calloc(MAX_MAPS, sizeof(*p->maps));
	p->paths = malloc(1);
	if (!p->maps || !p->paths) {
		fclose(f);
		proc_clear(p);
		return -ENOMEM;
	}
	p->paths[0] = 0;
	p->paths_len = 1;
	while (p->nr < MAX_MAPS && fgets(line, sizeof(line), f)) {
		unsigned long long start, end, off, ino;
		unsigned int maj, min;
		char perms[8];
		int pos = 0;
		struct map *m;
		char *name, *np;
		size_t len;

		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms, &off,
			   &maj, &min, &ino, &pos) < 7 ||
		    perms[2] != 'x' || !ino)
			continue;
		name = line + pos;
		len = strcspn(name, "\n");
		if (len >= MAX_PATH_LEN || p->paths_len + len + 1 > UINT16_MAX)
			continue;
		np = realloc(p->paths, p->paths_len + len + 1);
		if (!np)
			break;
		p->paths = np;
		m = &p->maps[p->nr++];
		m->start = start;
		m->end = end;
		m->off = off;
		m->ino = ino;
		m->dev = maj << 20 | min;
		m->path_off = p->paths_len;
		memcpy(p->paths + p->paths_len, name, len);
		p->paths[p->paths_len + len] = 0;
		p->paths_len += len + 1;
	}
	fclose(f);
	return 0;
}

static const struct map *find_map(const struct proc *p, uint64_t addr)
{
	for (int i = 0; i < p->nr; i++)
		if (addr >= p->maps[i].start && addr < p->maps[i].end)
			return &p->maps[i];
	return NULL;
}

/* The mapping of addr in pid, reading the maps again once when the cached copy misses. */
static const struct map *lookup_map(struct symbolizer *sz, uint32_t pid, uint64_t addr,
				    const struct proc **pp)
{
	struct proc *p = NULL;
	const struct map *m;

	for (int i = 0; i < MAX_PROCS; i++)
		if (sz->procs[i].pid == pid)
			p = &sz->procs[i];
	if (p && (m = find_map(p, addr))) {
		*pp = p;
		return m;
	}
	if (!p) {
		p = &sz->procs[sz->next_proc];
		sz->next_proc = (sz->next_proc + 1) % MAX_PROCS;
	}
	if (load_maps(p, pid))
		return NULL;
	*pp = p;
	return find_map(p, addr);
}

/* ---- ELF symbols --------------------------------------------------------------------------- */

static int cmp_sym(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;

	return (x->addr > y->addr) - (x->addr < y->addr);
}

static int load_symbols(struct file *f, Elf *elf, size_t shstrndx, Elf_Scn *scn, GElf_Shdr *sh)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t n = sh->sh_entsize ? sh->sh_size / sh->sh_entsize : 0, strs_len = 0, cap = 0;

	(void)shstrndx;
	if (!d || !n)
		return 0;
	if (n > MAX_SYMS)
		n = MAX_SYMS;
	f->syms = calloc(n, sizeof(*f->syms));
	if (!f->syms)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		GElf_Sym s;
		const char *name;
		size_t len;

		if (!gelf_getsym(d, i, &s))
			break;
		if ((GELF_ST_TYPE(s.st_info) != STT_FUNC &&
		     GELF_ST_TYPE(s.st_info) != STT_GNU_IFUNC) ||
		    !s.st_value || s.st_shndx == SHN_UNDEF)
			continue;
		name = elf_strptr(elf, sh->sh_link, s.st_name);
		if (!name || !*name)
			continue;
		len = strnlen(name, SYMTAB_MAX_NAME);
		if (strs_len + len + 1 > cap) {
			size_t ncap = cap ? cap * 2 : 65536;
			char *ns;

			while (ncap < strs_len + len + 1)
				ncap *= 2;
			ns = realloc(f->strs, ncap);
			if (!ns)
				return -ENOMEM;
			f->strs = ns;
			cap = ncap;
		}
		memcpy(f->strs + strs_len, name, len);
		f->strs[strs_len + len] = 0;
		f->syms[f->nr_syms].addr = s.st_value;
		f->syms[f->nr_syms].size = s.st_size;
		f->syms[f->nr_syms].name = strs_len;
		f->nr_syms++;
		strs_len += len + 1;
	}
	qsort(f->syms, f->nr_syms, sizeof(*f->syms), cmp_sym);
	return 0;
}

static int load_elf(struct file *f, int fd)
{
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	Elf_Scn *scn = NULL, *dynsym = NULL, *symtab = NULL;
	GElf_Shdr dynsh, symsh;
	size_t nph = 0, shstrndx = 0;
	int err = 0;

	if (!elf)
		return -EINVAL;
	if (elf_kind(elf) != ELF_K_ELF || elf_getphdrnum(elf, &nph) ||
	    elf_getshdrstrndx(elf, &shstrndx)) {
		err = -EINVAL;
		goto out;
	}
	for (size_t i = 0; i < nph && f->nr_segs < MAX_SEGS; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		f->segs[f->nr_segs++] = (struct seg){ph.p_offset, ph.p_vaddr, ph.p_filesz};
	}
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_SYMTAB) {
			symtab = scn;
			symsh = sh;
		} else if (sh.sh_type == SHT_DYNSYM) {
			dynsym = scn;
			dynsh = sh;
		}
	}
	/* The full table when the file has one; the exported ones otherwise. */
	if (symtab)
		err = load_symbols(f, elf, shstrndx, symtab, &symsh);
	else if (dynsym)
		err = load_symbols(f, elf, shstrndx, dynsym, &dynsh);
out:
	elf_end(elf);
	return err;
}

static struct file *get_file(struct symbolizer *sz, uint32_t pid, const struct proc *p,
			     const struct map *m)
{
	char path[64 + MAX_PATH_LEN];
	struct file *f;
	struct stat st;
	int fd;

	for (int i = 0; i < MAX_FILES; i++)
		if (sz->files[i].used && sz->files[i].ino == m->ino && sz->files[i].dev == m->dev)
			return &sz->files[i];
	f = &sz->files[sz->next_file];
	sz->next_file = (sz->next_file + 1) % MAX_FILES;
	file_clear(f);
	/* map_files reaches the very file mapped (even deleted or in another mount namespace). */
	snprintf(path, sizeof(path), "/proc/%u/map_files/%" PRIx64 "-%" PRIx64, pid, m->start,
		 m->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(path, sizeof(path), "/proc/%u/root%s", pid, p->paths + m->path_off);
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || load_elf(f, fd)) {
		close(fd);
		file_clear(f);
		return NULL;
	}
	close(fd);
	f->ino = m->ino;
	f->dev = m->dev;
	f->used = true;
	return f;
}

static const struct sym *find_sym(const struct file *f, uint64_t vaddr)
{
	size_t lo = 0, hi = f->nr_syms;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->syms[mid].addr <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	/* Symbols may overlap (aliases): the closest start that covers vaddr. */
	for (size_t i = lo; i-- > 0 && lo - i < 8;) {
		const struct sym *s = &f->syms[i];

		if (vaddr < s->addr + (s->size ? s->size : 1))
			return s;
	}
	return NULL;
}

static int symbolize_user(struct symbolizer *sz, uint32_t pid, uint64_t addr, char *out,
			  size_t size)
{
	const struct proc *p = NULL;
	const struct map *m = lookup_map(sz, pid, addr, &p);
	const struct file *f;
	const struct sym *s;
	const char *base;
	uint64_t foff, vaddr;

	if (!m)
		return -ENOENT;
	base = strrchr(p->paths + m->path_off, '/');
	base = base ? base + 1 : p->paths + m->path_off;
	foff = addr - m->start + m->off;
	f = get_file(sz, pid, p, m);
	for (int i = 0; f && i < f->nr_segs; i++) {
		const struct seg *sg = &f->segs[i];

		if (foff < sg->off || foff >= sg->off + sg->filesz)
			continue;
		vaddr = foff - sg->off + sg->vaddr;
		s = find_sym(f, vaddr);
		if (!s)
			break;
		snprintf(out, size, "%s+0x%" PRIx64 " (%s)", f->strs + s->name, vaddr - s->addr,
			 base);
		return 0;
	}
	snprintf(out, size, "%s+0x%" PRIx64, base, foff);
	return 0;
}

/* ---- kallsyms ------------------------------------------------------------------------------ */

static int cmp_ksym(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return (x->addr > y->addr) - (x->addr < y->addr);
}

static void load_kallsyms(struct symbolizer *sz)
{
	char line[512];
	size_t cap = 0;
	FILE *f;

	sz->ksyms_tried = true;
	f = fopen("/proc/kallsyms", "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long addr;
		char type, name[256], mod[128] = "";
		struct ksym *k;

		if (sscanf(line, "%llx %c %255s [%127[^]]]", &addr, &type, name, mod) < 3 || !addr)
			continue;
		if (type != 't' && type != 'T' && type != 'w' && type != 'W')
			continue;
		if (sz->nr_ksyms == cap) {
			size_t ncap = cap ? cap * 2 : 65536;

			k = realloc(sz->ksyms, ncap * sizeof(*k));
			if (!k)
				break;
			sz->ksyms = k;
			cap = ncap;
		}
		k = &sz->ksyms[sz->nr_ksyms];
		k->addr = addr;
		if (*mod) {
			size_t n = strlen(name) + strlen(mod) + 4;

			k->name = malloc(n);
			if (k->name)
				snprintf(k->name, n, "%s [%s]", name, mod);
		} else {
			k->name = strdup(name);
		}
		if (!k->name)
			break;
		sz->nr_ksyms++;
	}
	fclose(f);
	qsort(sz->ksyms, sz->nr_ksyms, sizeof(*sz->ksyms), cmp_ksym);
}

static int symbolize_kernel(struct symbolizer *sz, uint64_t addr, char *out, size_t size)
{
	size_t lo = 0, hi;

	if (!sz->ksyms_tried)
		load_kallsyms(sz);
	hi = sz->nr_ksyms;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sz->ksyms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return -ENOENT;
	snprintf(out, size, "%s+0x%" PRIx64, sz->ksyms[lo - 1].name, addr - sz->ksyms[lo - 1].addr);
	return 0;
}

int symbolize(struct symbolizer *sz, uint32_t pid, uint64_t addr, char *out, size_t size)
{
	if (!sz || !size)
		return -EINVAL;
	out[0] = 0;
	if (!pid || addr >= SYMTAB_KERNEL_MIN)
		return symbolize_kernel(sz, addr, out, size);
	return symbolize_user(sz, pid, addr, out, size);
}
