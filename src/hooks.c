// SPDX-License-Identifier: BSD-2-Clause
#include "hooks.h"
#include "kfeat.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct ps_hook *const tables[] = {ps_hooks_pins, ps_hooks_gmem, ps_hooks_tlb,
					       ps_hooks_pageref};

/* Calls fn on each comma/space separated word of list; stops at the first non-zero result. */
static int each_word(const char *list, const char *seps, int (*fn)(const char *, void *), void *arg)
{
	char buf[512], *save = NULL;

	if (!list)
		return 0;
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *w = strtok_r(buf, seps, &save); w; w = strtok_r(NULL, seps, &save)) {
		int err = fn(w, arg);

		if (err)
			return err;
	}
	return 0;
}

struct trial_arg {
	struct ps_kfeat *k;
	enum ps_tier tier;
	char failed[96];
	char *skipped; /* optional targets that failed */
	size_t skipped_len;
};

static void add_word(char *list, size_t size, const char *w)
{
	size_t len = strlen(list);

	snprintf(list + len, size - len, "%s%s", len ? "," : "", w);
}

static int try_target(const char *t, void *p)
{
	struct trial_arg *a = p;
	bool optional = *t == '?';
	int err;

	if (optional)
		t++;
	switch (a->tier) {
	case PS_TIER_FENTRY:
		err = kfeat_try_fentry(a->k, t);
		break;
	case PS_TIER_KPROBE:
		err = kfeat_try_kprobe(a->k, t);
		break;
	case PS_TIER_TP:
	case PS_TIER_SYSCALL:
	case PS_TIER_RAW_TP:
		err = kfeat_try_tracepoint(a->k, t);
		break;
	default:
		err = 0;
	}
	if (err && optional) {
		add_word(a->skipped, a->skipped_len, t);
		return 0;
	}
	if (err)
		snprintf(a->failed, sizeof(a->failed), "%s", t);
	return err;
}

/* The tier PS_TIER_ENV asks for, PS_TIER_NONE when unset or unknown. */
static enum ps_tier forced_tier(void)
{
	const char *v = getenv(PS_TIER_ENV);

	for (int t = PS_TIER_FENTRY; v && t < PS_TIER_MAX; t++)
		if (!strcmp(v, tier_name(t)))
			return t;
	return PS_TIER_NONE;
}

static int need_ksym(const char *sym, void *p)
{
	(void)p;
	return kfeat_ksym(sym) ? 0 : -ENOKEY;
}

struct prog_arg {
	ps_has_prog_fn has;
	char missing[64];
};

static int have_prog(const char *prog, void *p)
{
	struct prog_arg *a = p;

	if (a->has && a->has(prog))
		return 0;
	snprintf(a->missing, sizeof(a->missing), "%s", prog);
	return -ENOSYS;
}

static bool has_tier(const struct ps_hook *h, enum ps_tier t)
{
	for (int i = 0; i < PS_MAX_IMPLS && h->impls[i].tier; i++)
		if (h->impls[i].tier == t)
			return true;
	return false;
}

/* Left untried under PS_TIER_ENV: the function tiers better than it, and any tier better than
 * it in a hook that has an implementation at it. */
static bool below_floor(const struct ps_hook *h, enum ps_tier t, enum ps_tier floor)
{
	return floor && t < floor && (t <= PS_TIER_KPROBE || has_tier(h, floor));
}

static void decide(struct ps_kfeat *k, ps_has_prog_fn has, struct ps_choice *c, bool all)
{
	const struct ps_hook *h = c->hook;

	enum ps_tier floor = forced_tier();

	c->chosen = -1;
	for (int i = 0; i < PS_MAX_IMPLS && h->impls[i].tier; i++) {
		const struct ps_impl *im = &h->impls[i];
		struct trial_arg ta = {.k = k,
				       .tier = im->tier,
				       .skipped = c->skipped[i],
				       .skipped_len = sizeof(c->skipped[i])};
		struct prog_arg pa = {.has = has};
		char why[96];
		int err;

		c->built[i] = each_word(im->progs, " ", have_prog, &pa) == 0;
		if (!all && c->chosen >= 0) {
			err = -ECANCELED;
			snprintf(c->why[i], sizeof(c->why[i]), "not tried: a better tier works");
		} else if (below_floor(h, im->tier, floor)) {
			err = -ECANCELED;
			snprintf(c->why[i], sizeof(c->why[i]), "not tried: %s=%s", PS_TIER_ENV,
				 tier_name(floor));
		} else if (im->tier == PS_TIER_PROCFS) {
			err = access("/proc/self/status", R_OK) ? -errno : 0;
			snprintf(c->why[i], sizeof(c->why[i]), "%s", err ? "no /proc" : "ok");
		} else {
			err = each_word(im->targets, ",", try_target, &ta);
			if (err)
				snprintf(c->why[i], sizeof(c->why[i]), "%s: %s", ta.failed,
					 kfeat_why(err, why, sizeof(why), tier_name(im->tier)));
			else if ((err = each_word(im->ksyms, ",", need_ksym, NULL)))
				snprintf(c->why[i], sizeof(c->why[i]),
					 "needs %s in /proc/kallsyms (not in this kernel, or "
					 "kptr_restrict)",
					 im->ksyms);
			else if (c->skipped[i][0])
				snprintf(c->why[i], sizeof(c->why[i]), "ok, without %s (%s)",
					 c->skipped[i], "not here or refused");
			else
				snprintf(c->why[i], sizeof(c->why[i]), "ok");
		}
		if (!err && !c->built[i]) {
			snprintf(c->why[i], sizeof(c->why[i]),
				 "kernel has it, but this pinscope has no program for it yet (%s)",
				 pa.missing);
			err = -ENOSYS;
		}
		c->err[i] = err;
		if (!err && c->chosen < 0)
			c->chosen = i;
	}
}

