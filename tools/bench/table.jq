# The table of bench.json: --arg fmt text (stdout) or md (the README's "Overhead" section).

def pad($n): tostring | if length < $n then (" " * ($n - length)) + . else . end;
def rpad($n): tostring | if length < $n then . + (" " * ($n - length)) else . end;
def fix($d): if . == null then "-" else
	(. * pow(10; $d) | round) as $i | ($i | fabs | tostring) as $s |
	(if $d == 0 then $s else
		("0" * ($d + 1 - ($s | length)) // "") + $s | .[:-$d] + "." + .[-$d:] end) |
	(if $i < 0 then "-" + . else . end) end;
def int: if . == null then "-" else round | tostring end;
def signed($d): if . == null then "-" elif . >= 0 then "+" + fix($d) else fix($d) end;
def mb: if . == null then "-" else (. / 1024) | fix(1) end;

def cells:
	[.mode,
	 (.ops_per_s | int),
	 (if .mode == "base" then "-" else "\(.slowdown_pct | signed(1))% [\(.slowdown_pct_p25 |
		signed(1))..\(.slowdown_pct_p75 | signed(1))]" end),
	 (.cpu_slowdown_pct | if . == null then "-" else signed(1) + "%" end),
	 (if .bpf_ns_per_op == null then "-" else "\(.bpf_ns_per_op | int) (\(.bpf_pct_of_op | fix(1))%)" end),
	 (if .bpf_net_ns_per_op == null then "-" else "\(.bpf_net_ns_per_op | int) (\(.bpf_net_pct_of_op | fix(1))%)" end),
	 (.bpf_runs_per_op | fix(1)),
	 (.events_per_s | int), (.events_per_op | fix(1)), (.extra_ns_per_event | int),
	 (.lost // "-" | tostring), (.tracer_cpu_pct | fix(1)), "\(.rss_kb | mb)/\(.peak_rss_kb | mb)",
	 "\(.others_cores | fix(2)) (max \(.others_cores_max | fix(2)))",
	 "\(.pairs)/\(.runs)"];

def heads: ["mode", "ops/s", "slowdown median [p25..p75]", "CPU/op", "BPF ns/op", "net", "runs/op", "events/s", "ev/op", "ns/event",
	"lost", "CPU %", "RSS/peak MB", "others' load, cores", "pairs"];
def widths: [8, 9, 27, 7, 13, 12, 7, 9, 7, 8, 6, 6, 11, 20, 5];

def textrow: [., widths] | transpose |
	map(.[0] as $c | .[1] as $w | if $w == 8 then ($c | rpad($w)) else ($c | pad($w)) end) |
	join(" ");

def target_line: "\(if .met == null then "n/a    " elif .met then "met    " else "MISSED " end) \(.target): \(
	if .value_kb then "\(.value_kb | mb) MB (peak \(.peak_kb | mb) MB at start-up)"
	elif .target | test("lost") then "\(.value) lost up to 1 M/s; none lost in any run up to \(
		.lossless_to // 0 | int) events/s (\(.runs_lossless) runs at 1 M/s or more lost nothing); \(
		.lost_above) lost (counted) in \(.runs_lost) of \(.runs_above) runs above 1 M/s"
	elif .value == null then "-"
	else (.value | fix(2)) end)\(if (.note // "") | test("^(not judged|the floor alone)") then " (\(.note))" else "" end)";

def stall_note: if .config.stall then
	"; the tracer pinned to CPU \(.config.loader_cpu), which tools/bench/stall.c (a SCHED_FIFO busy loop) takes for \(.config.stall | split("/") | "\(.[0]) ms every \(.[1]) ms") in every timed run" else "" end;

if $fmt == "md" then
	"Measured \(.date) on \(.machine), pinscope \(.git_rev) (concerns: \(.pinscope_concerns |
		join(", "))), \(.bpftrace) with \(.bpftrace_scripts | join(" + ")); \(.config.pairs) rounds of \(
		.config.seconds) s runs, modes interleaved (ABC CBA BCA ACB ...)\(stall_note); slowdown = extra time per operation " +
	"against the untraced run of the same round; BPF ns/op = run time of the tracer's BPF programs per operation (kernel.bpf_stats_enabled, one extra run per mode), and its share of the untraced operation; net = the same less what bpf_stats itself adds to each of the runs/op program runs (\([.summary[].modes[] | .bpf_stats_ns_per_run | select(. != null)] | if length == 0 then "its two clock reads per run, which the floor mode's empty programs measure: not measured in this run" else "\(.[0] | round) ns per run: its two clock reads, as the floor mode's empty programs measure them" end)).\n",
	(.summary[] |
		"**\(.workload)**: \(.what); one operation: \(.op).\n",
		"| \(heads | join(" | ")) |",
		"|\(heads | map("---") | join("|"))|",
		(.modes[] | "| \(cells | join(" | ")) |"),
		""),
	"Targets:\n",
	(.targets[] | "- \(target_line)"),
	(if .top then "\n`pinscope top -b -i 1` on the idle machine: \(.top.cpu_pct_of_core | fix(2))% of a core, RSS \(.top.rss_kb | mb) MB (peak \(.top.peak_rss_kb | mb) MB)." else empty end),
	(if (.warnings | length) > 0 then "\nWarnings: \(.warnings | join("; "))." else empty end)
else
	"pinscope overhead benchmark, \(.date), \(.machine)",
	"pinscope \(.git_rev), concerns \(.pinscope_concerns | join(",")); \(.bpftrace): \(
		.bpftrace_scripts | join(" + ")); \(.config.pairs) rounds x \(.config.seconds) s, interleaved ABC CBA BCA ACB ...\(stall_note)",
	(.summary[] | "",
		"\(.workload): \(.what) (ops = \(.op))",
		(heads | textrow),
		(.modes[] | cells | textrow)),
	"",
	"targets:",
	(.targets[] | "  \(target_line)"),
	(if .top then "  (top: \(.top.cpu_pct_of_core | fix(2))% of a core over \(.top.seconds) s, RSS \(.top.rss_kb | mb) MB (peak \(
		.top.peak_rss_kb | mb) MB), others' load \(.top.load.others_cores | fix(2)) cores)" else empty end),
	(.warnings[] | "warning: \(.)"),
	(.prog_stats[] | "bpf run time, \(.workload)/\(.mode): \(.programs |
		map("\(.name) \(.run_cnt)x\(.ns_per_run | int)ns") | join(", "))")
end
