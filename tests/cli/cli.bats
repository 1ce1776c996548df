#!/usr/bin/env bats
# The command line: dispatch, help, exit codes, one-line errors.
load helpers

@test "help lists every command and exits 0" {
	run "$PINSCOPE" help
	[ "$status" -eq 0 ]
	for c in top report record watch probes version help; do
		[[ "$output" == *"  $c "* ]]
	done
}

@test "no command prints usage and exits 2" {
	run "$PINSCOPE"
	[ "$status" -eq 2 ]
	[[ "$output" == *"Usage: pinscope COMMAND"* ]]
}

@test "unknown command is a one-line error with exit 2" {
	run "$PINSCOPE" frobnicate
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "pinscope: unknown command 'frobnicate'" ]
}

@test "version names pinscope, libbpf and the event ABI" {
	run "$PINSCOPE" version
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^pinscope\ [0-9]+\.[0-9]+\.[0-9]+.*libbpf\ v?[0-9.]+,\ event\ ABI\ 3$ ]]
}

@test "every command has --help that exits 0" {
	for c in top report probes; do
		run "$PINSCOPE" "$c" --help
		[ "$status" -eq 0 ]
		[[ "${lines[0]}" == "Usage: pinscope $c"* ]]
	done
}

@test "bad option values are usage errors (exit 2) naming the option" {
	run "$PINSCOPE" report -d abc
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == "pinscope: report: --duration: 'abc' is not a positive time" ]]
	run "$PINSCOPE" top -p -5
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == *"--pid: '-5' is not a process id" ]]
	run "$PINSCOPE" top -i 1ms
	[ "$status" -eq 2 ]
	run "$PINSCOPE" report --bogus
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == "pinscope: report: unknown option '--bogus'" ]]
	run "$PINSCOPE" report -d
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == *"needs a value" ]]
	run "$PINSCOPE" top --cgroup /no/such/cgroup
	[ "$status" -eq 2 ]
	run "$PINSCOPE" report -d 1 --tlb-sample 3
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == "pinscope: report: --tlb-sample: '3' is not a power of two from 1 to 1024" ]]
	run "$PINSCOPE" record -o /dev/null --tlb-sample 2048
	[ "$status" -eq 2 ]
	# a misspelt subsystem would filter everything out: an empty report, not an error
	run "$PINSCOPE" report -d 1 --subsystem iouring
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == "pinscope: report: --subsystem: unknown subsystem 'iouring' (unknown, io_uring, vfio, iommufd, rdma, kvm, vhost, udmabuf, gup, unattributed)" ]]
	run "$PINSCOPE" top --subsystem VFIO
	[ "$status" -eq 2 ]
}

@test "report needs -d TIME or a FILE" {
	run "$PINSCOPE" report
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == "pinscope: report: give -d TIME for a live report, or a FILE to read" ]]
}

@test "without privileges: one line saying what is missing and what still works, exit 1" {
	need_root
	command -v setpriv >/dev/null || skip "setpriv (util-linux) not installed"
	run setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$PINSCOPE" report -d 1
	[ "$status" -eq 1 ]
	[[ "${lines[0]}" == "pinscope: loading BPF programs: permission denied: need root or CAP_BPF and CAP_PERFMON" ]]
	[[ "${lines[1]}" == *"what still works"* ]]
}

@test "make bench: a bad setting is a one-line error before anything runs" {
	local bench=$BATS_TEST_DIRNAME/../../tools/bench/run.sh
	# no workload tools: past the checks it stops at once
	export TOOLS=$BATS_TEST_TMPDIR/none BENCH_OUT=$BATS_TEST_TMPDIR/bench
	BENCH_PAIRS=0 run "$bench"
	[ "$status" -eq 1 ]
	[ "$output" = "bench: BENCH_PAIRS: '0' is not a whole number >= 1" ]
	BENCH_TOP_SECONDS=ten run "$bench"
	[ "$status" -eq 1 ]
	[ "$output" = "bench: BENCH_TOP_SECONDS: 'ten' is not a whole number >= 0" ]
	BENCH_IDLE_MAX=-1 run "$bench"
	[ "$status" -eq 1 ]
	[ "$output" = "bench: BENCH_IDLE_MAX: '-1' is not a number" ]
	BENCH_MODES="base livee" run "$bench"
	[ "$status" -eq 1 ]
	[ "$output" = "bench: BENCH_MODES: 'livee' is not one of: base floor live local record bpftrace other notlb" ]
	BENCH_WORKLOADS="tlb tlbb" run "$bench"
	[ "$status" -eq 1 ]
	[ "$output" = "bench: BENCH_WORKLOADS: 'tlbb' is not one of: uring tlb sched pinstorm pinpace" ]
}
