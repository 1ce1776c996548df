#!/usr/bin/env bats
# TLB flushes and shootdowns against the kernel's own count: the TLB row of /proc/interrupts.
#
# Other tests run on this machine at the same time and /proc/interrupts is global, so:
# - the system-wide check compares pinscope's remote shootdowns with the /proc/interrupts delta
#   that pinscope itself read at the start and end of exactly the same window;
# - the attribution checks compare what pinscope charges to tlbload's pid with the delta
#   tlbload read around its own loop (others' shootdowns in that window only make the delta
#   larger, so pinscope's share may not exceed it and must reach 95% of it).
# pinscope runs with --no-seed or -p: seeding walks every io_uring ring on the machine, and
# other tests leave big ones around.
load helpers

# Does this machine send TLB shootdown IPIs at all? A paravirtual TLB flush (PVM, or KVM's for
# preempted vCPUs) flushes other vCPUs through the hypervisor, with no IPI for pinscope or
# /proc/interrupts to see. tlbload measures it once for the file.
setup_file() {
	local done
	export TLB_PROBE_IPIS=unknown
	[ "$(id -u)" -eq 0 ] && [ -x "$PINSCOPE_TOOLS/tlbload" ] && [ "$(nproc)" -ge 2 ] || return 0
	done=$("$PINSCOPE_TOOLS/tlbload" --loop --iters 3000 2>/dev/null | grep '^done ') || return 0
	TLB_PROBE_IPIS=$(field "$done" tlb_ipi_delta)
}

need_ipis() {
	[ "$TLB_PROBE_IPIS" = unknown ] || [ "$TLB_PROBE_IPIS" -ge 20 ] ||
		skip "this machine sent $TLB_PROBE_IPIS TLB IPIs for 3000 two-thread mprotects (a paravirtual TLB flush): no shootdowns to count"
}

