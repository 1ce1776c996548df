#!/bin/bash
# boot.sh -k KERNEL -i INITRD [options]: boot a guest-tier initramfs under
# QEMU TCG and turn what the guest prints as "PSTEST <tap line>" into TAP on
# stdout (numbered here, plan at the end). The whole console goes to a log.
#   -k KERNEL   vmlinuz, or a kernel directory from fetch-kernel.sh
#   -i INITRD   initramfs from mkinitramfs.sh
#   -l LOG      console log (default: a file under $TMPDIR, named on stderr)
#   -t SECONDS  wall-clock limit for the whole boot (default 120)
#   -a ARGS     extra kernel command line
#   -n NAME     name used in TAP lines (default: the kernel's release)
#   -c CPUS     vCPUs (default 2); 4 or more make two NUMA nodes, each with
#               half the CPUs and half the memory
# Fails (exit 1, a "not ok" line, the console tail on stderr) on a kernel
# panic or oops, on the time limit, when the guest never printed
# "PSTEST done", or when a guest test failed. Exit 2: usage.
set -euo pipefail
# shellcheck source=tools/vm/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	sed -n '2,16s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

kernel='' initrd='' log='' limit=120 append='' name='' cpus=2
while getopts "k:i:l:t:a:n:c:h" opt; do
	case $opt in
	k) kernel=$OPTARG ;;
	i) initrd=$OPTARG ;;
	l) log=$OPTARG ;;
	t) limit=$OPTARG ;;
	a) append=$OPTARG ;;
	n) name=$OPTARG ;;
	c) cpus=$OPTARG ;;
	*) usage ;;
	esac
done
[[ -n $kernel && -n $initrd && $OPTIND -gt $# ]] || usage
[[ $limit =~ ^[0-9]+$ && $cpus =~ ^[1-9][0-9]*$ ]] || usage
if [[ -d $kernel ]]; then
	vm_kernel_dir "$kernel"
	[[ -n $name ]] || name=$(cat "$kernel/release")
	kernel=$kernel/vmlinuz
fi
[[ -f $kernel ]] || die "$kernel: no such kernel image"
[[ -f $initrd ]] || die "$initrd: no such initramfs"
[[ -n $name ]] || name=${kernel##*/}
command -v qemu-system-x86_64 >/dev/null ||
	die "qemu-system-x86_64: not found (apt-get install qemu-system-x86)"

work=$(mktemp -d "${TMPDIR:-/tmp}/pinscope-boot.XXXXXX")
qpid=
cleanup() {
	[[ -n $qpid ]] && kill "$qpid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
[[ -n $log ]] || log=$(mktemp "${TMPDIR:-/tmp}/pinscope-console.XXXXXX")
: >"$log"

mkfifo "$work/console"
t0=$EPOCHREALTIME
# -no-reboot: the guest's "reboot -f" ends qemu. stdin is /dev/null so that
# -nographic leaves the terminal alone.
# thread=single: with one host thread per vCPU (QEMU's default), a vCPU could
# run code another vCPU had just patched back (text_poke_bp, as tracepoints,
# fentry and kprobes are switched on and off) and hit a stale int3: seen once
# as "Oops: int3" in process_one_work on 6.12. Round-robin vCPUs never do.
accel=${PINSCOPE_VM_ACCEL:-tcg,thread=single}
numa=()
if ((cpus >= 4)); then
	half=$((cpus / 2))
	numa=(-object "memory-backend-ram,id=m0,size=1G" -object "memory-backend-ram,id=m1,size=1G"
		-numa "node,nodeid=0,cpus=0-$((half - 1)),memdev=m0"
		-numa "node,nodeid=1,cpus=$half-$((cpus - 1)),memdev=m1")
fi
timeout -k 5 "$limit" qemu-system-x86_64 \
	-M q35 -accel "$accel" -cpu max -smp "$cpus" -m 2G "${numa[@]}" \
	-nographic -no-reboot -nic none \
	-kernel "$kernel" -initrd "$initrd" \
	-append "console=ttyS0 panic=-1 oops=panic $append" \
	</dev/null >"$work/console" 2>&1 &
qpid=$!

n=0 failed=0 done='' panic='' t_init='' up_init=''
secs() { # elapsed seconds since t0, one decimal
	awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'
}
exec 4>>"$log"
while IFS= read -r line; do
	line=${line%$'\r'}
	printf '%s\n' "$line" >&4
	case $line in
	*"Kernel panic - not syncing"* | *"Oops:"* | *"BUG: "* | *"general protection fault"*)
		[[ -n $panic ]] || panic=${line#*\] } ;;
	esac
	[[ $line == *"PSTEST "* ]] || continue
	msg=${line#*PSTEST }
	case $msg in
	"init "*)
		t_init=$(secs)
		up_init=${msg##*uptime=}
		echo "# $name: init after ${t_init} s (guest uptime ${up_init} s)"
		;;
	done) done=$(secs) ;;
	"ok"* | "not ok"*)
		n=$((n + 1))
		[[ $msg == "not ok"* ]] && failed=$((failed + 1))
		# drop the guest's own number, renumber here
		res=${msg%%ok*}ok
		rest=${msg#"$res"}
		rest=$(sed -E 's/^ *[0-9]* *-? *//' <<<"$rest")
		echo "$res $n - $name: $rest"
		;;
	"#"*) echo "$msg" ;;
	esac
done <"$work/console"
rc=0
wait "$qpid" || rc=$?
qpid=
exec 4>&-
total=$(secs)

why=
if [[ -n $panic ]]; then
	why="kernel panic or oops: $panic"
elif [[ $rc -eq 124 || $rc -eq 137 ]]; then
	why="timed out after $limit s"
elif [[ -z $done ]]; then
	why="guest script never printed 'PSTEST done' (qemu exit $rc)"
elif [[ $rc -ne 0 ]]; then
	why="qemu exited with $rc"
fi
n=$((n + 1))
if [[ -n $why ]]; then
	echo "not ok $n - $name: boot and run guest tests: $why"
	{
		echo "${0##*/}: $name: $why; console log $log, last lines:"
		tail -n 40 "$log"
	} >&2
	failed=$((failed + 1))
else
	echo "ok $n - $name: boot and run guest tests"
fi
echo "# $name: init ${t_init:+after }${t_init:-never}${t_init:+ s}, tests done ${done:+after }${done:-never}${done:+ s}, qemu exit after $total s ($accel)"
echo "1..$n"
[[ $failed -eq 0 ]]
