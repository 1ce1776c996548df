#!/usr/bin/env bash
# What tracing costs the workload: untraced, with empty BPF programs on the tracepoints pinscope
# attaches (floor: what any program there costs, tools/bench/floor.c), under pinscope (live
# aggregate, record) and under the equivalent bpftrace script, interleaved in one run (ABC CBA
# BCA ACB ...) so that drift of the machine cancels. Run as root from the repository root (`make bench` does that).
#
# Output: a table on stdout, .output/bench/bench.json (every run, with the load seen during it,
# and the summary), .output/bench/table.md (the table for the README's "Overhead" section).
# `run.sh --summary` renders them again from the last run's records, without running anything.
#
# Environment (defaults in brackets):
#   BENCH_PAIRS [10]        rounds; each runs every mode once, in an order that rotates and reverses
#   BENCH_SECONDS [3]       length of one untraced run (iterations are calibrated to it)
#   BENCH_WORKLOADS [uring tlb sched pinstorm pinpace]
#   BENCH_MODES [base floor live local record bpftrace]; notlb (live --no-tlb) when asked for
#   BENCH_CPU [1]           CPU for pinload and for both ends of perf bench sched pipe
#   BENCH_IDLE_MAX [0.25]   busy CPU cores (all processes) below which the machine counts as idle
#   BENCH_IDLE_SAMPLE [0.5] seconds over which that is measured before every run
#   BENCH_IDLE_TIMEOUT [60] seconds to wait for idle before running anyway (recorded as a warning)
#   BENCH_TOP_SECONDS [10]  how long 'pinscope top -b -i 1' is measured on the idle machine (0: not)
#   BENCH_PROG_STATS [1]    one extra run per traced mode with kernel.bpf_stats_enabled=1:
#                           BPF run time per program and per operation (kept out of the timed
#                           runs: it costs too). Unlike the slowdown it does not depend on the
#                           machine's noise; it leaves out what a program's call costs around it.
#                           "net" subtracts what bpf_stats itself adds to each program run (its
#                           two clock reads: ~70 ns in a VM whose clock is kvm-clock), measured
#                           as the floor mode's empty programs' ns per run
#   BENCH_OUT [.output/bench]   PINSCOPE [.output/pinscope]   TOOLS [.output/tools]
#   PINSCOPE_OTHER          another pinscope binary: adds the mode "other" (A/B of a change)
#   BENCH_STALL [off]       BUSY/PERIOD in ms (e.g. 60/500): during every timed run, stall the
#                           tracer's CPU for BUSY ms every PERIOD ms (tools/bench/stall.c, a
#                           SCHED_FIFO busy loop): a hypervisor's steal, the same in every run, for
#                           how long a stalled loader can be away before the ring loses records
#   BENCH_LOADER_CPU [0]    the CPU the tracer is pinned to and stalled on, with BENCH_STALL
set -euo pipefail

BENCH_PAIRS=${BENCH_PAIRS:-10}
BENCH_SECONDS=${BENCH_SECONDS:-3}
BENCH_CPU=${BENCH_CPU:-1}
BENCH_IDLE_MAX=${BENCH_IDLE_MAX:-0.25}
BENCH_IDLE_SAMPLE=${BENCH_IDLE_SAMPLE:-0.5}
BENCH_IDLE_TIMEOUT=${BENCH_IDLE_TIMEOUT:-60}
BENCH_READY_TIMEOUT=${BENCH_READY_TIMEOUT:-60}
BENCH_TOP_SECONDS=${BENCH_TOP_SECONDS:-10}
BENCH_PROG_STATS=${BENCH_PROG_STATS:-1}
BENCH_OUT=${BENCH_OUT:-.output/bench}
BENCH_STALL=${BENCH_STALL:-}
BENCH_LOADER_CPU=${BENCH_LOADER_CPU:-0}
PINSCOPE=${PINSCOPE:-.output/pinscope}
TOOLS=${TOOLS:-.output/tools}

HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=tools/bench/sys.sh
. "$HERE/sys.sh"
# shellcheck source=tools/bench/workloads.sh
. "$HERE/workloads.sh"
# shellcheck source=tools/bench/tracers.sh
. "$HERE/tracers.sh"
BENCH_WORKLOADS=${BENCH_WORKLOADS:-$WORKLOADS_ALL}
BENCH_MODES=${BENCH_MODES:-$MODES_ALL${PINSCOPE_OTHER:+ other}}

