#!/usr/bin/env bash
# The whole test suite: every group prints TAP; this sums them and ends with one line
# "N passed, N failed, N skipped". Exits non-zero when anything failed.
#   PINSCOPE_SKIP_GUEST=1   skip the QEMU guest tier (it is run by default)
#   TESTS="unit cli"        run only these groups
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$root/.output/test-results
mkdir -p "$out"

passed=0 failed=0 skipped=0

# Count one group's TAP; a group that died without TAP counts as one failure.
tally() {
	local name=$1 file=$2 rc=$3 p f s
	p=$(grep -cE '^ok ' "$file" | tr -d ' ')
	s=$(grep -cE '^ok .*# (skip|SKIP)' "$file" | tr -d ' ')
	f=$(grep -cE '^not ok ' "$file" | tr -d ' ')
	p=$((p - s))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $name: exited $rc without a failing test (see $file)"
		f=1
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	echo "# $name: $p passed, $f failed, $s skipped"
}

run_group() {
	local name=$1
	shift
	case " ${TESTS:-build unit format cli guest swvm gmem} " in *" $name "*) ;; *) return 0 ;; esac
	echo "# ---- $name"
	"$@" 2>&1 | tee "$out/$name.tap"
	tally "$name" "$out/$name.tap" "${PIPESTATUS[0]}"
}

build() {
	if ! make -s -j"$(nproc)" asan >"$out/build.log" 2>&1; then
		cat "$out/build.log"
		echo "not ok 1 - build (ASan+UBSan)"
		return 1
	fi
	echo "ok 1 - build (ASan+UBSan)"
}

format() {
	if make -s check-format >"$out/format.log" 2>&1; then
		echo "ok 1 - clang-format clean"
	else
		head -20 "$out/format.log"
		echo "not ok 1 - clang-format clean (run 'make format')"
	fi
}

export PINSCOPE="$root/.output/asan/pinscope"
export PINSCOPE_TOOLS="$root/.output/asan/tools"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_group build build
run_group unit "$root/.output/asan/tests/unit"
run_group format format
run_group cli bats --tap tests/cli
if [ "${PINSCOPE_SKIP_GUEST:-0}" = 1 ]; then
	for g in guest swvm gmem; do
		echo "# ---- $g"
		echo "ok 1 - $g tier # skip PINSCOPE_SKIP_GUEST=1" | tee "$out/$g.tap"
		tally $g "$out/$g.tap" 0
	done
else
	run_group guest tests/guest/run.sh
	# Real conversions: a kernel built from linux-source-6.12 (cached; ~7 min the first time).
	run_group swvm tests/guest/swvm/run.sh
	# pinscope report and watch on those real conversions (the same cached kernel).
	run_group gmem tests/guest/gmem/run.sh
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
