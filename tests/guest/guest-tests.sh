# shellcheck shell=sh
# Guest-tier tests: run by /init inside a QEMU guest (busybox sh).
# To add a test: write a function t_<name> below (helpers: see lib.sh) and
# add <name> to TESTS (or to TESTS_smp4, for the boot with 4 CPUs). A test that cannot run on one kernel gets a line
# "<name>  # reason" in skip-<kver>.txt beside this file.

# shellcheck source=tests/guest/lib.sh
. /pstest/lib.sh

# shellcheck disable=SC2034 # read by pstest_main
TESTS="
boots
uname
modules
btf_vmlinux
btf_kvm
pinscope_version
pinscope_probes
pinload_vmpin
pins_fentry
pins_kprobe
pins_raw_tp
pins_syscall
tlb_report
tlb_report_local
tlb_pinned
tlb_pinned_apart
"

# Booted apart with 4 CPUs in two NUMA nodes (tests/guest/run.sh: pstest.set=smp4). Four vCPUs
# make every shootdown of the tests above slower under TCG (a vCPU round-robin).
# shellcheck disable=SC2034 # read by pstest_main
TESTS_smp4="
tlb_two_targets
tlb_two_senders
tlb_batch_migrate
"

# The kernel file systems the tools need are mounted.
t_boots() {
	for fs in proc sysfs devtmpfs tracefs debugfs bpf; do
		grep -q " $fs " /proc/mounts || fail "$fs is not mounted"
	done
}

# The kernel is the one the host meant to boot.
t_uname() {
	[ -n "${PSTEST_RELEASE:-}" ] || skip "host passed no pstest.release="
	assert_eq "uname -r" "$(uname -r)" "$PSTEST_RELEASE"
}

# Every module the host put in the initramfs is loaded; kvm makes /dev/kvm.
t_modules() {
	[ -s /etc/pstest/modules ] || skip "no modules in the initramfs"
	while read -r m; do
		m=${m%.ko}
		grep -q "^$m " /proc/modules || fail "module $m is not loaded"
	done </etc/pstest/modules
	if grep -q '^kvm ' /proc/modules; then
		assert_file /dev/kvm
	fi
}

t_btf_vmlinux() {
	assert_file /sys/kernel/btf/vmlinux
	assert_gt "vmlinux BTF bytes" "$(wc -c </sys/kernel/btf/vmlinux)" 1000000
}

# KVM functions and tracepoints live in module BTF on Debian kernels.
t_btf_kvm() {
	grep -q '^kvm ' /proc/modules || skip "kvm is not loaded"
	assert_file /sys/kernel/btf/kvm
}

t_pinscope_version() {
	need_cmd pinscope
	run version pinscope version
	assert_gt "output lines" "$(wc -l <"$W/version.out")" 0
}

# What probes decides on this kernel, from trial loads: fentry for pin acquire and release;
# remote pins by fentry where the kernel's trampolines take pin_user_pages_remote's arguments
# (6.12: 6 of them), by kprobe where they do not (6.1: 7).
t_pinscope_probes() {
	need_cmd pinscope
	run probes pinscope probes -j
	grep -q '"fentry":{"ok":true' "$W/probes.out" || fail "the fentry trial load failed"
	assert_eq "pin.acquire tier" "$(hook_tier "$W/probes.out" pin.acquire)" fentry
	assert_eq "pin.release tier" "$(hook_tier "$W/probes.out" pin.release)" fentry
	case $(pstest_kver) in
	6.1) want=kprobe ;;
	*) want=fentry ;;
	esac
	assert_eq "pin.remote tier" "$(hook_tier "$W/probes.out" pin.remote)" $want
}

