#!/usr/bin/env bats
# pinscope probes tells the truth about this kernel.
load helpers

setup() {
	need_root
}

@test "probes picks a tier for every pin hook and says why the better ones were refused" {
	run "$PINSCOPE" probes
	[ "$status" -eq 0 ]
	[[ "$output" == *"pin.acquire"* ]]
	[[ "$output" == *"pin.release"* ]]
	# What this kernel allows, checked against the kernel itself:
	if [ -e /sys/bus/event_source/devices/kprobe ]; then
		[[ "$output" == *"kprobe PMU present"* ]]
	else
		[[ "$output" == *"kprobe: no kprobe PMU (CONFIG_KPROBES off)"* ]]
	fi
}

@test "probes -j is valid JSON and agrees with a hand-made fentry load" {
	run "$PINSCOPE" probes -j
	[ "$status" -eq 0 ]
	echo "$output" >"$BATS_TEST_TMPDIR/p.json"
	fentry_ok=$(json_get "$BATS_TEST_TMPDIR/p.json" "d['program_types']['fentry']['ok']")
	# Load an fentry program by hand with bpftool: the same answer must come out.
	cat >"$BATS_TEST_TMPDIR/f.bpf.c" <<'C'
__attribute__((section("fentry/do_nanosleep"), used)) int f(void *ctx) { return 0; }
char _license[] __attribute__((section("license"), used)) = "GPL";
C
	clang -O2 -target bpf -c "$BATS_TEST_TMPDIR/f.bpf.c" -o "$BATS_TEST_TMPDIR/f.o"
	mkdir -p /sys/fs/bpf
	if bpftool prog load "$BATS_TEST_TMPDIR/f.o" /sys/fs/bpf/ps_probe_test 2>/dev/null; then
		by_hand=True
		rm -f /sys/fs/bpf/ps_probe_test
	else
		by_hand=False
	fi
	[ "$fentry_ok" = "$by_hand" ]
	tier=$(json_get "$BATS_TEST_TMPDIR/p.json" "[h['tier'] for h in d['hooks'] if h['hook']=='pin.acquire'][0]")
	if [ "$by_hand" = False ]; then
		[ "$tier" != fentry ]
	fi
}

@test "on a kernel that refuses fentry and kprobes, pins fall back to the io_uring raw tracepoint" {
	[ ! -e /sys/bus/event_source/devices/kprobe ] || skip "this kernel has kprobes"
	run "$PINSCOPE" probes -j
	echo "$output" >"$BATS_TEST_TMPDIR/p.json"
	[ "$(json_get "$BATS_TEST_TMPDIR/p.json" "d['program_types']['fentry']['ok']")" = False ] ||
		skip "this kernel allows fentry"
	tier=$(json_get "$BATS_TEST_TMPDIR/p.json" "[h['tier'] for h in d['hooks'] if h['hook']=='pin.acquire'][0]")
	[ "$tier" = raw_tp ]
	# Two raw tracepoint programs: the one that reads through bpf_rdonly_cast where the kernel
	# has the kfunc, else the one that reads with probe reads.
	cast=False prog=pins_uring_reg_raw
	if grep -q ' bpf_rdonly_cast$' /proc/kallsyms; then
		cast=True prog=pins_uring_reg_cast
	fi
	tried=$(json_get "$BATS_TEST_TMPDIR/p.json" "','.join(t['tier']+':'+str(t['ok']) for h in d['hooks'] if h['hook']=='pin.acquire' for t in h['tried'])")
	[ "$tried" = "fentry:False,kprobe:False,raw_tp:$cast,raw_tp:True,syscall:True,procfs:True" ]
	for hook in pin.acquire pin.release; do
		[ "$(json_get "$BATS_TEST_TMPDIR/p.json" "[h['programs'] for h in d['hooks'] if h['hook']=='$hook'][0]")" = "$prog" ]
	done
}

@test "PINSCOPE_TIER=syscall leaves the function tiers untried and says so" {
	PINSCOPE_TIER=syscall run "$PINSCOPE" probes -j
	[ "$status" -eq 0 ]
	echo "$output" >"$BATS_TEST_TMPDIR/p.json"
	tier=$(json_get "$BATS_TEST_TMPDIR/p.json" "[h['tier'] for h in d['hooks'] if h['hook']=='pin.acquire'][0]")
	[ "$tier" = syscall ]
	why=$(json_get "$BATS_TEST_TMPDIR/p.json" "[t['why'] for h in d['hooks'] if h['hook']=='pin.acquire' for t in h['tried'] if t['tier']=='fentry'][0]")
	[ "$why" = "not tried: PINSCOPE_TIER=syscall" ]
}

@test "probes loads the chosen programs; a refused bpf_rdonly_cast program shows where it failed, its twin chosen" {
	grep -q ' bpf_rdonly_cast$' /proc/kallsyms || skip "no bpf_rdonly_cast here: the twins are chosen anyway"
	run "$PINSCOPE" probes
	[ "$status" -eq 0 ]
	[[ "$output" == *"load: ok: the chosen programs passed the verifier; "*" attached (inert until a session starts)"* ]]
	PINSCOPE_FAULT=cast-load "$PINSCOPE" probes -j >"$BATS_TEST_TMPDIR/p.json" 2>"$BATS_TEST_TMPDIR/p.err"
	cat "$BATS_TEST_TMPDIR/p.err"
	grep -q "^pinscope: warning: loading BPF programs (PINSCOPE_FAULT=cast-load): Permission denied: loading the programs that read with probes instead of bpf_rdonly_cast$" "$BATS_TEST_TMPDIR/p.err"
	[ "$(json_get "$BATS_TEST_TMPDIR/p.json" "d['load']['ok']")" = True ]
	# the cast implementation is marked as failed at load, the probe-read twin chosen
	for hook in pin.acquire pin.release; do
		[ "$(json_get "$BATS_TEST_TMPDIR/p.json" "[h['programs'] for h in d['hooks'] if h['hook']=='$hook'][0]")" = pins_uring_reg_raw ]
		[ "$(json_get "$BATS_TEST_TMPDIR/p.json" "[t['why'] for h in d['hooks'] if h['hook']=='$hook' for t in h['tried'] if t.get('programs')=='pins_uring_reg_cast'][0]")" = "load failed: loading BPF programs (PINSCOPE_FAULT=cast-load): Permission denied" ]
	done
}
