#!/usr/bin/env bats
# Pin holders against the kernel's own numbers (VmPin of the workload, which io_uring charges).
bats_require_minimum_version 1.5.0
load helpers

setup() {
	need_root
	[ -x "$PINSCOPE_TOOLS/pinload" ] || skip "pinload not built"
}

teardown() {
	[ -n "${PS_PID:-}" ] && kill -INT "$PS_PID" 2>/dev/null && wait "$PS_PID" 2>/dev/null
	[ -n "${WL_PID:-}" ] && stop_workload
	true
}

# The holder of pid $2 in report JSON $1, as "pages charged vmpin_kb subsystem comm state before_start backing"
holder() {
	json_get "$1" "' '.join(str(x) for h in d['holders'] if h['pid']==$2 for x in (h['pinned_pages'],h['charged_pages'],h['vmpin_kb'],h['subsystem'],h['comm'],h['state'],h['before_start'],h['backing']))"
}

# Compare, and on a mismatch show what pinscope said.
check_holder() {
	local got
	got=$(holder "$1" "$2")
	if [ "$got" != "$3" ]; then
		echo "pid $2: got '$got', want '$3'"
		cat "$1"
		[ -n "${PS_ERR:-}" ] && cat "$PS_ERR"
		return 1
	fi
}

# With pinscope running: pinload pins BUFS x PAGES pages (VmPin says so) and unregisters them
# (VmPin 0); pinscope stops and must have counted every page acquired and released. Sets pid.
pin_then_unregister() {
	local pages=$(($1 * $2)) out
	start_workload pinload --bufs "$1" --pages "$2"
	pid=$(field "$READY_LINE" pid)
	[ "$(field "$READY_LINE" vmpin_kb)" -eq $((pages * 4)) ]
	out=$(wl_cmd unregister)
	[ "$(field "$out" vmpin_kb)" -eq 0 ]
	stop_pinscope
	[ "$(json_get "$PS_OUT" "[h['acquired_pages'] for h in d['holders'] if h['pid']==$pid][0]")" -eq "$pages" ]
	[ "$(json_get "$PS_OUT" "[h['released_pages'] for h in d['holders'] if h['pid']==$pid][0]")" -eq "$pages" ]
}

@test "pins that predate pinscope: exact pages against VmPin, marked before start" {
	start_workload pinload --bufs 4 --pages 16
	pid=$(field "$READY_LINE" pid)
	vmpin=$(field "$READY_LINE" vmpin_kb)
	[ "$vmpin" -eq 256 ]
	run --separate-stderr "$PINSCOPE" report -d 0.3 -j
	[ "$status" -eq 0 ]
	echo "$output" >"$BATS_TEST_TMPDIR/r.json"
	check_holder "$BATS_TEST_TMPDIR/r.json" "$pid" "64 64 256 io_uring pinload alive True anon"
	[ "$(json_get "$BATS_TEST_TMPDIR/r.json" "[p['reconciliation'] for p in d['processes'] if p['pid']==$pid][0]")" = exact ]
}

@test "pins made while tracing: exact, then unregister brings the holder to zero" {
	start_pinscope report -d 300 -j
	pin_then_unregister 3 100
	holder "$PS_OUT" "$pid" >"$BATS_TEST_TMPDIR/h"
	[ "$(cat "$BATS_TEST_TMPDIR/h")" = "0 0 0 io_uring pinload released False anon" ]
	# /proc/vmstat is global (other processes pin too): it saw at least these 300 pages.
	[ "$(json_get "$PS_OUT" "d['vmstat']['foll_pin_acquired_delta']")" -ge 300 ]
	[ "$(json_get "$PS_OUT" "d['vmstat']['foll_pin_released_delta']")" -ge 300 ]
}