# io_uring buffer registration pins pages in this kernel: VmPin equals the
# pages pinload registered, and unregistering releases them.
t_pinload_vmpin() {
	need_cmd pinload
	before=$(vmstat nr_foll_pin_acquired) || before=
	run_bg pinload pinload --bufs 4 --pages 16
	wait_for_line pinload '^ready '
	pages=$(field "$LINE" pages) || fail "no pages= in '$LINE'"
	assert_gt "pinload pages" "$pages" 0
	pid=$(bg_pid pinload)
	assert_eq "VmPin kB" "$(status_kb "$pid" VmPin)" $((pages * 4))
	if kb=$(field "$LINE" vmpin_kb); then
		assert_eq "pinload vmpin_kb" "$kb" $((pages * 4))
	fi
	if [ -n "$before" ]; then
		acquired=$(($(vmstat nr_foll_pin_acquired) - before))
		[ "$acquired" -ge "$pages" ] ||
			fail "nr_foll_pin_acquired moved by $acquired, want >= $pages"
	fi
	send pinload unregister
	wait_for_line pinload '^unregister '
	assert_eq "pinload unregister pages" "$(field "$LINE" pages)" 0
	assert_eq "VmPin kB after unregister" "$(status_kb "$pid" VmPin)" 0
	send pinload exit
	stop_bg pinload
}

# ---- the function tier for pins ------------------------------------------

# The tier `pinscope probes -j` (file $1) chose for hook $2.
hook_tier() {
	grep -o "\"hook\":\"$2\",\"concern\":\"[^\"]*\",\"what\":\"[^\"]*\",\"tier\":\"[a-z_]*\"" "$1" |
		sed 's/.*"tier":"//; s/"$//'
}

# The kernel's own list of functions with ftrace users (tracefs enabled_functions): the
# entry of function $1 and the line after it (where newer kernels name the trampoline).
kernel_hooks_of() {
	grep -A1 "^$1 " /sys/kernel/tracing/enabled_functions
}

# `pinscope report -d ... -j -v ARGS` in the background as NAME; returns once it is ready.
start_report() {
	_r=$1
	shift
	run_pinscope_bg "$_r" report -d 600 -j -v "$@"
	wait_for_line "$_r" 'pinscope: ready' 60
}

# Stop report NAME with SIGINT (it then prints its report) into $W/NAME.json.
end_report() {
	kill -INT "$(bg_pid "$1")"
	stop_bg "$1" 30 >/dev/null
	grep '^{"duration_ns"' "$W/$1.out" >"$W/$1.json" || {
		cat "$W/$1.out"
		fail "$1: no JSON report"
	}
	echo "# $PSTEST_NAME: $1: $(sed 's/"\(user\|kernel\)_stack":\[[^]]*\],//g' "$W/$1.json")"
}

