#!/usr/bin/env bats
# guest_memfd and conversions against vmmload, a VMM without a guest: its own answers (ok or
# errno per call, attempts per conversion, pinned pages, VmPin) are the ground truth. pinscope
# is attached with -p to vmmload's pid before vmmload creates anything (vmmload --defer), so
# other processes' activity on this shared machine cannot crowd the ring buffer.
load helpers

setup() {
	need_root
	[ -w /dev/kvm ] || skip "no /dev/kvm"
	[ -x "$PINSCOPE_TOOLS/vmmload" ] || skip "vmmload not built"
	# Hold /dev/kvm as a VM host's VMMs do: pinscope attaches its guest_memfd syscall hooks at
	# start (src/kvm_gate.h) instead of at vmmload's VM, whose first calls it could miss.
	# The test of that gate closes it.
	exec {KVM_HOLD}</dev/kvm
}

teardown() {
	[ -n "${KVM_HOLD:-}" ] && exec {KVM_HOLD}<&-
	[ -n "${PS_PID:-}" ] && kill -INT "$PS_PID" 2>/dev/null && wait "$PS_PID" 2>/dev/null
	[ -n "${WL_PID:-}" ] && stop_workload
	true
}

# vmmload --defer ARGS on a fifo; sets WL_PID, WL_OUT, VMM_PID (it waits for "start").
start_vmm() {
	local fifo
	fifo=$(mktemp -u "$BATS_TEST_TMPDIR/vmm.in.XXXXXX")
	WL_OUT=$(mktemp "$BATS_TEST_TMPDIR/vmm.out.XXXXXX")
	mkfifo "$fifo"
	"$PINSCOPE_TOOLS/vmmload" --defer "$@" <"$fifo" >"$WL_OUT" 2>&1 &
	WL_PID=$!
	exec 7>"$fifo"
	wait_line "$WL_OUT" 20 '^waiting pid=' || { cat "$WL_OUT"; return 1; }
	VMM_PID=$(sed -n 's/^waiting pid=//p' "$WL_OUT")
}

# Let vmmload build its VM (pinscope is attached by now) and wait for its ready line.
vmm_go() {
	echo start >&7
	wait_line "$WL_OUT" 20 '^ready ' || { cat "$WL_OUT"; return 1; }
	READY_LINE=$(grep -m1 '^ready ' "$WL_OUT")
}

# Python over the report JSON in $PS_OUT
rj() {
	python3 -c "import json,sys; d=json.load(open('$PS_OUT')); $1"
}

@test "every create, bind, allocate, punch and convert call is counted with its errno" {
	start_vmm --pin-pages 8
	start_pinscope report -d 300 -j -p "$VMM_PID"
	vmm_go
	for c in "create 0 3" "create 4096 3" "alloc 4096 1" "alloc 0 2" "bind 2 0x100001000 1 0" \
		"bind 1 0x200000000 16 0" "punch 0 8" "punch 8 8" "convert private 0x100000000 16 7" \
		"convert shared 0x100000000 4 3"; do
		wl_cmd "$c" >/dev/null
	done
	stop_pinscope
	PS_PID=
	# Expected counts from vmmload's own answers: setup made one VM, one guest_memfd, one
	# mmap and one memslot, all ok; then each command line says ok or errno=N.
	python3 - "$WL_OUT" "$PS_OUT" "$VMM_PID" <<'PY'
import errno, json, re, sys
out, rep, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
want = {"vm_create": [1, 1, {}], "create": [1, 1, {}], "bind": [1, 1, {}], "mmap": [1, 1, {}],
        "allocate": [0, 0, {}], "punch_hole": [0, 0, {}], "convert": [0, 0, {}]}
names = {"create": "create", "alloc": "allocate", "bind": "bind", "punch": "punch_hole"}
for line in open(out):
    w = line.split()
    if not w:
        continue
    if w[0] == "convert" and w[1].startswith("attempts="):
        f = dict(x.split("=", 1) for x in w[1:] if "=" in x)
        want["convert"][0] += int(f["attempts"])
        want["convert"][1] += int(f["ok"])
        e = errno.errorcode[int(f["errno"])]
        want["convert"][2][e] = want["convert"][2].get(e, 0) + int(f["failed"])
    elif w[0] in names:
        op = want[names[w[0]]]
        op[0] += 1
        if w[1] == "ok":
            op[1] += 1
        else:
            e = errno.errorcode[int(re.search(r"errno=(\d+)", line).group(1))]
            op[2][e] = op[2].get(e, 0) + 1
d = json.load(open(rep))
p = [p for p in d["gmem"]["processes"] if p["pid"] == pid][0]
got = {k: [v["calls"], v["ok"], v["errors"]] for k, v in p["calls"].items() if k in want}
print("want", want, "\ngot ", got)
assert got == want
# failures of every kind happened, so the comparison is not vacuous
assert want["create"][2] == {"EINVAL": 1} and want["allocate"][2] == {"EINVAL": 1}
assert want["bind"][2] == {"EEXIST": 1, "EINVAL": 1} and want["convert"][2] == {"ENOTTY": 10}
c = d["conversions"]
assert (c["requests"], c["ok"], c["failed"]) == (10, 0, 10), c
PY
}