die() {
	echo "bench: $*" >&2
	exit 1
}
say() { echo "bench: $*" >&2; }

# bench.json and the tables from META (a JSON object) and the records in BENCH_OUT.
render() {
	jq -n --argjson meta "$1" --slurpfile runs "$BENCH_OUT/runs.jsonl" \
		--slurpfile top "$BENCH_OUT/top.json" --slurpfile progs "$BENCH_OUT/progstats.jsonl" \
		-f "$HERE/summary.jq" >"$BENCH_OUT/bench.json.tmp"
	mv "$BENCH_OUT/bench.json.tmp" "$BENCH_OUT/bench.json"
	jq -r -f "$HERE/table.jq" --arg fmt text "$BENCH_OUT/bench.json"
	jq -r -f "$HERE/table.jq" --arg fmt md "$BENCH_OUT/bench.json" >"$BENCH_OUT/table.md"
	say "wrote $BENCH_OUT/bench.json and $BENCH_OUT/table.md"
}

if [ "${1:-}" = --summary ]; then
	[ -s "$BENCH_OUT/meta.json" ] || die "no $BENCH_OUT/meta.json: run the benchmark first"
	render "$(cat "$BENCH_OUT/meta.json")"
	exit 0
fi

# The numeric settings, before anything runs: a bad one would otherwise surface as a jq error
# after the whole run.
for v in BENCH_PAIRS:1 BENCH_SECONDS:1 BENCH_TOP_SECONDS:0 BENCH_IDLE_TIMEOUT:0 BENCH_READY_TIMEOUT:1 \
	BENCH_CPU:0 BENCH_LOADER_CPU:0; do
	n=${v%%:*}
	[[ ${!n} =~ ^[0-9]+$ ]] && [ "${!n}" -ge "${v#*:}" ] ||
		die "$n: '${!n}' is not a whole number >= ${v#*:}"
done
for n in BENCH_IDLE_MAX BENCH_IDLE_SAMPLE; do
	[[ ${!n} =~ ^[0-9]*\.?[0-9]+$ ]] || die "$n: '${!n}' is not a number"
done
[ "$BENCH_PROG_STATS" = 0 ] || [ "$BENCH_PROG_STATS" = 1 ] ||
	die "BENCH_PROG_STATS: '$BENCH_PROG_STATS' is not 0 or 1"
for m in $BENCH_MODES; do
	[[ " $MODES_KNOWN " == *" $m "* ]] || die "BENCH_MODES: '$m' is not one of: $MODES_KNOWN"
done
for w in $BENCH_WORKLOADS; do
	[[ " $WORKLOADS_ALL " == *" $w "* ]] || die "BENCH_WORKLOADS: '$w' is not one of: $WORKLOADS_ALL"
done

[ "$(id -u)" -eq 0 ] || die "needs root (BPF, perf, bpf_stats): run 'sudo make bench'"
for t in jq taskset perf; do
	command -v "$t" >/dev/null || die "$t is missing: run 'make deps' or apt-get install it"
done
if [ ! -x "$TOOLS/pinload" ] || [ ! -x "$TOOLS/tlbload" ]; then
	die "no workload tools in $TOOLS: run make"
fi

mkdir -p "$BENCH_OUT/runs"
RUNSTAT=$BENCH_OUT/runstat
if [ ! -x "$RUNSTAT" ] || [ "$HERE/runstat.c" -nt "$RUNSTAT" ]; then
	${CC:-gcc} -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror "$HERE/runstat.c" -o "$RUNSTAT" ||
		die "building runstat failed"
fi
STALL=
LOADER_PIN=()
if [ -n "$BENCH_STALL" ]; then
	[[ $BENCH_STALL =~ ^[0-9]+/[0-9]+$ ]] || die "BENCH_STALL: '$BENCH_STALL' is not BUSY_MS/PERIOD_MS"
	[ "$BENCH_LOADER_CPU" != "$BENCH_CPU" ] ||
		die "BENCH_LOADER_CPU is BENCH_CPU ($BENCH_CPU): the stall would stop the workload too"
	STALL=$BENCH_OUT/stall
	if [ ! -x "$STALL" ] || [ "$HERE/stall.c" -nt "$STALL" ]; then
		${CC:-gcc} -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror "$HERE/stall.c" -o "$STALL" ||
			die "building stall failed"
	fi
	LOADER_PIN=(taskset -c "$BENCH_LOADER_CPU")