# Pins at tier $1 (PINSCOPE_TIER), held against the kernel's numbers: io_uring buffers
# registered while tracing (VmPin, nr_foll_pin_acquired), short-term pins by process_vm_readv
# (gupload's own count), and the release of pins that predate the run.
pins_at_tier() {
	tier=$1
	need_cmd pinscope pinload gupload
	PINSCOPE_TIER=$tier
	export PINSCOPE_TIER
	run_bg pl pinload --no-register --bufs 4 --pages 16
	wait_for_line pl '^ready '
	pid=$(field "$LINE" pid)

	# 1. Long-term pins made while tracing, and short-term ones beside them.
	start_report r1
	case $tier in
	fentry)
		kernel_hooks_of pin_user_pages_fast | grep -q bpf_trampoline ||
			fail "enabled_functions shows no BPF trampoline on pin_user_pages_fast"
		kernel_hooks_of unpin_user_page | grep -q bpf_trampoline ||
			fail "enabled_functions shows no BPF trampoline on unpin_user_page"
		;;
	kprobe)
		kernel_hooks_of pin_user_pages_fast | grep -q kprobe ||
			fail "enabled_functions shows no kprobe on pin_user_pages_fast"
		;;
	esac
	send pl register
	wait_for_line pl '^register '
	pages=$(field "$LINE" pages)
	assert_eq "pinload register" "$(echo "$LINE" | cut -d' ' -f2)" ok
	vmpin=$(status_kb "$pid" VmPin)
	assert_eq "VmPin kB" "$vmpin" $((pages * 4))
	run gup gupload --pages 16 --calls 8
	gpid=$(field "$(cat "$W/gup.out")" pid)
	gpages=$(field "$(cat "$W/gup.out")" pages)
	assert_gt "gupload nr_foll_pin_acquired delta" \
		"$(field "$(cat "$W/gup.out")" foll_pin_acquired_delta)" $((gpages - 1))
	end_report r1

	h=$(json_objs "$W/r1.json" "^\\{\"pid\":$pid,.*\"subsystem\":\"io_uring\"")
	[ -n "$h" ] || fail "no io_uring holder for pinload (pid $pid)"
	assert_eq "holder pinned_pages" "$(json_val "$h" pinned_pages)" "$pages"
	assert_eq "holder pinned_pages = VmPin/4" "$(json_val "$h" pinned_pages)" $((vmpin / 4))
	assert_eq "holder charged_pages" "$(json_val "$h" charged_pages)" "$pages"
	assert_eq "holder longterm_pages" "$(json_val "$h" longterm_pages)" "$pages"
	assert_eq "holder shortterm_pages" "$(json_val "$h" shortterm_pages)" 0
	assert_eq "holder vmpin_kb" "$(json_val "$h" vmpin_kb)" "$vmpin"
	p=$(json_objs "$W/r1.json" "^\\{\"pid\":$pid,.*\"reconciliation\"")
	assert_eq "reconciliation" "$(json_val "$p" reconciliation)" exact
	acq=$(json_val "$(json_objs "$W/r1.json" foll_pin_acquired_delta)" foll_pin_acquired_delta)
	assert_gt "nr_foll_pin_acquired delta >= pinned pages" "$acq" $((pages - 1))
	e=$(json_objs "$W/r1.json" '"kprobe":[0-9]')
	assert_gt "events at the $tier tier" "$(json_val "$e" "$tier")" 0
	if [ "$tier" = raw_tp ]; then
		# the program that reads the buffer table with bpf_rdonly_cast, where the kernel has it
		prog=pins_uring_reg_raw
		grep -q ' bpf_rdonly_cast$' /proc/kallsyms && prog=pins_uring_reg_cast
		grep -q "attached $prog (raw_tp/io_uring_register)" "$W/r1.out" ||
			fail "r1: $prog is not attached"
		echo "# $PSTEST_NAME: raw tracepoint program $prog"
		assert_eq "events at the syscall tier" "$(json_val "$e" syscall)" 0
	fi
	if [ "$tier" = syscall ] || [ "$tier" = raw_tp ]; then
		# one implementation per hook: nothing from the function tier
		assert_eq "fentry events" "$(json_val "$e" fentry)" 0
		assert_eq "kprobe events" "$(json_val "$e" kprobe)" 0
	fi
	g=$(json_objs "$W/r1.json" "^\\{\"pid\":$gpid,.*\"subsystem\"")
	if [ "$tier" = syscall ] || [ "$tier" = raw_tp ]; then
		# this tier sees io_uring buffers only: short-term pins are its blind spot
		[ -z "$g" ] || fail "the syscall tier reports short-term pins: $g"
	else
		assert_eq "short-term holder subsystem" "$(json_val "$g" subsystem)" gup
		assert_eq "short-term acquired_pages" "$(json_val "$g" acquired_pages)" "$gpages"
		assert_eq "short-term released_pages" "$(json_val "$g" released_pages)" "$gpages"
		assert_eq "short-term pinned_pages" "$(json_val "$g" pinned_pages)" 0
		assert_eq "short-term longterm_pages" "$(json_val "$g" longterm_pages)" 0
		assert_eq "short-term pins released (hold-time histogram)" \
			"$(json_val "$g" shortterm_pins_released)" "$(field "$(cat "$W/gup.out")" calls)"
	fi
	l=$(json_objs "$W/r1.json" unmatched_releases)
	for k in ringbuf_full bpf_map_full truncated unmatched_releases; do
		assert_eq "losses $k" "$(json_val "$l" $k)" 0
	done

	# 2. The same pins, now older than the run (seeded), released while tracing.
	start_report r2
	send pl unregister
	wait_for_line pl '^unregister '
	assert_eq "VmPin kB after unregister" "$(status_kb "$pid" VmPin)" 0
	end_report r2
	h=$(json_objs "$W/r2.json" "^\\{\"pid\":$pid,.*\"subsystem\":\"io_uring\"")
	[ -n "$h" ] || fail "no io_uring holder for pinload (pid $pid) after unregister"
	assert_eq "holder pinned_pages after unregister" "$(json_val "$h" pinned_pages)" 0
	assert_eq "holder released_pages" "$(json_val "$h" released_pages)" "$pages"
	assert_eq "holder state" "$(json_val "$h" state)" released
	p=$(json_objs "$W/r2.json" "^\\{\"pid\":$pid,.*\"reconciliation\"")
	assert_eq "reconciliation after unregister" "$(json_val "$p" reconciliation)" exact
	assert_gt "release events at the $tier tier" \
		"$(json_val "$(json_objs "$W/r2.json" '"kprobe":[0-9]')" "$tier")" 0
	assert_eq "unmatched releases" \
		"$(json_val "$(json_objs "$W/r2.json" unmatched_releases)" unmatched_releases)" 0
	case $tier in raw_tp | syscall) churn_at_tier ;; esac
	send pl exit
	stop_bg pl
}

