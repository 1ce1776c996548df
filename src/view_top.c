// SPDX-License-Identifier: BSD-2-Clause
#include "view_top.h"
#include "cgname.h"
#include "rows.h"
#include "session.h"
#include "snap.h"
#include "symbolize.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <termios.h>
#include <unistd.h>

#define HEAD_LINES (SNAP_LINES + 2) /* snapshot lines, status line, column header */
#define INDENT	   "        "
#define FRAME_LEN  160

enum key {
	KEY_NONE = 0,
	KEY_UP = 0x100,
	KEY_DOWN,
	KEY_PGUP,
	KEY_PGDN,
	KEY_HOME,
	KEY_END,
	KEY_LEFT,
	KEY_RIGHT,
	KEY_ESC,
	KEY_OTHER_SEQ, /* an escape sequence we do not use */
};

struct view {
	struct agg *a;
	struct holder_row *rows;
	int cap, n;
	int sort_col;
	bool reverse;
	struct row_filter filt;
	char subsys[32];
	struct snap snap;
	uint64_t iterations, ticks;
	/* selection, followed across re-sorts by the holder's identity */
	int sel, top;
	bool have_key;
	uint32_t key_pid;
	const char *key_subsys;
	const uint64_t *key_stack; /* the holder's own array: it names the holder */
	/* the expanded holder's stack, resolved when it was expanded */
	bool expanded;
	int nstack;
	char stack[PS_MAX_STACK][FRAME_LEN];
	struct symbolizer *sz; /* made on the first expansion */
	bool help;
	int prompt; /* 0, or the key that opened it: 'p' 'c' 'f' */
	char input[96];
	size_t ilen;
	char msg[160];
	int height, width;
	bool color, active, clear;
	/* the frame being drawn */
	char *fb;
	size_t len, cap_fb;
};

/* What a signal handler or atexit() needs to give the terminal back. */
static struct termios saved_tty;
static volatile sig_atomic_t tty_raw, got_winch, got_cont;
static int err_saved = -1, err_capture = -1;
static const char leave_seq[] = "\033[0m\033[?25h\033[?1049l";
static const char enter_seq[] = "\033[?1049h\033[?25l\033[H\033[2J";

static void write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= w;
	}
}

/* Async-signal-safe: only write() and tcsetattr(). */
static void tty_restore(void)
{
	if (!tty_raw)
		return;
	write_all(STDOUT_FILENO, leave_seq, sizeof(leave_seq) - 1);
	tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_tty);
	tty_raw = 0;
}

static int tty_raw_mode(void)
{
	struct termios raw = saved_tty;

	raw.c_lflag &= ~(ICANON | ECHO | IEXTEN);
	raw.c_iflag &= ~(IXON | ICRNL | INLCR | IGNCR);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSADRAIN, &raw))
		return -errno;
	tty_raw = 1;
	write_all(STDOUT_FILENO, enter_seq, sizeof(enter_seq) - 1);
	return 0;
}

/* Messages written while the screen is up would be drawn over: keep them for afterwards. */
static void capture_stderr(void)
{
	int fd = memfd_create("pinscope-stderr", MFD_CLOEXEC);

	if (fd < 0)
		return;
	fflush(stderr);
	err_saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	if (err_saved < 0 || dup2(fd, STDERR_FILENO) < 0) {
		close(fd);
		if (err_saved >= 0)
			close(err_saved);
		err_saved = -1;
		return;
	}
	err_capture = fd;
}

static void release_stderr(void)
{
	char buf[4096];
	ssize_t n;

	if (err_saved < 0)
		return;
	fflush(stderr);
	dup2(err_saved, STDERR_FILENO);
	close(err_saved);
	err_saved = -1;
	lseek(err_capture, 0, SEEK_SET);
	while ((n = read(err_capture, buf, sizeof(buf))) > 0)
		write_all(STDERR_FILENO, buf, n);
	close(err_capture);
	err_capture = -1;
}

static void at_exit(void)
{
	tty_restore();
	release_stderr();
}

static void on_winch(int sig)
{
	(void)sig;
	got_winch = 1;
}

static void on_tstp(int sig);

static void install_tstp(void)
{
	struct sigaction sa = {.sa_handler = on_tstp};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTSTP, &sa, NULL);
}

