// SPDX-License-Identifier: BSD-2-Clause
/*
 * pinscope watch: alert on stuck guest_memfd conversions. The conversion aggregate says when a
 * conversion becomes stuck and when a stuck one is resolved (each once); this command turns
 * that into alerts and hands each to the outputs the options chose.
 */
#include "cmd.h"
#include "agg.h"
#include "alert.h"
#include "flight.h"
#include "log.h"
#include "procfs.h"
#include "session.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define MAX_KIDS     64
#define MAX_PENDING  16
#define KIDS_WAIT_NS (5 * NSEC_PER_SEC)

static const char usage[] =
	"Usage: pinscope watch [--stuck-after TIME] [--retries N] [--exec PROG] [--syslog]\n"
	"                      [--exit-on-alert] [--dump-dir DIR [--dump-window TIME]]\n"
	"                      [-p PID] [-d TIME] [-j]\n"
	"Follow guest_memfd shared<->private conversions and alert when one is stuck: not done\n"
	"TIME after it was first requested (or asked for by a memory-fault exit), or failed N\n"
	"times in a row, or the guest raised N memory-fault exits for it. The alert names the "
	"holders pinning pages of its range (process,\n"
	"subsystem, pages, range, age, user stack). Each stuck conversion alerts once; when it\n"
	"completes, is superseded or its VM goes away, one resolution line follows.\n\n" COMMON_HELP
	"      --stuck-after TIME  stuck when not done after TIME (default 5s; 0: never by time)\n"
	"      --retries N         stuck after N failures in a row, or N memory-fault exits\n"
	"                          asking for it (default 5; 0: never by count)\n"
	"      --exec PROG         run PROG (no shell) on every alert and resolution, with the\n"
	"                          alert in its environment (PINSCOPE_EVENT, PINSCOPE_CONV_*,\n"
	"                          PINSCOPE_BLOCKER<n>_*, PINSCOPE_JSON) and the event as argv[1]\n"
	"      --syslog            also send alerts to syslog (facility daemon)\n"
	"      --exit-on-alert     exit with status 3 after the first stuck alert\n"
	"      --dump-dir DIR      keep a flight recorder; on each stuck alert it writes the\n"
	"                          last events to DIR/pinscope-alert-PID-SEQ.pstrace (read it\n"
	"                          with 'pinscope report FILE'), and the alert names the file\n"
	"      --dump-window TIME  how much the flight recorder keeps (default 60s)\n"
	"Alerts are one line each on stderr, or with -j one JSON object per line on stdout.\n"
	"Exit status: 0 when the duration ends or on SIGINT/SIGTERM, 3 with --exit-on-alert after\n"
	"an alert, 1 runtime error, 2 usage error.\n";

static const struct option extra[] = {
	{"stuck-after", required_argument, NULL, 'T'}, {"retries", required_argument, NULL, 'R'},
	{"exec", required_argument, NULL, 'X'},	       {"syslog", no_argument, NULL, 'L'},
	{"exit-on-alert", no_argument, NULL, 'E'},     {"dump-dir", required_argument, NULL, 'D'},
	{"dump-window", required_argument, NULL, 'W'}, {0},
};

struct watch {
	struct agg *a;
	struct conv_limits lim;
	bool json, syslog, exit_on_alert;
	const char *exec, *dump_dir;
	uint64_t seq, alerts, window_ns;
	int stop; /* --exit-on-alert: an alert was raised; the run ends after it is out */
	pid_t kids[MAX_KIDS];
	int nkids;
	struct flight *f;
	/* Alerts raised while an event is applied go out after the flight recorder has that
	 * event too, so a dump contains what made the conversion stuck. */
	struct ps_alert pending[MAX_PENDING];
	int npending;
};

static int on_opt(int c, const char *arg, void *ctx)
{
	struct watch *w = ctx;
	uint64_t v;

	switch (c) {
	case 'T':
		if (strcmp(arg, "0") && (parse_duration_ns(arg, &v) || v > 86400 * NSEC_PER_SEC))
			return usage_error("watch", "--stuck-after: '%s' is not a time up to 1d",
					   arg);
		w->lim.stuck_after_ns = strcmp(arg, "0") ? v : 0;
		return -1;
	case 'R':
		if (parse_u64(arg, 1000000, &v))
			return usage_error("watch", "--retries: '%s' is not a count up to 1000000",
					   arg);
		w->lim.retries = v;
		return -1;
	case 'X':
		w->exec = arg;
		return -1;
	case 'L':
		w->syslog = true;
		return -1;
	case 'E':
		w->exit_on_alert = true;
		return -1;
	case 'D':
		w->dump_dir = arg;
		return -1;
	case 'W':
		if (parse_duration_ns(arg, &w->window_ns) || !w->window_ns ||
		    w->window_ns > 86400 * NSEC_PER_SEC)
			return usage_error("watch", "--dump-window: '%s' is not a time up to 1d",
					   arg);
		return -1;
	}
	return PS_EXIT_USAGE;
}