setup() {
	need_root
	[ -x "$PINSCOPE_TOOLS/tlbload" ] || skip "tlbload not built"
	[ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs for remote shootdowns"
	grep -q '^ *TLB:' /proc/interrupts || skip "no TLB row in /proc/interrupts"
}

teardown() {
	[ -n "${PS_PID:-}" ] && kill -INT "$PS_PID" 2>/dev/null && wait "$PS_PID" 2>/dev/null
	[ -n "${WL_PID:-}" ] && stop_workload
	true
}

# Run tlbload ARGS under `pinscope report -j` (extra pinscope options in PS_ARGS; PS_TEXT=1: the
# text report instead; PS_WATCH=1: go once pinscope says it counts flushes over tlbload's pinned
# range, which it learns at a tick); sets DONE (tlbload's done line), PID, DELTA (its /proc/interrupts TLB
# delta) and R (the report file).
run_tlbload() {
	# a fresh log: start_pinscope waits for its ready line, which an earlier run left there
	rm -f "$BATS_TEST_TMPDIR/pinscope.out" "$BATS_TEST_TMPDIR/pinscope.err"
	start_pinscope report -d 300 $([ -n "${PS_TEXT:-}" ] || echo -j) --no-seed ${PS_ARGS:-}
	start_workload tlbload "$@"
	PID=$(field "$READY_LINE" pid)
	[ -z "${PS_WATCH:-}" ] ||
		wait_line "$PS_ERR" 10 "tlb: counting flushes over [0-9]+ pinned range\(s\) of pid $PID$"
	DONE=$(wl_cmd go)
	[[ "$DONE" == done* ]] || { echo "tlbload: $DONE"; return 1; }
	DELTA=$(field "$DONE" tlb_ipi_delta)
	stop_workload
	WL_PID=
	stop_pinscope
	PS_PID=
	R=$PS_OUT
	echo "tlbload: $DONE"
}

# Sum of a row field over tlbload's rows, optionally of one cause: tlb_sum FIELD [CAUSE]
tlb_sum() {
	json_get "$R" "sum(r['$1'] for r in d['tlb']['rows'] if r['pid']==$PID and ('${2:-}'=='' or r['cause']=='${2:-}'))"
}

# Shootdowns pinscope charged to other processes during the run (other tests, other jobs).
others() {
	json_get "$R" "sum(r['shootdowns'] for r in d['tlb']['rows'] if r['pid']!=$PID)"
}

# The workload's share against its own /proc/interrupts delta, which is global: on a busy
# machine other processes' shootdowns fall into tlbload's window too. pinscope's count for the
# pid must not exceed the delta and must be within 5% of the delta less what pinscope charged
# to everyone else in the run (on an idle machine that is the whole delta).
share_ok() {
	python3 -c "import sys; m,d,o=$1,$2,$3; t=max(d-o,0); sys.exit(0 if m<=d and m*20>=t*19 else 1)"
}

# a within 5% of b (b > 0)
within_5pct() {
	python3 -c "import sys; a,b=$1,$2; sys.exit(0 if b>0 and abs(a-b)*20<=b else 1)"
}

# With every shootdown timed: one mprotect delivery sample for each of the MINE shootdowns,
# less the handler runs the entry program never saw, which the report counts (about 1 in
# 100,000 on 6.18 here: ftrace's own event sees them, the raw tracepoint program does not).
delivery_whole() {
	local dlv unseen
	dlv=$(tlb_sum delivery_samples mprotect)
	unseen=$(json_get "$R" "d['tlb']['global']['handler_runs_unseen']")
	echo "delivery samples $dlv of $1 shootdowns; handler runs unseen $unseen"
	[ "$dlv" -le "$1" ] && [ "$dlv" -ge $(($1 - unseen)) ]
}

@test "remote shootdowns system-wide agree with /proc/interrupts TLB over the same window" {
	need_ipis
	run_tlbload --iters 10000
	shoot=$(json_get "$R" "d['tlb']['global']['shootdowns']")
	irq=$(json_get "$R" "d['tlb']['global']['irq_tlb_delta']")
	echo "pinscope shootdowns $shoot, /proc/interrupts TLB delta $irq"
	# tlbload alone usually makes hundreds here; a paravirtual TLB flush may skip the IPIs
	[ "$irq" -ge 20 ] || skip "only $irq TLB IPIs in the window (paravirtual flush skipped them)"

	within_5pct "$shoot" "$irq"
	agree=$(json_get "$R" "d['tlb']['irq_agreement']")
	[ "$agree" = exact ] || [ "$agree" = within_5pct ]
}

@test "mprotect shootdowns are charged to tlbload's pid and to mprotect" {
	need_ipis
	PS_ARGS="--tlb-sample 1" run_tlbload --iters 10000 --op mprotect
	mine=$(tlb_sum shootdowns mprotect)
	all=$(tlb_sum shootdowns)
	echo "pid $PID: mprotect $mine of $all shootdowns; tlbload's /proc/interrupts delta $DELTA"
	[ "$DELTA" -ge 20 ] || skip "only $DELTA TLB IPIs (paravirtual flush skipped them)"
	# never more than the kernel counted, at least 95% of it (less other processes' share)
	share_ok "$mine" "$DELTA" "$(others)"
	# and the pid's shootdowns are mprotect's
	within_5pct "$mine" "$all"
	[ "$(json_get "$R" "[r['comm'] for r in d['tlb']['rows'] if r['pid']==$PID and r['cause']=='mprotect'][0]")" = tlbload ]
	# --tlb-sample 1: one delivery sample per shootdown; the handling one as many, less
	# handler runs that return before flushing (a CPU that left the mm lazily)
	echo "delivery samples $(tlb_sum delivery_samples mprotect), handling $(tlb_sum handling_samples mprotect)"
	delivery_whole "$mine"
	within_5pct "$(tlb_sum handling_samples mprotect)" "$mine"
}

@test "every mprotect request to other CPUs is counted, with a shootdown IPI or without" {
	run_tlbload --iters 3000 --op mprotect
	ops=$(field "$DONE" ops)
	req=$(tlb_sum requests mprotect)
	mine=$(tlb_sum shootdowns mprotect)
	noipi=$(tlb_sum requests_without_ipi mprotect)
	echo "pid $PID: $req mprotect requests for $ops mprotects, $mine shootdowns, $noipi requests without one; its /proc/interrupts TLB delta $DELTA"
	[ "$(json_get "$R" "d['tlb']['global']['shootdowns_counted_on']")" = csd ] ||
		skip "no csd tracepoints: requests without an IPI are not told apart"
	[ "$req" -le "$ops" ]
	if [ "$DELTA" -eq 0 ]; then
		# a paravirtual remote flush (PVM): every mprotect asks the hypervisor to flush the
		# other vCPU, where thread B has the page mapped; no IPI
		[ "$req" -eq "$ops" ] && [ "$mine" -eq 0 ] && [ "$noipi" -eq "$req" ]
	elif [ "$(nproc)" -eq 2 ]; then
		# one other CPU: a request queued its one shootdown, or none (the CPU was idle)
		[ $((mine + noipi)) -eq "$req" ]
	fi
}

# Every request's pages and range are read from the sender CPU's flush_tlb_info, whose address
# BPF finds before that CPU queues a shootdown (its runqueue's, plus their distance in BTF): so a
# request that queues none (the other CPU idle, or a paravirtual flush) is measured too. Without
# the address such a request has 0 pages and is not checked against the pinned ranges (where
# tlb_flush counts it, it is taken as over every pinned range of the process).
@test "every mprotect request has its pages; it is over the pinned range, or beside it" {
	[ -e /proc/sys/kernel/io_uring_disabled ] && [ "$(cat /proc/sys/kernel/io_uring_disabled)" != 0 ] &&
		skip "io_uring is disabled (kernel.io_uring_disabled)"
	for how in pin pin-apart; do
		PS_ARGS="-i 0.1" PS_WATCH=1 run_tlbload --iters 2000 --pages 4 --op mprotect "--$how"
		req=$(tlb_sum requests mprotect)
		on=$(tlb_sum flushes_on_pinned mprotect)
		echo "--$how: $req requests for $(field "$DONE" ops) mprotects, $(tlb_sum request_pages mprotect) pages, $on over the pinned range ($(tlb_sum pages_on_pinned mprotect) pages)"
		[ "$req" -gt 0 ]
		[ "$(tlb_sum request_pages mprotect)" -eq $((req * 4)) ]
		[ "$(tlb_sum full_flushes mprotect)" -eq 0 ]
		if [ "$how" = pin ]; then
			[ "$on" -eq "$req" ] && [ "$(tlb_sum pages_on_pinned mprotect)" -eq $((req * 4)) ]
		else
			[ "$on" -eq 0 ] && [ "$(tlb_sum pages_on_pinned mprotect)" -eq 0 ]
		fi
	done
}

@test "the text report says when no request sent a shootdown IPI" {
	[ "$TLB_PROBE_IPIS" = 0 ] || skip "this machine sends shootdown IPIs ($TLB_PROBE_IPIS for 3000 two-thread mprotects)"
	PS_TEXT=1 run_tlbload --iters 1000 --op mprotect
	cat "$R"
	grep -Eq '^TLB flushes, all processes, [0-9.]+ s: [0-9]+ requests to other CPUs \([0-9]+ queued no shootdown\), 0 CPUs targeted, 0 IPIs sent, 0 remote shootdowns handled$' "$R"
	grep -qx '  no request queued a shootdown IPI: the other CPUs were idle, or the hypervisor flushes them (a paravirtual remote TLB flush): nothing to time' "$R"
}

@test "--tlb-local: tlb_flush counts local flushes too; shootdowns are charged as without it" {
	PS_ARGS="--tlb-local --tlb-sample 1" run_tlbload --iters 10000 --op mprotect
	grep -q 'attached tlb_flush_.*rtp (raw_tp/tlb_flush)' "$PS_ERR"
	! grep -q 'attached tlb_csd_exit_rtp' "$PS_ERR"
	[ "$(json_get "$R" "d['tlb']['global']['local_counted']")" = True ]
	[ "$(json_get "$R" "d['tlb']['global']['task_switch_flushes']")" -gt 0 ]
	# tlbload's mprotect flushes its own CPU: tlb_flush reason 2 or 3 under its key
	[ "$(tlb_sum local_flushes mprotect)" -gt 0 ]
	mine=$(tlb_sum shootdowns mprotect)
	echo "pid $PID: mprotect $mine shootdowns, $(tlb_sum local_flushes mprotect) local flushes; delta $DELTA"
	[ "$DELTA" -ge 20 ] || skip "only $DELTA TLB IPIs (paravirtual flush skipped them)"
	share_ok "$mine" "$DELTA" "$(others)"
	# every RW->R mprotect flushes tlbload's own CPU at least (whether or not the other CPU
	# still needs it): one local flush per iteration or more
	[ "$(tlb_sum local_flushes mprotect)" -ge 10000 ]
	# the handlers end at tlb_flush reasons 1 and 5 here, which a handler that returns early
	# lacks: at most as many handling samples as delivery samples
	delivery_whole "$mine"
	[ "$(tlb_sum handling_samples mprotect)" -le "$mine" ]
	within_5pct "$(tlb_sum handling_samples mprotect)" "$mine"
}

@test "by default tlb_flush is not attached: local flushes are reported as not counted" {
	run_tlbload --iters 2000 --op mprotect
	! grep -q 'attached tlb_flush_' "$PS_ERR"
	grep -q 'attached tlb_csd_exit_rtp (raw_tp/csd_function_exit)' "$PS_ERR"
	[ "$(json_get "$R" "d['tlb']['global']['local_counted']")" = False ]
	[ "$(json_get "$R" "d['tlb']['global']['local_flushes']")" = None ]
	[ "$(json_get "$R" "d['tlb']['global']['task_switch_flushes']")" = None ]
	[ "$(json_get "$R" "all(r['local_flushes'] is None for r in d['tlb']['rows'])")" = True ]
	# the text report of the same kind of run says so, and shows '-' for LOCAL
	start_pinscope report -d 300 --no-seed
	stop_pinscope
	PS_PID=
	cat "$PS_OUT"
	grep -q '; local flushes and task switches not counted (--tlb-local counts them)$' "$PS_OUT"
}

@test "by default 1 shootdown in 8 is timed; the counts stay whole" {
	need_ipis
	run_tlbload --iters 10000 --op mprotect
	mine=$(tlb_sum shootdowns mprotect)
	dlv=$(tlb_sum delivery_samples mprotect)
	hnd=$(tlb_sum handling_samples mprotect)
	echo "pid $PID: $mine shootdowns, $dlv delivery and $hnd handling samples; delta $DELTA"
	[ "$DELTA" -ge 400 ] || skip "only $DELTA TLB IPIs (paravirtual flush skipped them)"
	share_ok "$mine" "$DELTA" "$(others)"
	# 1 in 8 of the handlers the target entered, hashed: within a tenth of mine / 8
	python3 -c "import sys; m,s=$mine,$dlv; sys.exit(0 if abs(s*8-m)*10<=m else 1)"
	[ "$hnd" -le "$dlv" ]
	within_5pct "$hnd" "$dlv"
}

@test "munmap and madvise shootdowns are charged to their own syscall" {
	need_ipis
	for op in munmap madvise; do
		run_tlbload --iters 5000 --op "$op"
		mine=$(tlb_sum shootdowns "$op")
		all=$(tlb_sum shootdowns)
		echo "$op: pid $PID: $mine of $all shootdowns; delta $DELTA"
		[ "$DELTA" -ge 20 ] || skip "$op: only $DELTA TLB IPIs (paravirtual flush skipped them)"
		share_ok "$mine" "$DELTA" "$(others)"
		within_5pct "$mine" "$all"
	done
}

@test "-p keeps only that process's rows; the system-wide count stays whole" {
	need_ipis
	start_workload tlbload --iters 3000
	PID=$(field "$READY_LINE" pid)
	start_pinscope report -d 300 -j -p "$PID"
	DONE=$(wl_cmd go)
	DELTA=$(field "$DONE" tlb_ipi_delta)
	stop_workload
	WL_PID=
	stop_pinscope
	PS_PID=
	R=$PS_OUT
	[ "$(json_get "$R" "len(d['tlb']['rows'])")" -ge 1 ]
	[ "$(json_get "$R" "sorted(set(r['pid'] for r in d['tlb']['rows']))")" = "[$PID]" ]
	[ "$(tlb_sum shootdowns mprotect)" -le "$DELTA" ]
	within_5pct "$(tlb_sum shootdowns mprotect)" "$DELTA"
	[ "$(json_get "$R" "d['tlb']['global']['shootdowns']")" -ge "$(tlb_sum shootdowns mprotect)" ]
}

@test "the text report has the TLB section with the /proc/interrupts check and histograms" {
	need_ipis
	PS_TEXT=1 run_tlbload --iters 5000
	cat "$PS_OUT"
	grep -qE '^TLB flushes, all processes, [0-9.]+ s: [0-9]+ requests to other CPUs' "$PS_OUT"
	grep -qE '^/proc/interrupts TLB over the same window: [0-9]+; pinscope.s remote shootdowns [0-9]+: (exact|within_5pct)$' "$PS_OUT"
	grep -qE "^ +$PID tlbload +mprotect +[0-9]+" "$PS_OUT"
	grep -qE "^shootdown delivery .*pid $PID tlbload, mprotect:" "$PS_OUT"
	grep -qE '^ +[0-9]+ -> [0-9]+ : [0-9]+ +\|\*+ *\|$' "$PS_OUT"
	grep -q 'GUP-fast walks overlapping shootdowns: not measured' "$PS_OUT"
}

@test "top -b shows a TLB line naming the busiest process and cause" {
	start_workload tlbload --iters 200000
	PID=$(field "$READY_LINE" pid)
	start_pinscope top -b -i 0.2 -p "$PID"
	echo go >&7
	# by shootdowns, else by requests (a paravirtual flush sends none: requests without an IPI)
	if [ "$TLB_PROBE_IPIS" = 0 ]; then
		wait_line "$PS_OUT" 20 "^tlb: requests [1-9][0-9]*/s \(no IPI [1-9][0-9]*/s\)  targeted 0/s  shootdowns 0/s \(irq TLB 0/s\)  top: pid $PID tlbload mprotect$"
	else
		wait_line "$PS_OUT" 20 "^tlb: requests [0-9]+/s .*shootdowns [0-9]+/s \(irq TLB [0-9]+/s\).*top: pid $PID tlbload mprotect$"
	fi
	stop_pinscope
	PS_PID=
	stop_workload
	WL_PID=
}

@test "flushes over pinned ranges are counted (hole punch on pinned guest_memfd)" {
	[ -x "$PINSCOPE_TOOLS/pinload" ] || skip "pinload not built"
	[ -w /dev/kvm ] || skip "no /dev/kvm for guest_memfd"
	# pinload is one thread: the punch's flush is local, seen by tlb_flush (--tlb-local)
	start_pinscope report -d 300 -j -i 0.1 --no-seed --tlb-local
	start_workload pinload --mem gmem --bufs 2 --pages 16
	PID=$(field "$READY_LINE" pid)
	# pinscope tells BPF the pinned ranges on its next tick and says so (-v)
	wait_line "$PS_ERR" 10 "tlb: counting flushes over [0-9]+ pinned range\(s\) of pid $PID$"
	out=$(wl_cmd punch)
	[[ "$out" == "punch ok"* ]]
	stop_workload
	WL_PID=
	stop_pinscope
	PS_PID=
	R=$PS_OUT
	# the punch unmaps all 32 pinned pages from pinload's page tables
	[ "$(tlb_sum flushes_on_pinned fallocate)" -ge 1 ]
	[ "$(tlb_sum pages_on_pinned fallocate)" -ge 32 ]
	# nothing else of pinload's touched the pinned range before its exit
	[ "$(tlb_sum flushes_on_pinned mprotect)" -eq 0 ]
}

# Where a probe on the flush path costs too much (under PVM any probe on csd_function_entry costs
# each two-thread mprotect 4-6 us), an operator can leave the TLB concern out and keep the rest.
@test "--no-tlb leaves the TLB concern out: no TLB program, no TLB section; pins still seen" {
	start_pinscope report -d 300 -j --no-seed --no-tlb
	start_workload tlbload --iters 2000 --pin
	PID=$(field "$READY_LINE" pid)
	DONE=$(wl_cmd go)
	[[ "$DONE" == done* ]]
	stop_workload
	WL_PID=
	stop_pinscope
	PS_PID=
	! grep -q 'attached tlb_' "$PS_ERR"
	grep -q 'attached pins_' "$PS_ERR"
	[ "$(json_get "$PS_OUT" "d['tlb']")" = None ]
	[ "$(json_get "$PS_OUT" "[p['comm'] for p in d['processes'] if p['pid']==$PID]")" = "['tlbload']" ]
	run "$PINSCOPE" probes --no-tlb
	[ "$status" -eq 0 ]
	[[ "$output" == *"tlb.shootdown "*" off "*"--no-tlb leaves the TLB concern out"* ]]
	[[ "$output" == *"load: ok"* ]]
	run "$PINSCOPE" report -d 1s --no-tlb --tlb-local
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "pinscope: report: --tlb-local and --no-tlb exclude each other" ]
}