@test "memslot and guest_memfd file are mapped to the inode vmmload holds" {
	start_vmm --pin-pages 8 --gpa 0x180000000
	start_pinscope report -d 300 -j -p "$VMM_PID"
	vmm_go
	ino=$(stat -L -c %i "/proc/$VMM_PID/fd/$(field "$READY_LINE" gmem_fd)")
	addr=$(field "$READY_LINE" addr)
	stop_pinscope
	PS_PID=
	rj "f=[f for f in d['gmem']['files'] if f['pid']==$VMM_PID]; assert len(f)==1 and f[0]['ino']==$ino and f[0]['size_bytes']==16<<20 and f[0]['flags']=='0x3', f"
	rj "s=[s for s in d['gmem']['memslots'] if s['pid']==$VMM_PID]; assert len(s)==1 and s[0]['gpa']=='0x180000000' and s[0]['ino']==$ino and s[0]['offset_bytes']==0 and int(s[0]['userspace_addr'],16)==$addr, s"
	rj "m=[m for m in d['gmem']['mappings'] if m['pid']==$VMM_PID]; assert len(m)==1 and m[0]['ino']==$ino and int(m[0]['addr'],16)==$addr, m"
}

@test "no VM, no syscall hooks: the seven gated programs wait for KVM's first VM, then the next VM is seen whole" {
	exec {KVM_HOLD}<&-
	KVM_HOLD=
	[ -x "$PINSCOPE_TOOLS/pinload" ] || skip "pinload not built"
	start_pinscope report -d 300 -j
	if grep -q 'hooks attached now: a process holds /dev/kvm or a VM' "$PS_ERR"; then
		skip "another process holds /dev/kvm or a VM: the hooks attach at start"
	fi
	grep -q 'pinscope: KVM: guest_memfd syscall hooks wait for KVM to create a VM' "$PS_ERR"
	# six on syscall tracepoints, and gmem.release's process-exit program with them
	[ "$(grep -c '^pinscope: holding gmem_.* (tracepoint/syscalls/' "$PS_ERR")" -eq 6 ]
	grep -q '^pinscope: holding gmem_proc_exit_tp (tracepoint/sched/sched_process_exit) back until KVM is used$' "$PS_ERR"
	! grep -q '^pinscope: attached .*(tracepoint/syscalls/' "$PS_ERR"
	# A first VM (pinload --mem gmem makes one): KVM's uevent attaches the seven
	out=$(echo exit | "$PINSCOPE_TOOLS/pinload" --mem gmem --bufs 1 --pages 1)
	first=$(field "$(head -1 <<<"$out")" pid)
	wait_line "$PS_ERR" 10 "^pinscope: KVM: pid $first created a VM: 7 held-back programs attached$"
	[ "$(grep -c '^pinscope: attached gmem_.* (tracepoint/syscalls/' "$PS_ERR")" -eq 6 ]
	# The next VM is seen from its first call on
	start_vmm --pin-pages 8 --gpa 0x180000000
	vmm_go
	stop_pinscope
	PS_PID=
	rj "v=[v for v in d['gmem']['vms'] if v['pid']==$VMM_PID]; assert len(v)==1, d['gmem']['vms']"
	rj "f=[f for f in d['gmem']['files'] if f['pid']==$VMM_PID]; assert len(f)==1 and f[0]['size_bytes']==16<<20, f"
	rj "s=[s for s in d['gmem']['memslots'] if s['pid']==$VMM_PID]; assert len(s)==1 and s[0]['gpa']=='0x180000000', s"
}

