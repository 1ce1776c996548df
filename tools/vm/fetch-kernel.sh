#!/bin/bash
# fetch-kernel.sh KVER: fetch and unpack a Debian 12 cloud kernel for the
# guest tier and print the directory it lives in.
#   KVER 6.1  -> the linux-image-6.1.0-N-cloud-amd64-unsigned that
#                linux-image-cloud-amd64 currently depends on
#   KVER 6.12 -> the newest linux-image-6.12.*+deb12-cloud-amd64-unsigned
# The directory ($PINSCOPE_VM_CACHE/kernels/<uname -r>) holds vmlinuz, config,
# release (uname -r), package, modules/ (-> lib/modules/<release>, with a
# modules.dep made here) and ko/ (uncompressed kvm modules and their deps). A second call reuses it.
# Exit codes: 0 ok, 2 usage, 3 kernel not obtainable (one line says why).
set -euo pipefail
# shellcheck source=tools/vm/lib.sh
. "$(dirname "$0")/lib.sh"

# Modules decompressed up front, so that an offline run still has them.
PREP_MODULES=(kvm kvm_amd kvm_intel)

unavailable() {
	echo "${0##*/}: linux $KVER: $*" >&2
	exit 3
}

usage() {
	echo "usage: ${0##*/} 6.1|6.12" >&2
	exit 2
}

# Print the exact binary package to fetch for $KVER, or nothing.
resolve_package() {
	local dep
	case $KVER in
	6.1)
		dep=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
			sed -n 's/^ *Depends: \(linux-image-6\.1\.0-[0-9]*-cloud-amd64\)\(-unsigned\)\?$/\1/p' |
			head -n1)
		[[ -n $dep ]] || return 0
		if apt-cache show "$dep-unsigned" >/dev/null 2>&1; then
			echo "$dep-unsigned"
		else
			echo "$dep"
		fi
		;;
	6.12)
		apt-cache pkgnames linux-image-6.12. 2>/dev/null |
			grep -E '^linux-image-6\.12\.[0-9]+\+deb12-cloud-amd64-unsigned$' |
			sort -V | tail -n1
		;;
	esac
}

# Use the kernel last unpacked for $KVER when the package index or the
# download fails: an offline machine can still run the guest tier.
fallback() {
	local link=$VM_CACHE/kernels/$KVER
	if [[ -f $link/.complete ]]; then
		echo "${0##*/}: linux $KVER: $1; using cached $(cat "$link/release")" >&2
		readlink -f "$link"
		exit 0
	fi
	unavailable "$1"
}

[[ $# -eq 1 ]] || usage
KVER=$1
case $KVER in
6.1 | 6.12) ;;
*) usage ;;
esac

mkdir -p "$VM_CACHE/kernels" "$VM_CACHE/debs" 2>/dev/null ||
	unavailable "cannot create cache $VM_CACHE (set PINSCOPE_VM_CACHE)"
exec 9>"$VM_CACHE/.lock"
flock 9

pkg=$(resolve_package)
[[ -n $pkg ]] || fallback "no matching package in the apt index (apt-get update?)"

# Name of the kernel: linux-image-<release>[-unsigned]
release=${pkg#linux-image-}
release=${release%-unsigned}
kdir=$VM_CACHE/kernels/$release
if [[ -f $kdir/.complete ]]; then
	vm_modules "$kdir" "${PREP_MODULES[@]}" >/dev/null
	ln -sfn "$release" "$VM_CACHE/kernels/$KVER"
	echo "$kdir"
	exit 0
fi

debs=$VM_CACHE/debs
rm -f "$debs/${pkg}"_*.deb
# apt drops privileges to _apt for downloads; let it write here.
chmod 0777 "$debs" 2>/dev/null || true
if ! log=$(cd "$debs" && apt-get download -q "$pkg" 2>&1); then
	why=$(grep -E '^(E|Err):' <<<"$log" | tail -n1)
	fallback "apt-get download $pkg failed: ${why:-$(tail -n1 <<<"$log")}"
fi
got=("$debs/${pkg}"_*.deb)
deb=${got[0]}
[[ -f $deb ]] || fallback "apt-get download $pkg left no .deb"

tmp=$VM_CACHE/kernels/.tmp.$release
rm -rf "$tmp"
mkdir -p "$tmp/pkg"
dpkg-deb -x "$deb" "$tmp/pkg" || unavailable "dpkg-deb -x $deb failed"
[[ -f $tmp/pkg/boot/vmlinuz-$release && -d $tmp/pkg/lib/modules/$release ]] ||
	unavailable "$deb: no boot/vmlinuz-$release or lib/modules/$release"
mv "$tmp/pkg/boot/vmlinuz-$release" "$tmp/vmlinuz"
mv "$tmp/pkg/boot/config-$release" "$tmp/config"
[[ -f $tmp/pkg/boot/System.map-$release ]] &&
	mv "$tmp/pkg/boot/System.map-$release" "$tmp/System.map"
mkdir -p "$tmp/lib/modules"
mv "$tmp/pkg/lib/modules/$release" "$tmp/lib/modules/$release"
ln -s "lib/modules/$release" "$tmp/modules"
rm -rf "$tmp/pkg"
# The package leaves modules.dep to its postinst: build it here.
if command -v depmod >/dev/null; then
	depmod -b "$tmp" "$release"
else
	busybox depmod -b "$tmp" "$release"
fi || unavailable "depmod for $release failed"
echo "$release" >"$tmp/release"
echo "${deb##*/}" >"$tmp/package"
vm_modules "$tmp" "${PREP_MODULES[@]}" >/dev/null
touch "$tmp/.complete"
rm -rf "$kdir"
mv "$tmp" "$kdir"
rm -f "$deb"
ln -sfn "$release" "$VM_CACHE/kernels/$KVER"
echo "$kdir"
