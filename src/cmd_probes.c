// SPDX-License-Identifier: BSD-2-Clause
/* pinscope probes: what this kernel allows, and the tier chosen for every hook, with why. */
#include "cmd.h"
#include "hooks.h"
#include "json.h"
#include "kfeat.h"
#include "loader.h"
#include "log.h"
#include "session.h"
#include "util.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MAX_CHOICES 64

static const char usage[] =
	"Usage: pinscope probes [-j] [-v] [--tlb-local | --no-tlb]\n"
	"Detect what this kernel allows (BTF, tracefs, which BPF program types load, which\n"
	"functions and tracepoints exist) and print, for every hook pinscope knows, the tier\n"
	"chosen here (fentry, kprobe, tracepoint, syscall, procfs, off or unavailable) and why.\n"
	"Every answer comes from a trial load or attach on this kernel; last, the chosen\n"
	"programs are loaded through the verifier and attached as a session would (inert:\n"
	"nothing runs until a session starts); a refusal is shown where it "
	"happened.\n\n" COMMON_HELP;

static void type_line(const char *name, int err, char *buf, size_t size)
{
	char why[96];

	snprintf(buf, size, "%s: %s", name, kfeat_why(err, why, sizeof(why), name));
}

static void print_types_text(const struct ps_kfeat *k)
{
	char b[160];

	printf("kernel: %s\n", k->release);
	printf("BTF: %s\n", k->btf ? "/sys/kernel/btf/vmlinux" : "missing (CONFIG_DEBUG_INFO_BTF)");
	printf("tracefs: %s%s\n", k->tracefs ? k->tracefs : "missing",
	       k->tracefs_mounted ? " (mounted by pinscope)" : "");
	printf("privileges: %s\n",
	       k->privileged ? (k->cap_sys_admin ? "CAP_SYS_ADMIN" : "CAP_BPF+CAP_PERFMON")
			     : "missing (need root or CAP_BPF and CAP_PERFMON): trials not run");
	printf("program types:\n");
	type_line("fentry", k->fentry_errno, b, sizeof(b));
	printf("  %s\n", b);
	printf("  kprobe: %s\n",
	       k->kprobe_pmu ? "kprobe PMU present" : "no kprobe PMU (CONFIG_KPROBES off)");
	type_line("raw_tp", k->rawtp_errno, b, sizeof(b));
	printf("  %s\n", b);
	type_line("tracepoint", k->tp_errno, b, sizeof(b));
	printf("  %s\n", b);
	type_line("ringbuf", k->ringbuf_errno, b, sizeof(b));
	printf("  %s\n", b);
}

/* Hooks the KVM gate holds back (src/kvm_gate.h; the rule: hooks_impl_waits_for_kvm). */
static const char *held_note(const struct ps_hook *h, const struct ps_impl *im)
{
	if (!hooks_impl_waits_for_kvm(h, im))
		return NULL;
	return "attached when KVM is in use: at start if a process holds /dev/kvm or a VM, else "
	       "when KVM creates the first VM";
}

/* The chosen implementation's targets, or why there is none. */
static const char *target_or_why(const struct ps_choice *c)
{
	const struct ps_impl *im = c->chosen >= 0 ? &c->hook->impls[c->chosen] : NULL;

	if (im)
		return im->targets ? im->targets : "/proc";
	if (c->off)
		return c->off;
	return c->hook->absent ? c->hook->absent : "no tier works here";
}

static void print_hooks_text(const struct ps_choice *c, int n)
{
	printf("\n%-17s %-8s %-11s %s\n", "HOOK", "CONCERN", "TIER", "TARGET / WHY");
	for (int i = 0; i < n; i++) {
		const struct ps_hook *h = c[i].hook;
		const struct ps_impl *im = c[i].chosen >= 0 ? &h->impls[c[i].chosen] : NULL;

		printf("%-17s %-8s %-11s %s\n", h->name, h->concern, choice_tier(&c[i]),
		       target_or_why(&c[i]));
		/* The tiers tried before the chosen one say why it was not them; -v shows all. */
		for (int t = 0; t < PS_MAX_IMPLS && h->impls[t].tier; t++) {
			if (t == c[i].chosen && ps_verbose < 1)
				break;
			printf("%-38s %s%s: %s\n", "", t == c[i].chosen ? "* " : "",
			       tier_name(h->impls[t].tier), c[i].why[t]);
		}
		if (im && c[i].chosen > 0 && h->blind)
			printf("%-38s blind spot: %s\n", "", h->blind);
		if (held_note(h, im))
			printf("%-38s %s\n", "", held_note(h, im));
	}
}

/* The trial load of every chosen program: its result and what it is. */
struct load_result {
	bool tried;
	int err;
	int attached;
	char what[160];
};

static void load_text(const struct load_result *r)
{
	if (!r->tried)
		printf("load: not tried (not privileged, or no BTF)\n");
	else if (r->err)
		printf("load: failed: %s: %s\n", r->what, strerror(-r->err));
	else
		printf("load: ok: the chosen programs passed the verifier; %d attached "
		       "(inert until a session starts)\n",
		       r->attached);
}