@test "punch-hole under an io_uring pin: orphaned pages equal the pinned pages, VmPin stays" {
	start_vmm --pin-pages 8 --pin-offset 4
	start_pinscope report -d 300 -j -p "$VMM_PID"
	vmm_go
	pinned=$(field "$READY_LINE" pinned_pages)
	vmpin=$(field "$READY_LINE" vmpin_kb)
	out=$(wl_cmd "punch 0 8") # pages 0..7: pinned 4..11, so 4 orphaned
	[ "$(field "$out" vmpin_kb)" -eq "$vmpin" ]
	out=$(wl_cmd "punch 0 64") # all 8
	[ "$(field "$out" vmpin_kb)" -eq "$vmpin" ]
	stop_pinscope
	PS_PID=
	[ "$pinned" -eq 8 ]
	rj "assert d['gmem']['orphaned_pages']==$pinned, d['gmem']['orphans']"
	rj "o=d['gmem']['orphans']; assert len(o)==1 and o[0]['pid']==$VMM_PID and o[0]['subsystem']=='io_uring' and o[0]['pages']==8 and o[0]['offset_start']=='0x4000' and o[0]['offset_end']=='0xc000' and o[0]['cause']=='punch_hole', o"
	rj "f=[f for f in d['gmem']['files'] if f['pid']==$VMM_PID][0]; assert f['punch_holes']==2 and f['orphaned_pages_total']==8, f"
}

@test "a conversion failing again and again on a pinned range: exactly one stuck alert naming the io_uring holder, one resolution" {
	start_vmm --pin-pages 8
	start_pinscope watch -j -p "$VMM_PID" --retries 3 --stuck-after 1h
	vmm_go
	wl_cmd "convert private 0x100000000 16 10" >/dev/null
	wl_cmd "convert private 0x100000000 16 5" >/dev/null
	wait_line "$PS_OUT" 10 '"event":"stuck"'
	stop_workload
	WL_PID=
	wait_line "$PS_OUT" 10 '"event":"resolved"'
	stop_pinscope
	PS_PID=
	cat "$PS_OUT"
	[ "$(grep -c '"event":"stuck"' "$PS_OUT")" -eq 1 ]
	[ "$(grep -c '"event":"resolved"' "$PS_OUT")" -eq 1 ]
	python3 - "$PS_OUT" "$VMM_PID" <<'PY'
import json, sys
al = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
pid = int(sys.argv[2])
s = [a for a in al if a["event"] == "stuck"][0]
c = s["conversion"]
assert (c["pid"], c["start"], c["pages"], c["direction"]) == (pid, "0x100000000", 16, "to_private"), c
assert (c["attempts"], c["consecutive_failures"], c["last_errno"], c["stuck_reason"]) == (3, 3, "ENOTTY", "retries"), c
b = c["blockers"]
assert len(b) == 1, b
assert (b[0]["pid"], b[0]["comm"], b[0]["subsystem"], b[0]["pages"]) == (pid, "vmmload", "io_uring", 8), b
assert (b[0]["start"], b[0]["end"], b[0]["joined_by"]) == ("0x100000000", "0x100008000", "guest_memfd_offset"), b
assert s["blocked_pages"] == 8 and s["vmpin_kb"] == 32 and s["attributed_kb"] == 32, s
r = [a for a in al if a["event"] == "resolved"][0]["conversion"]
assert (r["id"], r["outcome"], r["attempts"], r["failures"]) == (c["id"], "abandoned", 15, 15), r
PY
}

