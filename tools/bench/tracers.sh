# shellcheck shell=bash disable=SC2034 # the variables are read by run.sh
# The ways a workload is run: untraced, under pinscope (live aggregate, record), under the
# equivalent bpftrace script. Sourced by run.sh. A tracer is started before the workload and is
# ready (every probe attached) before the workload starts; it is stopped with SIGINT after it.

MODES_ALL="base floor live local record bpftrace"
# Every mode BENCH_MODES may name: those run by default and those run only when asked for.
MODES_KNOWN="$MODES_ALL other notlb"
# PINSCOPE_OTHER=path adds the mode "other": the same as live with another pinscope binary, for
# an A/B of a change inside one interleaved run. "notlb" (asked for in BENCH_MODES) is live with
# --no-tlb: what the TLB concern costs a workload.
BT_DIR=$(dirname "${BASH_SOURCE[0]}")/bpftrace

mode_desc() {
	case $1 in
	base) echo "untraced" ;;
	floor) echo "empty BPF programs (r0 = 0) on the tracepoints pinscope attaches here: ${FLOOR_TPS[*]} (what any program there costs)" ;;
	live) echo "pinscope report (live aggregate, 1 s ticks)" ;;
	local) echo "pinscope report --tlb-local (live, tlb_flush attached too: local flushes and task switches, as the bpftrace script counts them)" ;;
	notlb) echo "pinscope report --no-tlb (live, the TLB concern left out)" ;;
	other) echo "$PINSCOPE_OTHER report (live aggregate, 1 s ticks)" ;;
	record) echo "pinscope record (events to a file)" ;;
	bpftrace) echo "bpftrace $(bpftrace --version 2>/dev/null | awk '{ print $2 }'): $BT_SCRIPTS" ;;
	esac
}

# Is MODE usable here? Sets MODE_WHY when not.
mode_available() {
	MODE_WHY=
	case $1 in
	base) return 0 ;;
	floor)
		if [ -z "${FLOOR:-}" ]; then
			MODE_WHY="tools/bench/floor.c did not build"
		elif ((${#FLOOR_TPS[@]} == 0)); then
			MODE_WHY="pinscope attaches no raw tracepoint or tracepoint here"
		fi
		;;
	live | local | notlb) [ -x "$PINSCOPE" ] || MODE_WHY="no $PINSCOPE (run make)" ;;
	other) [ -x "${PINSCOPE_OTHER:-}" ] || MODE_WHY="PINSCOPE_OTHER is not an executable" ;;
	record)
		if ! "$PINSCOPE" record --help >/dev/null 2>&1; then
			MODE_WHY="'pinscope record' is not implemented in this build"
		fi
		;;
	bpftrace)
		if ! command -v bpftrace >/dev/null; then
			MODE_WHY="bpftrace is not installed (apt-get install bpftrace)"
		elif [ -z "$BT_SCRIPTS" ]; then
			MODE_WHY="no bpftrace equivalent for concerns: $CONCERNS"
		fi
		;;
	esac
	[ -z "$MODE_WHY" ]
}

# The concerns pinscope attaches BPF programs for on this kernel (from 'pinscope probes -j').
pinscope_concerns() {
	"$PINSCOPE" probes -j 2>/dev/null | jq -r '[.hooks[] |
		select(.tier | IN("fentry", "kprobe", "raw_tp", "tracepoint", "syscall")) |
		.concern] | unique | join(" ")'
}

# The tracepoints of the raw_tp and tracepoint tiers pinscope chooses here, as floor's arguments
# (raw:GROUP/NAME, tp:GROUP/NAME). The syscall tier's are left out: they attach only once a VM
# exists (src/kvm_gate.c), and no workload here makes one.
floor_tps() {
	"$PINSCOPE" probes -j 2>/dev/null | jq -r '.hooks[] | .tier as $t | .programs as $p |
		select($t | IN("raw_tp", "tracepoint")) |
		[.tried[] | select(.ok and .tier == $t and .programs == $p)][0].targets // empty |
		split(",")[] | (if $t == "raw_tp" then "raw:" else "tp:" end) + .' | sort -u
}

