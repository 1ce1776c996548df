# shellcheck shell=bash
# Helpers shared by the guest-tier scripts in tools/vm/. Source it; it defines
# functions and a few variables only.

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC2034 # used by the scripts that source this
REPO_DIR=$(cd "$VM_DIR/../.." && pwd)
# shellcheck disable=SC2034
VM_CACHE=${PINSCOPE_VM_CACHE:-/var/cache/pinscope-vm}

# die MSG...: one error line prefixed with the script name, exit 1.
die() {
	echo "${0##*/}: $*" >&2
	exit 1
}

# vm_kernel_dir KDIR: check that KDIR looks like a kernel unpacked by
# fetch-kernel.sh (vmlinuz, config, release, modules/).
vm_kernel_dir() {
	local k=$1
	[[ -f $k/vmlinuz && -f $k/release && -d $k/modules ]] ||
		die "$k: not a kernel directory from fetch-kernel.sh"
}

# vm_modules KDIR NAME...: print, one per line and in load order, the paths of
# uncompressed .ko files for the modules NAME and everything they depend on
# (from modules.dep). Compressed modules are decompressed once into KDIR/ko/.
vm_modules() {
	local kdir=$1
	local mods=$kdir/modules
	shift
	local -A path=() seen=()
	local -a order=()
	local line mod name

	[[ -f $mods/modules.dep ]] || die "$mods/modules.dep: missing"
	# name -> "path: deps..." from modules.dep
	local -A dep=()
	while IFS= read -r line; do
		mod=${line%%:*}
		name=${mod##*/}
		name=${name%%.ko*}
		name=${name//-/_}
		path[$name]=$mod
		dep[$name]=${line#*:}
	done <"$mods/modules.dep"

	_vm_visit() {
		local n=${1//-/_} d dn
		[[ -n ${seen[$n]:-} ]] && return 0
		[[ -n ${path[$n]:-} ]] ||
			die "module $n: not in $mods/modules.dep"
		seen[$n]=1
		for d in ${dep[$n]}; do
			dn=${d##*/}
			dn=${dn%%.ko*}
			_vm_visit "$dn"
		done
		order+=("$n")
	}
	for name in "$@"; do
		_vm_visit "$name"
	done

	mkdir -p "$kdir/ko"
	for name in "${order[@]}"; do
		local src=$mods/${path[$name]} dst=$kdir/ko/$name.ko
		if [[ ! -s $dst ]]; then
			case $src in
			*.ko.xz) xz -dc "$src" >"$dst.tmp" ;;
			*.ko.zst) zstd -qdc "$src" >"$dst.tmp" ;;
			*.ko.gz) gzip -dc "$src" >"$dst.tmp" ;;
			*.ko) cp "$src" "$dst.tmp" ;;
			*) die "$src: unknown module format" ;;
			esac || die "$src: decompress failed"
			mv "$dst.tmp" "$dst"
		fi
		echo "$dst"
	done
}
