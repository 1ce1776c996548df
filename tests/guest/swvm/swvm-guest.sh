#!/bin/sh
# swvm-guest.sh [SWVM]: guest-tier test of tools/swvm, run by busybox sh inside the
# purpose-built kernel (tools/vm/kernel). Three scenarios, each one swvm process fed a
# fixed command script; every check compares swvm's own lines and counts with what the
# script asked for. Prints TAP, each line prefixed `PSTEST `, and swvm's output as
# `# ` comments.
#   healthy: N conversions each way by the VMM, M each way asked by the guest through the
#            KVM_HC_MAP_GPA_RANGE hypercall, guest reads that prove where the data went,
#            and a guest_memfd punch-hole.
#   repeated fault: a private gpa without guest_memfd behind it; the VMM does not answer
#            the first KMAX memory-fault exits, then answers one DELAY_MS late.
#   pinned then converted: io_uring pins shared pages, the VMM converts them to private
#            and discards the shared side; the pin holds the pages until unpin.
# Then pinscope (when the image has it) against swvm's own counts:
#   page_ref: the VMM hands shared pages that are about to be converted to a pipe
#            (vmsplice, never read: a lasting reference that is not a pin) and gup_test takes
#            and drops references on them in one ioctl (transient); pinscope's page_ref tier
#            must name both holders with their pages, and the BPF cost per event is printed.
#   refaults: the repeated-fault scenario under `watch --retries KMAX`, with conversion
#            requests at the fentry tier and at the syscall tier: exactly one alert naming
#            the gpa and KMAX fault exits, then one resolution (done) when swvm converts.
#   applied: the healthy scenario under `report`: the fexit on
#            kvm_arch_post_set_memory_attributes counts what swvm converted.

SWVM=${1:-swvm}
PS=pinscope
WORK=${TMPDIR:-/tmp}/swvm-guest.$$
N=5        # VMM conversions each way (4 pages each)
M=3        # guest-requested conversions each way (2 pages each)
KMAX=5     # unanswered memory-fault exits
DELAY_MS=200
PAGES=512  # guest_memfd pages: the plain window (no guest_memfd) starts right after
PLAIN=$((PAGES * 4096))
LIMIT=60   # seconds for one swvm run: a hung vCPU fails the tests instead of the boot
T=0
mkdir -p "$WORK" || exit 1

tap() { # tap OK NAME: one TAP line
	T=$((T + 1))
	if [ "$1" = 0 ]; then
		echo "PSTEST ok $T - $2"
	else
		echo "PSTEST not ok $T - $2"
	fi
}

kv() { # kv LINE KEY: the value of KEY=value in LINE
	printf '%s\n' "$1" | awk -v k="$2" '{
		for (i = 1; i <= NF; i++)
			if (index($i, k "=") == 1) { print substr($i, length(k) + 2); exit }
	}'
}

has() { # has LINE "k=v ...": every pair present in LINE; mismatches as comments
	_line=$1
	_bad=0
	for _kv in $2; do
		_got=$(kv "$_line" "${_kv%%=*}")
		if [ "$_got" != "${_kv#*=}" ]; then
			echo "PSTEST # ${_kv%%=*}: wanted ${_kv#*=}, got ${_got:-nothing}"
			_bad=1
		fi
	done
	return $_bad
}

lines() { # lines FILE WORD: the lines of FILE starting with WORD
	grep "^$2 " "$1"
}

count() { # count FILE REGEX
	grep -c "$2" "$1"
}

# run_swvm NAME: feed $WORK/NAME.cmd to swvm, output in $WORK/NAME.out, status in NAME.rc
# (143: killed after $LIMIT s).
run_swvm() {
	timeout "$LIMIT" "$SWVM" --pages $PAGES <"$WORK/$1.cmd" >"$WORK/$1.out" 2>"$WORK/$1.err"
	echo $? >"$WORK/$1.rc"
	sed "s/^/PSTEST # $1: /" "$WORK/$1.out" "$WORK/$1.err"
}

