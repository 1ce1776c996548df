#!/bin/sh
# gmem-guest.sh: pinscope's guest_memfd and conversion tracking inside the purpose-built 6.12
# kernel (tools/vm/kernel), where software-protected VMs really convert shared <-> private.
# Run by busybox sh; swvm (tools/swvm.c) is the VMM and its own `done` counts are the ground
# truth. Prints TAP as `PSTEST ` lines, and what pinscope and swvm said as `# ` comments.
#   report: a healthy run (VMM conversions both ways, guest-asked ones by hypercall, a
#           punch-hole): every conversion counted, all ok, none stuck.
#   watch:  a private gpa without guest_memfd behind it; the VMM leaves KMAX memory-fault
#           exits unanswered, then converts DELAY_MS late: exactly one stuck alert
#           (unanswered) and one resolution (done), with every fault exit counted.
#   tiers:  the healthy run again under each tier pinscope has for conversions here: fentry
#           (kvm_vm_ioctl, bpf/gmem_fn.bpf.c; the default when it attaches) and syscall
#           (PINSCOPE_TIER=syscall, bpf/gmem_sys.bpf.c). Each must count what swvm printed:
#           conversions and pages per direction, none failed.
#           At the fentry tier KVM's look-ups of private pages for the guest are counted
#           (gmem.fault): one per page written after each conversion to private.
#   held:   the shared pages of a range pinned, then the range converted to private (the
#           memory is now held twice): once by gup_test (PIN_LONGTERM_TEST_START, a
#           pin_user_pages() from an ioctl) and once by an io_uring fixed buffer. At the fentry
#           tier the report names both holders with their pages and gpa range; the syscall
#           tier cannot see the gup_test pin (no system call of its own pins), so it names
#           only the io_uring one.

PS=pinscope
SWVM=swvm
WORK=${TMPDIR:-/tmp}/gmem-guest.$$
N=3        # VMM conversions each way
M=2        # guest-asked conversions each way
KMAX=4     # unanswered memory-fault exits
DELAY_MS=400
PAGES=512
PLAIN=$((PAGES * 4096))
LIMIT=60
T=0
mkdir -p "$WORK" || exit 1

tap() { # tap RC NAME
	T=$((T + 1))
	if [ "$1" = 0 ]; then
		echo "PSTEST ok $T - gmem: $2"
	else
		echo "PSTEST not ok $T - gmem: $2"
	fi
}

kv() { # kv LINE KEY
	printf '%s\n' "$1" | awk -v k="$2" '{
		for (i = 1; i <= NF; i++)
			if (index($i, k "=") == 1) { print substr($i, length(k) + 2); exit }
	}'
}

show() { # show FILE TAG: the file as TAP comments
	sed "s/^/PSTEST # $2: /" "$1"
}

# start_ps NAME ARGS...: pinscope ARGS -v in the background; waits for its ready line. The
# script holds /dev/kvm, as a VM host's VMMs do: pinscope then attaches its guest_memfd syscall
# hooks at start (src/kvm_gate.h), not at swvm's first VM, which it could otherwise miss.
[ -e /dev/kvm ] && exec 9</dev/kvm
start_ps() {
	_n=$1
	shift
	"$PS" "$@" -v >"$WORK/$_n.out" 2>"$WORK/$_n.err" &
	PS_PID=$!
	_i=0
	until grep -q 'pinscope: ready' "$WORK/$_n.err"; do
		_i=$((_i + 1))
		if [ $_i -gt 600 ] || ! kill -0 $PS_PID 2>/dev/null; then
			show "$WORK/$_n.err" "$_n"
			return 1
		fi
		sleep 0.1
	done
}

stop_ps() {
	kill -INT $PS_PID 2>/dev/null
	wait $PS_PID
}

run_swvm() { # run_swvm NAME
	timeout "$LIMIT" "$SWVM" --pages $PAGES <"$WORK/$1.cmd" >"$WORK/$1.out" 2>"$WORK/$1.err"
	echo $? >"$WORK/$1.rc"
}

