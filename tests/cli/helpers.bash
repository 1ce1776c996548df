# Shared by the BATS files. PINSCOPE and PINSCOPE_TOOLS come from tests/run.sh; run alone,
# they default to the plain build.
: "${PINSCOPE:=$BATS_TEST_DIRNAME/../../.output/pinscope}"
: "${PINSCOPE_TOOLS:=$BATS_TEST_DIRNAME/../../.output/tools}"

# Wait (up to $2 seconds, default 20) until file $1 has a line matching $3. No fixed sleeps:
# returns as soon as the line is there.
wait_line() {
	local file=$1 secs=${2:-20} re=$3
	timeout "$secs" bash -c "until grep -qE -- '$re' '$file' 2>/dev/null; do sleep 0.02; done"
}

# key=value from a workload line
field() {
	sed -n "s/.*[ ^]$2=\([^ ]*\).*/\1/p" <<<" $1" | head -1
}

# Start a workload with its stdin on a fifo (fd 7 stays open in this shell) and wait for ready.
# Sets WL_PID and WL_OUT.
start_workload() {
	local name=$1
	shift
	local fifo
	fifo=$(mktemp -u "$BATS_TEST_TMPDIR/$name.in.XXXXXX")
	WL_OUT=$(mktemp "$BATS_TEST_TMPDIR/$name.out.XXXXXX")
	mkfifo "$fifo"
	"$PINSCOPE_TOOLS/$name" "$@" <"$fifo" >"$WL_OUT" 2>&1 &
	WL_PID=$!
	exec 7>"$fifo"
	wait_line "$WL_OUT" 20 '^ready ' || { cat "$WL_OUT"; return 1; }
	READY_LINE=$(grep -m1 '^ready ' "$WL_OUT")
}

# Send a command to the workload on fd 7 and wait for its answer line.
wl_cmd() {
	local n
	n=$(grep -c . "$WL_OUT")
	echo "$1" >&7
	timeout 20 bash -c "until [ \$(grep -c . '$WL_OUT') -gt $n ]; do sleep 0.02; done"
	tail -1 "$WL_OUT"
}

stop_workload() {
	echo exit >&7 2>/dev/null || true
	exec 7>&-
	wait "$WL_PID" 2>/dev/null || true
}

# Start `pinscope ARGS -v` in the background, stdout to $PS_OUT, and wait for its ready line.
start_pinscope() {
	PS_OUT=$BATS_TEST_TMPDIR/pinscope.out
	PS_ERR=$BATS_TEST_TMPDIR/pinscope.err
	"$PINSCOPE" "$@" -v >"$PS_OUT" 2>"$PS_ERR" &
	PS_PID=$!
	wait_line "$PS_ERR" 30 'pinscope: ready' || { cat "$PS_ERR"; return 1; }
}

# SIGINT pinscope and wait for it to finish its report.
stop_pinscope() {
	kill -INT "$PS_PID"
	wait "$PS_PID"
}

# jq-like access with python: json_get FILE 'expr on d'
json_get() {
	python3 -c "import json,sys; d=json.load(open('$1')); print($2)"
}

need_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (BPF)"
}

# A cgroup of the test's own (cg_make), its processes (cg_add PID), gone again (cg_remove).
cg_make() {
	CG_MNT=$(awk '/ - cgroup2 / { print $5; exit }' /proc/self/mountinfo)
	[ -n "$CG_MNT" ] || skip "no cgroup2 mount"
	CG="pinscope-bats-$$-$BATS_TEST_NUMBER"
	mkdir "$CG_MNT/$CG"
}

cg_add() {
	echo "$1" >"$CG_MNT/$CG/cgroup.procs"
}

cg_remove() {
	[ -n "${CG:-}" ] && [ -d "$CG_MNT/$CG" ] || return 0
	local p
	for p in $(cat "$CG_MNT/$CG/cgroup.procs"); do
		echo "$p" >"$CG_MNT/cgroup.procs" 2>/dev/null || true
	done
	rmdir "$CG_MNT/$CG" 2>/dev/null || true
}