fi
FLOOR=$BENCH_OUT/floor
if [ ! -x "$FLOOR" ] || [ "$HERE/floor.c" -nt "$FLOOR" ]; then
	${CC:-gcc} -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror "$HERE/floor.c" -o "$FLOOR" -lbpf ||
		{ say "building floor failed: the floor mode is left out"; FLOOR=; }
fi
READY_FIFO=$BENCH_OUT/ready.fifo
rm -f "$READY_FIFO"
mkfifo "$READY_FIFO"
exec {READY_FD}<>"$READY_FIFO"
RUNS=$BENCH_OUT/runs.jsonl
: >"$RUNS"
WARNINGS=()

cleanup() {
	[ -z "${TRACER_PID:-}" ] || kill -INT "$TRACER_PID" 2>/dev/null || true
	rm -f "$READY_FIFO"
}
trap cleanup EXIT

CONCERNS=$(pinscope_concerns) || die "'$PINSCOPE probes -j' failed"
mapfile -t FLOOR_TPS < <(floor_tps)
BT_FILE=$BENCH_OUT/equivalent.bt
bt_compose "$BT_FILE"
MODES=()
for m in $BENCH_MODES; do
	if mode_available "$m"; then
		MODES+=("$m")
	else
		say "mode $m left out: $MODE_WHY"
		WARNINGS+=("mode $m left out: $MODE_WHY")
	fi
done
[ -z "$BT_MISSING" ] || WARNINGS+=("no bpftrace equivalent for concern(s): $BT_MISSING")
say "pinscope concerns attached here: ${CONCERNS:-none}; modes: ${MODES[*]}"

# One run of workload W (ITERS iterations) in MODE, round R, position POS; appends to $RUNS.
# BENCH_STALL: the stall on the loader's CPU, running once it says so. Sets STALL_PID, STALL_FD.
stall_start() {
	local l
	exec {STALL_FD}< <(exec "${LOADER_PIN[@]}" "$STALL" "${BENCH_STALL%/*}" "${BENCH_STALL#*/}" \
		2>"$1/stall.err")
	STALL_PID=$!
	read -r -t 10 -u "$STALL_FD" l && [ "$l" = stalling ]
}

stall_stop() {
	kill -TERM "$STALL_PID" 2>/dev/null || true
	cat <&"$STALL_FD" >/dev/null
	exec {STALL_FD}<&-
}

