#!/usr/bin/env bats
# pinscope record and report FILE. Ground truth: the live report of the same run (byte for byte),
# the workload's own numbers (pinload: pages pinned), the file system (mode, size, symlinks).
load helpers

setup() {
	need_root
	[ -x "$PINSCOPE_TOOLS/pinload" ] || skip "pinload not built"
	F=$BATS_TEST_TMPDIR/run.pstrace
}

teardown() {
	[ -n "${PS_PID:-}" ] && kill -INT "$PS_PID" 2>/dev/null && wait "$PS_PID" 2>/dev/null
	[ -n "${LOOP_PID:-}" ] && kill "$LOOP_PID" 2>/dev/null && wait "$LOOP_PID" 2>/dev/null
	[ -n "${WL_PID:-}" ] && stop_workload
	cg_remove
	true
}

# "pinned_pages state" of pid $2's io_uring holder in report JSON $1
pinned() {
	json_get "$1" "' '.join(str(x) for h in d['holders'] if h['pid']==$2 and h['subsystem']=='io_uring' for x in (h['pinned_pages'],h['state']))"
}

# Run `pinscope ARGS`, stdout to $OUT, stderr to $ERR, exit code in $RC.
run_split() {
	OUT=$BATS_TEST_TMPDIR/out
	ERR=$BATS_TEST_TMPDIR/err
	RC=0
	"$PINSCOPE" "$@" >"$OUT" 2>"$ERR" || RC=$?
}

@test "record -d: stops by itself, file mode 0600, report reads it whole (exit 0)" {
	start_workload pinload --bufs 2 --pages 8
	pid=$(field "$READY_LINE" pid)
	run_split record -o "$F" -d 0.5 -p "$pid"
	[ "$RC" -eq 0 ]
	grep -q 'stopped: duration' "$ERR"
	[ "$(stat -c %a "$F")" = 600 ]
	run_split report "$F" -j
	[ "$RC" -eq 0 ]
	[ ! -s "$ERR" ]
	[ "$(pinned "$OUT" "$pid")" = "16 alive" ]
}

@test "record stops cleanly on SIGINT and on SIGTERM, leaving a complete file" {
	for sig in INT TERM; do
		rm -f "$F"
		start_pinscope record -o "$F"
		kill -"$sig" "$PS_PID"
		rc=0
		wait "$PS_PID" || rc=$?
		PS_PID=
		[ "$rc" -eq 0 ]
		grep -q 'stopped: signal' "$PS_ERR"
		run_split report "$F" -j
		[ "$RC" -eq 0 ]
		[ "$(json_get "$OUT" "d['duration_ns'] > 0")" = True ]
	done
}

@test "--size-limit: stops by itself under the limit, the file reads whole" {
	# A workload that registers and unregisters buffers as fast as it can.
	"$PINSCOPE_TOOLS/pinload" --bufs 64 --pages 1 --loop 100000000 >/dev/null 2>&1 &
	LOOP_PID=$!
	# --churn-window 0: every operation is a record (else BPF counts the pairs).
	run_split record -o "$F" --size-limit 64K -d 120 -p "$LOOP_PID" --churn-window 0
	[ "$RC" -eq 0 ]
	grep -q 'stopped: size_limit' "$ERR"
	size=$(stat -c %s "$F")
	[ "$size" -le 65536 ]
	[ "$size" -gt 32768 ]
	run_split report "$F" -j
	[ "$RC" -eq 0 ]
	# The cut can fall inside a re-statement: the pid may also have an unattributed row.
	[ "$(json_get "$OUT" "any(h['acquired_pages'] > 0 for h in d['holders'] if h['pid']==$LOOP_PID and h['subsystem']=='io_uring')")" = True ]
}

@test "a symbolic link as FILE is refused (O_NOFOLLOW); its target is left alone" {
	echo keep >"$BATS_TEST_TMPDIR/target"
	ln -s "$BATS_TEST_TMPDIR/target" "$F"
	run_split record -o "$F" -d 0.2
	[ "$RC" -eq 1 ]
	grep -q 'symbolic link' "$ERR"
	[ "$(wc -l <"$ERR")" -eq 1 ]
	[ "$(cat "$BATS_TEST_TMPDIR/target")" = keep ]
	run_split report -d 0.2 -o "$F"
	[ "$RC" -eq 1 ]
	[ "$(cat "$BATS_TEST_TMPDIR/target")" = keep ]
}

