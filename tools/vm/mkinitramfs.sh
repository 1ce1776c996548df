#!/bin/bash
# mkinitramfs.sh -o OUT [options]: build a gzip'd cpio initramfs for the guest
# tier: busybox-static with its applet links, a generated /init, the static
# pinscope and static workload tools (when built), the guest test scripts and
# optional modules and files.
#   -o OUT         initramfs to write
#   -k KDIR        kernel directory from fetch-kernel.sh (needed for -m)
#   -m MODULE      load MODULE (and its dependencies) before the tests; repeat
#   -f SRC[:DST]   add file SRC at DST (default /extra/<name>); repeat
#   -s SCRIPT      guest script run by /init (default tests/guest/guest-tests.sh)
#   -n             leave out .output/static (pinscope and tools)
set -euo pipefail
# shellcheck source=tools/vm/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	sed -n '2,11s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

out='' kdir='' script=$REPO_DIR/tests/guest/guest-tests.sh with_static=1
mods=() files=()
while getopts "o:k:m:f:s:nh" opt; do
	case $opt in
	o) out=$OPTARG ;;
	k) kdir=$OPTARG ;;
	m) mods+=("$OPTARG") ;;
	f) files+=("$OPTARG") ;;
	s) script=$OPTARG ;;
	n) with_static= ;;
	*) usage ;;
	esac
done
[[ -n $out && $OPTIND -gt $# ]] || usage
[[ ${#mods[@]} -eq 0 || -n $kdir ]] || die "-m needs -k KDIR"
[[ -f $script ]] || die "$script: no such guest script"
busybox=$(command -v busybox) || die "busybox: not found (apt-get install busybox-static)"
file -L "$busybox" 2>/dev/null | grep -q 'statically linked' ||
	die "$busybox: not statically linked (apt-get install busybox-static)"

root=$(mktemp -d "${TMPDIR:-/tmp}/pinscope-initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,proc,sys,dev,tmp,run,etc/pstest,lib/modules,pstest,extra}

# busybox and a link for every applet it has
cp "$busybox" "$root/bin/busybox"
while read -r applet; do
	[[ -e $root/$applet ]] || ln -s /bin/busybox "$root/$applet"
done < <("$busybox" --list-full)

# pinscope and the workload tools, static builds only (the guest has no libc)
if [[ -n $with_static ]]; then
	st=$REPO_DIR/.output/static
	[[ -x $st/pinscope ]] && cp "$st/pinscope" "$root/usr/local/bin/"
	if [[ -d $st/tools ]]; then
		for t in "$st"/tools/*; do
			[[ -f $t && -x $t ]] && cp "$t" "$root/usr/local/bin/"
		done
	fi
fi

# guest test scripts, helpers and per-kernel skip lists
cp "$REPO_DIR"/tests/guest/lib.sh "$REPO_DIR"/tests/guest/guest-*.sh "$root/pstest/"
for f in "$REPO_DIR"/tests/guest/skip-*.txt; do
	[[ -f $f ]] && cp "$f" "$root/pstest/"
done
cp "$script" "$root/pstest/main.sh"

# modules, in load order
: >"$root/etc/pstest/modules"
if [[ ${#mods[@]} -gt 0 ]]; then
	vm_kernel_dir "$kdir"
	kos=$(vm_modules "$kdir" "${mods[@]}") || exit 1
	while read -r ko; do
		cp "$ko" "$root/lib/modules/"
		echo "${ko##*/}" >>"$root/etc/pstest/modules"
	done <<<"$kos"
fi

for spec in "${files[@]}"; do
	src=${spec%%:*}
	dst=/extra/${src##*/}
	[[ $spec == *:* ]] && dst=${spec#*:}
	[[ -e $src ]] || die "$src: no such file"
	mkdir -p "$root$(dirname "$dst")"
	cp -a "$src" "$root$dst"
done

cp "$VM_DIR/init.sh" "$root/init"
chmod 0755 "$root/init" "$root"/pstest/*.sh

mkdir -p "$(dirname "$out")"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) |
	gzip -6 >"$out.tmp"
mv "$out.tmp" "$out"
