#!/usr/bin/env bash
# What pinscope top costs with many holders: CPU (user+sys from /proc/PID/stat over a window)
# and memory (VmRSS, VmHWM, and RSS by kind) of the loader at -i 1, in batch mode (every row
# printed each second), JSON mode and the full-screen view (in a tmux pane). Not part of the
# test suite. Run as root from the repository root:
#
#   tools/bench/top-cost.sh [PROCS [SITES [SECONDS]]]     (default 10 1000 30)
#   MODES="view batch json" (the default) picks the modes.
#
# The holders come from tools/bench/holders.c: PROCS processes each register SITES one-page io_uring
# buffers from SITES different call paths, so pinscope sees PROCS*SITES holders (pid,
# subsystem, user stack). pinscope is started first so that it sees the registrations (and their
# stacks) live. The holders run in a cgroup of their own and pinscope is given -c for it, so
# other io_uring users on the machine do not add their events to the measurement (rings that
# exist at start-up are still seeded, whoever owns them). One line per mode:
#   mode=batch holding=10000 cpu_pct=0.62 rss_kb=... hwm_kb=... anon_kb=... file_kb=... shmem_kb=...
set -euo pipefail
cd "$(dirname "$0")/../.."

procs=${1:-10}
sites=${2:-1000}
window=${3:-30}
out=.output/bench
mkdir -p "$out"
make -s .output/pinscope
gcc -std=c11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Werror -fno-omit-frame-pointer \
	-fno-optimize-sibling-calls -fno-inline tools/bench/holders.c -o "$out/holders"
hz=$(getconf CLK_TCK)
want=$((procs * sites))
pids=()
cg_mnt=$(awk '/ - cgroup2 / { print $5; exit }' /proc/self/mountinfo)
[ -n "$cg_mnt" ] || { echo "top-cost: no cgroup2 mount" >&2; exit 1; }
cg=$cg_mnt/pinscope-bench-$$
mkdir "$cg"

cleanup() {
	local p
	for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
	tmux -L pinscope-bench kill-server 2>/dev/null || true
	if [ -n "${HOLD_FD:-}" ]; then exec {HOLD_FD}>&-; fi
	wait 2>/dev/null || true
	rmdir "$cg" 2>/dev/null || true
}
trap cleanup EXIT

ticks() { # utime + stime of pid $1, in clock ticks
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

status_kb() { # field $2 of /proc/$1/status
	awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"
}

wait_for() { # wait_for SECONDS CMD...: until CMD succeeds
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.2
	done
}

holding() { # the last count of holders holding pins in a file of snapshot headers
	grep -oE '[0-9]+ holding pins|"holders_holding":[0-9]+' "$1" | tail -1 | grep -oE '[0-9]+' | head -1
}

all_seen() {
	[ "$(holding "$1")" -ge "$want" ] 2>/dev/null
}

# measure NAME PID SEEN-FILE: wait until the loader shows all holders, then sample a window.
measure() {
	local name=$1 pid=$2 seen=$3 t0 t1 c0 c1
	wait_for 120 all_seen "$seen" || {
		echo "mode=$name: never saw $want holders" >&2
		tail -3 "$seen" >&2
		return 1
	}
	c0=$(ticks "$pid")
	t0=$(date +%s.%N)
	sleep "$window" # the measurement window itself
	c1=$(ticks "$pid")
	t1=$(date +%s.%N)
	echo "mode=$name holding=$(holding "$seen")" \
		"cpu_pct=$(echo "scale=2; 100 * ($c1 - $c0) / $hz / ($t1 - $t0)" | bc)" \
		"rss_kb=$(status_kb "$pid" VmRSS) hwm_kb=$(status_kb "$pid" VmHWM)" \
		"anon_kb=$(status_kb "$pid" RssAnon) file_kb=$(status_kb "$pid" RssFile)" \
		"shmem_kb=$(status_kb "$pid" RssShmem) window_s=$window"
}

start_holders() {
	local fifo=$out/holders.in
	rm -f "$fifo" "$out/holders.out"
	mkfifo "$fifo"
	(
		echo "$BASHPID" >"$cg/cgroup.procs"
		exec "$out/holders" --procs "$procs" --sites "$sites" <"$fifo" >"$out/holders.out"
	) &
	exec {HOLD_FD}>"$fifo"
	wait_for 300 grep -q '^ready ' "$out/holders.out"
	grep '^ready ' "$out/holders.out" >&2
}

stop_holders() {
	echo exit >&"$HOLD_FD"
	exec {HOLD_FD}>&-
	HOLD_FD=
	wait_for 60 grep -q '^exit ok' "$out/holders.out"
}

# batch: every row of every snapshot goes to a pipe; only the headers are kept.
batch_or_json() {
	local name=$1 pid
	shift
	rm -f "$out/$name.seen" "$out/$name.err"
	.output/pinscope top "$@" -c "$cg" -i 1 -v 2>"$out/$name.err" |
		grep --line-buffered -oE '^pinscope top: .*|"holders_holding":[0-9]+|; losses [0-9]+|"ringbuf_full":[0-9]+' >"$out/$name.seen" &
	wait_for 30 grep -q 'pinscope: ready' "$out/$name.err"
	pid=$(pgrep -f "pinscope top $* -c $cg -i 1 -v" | head -1)
	pids+=("$pid")
	start_holders
	measure "$name" "$pid" "$out/$name.seen"
	stop_holders
	kill -INT "$pid"
	wait_for 30 not_running "$pid"
}

not_running() {
	! kill -0 "$1" 2>/dev/null
}

# the full-screen view in a 120x40 tmux pane; the header line is read with capture-pane.
view() {
	local pid loop
	rm -f "$out/view.err" "$out/view.seen"
	tmux -L pinscope-bench -f /dev/null new-session -d -s b -x 120 -y 40 \
		"$PWD/.output/pinscope top -c $cg -i 1 -v 2>$PWD/$out/view.err; sleep 600"
	wait_for 30 grep -q 'pinscope: ready' "$out/view.err"
	pid=$(pgrep -f "^$PWD/.output/pinscope top -c $cg -i 1 -v" | head -1)
	pids+=("$pid")
	start_holders
	(while tmux -L pinscope-bench capture-pane -p -t b | head -1 >>"$out/view.seen"; do
		sleep 1
	done) &
	loop=$!
	measure view "$pid" "$out/view.seen"
	kill "$loop"
	stop_holders
	tmux -L pinscope-bench send-keys -t b q
	wait_for 30 not_running "$pid"
	tmux -L pinscope-bench kill-server
}

echo "# $procs processes x $sites call sites = $want holders; window ${window}s; $(nproc) CPUs" >&2
for mode in ${MODES:-view batch json}; do
	case $mode in
	batch) batch_or_json batch -b ;;
	json) batch_or_json json -j ;;
	view) view ;;
	esac
done
