# shellcheck shell=bash disable=SC2034 # the variables are read by run.sh
# The workloads: what each runs, how its own output gives operations and time. Sourced by run.sh.
# Each runs a fixed number of iterations (calibrated once, untraced, to BENCH_SECONDS) and times
# itself, so the tracer's start and stop are never inside the measured interval.

WORKLOADS_ALL="uring tlb sched pinstorm pinpace"
# pinpace: registrations of the 4 rings per second; each makes 4 x 66 records (a sync frame and
# 64 pins per ring): 4000/s offer ~1.06 M records/s, just above the 1 M/s of the no-loss target
PACE=${BENCH_PACE:-4000}

wl_desc() {
	case $1 in
	uring) echo "io_uring register+unregister of one 64-page buffer, CPU $BENCH_CPU (pinload --loop)" ;;
	tlb) echo "mprotect RW->R->RW on CPU 0, a second thread on CPU 1: remote shootdowns (tlbload --loop)" ;;
	sched) echo "perf bench sched pipe, both ends on CPU $BENCH_CPU: a tlb_flush on every task switch" ;;
	pinstorm) echo "4 rings x 64 one-page buffers registered and unregistered, CPU $BENCH_CPU, every other time other buffers (pinload --distinct): distinct short-lived pins" ;;
	pinpace) echo "the pin storm paced to $PACE registrations of the 4 rings per second (pinload --pace): ~$((PACE * 264 / 1000))k records/s offered to pinscope (4 x 66 per registration; the no-loss target is 1 M/s); paced, so its slowdown means nothing, its losses do" ;;
	esac
}

# What one operation is.
wl_unit() {
	case $1 in
	uring) echo "reg+unreg" ;;
	tlb) echo "syscall" ;;
	sched) echo "pipe round trip" ;;
	pinstorm | pinpace) echo "pin+unpin" ;;
	esac
}

# Iterations for the calibration run.
wl_calib_iters() {
	case $1 in
	uring) echo 500 ;;
	tlb) echo 5000 ;;
	sched) echo 50000 ;;
	pinstorm) echo 20 ;;
	pinpace) echo 300 ;;
	esac
}

# Pages the workload itself pins per operation (to tell other processes' pins during a run).
wl_pins_per_op() {
	case $1 in
	uring) echo 64 ;;
	pinstorm | pinpace) echo 1 ;;
	*) echo 0 ;;
	esac
}

# WL_CMD: the command line for NAME with ITERS iterations.
wl_cmd() {
	local cpu=(taskset -c "$BENCH_CPU")
	case $1 in
	uring) WL_CMD=("${cpu[@]}" "$TOOLS/pinload" --loop "$2" --bufs 1 --pages 64) ;;
	tlb) WL_CMD=("$TOOLS/tlbload" --loop --iters "$2" --op mprotect) ;;
	sched) WL_CMD=("${cpu[@]}" perf bench sched pipe -l "$2") ;;
	pinstorm) WL_CMD=("${cpu[@]}" "$TOOLS/pinload" --loop "$2" --rings 4 --bufs 64 --pages 1 --distinct) ;;
	pinpace) WL_CMD=("${cpu[@]}" "$TOOLS/pinload" --loop "$2" --rings 4 --bufs 64 --pages 1 --distinct --pace "$PACE") ;;
	esac
}

# "ops ns [ipis]" from the workload's own output FILE; ops are wl_unit operations; ipis (tlb
# only): the TLB shootdown IPIs the workload saw in /proc/interrupts over its loop.
wl_parse() {
	local name=$1 file=$2
	case $name in
	uring)
		awk '$1 == "loop" { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
			print v["ops"], v["ns"]; found = 1 } END { exit !found }' "$file"
		;;
	pinstorm | pinpace)
		awk '$1 == "loop" { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
			print v["ops"] * v["pages_per_op"], v["ns"]; found = 1 } END { exit !found }' "$file"
		;;
	tlb)
		awk '$1 == "done" { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
			print v["ops"], v["ns"], v["tlb_ipi_delta"]; found = 1 } END { exit !found }' "$file"
		;;
	sched)
		awk '/pipe operations/ { ops = $3 } /Total time:/ { ns = $3 * 1e9 }
			END { if (!ops || !ns) exit 1; printf "%d %.0f\n", ops, ns }' "$file"
		;;
	esac
}