@test "40 buffers alternating anonymous and file memory: every buffer, page and backing, exact against VmPin" {
	# The buffers after the first travel 16 to a record, a record per mapping: here one each.
	start_pinscope report -d 300 -j
	start_workload pinload --mem mixed --bufs 40 --pages 2 --no-register
	pid=$(field "$READY_LINE" pid)
	[ "$(field "$(wl_cmd register)" vmpin_kb)" -eq 320 ]
	stop_pinscope
	check_holder "$PS_OUT" "$pid" "80 80 320 io_uring pinload alive False anon,shmem"
	[ "$(json_get "$PS_OUT" "[h['pins'] for h in d['holders'] if h['pid']==$pid][0]")" -eq 40 ]
	[ "$(json_get "$PS_OUT" "[p['reconciliation'] for p in d['processes'] if p['pid']==$pid][0]")" = exact ]
}

@test "a refused bpf_rdonly_cast program falls back to its probe-read twin, counts still exact" {
	grep -qw bpf_rdonly_cast /proc/kallsyms || skip "no bpf_rdonly_cast here: the twins are chosen anyway"
	# --tlb-local: tlb_flush's programs have twins too
	PINSCOPE_FAULT=cast-load start_pinscope report -d 300 -j --tlb-local
	grep -q "^pinscope: warning: loading BPF programs (PINSCOPE_FAULT=cast-load): Permission denied: loading the programs that read with probes instead of bpf_rdonly_cast$" "$PS_ERR"
	grep -q "attached pins_uring_reg_raw " "$PS_ERR"
	grep -q "attached tlb_flush_rtp " "$PS_ERR"
	! grep -q "attached [a-z_]*cast" "$PS_ERR"
	pin_then_unregister 2 50
}

@test "live snapshot while pinned matches VmPin for anon, shmem file and guest_memfd memory" {
	for mem in anon file gmem; do
		if [ "$mem" = gmem ] && [ ! -w /dev/kvm ]; then
			continue
		fi
		start_workload pinload --mem "$mem" --bufs 2 --pages 8 --rings 2
		pid=$(field "$READY_LINE" pid)
		vmpin=$(field "$READY_LINE" vmpin_kb)
		run --separate-stderr "$PINSCOPE" report -d 0.2 -j -p "$pid"
		[ "$status" -eq 0 ]
		echo "$output" >"$BATS_TEST_TMPDIR/r.json"
		want_back=$mem
		[ "$mem" = file ] && want_back=shmem
		check_holder "$BATS_TEST_TMPDIR/r.json" "$pid" "32 32 $vmpin io_uring pinload alive True $want_back"
		[ "$vmpin" -eq 128 ]
		stop_workload
		WL_PID=
	done
}

@test "process exit: the dead ring's pins are released asynchronously and the holder goes to zero" {
	start_pinscope top -b -j -i 0.1
	start_workload pinload --bufs 2 --pages 32
	pid=$(field "$READY_LINE" pid)
	wait_line "$PS_OUT" 10 "\"pid\":$pid,[^}]*\"pinned_pages\":64,[^}]*\"state\":\"alive\""
	stop_workload
	WL_PID=
	# The kernel unpins a dead ring later, from a workqueue; pinscope follows it to zero.
	wait_line "$PS_OUT" 10 "\"pid\":$pid,[^}]*\"pinned_pages\":0,[^}]*\"state\":\"gone\""
	stop_pinscope
	tail -1 "$PS_OUT" >"$BATS_TEST_TMPDIR/last.json"
	check_holder "$BATS_TEST_TMPDIR/last.json" "$pid" "0 0 None io_uring pinload gone False anon"
	[ "$(json_get "$BATS_TEST_TMPDIR/last.json" "[h['released_pages'] for h in d['holders'] if h['pid']==$pid][0]")" -eq 64 ]
}