@test "stuck by time: one failed attempt, alert after --stuck-after, in the text line too" {
	start_vmm --pin-pages 4
	start_pinscope watch -p "$VMM_PID" --retries 0 --stuck-after 300ms
	vmm_go
	t0=$(date +%s%N)
	wl_cmd "convert private 0x100000000 2 1" >/dev/null
	wait_line "$PS_ERR" 10 'ALERT stuck conversion'
	t1=$(date +%s%N)
	[ $(((t1 - t0) / 1000000)) -ge 250 ]
	line=$(grep 'ALERT stuck conversion' "$PS_ERR")
	echo "$line"
	[[ "$line" == *"vmmload[$VMM_PID] gpa 0x100000000+2 pages to private (KVM_SET_MEMORY_ATTRIBUTES): 1 attempts, 1 failed (last ENOTTY)"* ]]
	[[ "$line" == *"stuck (time)"* ]]
	[[ "$line" == *"pinned by: vmmload[$VMM_PID] io_uring 2 pages 0x100000000-0x100002000"* ]]
	[ "$(grep -c 'ALERT' "$PS_ERR")" -eq 1 ]
}

@test "--exec runs PROG without a shell with the alert in its environment; --exit-on-alert exits 3" {
	prog="$BATS_TEST_TMPDIR/on alert.sh" # a space: a shell would split it
	cat >"$prog" <<EOF
#!/bin/sh
env | grep '^PINSCOPE_' | grep -v '^PINSCOPE_JSON=' >"$BATS_TEST_TMPDIR/env.\$1"
EOF
	chmod +x "$prog"
	start_vmm --pin-pages 8
	"$PINSCOPE" watch -p "$VMM_PID" --retries 2 --exec "$prog" --exit-on-alert -v \
		>"$BATS_TEST_TMPDIR/w.out" 2>"$BATS_TEST_TMPDIR/w.err" &
	PS_PID=$!
	wait_line "$BATS_TEST_TMPDIR/w.err" 30 'pinscope: ready'
	vmm_go
	wl_cmd "convert private 0x100000000 8 4" >/dev/null
	rc=0
	wait "$PS_PID" || rc=$?
	PS_PID=
	[ "$rc" -eq 3 ]
	env=$BATS_TEST_TMPDIR/env.stuck
	cat "$env"
	grep -qx 'PINSCOPE_EVENT=stuck' "$env"
	grep -qx "PINSCOPE_CONV_PID=$VMM_PID" "$env"
	grep -qx 'PINSCOPE_CONV_LAST_ERRNO=ENOTTY' "$env"
	grep -qx 'PINSCOPE_CONV_ATTEMPTS=2' "$env"
	grep -qx 'PINSCOPE_BLOCKERS=1' "$env"
	grep -qx "PINSCOPE_BLOCKER1_PID=$VMM_PID" "$env"
	grep -qx 'PINSCOPE_BLOCKER1_SUBSYSTEM=io_uring' "$env"
	grep -qx 'PINSCOPE_BLOCKER1_PAGES=8' "$env"
	grep -qx 'PINSCOPE_BLOCKED_PAGES=8' "$env"
	[ ! -e "$BATS_TEST_TMPDIR/env.resolved" ] # it exited at the alert
}