/* ---- outputs ---- */

static void out_text(void *ctx, const struct ps_alert *al)
{
	(void)ctx;
	alert_text(stderr, al);
	fputc('\n', stderr);
	fflush(stderr);
}

static void out_json(void *ctx, const struct ps_alert *al)
{
	(void)ctx;
	alert_json(stdout, al);
	fflush(stdout);
}

static void out_syslog(void *ctx, const struct ps_alert *al)
{
	char *line = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&line, &len);

	(void)ctx;
	if (!mem)
		return;
	alert_text(mem, al);
	fclose(mem);
	syslog(strcmp(al->event, "stuck") ? LOG_NOTICE : LOG_WARNING, "%s", line);
	free(line);
}

static void reap(struct watch *w, bool block_until, uint64_t deadline)
{
	for (int i = 0; i < w->nkids;) {
		int st;
		pid_t r = waitpid(w->kids[i], &st, WNOHANG);

		if (r == 0 && block_until && now_mono_ns() < deadline) {
			struct timespec ts = {0, 10000000};

			nanosleep(&ts,
				  NULL); /* polling a child with a deadline: no signal to wait on */
			continue;
		}
		if (r == 0) {
			i++;
			continue;
		}
		if (r > 0 && WIFEXITED(st) && WEXITSTATUS(st))
			ps_warn("watch: --exec %s exited with status %d", w->exec, WEXITSTATUS(st));
		w->kids[i] = w->kids[--w->nkids];
	}
}

static void out_exec(void *ctx, const struct ps_alert *al)
{
	struct watch *w = ctx;
	char *argv[] = {(char *)w->exec, (char *)al->event, NULL};
	char **env = alert_env(al);
	pid_t pid;
	int err;

	if (!env) {
		ps_warn("watch: --exec %s: out of memory", w->exec);
		return;
	}
	reap(w, false, 0);
	if (w->nkids == MAX_KIDS) {
		ps_warn("watch: --exec %s: %d runs still going: not started", w->exec, MAX_KIDS);
		alert_env_free(env);
		return;
	}
	err = posix_spawnp(&pid, w->exec, NULL, NULL, argv, env);
	alert_env_free(env);
	if (err) {
		ps_warn("watch: --exec %s: %s", w->exec, strerror(err));
		return;
	}
	w->kids[w->nkids++] = pid;
}

/* ---- building alerts ---- */

static void vmm_pins(struct watch *w, struct ps_alert *al, uint32_t tgid)
{
	const struct holder_ent *h;
	__u64 vmpin, vmlck;
	int64_t kb = 0;

	/* The kernel's count now, read for the alert (the periodic sample may be older). */
	al->vmpin_kb = procfs_status(tgid, &vmpin, &vmlck) ? -1 : (int64_t)vmpin;
	for (size_t it = 0; (h = htab_next(&w->a->pins.holders, &it));)
		if (h->tgid == tgid)
			kb += h->acct_pages * 4;
	al->attributed_kb = kb;
}

static int flight_dumper(void *ctx, const char *path)
{
	struct flight_stats st;

	return flight_dump(ctx, path, &st);
}

static void dump(struct watch *w, struct ps_alert *al)
{
	int err;

	al->dump[0] = 0;
	if (!w->dump_dir) {
		al->dump_error = "no --dump-dir";
		return;
	}
	if (!alert_have_dumper()) {
		al->dump_error = "this build has no flight recorder";
		return;
	}
	snprintf(al->dump, sizeof(al->dump), "%s/pinscope-alert-%d-%" PRIu64 ".pstrace",
		 w->dump_dir, (int)getpid(), al->seq);
	err = alert_dump(al->dump);
	if (err) {
		al->dump[0] = 0;
		al->dump_error = strerror(-err);
	}
}

/* Dump (stuck alerts) and hand every pending alert to the outputs. */
static void flush(struct watch *w)
{
	for (int i = 0; i < w->npending; i++) {
		struct ps_alert *al = &w->pending[i];

		if (!strcmp(al->event, "stuck")) {
			dump(w, al);
			w->alerts++;
		}
		alert_fire(al);
	}
	w->npending = 0;
}

static void on_conv(void *ctx, enum conv_note note, const struct conv_ent *c)
{
	struct watch *w = ctx;
	struct ps_alert *al;

	if (w->stop)
		return; /* --exit-on-alert: the run is ending */
	if (w->npending == MAX_PENDING)
		flush(w); /* a burst: these go out without the latest event in their dump */
	al = &w->pending[w->npending++];
	memset(al, 0, sizeof(*al));
	al->event = note == CONV_NOTE_STUCK ? "stuck" : "resolved";
	al->seq = ++w->seq;
	al->now_ns = now_mono_ns();
	al->wall_ns = now_wall_ns();
	al->c = *c;
	al->vmpin_kb = -1;
	if (note == CONV_NOTE_STUCK) {
		al->nb = agg_gmem_blockers(&w->a->gmem, &w->a->pins, c, al->b, ALERT_MAX_BLOCKERS);
		for (int i = 0; i < al->nb; i++)
			al->blocked_pages += al->b[i].pages;
		vmm_pins(w, al, c->tgid);
		if (w->exit_on_alert)
			w->stop = 1;
	}
}