static void print_json(const struct ps_kfeat *k, const struct ps_choice *c, int n,
		       const struct load_result *r)
{
	struct json *j = json_new(stdout);
	char why[96];

	json_obj_begin(j, NULL);
	json_str(j, "kernel", k->release);
	json_bool(j, "btf", k->btf);
	if (k->tracefs)
		json_str(j, "tracefs", k->tracefs);
	else
		json_null(j, "tracefs");
	json_bool(j, "privileged", k->privileged);
	json_obj_begin(j, "program_types");
	json_obj_begin(j, "fentry");
	json_bool(j, "ok", !k->fentry_errno);
	json_str(j, "why", kfeat_why(k->fentry_errno, why, sizeof(why), "fentry"));
	json_obj_end(j);
	json_obj_begin(j, "kprobe");
	json_bool(j, "ok", k->kprobe_pmu);
	json_str(j, "why", k->kprobe_pmu ? "ok" : "no kprobe PMU (CONFIG_KPROBES off)");
	json_obj_end(j);
	json_obj_begin(j, "raw_tp");
	json_bool(j, "ok", !k->rawtp_errno);
	json_str(j, "why", kfeat_why(k->rawtp_errno, why, sizeof(why), "raw_tp"));
	json_obj_end(j);
	json_obj_begin(j, "tracepoint");
	json_bool(j, "ok", !k->tp_errno);
	json_str(j, "why", kfeat_why(k->tp_errno, why, sizeof(why), "tracepoint"));
	json_obj_end(j);
	json_obj_end(j);
	json_arr_begin(j, "hooks");
	for (int i = 0; i < n; i++) {
		const struct ps_hook *h = c[i].hook;

		json_obj_begin(j, NULL);
		json_str(j, "hook", h->name);
		json_str(j, "concern", h->concern);
		json_str(j, "what", h->what);
		json_str(j, "tier", choice_tier(&c[i]));
		if (c[i].off)
			json_str(j, "off", c[i].off);
		if (c[i].chosen >= 0 && h->impls[c[i].chosen].progs)
			json_str(j, "programs", h->impls[c[i].chosen].progs);
		json_arr_begin(j, "tried");
		for (int t = 0; t < PS_MAX_IMPLS && h->impls[t].tier; t++) {
			json_obj_begin(j, NULL);
			json_str(j, "tier", tier_name(h->impls[t].tier));
			if (h->impls[t].targets)
				json_str(j, "targets", h->impls[t].targets);
			if (h->impls[t].progs)
				json_str(j, "programs", h->impls[t].progs);
			json_bool(j, "ok", c[i].err[t] == 0);
			json_bool(j, "built", c[i].built[t]);
			json_str(j, "why", c[i].why[t]);
			json_obj_end(j);
		}
		json_arr_end(j);
		if (h->blind)
			json_str(j, "blind_spot", h->blind);
		if (c[i].chosen < 0 && h->absent)
			json_str(j, "absent", h->absent);
		if (held_note(h, c[i].chosen >= 0 ? &h->impls[c[i].chosen] : NULL))
			json_str(j, "attached", held_note(h, &h->impls[c[i].chosen]));
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_begin(j, "load");
	json_bool(j, "tried", r->tried);
	json_bool(j, "ok", r->tried && !r->err);
	json_u64(j, "attached", (uint64_t)r->attached);
	if (r->err)
		json_str(j, "why", r->what);
	json_obj_end(j);
	json_obj_end(j);
	json_free(j);
}

/* Load the chosen programs as a session with options o would (falling back to the probe-read
 * twins where a bpf_rdonly_cast program is refused, which the choices then show). */
static void trial_load(struct loader **l, const struct ps_opts *o, struct ps_kfeat *k,
		       struct ps_choice *c, int n, bool by_csd, struct load_result *r)
{
	struct session_opts so = {.buffer_bytes = o->buffer_bytes,
				  .churn_window_ns = o->churn_window_ns,
				  .tlb_sample = o->tlb_sample,
				  .tlb_local = o->tlb_local,
				  .no_tlb = o->no_tlb};
	struct ps_cfg cfg = {};

	if (!k->privileged || !k->btf || !*l)
		return;
	r->tried = true;
	session_cfg(&so, k, &cfg);
	cfg.tlb_by_csd = by_csd;
	r->err = session_load(l, &so, &cfg, c, n, r->what, sizeof(r->what));
	if (!r->err)
		r->attached = loader_nr_attached(*l);
}

int cmd_probes(int argc, char **argv)
{
	struct ps_choice choices[MAX_CHOICES];
	struct load_result load = {0};
	struct ps_kfeat k;
	struct ps_opts o;
	struct loader *l;
	int rc = opts_parse(argc, argv, &o, NULL, NULL, NULL, NULL, usage), n;

	if (rc >= 0)
		return rc;
	if (o.argc)
		return usage_error("probes", "unexpected argument '%s'", o.argv[0]);
	kfeat_probe(&k);
	if (!k.privileged)
		ps_warn("not privileged (need root or CAP_BPF and CAP_PERFMON): programs were not "
			"trial-loaded, so every tier shows EPERM");
	l = loader_open();
	n = hooks_choose(&k, loader_has_prog, choices, MAX_CHOICES);
	trial_load(&l, &o, &k, choices, n, hooks_tlb_mode(choices, n, o.tlb_local, o.no_tlb),
		   &load);
	if (o.json) {
		print_json(&k, choices, n, &load);
	} else {
		print_types_text(&k);
		load_text(&load);
		print_hooks_text(choices, n);
	}
	loader_free(l);
	kfeat_free(&k);
	return PS_EXIT_OK;
}