healthy_cmds() {
	echo "poke 0x10000 4 0x1111"
	i=0
	while [ $i -lt $N ]; do
		v=$((0x2000 + i))
		echo "convert private 0x10000 4"
		echo "write 0x10000 4 $v"
		echo "go"
		echo "read 0x10000 4 $v"
		echo "go"
		echo "convert shared 0x10000 4"
		echo "read 0x10000 4 0x1111"
		echo "go"
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
	echo "convert private 0x30000 1"
	echo "write 0x30000 1 0x5555"
	echo "go"
	echo "punch 0x30000 1"
	echo "read 0x30000 1 0x5555"
	echo "go"
	echo "convert shared 0x30000 1"
	echo "peek 0x10000"
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
	echo "delay-convert 0"
	echo "read $PLAIN 1 0x3333"
	echo "go"
	echo "exit"
}

pin_cmds() {
	echo "poke 0x40000 8 0x6666"
	echo "pin 0x40000 8"
	echo "convert private 0x40000 8"
	echo "write 0x40000 8 0x7777"
	echo "go"
	echo "discard 0x40000 8"
	echo "status"
	echo "unpin"
	echo "convert shared 0x40000 8"
	echo "read 0x40000 8 0x6666"
	echo "go"
	echo "exit"
}

healthy_cmds >"$WORK/healthy.cmd"
fault_cmds >"$WORK/fault.cmd"
pin_cmds >"$WORK/pin.cmd"
echo "PSTEST 1..17"

# 1. setup
run_swvm healthy
ready=$(lines "$WORK/healthy.out" ready)
has "$ready" "vm_type=1 mem_attrs=0x8 hypercall_exit=1 slot0_pages=$PAGES"
tap $? "swvm starts a software-protected VM with guest_memfd memory"

# 2. exact counts of the healthy run
done_line=$(lines "$WORK/healthy.out" "done")
has "$done_line" "conv_to_private=$((N + M + 1)) conv_to_shared=$((N + M + 1))
	pages_to_private=$((4 * N + 2 * M + 1)) pages_to_shared=$((4 * N + 2 * M + 1))
	conv_failed=0 exit_hlt=$((3 * N + 2 * M + 2)) exit_hypercall=$((2 * M))
	exit_memory_fault=0 exit_other=0 exit_stuck=0 exits=$((3 * N + 4 * M + 2)) punches=1 errors=0
	private_pages=0" &&
	[ "$(cat "$WORK/healthy.rc")" = 0 ]
tap $? "swvm healthy conversions: $N+$M each way, exact counts"

# 3. private writes land in guest_memfd, never in the shared mapping
ok=0
[ "$(count "$WORK/healthy.out" 'reason=hlt op=read gpa=0x10000 pages=4 .* match=4$')" = $((2 * N)) ] || ok=1
has "$(lines "$WORK/healthy.out" "peek ok")" "off=0x10000 value=0x1111" || ok=1
tap $ok "swvm guest sees private data while private and shared data after converting back"

# 4. guest-requested conversions
ok=0
[ "$(count "$WORK/healthy.out" 'reason=hypercall nr=12 gpa=0x20000 pages=2 .*answer_rc=0 ')" = $((2 * M)) ] || ok=1
[ "$(count "$WORK/healthy.out" 'op=map .* result=0$')" = $((2 * M)) ] || ok=1
tap $ok "swvm converts on the guest's KVM_HC_MAP_GPA_RANGE hypercalls"

# 5. punch-hole
has "$(grep 'op=read gpa=0x30000' "$WORK/healthy.out")" "value=0x0 match=0" &&
	has "$(lines "$WORK/healthy.out" "punch ok")" "off=0x30000 pages=1"
tap $? "swvm guest_memfd punch-hole drops the private page's contents"

# 6. repeated memory faults
run_swvm fault
fault="reason=memory_fault gpa=$(printf '0x%x' $PLAIN) size=4096 flags=0x8 access=private slot=plain"
has "$(lines "$WORK/fault.out" "done")" "exit_memory_fault=$((KMAX + 1)) exit_hlt=2
	conv_to_private=1 conv_to_shared=1 answers=1 answers_late=1 conv_failed=0 errors=0" &&
	[ "$(count "$WORK/fault.out" "$fault")" = $((KMAX + 1)) ] &&
	[ "$(count "$WORK/fault.out" "$fault\$")" = $KMAX ] &&
	has "$(grep '^go ' "$WORK/fault.out" | head -n 1)" "exits=$KMAX halted=0"
tap $? "swvm repeated-fault: $((KMAX + 1)) memory-fault exits on one private gpa without guest_memfd"