@test "a ring closed while its process lives: its pins are released and the holder goes to zero" {
	start_pinscope top -b -j -i 0.1
	start_workload pinload --bufs 2 --pages 32
	pid=$(field "$READY_LINE" pid)
	wait_line "$PS_OUT" 10 "\"pid\":$pid,[^}]*\"pinned_pages\":64,[^}]*\"state\":\"alive\""
	wl_cmd close
	# io_ring_exit_work unpins the closed ring later, from a workqueue: VmPin says when
	timeout 10 bash -c "until grep -q '^VmPin:[[:space:]]*0 kB' /proc/$pid/status; do sleep 0.02; done"
	# the holder lives on: no exit of it brings it to zero; the release at the end of the
	# teardown does (with pins_uring_exit_end_raw returning at once, this fails: checked)
	wait_line "$PS_OUT" 10 "\"pid\":$pid,[^}]*\"pinned_pages\":0,[^}]*\"state\":\"released\""
	stop_pinscope
	stop_workload
	WL_PID=
	grep -q "attached pins_uring_exit_start_" "$PS_ERR"
	tail -1 "$PS_OUT" >"$BATS_TEST_TMPDIR/last.json"
	[ "$(json_get "$BATS_TEST_TMPDIR/last.json" "[h['released_pages'] for h in d['holders'] if h['pid']==$pid][0]")" -eq 64 ]
}

# The pairs BPF counted since user space last read them (once a second here: at most one read
# falls inside the loop) reach user space with the start of the ring's teardown, before the
# release at its end: counted to the holder, where after the release they would belong to no
# pin. The start program is what this checks (the test above checks the end).
@test "a ring closed right after a register/unregister loop: its last pairs count to its holder" {
	start_workload pinload --bufs 2 --pages 8 --no-register
	pid=$(field "$READY_LINE" pid)
	start_pinscope top -b -j -i 1 -p "$pid"
	loop=$(wl_cmd "loop 2000")
	ops=$(field "$loop" ops)
	per=$(field "$loop" pages_per_op)
	[ "$ops" -eq 2000 ] && [ "$per" -eq 16 ]
	[ "$(field "$(wl_cmd register)" vmpin_kb)" -eq 64 ]
	wl_cmd close
	timeout 10 bash -c "until grep -q '^VmPin:[[:space:]]*0 kB' /proc/$pid/status; do sleep 0.02; done"
	wait_line "$PS_OUT" 10 "\"pid\":$pid,[^}]*\"pinned_pages\":0,[^}]*\"state\":\"released\""
	stop_pinscope
	PS_PID=
	grep -q "attached pins_uring_exit_start_" "$PS_ERR"
	tail -1 "$PS_OUT" >"$BATS_TEST_TMPDIR/last.json"
	# The workload's own count: ops + 1 registrations of 16 pages, all released.
	[ "$(json_get "$BATS_TEST_TMPDIR/last.json" "sum(h['acquired_pages'] for h in d['holders'] if h['pid']==$pid)")" -eq $(((ops + 1) * per)) ]
	[ "$(json_get "$BATS_TEST_TMPDIR/last.json" "sum(h['released_pages'] for h in d['holders'] if h['pid']==$pid)")" -eq $(((ops + 1) * per)) ]
	[ "$(json_get "$BATS_TEST_TMPDIR/last.json" "sum(h['churn_pairs'] for h in d['holders'] if h['pid']==$pid)")" -ge $((ops / 2)) ]
}

@test "--subsystem io_uring keeps the io_uring holder, --subsystem vfio leaves it out" {
	start_workload pinload --bufs 1 --pages 10
	pid=$(field "$READY_LINE" pid)
	run --separate-stderr "$PINSCOPE" report -d 0.2 -j -p "$pid" --subsystem io_uring
	[ "$status" -eq 0 ]
	echo "$output" >"$BATS_TEST_TMPDIR/r.json"
	[ "$(json_get "$BATS_TEST_TMPDIR/r.json" "[h['pinned_pages'] for h in d['holders'] if h['pid']==$pid]")" = "[10]" ]
	run --separate-stderr "$PINSCOPE" report -d 0.2 -j -p "$pid" --subsystem vfio
	[ "$status" -eq 0 ]
	echo "$output" >"$BATS_TEST_TMPDIR/r.json"
	[ "$(json_get "$BATS_TEST_TMPDIR/r.json" "[h['pinned_pages'] for h in d['holders'] if h['pid']==$pid]")" = "[]" ]
}