run_one() {
	local w=$1 mode=$2 r=$3 pos=$4 iters=$5 dir idle busy0 busy1 steal0 steal1 l0
	local tcpu0=(0 0 0) tcpu1=(0 0 0) hwm=0 rss=0 ops ns rs counts=null ready_ms=null err=
	local warm=$(((iters + 9) / 10)) pins0 pins1
	dir=$BENCH_OUT/runs/$w-$mode-$r
	rm -rf "$dir"
	mkdir -p "$dir"
	idle=$(wait_idle)
	if [ "${idle##* }" = 1 ]; then
		WARNINGS+=("$w/$mode round $r: machine not idle after ${BENCH_IDLE_TIMEOUT}s (${idle%% *} cores busy)")
	fi
	if [ "$mode" != base ]; then
		if ! tracer_start "$mode" "$dir"; then
			say "$w/$mode round $r: $TRACER_ERR"
			WARNINGS+=("$w/$mode round $r: $TRACER_ERR")
			return 0
		fi
		ready_ms=$TRACER_READY_MS
	fi
	# Untimed warm-up in every mode: the first run after the idle wait is otherwise slower
	# (the untraced one most, as tracer start-up has just kept the CPUs busy).
	wl_cmd "$w" "$warm"
	"${WL_CMD[@]}" >/dev/null 2>&1 || true
	[ "$mode" = base ] || read -r -a tcpu0 < <(proc_cpu "$TRACER_PID")
	l0=$(loadavg1)
	pins0=$(foll_pins)
	read -r busy0 steal0 < <(cpu_busy_steal_ns)
	wl_cmd "$w" "$iters"
	[ -z "$STALL" ] || stall_start "$dir" || err="stall did not start: $(cat "$dir/stall.err")"
	"$RUNSTAT" -o "$dir/runstat" -- "${WL_CMD[@]}" >"$dir/workload.out" 2>&1 ||
		err="workload exit $(sed 's/ .*//' "$dir/runstat" 2>/dev/null)"
	[ -z "$STALL" ] || stall_stop
	read -r busy1 steal1 < <(cpu_busy_steal_ns)
	pins1=$(foll_pins)
	if [ "$mode" != base ]; then
		read -r -a tcpu1 < <(proc_cpu "$TRACER_PID")
		read -r hwm rss < <(proc_rss_kb "$TRACER_PID")
		tracer_stop
		[ -z "$TRACER_ERR" ] || err+="${err:+; }$TRACER_ERR"
		counts=$(tracer_counts "$mode" "$dir") || counts=null
		[ -n "$counts" ] || counts=null
	fi
	ipis=
	if ! read -r ops ns ipis < <(wl_parse "$w" "$dir/workload.out"); then
		err+="${err:+; }no result in the workload's output: $(tail -n 1 "$dir/workload.out")"
		ops=0 ns=0
	fi
	[ -z "$err" ] || { say "$w/$mode round $r: $err"; WARNINGS+=("$w/$mode round $r: $err"); }
	rs=$(sed -e 's/\([a-z_]*\)=\([0-9]*\)/"\1": \2,/g' -e 's/,$//' "$dir/runstat" 2>/dev/null) || rs=
	jq -nc --arg w "$w" --arg mode "$mode" --argjson r "$r" --argjson pos "$pos" \
		--argjson iters "$iters" --argjson warm "$warm" --argjson ops "$ops" --argjson ns "$ns" \
		--argjson rs "{${rs}}" --argjson counts "$counts" --argjson ready_ms "$ready_ms" \
		--argjson t0 "[${tcpu0[0]},${tcpu0[1]},${tcpu0[2]}]" \
		--argjson t1 "[${tcpu1[0]},${tcpu1[1]},${tcpu1[2]}]" --argjson hwm "$hwm" \
		--argjson rss "$rss" --argjson busy "$((busy1 - busy0))" --argjson steal "$((steal1 - steal0))" \
		--arg idle "$idle" --arg l0 "$l0" --arg l1 "$(loadavg1)" --arg err "$err" \
		--argjson pins "$((pins1 - pins0))" --argjson own "$(wl_pins_per_op "$w")" \
		--argjson ipis "${ipis:-null}" '
		($idle | split(" ")) as $i | ($rs.wall_ns // 0) as $wall |
		(if $mode == "base" then null else
			{cpu_ns: ($t1[0] - $t0[0]), user_ns: ($t1[1] - $t0[1]), sys_ns: ($t1[2] - $t0[2]),
			 peak_rss_kb: $hwm, rss_kb: $rss, ready_ms: $ready_ms} + ($counts // {}) end) as $tr |
		{workload: $w, mode: $mode, round: $r, position: $pos, iterations: $iters,
		 warmup_iterations: $warm,
		 ops: $ops, ns: $ns, ops_per_s: (if $ns > 0 then $ops * 1e9 / $ns else null end),
		 ipis: $ipis,
		 workload_cpu_ns: (($rs.user_ns // 0) + ($rs.sys_ns // 0)), wall_ns: $wall,
		 tracer: $tr,
		 load: {idle_busy_cores_before: ($i[0] | tonumber), idle_wait_s: ($i[1] | tonumber),
			idle_timed_out: ($i[2] == "1"),
			busy_cores: (if $wall > 0 then $busy / $wall else null end),
			others_cores: (if $wall > 0 then
				($busy - ($rs.user_ns // 0) - ($rs.sys_ns // 0) - ($tr.cpu_ns // 0)) / $wall
				else null end),
			steal_cores: (if $wall > 0 then $steal / $wall else null end),
			loadavg1_start: ($l0 | tonumber), loadavg1_end: ($l1 | tonumber),
			# pins other processes made meanwhile: a tracer sees (and pays for) them too
			foreign_pin_pages: ([$pins - $ops * $own, 0] | max)},
		 error: (if $err == "" then null else $err end)}' >>"$RUNS"
}

# Untraced calibration: the iteration count that makes one run last BENCH_SECONDS.
calibrate() {
	local w=$1 n ops ns out=$BENCH_OUT/runs/$1-calibrate
	n=$(wl_calib_iters "$w")
	mkdir -p "$out"
	wl_cmd "$w" "$n"
	"$RUNSTAT" -o "$out/runstat" -- "${WL_CMD[@]}" >"$out/workload.out" 2>&1 ||
		die "$w: calibration run failed: $(tail -n 1 "$out/workload.out")"
	read -r ops ns < <(wl_parse "$w" "$out/workload.out") ||
		die "$w: no result in the calibration run's output"
	awk -v n="$n" -v ns="$ns" -v s="$BENCH_SECONDS" \
		'BEGIN { i = int(n * s * 1e9 / ns); print (i < 1 ? 1 : i) }'
}

# BPF run time of each program of MODE's tracer over one run of W, with bpf_stats on.
prog_stats() {
	local w=$1 mode=$2 iters=$3 dir=$BENCH_OUT/runs/$1-$2-progstats ids old ops
	rm -rf "$dir"
	mkdir -p "$dir"
	old=$(sysctl -n kernel.bpf_stats_enabled)
	tracer_start "$mode" "$dir" || { WARNINGS+=("$w/$mode prog stats: $TRACER_ERR"); return 0; }
	ids=$(grep -h '^prog_id:' /proc/"$TRACER_PID"/fdinfo/* 2>/dev/null | awk '{ print $2 }' | sort -un)
	sysctl -qw kernel.bpf_stats_enabled=1
	wl_cmd "$w" "$iters"
	"$RUNSTAT" -o "$dir/runstat" -- "${WL_CMD[@]}" >"$dir/workload.out" 2>&1 || true
	read -r ops _ < <(wl_parse "$w" "$dir/workload.out") || ops=0
	for id in $ids; do bpftool prog show id "$id" -j 2>/dev/null || true; done |
		jq -sc --arg w "$w" --arg mode "$mode" --argjson ops "$ops" '{workload: $w, mode: $mode,
			ops: $ops, programs: [.[] |
			{name: (.name // "?"), type, run_cnt: (.run_cnt // 0),
			 run_time_ns: (.run_time_ns // 0)} |
			. + {ns_per_run: (if .run_cnt > 0 then .run_time_ns / .run_cnt else null end)}]}' \
			>>"$BENCH_OUT/progstats.jsonl"
	sysctl -qw kernel.bpf_stats_enabled="$old"
	tracer_stop
}

# pinscope top at 1 s refresh on the idle machine: its CPU and peak RSS.
top_cost() {
	local dir=$BENCH_OUT/runs/top idle t0 t1 hwm rss a b
	rm -rf "$dir"
	mkdir -p "$dir"
	idle=$(wait_idle)
	"$PINSCOPE" top -b -i 1 -v >"$dir/tracer.out" 2> >(ready_tee "$dir/tracer.err" "ready:") &
	TRACER_PID=$!
	read -r -t "$BENCH_READY_TIMEOUT" -u "$READY_FD" _ || die "pinscope top did not get ready"
	read -r -a t0 < <(proc_cpu "$TRACER_PID")
	read -r a _ < <(cpu_busy_steal_ns)
	sleep "$BENCH_TOP_SECONDS" # the measurement window, not a synchronisation
	read -r b _ < <(cpu_busy_steal_ns)
	read -r -a t1 < <(proc_cpu "$TRACER_PID")
	read -r hwm rss < <(proc_rss_kb "$TRACER_PID")
	tracer_stop
	jq -nc --argjson s "$BENCH_TOP_SECONDS" --argjson cpu "$((t1[0] - t0[0]))" \
		--argjson u "$((t1[1] - t0[1]))" --argjson sy "$((t1[2] - t0[2]))" --argjson hwm "$hwm" --argjson rss "$rss" \
		--argjson rss "$rss" --argjson busy "$((b - a))" --arg idle "$idle" '
		{seconds: $s, cpu_ns: $cpu, user_ns: $u, sys_ns: $sy,
		 cpu_pct_of_core: ($cpu / ($s * 1e7)), peak_rss_kb: $hwm, rss_kb: $rss,
		 load: {idle_busy_cores_before: ($idle | split(" ")[0] | tonumber),
			others_cores: (($busy - $cpu) / ($s * 1e9))}}' >"$BENCH_OUT/top.json"
}

machine() {
	local model mem
	model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	mem=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
	printf '%s, %s CPUs%s, %s, Linux %s' "$model" "$(nproc)" \
		"$(grep -q '^flags.* hypervisor' /proc/cpuinfo && echo ' (VM)')" "$mem" "$(uname -r)"
}

START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
: >"$BENCH_OUT/progstats.jsonl"
declare -A ITERS
for w in $BENCH_WORKLOADS; do
	ITERS[$w]=$(calibrate "$w")
	say "$w: $(wl_desc "$w"); ${ITERS[$w]} iterations per run"
	for ((r = 1; r <= BENCH_PAIRS; r++)); do
		# Rotate the start every round and reverse every other round (ABC CBA BCA ACB ...),
		# so no mode keeps one position (with three, ABC CBA alone pins B to the middle).
		order=()
		nm=${#MODES[@]}
		for ((i = 0; i < nm; i++)); do
			order[i]=${MODES[((i + (r - 1) / 2) % nm)]}
		done
		if ((r % 2 == 0)); then
			rev=()
			for ((i = 0; i < nm; i++)); do rev[i]=${order[nm - 1 - i]}; done
			order=("${rev[@]}")
		fi
		for ((i = 0; i < ${#order[@]}; i++)); do
			run_one "$w" "${order[i]}" "$r" "$i" "${ITERS[$w]}"
		done
		say "$w: round $r/$BENCH_PAIRS done"
	done
done
if [[ " ${MODES[*]} " == *" live "* ]]; then
	[ "$BENCH_TOP_SECONDS" -eq 0 ] || top_cost
	if [ "$BENCH_PROG_STATS" = 1 ]; then
		for w in $BENCH_WORKLOADS; do
			for m in "${MODES[@]}"; do
				[ "$m" = base ] || prog_stats "$w" "$m" "${ITERS[$w]}"
			done
		done
	fi
fi
[ -s "$BENCH_OUT/top.json" ] || echo null >"$BENCH_OUT/top.json"

meta=$(jq -nc --arg date "$START" --arg fin "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
	--arg machine "$(machine)" --arg rev "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
	--arg pinscope "$("$PINSCOPE" version 2>/dev/null || echo unknown)" \
	--arg concerns "$CONCERNS" --arg bt "$BT_SCRIPTS" --arg btv "$(bpftrace --version 2>/dev/null)" \
	--arg modes "${MODES[*]}" --arg wls "$BENCH_WORKLOADS" \
	--argjson pairs "$BENCH_PAIRS" --argjson secs "$BENCH_SECONDS" --argjson cpu "$BENCH_CPU" \
	--arg stall "$BENCH_STALL" --argjson lcpu "$BENCH_LOADER_CPU" \
	--argjson imax "$BENCH_IDLE_MAX" --argjson itmo "$BENCH_IDLE_TIMEOUT" \
	--argjson iters "$(for w in $BENCH_WORKLOADS; do echo "{\"$w\": ${ITERS[$w]}}"; done | jq -sc add)" \
	--argjson desc "$(for w in $BENCH_WORKLOADS; do jq -nc --arg w "$w" --arg d "$(wl_desc "$w")" --arg u "$(wl_unit "$w")" '{($w): {what: $d, op: $u}}'; done | jq -sc add)" \
	--argjson mdesc "$(for m in "${MODES[@]}"; do jq -nc --arg m "$m" --arg d "$(mode_desc "$m")" '{($m): $d}'; done | jq -sc add)" \
	--argjson warn "$(printf '%s\n' "${WARNINGS[@]}" | jq -Rsc 'split("\n") | map(select(length > 0))')" '
	{date: $date, finished: $fin, machine: $machine, git_rev: $rev, pinscope: $pinscope,
	 bpftrace: $btv, pinscope_concerns: ($concerns | split(" ")), bpftrace_scripts: ($bt | split(" ")),
	 config: {pairs: $pairs, seconds: $secs, cpu: $cpu, idle_max_cores: $imax,
		  stall: (if $stall == "" then null else $stall end),
		  loader_cpu: (if $stall == "" then null else $lcpu end),
		  idle_timeout_s: $itmo, modes: ($modes | split(" ")), workloads: ($wls | split(" ")),
		  iterations: $iters},
	 workloads: $desc, modes: $mdesc, warnings: $warn}')
echo "$meta" >"$BENCH_OUT/meta.json"
render "$meta"
