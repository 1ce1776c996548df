#!/usr/bin/env bash
# Regenerate vmlinux/<arch>/vmlinux.h from the running kernel's BTF. The header is checked in so
# that a build never needs the build host's BTF; it is named for the kernel it came from.
set -euo pipefail
dir=$1
btf=${BTF:-/sys/kernel/btf/vmlinux}
[ -r "$btf" ] || { echo "gen-vmlinux: $btf not readable: this kernel has no BTF (CONFIG_DEBUG_INFO_BTF)" >&2; exit 1; }
rel=$(uname -r | sed -E 's/^([0-9]+)\.([0-9]+).*/\1\2/')
mkdir -p "$dir"
bpftool btf dump file "$btf" format c > "$dir/vmlinux_$rel.h.tmp"
mv "$dir/vmlinux_$rel.h.tmp" "$dir/vmlinux_$rel.h"
ln -sf "vmlinux_$rel.h" "$dir/vmlinux.h"
echo "gen-vmlinux: $dir/vmlinux_$rel.h from $(uname -r)"