@test "two processes are told apart" {
	start_workload pinload --bufs 1 --pages 10
	pid1=$(field "$READY_LINE" pid)
	exec 8>&7
	wl1=$WL_PID
	start_workload pinload --bufs 2 --pages 10
	pid2=$(field "$READY_LINE" pid)
	run --separate-stderr "$PINSCOPE" report -d 0.2 -j
	echo "$output" >"$BATS_TEST_TMPDIR/r.json"
	check_holder "$BATS_TEST_TMPDIR/r.json" "$pid1" "10 10 40 io_uring pinload alive True anon"
	check_holder "$BATS_TEST_TMPDIR/r.json" "$pid2" "20 20 80 io_uring pinload alive True anon"
	echo exit >&8
	exec 8>&-
	wait "$wl1"
}

@test "VmPin no hook explains (seeding off) shows up as an unattributed row, exact" {
	start_workload pinload --bufs 2 --pages 24
	pid=$(field "$READY_LINE" pid)
	run --separate-stderr "$PINSCOPE" report -d 0.2 -j --no-seed
	[ "$status" -eq 0 ]
	echo "$output" >"$BATS_TEST_TMPDIR/r.json"
	check_holder "$BATS_TEST_TMPDIR/r.json" "$pid" "48 48 192 unattributed pinload alive False -"
	[ "$(json_get "$BATS_TEST_TMPDIR/r.json" "[p['reconciliation'] for p in d['processes'] if p['pid']==$pid][0]")" = unattributed ]
}

@test "a buffer update (IORING_REGISTER_BUFFERS_UPDATE) releases exactly the replaced buffer" {
	start_pinscope top -b -j -i 0.1
	start_workload pinload --bufs 4 --pages 16
	pid=$(field "$READY_LINE" pid)
	wait_line "$PS_OUT" 10 "\"pid\":$pid,[^}]*\"pinned_pages\":64,"
	out=$(wl_cmd shrink)
	[ "$(field "$out" vmpin_kb)" -eq 192 ]
	out=$(wl_cmd shrink)
	[ "$(field "$out" vmpin_kb)" -eq 128 ]
	wait_line "$PS_OUT" 10 "\"pid\":$pid,\"comm\":\"pinload\",\"subsystem\":\"io_uring\",\"pins\":2,\"pinned_pages\":32,\"pinned_bytes\":131072,\"charged_pages\":32,\"vmpin_kb\":128,"
	stop_pinscope
}

@test "a register/unregister loop: pairs counted in BPF, acquired and released exact" {
	start_workload pinload --bufs 2 --pages 8 --no-register
	pid=$(field "$READY_LINE" pid)
	start_pinscope report -d 300 -j -p "$pid"
	loop=$(wl_cmd "loop 20000")
	ops=$(field "$loop" ops)
	per=$(field "$loop" pages_per_op)
	[ "$ops" -eq 20000 ] && [ "$per" -eq 16 ]
	stop_pinscope
	PS_PID=
	# The workload's own count: every registration pinned 16 pages, every unregister released them.
	[ "$(json_get "$PS_OUT" "sum(h['pinned_pages'] for h in d['holders'] if h['pid']==$pid)")" -eq 0 ]
	[ "$(json_get "$PS_OUT" "sum(h['acquired_pages'] for h in d['holders'] if h['pid']==$pid)")" -eq $((ops * per)) ]
	[ "$(json_get "$PS_OUT" "sum(h['released_pages'] for h in d['holders'] if h['pid']==$pid)")" -eq $((ops * per)) ]
	# Most pairs were counted in BPF, not reported one by one.
	[ "$(json_get "$PS_OUT" "sum(h['churn_pairs'] for h in d['holders'] if h['pid']==$pid)")" -ge $((ops / 2)) ]
	[ "$(json_get "$PS_OUT" "d['losses']['ringbuf_full']")" -eq 0 ]
}

