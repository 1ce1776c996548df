#!/usr/bin/env bash
# Build a libFuzzer target (+ASan, UBSan) and run it.
#   tests/fuzz/run.sh [-t TARGET] [SECONDS] [SEED_FILE...]
# TARGET: trace_reader (default: any bytes read as a recording), report (any bytes replayed as a
# recording and printed as `report FILE` would, text and JSON) or events (records of every type
# with any contents through decode, the aggregate and both reports).
# Seeds (real recordings) and tests/fuzz/seeds/TARGET go into the corpus under
# .output/fuzz/TARGET. Prints one TAP line.
# Exit 0 when the fuzzer found nothing; 77 when clang cannot build fuzz targets at all; 1 on a
# crash or when ours does not build.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=trace_reader
if [ "${1:-}" = -t ]; then
	target=$2
	shift 2
fi
secs=${1:-10}
shift || true
reader=(src/trace_read.c src/trace_fmt.c src/trace_meta.c src/decode.c src/util.c src/tbuf.c
	src/tier.c src/zblock.c)
pipeline=(src/replay.c src/agg.c src/agg_*.c src/report.c src/report_*.c src/rows.c
	src/cgname.c src/hist.c src/htab.c src/json.c src/symtab.c src/symbolize.c src/conv_fmt.c
	src/log.c)
case $target in
trace_reader) srcs=("${reader[@]}") what="trace reader" libs=(-lz) ;;
report) srcs=("${reader[@]}" "${pipeline[@]}") what="report of a recording" libs=(-lelf -lz) ;;
events) srcs=("${reader[@]}" "${pipeline[@]}") what="aggregate and reports of any records" libs=(-lelf -lz) ;;
*)
	echo "run.sh: unknown target '$target' (trace_reader, report, events)" >&2
	exit 2
	;;
esac
out=.output/fuzz/$target
mkdir -p "$out/corpus" "$out/crashes"
bin=$out/fuzz_$target
probe=$out/probe
printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
	'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
	>"$probe.c"
if ! clang -fsanitize=fuzzer,address,undefined "$probe.c" -o "$probe" 2>"$out/build.log"; then
	cat "$out/build.log" >&2
	echo "ok 1 - $what fuzzing # skip clang cannot build libFuzzer targets here"
	exit 77
fi
if ! clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -DPS_VERSION='"fuzz"' -DPS_GIT_REV='"fuzz"' \
	-Isrc -Ibpf "tests/fuzz/fuzz_$target.c" "${srcs[@]}" "${libs[@]}" -o "$bin" \
	2>"$out/build.log"; then
	cat "$out/build.log" >&2
	echo "not ok 1 - $what fuzzing: the fuzz target does not build (see above)"
	exit 1
fi
# Inputs that once found a bug (tests/fuzz/seeds/TARGET) run first, every time.
for s in tests/fuzz/seeds/"$target"/* "$@"; do
	[ -f "$s" ] && cp -- "$s" "$out/corpus/"
done
# -close_fd_mask=2: the target's own stderr (a damaged recording's one-line warnings) is closed;
# libFuzzer still reports there.
if "$bin" -max_total_time="$secs" -timeout=5 -rss_limit_mb=1024 -max_len=65536 -len_control=0 -close_fd_mask=2 \
	-artifact_prefix="$out/crashes/" "$out/corpus" >"$out/fuzz.log" 2>&1; then
	runs=$(grep -o 'Done [0-9]* runs' "$out/fuzz.log" | grep -o '[0-9]*' || echo "?")
	echo "ok 1 - $what fuzzing: $runs inputs in ${secs}s, no crash"
else
	tail -40 "$out/fuzz.log" >&2
	echo "not ok 1 - $what fuzzing: crash saved in $out/crashes"
	exit 1
fi
