// SPDX-License-Identifier: BSD-2-Clause
#include "cgname.h"
#include "symtab.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#define CG_CACHE      256
#define CG_PATH_MAX   256
#define FILEID_KERNFS 0xfe /* include/linux/exportfs.h: a kernfs node id as the handle */

struct cg_ent {
	uint64_t id;
	char path[CG_PATH_MAX]; /* "" after a failed lookup */
};

static struct cg_ent cache[CG_CACHE];
static char mnt[CG_PATH_MAX];
static int mnt_fd = -2; /* -2: not looked for yet, -1: none */

/* The first cgroup2 mount in /proc/self/mountinfo (field 5 the mount point, after " - " the type). */
static int find_mount(void)
{
	char line[1024];
	FILE *f;

	if (mnt_fd != -2)
		return mnt_fd;
	mnt_fd = -1;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *dash = strstr(line, " - cgroup2 "), path[CG_PATH_MAX];

		if (!dash || sscanf(line, "%*s %*s %*s %*s %255s", path) != 1)
			continue;
		snprintf(mnt, sizeof(mnt), "%s", path);
		mnt_fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		break;
	}
	fclose(f);
	return mnt_fd;
}

static void lookup(uint64_t id, char *out, size_t size)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} h = {.fh = {.handle_bytes = sizeof(uint64_t), .handle_type = FILEID_KERNFS}, .id = id};
	char link[64], buf[4096];
	size_t ml;
	ssize_t n;
	int fd;

	out[0] = 0;
	if (find_mount() < 0)
		return;
	fd = open_by_handle_at(mnt_fd, &h.fh, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	ml = strlen(mnt);
	if (strncmp(buf, mnt, ml) || (buf[ml] != '/' && buf[ml] != 0))
		return;
	snprintf(out, size, "%s", buf[ml] ? buf + ml : "/");
}

static const struct symtab *recorded;

void cgname_use(const struct symtab *st)
{
	recorded = st;
}

const char *cgname(uint64_t id)
{
	const char *n = id ? symtab_get(recorded, SYMTAB_CGROUP_PID, id) : NULL;

	if (n)
		return n[0] ? n : NULL;
	return cgname_live(id);
}

const char *cgname_live(uint64_t id)
{
	struct cg_ent *e;

	if (!id)
		return NULL;
	e = &cache[hash64(id) % CG_CACHE];
	if (e->id != id) {
		/* A collision evicts: names are only for display, a second lookup is cheap. */
		e->id = id;
		lookup(id, e->path, sizeof(e->path));
	}
	return e->path[0] ? e->path : NULL;
}

int cgname_parse(const char *s, uint64_t *id)
{
	char path[4096];
	struct statfs sf;
	struct stat st;

	if (!parse_u64(s, UINT64_MAX, id) && *id)
		return 0;
	/* What the CGROUP column shows (relative to the mount) first, then a full path. */
	if (find_mount() >= 0) {
		snprintf(path, sizeof(path), "%s/%s", mnt, s[0] == '/' ? s + 1 : s);
		if (!stat(path, &st))
			goto found;
	}
	if (s[0] != '/' || stat(s, &st))
		return -ENOENT;
	if (statfs(s, &sf) || sf.f_type != CGROUP2_SUPER_MAGIC)
		return -ENOENT;
found:
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	*id = st.st_ino;
	return 0;
}