@test "replay equivalence: report FILE -j equals the live report -j byte for byte" {
	# Pins that predate the run (seeded), pins released and made again while recording: 40
	# buffers, sent as one PIN record with the stack and PINS records of 16, 16 and 7 buffers.
	start_workload pinload --bufs 40 --pages 2
	pid=$(field "$READY_LINE" pid)
	start_pinscope report -d 300 -j -p "$pid" -o "$F"
	[ "$(field "$(wl_cmd unregister)" vmpin_kb)" -eq 0 ]
	[ "$(field "$(wl_cmd register)" vmpin_kb)" -eq 320 ]
	stop_pinscope
	PS_PID=
	# The seeded pins were released (a holder without a stack), then pinned again (with one).
	[ "$(json_get "$PS_OUT" "sum(h['pinned_pages'] for h in d['holders'] if h['pid']==$pid)")" -eq 80 ]
	[ "$(json_get "$PS_OUT" "sum(h['pins'] for h in d['holders'] if h['pid']==$pid)")" -eq 40 ]
	[ "$(json_get "$PS_OUT" "sum(h['released_pages'] for h in d['holders'] if h['pid']==$pid)")" -eq 80 ]
	# The workload is gone before the file is read: the names of its stack can only come from
	# the recording, as on another host.
	stop_workload
	WL_PID=
	run_split report "$F" -j
	[ "$RC" -eq 0 ]
	cmp "$PS_OUT" "$OUT"
	[ "$(json_get "$OUT" "[s['frames'][0]['symbol'] is not None for s in d['stacks'] if s['pid']==$pid][0]")" = True ]
}

@test "replay equivalence with churn: pairs counted in BPF replay to the same report" {
	start_workload pinload --bufs 2 --pages 4 --no-register
	pid=$(field "$READY_LINE" pid)
	start_pinscope report -d 300 -j -p "$pid" -o "$F"
	[ "$(field "$(wl_cmd "loop 5000")" ops)" -eq 5000 ]
	[ "$(field "$(wl_cmd register)" vmpin_kb)" -eq 32 ]
	stop_pinscope
	PS_PID=
	[ "$(json_get "$PS_OUT" "sum(h['acquired_pages'] for h in d['holders'] if h['pid']==$pid)")" -eq 40008 ]
	[ "$(json_get "$PS_OUT" "sum(h['churn_pairs'] for h in d['holders'] if h['pid']==$pid) > 0")" = True ]
	run_split report "$F" -j
	[ "$RC" -eq 0 ]
	cmp "$PS_OUT" "$OUT"
}

@test "a truncated copy: exit 4, the damage in one line, the holder still reported" {
	start_workload pinload --bufs 4 --pages 16
	pid=$(field "$READY_LINE" pid)
	run_split record -o "$F" -d 0.5 -p "$pid"
	[ "$RC" -eq 0 ]
	size=$(stat -c %s "$F")
	head -c $((size - 40)) "$F" >"$BATS_TEST_TMPDIR/cut.pstrace"
	run_split report "$BATS_TEST_TMPDIR/cut.pstrace" -j
	[ "$RC" -eq 4 ]
	[ "$(wc -l <"$ERR")" -eq 1 ]
	grep -q 'damaged recording' "$ERR"
	[ "$(pinned "$OUT" "$pid")" = "64 alive" ]
	# Text mode says the same.
	run_split report "$BATS_TEST_TMPDIR/cut.pstrace"
	[ "$RC" -eq 4 ]
	grep -q "^ *$pid pinload *io_uring" "$OUT"
}

@test "not a recording, or a newer format: one line, exit 2" {
	echo "hello" >"$F"
	run_split report "$F"
	[ "$RC" -eq 2 ]
	[ "$(wc -l <"$ERR")" -eq 1 ]
	grep -q 'not a pinscope recording' "$ERR"
	run_split record -o "$F" -d 0.2
	[ "$RC" -eq 0 ]
	printf '\x7f' | dd of="$F" bs=1 seek=8 conv=notrunc status=none
	run_split report "$F" -j
	[ "$RC" -eq 2 ]
	grep -q 'newer than this pinscope reads' "$ERR"
	run_split report "$BATS_TEST_TMPDIR/none.pstrace"
	[ "$RC" -eq 2 ]
	# an endless stream that is not a recording: said at once (it was read up to 4 GiB)
	RC=0
	timeout 10 "$PINSCOPE" report /dev/zero >"$OUT" 2>"$ERR" || RC=$?
	[ "$RC" -eq 2 ]
	grep -q 'not a pinscope recording' "$ERR"
	# a recording through a pipe reads whole
	run_split record -o "$F" -d 0.2
	RC=0
	cat "$F" | "$PINSCOPE" report /dev/stdin -j >"$OUT" 2>"$ERR" || RC=$?
	[ "$RC" -eq 0 ]
	json_get "$OUT" "d['duration_ns']" >/dev/null
}

