// SPDX-License-Identifier: BSD-2-Clause
#include "unit.h"

#include <string.h>

static struct unit_case *head, **tail = &head;
static int failed_now, skipped_now;
static char skip_why[256];

void unit_register(struct unit_case *c)
{
	*tail = c;
	tail = &c->next;
}

void unit_fail(const char *file, int line, const char *what)
{
	printf("# %s:%d: check failed: %s\n", file, line, what);
	failed_now = 1;
}

void unit_skip(const char *why)
{
	snprintf(skip_why, sizeof(skip_why), "%s", why);
	skipped_now = 1;
}

int main(int argc, char **argv)
{
	int n = 0, failed = 0;

	for (struct unit_case *c = head; c; c = c->next) {
		if (argc > 1 && !strstr(c->name, argv[1]))
			continue;
		failed_now = skipped_now = 0;
		c->fn();
		n++;
		if (skipped_now)
			printf("ok %d - unit %s # skip %s\n", n, c->name, skip_why);
		else
			printf("%sok %d - unit %s\n", failed_now ? "not " : "", n, c->name);
		failed += failed_now;
		fflush(stdout);
	}
	printf("1..%d\n", n);
	return failed ? 1 : 0;
}
