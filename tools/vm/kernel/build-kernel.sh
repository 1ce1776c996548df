#!/bin/bash
# build-kernel.sh: build the purpose-built guest kernel (software-protected KVM VMs,
# BPF with BTF, ftrace, kprobes, io_uring, GUP_TEST) and print the path of its bzImage.
#
# Source: Debian's linux-source-6.12 package. Config: `make tinyconfig` plus
# pinscope-guest.config beside this script; every option of the fragment is checked after
# the merge. Result: $PINSCOPE_VM_CACHE/kernel-<version>-<fragment hash>/{bzImage,config,
# vmlinux}; a second call with the same source and fragment only prints the path.
# Objects live in $PINSCOPE_VM_CACHE/build-<version> so a changed fragment rebuilds
# incrementally. Nothing is written inside the repository.
#
# Exit codes: 0 ok (path on stdout, progress on stderr), 1 failure, 3 the source or the
# build tools cannot be installed (callers turn that into a skip). One line says why.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
CACHE=${PINSCOPE_VM_CACHE:-/var/cache/pinscope-vm}
FRAGMENT=$HERE/pinscope-guest.config
SRC_PKG=linux-source-6.12
TARBALL=/usr/src/$SRC_PKG.tar.xz
BUILD_PKGS=("$SRC_PKG" build-essential flex bison bc libssl-dev libelf-dev dwarves cpio xz-utils)

die() {
	echo "${0##*/}: $*" >&2
	exit 1
}

unavailable() {
	echo "${0##*/}: $*" >&2
	exit 3
}

say() {
	echo "${0##*/}: $*" >&2
}

# install PKG...: install the Debian packages that are missing, and say which.
install_missing() {
	local p missing=()

	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	((${#missing[@]})) || return 0
	if [[ -x $REPO/tools/deps.sh ]]; then
		"$REPO/tools/deps.sh" "${missing[@]}" >&2 ||
			unavailable "installing ${missing[*]} failed"
		return 0
	fi
	say "installing ${missing[*]}"
	[[ $(id -u) -eq 0 ]] || unavailable "installing ${missing[*]}: need root"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null || unavailable "apt-get update failed"
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
		unavailable "apt-get install ${missing[*]} failed"
}

# Upstream version of the installed source package: 6.12.117-1~deb12u1 -> 6.12.117.
source_version() {
	local v
	v=$(dpkg-query -W -f='${Version}' "$SRC_PKG" 2>/dev/null) || return 1
	echo "${v%%-*}"
}

# check_fragment CONFIG: print every option of the fragment whose value in CONFIG differs,
# as `CONFIG_X: wanted V, got W`; return 1 if there was any.
check_fragment() {
	local config=$1 line name want got bad=0

	while IFS= read -r line; do
		if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
			name=${BASH_REMATCH[1]}
			want=${BASH_REMATCH[2]}
		elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
			name=${BASH_REMATCH[1]}
			want=n
		else
			continue
		fi
		got=$(sed -n "s/^$name=//p" "$config")
		[[ -n $got ]] || got=n
		if [[ $got != "$want" ]]; then
			echo "$name: wanted $want, got $got"
			bad=1
		fi
	done <"$FRAGMENT"
	return $bad
}

[[ -f $FRAGMENT ]] || die "$FRAGMENT: missing"
hash=$(sha256sum "$FRAGMENT" | cut -c1-12)

# Fast path: the same source and fragment were built before.
if ver=$(source_version) && [[ -f $CACHE/kernel-$ver-$hash/bzImage ]]; then
	echo "$CACHE/kernel-$ver-$hash/bzImage"
	exit 0
fi

install_missing "${BUILD_PKGS[@]}"
ver=$(source_version) || die "$SRC_PKG: not installed"
[[ -f $TARBALL ]] || die "$TARBALL: missing although $SRC_PKG is installed"
out=$CACHE/kernel-$ver-$hash
if [[ -f $out/bzImage ]]; then
	echo "$out/bzImage"
	exit 0
fi

mkdir -p "$CACHE" || die "$CACHE: cannot create"
exec 9>"$CACHE/.build.lock"
flock 9 || die "$CACHE/.build.lock: cannot lock"
# Someone else may have built it while we waited for the lock.
if [[ -f $out/bzImage ]]; then
	echo "$out/bzImage"
	exit 0
fi

# Unpack the source once per source version.
src=$CACHE/src-$ver
if [[ ! -f $src/.unpacked ]]; then
	say "unpacking $TARBALL into $src"
	rm -rf "$src" "$src.tmp"
	mkdir -p "$src.tmp"
	tar -xf "$TARBALL" -C "$src.tmp" --strip-components=1 || die "unpacking $TARBALL failed"
	touch "$src.tmp/.unpacked"
	mv "$src.tmp" "$src"
fi

build=$CACHE/build-$ver
mkdir -p "$build"
log=$build/build.log
kmake() {
	make -C "$src" O="$build" ARCH=x86_64 "$@"
}

start=$(date +%s)
say "configuring in $build (log: $log)"
{
	kmake tinyconfig &&
		(cd "$src" && scripts/kconfig/merge_config.sh -m -O "$build" "$build/.config" "$FRAGMENT") &&
		kmake olddefconfig
} >"$log" 2>&1 || die "configuring failed: see $log"

if ! bad=$(check_fragment "$build/.config"); then
	echo "$bad" >&2
	die "options of ${FRAGMENT##*/} not set as asked (their dependencies are missing?)"
fi

say "building bzImage with make -j$(nproc)"
kmake -j"$(nproc)" bzImage >>"$log" 2>&1 || {
	tail -n 20 "$log" >&2
	die "make bzImage failed: see $log"
}

mkdir -p "$out.tmp"
cp "$build/arch/x86/boot/bzImage" "$build/.config" "$build/vmlinux" "$out.tmp/"
mv "$out.tmp/.config" "$out.tmp/config"
rm -rf "$out"
mv "$out.tmp" "$out"
say "built kernel $ver in $(($(date +%s) - start)) s: $(du -h "$out/bzImage" | cut -f1)"
echo "$out/bzImage"