healthy_cmds() {
	i=0
	while [ $i -lt $N ]; do
		echo "convert private 0x10000 4"
		echo "write 0x10000 4 $((0x2000 + i))"
		echo "go"
		echo "convert shared 0x10000 4"
		i=$((i + 1))
	done
	i=0
	while [ $i -lt $M ]; do
		echo "map private 0x20000 2"
		echo "go"
		echo "map shared 0x20000 2"
		echo "go"
		i=$((i + 1))
	done
	echo "punch 0x30000 1"
	echo "exit"
}

fault_cmds() {
	echo "answer off"
	echo "convert private $PLAIN 1"
	echo "write $PLAIN 1 0x3333"
	echo "go $KMAX"
	echo "answer on"
	echo "delay-convert $DELAY_MS"
	echo "go"
	echo "exit"
}

healthy_cmds >"$WORK/healthy.cmd"
fault_cmds >"$WORK/fault.cmd"
echo "PSTEST 1..15"

# 1-2. report on a healthy run
ok=1
if start_ps report report -d 600; then
	run_swvm healthy
	stop_ps
	ok=0
fi
show "$WORK/healthy.out" swvm
show "$WORK/report.out" report
d=$(grep '^done ' "$WORK/healthy.out")
to_p=$(kv "$d" conv_to_private)
to_s=$(kv "$d" conv_to_shared)
n=$((${to_p:-0} + ${to_s:-0}))
[ $ok = 0 ] && [ "$n" -eq $((2 * N + 2 * M)) ] &&
	grep -q "^conversions: $n requests, $n ok, 0 failed; memory-fault exits 0; stuck 0, resolved 0\$" \
		"$WORK/report.out"
tap $? "report counts swvm's $n conversions, all ok, none stuck"
pid=$(kv "$(grep '^ready ' "$WORK/healthy.out")" pid)
line=$(grep "^  swvm\[$pid\]" "$WORK/report.out")
case "$line" in
*"vm_create 1 ok; create 1 ok; bind 2 ok;"*"punch_hole $(kv "$d" punches) ok; convert $n ok"*) r=0 ;;
*) r=1 ;;
esac
[ $ok = 0 ] && [ "$(cat "$WORK/healthy.rc")" = 0 ]
tap $((r | $?)) "report counts swvm's VM, guest_memfd, memslots and punch-hole"

# 3-4. watch a memory fault left unanswered
ok=1
if start_ps watch watch -j --stuck-after 150ms --retries 0 -i 50ms; then
	run_swvm fault
	stop_ps
	ok=0
fi
show "$WORK/fault.out" swvm
show "$WORK/watch.out" watch
show "$WORK/watch.err" watch
faults=$(kv "$(grep '^done ' "$WORK/fault.out")" exit_memory_fault)
stuck=$(grep -c '"event":"stuck"' "$WORK/watch.out")
s=$(grep '"event":"stuck"' "$WORK/watch.out")
[ $ok = 0 ] && [ "$stuck" = 1 ] && [ "$faults" = $((KMAX + 1)) ] &&
	case "$s" in
	*'"start":"'$(printf '0x%x' $PLAIN)'","size_bytes":4096,'*'"stuck_reason":"unanswered"'*) true ;;
	*) false ;;
	esac
tap $? "watch: one stuck alert (unanswered) for the memory-fault exits at gpa $(printf '0x%x' $PLAIN)"
r=$(grep '"event":"resolved"' "$WORK/watch.out")
[ $ok = 0 ] && [ "$(grep -c '"event":"resolved"' "$WORK/watch.out")" = 1 ] &&
	case "$r" in
	*'"direction":"to_shared"'*'"attempts":1,"failures":0,'*'"memory_fault_exits":'"$faults"','*'"outcome":"done"'*) true ;;
	*) false ;;
	esac
tap $? "watch: the late conversion resolves it (done, $faults fault exits, 1 attempt)"

# 5-8. the same healthy run under each conversion tier
# conv_counts REPORT: "to_private pages_to_private to_shared pages_to_shared" from the
# report's list of finished conversions (done lines; the list keeps the last 16).
conv_counts() {
	awk '/^  done #/ {
		for (i = 1; i <= NF; i++)
			if ($i ~ /^0x[0-9a-f]+\+[0-9]+$/) { split($i, a, "+"); n = a[2] }
		for (i = 1; i < NF; i++)
			if ($i == "to") d = $(i + 1)
		if (d == "private") { p++; pp += n } else if (d == "shared") { s++; sp += n }
	} END { printf "%d %d %d %d\n", p, pp, s, sp }' "$1"
}

