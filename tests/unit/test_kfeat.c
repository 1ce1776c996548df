// SPDX-License-Identifier: BSD-2-Clause
#include "kfeat.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define NSAMPLE 512

struct sample {
	char name[128];
	unsigned long long want;
};

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct sample *)a)->name, ((const struct sample *)b)->name);
}

/* A text line's name (cut at the module's tab) and address; false for other lines. */
static bool text_line(char *line, char **name, unsigned long long *addr)
{
	char *type = strchr(line, ' ');

	if (!type || (type[1] != 't' && type[1] != 'T') || type[2] != ' ')
		return false;
	*name = type + 3;
	(*name)[strcspn(*name, "\t\n")] = 0;
	*addr = strtoull(line, NULL, 16);
	return true;
}

/*
 * kfeat_ksym() against a plain scan of /proc/kallsyms: the names pinscope resolves and every
 * 250th text symbol, each expected at the lowest address its name has among text symbols.
 */
UNIT_TEST(kfeat_ksym_matches_kallsyms)
{
	static struct sample s[NSAMPLE];
	static const char *const used[] = {"flush_tlb_func", "io_ring_exit_work", "_stext",
					   "do_flush_tlb_all", "shmem_mmap"};
	unsigned long long addr, nonzero = 0;
	char line[1024], *name;
	int n = 0, lineno = 0;
	FILE *f = fopen("/proc/kallsyms", "re");

	if (!f) {
		unit_skip("/proc/kallsyms cannot be read");
		return;
	}
	for (size_t i = 0; i < sizeof(used) / sizeof(used[0]); i++)
		snprintf(s[n++].name, sizeof(s[0].name), "%s", used[i]);
	while (fgets(line, sizeof(line), f))
		if (text_line(line, &name, &addr) && ++lineno % 250 == 0 && n < NSAMPLE &&
		    strlen(name) < sizeof(s[0].name))
			snprintf(s[n++].name, sizeof(s[0].name), "%s", name);
	for (int i = 0; i < n; i++)
		s[i].want = ~0ULL;
	qsort(s, n, sizeof(s[0]), by_name);
	rewind(f);
	while (fgets(line, sizeof(line), f)) {
		struct sample key, *hit;

		if (!text_line(line, &name, &addr) || strlen(name) >= sizeof(key.name))
			continue;
		nonzero |= addr;
		strcpy(key.name, name);
		hit = bsearch(&key, s, n, sizeof(s[0]), by_name);
		if (hit && addr < hit->want)
			hit->want = addr;
	}
	fclose(f);
	if (!nonzero) {
		unit_skip("kallsyms addresses are hidden here (kptr_restrict, or not root)");
		return;
	}
	CHECK(n > 100);
	for (int i = 0; i < n; i++) {
		unsigned long long got = kfeat_ksym(s[i].name);

		if (got != s[i].want) {
			char m[256];

			snprintf(m, sizeof(m), "kfeat_ksym(\"%.128s\") = %llx, kallsyms says %llx",
				 s[i].name, got, s[i].want);
			unit_fail(__FILE__, __LINE__, m);
			return;
		}
	}
	CHECK_EQ(kfeat_ksym("pinscope_no_such_symbol"), 0);
	kfeat_drop_ksyms();
	CHECK(kfeat_ksym("_stext") != 0); /* read again after a drop */
	kfeat_drop_ksyms();
}

/* CONFIG_HZ from a kernel config, plain or gzipped (/proc/config.gz), as the churn clock needs. */
UNIT_TEST(kfeat_config_hz_reads_plain_and_gzipped)
{
	char plain[] = "/tmp/pinscope-unit-config.XXXXXX", gz[64];
	const char *text = "# CONFIG_HZ_100 is not set\nCONFIG_HZ_300=y\nCONFIG_HZ=300\n";
	gzFile z;
	int fd = mkstemp(plain);

	CHECK(fd >= 0);
	CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	snprintf(gz, sizeof(gz), "%s.gz", plain);
	CHECK_EQ(kfeat_config_hz_from(plain, "/nonexistent"), 300);
	z = gzopen(gz, "wb");
	CHECK(z != NULL);
	gzputs(z, "CONFIG_HZ_PERIODIC=n\nCONFIG_HZ=1000\n");
	gzclose(z);
	CHECK_EQ(kfeat_config_hz_from("/nonexistent", gz), 1000);
	/* neither, or a value that is not a tick rate */
	CHECK_EQ(kfeat_config_hz_from("/nonexistent", "/nonexistent"), 0);
	z = gzopen(gz, "wb");
	gzputs(z, "CONFIG_HZ=abc\nCONFIG_HZ=0\n");
	gzclose(z);
	CHECK_EQ(kfeat_config_hz_from("/nonexistent", gz), 0);
	unlink(plain);
	unlink(gz);
}