# The churn check of the io_uring tiers, against pinload's own counts: a register/unregister loop
# of the same buffers is counted in BPF as pairs (the buffer table read and fingerprinted at
# every registration); a loop alternating between two buffer sets is never paired. Every page
# acquired is released either way. Loops are short: under TCG the whole test has 60 s.
churn_at_tier() {
	run_bg pd pinload --no-register --bufs 2 --pages 8 --distinct
	wait_for_line pd '^ready '
	dpid=$(field "$LINE" pid)
	start_report r3
	send pl "loop 200"
	wait_for_line pl '^loop '
	per=$(field "$LINE" pages_per_op)
	send pd "loop 100"
	wait_for_line pd '^loop '
	# pd's ring is torn down inside the report; a ring made next (often at its address, whose
	# churn slot BPF frees when the teardown ends) is paired like any other.
	send pd exit
	stop_bg pd
	run_bg pe pinload --no-register --bufs 2 --pages 8
	wait_for_line pe '^ready '
	epid=$(field "$LINE" pid)
	send pe "loop 100"
	wait_for_line pe '^loop '
	eper=$(field "$LINE" pages_per_op)
	end_report r3
	h=$(json_objs "$W/r3.json" "^\\{\"pid\":$pid,.*\"subsystem\":\"io_uring\"")
	assert_eq "loop acquired_pages" "$(json_val "$h" acquired_pages)" $((200 * per))
	assert_eq "loop released_pages" "$(json_val "$h" released_pages)" $((200 * per))
	assert_eq "loop pinned_pages" "$(json_val "$h" pinned_pages)" 0
	assert_gt "loop churn_pairs" "$(json_val "$h" churn_pairs)" 99
	h=$(json_objs "$W/r3.json" "^\\{\"pid\":$dpid,.*\"subsystem\":\"io_uring\"")
	assert_eq "alternating loop acquired_pages" "$(json_val "$h" acquired_pages)" 1600
	assert_eq "alternating loop released_pages" "$(json_val "$h" released_pages)" 1600
	assert_eq "alternating loop pinned_pages" "$(json_val "$h" pinned_pages)" 0
	assert_eq "alternating loop churn_pairs" "$(json_val "$h" churn_pairs)" 0
	h=$(json_objs "$W/r3.json" "^\\{\"pid\":$epid,.*\"subsystem\":\"io_uring\"")
	assert_eq "next ring's loop acquired_pages" "$(json_val "$h" acquired_pages)" $((100 * eper))
	assert_eq "next ring's loop released_pages" "$(json_val "$h" released_pages)" $((100 * eper))
	assert_gt "next ring's loop churn_pairs" "$(json_val "$h" churn_pairs)" 49
	send pe exit
	stop_bg pe
}

t_pins_fentry() { pins_at_tier fentry; }
t_pins_kprobe() { pins_at_tier kprobe; }
t_pins_raw_tp() { pins_at_tier raw_tp; }
t_pins_syscall() { pins_at_tier syscall; }