for tier in fentry syscall; do
	if [ $tier = syscall ]; then
		export PINSCOPE_TIER=syscall
	else
		unset PINSCOPE_TIER
	fi
	"$PS" probes >"$WORK/probes-$tier.out" 2>&1
	got=$(awk '$1 == "conv.request" { print $3 }' "$WORK/probes-$tier.out")
	ok=1
	if [ "$got" = $tier ] && start_ps "report-$tier" report -d 600 -o "$WORK/rec-$tier.pscope"; then
		cp "$WORK/healthy.cmd" "$WORK/healthy-$tier.cmd"
		run_swvm "healthy-$tier"
		stop_ps
		ok=0
	fi
	unset PINSCOPE_TIER
	show "$WORK/healthy-$tier.out" "swvm $tier"
	show "$WORK/report-$tier.out" "report $tier"
	d=$(grep '^done ' "$WORK/healthy-$tier.out")
	want="$(kv "$d" conv_to_private) $(kv "$d" pages_to_private) $(kv "$d" conv_to_shared) $(kv "$d" pages_to_shared)"
	have=$(conv_counts "$WORK/report-$tier.out")
	echo "PSTEST # tier $tier (probes: ${got:-none}): swvm to_private/pages/to_shared/pages $want, pinscope $have"
	[ $ok = 0 ] && [ "$want" = "$have" ] && [ "$(kv "$d" conv_failed)" = 0 ]
	tap $? "tier $tier: conversions and pages per direction equal swvm's ($want)"
	n=$(($(kv "$d" conv_to_private) + $(kv "$d" conv_to_shared)))
	[ $ok = 0 ] && grep -q "^conversions: $n requests, $n ok, 0 failed;" "$WORK/report-$tier.out"
	tap $? "tier $tier: $n requests, $n ok, 0 failed"
	eval "ok_$tier=$ok"
done

# 9-10. guest faults on private memory (gmem.fault, kvm_gmem_get_pfn: fentry only). Each of
# the N rounds writes 4 pages just converted to private: KVM looks each up in the guest_memfd
# once (converting back to shared zapped the private mappings of the round before).
gf=$(grep -o 'guest faults on private memory: [0-9]* ([0-9]* failed)' "$WORK/report-fentry.out")
# the recording of the same run says the same (the READY mark carries "counted")
"$PS" report "$WORK/rec-fentry.pscope" >"$WORK/replay-fentry.out" 2>&1
rgf=$(grep -o 'guest faults on private memory: [0-9]* ([0-9]* failed)' "$WORK/replay-fentry.out")
echo "PSTEST # fentry: $gf; replayed: $rgf; swvm wrote $N x 4 private pages"
[ "$ok_fentry" = 0 ] && [ "$gf" = "guest faults on private memory: $((N * 4)) (0 failed)" ] &&
	grep -q "guest_fault $((N * 4)) ok" "$WORK/report-fentry.out" && [ "$rgf" = "$gf" ]
tap $? "tier fentry: $((N * 4)) guest faults on private memory (kvm_gmem_get_pfn), none failed; the same replayed"
[ "$ok_syscall" = 0 ] && grep -q 'guest_memfd ino [0-9]*: ' "$WORK/report-syscall.out" &&
	! grep -q 'guest faults\|guest_fault' "$WORK/report-syscall.out"
tap $? "tier syscall: guest faults not counted, and not shown as none"