/* ^Z: give the terminal back, stop, and take it again when continued. */
static void on_tstp(int sig)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	int was_raw = tty_raw;
	sigset_t set;

	(void)sig;
	tty_restore();
	sigaction(SIGTSTP, &dfl, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGTSTP);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(SIGTSTP);
	/* continued */
	install_tstp();
	got_cont = was_raw;
}

static void on_quit(int sig)
{
	(void)sig;
	session_stop = 1;
}

static void install_signals(void)
{
	struct sigaction sa = {.sa_handler = on_winch};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGWINCH, &sa, NULL);
	install_tstp();
	sa.sa_handler = on_quit;
	sigaction(SIGQUIT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

bool view_possible(void)
{
	const char *term = getenv("TERM");

	return isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) && term && *term &&
	       strcmp(term, "dumb");
}

/* Colour only where TERM names a colour terminal and the user did not opt out (no-color.org). */
static bool color_wanted(void)
{
	static const char *const pats[] = {"*color*", "xterm*", "screen*",   "tmux*",
					   "rxvt*",   "linux",	"alacritty", "kitty*",
					   "foot*",   "st-*",	"konsole*",  "putty*"};
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");

	if ((nc && *nc) || !term)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(pats); i++)
		if (!fnmatch(pats[i], term, 0))
			return true;
	return false;
}

static void term_size(struct view *v)
{
	struct winsize ws;

	if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_row && ws.ws_col) {
		v->height = ws.ws_row;
		v->width = ws.ws_col;
	} else {
		v->height = 24;
		v->width = 80;
	}
}

struct view *view_new(struct agg *a, const struct view_cfg *cfg)
{
	struct view *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->a = a;
	v->cap = agg_default_limits.max_holders;
	v->rows = calloc(v->cap, sizeof(*v->rows));
	if (!v->rows) {
		free(v);
		return NULL;
	}
	v->sort_col = cfg->sort_col;
	v->reverse = cfg->reverse;
	v->filt.pid = cfg->pid;
	v->filt.cgroup_id = cfg->cgroup_id;
	if (cfg->subsys) {
		snprintf(v->subsys, sizeof(v->subsys), "%.31s", cfg->subsys);
		v->filt.subsys = v->subsys;
	}
	v->iterations = cfg->iterations;
	v->color = color_wanted();
	return v;
}

void view_free(struct view *v)
{
	tty_restore();
	release_stderr();
	if (!v)
		return;
	symbolizer_free(v->sz);
	free(v->rows);
	free(v->fb);
	free(v);
}

static int view_start(struct view *v)
{
	static bool registered;

	if (tcgetattr(STDIN_FILENO, &saved_tty))
		return -errno;
	if (!registered) {
		atexit(at_exit);
		registered = true;
	}
	install_signals();
	if (tty_raw_mode())
		return -errno;
	capture_stderr();
	term_size(v);
	v->active = true;
	return 0;
}

/* ---- drawing ---- */

static void out(struct view *v, const char *s, size_t n)
{
	if (v->len + n > v->cap_fb) {
		size_t cap = (v->len + n) * 2 + 4096;
		char *fb = realloc(v->fb, cap);

		if (!fb)
			return;
		v->fb = fb;
		v->cap_fb = cap;
	}
	memcpy(v->fb + v->len, s, n);
	v->len += n;
}

static void outs(struct view *v, const char *s)
{
	out(v, s, strlen(s));
}

/* One screen line: text cut to the width (control and non-ASCII bytes shown as '?'), in
 * attribute `attr` (an SGR sequence or NULL); a bar (`fill`) spans the whole width. */
static void line(struct view *v, int *y, const char *attr, const char *text, bool fill)
{
	int w = 0;

	if (*y >= v->height)
		return;
	if (*y)
		outs(v, "\r\n");
	if (attr)
		outs(v, attr);
	for (const unsigned char *p = (const unsigned char *)text; *p && w < v->width; p++, w++) {
		char c = *p < 0x20 || *p >= 0x7f ? '?' : *p;

		out(v, &c, 1);
	}
	for (; fill && w < v->width; w++)
		out(v, " ", 1);
	if (attr)
		outs(v, "\033[0m");
	outs(v, "\033[K");
	(*y)++;
}

