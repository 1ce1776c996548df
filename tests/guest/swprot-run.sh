#!/bin/bash
# tests/guest/swprot-run.sh TAG GUEST_SCRIPT TIMEOUT: host side of a guest test in the
# purpose-built 6.12 kernel with KVM_SW_PROTECTED_VM (tools/vm/kernel; from its cache, or built):
# builds pinscope (make static) and tools/swvm statically, packs them with GUEST_SCRIPT into an
# initramfs (tools/vm/mkinitramfs.sh) and boots it under QEMU TCG (tools/vm/boot.sh, which turns
# the guest's PSTEST lines into TAP). There conversions succeed and memory-fault exits happen,
# which no host kernel here allows. TIMEOUT: seconds for the boot unless PINSCOPE_VM_TIMEOUT.
# Logs: .output/vm/{console,initramfs,build-kernel,make-static}-TAG.*
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
VM=$REPO/tools/vm
OUT=$REPO/.output/vm
TAG=$1
SCRIPT=$2
LIMIT=${PINSCOPE_VM_TIMEOUT:-$3}
NAME="$TAG 6.12-swprot"

skip() {
	echo "ok 1 - $NAME # skip $*"
	echo "1..1"
	exit 0
}

fail() {
	echo "not ok 1 - $NAME: $*"
	echo "1..1"
	exit 1
}

for f in mkinitramfs.sh boot.sh kernel/build-kernel.sh; do
	[[ -x $VM/$f ]] || skip "tools/vm/$f is missing"
done
[[ -f $REPO/tools/swvm.c ]] || skip "tools/swvm.c is missing"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed"
mkdir -p "$OUT"

rc=0
kernel=$("$VM/kernel/build-kernel.sh" 2>"$OUT/build-kernel-$TAG.err") || rc=$?
sed 's/^/# /' "$OUT/build-kernel-$TAG.err"
if [[ $rc -eq 3 ]]; then
	skip "$(tail -n 1 "$OUT/build-kernel-$TAG.err")"
elif [[ $rc -ne 0 ]]; then
	fail "build-kernel.sh exited $rc: $(tail -n 1 "$OUT/build-kernel-$TAG.err")"
fi

make -C "$REPO" -s static >"$OUT/make-static-$TAG.log" 2>&1 ||
	fail "make static failed, see .output/vm/make-static-$TAG.log"

work=$(mktemp -d "${TMPDIR:-/tmp}/pinscope-$TAG.XXXXXX")
trap 'rm -rf "$work"' EXIT
gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-missing-field-initializers \
	-O2 -static -I"$REPO/tools" "$REPO/tools/swvm.c" -o "$work/swvm" -lpthread \
	2>"$work/cc.err" || fail "building tools/swvm.c: $(head -n 1 "$work/cc.err")"

initrd=$OUT/initramfs-$TAG.gz
"$VM/mkinitramfs.sh" -o "$initrd" -f "$work/swvm:/usr/local/bin/swvm" -s "$SCRIPT" \
	2>"$work/mkinitramfs.err" || fail "mkinitramfs.sh: $(tail -n 1 "$work/mkinitramfs.err")"

exec "$VM/boot.sh" -k "$kernel" -i "$initrd" -l "$OUT/console-$TAG.log" -t "$LIMIT" -n "$NAME"
