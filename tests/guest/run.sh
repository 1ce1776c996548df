#!/bin/bash
# Guest tier, host side: for each kernel (6.1, 6.12) fetch it, build an
# initramfs with the static pinscope and tools, boot it under QEMU TCG and
# report every guest test as TAP. Run by the project's test runner and by
# `make vm-test`.
# Environment:
#   PINSCOPE_VM_KERNELS  kernels to test (default "6.1 6.12")
#   PINSCOPE_VM_TIMEOUT  wall-clock limit per boot in seconds (default 600)
#   PINSCOPE_VM_ONLY     comma-separated guest tests to run (default all)
#   PINSCOPE_VM_CACHE    kernel cache (default /var/cache/pinscope-vm)
# Console logs and initramfs images go to .output/vm/.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
VM=$REPO/tools/vm
OUT=$REPO/.output/vm
KERNELS=${PINSCOPE_VM_KERNELS:-6.1 6.12}
LIMIT=${PINSCOPE_VM_TIMEOUT:-600}
# kvm_amd: TCG's -cpu max has SVM (with NPT) but no VMX, so kvm_intel
# cannot load in these guests.
MODULES=(kvm_amd)

# The guest test lists (TESTS, TESTS_smp4 in tests/guest/guest-tests.sh)
test_list() { sed -n "/^$1=\"\$/,/^\"/{/^[a-z_0-9]*\$/p}" "$REPO/tests/guest/guest-tests.sh"; }
mapfile -t TESTS < <(test_list TESTS)
mapfile -t TESTS_SMP4 < <(test_list TESTS_smp4)
# Does PINSCOPE_VM_ONLY (if set) name any of the tests given?
selected() {
	local t
	[[ -z ${PINSCOPE_VM_ONLY:-} ]] && return 0
	for t; do
		[[ ,$PINSCOPE_VM_ONLY, == *",$t,"* ]] && return 0
	done
	return 1
}

n=0 failed=0
t_start=$EPOCHREALTIME
tap() { # tap ok|not-ok DESCRIPTION
	n=$((n + 1))
	if [[ $1 == ok ]]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
	fi
}

# Pass TAP from boot.sh through, numbered after ours; drop its plan.
renumber() {
	local line res rest
	while IFS= read -r line; do
		if [[ $line =~ ^(not ok|ok)\ [0-9]+(.*)$ ]]; then
			res=${BASH_REMATCH[1]} rest=${BASH_REMATCH[2]}
			n=$((n + 1))
			[[ $res == ok ]] || failed=$((failed + 1))
			echo "$res $n$rest"
		elif [[ ! $line =~ ^1\.\.[0-9]+$ ]]; then
			echo "$line"
		fi
	done
}

mkdir -p "$OUT"

# The static build, always: make rebuilds only what changed, and a stale binary would test
# old code (or miss a tool added since).
if make -C "$REPO" -k static >"$OUT/make-static.log" 2>&1; then
	tap ok "guest: make static"
else
	tap not-ok "guest: make static: failed, see .output/vm/make-static.log"
	tail -n 20 "$OUT/make-static.log" | sed 's/^/# /'
fi

for kver in $KERNELS; do
	name="guest $kver"
	rc=0
	kdir=$("$VM/fetch-kernel.sh" "$kver" 2>"$OUT/fetch-$kver.err") || rc=$?
	if [[ $rc -ne 0 ]]; then
		why=$(tail -n 1 "$OUT/fetch-$kver.err")
		why=${why#fetch-kernel.sh: }
		if [[ $rc -eq 3 ]]; then
			tap ok "$name # skip ${why:-kernel not available}"
		else
			tap not-ok "$name: fetch-kernel.sh exited $rc: $why"
		fi
		continue
	fi
	sed 's/^/# /' "$OUT/fetch-$kver.err"
	initrd=$OUT/initramfs-$kver.gz
	mods=()
	for m in "${MODULES[@]}"; do mods+=(-m "$m"); done
	if ! err=$("$VM/mkinitramfs.sh" -o "$initrd" -k "$kdir" "${mods[@]}" 2>&1); then
		tap not-ok "$name: mkinitramfs.sh failed: $err"
		continue
	fi
	append="pstest.release=$(cat "$kdir/release")"
	[[ -z ${PINSCOPE_VM_ONLY:-} ]] || append+=" pstest.only=$PINSCOPE_VM_ONLY"
	# boot.sh's exit status adds nothing: every failure is a "not ok" line
	if selected "${TESTS[@]}"; then
		renumber < <("$VM/boot.sh" -k "$kdir" -i "$initrd" -n "$name" \
			-t "$LIMIT" -l "$OUT/console-$kver.log" -a "$append" || true)
	fi
	# the tests that need more CPUs: a boot of their own with 4 (two NUMA nodes)
	if selected "${TESTS_SMP4[@]}"; then
		renumber < <("$VM/boot.sh" -k "$kdir" -i "$initrd" -n "$name smp4" -c 4 \
			-t "$LIMIT" -l "$OUT/console-$kver-smp4.log" -a "$append pstest.set=smp4" ||
			true)
	fi
done

echo "# guest tier: $(awk -v a="$t_start" -v b="$EPOCHREALTIME" \
	'BEGIN { printf "%.1f", b - a }') s for kernels $KERNELS"
echo "1..$n"
[[ $failed -eq 0 ]]
