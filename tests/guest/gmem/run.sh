#!/bin/bash
# tests/guest/gmem/run.sh: host side of the guest_memfd/conversion guest test. Takes the
# purpose-built 6.12 kernel of tools/vm/kernel (from its cache, or builds it), the static
# pinscope (make static) and a static tools/swvm, packs them with gmem-guest.sh into an
# initramfs and boots it under QEMU TCG (tools/vm/boot.sh turns PSTEST lines into TAP).
# There conversions succeed and memory-fault exits happen, which no host kernel here allows.
# Environment: PINSCOPE_VM_TIMEOUT (seconds, default 240), PINSCOPE_VM_CACHE.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
VM=$REPO/tools/vm
OUT=$REPO/.output/vm
LIMIT=${PINSCOPE_VM_TIMEOUT:-240}
NAME="gmem 6.12-swprot"

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
kernel=$("$VM/kernel/build-kernel.sh" 2>"$OUT/build-kernel-gmem.err") || rc=$?
sed 's/^/# /' "$OUT/build-kernel-gmem.err"
if [[ $rc -eq 3 ]]; then
	skip "$(tail -n 1 "$OUT/build-kernel-gmem.err")"
elif [[ $rc -ne 0 ]]; then
	fail "build-kernel.sh exited $rc: $(tail -n 1 "$OUT/build-kernel-gmem.err")"
fi

make -C "$REPO" -s static >"$OUT/make-static-gmem.log" 2>&1 ||
	fail "make static failed, see .output/vm/make-static-gmem.log"

work=$(mktemp -d "${TMPDIR:-/tmp}/pinscope-gmem.XXXXXX")
trap 'rm -rf "$work"' EXIT
gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -static -I"$REPO/tools" \
	"$REPO/tools/swvm.c" -o "$work/swvm" -lpthread 2>"$work/cc.err" ||
	fail "building tools/swvm.c: $(head -n 1 "$work/cc.err")"

initrd=$OUT/initramfs-gmem.gz
"$VM/mkinitramfs.sh" -o "$initrd" -f "$work/swvm:/usr/local/bin/swvm" \
	-s "$REPO/tests/guest/gmem/gmem-guest.sh" 2>"$work/mkinitramfs.err" ||
	fail "mkinitramfs.sh: $(tail -n 1 "$work/mkinitramfs.err")"

exec "$VM/boot.sh" -k "$kernel" -i "$initrd" -l "$OUT/console-gmem.log" -t "$LIMIT" -n "$NAME"