# 11-12. guest mappings invalidated (gmem.invalidate, kvm_gmem_invalidate_begin: fentry only):
# swvm's punched holes, and its guest_memfd released at its exit (to the end of the file).
d=$(grep '^done ' "$WORK/healthy-fentry.out")
want="guest mappings invalidated: $(($(kv "$d" punches) + 1)) range(s), $(kv "$d" pages_punched) page(s) + 1 to the end of the file"
gi=$(grep -o 'guest mappings invalidated: .*' "$WORK/report-fentry.out")
rgi=$(grep -o 'guest mappings invalidated: .*' "$WORK/replay-fentry.out")
echo "PSTEST # fentry: $gi; replayed: $rgi; want: $want"
[ "$ok_fentry" = 0 ] && [ "$gi" = "$want" ] && [ "$rgi" = "$gi" ]
tap $? "tier fentry: swvm's $(kv "$d" punches) punched hole(s) and its release invalidated the guests' mappings; the same replayed"
[ "$ok_syscall" = 0 ] && grep -q 'guest_memfd ino [0-9]*: ' "$WORK/report-syscall.out" &&
	! grep -q 'guest mappings invalidated' "$WORK/report-syscall.out"
tap $? "tier syscall: invalidations not counted, and not shown as none"

# 13-15. pinned, then converted: held twice
held_cmds() {
	echo "gup-pin 0x40000 4"
	echo "convert private 0x40000 4"
	echo "pin 0x50000 2"
	echo "convert private 0x50000 2"
	echo "status"
	echo "exit"
}
held_cmds >"$WORK/held.cmd"
ok_fentry=1 ok_syscall=1 pid_fentry='' pid_syscall=''
# held_line REPORT GPA: the report's done line of the conversion to private at GPA
held_line() {
	grep "^  done #.* gpa $2+[0-9]* pages to private" "$1"
}
for tier in fentry syscall; do
	[ $tier = syscall ] && export PINSCOPE_TIER=syscall
	ok=1
	if start_ps "hreport-$tier" report -d 600; then
		cp "$WORK/held.cmd" "$WORK/held-$tier.cmd"
		run_swvm "held-$tier"
		stop_ps
		ok=0
	fi
	unset PINSCOPE_TIER
	show "$WORK/held-$tier.out" "swvm $tier"
	sed -n '/^conversions/,/^$/p' "$WORK/hreport-$tier.out" >"$WORK/hconv-$tier"
	show "$WORK/hconv-$tier" "report $tier"
	pid=$(kv "$(grep '^ready ' "$WORK/held-$tier.out")" pid)
	[ "$(cat "$WORK/held-$tier.rc")" = 0 ] || ok=1
	eval "ok_$tier=$ok pid_$tier=$pid"
done

g=$(held_line "$WORK/hconv-fentry" 0x40000)
u=$(held_line "$WORK/hconv-fentry" 0x50000)
[ "$ok_fentry" = 0 ] &&
	case "$g" in
	*"held twice: 4 pages still pinned by swvm[$pid_fentry] "*" 0x40000-0x44000 (shared mapping)") true ;;
	*) false ;;
	esac
tap $? "held twice, fentry tier: the gup_test pin's holder, 4 pages, gpa 0x40000-0x44000"
[ "$ok_fentry" = 0 ] &&
	case "$u" in
	*"held twice: 2 pages still pinned by swvm[$pid_fentry] io_uring 0x50000-0x52000 (shared mapping)") true ;;
	*) false ;;
	esac &&
	grep -q '^conversions to private with the old backing still pinned (held twice): 2$' \
		"$WORK/hconv-fentry" &&
	[ "$(kv "$(grep '^status ' "$WORK/held-fentry.out")" pinned_private_pages)" = 6 ]
tap $? "held twice, fentry tier: the io_uring holder, 2 pages, gpa 0x50000-0x52000; 2 in all, swvm's pinned_private_pages 6 = 4 + 2"
# The syscall tier sees io_uring's registration, not gup_test's pin_user_pages().
g=$(held_line "$WORK/hconv-syscall" 0x40000)
u=$(held_line "$WORK/hconv-syscall" 0x50000)
[ "$ok_syscall" = 0 ] && [ -n "$g" ] &&
	case "$g" in *"held twice"*) false ;; *) true ;; esac &&
	case "$u" in
	*"held twice: 2 pages still pinned by swvm[$pid_syscall] io_uring 0x50000-0x52000 (shared mapping)") true ;;
	*) false ;;
	esac
tap $? "held twice, syscall tier: io_uring's holder named; gup_test's pin is invisible there"

rm -rf "$WORK"
echo "PSTEST done"