# 7. the late answer
a=$(grep ' answer=' "$WORK/fault.out")
wait_ns=$(kv "$a" wait_ns)
has "$a" "answer=shared answer_pages=1 answer_rc=0 delay_ms=$DELAY_MS" &&
	[ "${wait_ns:-0}" -ge $((DELAY_MS * 1000000)) ] &&
	has "$(grep 'op=read' "$WORK/fault.out")" "value=0x3333 match=1" &&
	[ "$(cat "$WORK/fault.rc")" = 0 ]
tap $? "swvm answers a memory fault ${DELAY_MS} ms late and the guest completes (waited ${wait_ns:-?} ns)"

# 8. pinned, then converted
run_swvm pin
has "$(lines "$WORK/pin.out" "pin ok")" "pages=8 vmpin_kb=32" &&
	has "$(grep '^convert ok to=private' "$WORK/pin.out")" "pages=8 pinned_private_pages=8" &&
	has "$(lines "$WORK/pin.out" status)" "pinned_private_pages=8 private_pages=8 discards=1
		vmpin_kb=32"
tap $? "swvm pinned-then-converted: 8 pinned shared pages become private, VmPin stays 32 kB"

# 9. the pins are released, and the guest no longer sees the discarded shared pages
ready=$(lines "$WORK/pin.out" ready)
d=$(lines "$WORK/pin.out" "done")
acq=$(($(kv "$d" foll_pin_acquired) - $(kv "$ready" foll_pin_acquired)))
rel=$(($(kv "$d" foll_pin_released) - $(kv "$ready" foll_pin_released)))
has "$(lines "$WORK/pin.out" "unpin ok")" "pins=1 pages=8 vmpin_kb=0" &&
	has "$(grep 'op=read' "$WORK/pin.out")" "value=0x0 match=0" &&
	[ "$acq" -ge 8 ] && [ "$acq" = "$rel" ]
tap $? "swvm unpin releases the pins (nr_foll_pin acquired +$acq, released +$rel)"

# 10. clean ends
ok=0
for s in healthy fault pin; do
	[ "$(cat "$WORK/$s.rc")" = 0 ] && [ ! -s "$WORK/$s.err" ] || ok=1
done
has "$(lines "$WORK/pin.out" "done")" "errors=0 conv_failed=0 exit_other=0 vmpin_kb=0" || ok=1
tap $ok "swvm exits 0 with no errors in every scenario"

# ---- pinscope against swvm ------------------------------------------------------------

show() { # show FILE TAG: the file as TAP comments
	sed "s/^/PSTEST # $2: /" "$1"
}

# wait_line FILE REGEX: until a line of FILE matches (at most 20 s)
wait_line() {
	_i=0
	until grep -q "$2" "$1" 2>/dev/null; do
		_i=$((_i + 1))
		[ $_i -gt 400 ] && return 1
		sleep 0.05
	done
}

# start_ps NAME ARGS...: pinscope ARGS -v in the background, once it says it is ready. The
# script holds /dev/kvm, as a VM host's VMMs do: pinscope then attaches its guest_memfd syscall
# hooks at start (src/kvm_gate.h), not at swvm's first VM, which it could otherwise miss.
[ -e /dev/kvm ] && exec 9</dev/kvm
start_ps() {
	_n=$1
	shift
	"$PS" "$@" -v >"$WORK/$_n.ps" 2>"$WORK/$_n.pserr" &
	PS_PID=$!
	if ! wait_line "$WORK/$_n.pserr" 'pinscope: ready'; then
		show "$WORK/$_n.pserr" "$_n"
		kill $PS_PID 2>/dev/null
		return 1
	fi
}

stop_ps() {
	kill -INT $PS_PID 2>/dev/null
	wait $PS_PID
}

# fifo_swvm NAME: swvm in the background reading commands written with `send`; its output
# in NAME.out. fifo_end NAME ends it (status in NAME.rc).
fifo_swvm() {
	rm -f "$WORK/$1.fifo"
	mkfifo "$WORK/$1.fifo"
	timeout "$LIMIT" "$SWVM" --pages $PAGES <"$WORK/$1.fifo" >"$WORK/$1.out" 2>"$WORK/$1.err" &
	SW_PID=$!
	exec 3>"$WORK/$1.fifo"
}