# The TLB programs load on this kernel and count tlbload's shootdowns against the TLB row of
# /proc/interrupts over pinscope's own window: on 6.12 through the csd tracepoints (within 5%);
# 6.1 has tlb_flush alone, whose reasons 1 and 5 miss handler runs that return early (a CPU
# that left the mm), so there the count is a lower bound (at least 80%). The shootdowns are
# charged to tlbload's pid and to mprotect; with --tlb-sample 1 every one charged to it is
# timed where the csd tracepoints exist. By default (6.12) tlb_flush is not attached and local
# flushes are not counted; tlb_report_local attaches it with --tlb-local.

# tlb_capture "PINSCOPE-OPTIONS" TLBLOAD-OPTIONS...: one run of tlbload (10000 iterations) under
# pinscope report; sets pid, tl (tlbload's /proc/interrupts TLB delta over its loop), G (the
# global TLB object) and ROW (tlbload's mprotect row). With --pin, tlbload starts once pinscope
# says it counts flushes over the pinned page.
tlb_capture() {
	_ps=$1
	shift
	# shellcheck disable=SC2086 # the options are words
	run_pinscope_bg ps report -d 300 -j --no-seed -v $_ps
	wait_for_line ps 'pinscope: ready'
	run_bg tlbload tlbload --iters "${TLB_ITERS:-10000}" "$@"
	wait_for_line tlbload '^ready '
	pid=$(field "$LINE" pid)
	# --op migrate: the flushes are caused by move_pages in the migrator (a child process).
	# A flush is charged to the process whose mm it names: tlbload's on 6.1, which flushes each
	# page as it unmaps it; a batched flush (6.4+) names none and is charged to its sender.
	row_pid=$pid row_cause=mprotect
	if [ "$(field "$LINE" migrator)" != 0 ]; then
		row_cause=migration
		[ "$(pstest_kver)" = 6.1 ] || row_pid=$(field "$LINE" migrator)
	fi
	case " $* " in *" --pin "* | *" --pin-apart "*)
		assert_eq "tlbload pinned its page" "$(field "$LINE" pinned)" 1
		wait_for_line ps "tlb: counting flushes over 1 pinned range\\(s\\) of pid $pid\$"
		;;
	esac
	send tlbload go
	wait_for_line tlbload '^done ' 60
	tl=$(field "$LINE" tlb_ipi_delta)
	tl_cpus=$(field "$LINE" tlb_ipi_delta_per_cpu)
	ops=$(field "$LINE" ops)
	send tlbload exit
	stop_bg tlbload
	kill -INT "$(bg_pid ps)"
	stop_bg ps 30
	G=$(grep -o '"global":{[^}]*}' "$W/ps.out") || fail "no TLB section"
	ROW=$(grep -o "{\"pid\":$row_pid,\"comm\":\"tlbload\",\"cause\":\"$row_cause\"[^{}]*" \
		"$W/ps.out") || fail "no row of pid $row_pid tlbload $row_cause"
}

# With --tlb-sample 1 every shootdown charged to ROW is timed from the stamp its sender left:
# one delivery sample each; a handling sample each, less handler runs that return early.
timed_all_check() {
	dlv=$(json_val "$ROW" delivery_samples)
	hnd=$(json_val "$ROW" handling_samples)
	assert_eq "delivery samples (--tlb-sample 1)" "$dlv" "$(json_val "$ROW" shootdowns)"
	[ "$hnd" -le "$dlv" ] && [ $((hnd * 20)) -ge $((dlv * 19)) ] ||
		fail "$hnd handling samples, $dlv delivery"
}

# A request either queued shootdowns or none (the other CPU idle: it is then counted at the
# sender's own part of the flush, as without an IPI). With 2 CPUs a request queues at most one,
# so requests = tlbload's shootdowns + its requests without one. With --tlb-local the requests
# are tlb_flush's reason-4 events, which the kernel fires for every flush sent, IPI or not.
# (Under TCG only about 1 mprotect in 100 needs the other CPU flushed: not one per mprotect.)
requests_whole_check() {
	req=$(json_val "$ROW" requests)
	noipi=$(json_val "$ROW" requests_without_ipi)
	echo "# $PSTEST_NAME: tlbload mprotect: $req requests for $ops mprotects, $mine with a shootdown, $noipi without"
	[ "$req" -le "$ops" ] || fail "$req requests for $ops mprotects"
	assert_eq "requests: with a shootdown + without" "$((mine + noipi))" "$req"
	# each of one page, read from the sender's flush_tlb_info: also a CPU's first request,
	# sent before any shootdown from that CPU named its address
	assert_eq "pages of the requests" "$(json_val "$ROW" request_pages)" "$req"
	assert_eq "full flushes" "$(json_val "$ROW" full_flushes)" 0
}