@test "--dump-dir: each stuck alert names a flight-recorder dump that report reads back" {
	start_vmm --pin-pages 8
	start_pinscope watch -j -p "$VMM_PID" --retries 2 --dump-dir "$BATS_TEST_TMPDIR"
	vmm_go
	wl_cmd "convert private 0x100000000 8 2" >/dev/null
	wl_cmd "convert shared 0x100000000 4 2" >/dev/null
	wait_line "$PS_OUT" 10 '"seq":2,'
	stop_pinscope
	PS_PID=
	cat "$PS_OUT"
	[ "$(grep -c '"event":"stuck"' "$PS_OUT")" -eq 2 ]
	dumps=$(python3 -c "import json; print(' '.join(json.loads(l)['dump'] for l in open('$PS_OUT')))")
	read -r d1 d2 <<<"$dumps"
	[[ "$d1" == "$BATS_TEST_TMPDIR"/pinscope-alert-*-1.pstrace ]]
	[[ "$d2" == "$BATS_TEST_TMPDIR"/pinscope-alert-*-2.pstrace ]]
	[ -s "$d1" ] && [ -s "$d2" ]
	# The first dump holds the two failed attempts that made the first alert, and the pin.
	run "$PINSCOPE" report "$d1" -j
	[ "$status" -eq 0 ]
	echo "$output" >"$BATS_TEST_TMPDIR/r1.json"
	PS_OUT=$BATS_TEST_TMPDIR/r1.json
	rj "c=d['conversions']; assert (c['requests'], c['failed']) == (2, 2), c"
	rj "p=[p for p in d['gmem']['processes'] if p['pid']==$VMM_PID][0]; assert p['calls']['convert']['errors']=={'ENOTTY': 2}, p"
	rj "assert [h['pinned_pages'] for h in d['holders'] if h['pid']==$VMM_PID]==[8], d['holders']"
}

@test "watch usage errors exit 2 with one line naming the option" {
	run "$PINSCOPE" watch --retries many
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "pinscope: watch: --retries: 'many' is not a count up to 1000000" ]
	run "$PINSCOPE" watch --stuck-after soon
	[ "$status" -eq 2 ]
	run "$PINSCOPE" watch --exec /no/such/prog
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == "pinscope: watch: --exec: '/no/such/prog': No such file or directory" ]]
	run "$PINSCOPE" watch --dump-dir /no/such/dir
	[ "$status" -eq 2 ]
	run "$PINSCOPE" watch --dump-window 10s
	[ "$status" -eq 2 ]
	run "$PINSCOPE" watch --help
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "Usage: pinscope watch"* ]]
}

@test "probes: guest_memfd and conversion hooks take the syscall tier here, say why not better and when they attach" {
	run "$PINSCOPE" probes -j
	[ "$status" -eq 0 ]
	echo "$output" >"$BATS_TEST_TMPDIR/p.json"
	PS_OUT=$BATS_TEST_TMPDIR/p.json
	fentry=$(rj "print(d['program_types']['fentry']['ok'])")
	grep -q ' kvm_gmem_mmap$' /proc/kallsyms || skip "this kernel has no guest_memfd"
	for h in gmem.create gmem.bind gmem.mmap gmem.fallocate gmem.release conv.request conv.fault_exit; do
		tier=$(rj "print([h['tier'] for h in d['hooks'] if h['hook']=='$h'][0])")
		if [ "$fentry" = False ]; then [ "$tier" = syscall ]; fi
		# the syscall tier waits for KVM to be used (src/kvm_gate.h)
		if [ "$tier" = syscall ]; then
			rj "assert [h for h in d['hooks'] if h['hook']=='$h'][0]['attached'].endswith('else when KVM creates the first VM')"
		fi
	done
	# No kernel here has a guest_memfd conversion ioctl
	if ! grep -q ' kvm_gmem_ioctl$' /proc/kallsyms; then
		[ "$(rj "print([h['tier'] for h in d['hooks'] if h['hook']=='conv.gmem'][0])")" = unavailable ]
	fi
}
