# shellcheck shell=bash
# What the machine is doing: CPU time from /proc, the wait for an idle machine, a process's cost.
# Sourced by run.sh. Times are in ns; /proc/stat counts in USER_HZ ticks.

TICK_NS=$((1000000000 / $(getconf CLK_TCK)))

# "busy steal" of all CPUs so far, in ns: busy = user+nice+system+irq+softirq+steal.
cpu_busy_steal_ns() {
	local _ user nice system irq softirq steal
	read -r _ user nice system _ _ irq softirq steal _ </proc/stat
	echo "$(((user + nice + system + irq + softirq + steal) * TICK_NS)) $((steal * TICK_NS))"
}

# CPU cores other processes kept busy over `secs` seconds (a sample, not a wait).
busy_cores_over() {
	local secs=$1 a b
	read -r a _ < <(cpu_busy_steal_ns)
	sleep "$secs"
	read -r b _ < <(cpu_busy_steal_ns)
	awk -v d=$((b - a)) -v s="$secs" 'BEGIN { printf "%.3f\n", d / (s * 1e9) }'
}

# Wait until the machine is idle: busy cores over BENCH_IDLE_SAMPLE seconds below BENCH_IDLE_MAX,
# giving up after BENCH_IDLE_TIMEOUT seconds. Prints "busy_cores waited_s timed_out(0|1)".
wait_idle() {
	local start busy waited
	start=$SECONDS
	while :; do
		busy=$(busy_cores_over "$BENCH_IDLE_SAMPLE")
		waited=$((SECONDS - start))
		if awk -v b="$busy" -v m="$BENCH_IDLE_MAX" 'BEGIN { exit !(b <= m) }'; then
			echo "$busy $waited 0"
			return
		fi
		if ((waited >= BENCH_IDLE_TIMEOUT)); then
			echo "$busy $waited 1"
			return
		fi
	done
}

# CPU a running process has used so far: "cpu_ns utime_ns stime_ns". cpu_ns is the sum of its
# threads' run time (schedstat, ns precise); utime/stime are tick-grained.
proc_cpu() {
	local pid=$1 sum=0 t run stat rest
	for t in /proc/"$pid"/task/*/schedstat; do
		read -r run _ <"$t" 2>/dev/null || continue
		sum=$((sum + run))
	done
	stat=$(<"/proc/$pid/stat") || return 1
	rest=${stat##*) }
	# fields after "comm)": state is 3, utime 14, stime 15 -> 12th and 13th of rest
	read -r -a f <<<"$rest"
	echo "$sum $((f[11] * TICK_NS)) $((f[12] * TICK_NS))"
}

# "peak now" resident set of a running process, in KiB (VmHWM, VmRSS).
proc_rss_kb() {
	awk '/^VmHWM:/ { h = $2 } /^VmRSS:/ { r = $2 } END { print h + 0, r + 0 }' "/proc/$1/status"
}

loadavg1() {
	local l
	read -r l _ </proc/loadavg
	echo "$l"
}

# nr_foll_pin_acquired of /proc/vmstat, the per-CPU deltas folded in first (root).
foll_pins() {
	echo 1 >/proc/sys/vm/stat_refresh 2>/dev/null || true
	awk '$1 == "nr_foll_pin_acquired" { print $2; found = 1 } END { if (!found) print 0 }' /proc/vmstat
}