# A VM's cgroup is its name on a host; after an incident the VM, and its cgroup, may be gone.
@test "a recording names the cgroups it saw: report FILE after the cgroup is removed" {
	cg_make
	start_workload pinload --bufs 1 --pages 8 --no-register
	pid=$(field "$READY_LINE" pid)
	cg_add "$pid"
	start_pinscope record -o "$F" -p "$pid"
	[ "$(field "$(wl_cmd register)" vmpin_kb)" -eq 32 ]
	stop_pinscope
	PS_PID=
	run_split report "$F" -j
	[ "$RC" -eq 0 ]
	[ "$(json_get "$OUT" "[h['cgroup'] for h in d['holders'] if h['pid']==$pid]")" = "['/$CG']" ]
	stop_workload
	WL_PID=
	cg_remove
	[ ! -d "$CG_MNT/$CG" ]
	run_split report "$F" -j
	[ "$RC" -eq 0 ]
	[ "$(json_get "$OUT" "[h['cgroup'] for h in d['holders'] if h['pid']==$pid]")" = "['/$CG']" ]
}

@test "--ring: SIGUSR1 writes the last window; report reads it; the ring goes on" {
	start_workload pinload --bufs 2 --pages 8
	pid=$(field "$READY_LINE" pid)
	start_pinscope record --ring 30s -o "$F" -p "$pid"
	kill -USR1 "$PS_PID"
	wait_line "$PS_ERR" 20 "wrote the last .* to $F\$"
	[ "$(stat -c %a "$F")" = 600 ]
	run_split report "$F" -j
	[ "$RC" -eq 0 ]
	[ "$(pinned "$OUT" "$pid")" = "16 alive" ]
	# A second request makes a second file; the end of the run a third.
	[ "$(field "$(wl_cmd unregister)" vmpin_kb)" -eq 0 ]
	kill -USR1 "$PS_PID"
	wait_line "$PS_ERR" 20 "wrote the last .* to $F.1\$"
	stop_pinscope
	PS_PID=
	[ -f "$F.2" ]
	run_split report "$F.1" -j
	[ "$RC" -eq 0 ]
	[ "$(pinned "$OUT" "$pid")" = "0 released" ]
}

@test "the reader survives libFuzzer (10 s, seeded with a real recording)" {
	run_split record -o "$F" -d 0.3
	[ "$RC" -eq 0 ]
	rc=0
	out=$("$BATS_TEST_DIRNAME/../fuzz/run.sh" 10 "$F") || rc=$?
	[ "$rc" -eq 77 ] && skip "clang cannot build libFuzzer targets here"
	echo "$out"
	[ "$rc" -eq 0 ]
}

@test "a recording's report survives libFuzzer (10 s, seeded with a recording of pins)" {
	start_workload pinload --bufs 2 --pages 8
	run_split record -o "$F" -d 0.3
	[ "$RC" -eq 0 ]
	rc=0
	out=$("$BATS_TEST_DIRNAME/../fuzz/run.sh" -t report 10 "$F") || rc=$?
	[ "$rc" -eq 77 ] && skip "clang cannot build libFuzzer targets here"
	echo "$out"
	[ "$rc" -eq 0 ]
}

@test "the aggregate and both reports survive records of any contents (libFuzzer, 10 s)" {
	rc=0
	out=$("$BATS_TEST_DIRNAME/../fuzz/run.sh" -t events 10) || rc=$?
	[ "$rc" -eq 77 ] && skip "clang cannot build libFuzzer targets here"
	echo "$out"
	[ "$rc" -eq 0 ]
}

@test "without privileges: record leaves no file behind; report FILE still reads" {
	command -v setpriv >/dev/null || skip "setpriv (util-linux) not installed"
	run_split record -o "$F" -d 0.2
	[ "$RC" -eq 0 ]
	chmod 0644 "$F"
	# A directory the unprivileged user may write to (the test's own is root's alone).
	npdir=$(mktemp -d /tmp/pinscope-np.XXXXXX)
	chmod 0777 "$npdir"
	rc=0
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$PINSCOPE" record -o "$npdir/np.pstrace" -d 0.2 2>/dev/null || rc=$?
	left=$(ls -A "$npdir")
	rm -rf "$npdir"
	[ "$rc" -eq 1 ]
	[ -z "$left" ]
	rc=0
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$PINSCOPE" report /dev/stdin -j <"$F" >"$BATS_TEST_TMPDIR/np.json" || rc=$?
	[ "$rc" -eq 0 ]
	[ "$(json_get "$BATS_TEST_TMPDIR/np.json" "d['duration_ns'] > 0")" = True ]
}
