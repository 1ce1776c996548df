#!/usr/bin/env bash
# Recorder writer benchmark: events/s the writer sustains and deflated bytes per event, on a
# synthetic io_uring-shaped event stream through the real writer and reader (not a live run).
#   tools/bench/trace-writer.sh [EVENTS]      (default 2000000; builds with `make` first)
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-2000000}
make -s .output/pinscope >/dev/null
out=.output/bench
mkdir -p "$out"
objs=()
for o in .output/src/*.o; do
	[ "$o" = .output/src/main.o ] || objs+=("$o")
done
gcc -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -Isrc -Ibpf -I.output/bpf \
	tools/bench/trace_writer_bench.c "${objs[@]}" -lbpf -lelf -lz -lpthread \
	-o "$out/trace_writer_bench"
file=$(mktemp "${TMPDIR:-/tmp}/pinscope-bench.XXXXXX")
trap 'rm -f "$file"' EXIT
for level in 1 6; do
	"$out/trace_writer_bench" "$file" "$n" "$level"
done
