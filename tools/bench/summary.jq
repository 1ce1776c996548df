# bench.json from the runs: medians per workload and mode, slowdowns paired inside a round (the
# untraced run of the same round is the reference, so drift between rounds cancels), the targets.
# Inputs: $meta (object), $runs (one object per run), $top ([object or null]), $progs.

def median: sort | if length == 0 then null
	elif length % 2 == 1 then .[(length - 1) / 2]
	else (.[length / 2 - 1] + .[length / 2]) / 2 end;
def pct(p): sort | if length == 0 then null else .[((length - 1) * p) | round] end;
def maxn: if length == 0 then null else max end;
def minn: if length == 0 then null else min end;
# The tracer's events of the timed run: it also saw the untimed warm-up (a tenth as long).
def events: if .tracer.events == null then null
	else .tracer.events * .iterations / (.iterations + (.warmup_iterations // 0)) end;

($runs | map(select(.error == null and .ops_per_s != null))) as $ok |
# What bpf_stats adds to every program run it measures (two clock reads around it), as the floor
# mode's empty raw tracepoint programs measured it: ns per run over all their runs, so the hot
# tracepoints (a million runs) weigh, not the rare ones, whose cold runs measure more. A VM's
# clock can make it most of what a small program measures.
([$progs[] | select(.mode == "floor") | .programs[] |
	select(.type == "raw_tracepoint" and .run_cnt > 0)] |
	if length == 0 then null
	else (map(.run_time_ns) | add) / (map(.run_cnt) | add) end) as $stats_ns |
def summarise($w):
	($ok | map(select(.workload == $w))) as $wr |
	($wr | map(select(.mode == "base")) | map({key: (.round | tostring), value: .}) |
		from_entries) as $base |
	($wr | map(select(.mode == "base") | .ns / .ops) | median) as $base_ns |
	[$meta.config.modes[] as $m | ($wr | map(select(.mode == $m))) as $mr |
		($mr | map(select($base[.round | tostring]) |
			{run: ., b: $base[.round | tostring]})) as $pairs |
		($pairs | map((.b.ops_per_s / .run.ops_per_s - 1) * 100)) as $slow |
		# the same from the workload's CPU time per operation: blind to waiting for a CPU, so
		# steadier on a loaded machine, but it misses costs paid in other tasks
		($pairs | map(select(.b.workload_cpu_ns > 0) | ((.run.workload_cpu_ns / .run.ops) /
			(.b.workload_cpu_ns / .b.ops) - 1) * 100)) as $cslow |
		($mr | map(select(.tracer != null))) as $tr |
		# BPF run time per operation, from the bpf_stats run of this mode (not a timed run)
		([$progs[] | select(.workload == $w and .mode == $m and (.ops // 0) > 0)] | first //
			null) as $ps |
		(if $ps then ($ps.programs | map(.run_time_ns) | add // 0) / $ps.ops else null end)
			as $bpf |
		(if $ps then ($ps.programs | map(.run_cnt) | add // 0) / $ps.ops else null end)
			as $bpf_runs |
		# the same without bpf_stats' own cost: what the programs themselves take. Below 0, the
		# floor's runs measured more each than this mode's (a machine in another state between
		# the two bpf_stats runs): no net figure then, the raw one is judged (the floor's own
		# is 0 by definition)
		(if $bpf == null or $stats_ns == null then null
		 else ($bpf - $bpf_runs * $stats_ns) as $n |
			if $n >= 0 then $n elif $m == "floor" then 0 else null end end) as $net |
		{mode: $m, runs: ($mr | length), pairs: ($pairs | length),
		 ops_per_s: ($mr | map(.ops_per_s) | median),
		 ipis_per_op: ($mr | map(select(.ipis != null and .ops > 0) | .ipis / .ops) | median),
		 bpf_ns_per_op: $bpf,
		 bpf_pct_of_op: (if $bpf == null or ($base_ns // 0) <= 0 then null
			else $bpf / $base_ns * 100 end),
		 bpf_runs_per_op: $bpf_runs,
		 bpf_stats_ns_per_run: $stats_ns,
		 bpf_net_ns_per_op: $net,
		 bpf_net_pct_of_op: (if $net == null or ($base_ns // 0) <= 0 then null
			else $net / $base_ns * 100 end),
		 slowdown_pct: (if $m == "base" then null else $slow | median end),
		 slowdown_pct_p25: (if $m == "base" then null else $slow | pct(0.25) end),
		 slowdown_pct_p75: (if $m == "base" then null else $slow | pct(0.75) end),
		 cpu_ns_per_op: ($mr | map(.workload_cpu_ns / .ops) | median),
		 cpu_slowdown_pct: (if $m == "base" then null else $cslow | median end),
		 events_per_s: ($tr | map(select(.tracer.events != null) | events * 1e9 / .ns) |
			median),
		 events_per_op: ($tr | map(select(.tracer.events != null) | events / .ops) | median),
		 extra_ns_per_event: ($pairs | map(select((.run | events // 0) >= .run.ops / 2) |
			(.run.ns / .run.ops - .b.ns / .b.ops) / ((.run | events) / .run.ops)) |
			median),
		 lost: (if ($tr | length) == 0 then null
			elif ($tr | any(.tracer.lost == null)) then null
			else ($tr | map(.tracer.lost) | add) end),
		 tracer_cpu_pct: ($tr | map(.tracer.cpu_ns / .wall_ns * 100) | median),
		 tracer_user_pct: ($tr | map(.tracer.user_ns / .wall_ns * 100) | median),
		 tracer_sys_pct: ($tr | map(.tracer.sys_ns / .wall_ns * 100) | median),
		 peak_rss_kb: ($tr | map(.tracer.peak_rss_kb) | maxn),
		 rss_kb: ($tr | map(.tracer.rss_kb // 0) | maxn),
		 ready_ms: ($tr | map(.tracer.ready_ms) | median),
		 others_cores: ($mr | map(.load.others_cores) | median),
		 others_cores_max: ($mr | map(.load.others_cores) | maxn),
		 steal_cores: ($mr | map(.load.steal_cores) | median),
		 idle_timeouts: ($mr | map(select(.load.idle_timed_out)) | length),
		 foreign_pin_runs: ($mr | map(select((.load.foreign_pin_pages // 0) > 0)) | length)}];

def mode($s; $m): $s.modes[] | select(.mode == $m);

# How well a mode's median slowdown is known: 2 standard errors, from the spread of the middle
# half as for a normal spread (null where the run cannot say).
def margin($m):
	if $m.slowdown_pct == null or $m.slowdown_pct_p25 == null or ($m.pairs // 0) < 1 then null
	else 2 * 1.2533 * ($m.slowdown_pct_p75 - $m.slowdown_pct_p25) / 1.349 / ($m.pairs | sqrt) end;

# Is median slowdown $v (known to +-$e) at most $lim? true only if its upper bound is, false only
# if its lower bound is above, null where the run cannot tell.
def settled($v; $e; $lim):
	if $v == null then false elif $e == null then $v <= $lim
	elif $v + $e <= $lim then true elif $v - $e > $lim then false else null end;

def unsettled_note($e; $m; $what):
	"not judged: the median is known to +-\($e * 10 | round / 10) points (2 standard errors from p25..p75 over \($m.pairs) pairs), too wide for \($what)";

[$meta.config.workloads[] as $w |
	{workload: $w, what: $meta.workloads[$w].what, op: $meta.workloads[$w].op,
	 modes: summarise($w)}] as $summary |
($top[0]) as $topc |
{"uring": 2, "sched": 2, "tlb": 1} as $limit |
[
	($summary[] | select($limit[.workload]) as $s | $s |
		(mode($s; "live") // null) as $l | (mode($s; "bpftrace") // null) as $b |
		# shootdowns that never happen (a hypervisor that flushes other vCPUs without IPIs)
		# cost nothing to trace: the shootdown workload's targets cannot be judged there
		((mode($s; "base") // {}).ipis_per_op) as $ipo |
		($s.workload == "tlb" and $ipo != null and $ipo < 0.01) as $noshoot |
		(mode($s; "floor") // null) as $f |
		((
		(if $l then $limit[$s.workload] as $lim | margin($l) as $e |
			{target: "\($s.workload): pinscope live slowdown <= \($lim)%", value: $l.slowdown_pct,
			 met: settled($l.slowdown_pct; $e; $lim), margin: $e} |
			if .met == null then .note = unsettled_note($e; $l; "\($lim)%")
			# a target below what empty programs on the same tracepoints cost, settled
			elif .met == false and $f and settled($f.slowdown_pct; margin($f); $lim) == false then
				.note = "the floor alone, +\($f.slowdown_pct * 10 | round / 10)% +-\(margin($f) * 10 | round / 10), is above \($lim)%: no program on these tracepoints meets it on this machine"
			else . end
		 else empty end),
		(if $l and $f and $l.slowdown_pct != null and $f.slowdown_pct != null then
			{target: "\($s.workload): (information) empty programs on the same tracepoints (floor) cost \($f.slowdown_pct * 10 | round / 10)%; pinscope live's slowdown above the floor's",
			 value: ($l.slowdown_pct - $f.slowdown_pct), met: null}
		 else empty end),
		# BPF run time: net of bpf_stats' own cost where the floor measured it, else as measured
		(if $l and $l.bpf_net_ns_per_op != null then "net" else "raw" end) as $kind |
		(if $kind == "net" then "bpf_net_ns_per_op" else "bpf_ns_per_op" end) as $k |
		(if $kind == "net" then "bpf_net_pct_of_op" else "bpf_pct_of_op" end) as $kp |
		(if $kind == "net" then ", less its own \($l.bpf_stats_ns_per_run | round) ns per run" else "" end) as $how |
		(if $l and $l[$kp] != null then
			{target: "\($s.workload): pinscope live BPF run time per operation (bpf_stats\($how)) <= \($limit[$s.workload])% of the untraced operation",
			 value: $l[$kp], met: ($l[$kp] <= $limit[$s.workload])}
		 else empty end),
		(if $l and $b and $l[$k] != null and $b[$k] != null then
			{target: "\($s.workload): bpftrace BPF run time per operation >= 10x pinscope live's (bpf_stats\($how); a classic tracepoint's record, filled before the program runs, is not in bpftrace's)",
			 value: (if $l[$k] > 0 then $b[$k] / $l[$k] else null end),
			 met: ($l[$k] == 0 or $b[$k] / $l[$k] >= 10)}
		 else empty end),
		(mode($s; "local") // null) as $x |
		(if $x then {target: "\($s.workload): (information) pinscope live --tlb-local slowdown (tlb_flush attached, as in the bpftrace script)",
			value: $x.slowdown_pct, met: null}
		 else empty end),
		(if $x and $b and ($x.slowdown_pct // 0) > 0 then
			{target: "\($s.workload): (information) bpftrace slowdown / pinscope live --tlb-local's",
			 value: ($b.slowdown_pct / $x.slowdown_pct), met: null}
		 else empty end),
		(if $l and $b then {target: "\($s.workload): bpftrace slowdown >= 10x pinscope live's",
			value: (if ($l.slowdown_pct // 0) > 0 then $b.slowdown_pct / $l.slowdown_pct
				else null end),
			# pinscope's slowdown <= a tenth of bpftrace's, judged as the slowdown target is
			met: (if ($b.slowdown_pct // 0) < 2 then null
				else settled($l.slowdown_pct; margin($l); $b.slowdown_pct / 10) end),
			margin: margin($l),
			note: "value null: pinscope's slowdown <= 0; met null: bpftrace's own slowdown is under 2%, no ratio to judge, or pinscope's median is not known well enough"} |
			if .met == null and ($b.slowdown_pct // 0) >= 2 and .margin != null then
				.note = unsettled_note(.margin; $l; "a tenth of bpftrace's \($b.slowdown_pct * 10 | round / 10)%")
			else . end
		 else empty end)) |
		if $noshoot then .met = null |
			.note = "not judged: \($ipo * 1000 | round / 1000) TLB shootdown IPIs per operation on this machine (its hypervisor flushes other vCPUs without IPIs)"
		else . end)),
	# per run: up to 1 M events/s nothing may be lost; above, losses must be counted (they are).
	# The rate is what the workload offered: delivered and lost records. Met only where a run at
	# 1 M/s or more lost nothing and no run at a lower rate lost any: runs below 1 M/s alone do
	# not show the target (not judged).
	(("live", "record") as $m |
		($ok | map(select(.mode == $m) |
			{rate: (((events // 0) + (.tracer.lost // 0)) * 1e9 / .ns),
			 lost: (.tracer.lost // 0)})) as $p |
		select($p | length > 0) |
		($p | map(select(.lost > 0) | .rate) | minn) as $first_lossy |
		($p | map(select(.lost == 0 and ($first_lossy == null or .rate < $first_lossy)) |
			.rate) | maxn) as $lossless_to |
		{target: "pinscope \($m): zero events lost up to 1 M events/s",
		 value: ($p | map(select(.rate <= 1e6) | .lost) | add // 0),
		 lossless_to: $lossless_to,
		 runs_lossless: ($p | map(select(.lost == 0 and .rate >= 1e6)) | length),
		 lost_above: ($p | map(select(.rate > 1e6) | .lost) | add // 0),
		 runs_lost: ($p | map(select(.rate > 1e6 and .lost > 0)) | length),
		 runs_above: ($p | map(select(.rate > 1e6)) | length),
		 met: (if ($first_lossy != null and $first_lossy <= 1e6) then false
			elif ($lossless_to // 0) >= 1e6 then true else null end)} |
		.note = (if .met == null then "not judged: no run offered 1 M events/s" else null end)),
	(("live", "record") as $m | [$summary[].modes[] | select(.mode == $m)] |
		select(length > 0) |
		{target: "pinscope \($m): loader RSS while tracing <= 16 MB",
		 value_kb: (map(.rss_kb // 0) | max), peak_kb: (map(.peak_rss_kb // 0) | max),
		 met: ((map(.rss_kb // 0) | max) <= 16384)}),
	(if $topc then {target: "pinscope top -i 1 on an idle machine <= 1% of a core",
		value: $topc.cpu_pct_of_core, met: ($topc.cpu_pct_of_core <= 1)} else empty end)
] as $targets |
$meta + {summary: $summary, top: $topc, targets: $targets, prog_stats: $progs, runs: $runs}