/* The column header with the sort column underlined. */
static void header_line(struct view *v, int *y)
{
	char h[512], part[512];
	size_t off, wid, len = rows_header_str(h, sizeof(h), ROWS_LIVE);
	int x = 0;

	if (*y >= v->height)
		return;
	if (rows_col_span(v->sort_col, ROWS_LIVE, &off, &wid) || off + wid > len) {
		line(v, y, "\033[7m", h, true);
		return;
	}
	outs(v, "\r\n\033[7m");
	for (int seg = 0; seg < 3; seg++) {
		size_t from = seg == 0 ? 0 : seg == 1 ? off : off + wid;
		size_t to = seg == 0 ? off : seg == 1 ? off + wid : len;
		size_t n = to - from;

		if (x + (int)n > v->width)
			n = v->width > x ? v->width - x : 0;
		memcpy(part, h + from, n);
		if (seg == 1)
			outs(v, "\033[1;4m");
		out(v, part, n);
		if (seg == 1)
			outs(v, "\033[22;24m");
		x += n;
	}
	for (; x < v->width; x++)
		out(v, " ", 1);
	outs(v, "\033[0m\033[K");
	(*y)++;
}

static void status_line(struct view *v, int *y)
{
	static const char *const what[128] = {
		['p'] = "PID to show (empty: all)",
		['c'] = "cgroup to show: path under the cgroup2 mount or id (empty: all)",
		['f'] = "subsystem to show: io_uring, vfio, iommufd, rdma, vhost, ... (empty: all)",
	};
	char s[512], f[200] = "";
	size_t o = 0;

	if (v->prompt) {
		snprintf(s, sizeof(s), "%s: %s_", what[v->prompt], v->input);
		line(v, y, v->color ? "\033[1;33m" : "\033[1m", s, false);
		return;
	}
	if (v->msg[0]) {
		line(v, y, v->color ? "\033[1;31m" : "\033[1m", v->msg, false);
		return;
	}
	if (v->filt.pid)
		o += snprintf(f + o, sizeof(f) - o, " pid=%u", v->filt.pid);
	if (v->filt.cgroup_id && o < sizeof(f)) {
		const char *cg = cgname(v->filt.cgroup_id);

		if (cg)
			o += snprintf(f + o, sizeof(f) - o, " cgroup=%s", cg);
		else
			o += snprintf(f + o, sizeof(f) - o, " cgroup=%llu",
				      (unsigned long long)v->filt.cgroup_id);
	}
	if (v->filt.subsys && o < sizeof(f))
		snprintf(f + o, sizeof(f) - o, " subsystem=%s", v->filt.subsys);
	snprintf(s, sizeof(s), "sort %s%s  filter%s  shown %d of %llu  [? help, q quit]",
		 rows_col_header(v->sort_col) ? rows_col_header(v->sort_col) : "?",
		 v->reverse ? " (reversed)" : "", f[0] ? f : " none", v->n,
		 (unsigned long long)v->snap.holders);
	line(v, y, NULL, s, false);
}

static const char *const help_text[] = {
	"pinscope top: who holds pages pinned, refreshed every interval",
	"",
	"  q             quit (also ^C)",
	"  s  >  <       sort by the next / next / previous column",
	"  r             reverse the sort order",
	"  p  c  f       show only one pid / cgroup / subsystem (empty answer: all)",
	"  =             clear every filter",
	"  Up Down PgUp PgDn Home End   select a row",
	"  Enter  x      expand the selected row: the user stack that made its pins",
	"  ?  h          this help (any key closes it)",
	"  any other key refresh now",
	"",
	"Columns: PAGES 4 KiB pages pinned; CHARGED pages charged to the process (VmPin counts",
	"these; a huge page whole); VMPIN_KB the process's VmPin now; AGE of the oldest pin held",
	"(<start: before pinscope started); ACQ/s REL/s pages pinned and released per second",
	"in the last interval.",
};

static bool is_key_row(const struct view *v, const struct holder_row *r)
{
	return v->have_key && r->pid == v->key_pid && r->subsystem == v->key_subsys &&
	       r->ustack == v->key_stack;
}

