#!/bin/bash
# tests/guest/swvm/run.sh: host side of the swvm guest test. Builds (or takes from the
# cache) the purpose-built kernel of tools/vm/kernel, builds tools/swvm and pinscope
# (make static) statically, packs them with swvm-guest.sh into an initramfs
# (tools/vm/mkinitramfs.sh) and boots it under QEMU TCG (tools/vm/boot.sh), which turns the
# guest's PSTEST lines into TAP.
# Environment: PINSCOPE_VM_TIMEOUT (seconds per boot, default 180), PINSCOPE_VM_CACHE.
# Console log and initramfs: .output/vm/{console,initramfs}-swvm.*
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
VM=$REPO/tools/vm
OUT=$REPO/.output/vm
LIMIT=${PINSCOPE_VM_TIMEOUT:-180}
NAME="swvm 6.12-swprot"

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
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed"
mkdir -p "$OUT"

rc=0
kernel=$("$VM/kernel/build-kernel.sh" 2>"$OUT/build-kernel-swvm.err") || rc=$?
sed 's/^/# /' "$OUT/build-kernel-swvm.err"
if [[ $rc -eq 3 ]]; then
	skip "$(tail -n 1 "$OUT/build-kernel-swvm.err")"
elif [[ $rc -ne 0 ]]; then
	fail "build-kernel.sh exited $rc: $(tail -n 1 "$OUT/build-kernel-swvm.err")"
fi

make -C "$REPO" -s static >"$OUT/make-static-swvm.log" 2>&1 ||
	fail "make static failed, see .output/vm/make-static-swvm.log"

work=$(mktemp -d "${TMPDIR:-/tmp}/pinscope-swvm.XXXXXX")
trap 'rm -rf "$work"' EXIT
gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-missing-field-initializers \
	-O2 -static "$REPO/tools/swvm.c" -o "$work/swvm" -lpthread 2>"$work/cc.err" ||
	fail "building tools/swvm.c: $(head -n 1 "$work/cc.err")"

initrd=$OUT/initramfs-swvm.gz
"$VM/mkinitramfs.sh" -o "$initrd" -f "$work/swvm:/usr/local/bin/swvm" \
	-s "$REPO/tests/guest/swvm/swvm-guest.sh" 2>"$work/mkinitramfs.err" ||
	fail "mkinitramfs.sh: $(tail -n 1 "$work/mkinitramfs.err")"

exec "$VM/boot.sh" -k "$kernel" -i "$initrd" -l "$OUT/console-swvm.log" -t "$LIMIT" -n "$NAME"