# Rings torn down one after another: the slab often gives the next ring the address of the one
# before (two in four here). BPF frees a ring's churn slot when its teardown ends; before it
# did, the slot waited for user space's next tick (10 s here), and a ring at that address had
# every operation reported, none paired, until then.
@test "rings that follow one another at one address: each one's loop is paired, its counts exact" {
	local n=6 k=4000 i pids=()
	start_pinscope report -d 300 -j -i 10s
	for ((i = 0; i < n; i++)); do
		run "$PINSCOPE_TOOLS/pinload" --loop $k --bufs 1 --pages 64
		[ "$status" -eq 0 ]
		[ "$(field "${lines[1]}" ops)" -eq $k ]
		pids+=("$(field "${lines[0]}" pid)")
	done
	stop_pinscope
	PS_PID=
	for pid in "${pids[@]}"; do
		# The workload's own count: k registrations and k unregisters of 64 pages.
		[ "$(json_get "$PS_OUT" "sum(h['acquired_pages'] for h in d['holders'] if h['pid']==$pid)")" -eq $((k * 64)) ]
		[ "$(json_get "$PS_OUT" "sum(h['released_pages'] for h in d['holders'] if h['pid']==$pid)")" -eq $((k * 64)) ]
		pairs=$(json_get "$PS_OUT" "sum(h['churn_pairs'] for h in d['holders'] if h['pid']==$pid)")
		echo "pid $pid: $pairs pairs of $k operations"
		[ "$pairs" -ge $((k / 2)) ]
	done
}

@test "--churn-window 0 reports every operation; the counts are the same" {
	start_workload pinload --bufs 2 --pages 8 --no-register
	pid=$(field "$READY_LINE" pid)
	start_pinscope report -d 300 -j -p "$pid" --churn-window 0
	[ "$(field "$(wl_cmd "loop 2000")" ops)" -eq 2000 ]
	stop_pinscope
	PS_PID=
	[ "$(json_get "$PS_OUT" "d['losses']['ringbuf_full']")" -eq 0 ]
	[ "$(json_get "$PS_OUT" "sum(h['acquired_pages'] for h in d['holders'] if h['pid']==$pid)")" -eq 32000 ]
	[ "$(json_get "$PS_OUT" "sum(h['released_pages'] for h in d['holders'] if h['pid']==$pid)")" -eq 32000 ]
	[ "$(json_get "$PS_OUT" "sum(h['churn_pairs'] for h in d['holders'] if h['pid']==$pid)")" -eq 0 ]
}

# pinload's 16 pages (64 KB) registered and unregistered twice. The ring's first unregister is
# reported at once and gives it a churn entry; the second comes moments after a registration, inside
# the churn window, and is held back (a loop, maybe).
hold_back_unregister() {
	local i
	for i in 1 2; do
		[ "$(field "$(wl_cmd register)" vmpin_kb)" -eq 64 ]
		[ "$(field "$(wl_cmd unregister)" vmpin_kb)" -eq 0 ]
	done
}

@test "a registration after the churn window follows a held-back unregister: each release and acquire counted once" {
	start_workload pinload --bufs 2 --pages 8 --no-register
	pid=$(field "$READY_LINE" pid)
	start_pinscope report -d 300 -j -p "$pid" --churn-window 500ms
	hold_back_unregister
	# The condition under test, not a wait for readiness: the next registration comes after
	# the window (no pair) and before user space reports the held-back unregister (2 windows).
	sleep 0.7
	[ "$(field "$(wl_cmd register)" vmpin_kb)" -eq 64 ]
	stop_pinscope
	PS_PID=
	# The workload's own count: three registrations and two unregisters of 16 pages.
	[ "$(json_get "$PS_OUT" "sum(h['acquired_pages'] for h in d['holders'] if h['pid']==$pid)")" -eq 48 ]
	[ "$(json_get "$PS_OUT" "sum(h['released_pages'] for h in d['holders'] if h['pid']==$pid)")" -eq 32 ]
	[ "$(json_get "$PS_OUT" "sum(h['pinned_pages'] for h in d['holders'] if h['pid']==$pid)")" -eq 16 ]
	[ "$(json_get "$PS_OUT" "sum(h['churn_pairs'] for h in d['holders'] if h['pid']==$pid)")" -eq 0 ]
}