static int choose(struct ps_kfeat *k, ps_has_prog_fn has_prog, struct ps_choice *out, int max,
		  bool all)
{
	int n = 0;

	for (size_t t = 0; t < ARRAY_SIZE(tables); t++) {
		for (const struct ps_hook *h = tables[t]; h->name && n < max; h++) {
			memset(&out[n], 0, sizeof(out[n]));
			out[n].hook = h;
			decide(k, has_prog, &out[n], all);
			n++;
		}
	}
	return n;
}

int hooks_choose(struct ps_kfeat *k, ps_has_prog_fn has_prog, struct ps_choice *out, int max)
{
	return choose(k, has_prog, out, max, true);
}

int hooks_choose_first(struct ps_kfeat *k, ps_has_prog_fn has_prog, struct ps_choice *out, int max)
{
	return choose(k, has_prog, out, max, false);
}

struct match_arg {
	const char *prog;
};

static int match_prog(const char *p, void *arg)
{
	return !strcmp(p, ((struct match_arg *)arg)->prog);
}

bool hooks_prog_wanted(const struct ps_choice *c, int n, const char *prog)
{
	struct match_arg m = {.prog = prog};

	for (int i = 0; i < n; i++) {
		if (c[i].chosen < 0)
			continue;
		if (each_word(c[i].hook->impls[c[i].chosen].progs, " ", match_prog, &m))
			return true;
	}
	return false;
}

static bool needs_kfunc(const struct ps_impl *im)
{
	return im->ksyms && strstr(im->ksyms, "bpf_rdonly_cast");
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

bool hooks_need_kfuncs(const struct ps_choice *c, int n)
{
	for (int i = 0; i < n; i++)
		if (c[i].chosen >= 0 && needs_kfunc(&c[i].hook->impls[c[i].chosen]))
			return true;
	return false;
}

int hooks_fall_back_from_kfuncs(struct ps_choice *c, int n, int err, const char *why)
{
	int switched = 0;

	for (int i = 0; i < n; i++) {
		int k = c[i].chosen;
		const struct ps_impl *im, *next;

		if (k < 0 || k + 1 >= PS_MAX_IMPLS || !needs_kfunc(&c[i].hook->impls[k]))
			continue;
		im = &c[i].hook->impls[k];
		next = &c[i].hook->impls[k + 1];
		if (!next->progs || next->tier != im->tier ||
		    !same_str(next->targets, im->targets) || needs_kfunc(next))
			continue;
		snprintf(c[i].why[k], sizeof(c[i].why[k]), "load failed: %s", why);
		c[i].err[k] = err;
		c[i].err[k + 1] = 0;
		c[i].built[k + 1] = true;
		snprintf(c[i].why[k + 1], sizeof(c[i].why[k + 1]), "ok");
		c[i].chosen = k + 1;
		switched++;
	}
	return switched;
}

bool hooks_impl_waits_for_kvm(const struct ps_hook *h, const struct ps_impl *im)
{
	return im && im->tier == PS_TIER_SYSCALL &&
	       (!strcmp(h->concern, "gmem") || !strcmp(h->concern, "conv"));
}

bool hooks_prog_waits_for_kvm(const struct ps_choice *c, int n, const char *prog)
{
	struct match_arg m = {.prog = prog};
	bool waits = false;

	for (int i = 0; i < n; i++) {
		const struct ps_impl *im = c[i].chosen >= 0 ? &c[i].hook->impls[c[i].chosen] : NULL;

		if (!im || !each_word(im->progs, " ", match_prog, &m))
			continue;
		if (!hooks_impl_waits_for_kvm(c[i].hook, im))
			return false;
		waits = true;
	}
	return waits;
}

struct skip_arg {
	const char *func;
};

static int match_word(const char *w, void *arg)
{
	return !strcmp(w, ((struct skip_arg *)arg)->func);
}

bool hooks_target_skipped(const struct ps_choice *c, int n, const char *func)
{
	struct skip_arg a = {.func = func};

	if (!func)
		return false;
	for (int i = 0; i < n; i++)
		if (c[i].chosen >= 0 && each_word(c[i].skipped[c[i].chosen], ",", match_word, &a))
			return true;
	return false;
}

unsigned int hooks_mark_flags(const struct ps_choice *c, int n)
{
	unsigned int f = 0;

	for (int i = 0; i < n; i++)
		if (c[i].chosen >= 0 && !strcmp(c[i].hook->name, "gmem.fault"))
			f |= PS_MARK_F_GMEM_FAULTS;
		else if (c[i].chosen >= 0 && !strcmp(c[i].hook->name, "gmem.invalidate"))
			f |= PS_MARK_F_GMEM_INVAL;
	return f;
}