send() {
	echo "$1" >&3
}

fifo_end() {
	send exit
	exec 3>&-
	wait $SW_PID
	echo $? >"$WORK/$1.rc"
}

# prog_cost PID NAMES_FILE PREFIX: "events ns_per_event" summed over PID's BPF programs whose
# name starts with PREFIX (ids from pinscope's -v "attached NAME (...) id N" lines; counts
# from /proc/PID/fdinfo with kernel.bpf_stats_enabled).
prog_cost() {
	_ids=$(awk -v p="$3" '$2 == "attached" && index($3, p) == 1 { print $NF }' "$2")
	_cnt=0
	_ns=0
	for _f in /proc/"$1"/fdinfo/*; do
		# program fds only (a link's fdinfo names its prog_id too, without run_cnt)
		set -- $(awk '$1 == "prog_id:" { id = $2 } $1 == "run_cnt:" { c = $2 }
			$1 == "run_time_ns:" { t = $2 } END { if (id != "" && c != "") print id, c, t }' \
			"$_f" 2>/dev/null)
		[ $# = 3 ] || continue
		case " $(echo $_ids) " in *" $1 "*) ;; *) continue ;; esac
		_cnt=$((_cnt + $2))
		_ns=$((_ns + $3))
	done
	[ $_cnt -gt 0 ] || _cnt=1
	echo "$_cnt $((_ns / _cnt))"
}

if ! command -v "$PS" >/dev/null; then
	for n in 11 12 13 14 15 16 17; do
		tap 1 "pinscope is not in the guest image"
	done
	rm -rf "$WORK"
	echo "PSTEST done"
	exit 0
fi

# 11. probes: the page_ref tier is there (this kernel has CONFIG_DEBUG_PAGE_REF)
ls /sys/kernel/tracing/events/page_ref/ | tr '\n' ' ' | sed 's/^/PSTEST # page_ref tracepoints: /'
echo
"$PS" probes >"$WORK/probes.out" 2>&1
grep '^page_ref ' "$WORK/probes.out" | sed 's/^/PSTEST # /'
[ "$(awk '$1 == "page_ref" { print $3 }' "$WORK/probes.out")" = tracepoint ]
tap $? "probes: page_ref at the tracepoint tier (CONFIG_DEBUG_PAGE_REF)"

# 12-14. a lasting reference (vmsplice into a pipe nobody reads) and transient ones (gup_test)
# on shared pages about to be converted to private
echo 1 >/proc/sys/kernel/bpf_stats_enabled 2>/dev/null
ok=1
if start_ps ref report -d 600 -i 50ms; then
	fifo_swvm ref
	wait_line "$WORK/ref.out" '^ready ' && pid=$(kv "$(lines "$WORK/ref.out" ready)" pid)
	send "poke 0x60000 8 0x8888"
	send "resident"
	wait_line "$WORK/ref.out" '^resident ok'
	res=$(kv "$(grep '^resident ok' "$WORK/ref.out")" pages)
	# pinscope watches the pfns of the memslot's present pages: wait until it has them all
	if wait_line "$WORK/ref.pserr" "page_ref: watching $res pages of swvm\[$pid\]"; then
		send "hold 0x60000 8"
		send "gup-get 0x60000 8"
		send "convert private 0x60000 8"
		send "status"
		wait_line "$WORK/ref.out" '^status ' && ok=0
	fi
	cost=$(prog_cost $PS_PID "$WORK/ref.pserr" pageref_)
	stop_ps
	fifo_end ref
fi
echo 0 >/proc/sys/kernel/bpf_stats_enabled 2>/dev/null
show "$WORK/ref.out" swvm
sed -n '/^page references/,/^$/p' "$WORK/ref.ps" >"$WORK/ref.sec"
show "$WORK/ref.sec" report
grep 'page_ref' "$WORK/ref.pserr" | show /dev/stdin pinscope
st=$(lines "$WORK/ref.out" status)
lasting=$(grep "^  lasting   swvm\[$pid\] syscall [0-9]*: 8 refs on 8 pages, holds 8 refs on 8 pages" "$WORK/ref.sec")
transient=$(grep "^  transient swvm\[$pid\] syscall [0-9]*: 8 refs on 8 pages, holds 0 refs on 0 pages" "$WORK/ref.sec")
[ $ok = 0 ] && has "$st" "holds=1 pages_held=8 gup_gets=1 pages_got=8 vmpin_kb=0" &&
	case "$lasting" in *vmsplice*) true ;; *) false ;; esac
tap $? "page_ref: the vmsplice holder swvm[$pid] named as lasting, 8 refs on 8 pages (swvm: pages_held=$(kv "$st" pages_held))"
[ $ok = 0 ] && case "$transient" in *gup_test*) true ;; *) false ;; esac
tap $? "page_ref: the gup_test holder swvm[$pid] named as transient, 8 refs given back (swvm: pages_got=$(kv "$st" pages_got))"
echo "PSTEST # page_ref BPF cost: events and ns per event: ${cost:-none}"
[ $ok = 0 ] && [ "$(cat "$WORK/ref.rc")" = 0 ] && [ "${cost%% *}" -gt 0 ]
tap $? "page_ref: swvm ends cleanly; the page_ref programs ran (${cost%% *} runs, ${cost##* } ns each)"

# 15-16. the guest re-raises the same fault: one alert, then one resolution, at both tiers
gpa=$(printf '0x%x' $PLAIN)
for tier in fentry syscall; do
	if [ $tier = syscall ]; then
		export PINSCOPE_TIER=syscall
	else
		unset PINSCOPE_TIER
	fi
	"$PS" probes >"$WORK/probes-$tier.out" 2>&1
	got=$(awk '$1 == "conv.request" { print $3 }' "$WORK/probes-$tier.out")
	ok=1
	if [ "$got" = $tier ] && start_ps "watch-$tier" watch -j --retries $KMAX --stuck-after 0 -i 50ms; then
		cp "$WORK/fault.cmd" "$WORK/refault-$tier.cmd"
		run_swvm "refault-$tier" >/dev/null
		stop_ps
		ok=0
	fi
	unset PINSCOPE_TIER
	show "$WORK/watch-$tier.ps" "watch $tier"
	faults=$(kv "$(lines "$WORK/refault-$tier.out" "done")" exit_memory_fault)
	s=$(grep '"event":"stuck"' "$WORK/watch-$tier.ps")
	r=$(grep '"event":"resolved"' "$WORK/watch-$tier.ps")
	[ $ok = 0 ] && [ "$faults" = $((KMAX + 1)) ] &&
		[ "$(grep -c '"event":"stuck"' "$WORK/watch-$tier.ps")" = 1 ] &&
		[ "$(grep -c '"event":"resolved"' "$WORK/watch-$tier.ps")" = 1 ] &&
		case "$s" in
		*'"start":"'$gpa'"'*'"memory_fault_exits":'$KMAX','*'"stuck_reason":"refaults"'*) true ;;
		*) false ;;
		esac &&
		case "$r" in
		*'"start":"'$gpa'"'*'"memory_fault_exits":'$faults','*'"outcome":"done"'*) true ;;
		*) false ;;
		esac
	tap $? "watch, $tier tier (probes: ${got:-none}): one alert for $KMAX fault exits at gpa $gpa, one resolution (done) after swvm's $faults"
done

# 17. conversions where KVM applies them: the fexit on kvm_arch_post_set_memory_attributes
got=$(awk '$1 == "conv.applied" { print $3 }' "$WORK/probes-fentry.out")
ok=1
if [ "$got" = fentry ] && start_ps applied report -d 600; then
	cp "$WORK/healthy.cmd" "$WORK/applied.cmd"
	run_swvm applied >/dev/null
	stop_ps
	ok=0
fi
grep '^applied by KVM\|^conversions:' "$WORK/applied.ps" | show /dev/stdin report
d=$(lines "$WORK/applied.out" "done")
want="$(kv "$d" conv_to_private) to private ($(kv "$d" pages_to_private) pages), $(kv "$d" conv_to_shared) to shared ($(kv "$d" pages_to_shared) pages)"
[ $ok = 0 ] && [ "$(cat "$WORK/applied.rc")" = 0 ] &&
	grep -q "^applied by KVM (kvm_arch_post_set_memory_attributes): $want\$" "$WORK/applied.ps"
tap $? "conv.applied (probes: ${got:-none}): KVM applied what swvm converted: $want"

rm -rf "$WORK"
echo "PSTEST done"