static void set_key(struct view *v, const struct holder_row *r)
{
	v->have_key = true;
	v->key_pid = r->pid;
	v->key_subsys = r->subsystem;
	v->key_stack = r->ustack;
}

static void expand(struct view *v)
{
	const struct holder_row *r;

	if (v->sel >= v->n)
		return;
	r = &v->rows[v->sel];
	set_key(v, r);
	v->nstack = r->nr_ustack < PS_MAX_STACK ? r->nr_ustack : PS_MAX_STACK;
	if (!v->sz)
		v->sz = symbolizer_new();
	for (int i = 0; i < v->nstack; i++) {
		char name[FRAME_LEN - 24];
		int n = snprintf(v->stack[i], FRAME_LEN, "0x%016llx",
				 (unsigned long long)r->ustack[i]);

		if (v->sz && !symbolize(v->sz, r->pid, r->ustack[i], name, sizeof(name)))
			snprintf(v->stack[i] + n, FRAME_LEN - n, " %s", name);
	}
	v->expanded = true;
}

static int stack_lines(const struct view *v)
{
	return v->expanded ? (v->nstack ? v->nstack : 1) + 1 : 0;
}

/* Keep the selection on screen, with its stack when expanded. */
static void scroll(struct view *v, int vis)
{
	int extra = v->expanded && v->sel < v->n && is_key_row(v, &v->rows[v->sel]) ? stack_lines(v)
										    : 0;

	if (v->sel < v->top)
		v->top = v->sel;
	if (v->sel + extra >= v->top + vis)
		v->top = v->sel + extra - vis + 1;
	if (v->top > v->sel)
		v->top = v->sel;
	if (v->top < 0)
		v->top = 0;
}

static void draw_rows(struct view *v, int *y)
{
	char buf[512];
	int vis = v->height - *y;

	if (v->help) {
		for (size_t i = 0; i < ARRAY_SIZE(help_text); i++)
			line(v, y, NULL, help_text[i], false);
		return;
	}
	if (!v->n) {
		line(v, y, NULL,
		     v->snap.holders ? "(no holder matches the filter)" : "(no pin holders seen)",
		     false);
		return;
	}
	scroll(v, vis);
	for (int i = v->top; i < v->n && *y < v->height; i++) {
		const struct holder_row *r = &v->rows[i];
		bool sel = i == v->sel;

		rows_text_str(buf, sizeof(buf), r, ROWS_LIVE);
		line(v, y, sel ? (v->color ? "\033[30;46m" : "\033[7m") : NULL, buf, sel);
		if (!v->expanded || !is_key_row(v, r))
			continue;
		snprintf(buf, sizeof(buf), INDENT "user stack of pid %u (%s), %d frame%s:", r->pid,
			 r->comm, v->nstack, v->nstack == 1 ? "" : "s");
		line(v, y, v->color ? "\033[36m" : NULL, buf, false);
		if (!v->nstack)
			line(v, y, NULL,
			     INDENT "  (none: the pins predate pinscope or were made by another "
				    "process)",
			     false);
		for (int s = 0; s < v->nstack; s++) {
			snprintf(buf, sizeof(buf), INDENT "  #%-2d %s", s, v->stack[s]);
			line(v, y, NULL, buf, false);
		}
	}
}