# The ring's teardown takes 4-30 ms on the 6.18 host (io_ring_exit_work, bpftrace), and its last
# unregister, held back as churn, had released the buffers before the close: a report that ends
# inside the teardown, as this one mostly does, says so.
@test "a held-back unregister, then close: nothing pinned however soon the report ends" {
	start_workload pinload --bufs 2 --pages 8 --no-register
	pid=$(field "$READY_LINE" pid)
	start_pinscope report -d 300 -j -p "$pid" -i 10s
	hold_back_unregister
	[ "$(field "$(wl_cmd close)" vmpin_kb)" -eq 0 ]
	stop_pinscope
	PS_PID=
	# The workload's own count: two registrations and two unregisters of 16 pages.
	[ "$(json_get "$PS_OUT" "sum(h['pinned_pages'] for h in d['holders'] if h['pid']==$pid)")" -eq 0 ]
	[ "$(json_get "$PS_OUT" "sum(h['acquired_pages'] for h in d['holders'] if h['pid']==$pid)")" -eq 32 ]
	[ "$(json_get "$PS_OUT" "sum(h['released_pages'] for h in d['holders'] if h['pid']==$pid)")" -eq 32 ]
}

@test "an unregister held back as churn is reported within two intervals" {
	start_workload pinload --bufs 2 --pages 8 --no-register
	pid=$(field "$READY_LINE" pid)
	start_pinscope top -b -j -i 0.25 -p "$pid"
	hold_back_unregister
	# Each line is one interval; wait for two more after the unregister.
	n=$(wc -l <"$PS_OUT")
	until [ "$(wc -l <"$PS_OUT")" -ge $((n + 2)) ]; do sleep 0.05; done
	tail -n 1 "$PS_OUT" >"$BATS_TEST_TMPDIR/last.json"
	[ "$(json_get "$BATS_TEST_TMPDIR/last.json" "sum(h['pinned_pages'] for h in d['holders'] if h['pid']==$pid)")" -eq 0 ]
	[ "$(json_get "$BATS_TEST_TMPDIR/last.json" "sum(h['released_pages'] for h in d['holders'] if h['pid']==$pid)")" -eq 32 ]
}

# A loop whose registrations alternate between two buffer sets is never paired: every unregister
# is held back, then released by the next registration's re-statement, and the last by user space.
# Records that woke no reader wait for the tick; a tick that read only part of them used to let
# user space release the last unregister ahead of the registration records it releases, whose
# pins then stayed: 8 pages pinned forever at the end. 500 iterations are ~1,500 records, ~210 KB:
# fewer bytes than wake the reader (PS_WAKEUP_BYTES), more records than a tick read then (256).
@test "a loop of alternating buffer sets: the last held-back unregister comes after the records it releases" {
	start_workload pinload --bufs 1 --pages 8 --distinct --no-register
	pid=$(field "$READY_LINE" pid)
	start_pinscope top -b -j -i 0.25 -p "$pid"
	[ "$(field "$(wl_cmd "loop 500")" ops)" -eq 500 ]
	wait_line "$PS_OUT" 20 '"acquired_pages":4000[,}]'
	n=$(wc -l <"$PS_OUT")
	until [ "$(wc -l <"$PS_OUT")" -ge $((n + 2)) ]; do sleep 0.05; done
	tail -n 1 "$PS_OUT" >"$BATS_TEST_TMPDIR/last.json"
	# The workload's own count: 500 registrations and 500 unregisters of 8 pages.
	[ "$(json_get "$BATS_TEST_TMPDIR/last.json" "sum(h['acquired_pages'] for h in d['holders'] if h['pid']==$pid)")" -eq 4000 ]
	[ "$(json_get "$BATS_TEST_TMPDIR/last.json" "sum(h['released_pages'] for h in d['holders'] if h['pid']==$pid)")" -eq 4000 ]
	[ "$(json_get "$BATS_TEST_TMPDIR/last.json" "sum(h['pinned_pages'] for h in d['holders'] if h['pid']==$pid)")" -eq 0 ]
	[ "$(json_get "$BATS_TEST_TMPDIR/last.json" "sum(h['churn_pairs'] for h in d['holders'] if h['pid']==$pid)")" -eq 0 ]
}