tlb_run() { # tlb_run PINSCOPE-OPTIONS...: tlb_capture with --tlb-sample 1, and the count checks
	tlb_capture "--tlb-sample 1 $*"
	assert_gt "tlbload's /proc/interrupts TLB delta" "$tl" 0
	ours=$(json_val "$G" shootdowns)
	irq=$(json_val "$G" irq_tlb_delta)
	on=$(json_val "$G" shootdowns_counted_on)
	mine=$(json_val "$ROW" shootdowns)
	dlv=$(json_val "$ROW" delivery_samples)
	hnd=$(json_val "$ROW" handling_samples)
	echo "# $PSTEST_NAME: pinscope $ours remote shootdowns (counted on $on), /proc/interrupts $irq; tlbload mprotect $mine, timed $dlv delivery, $hnd handling; local flushes $(json_val "$ROW" local_flushes)"
	assert_gt "/proc/interrupts TLB delta in pinscope's window" "$irq" 0
	[ "$ours" -le "$irq" ] || fail "pinscope counted $ours shootdowns, /proc/interrupts $irq"
	if [ "$on" = csd ]; then
		[ $((ours * 20)) -ge $((irq * 19)) ] || fail "$ours is not within 5% of $irq"
		# its mprotects made those of its loop (/proc/interrupts around the loop; its exit
		# and other processes make a few more in pinscope's window); every one is timed
		[ "$mine" -le "$tl" ] && [ $((mine * 10)) -ge $((tl * 9)) ] ||
			fail "tlbload mprotect has $mine, /proc/interrupts over its loop $tl"
		timed_all_check
		requests_whole_check
	else
		[ $((ours * 10)) -ge $((irq * 8)) ] || fail "$ours is below 80% of $irq"
	fi
}

t_tlb_report() {
	need_cmd pinscope
	need_cmd tlbload
	tlb_run
	if [ "$on" = csd ]; then
		assert_eq "local flushes counted by default" "$(json_val "$G" local_counted)" false
		assert_eq "tlbload's local flushes" "$(json_val "$ROW" local_flushes)" null
	else
		assert_eq "local flushes counted (tlb_flush is all there is)" \
			"$(json_val "$G" local_counted)" true
	fi
}

t_tlb_report_local() {
	need_cmd pinscope
	need_cmd tlbload
	pinscope probes | grep -q '^tlb.shootdown .*csd/csd_queue_cpu' ||
		skip "no csd tracepoints: tlb_flush is attached anyway (tlb_report)"
	tlb_run --tlb-local
	assert_eq "local flushes counted" "$(json_val "$G" local_counted)" true
	# every RW->R mprotect flushes tlbload's own CPU at least
	assert_gt "tlbload's local flushes" "$(json_val "$ROW" local_flushes)" 9999
	assert_gt "task switches" "$(json_val "$G" task_switch_flushes)" 0
}

