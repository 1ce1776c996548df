// SPDX-License-Identifier: BSD-2-Clause
#include "alert.h"
#include "conv_fmt.h"
#include "json.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HOOKS 8

extern char **environ;

static struct {
	alert_hook_fn fn;
	void *ctx;
} hooks[MAX_HOOKS];
static int nhooks;

static alert_dump_fn dumper;
static void *dumper_ctx;

void alert_set_dumper(alert_dump_fn fn, void *ctx)
{
	dumper = fn;
	dumper_ctx = ctx;
}

bool alert_have_dumper(void)
{
	return dumper != NULL;
}

int alert_dump(const char *path)
{
	return dumper ? dumper(dumper_ctx, path) : -ENOSYS;
}

int alert_hook_add(alert_hook_fn fn, void *ctx)
{
	if (nhooks == MAX_HOOKS)
		return -ENOSPC;
	hooks[nhooks].fn = fn;
	hooks[nhooks].ctx = ctx;
	nhooks++;
	return 0;
}

void alert_hooks_clear(void)
{
	nhooks = 0;
}

void alert_fire(const struct ps_alert *al)
{
	for (int i = 0; i < nhooks; i++)
		hooks[i].fn(hooks[i].ctx, al);
}

static bool stuck(const struct ps_alert *al)
{
	return !strcmp(al->event, "stuck");
}

void alert_text(FILE *out, const struct ps_alert *al)
{
	const struct conv_ent *c = &al->c;

	if (!stuck(al)) {
		fprintf(out, "pinscope: resolved conversion #%" PRIu64 ": %s: ", c->id,
			conv_outcome_name(c->outcome));
		conv_text(out, c, al->now_ns);
		return;
	}
	fprintf(out, "pinscope: ALERT stuck conversion ");
	conv_text(out, c, al->now_ns);
	fprintf(out, "; pinned by: ");
	for (int i = 0; i < al->nb; i++) {
		fprintf(out, "%s", i ? ", " : "");
		blocker_text(out, &al->b[i], al->now_ns);
	}
	if (!al->nb)
		fprintf(out, "no pin pinscope can see");
	if (al->vmpin_kb >= 0)
		fprintf(out, "; VmPin of pid %" PRIu32 " %" PRId64 " kB, attributed %" PRId64 " kB",
			c->tgid, al->vmpin_kb, al->attributed_kb);
	if (al->dump[0])
		fprintf(out, "; dump %s", al->dump);
	else
		fprintf(out, "; no dump (%s)", al->dump_error ? al->dump_error : "?");
}

void alert_json(FILE *out, const struct ps_alert *al)
{
	struct json *j = json_new(out);

	if (!j)
		return;
	json_obj_begin(j, NULL);
	json_str(j, "event", al->event);
	json_u64(j, "seq", al->seq);
	json_u64(j, "time_ns", al->wall_ns);
	conv_json(j, "conversion", &al->c, stuck(al) ? al->b : NULL, al->nb, al->now_ns);
	if (stuck(al)) {
		json_u64(j, "blocked_pages", al->blocked_pages);
		if (al->vmpin_kb >= 0) {
			json_i64(j, "vmpin_kb", al->vmpin_kb);
			json_i64(j, "attributed_kb", al->attributed_kb);
		} else {
			json_null(j, "vmpin_kb");
			json_null(j, "attributed_kb");
		}
		if (al->dump[0])
			json_str(j, "dump", al->dump);
		else
			json_null(j, "dump");
		if (!al->dump[0])
			json_str(j, "dump_error", al->dump_error ? al->dump_error : "");
	}
	json_obj_end(j);
	json_free(j);
}

/* ---- environment for --exec ---- */

struct env {
	char **v;
	size_t n, cap;
	const char *prefix;
	bool failed;
};

static void env_push(struct env *e, char *s)
{
	if (!s) {
		e->failed = true;
		return;
	}
	if (e->n + 2 > e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 64;
		char **v = realloc(e->v, cap * sizeof(*v));

		if (!v) {
			free(s);
			e->failed = true;
			return;
		}
		e->v = v;
		e->cap = cap;
	}
	e->v[e->n++] = s;
	e->v[e->n] = NULL;
}

static void env_kv(void *ctx, const char *key, const char *val, int is_number)
{
	struct env *e = ctx;
	char name[128], *s;
	size_t i;

	(void)is_number;
	snprintf(name, sizeof(name), "%s%s", e->prefix, key);
	for (i = 0; name[i]; i++)
		name[i] = toupper((unsigned char)name[i]);
	if (asprintf(&s, "%s=%s", name, val) < 0)
		s = NULL;
	env_push(e, s);
}

char **alert_env(const struct ps_alert *al)
{
	struct env e = {0};
	char b[64], *json = NULL, *s;
	size_t len = 0;
	FILE *mem;

	for (char **p = environ; p && *p; p++)
		if (strncmp(*p, "PINSCOPE_", 9))
			env_push(&e, strdup(*p));
	e.prefix = "PINSCOPE_";
	env_kv(&e, "event", al->event, 0);
	snprintf(b, sizeof(b), "%" PRIu64, al->seq);
	env_kv(&e, "seq", b, 1);
	env_kv(&e, "dump", al->dump, 0);
	e.prefix = "PINSCOPE_CONV_";
	conv_fields(&al->c, al->now_ns, env_kv, &e);
	e.prefix = "PINSCOPE_";
	snprintf(b, sizeof(b), "%d", al->nb);
	env_kv(&e, "blockers", b, 1);
	snprintf(b, sizeof(b), "%" PRIu64, al->blocked_pages);
	env_kv(&e, "blocked_pages", b, 1);
	for (int i = 0; i < al->nb; i++) {
		char prefix[32];

		snprintf(prefix, sizeof(prefix), "PINSCOPE_BLOCKER%d_", i + 1);
		e.prefix = prefix;
		blocker_fields(&al->b[i], al->now_ns, env_kv, &e);
	}
	mem = open_memstream(&json, &len);
	if (mem) {
		alert_json(mem, al);
		fclose(mem);
	}
	if (json && len && json[len - 1] == '\n')
		json[len - 1] = 0;
	if (json && asprintf(&s, "PINSCOPE_JSON=%s", json) >= 0)
		env_push(&e, s);
	free(json);
	if (e.failed) {
		alert_env_free(e.v);
		return NULL;
	}
	return e.v;
}

void alert_env_free(char **env)
{
	for (char **p = env; p && *p; p++)
		free(*p);
	free(env);
}