static int on_event(void *ctx, const union ps_event *e)
{
	struct watch *w = ctx;

	if (w->f)
		flight_event(w->f, e);
	if (w->npending)
		flush(w);
	return w->stop;
}

static int on_tick(void *ctx, struct agg *a)
{
	struct watch *w = ctx;

	if (w->f)
		flight_tick(w->f);
	agg_convert_tick(&a->conv, now_mono_ns());
	flush(w);
	reap(w, false, 0);
	return w->stop;
}

static void on_setup(void *ctx, const struct ps_choice *c, int n)
{
	struct watch *w = ctx;

	if (w->f)
		flight_setup(w->f, c, n);
}

static int check_opts(struct watch *w, const struct ps_opts *o)
{
	struct stat st;

	if (o->argc)
		return usage_error("watch", "unexpected argument '%s'", o->argv[0]);
	if (w->exec && strchr(w->exec, '/') && access(w->exec, X_OK))
		return usage_error("watch", "--exec: '%s': %s", w->exec, strerror(errno));
	if (w->dump_dir && (stat(w->dump_dir, &st) || !S_ISDIR(st.st_mode)))
		return usage_error("watch", "--dump-dir: '%s' is not a directory", w->dump_dir);
	if (w->window_ns && !w->dump_dir)
		return usage_error("watch", "--dump-window needs --dump-dir");
	return -1;
}

int cmd_watch(int argc, char **argv)
{
	static struct watch w;
	struct ps_opts o;
	struct agg a;
	int rc;

	memset(&w, 0, sizeof(w));
	w.lim = conv_default_limits;
	rc = opts_parse(argc, argv, &o, extra, "", on_opt, &w, usage);
	if (rc >= 0)
		return rc;
	rc = check_opts(&w, &o);
	if (rc >= 0)
		return rc;
	w.json = o.json;
	if (agg_init(&a, NULL)) {
		ps_err("watch: out of memory");
		return PS_EXIT_RUNTIME;
	}
	if (w.dump_dir) {
		struct flight_opts fo = {
			.window_ns = w.window_ns ? w.window_ns : 60 * NSEC_PER_SEC,
			.filter_pid = o.pid,
			.filter_cgroup = o.cgroup_id,
			.interval_ns = o.interval_ns,
		};

		w.f = flight_new(&fo);
		if (!w.f) {
			agg_free(&a);
			ps_err("watch: flight recorder: out of memory");
			return PS_EXIT_RUNTIME;
		}
		alert_set_dumper(flight_dumper, w.f);
	}
	w.a = &a;
	a.conv.lim = w.lim;
	a.conv.notify = on_conv;
	a.conv.notify_ctx = &w;
	alert_hooks_clear();
	alert_hook_add(w.json ? out_json : out_text, &w);
	if (w.exec)
		alert_hook_add(out_exec, &w);
	if (w.syslog) {
		openlog("pinscope", LOG_PID, LOG_DAEMON);
		alert_hook_add(out_syslog, &w);
	}
	ps_info(1,
		"watch: a conversion is stuck when not done after %.3fs (0: never) or after %u "
		"failures in a row (0: never)",
		(double)w.lim.stuck_after_ns / NSEC_PER_SEC, w.lim.retries);
	{
		struct session_opts so = {
			.pid = o.pid,
			.cgroup_id = o.cgroup_id,
			.duration_ns = o.duration_ns,
			.interval_ns = o.interval_ns ? o.interval_ns : NSEC_PER_SEC / 4,
			.buffer_bytes = o.buffer_bytes,
			.churn_window_ns = o.churn_window_ns,
			.tlb_sample = o.tlb_sample,
			.tlb_local = o.tlb_local,
			.no_tlb = o.no_tlb,
		};
		struct session_sink sink = {
			.on_event = on_event,
			.on_tick = on_tick,
			.on_setup = on_setup,
			.ctx = &w,
		};

		session_install_signals();
		rc = session_run(&so, &a, &sink);
	}
	flush(&w);
	reap(&w, true, now_mono_ns() + KIDS_WAIT_NS);
	if (w.nkids)
		ps_warn("watch: %d --exec run(s) still going; not waiting longer", w.nkids);
	if (w.syslog)
		closelog();
	alert_hooks_clear();
	alert_set_dumper(NULL, NULL);
	flight_free(w.f);
	agg_free(&a);
	if (rc == PS_EXIT_OK && w.exit_on_alert && w.alerts)
		return PS_EXIT_ALERT;
	return rc;
}