# Flushes over a pinned range: tlbload --pin holds its page as an io_uring fixed buffer, so
# every shootdown it sends flushes pinned memory. pinscope learns the range from the pins
# concern (its -v line says so) and checks each send against it in BPF: without --tlb-local
# that check is made where the first shootdown of a flush is queued (csd_queue_cpu).
t_tlb_pinned() {
	need_cmd pinscope
	need_cmd tlbload
	tlb_capture "-i 0.2" --pin
	req=$(json_val "$ROW" requests)
	on=$(json_val "$ROW" flushes_on_pinned)
	echo "# $PSTEST_NAME: tlbload mprotect: $req requests, $on over the pinned range ($(json_val "$ROW" pages_on_pinned) pages), $(json_val "$ROW" shootdowns) shootdowns"
	assert_gt "requests" "$req" 0
	# one page each time: its one pinned page
	assert_eq "pages over the pinned range" "$(json_val "$ROW" pages_on_pinned)" "$on"
	if [ "$(json_val "$ROW" local_flushes)" = null ]; then
		# every flush tlbload sends is of its pinned page
		assert_eq "flushes over the pinned range" "$on" "$req"
	else
		# 6.1: tlb_flush is attached, so its local flushes of the page count too
		[ "$on" -ge $((req + 10000)) ] || fail "$on flushes over the pinned range: fewer than $req sent + 10000 local"
	fi
}

# The same beside a pinned range: tlbload --pin-apart pins a page it never changes, so none of
# its flushes is over it. Where tlb_flush counts a flush whose range is not known (its sender's
# flush_tlb_info not found: 6.1 before 20b5afa), it is taken as over every pinned range.
t_tlb_pinned_apart() {
	need_cmd pinscope
	need_cmd tlbload
	TLB_ITERS=3000 tlb_capture "-i 0.2" --pin-apart
	req=$(json_val "$ROW" requests)
	on=$(json_val "$ROW" flushes_on_pinned)
	echo "# $PSTEST_NAME: tlbload mprotect: $req requests, local flushes $(json_val "$ROW" local_flushes), $on over the pinned range ($(json_val "$ROW" pages_on_pinned) pages)"
	assert_gt "requests" "$req" 0
	assert_eq "flushes over the pinned range" "$on" 0
	assert_eq "pages over the pinned range" "$(json_val "$ROW" pages_on_pinned)" 0
}

# Sends to two CPUs at once (tlbload --readers 2: its mm runs on CPUs 1 and 2; 4 vCPUs). One
# flush is queued to each target in turn, and all of them are one request. Each send interrupts
# a reader's CPU at most once, and each call sends at most once: what pinscope counts as requests
# lies between the most shootdowns one reader's CPU took over the loop (/proc/interrupts, per
# CPU; other senders add a few) and the calls made. Shootdowns are checked against the readers'
# CPUs' (/proc/interrupts, summed over them) where the csd tracepoints count them per sender. A
# send split per target would make requests about twice the calls, and equal to shootdowns;
# sends run together would make them far fewer than one CPU's shootdowns.
tlb_targets_check() { # tlb_targets_check READERS
	_max=0 _sum=0
	for _n in $(echo "$tl_cpus" | tr , ' ' | cut -d' ' -f2-$(($1 + 1))); do
		[ "$_n" -le "$_max" ] || _max=$_n
		_sum=$((_sum + _n))
	done
	req=$(json_val "$ROW" requests)
	mine=$(json_val "$ROW" shootdowns)
	on=$(json_val "$G" shootdowns_counted_on)
	echo "# $PSTEST_NAME: tlbload $row_cause ($ops calls, $1 readers): $req requests, $mine shootdowns (counted on $on); /proc/interrupts TLB per CPU over the loop $tl_cpus"
	assert_gt "the busiest reader's TLB shootdowns" "$_max" 0
	# (each reader's thread stack is mprotected as it is made, in pinscope's window too)
	[ "$req" -le $((ops + $1)) ] && [ $((req * 10)) -ge $((_max * 9)) ] ||
		fail "$req requests for $ops calls; the busiest reader's CPU took $_max shootdowns"
	if [ "$on" != csd ]; then
		# tlb_flush alone (6.1): handler runs are counted, not who queued them
		ours=$(json_val "$G" shootdowns)
		irq=$(json_val "$G" irq_tlb_delta)
		[ "$ours" -le "$irq" ] && [ $((ours * 10)) -ge $((irq * 8)) ] ||
			fail "$ours shootdowns in all; /proc/interrupts $irq"
		return 0
	fi
	[ "$mine" -le "$_sum" ] && [ $((mine * 10)) -ge $((_sum * 9)) ] ||
		fail "$mine shootdowns; the readers' CPUs took $_sum over the loop"
	[ "$mine" -gt "$req" ] || fail "$mine shootdowns for $req requests: none sent to two CPUs"
	[ "$mine" -le $((req * $1)) ] || fail "$mine shootdowns for $req requests to $1 CPUs"
	# --tlb-sample 1: the sender leaves a stamp on each target of each send; every one is taken
	echo "# $PSTEST_NAME: $(json_val "$ROW" delivery_samples) delivery, $(json_val "$ROW" handling_samples) handling samples; handler runs unseen $(json_val "$G" handler_runs_unseen)"
	timed_all_check
}