@test "probes lists the TLB hooks: raw tracepoints chosen, function tier tried first" {
	run "$PINSCOPE" probes
	[ "$status" -eq 0 ]
	# tlb_flush runs on every task switch: off unless --tlb-local, where csd counts shootdowns
	[[ "$output" == *"tlb.flush "*" off "*"--tlb-local attaches it"* ]]
	[[ "$output" == *"tlb.shootdown "*"csd/csd_queue_cpu"* ]]
	[[ "$output" == *"tlb.handled "*" raw_tp "*"csd/csd_function_exit"* ]]
	run "$PINSCOPE" probes --tlb-local
	[ "$status" -eq 0 ]
	[[ "$output" == *"tlb.flush "*" raw_tp "*"tlb/tlb_flush"* ]]
	[[ "$output" == *"tlb.handled "*" off "*"tlb_flush (reasons 1 and 5) ends the handlers"* ]]
	[[ "$output" == *"fentry: flush_tlb_mm_range"* ]]
	[[ "$output" == *"tlb.gup_fast"* ]]
}

@test "a recording carries the TLB summaries: report FILE charges tlbload as the live run does" {
	need_ipis
	rm -f "$BATS_TEST_TMPDIR/pinscope.err"
	start_pinscope record -o "$BATS_TEST_TMPDIR/t.trace" --no-seed
	start_workload tlbload --iters 5000
	PID=$(field "$READY_LINE" pid)
	DONE=$(wl_cmd go)
	DELTA=$(field "$DONE" tlb_ipi_delta)
	stop_workload
	WL_PID=
	stop_pinscope
	PS_PID=
	run "$PINSCOPE" report "$BATS_TEST_TMPDIR/t.trace" -j
	[ "$status" -eq 0 ]
	echo "$output" >"$BATS_TEST_TMPDIR/r.json"
	R=$BATS_TEST_TMPDIR/r.json
	mine=$(tlb_sum shootdowns mprotect)
	echo "replayed: pid $PID mprotect $mine shootdowns; tlbload's delta $DELTA"
	[ "$DELTA" -ge 20 ]
	[ "$mine" -le "$DELTA" ]
	share_ok "$mine" "$DELTA" "$(others)"
	agree=$(json_get "$R" "d['tlb']['irq_agreement']")
	[ "$agree" = exact ] || [ "$agree" = within_5pct ]
}

