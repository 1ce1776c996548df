#!/usr/bin/env bats
# pinscope top: the real full-screen view, driven in tmux (send-keys, capture-pane), with pinload
# holding a known number of pages. Ground truth: the workload's own VmPin (/proc/PID/status),
# printed on each of its answer lines. Every wait polls for what should appear, no fixed sleeps.
load helpers

setup() {
	need_root
	command -v tmux >/dev/null || skip "tmux not installed"
	[ -x "$PINSCOPE_TOOLS/pinload" ] || skip "pinload not built"
	SOCK="pinscope-top-$$-$BATS_TEST_NUMBER"
	SCREEN="$BATS_TEST_TMPDIR/screen"
	WL_PIDS=() WL_FDS=() WL_OUTS=()
}

teardown() {
	tmux -L "$SOCK" kill-server 2>/dev/null || true
	[ -n "${PS_PID:-}" ] && kill -INT "$PS_PID" 2>/dev/null && wait "$PS_PID" 2>/dev/null
	for i in "${!WL_PIDS[@]}"; do
		echo exit >&"${WL_FDS[$i]}" 2>/dev/null || true
		eval "exec ${WL_FDS[$i]}>&-"
		wait "${WL_PIDS[$i]}" 2>/dev/null || true
	done
	cg_remove
}

# ---- workloads: pinload instances, each answering on its own fifo ----