t_tlb_two_targets() {
	need_cmd pinscope
	need_cmd tlbload
	[ "$(nproc)" -ge 3 ] || skip "$(nproc) CPUs: 3 needed"
	TLB_ITERS=2000 tlb_capture "--tlb-sample 1" --readers 2
	tlb_targets_check 2
}

# Two senders at once (tlbload --senders 2 --readers 2: threads A on CPUs 0 and 1, each changing a
# region of its own, readers on CPUs 2 and 3): both queue shootdowns to CPUs 2 and 3 at the same
# time, and to each other. Each sender leaves its stamps in a slot of its own on the target; with
# --tlb-sample 1 every shootdown charged to tlbload's mprotect is timed from its own stamp. CPUs 0
# and 1 can only have been interrupted by each other: both sent.
t_tlb_two_senders() {
	need_cmd pinscope
	need_cmd tlbload
	[ "$(nproc)" -ge 4 ] || skip "$(nproc) CPUs: 4 needed"
	pinscope probes | grep -q '^tlb.shootdown .*csd/csd_queue_cpu' ||
		skip "no csd tracepoints: shootdowns are timed on them only"
	TLB_ITERS=300 tlb_capture "--tlb-sample 1" --senders 2 --readers 2
	mine=$(json_val "$ROW" shootdowns)
	dlv=$(json_val "$ROW" delivery_samples)
	hnd=$(json_val "$ROW" handling_samples)
	echo "# $PSTEST_NAME: tlbload mprotect ($ops calls from 2 senders): $mine shootdowns, $dlv delivery, $hnd handling samples; /proc/interrupts TLB per CPU over the loop $tl_cpus; handler runs unseen $(json_val "$G" handler_runs_unseen)"
	for _c in 1 2; do
		assert_gt "CPU $((_c - 1))'s TLB shootdowns (from the other sender)" \
			"$(echo "$tl_cpus" | cut -d, -f$_c)" 0
	done
	# (the threads' stacks are mprotected as they are made, in pinscope's window too)
	[ "$mine" -le $((tl + 16)) ] && [ $((mine * 10)) -ge $((tl * 9)) ] ||
		fail "tlbload mprotect has $mine, /proc/interrupts over its loop $tl"
	timed_all_check
}

# Batched flushes: move_pages from another process (the migrator, on CPU 3, which never runs
# tlbload's mm) unmaps with TTU_BATCH_FLUSH on 6.4+, and arch_tlbbatch_flush sends a flush that
# names no mm and has no generation, from a CPU outside its targets: consecutive sends are told
# apart only by their queues starting again from the lowest CPU. Charged to the migrator, as
# migration. 6.1 flushes each page as it unmaps it (flush_tlb_mm_range): counted the same way,
# charged to tlbload, whose mm each flush names.
t_tlb_batch_migrate() {
	need_cmd pinscope
	need_cmd tlbload
	[ "$(nproc)" -ge 4 ] || skip "$(nproc) CPUs: 4 needed"
	[ -e /sys/devices/system/node/node1 ] || skip "one NUMA node: move_pages needs two"
	# automatic NUMA balancing would unmap and migrate the same page under the migrator
	# (move_pages then finds no page: ENOENT, seen on 6.1) and flush tlbload's mm itself
	if [ -w /proc/sys/kernel/numa_balancing ]; then
		echo 0 >/proc/sys/kernel/numa_balancing || fail "cannot turn NUMA balancing off"
	fi
	TLB_ITERS=500 tlb_capture "--tlb-sample 1" --readers 2 --op migrate
	tlb_targets_check 2
}

pstest_main "$@"