/* Rebuild the rows from the aggregate, keep the selection on its holder, draw everything. */
static void render(struct view *v)
{
	char snap[SNAP_LINES][SNAP_LINE_LEN];
	sigset_t tstp, old;
	int y = 0, nl;

	/* Continued after ^Z, or resized: take the terminal again, draw everything. */
	if (got_cont) {
		got_cont = 0;
		v->clear = true;
		if (tty_raw_mode())
			return;
	}
	if (got_winch) {
		got_winch = 0;
		term_size(v);
		v->clear = true;
	}
	if (!tty_raw)
		return; /* stopped, or the terminal is gone: nothing to draw on */
	v->n = rows_collect(v->a, v->rows, v->cap, &v->filt);
	rows_sort(v->rows, v->n, v->sort_col, v->reverse);
	snap_take(&v->snap, v->a);
	if (v->have_key)
		for (int i = 0; i < v->n; i++)
			if (is_key_row(v, &v->rows[i])) {
				v->sel = i;
				break;
			}
	if (v->sel >= v->n)
		v->sel = v->n ? v->n - 1 : 0;
	if (v->n)
		set_key(v, &v->rows[v->sel]);

	v->len = 0;
	outs(v, v->clear ? "\033[H\033[2J" : "\033[H");
	v->clear = false;
	nl = snap_text(&v->snap, snap);
	for (int i = 0; i < nl; i++)
		line(v, &y, i == 0 ? "\033[1m" : NULL, snap[i], false);
	status_line(v, &y);
	header_line(v, &y);
	draw_rows(v, &y);
	outs(v, "\033[J");
	/* A ^Z in the middle would leave the rest of the frame on the restored screen. */
	sigemptyset(&tstp);
	sigaddset(&tstp, SIGTSTP);
	sigprocmask(SIG_BLOCK, &tstp, &old);
	write_all(STDOUT_FILENO, v->fb, v->len);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/* ---- keys ---- */

/* Next key from buf (n bytes); sets *used. */
static int decode_key(const unsigned char *b, size_t n, size_t *used)
{
	static const struct {
		const char *seq;
		int key;
	} seqs[] = {
		{"[A", KEY_UP},	   {"[B", KEY_DOWN},  {"[C", KEY_RIGHT}, {"[D", KEY_LEFT},
		{"OA", KEY_UP},	   {"OB", KEY_DOWN},  {"OC", KEY_RIGHT}, {"OD", KEY_LEFT},
		{"[5~", KEY_PGUP}, {"[6~", KEY_PGDN}, {"[H", KEY_HOME},	 {"[F", KEY_END},
		{"OH", KEY_HOME},  {"OF", KEY_END},   {"[1~", KEY_HOME}, {"[4~", KEY_END},
	};

	*used = 1;
	if (b[0] != 0x1b)
		return b[0];
	if (n == 1)
		return KEY_ESC;
	for (size_t i = 0; i < ARRAY_SIZE(seqs); i++) {
		size_t l = strlen(seqs[i].seq);

		if (n - 1 >= l && !memcmp(b + 1, seqs[i].seq, l)) {
			*used = 1 + l;
			return seqs[i].key;
		}
	}
	/* Skip an unknown CSI/SS3 sequence whole: ESC [ params final-byte. */
	if (b[1] == '[' || b[1] == 'O') {
		size_t i = 2;

		while (i < n && (b[i] < 0x40 || b[i] > 0x7e))
			i++;
		*used = i < n ? i + 1 : n;
		return KEY_OTHER_SEQ;
	}
	return KEY_ESC;
}

static void apply_prompt(struct view *v)
{
	const char *in = v->input;
	uint64_t x;

	switch (v->prompt) {
	case 'p':
		if (!*in)
			v->filt.pid = 0;
		else if (!parse_u64(in, 4194304, &x) && x)
			v->filt.pid = x;
		else
			snprintf(v->msg, sizeof(v->msg), "'%s' is not a process id", in);
		break;
	case 'c':
		if (!*in)
			v->filt.cgroup_id = 0;
		else if (!cgname_parse(in, &x))
			v->filt.cgroup_id = x;
		else
			snprintf(v->msg, sizeof(v->msg),
				 "'%s': no such cgroup (a path under the cgroup2 mount, or an id)",
				 in);
		break;
	case 'f':
		if (!*in) {
			v->filt.subsys = NULL;
			break;
		}
		for (unsigned int s = 0; s < PS_SUB_MAX; s++)
			if (!strcmp(in, subsys_name(s))) {
				snprintf(v->subsys, sizeof(v->subsys), "%.31s", in);
				v->filt.subsys = v->subsys;
				return;
			}
		snprintf(v->msg, sizeof(v->msg), "'%s' is not a subsystem", in);
		break;
	}
}

/* A key while a prompt is open. */
static void prompt_key(struct view *v, int k)
{
	if (k == '\r' || k == '\n') {
		apply_prompt(v);
		v->prompt = 0;
	} else if (k == KEY_ESC) {
		v->prompt = 0;
	} else if ((k == 0x7f || k == 0x08) && v->ilen) {
		v->input[--v->ilen] = 0;
	} else if (k >= 0x20 && k < 0x7f && v->ilen + 1 < sizeof(v->input)) {
		v->input[v->ilen++] = k;
		v->input[v->ilen] = 0;
	}
}

static void move_sel(struct view *v, int to)
{
	if (to >= v->n)
		to = v->n - 1;
	if (to < 0)
		to = 0;
	v->sel = to;
	if (v->n)
		set_key(v, &v->rows[v->sel]);
}

/* Returns -1 to quit, 1 to take a fresh snapshot, 0 when drawing again is enough. */
static int key(struct view *v, int k)
{
	int page = v->height - HEAD_LINES > 1 ? v->height - HEAD_LINES - 1 : 1;

	v->msg[0] = 0;
	if (v->prompt) {
		prompt_key(v, k);
		return 0;
	}
	if (v->help) {
		v->help = false;
		return 0;
	}
	switch (k) {
	case 'q':
	case 'Q':
		return -1;
	case '?':
	case 'h':
		v->help = true;
		return 0;
	case 's':
	case '>':
	case KEY_RIGHT:
		v->sort_col = rows_col_next(v->sort_col, 1, ROWS_LIVE);
		return 0;
	case '<':
	case KEY_LEFT:
		v->sort_col = rows_col_next(v->sort_col, -1, ROWS_LIVE);
		return 0;
	case 'r':
	case 'R':
		v->reverse = !v->reverse;
		return 0;
	case 'p':
	case 'c':
	case 'f':
		v->prompt = k;
		v->ilen = 0;
		v->input[0] = 0;
		return 0;
	case '=':
		v->filt.pid = 0;
		v->filt.cgroup_id = 0;
		v->filt.subsys = NULL;
		return 0;
	case KEY_UP:
		move_sel(v, v->sel - 1);
		return 0;
	case KEY_DOWN:
		move_sel(v, v->sel + 1);
		return 0;
	case KEY_PGUP:
		move_sel(v, v->sel - page);
		return 0;
	case KEY_PGDN:
		move_sel(v, v->sel + page);
		return 0;
	case KEY_HOME:
		move_sel(v, 0);
		return 0;
	case KEY_END:
		move_sel(v, v->n - 1);
		return 0;
	case '\r':
	case '\n':
	case 'x':
		if (v->expanded && v->sel < v->n && is_key_row(v, &v->rows[v->sel]))
			v->expanded = false;
		else
			expand(v);
		return 0;
	case 0x0c: /* ^L */
		v->clear = true;
		return 0;
	case KEY_OTHER_SEQ:
	case KEY_ESC:
		return 0;
	default:
		return 1;
	}
}

static int read_keys(struct view *v)
{
	unsigned char buf[64];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
	int ret = 0;

	if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
		return -1; /* the terminal went away */
	for (size_t i = 0; n > 0 && i < (size_t)n;) {
		size_t used;
		int r = key(v, decode_key(buf + i, n - i, &used));

		i += used;
		if (r < 0)
			return -1;
		if (r > 0)
			ret = 1;
	}
	if (!ret)
		render(v);
	return ret;
}

int view_wait(void *ctx, int ring_fd, int timeout_ms)
{
	struct view *v = ctx;
	struct pollfd p[2] = {{.fd = STDIN_FILENO, .events = POLLIN},
			      {.fd = ring_fd, .events = POLLIN}};
	int n;

	if (!v->active) {
		int err = view_start(v);

		if (err) {
			tty_restore();
			fprintf(stderr, "pinscope: top: terminal: %s\n", strerror(-err));
			return -1;
		}
		render(v);
	}
	if (got_cont || got_winch) {
		render(v);
		if (!tty_raw)
			return -1;
	}
	n = poll(p, 2, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -1;
	if (p[0].revents & (POLLHUP | POLLERR | POLLNVAL))
		return -1;
	if (p[0].revents & POLLIN)
		return read_keys(v);
	return 0;
}

int view_tick(void *ctx, struct agg *a)
{
	struct view *v = ctx;

	v->a = a;
	if (!v->active)
		return 0;
	top_trim_memory();
	render(v);
	v->ticks++;
	return v->iterations && v->ticks >= v->iterations;
}
