# shellcheck shell=sh
# Guest-tier tests: run by /init inside a QEMU guest (busybox sh).
# To add a test: write a function t_<name> below (helpers: see lib.sh) and
# add <name> to TESTS. A test that cannot run on one kernel gets a line
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
tlb_report
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

# For now: it runs. The checks that the function tier picks fentry for the
# GUP hooks belong here (or in tests next to it).
t_pinscope_probes() {
	need_cmd pinscope
	run probes pinscope probes
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

# The TLB programs load on this kernel and count tlbload's shootdowns against the TLB row of
# /proc/interrupts over pinscope's own window: on 6.12 through the csd tracepoints (within 5%);
# 6.1 has tlb_flush alone, whose reasons 1 and 5 miss handler runs that return early (a CPU
# that left the mm), so there the count is a lower bound (at least 80%).
t_tlb_report() {
	need_cmd pinscope
	need_cmd tlbload
	run_pinscope_bg ps report -d 300 -j --no-seed -v
	wait_for_line ps 'pinscope: ready'
	run_bg tlbload tlbload --iters 2000
	wait_for_line tlbload '^ready '
	send tlbload go
	wait_for_line tlbload '^done '
	assert_gt "tlbload's /proc/interrupts TLB delta" "$(field "$LINE" tlb_ipi_delta)" 0
	send tlbload exit
	stop_bg tlbload
	kill -INT "$(bg_pid ps)"
	stop_bg ps 30
	g=$(grep -o '"global":{[^}]*}' "$W/ps.out") || fail "no TLB section"
	ours=$(echo "$g" | grep -o '"shootdowns":[0-9]*' | cut -d: -f2)
	irq=$(echo "$g" | grep -o '"irq_tlb_delta":[0-9]*' | cut -d: -f2)
	on=$(echo "$g" | grep -o '"shootdowns_counted_on":"[a-z_]*"' | cut -d'"' -f4)
	echo "# $PSTEST_NAME: pinscope $ours remote shootdowns (counted on $on), /proc/interrupts $irq"
	assert_gt "/proc/interrupts TLB delta in pinscope's window" "$irq" 0
	[ "$ours" -le "$irq" ] || fail "pinscope counted $ours shootdowns, /proc/interrupts $irq"
	if [ "$on" = csd ]; then
		[ $((ours * 20)) -ge $((irq * 19)) ] || fail "$ours is not within 5% of $irq"
	else
		[ $((ours * 10)) -ge $((irq * 8)) ] || fail "$ours is below 80% of $irq"
	fi
}

pstest_main "$@"