# wl_start ARGS...: start a pinload, wait for its ready line; sets N (its index) and LINE.
wl_start() {
	local fifo out fd
	N=${#WL_PIDS[@]}
	fifo="$BATS_TEST_TMPDIR/wl$N.in"
	out="$BATS_TEST_TMPDIR/wl$N.out"
	mkfifo "$fifo"
	"$PINSCOPE_TOOLS/pinload" "$@" <"$fifo" >"$out" 2>&1 &
	WL_PIDS[N]=$!
	exec {fd}>"$fifo"
	WL_FDS[N]=$fd
	WL_OUTS[N]=$out
	wait_line "$out" 20 '^ready ' || { cat "$out"; return 1; }
	LINE=$(grep -m1 '^ready ' "$out")
}

# wl_cmd I CMD: send CMD to workload I, wait for its answer; sets LINE.
wl_cmd() {
	local out=${WL_OUTS[$1]} n
	n=$(grep -c . "$out")
	echo "$2" >&"${WL_FDS[$1]}"
	timeout 20 bash -c "until [ \$(grep -c . '$out') -gt $n ]; do sleep 0.02; done"
	LINE=$(tail -1 "$out")
	[[ "$LINE" == "$2 ok "* ]] || { echo "$LINE"; return 1; }
}

# ---- the view in tmux ----

# view_start ARGS...: run `pinscope top ARGS -v` full-screen in a 120x30 tmux pane, from a
# shell that records the terminal modes before and after and the exit status; wait for ready.
view_start() {
	local script="$BATS_TEST_TMPDIR/view.sh"
	ERR="$BATS_TEST_TMPDIR/view.err"
	RC="$BATS_TEST_TMPDIR/view.rc"
	rm -f "$ERR" "$RC"
	{
		echo "stty -a >'$BATS_TEST_TMPDIR/stty.before'"
		printf '%q ' "$PINSCOPE" top "$@" -v
		echo "2>'$ERR'"
		echo "echo \$? >'$RC.tmp'"
		echo "stty -a >'$BATS_TEST_TMPDIR/stty.after'"
		echo "mv '$RC.tmp' '$RC'"
		echo "exec sleep 600"
	} >"$script"
	tmux -L "$SOCK" -f /dev/null new-session -d -s v -x 120 -y 30 "bash --norc --noprofile $script"
	wait_line "$ERR" 30 'pinscope: ready' || { cat "$ERR"; return 1; }
}

capture() {
	tmux -L "$SOCK" capture-pane -p "$@" -t v >"$SCREEN"
}

# screen_wait REGEX [SECONDS]: poll the pane until a line matches.
screen_wait() {
	local re=$1 end=$((SECONDS + ${2:-20}))
	while :; do
		capture
		grep -qE -- "$re" "$SCREEN" && return 0
		if [ "$SECONDS" -ge "$end" ]; then
			echo "screen never showed /$re/:"
			cat "$SCREEN"
			return 1
		fi
		sleep 0.05
	done
}

keys() {
	tmux -L "$SOCK" send-keys -t v "$@"
}

# The screen row of a holder: "PAGES VMPIN_KB" (PINNED takes two words, "256.0 KiB").
row_of() {
	awk -v pid="$1" '$1 == pid && $3 == "io_uring" { print $5, $9; exit }' "$SCREEN"
}

# Line number of pid's row on the screen.
line_of() {
	awk -v pid="$1" '$1 == pid { print NR; exit }' "$SCREEN"
}

@test "view: the holder's PAGES and VMPIN_KB on screen equal the workload's pages and VmPin" {
	wl_start --no-register --bufs 4 --pages 16
	pid=$(field "$LINE" pid)
	view_start -i 0.3 -p "$pid"
	screen_wait '^ *PID +COMM +SUBSYS +PINS +PAGES'
	wl_cmd 0 register
	pages=$(field "$LINE" pages) vmpin=$(field "$LINE" vmpin_kb)
	[ "$pages" -eq 64 ] && [ "$vmpin" -eq 256 ]
	screen_wait "^ *$pid +pinload +io_uring +4 +$pages "
	[ "$(row_of "$pid")" = "$pages $vmpin" ]
	# The header sums the same pages; the rate column saw them arrive.
	grep -q "long-term pinned: $pages pages" "$SCREEN"
	# Unregistering takes them away again, on screen and in VmPin.
	wl_cmd 0 unregister
	[ "$(field "$LINE" vmpin_kb)" -eq 0 ]
	screen_wait "^ *$pid +pinload +io_uring +0 +0 "
	[ "$(row_of "$pid")" = "0 0" ]
}

@test "view: sort keys (r, <, >, s) reorder the rows and say so" {
	cg_make
	wl_start --no-register --bufs 4 --pages 16
	cg_add "${WL_PIDS[0]}"
	wl_start --no-register --bufs 1 --pages 16
	cg_add "${WL_PIDS[1]}"
	big=${WL_PIDS[0]} small=${WL_PIDS[1]}
	view_start -i 0.3 -c "$CG_MNT/$CG"
	wl_cmd 0 register
	wl_cmd 1 register
	screen_wait "^ *$small +pinload +io_uring +1 +16 "
	screen_wait "^ *$big +pinload +io_uring +4 +64 "
	grep -q '^sort PAGES ' "$SCREEN"
	[ "$(line_of "$big")" -lt "$(line_of "$small")" ]
	keys r
	screen_wait '^sort PAGES \(reversed\)'
	[ "$(line_of "$small")" -lt "$(line_of "$big")" ]
	keys r '<'
	screen_wait '^sort PINS '
	keys '<' '<' '<'
	screen_wait '^sort PID '
	if [ "$small" -lt "$big" ]; then
		[ "$(line_of "$small")" -lt "$(line_of "$big")" ]
	else
		[ "$(line_of "$big")" -lt "$(line_of "$small")" ]
	fi
	keys '>' s
	screen_wait '^sort SUBSYS '
}

@test "view: filter keys p, c, f show only matching holders; = clears them" {
	cg_make
	# One holder outside the cgroup, pinned before pinscope starts...
	wl_start --bufs 2 --pages 8
	out=${WL_PIDS[0]}
	# ...and two inside it, pinned while the view runs.
	wl_start --no-register --bufs 1 --pages 8
	cg_add "${WL_PIDS[1]}"
	wl_start --no-register --bufs 1 --pages 4
	cg_add "${WL_PIDS[2]}"
	in1=${WL_PIDS[1]} in2=${WL_PIDS[2]}
	view_start -i 0.3
	wl_cmd 1 register
	wl_cmd 2 register
	keys p "$out" Enter
	screen_wait "filter pid=$out "
	screen_wait "^ *$out +pinload +io_uring +2 +16 "
	[ -z "$(line_of "$in1")" ] && [ -z "$(line_of "$in2")" ]
	keys =
	screen_wait '^sort .* filter none '
	keys c "/$CG" Enter
	screen_wait "filter cgroup=/$CG "
	screen_wait "^ *$in1 +pinload +io_uring +1 +8 "
	screen_wait "^ *$in2 +pinload +io_uring +1 +4 "
	[ -z "$(line_of "$out")" ]
	grep -q "shown 2 of " "$SCREEN"
	keys f vfio Enter
	screen_wait '\(no holder matches the filter\)'
	keys f io_uring Enter
	screen_wait "^ *$in1 +pinload "
	keys c /no/such/cgroup Enter
	screen_wait "'/no/such/cgroup': no such cgroup"
}

@test "view: Enter expands the selected row to its user stack, symbolized" {
	wl_start --no-register --bufs 1 --pages 4
	pid=$(field "$LINE" pid)
	view_start -i 0.3 -p "$pid"
	wl_cmd 0 register
	screen_wait "^ *$pid +pinload +io_uring +1 +4 "
	keys Enter
	screen_wait "user stack of pid $pid \(pinload\), [0-9]+ frames?:"
	# Frame 0 is inside the C library's syscall wrapper that made the registration.
	screen_wait '#0 +0x[0-9a-f]{16} [A-Za-z_][A-Za-z0-9_.]*\+0x[0-9a-f]+ \(libc\.so\.6\)'
	keys x
	screen_wait "^ *$pid +pinload "
	! grep -q "user stack of pid" "$SCREEN"
}

@test "view: q quits with status 0 and restores the terminal (modes, screen, cursor)" {
	view_start -i 0.3
	screen_wait '^ *PID +COMM +SUBSYS'
	[ "$(tmux -L "$SOCK" display -p -t v '#{alternate_on}')" = 1 ]
	keys '?'
	screen_wait 'any other key +refresh now'
	keys Escape
	screen_wait '^ *PID +COMM +SUBSYS'
	keys q
	wait_line "$RC" 20 '^[0-9]+$'
	[ "$(cat "$RC")" -eq 0 ]
	diff "$BATS_TEST_TMPDIR/stty.before" "$BATS_TEST_TMPDIR/stty.after"
	[ "$(tmux -L "$SOCK" display -p -t v '#{alternate_on} #{cursor_flag}')" = "0 1" ]
}

@test "view: SIGTERM also restores the terminal" {
	view_start -i 0.3
	screen_wait '^ *PID +COMM +SUBSYS'
	pane=$(tmux -L "$SOCK" display -p -t v '#{pane_pid}')
	pid=$(pgrep -P "$pane" -f 'top -i 0.3')
	kill -TERM "$pid"
	wait_line "$RC" 20 '^[0-9]+$'
	[ "$(cat "$RC")" -eq 0 ]
	diff "$BATS_TEST_TMPDIR/stty.before" "$BATS_TEST_TMPDIR/stty.after"
	[ "$(tmux -L "$SOCK" display -p -t v '#{alternate_on} #{cursor_flag}')" = "0 1" ]
}

@test "view: ^Z gives the terminal back, fg takes it again" {
	ERR="$BATS_TEST_TMPDIR/view.err"
	tmux -L "$SOCK" -f /dev/null new-session -d -s v -x 120 -y 30 "bash --norc --noprofile -i"
	keys "$(printf '%q ' "$PINSCOPE" top -i 0.3 -v) 2>'$ERR'" Enter
	wait_line "$ERR" 30 'pinscope: ready' || { cat "$ERR"; return 1; }
	screen_wait '^ *PID +COMM +SUBSYS'
	keys C-z
	screen_wait 'Stopped'
	[ "$(tmux -L "$SOCK" display -p -t v '#{alternate_on} #{cursor_flag}')" = "0 1" ]
	! grep -qE '^ *PID +COMM' "$SCREEN"
	keys fg Enter
	screen_wait '^ *PID +COMM +SUBSYS'
	[ "$(tmux -L "$SOCK" display -p -t v '#{alternate_on}')" = 1 ]
	keys q
	timeout 20 bash -c "until [ \"\$(tmux -L '$SOCK' display -p -t v '#{alternate_on}')\" = 0 ]; do sleep 0.05; done"
	capture
	! grep -qE '^ *PID +COMM' "$SCREEN"
}

@test "view: a terminal resize redraws at the new size" {
	view_start -i 5
	screen_wait '^ *PID +COMM +SUBSYS'
	tmux -L "$SOCK" resize-window -t v -x 70 -y 20
	# The -i 5 tick is far away: only SIGWINCH can have redrawn it this soon. The vmstat line
	# is longer than 70 columns: it must now be cut at exactly 70.
	end=$((SECONDS + 3))
	until capture && grep -qE '^vmstat: .{62}$' "$SCREEN"; do
		[ "$SECONDS" -lt "$end" ] || { cat "$SCREEN"; false; }
		sleep 0.05
	done
	[ "$(awk 'length > 70' "$SCREEN" | wc -l)" -eq 0 ]
	grep -q '^sort PAGES' "$SCREEN"
}

@test "view: colour only where TERM has it and NO_COLOR is unset" {
	wl_start --no-register --bufs 1 --pages 4
	pid=$(field "$LINE" pid)
	view_start -i 0.3 -p "$pid"
	wl_cmd 0 register
	screen_wait "^ *$pid +pinload "
	capture -e
	grep -q $'\e\\[[0-9;]*46m' "$SCREEN" # the selected row: cyan bar
	tmux -L "$SOCK" kill-server
	NO_COLOR=1 view_start -i 0.3 -p "$pid"
	screen_wait "^ *$pid +pinload "
	capture -e
	! grep -q $'\e\\[[0-9;]*4[0-9]m' "$SCREEN"
	grep -q $'\e\\[[0-9;]*7m' "$SCREEN" # reverse video still marks it
}

@test "batch: -b -n 2 prints exactly 2 snapshots, each with its header and rows" {
	wl_start --bufs 2 --pages 8
	pid=$(field "$LINE" pid)
	run "$PINSCOPE" top -b -n 2 -i 0.2 -p "$pid"
	[ "$status" -eq 0 ]
	[ "$(grep -c '^pinscope top: ' <<<"$output")" -eq 2 ]
	[ "$(grep -cE '^ *PID +COMM +SUBSYS' <<<"$output")" -eq 2 ]
	[ "$(grep -cE "^ *$pid +pinload +io_uring +2 +16 " <<<"$output")" -eq 2 ]
	! grep -q $'\e' <<<"$output"
}

@test "batch: stdout not a terminal implies batch mode" {
	"$PINSCOPE" top -n 1 -i 0.2 >"$BATS_TEST_TMPDIR/out" </dev/null
	grep -q '^pinscope top: ' "$BATS_TEST_TMPDIR/out"
	! grep -q $'\e' "$BATS_TEST_TMPDIR/out"
}

@test "json: -j prints one valid JSON object per interval; rates and VmPin agree with the workload" {
	wl_start --no-register --bufs 2 --pages 32
	pid=$(field "$LINE" pid)
	start_pinscope top -j -i 0.3 -n 6 -p "$pid"
	wl_cmd 0 register
	vmpin=$(field "$LINE" vmpin_kb)
	wait "$PS_PID"
	PS_PID=
	[ "$(wc -l <"$PS_OUT")" -eq 6 ]
	python3 - "$PS_OUT" "$pid" "$vmpin" <<'PY'
import json, sys
path, pid, vmpin = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
snaps = [json.loads(l) for l in open(path)]
for s in snaps:
    for k in ("elapsed_ns", "interval_ns", "totals", "vmstat", "events_by_tier", "losses", "holders"):
        assert k in s, k
last = [h for h in snaps[-1]["holders"] if h["pid"] == pid][0]
assert last["pinned_pages"] == 64 and last["vmpin_kb"] == vmpin == 256, last
# The interval that saw the registration: rate * interval = the 64 pages it pinned.
acq = [(h["acquire_pages_per_s"], s["interval_ns"]) for s in snaps for h in s["holders"]
       if h["pid"] == pid and h["acquire_pages_per_s"] > 0]
assert len(acq) == 1, acq
assert round(acq[0][0] * acq[0][1] / 1e9) == 64, acq
PY
}
