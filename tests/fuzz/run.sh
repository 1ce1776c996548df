#!/usr/bin/env bash
# Build the trace-reader fuzz target with clang's libFuzzer (+ASan, UBSan) and run it.
#   tests/fuzz/run.sh [SECONDS] [SEED_FILE...]
# Seeds (real recordings) go into a fresh corpus under .output/fuzz. Prints one TAP line.
# Exit 0 when the fuzzer found nothing; 77 when clang cannot build fuzz targets at all; 1 on a
# crash or when ours does not build.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-10}
shift || true
out=.output/fuzz
mkdir -p "$out/corpus" "$out/crashes"
bin=$out/fuzz_trace_reader
srcs=(tests/fuzz/fuzz_trace_reader.c src/trace_read.c src/trace_fmt.c src/trace_meta.c
	src/decode.c src/util.c src/tbuf.c src/tier.c src/zblock.c)
# Can clang build a libFuzzer target at all? Only then is a failed build of ours a failure.
probe=$out/probe
printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
	'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
	>"$probe.c"
if ! clang -fsanitize=fuzzer,address,undefined "$probe.c" -o "$probe" 2>"$out/build.log"; then
	cat "$out/build.log" >&2
	echo "ok 1 - trace reader fuzzing # skip clang cannot build libFuzzer targets here"
	exit 77
fi
if ! clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -DPS_VERSION='"fuzz"' -DPS_GIT_REV='"fuzz"' \
	-Isrc -Ibpf "${srcs[@]}" -lz -o "$bin" 2>"$out/build.log"; then
	cat "$out/build.log" >&2
	echo "not ok 1 - trace reader fuzzing: the fuzz target does not build (see above)"
	exit 1
fi
for s in "$@"; do
	cp -- "$s" "$out/corpus/"
done
if "$bin" -max_total_time="$secs" -timeout=5 -rss_limit_mb=1024 -max_len=65536 \
	-artifact_prefix="$out/crashes/" "$out/corpus" >"$out/fuzz.log" 2>&1; then
	runs=$(grep -o 'Done [0-9]* runs' "$out/fuzz.log" | grep -o '[0-9]*' || echo "?")
	echo "ok 1 - trace reader fuzzing: $runs inputs in ${secs}s, no crash"
else
	tail -40 "$out/fuzz.log" >&2
	echo "not ok 1 - trace reader fuzzing: crash saved in $out/crashes"
	exit 1
fi