@test "tlbload: --readers, --senders and --op migrate say in one line what the machine lacks" {
	run "$PINSCOPE_TOOLS/tlbload" --readers 0
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "tlbload: --readers: 0" ]
	run "$PINSCOPE_TOOLS/tlbload" --op migrate --pin
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "tlbload: --pin goes with --op mprotect only: migrate" ]
	run "$PINSCOPE_TOOLS/tlbload" --op munmap --pin-apart
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "tlbload: --pin-apart goes with --op mprotect only: munmap" ]
	run "$PINSCOPE_TOOLS/tlbload" --pin --pin-apart
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "tlbload: --pin and --pin-apart exclude each other: --pin-apart" ]
	# one CPU more than there are: the readers, thread A and the migrator each need one
	run "$PINSCOPE_TOOLS/tlbload" --loop --iters 1 --readers "$(nproc)"
	[ "$status" -eq 1 ]
	[ "$output" = "tlbload: $(nproc) reader(s) need $(($(nproc) + 1)) CPUs, $(nproc) online" ]
	run "$PINSCOPE_TOOLS/tlbload" --loop --iters 1 --readers "$(($(nproc) - 1))" --op migrate
	[ "$status" -eq 1 ]
	[ "$output" = "tlbload: $(($(nproc) - 1)) reader(s) and the migrator need $(($(nproc) + 1)) CPUs, $(nproc) online" ]
	run "$PINSCOPE_TOOLS/tlbload" --loop --iters 1 --readers "$(($(nproc) - 1))" --senders 2
	[ "$status" -eq 1 ]
	[ "$output" = "tlbload: $(($(nproc) - 1)) reader(s) and 2 senders need $(($(nproc) + 1)) CPUs, $(nproc) online" ]
	run "$PINSCOPE_TOOLS/tlbload" --senders 3
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "tlbload: --senders: 3" ]
	run "$PINSCOPE_TOOLS/tlbload" --senders 2 --op munmap
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "tlbload: --senders 2 goes with --op mprotect only, without --pin: munmap" ]
}