# The bpftrace equivalent of CONCERNS: one script per concern, concatenated, plus the ready line.
# Sets BT_SCRIPTS (the concerns covered) and BT_MISSING (those without a script).
bt_compose() {
	local out=$1 c scratch
	BT_SCRIPTS='' BT_MISSING=''
	: >"$out"
	for c in $CONCERNS; do
		if [ -f "$BT_DIR/$c.bt" ]; then
			cat "$BT_DIR/$c.bt" >>"$out"
			BT_SCRIPTS+="${BT_SCRIPTS:+ }$c.bt"
		else
			BT_MISSING+="${BT_MISSING:+ }$c"
		fi
	done
	# BEGIN fires once every other probe is attached. bpftrace takes one END: it clears the
	# scripts' scratch maps (named @_*), so only their results are printed.
	mapfile -t scratch < <(grep -o '@_[A-Za-z0-9_]*' "$out" | sort -u)
	printf '\nBEGIN { printf("ready\\n"); }\n' >>"$out"
	if ((${#scratch[@]})); then
		{
			printf '\nEND\n{\n'
			printf '\tclear(%s);\n' "${scratch[@]}"
			printf '}\n'
		} >>"$out"
	fi
}

# Copy lines to OUT; on the first line containing PAT say "ready" on the ready fifo, and "eof"
# when the input ends (so the caller knows OUT is complete).
ready_tee() {
	local out=$1 pat=$2 said=0 l
	while IFS= read -r l; do
		printf '%s\n' "$l" >>"$out"
		if ((!said)) && [[ $l == *"$pat"* ]]; then
			echo ready >"$READY_FIFO"
			said=1
		fi
	done
	echo eof >"$READY_FIFO"
}

# Start MODE's tracer with its output in DIR; wait until it is ready. Sets TRACER_PID, and
# TRACER_READY_MS (start to ready). Returns 1 (with TRACER_ERR) if it failed to get ready.
tracer_start() {
	local mode=$1 dir=$2 l t0
	TRACER_PID='' TRACER_ERR=''
	t0=$EPOCHREALTIME
	case $mode in
	live | other | local | notlb)
		"${LOADER_PIN[@]}" "$([ "$mode" = other ] && echo "$PINSCOPE_OTHER" || echo "$PINSCOPE")" \
			report -d 10h -j -v \
			$([ "$mode" = local ] && echo --tlb-local) $([ "$mode" = notlb ] && echo --no-tlb) \
			>"$dir/tracer.out" 2> >(ready_tee "$dir/tracer.err" "ready:") &
		;;
	floor)
		"${LOADER_PIN[@]}" "$FLOOR" "${FLOOR_TPS[@]}" >"$dir/tracer.out" 2> >(ready_tee "$dir/tracer.err" "ready:") &
		;;
	record)
		"${LOADER_PIN[@]}" "$PINSCOPE" record -o "$dir/trace.pscope" -v >"$dir/tracer.out" \
			2> >(ready_tee "$dir/tracer.err" "ready:") &
		;;
	bpftrace)
		# bpftrace 0.17 warns about RLIMIT_MEMLOCK, which this kernel does not use
		"${LOADER_PIN[@]}" bpftrace "$BT_FILE" > >(ready_tee "$dir/tracer.out" "ready") 2>"$dir/tracer.err" &
		;;
	esac
	TRACER_PID=$!
	if ! read -r -t "$BENCH_READY_TIMEOUT" -u "$READY_FD" l || [ "$l" != ready ]; then
		TRACER_ERR="$mode did not get ready in ${BENCH_READY_TIMEOUT}s: $(tail -n 2 "$dir/tracer.err" 2>/dev/null | tr '\n' ' ')"
		tracer_stop
		return 1
	fi
	TRACER_READY_MS=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
}

# SIGINT, then wait for the exit (bounded) and for its output to be complete.
tracer_stop() {
	local i l
	[ -n "$TRACER_PID" ] || return 0
	kill -INT "$TRACER_PID" 2>/dev/null || true
	for ((i = 0; i < 600; i++)); do
		kill -0 "$TRACER_PID" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$TRACER_PID" 2>/dev/null; then
		TRACER_ERR+="${TRACER_ERR:+; }did not exit 30 s after SIGINT: killed"
		kill -KILL "$TRACER_PID" 2>/dev/null || true
	fi
	wait "$TRACER_PID" 2>/dev/null || true
	# the output copier ends when the tracer's pipe closes
	while read -r -t 10 -u "$READY_FD" l && [ "$l" != eof ]; do :; done
	TRACER_PID=''
}

# pinscope's JSON report -> {"events", "lost", "losses"}: events are the records its BPF programs
# delivered (procfs samples and marks made in user space left out).
pinscope_counts() {
	jq -c '{events: ([.events_by_tier | to_entries[] |
			select(.key | IN("procfs", "user") | not) | .value] | add),
		lost: (.losses.ringbuf_full + .losses.bpf_map_full + .losses.malformed_records),
		losses: .losses}' "$1"
}

# MODE's counts after the run: {"events", "lost", ...} (lost is null where the tool has no such
# count: bpftrace's histograms have no loss, only its perf-buffer output does).
tracer_counts() {
	local mode=$1 dir=$2
	case $mode in
	live | other | local | notlb) pinscope_counts "$dir/tracer.out" ;;
	floor) echo '{"events": null, "lost": null}' ;;
	record)
		"$PINSCOPE" report "$dir/trace.pscope" -j >"$dir/replay.json" 2>>"$dir/tracer.err" &&
			pinscope_counts "$dir/replay.json" |
			jq -c --argjson b "$(stat -c %s "$dir/trace.pscope")" '. + {record_bytes: $b}'
		;;
	bpftrace)
		# events: the samples added to its histograms and counts
		awk '/^\[|^\(/ { for (i = 2; i <= NF; i++) if ($i ~ /^\|/) { n += $(i - 1); break } }
			/^@[^_].*: [0-9]+$/ { n += $NF }
			/Lost [0-9]+ events/ { lost += $2 }
			END { printf "{\"events\": %d, \"lost\": %s}\n", n, lost == "" ? "null" : lost }' \
			"$dir/tracer.out" "$dir/tracer.err"
		;;
	esac
}
