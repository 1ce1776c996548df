# shellcheck shell=sh
# In-guest test helpers (busybox sh: POSIX only, no bash features).
# A guest script defines one function t_<name> per test, lists the names in
# TESTS, sources this file and ends with: pstest_main "$@"
#
# Inside a test:
#   fail MSG                  the test fails with MSG
#   skip REASON               the test is skipped, TAP says REASON
#   need_cmd CMD...           skip unless every CMD is in the initramfs
#   assert_eq NAME GOT WANT   fail unless GOT = WANT (as strings)
#   assert_gt NAME GOT MIN    fail unless GOT > MIN (integers)
#   assert_file PATH          fail unless PATH exists
#   run NAME CMD...           run CMD, output to the console and to $W/NAME.out;
#                             fail if it exits non-zero
#   run_bg NAME CMD...        start CMD in the background, stdin from a fifo
#                             (see send), stdout+stderr to $W/NAME.out
#   run_pinscope_bg NAME ARGS...  run_bg NAME pinscope ARGS...
#   send NAME LINE            write LINE to the stdin of background NAME
#   wait_for_line NAME ERE [SECONDS]  set LINE to the first line of NAME's
#                             output matching ERE; fail on timeout (default
#                             30 s) or if NAME exited without printing it
#   wait_until SECONDS CMD... poll CMD until it succeeds; fail after SECONDS
#   stop_bg NAME [SECONDS]    close NAME's stdin, wait for it to exit (kill it
#                             after SECONDS), fail unless it exited 0
#   bg_pid NAME               print the pid of background NAME
#   field LINE KEY            print VALUE of KEY=VALUE in LINE
#   status_kb PID KEY         print KEY (e.g. VmPin) of /proc/PID/status in kB
#   vmstat KEY                print KEY of /proc/vmstat
#   json_objs FILE ERE        print every innermost JSON object ({...} without
#                             nested objects) of FILE that matches ERE, one a line
#   json_val OBJ KEY          print the value of "KEY" in object text OBJ
#                             (numbers, true/false/null bare, strings unquoted)
# Each test runs in its own shell under a time limit (PSTEST_TIMEOUT, 120 s: under host steal
# the whole guest tier took 1005 s against 597 s on the idle host),
# and background commands it started are killed when it ends.

PSTEST_DIR=${PSTEST_DIR:-/pstest}
PSTEST_WORK=${PSTEST_WORK:-/tmp/pstest}
PSTEST_TIMEOUT=${PSTEST_TIMEOUT:-120}
PSTEST_SKIP_RC=77

say() { echo "PSTEST $*"; }
diag() { echo "PSTEST # $*"; }

fail() {
	diag "$PSTEST_NAME: $*"
	exit 1
}

skip() {
	echo "$*" >"$PSTEST_WORK/$PSTEST_NAME.skip"
	exit $PSTEST_SKIP_RC
}

need_cmd() {
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 ||
			skip "$c not in the initramfs (not built statically?)"
	done
}

assert_eq() {
	[ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
	echo "# $PSTEST_NAME: $1 = '$2'"
}

assert_gt() {
	case $2 in '' | *[!0-9]*) fail "$1: got '$2', want an integer > $3" ;; esac
	[ "$2" -gt "$3" ] || fail "$1: got $2, want > $3"
	echo "# $PSTEST_NAME: $1 = $2"
}

assert_file() {
	[ -e "$1" ] || fail "$1: does not exist"
}

run() {
	_n=$1
	shift
	echo "# $PSTEST_NAME: \$ $*"
	"$@" >"$W/$_n.out" 2>&1
	_rc=$?
	cat "$W/$_n.out"
	[ $_rc -eq 0 ] || fail "$*: exit $_rc: $(tail -n 1 "$W/$_n.out")"
}

run_bg() {
	_n=$1
	shift
	rm -f "$W/$_n.in" "$W/$_n.out"
	mkfifo "$W/$_n.in" || fail "mkfifo $W/$_n.in failed"
	# The holder keeps the fifo open for writing, so the command sees EOF
	# only when stop_bg kills it; send opens and closes it per line.
	sleep 1000000 >"$W/$_n.in" &
	echo $! >"$W/$_n.holder"
	echo "$!" >>"$W/bg.pids"
	echo "# $PSTEST_NAME: \$ $* &"
	"$@" <"$W/$_n.in" >"$W/$_n.out" 2>&1 &
	echo $! >"$W/$_n.pid"
	echo "$!" >>"$W/bg.pids"
}

run_pinscope_bg() {
	_n=$1
	shift
	run_bg "$_n" pinscope "$@"
}

bg_pid() { cat "$W/$1.pid"; }

send() {
	kill -0 "$(bg_pid "$1")" 2>/dev/null || fail "send to $1: it has exited"
	echo "# $PSTEST_NAME: $1 <- $2"
	echo "$2" >"$W/$1.in"
}

wait_for_line() {
	_n=$1 _re=$2 _secs=${3:-60}
	_end=$(($(date +%s) + _secs))
	_pid=$(bg_pid "$_n")
	LINE=
	while :; do
		LINE=$(grep -E -m1 "$_re" "$W/$_n.out" 2>/dev/null) && break
		if ! kill -0 "$_pid" 2>/dev/null; then
			# one last look: the line may have come just before the exit
			LINE=$(grep -E -m1 "$_re" "$W/$_n.out") && break
			cat "$W/$_n.out"
			fail "$_n exited before printing /$_re/"
		fi
		[ "$(date +%s)" -lt "$_end" ] || {
			cat "$W/$_n.out"
			fail "$_n: no line /$_re/ within $_secs s"
		}
		sleep 0.05
	done
	echo "# $PSTEST_NAME: $_n: $LINE"
}

wait_until() {
	_end=$(($(date +%s) + $1))
	shift
	until "$@"; do
		[ "$(date +%s)" -lt "$_end" ] || fail "not true within the time limit: $*"
		sleep 0.05
	done
}

stop_bg() {
	_n=$1 _end=$(($(date +%s) + ${2:-10}))
	_pid=$(bg_pid "$_n")
	kill "$(cat "$W/$_n.holder")" 2>/dev/null
	while kill -0 "$_pid" 2>/dev/null; do
		if [ "$(date +%s)" -ge "$_end" ]; then
			kill -9 "$_pid" 2>/dev/null
			wait "$_pid" 2>/dev/null
			cat "$W/$_n.out"
			fail "$_n did not exit within ${2:-10} s"
		fi
		sleep 0.05
	done
	wait "$_pid"
	_rc=$?
	cat "$W/$_n.out"
	[ $_rc -eq 0 ] || fail "$_n exited with $_rc"
}

field() {
	for _kv in $1; do
		case $_kv in "$2="*)
			echo "${_kv#*=}"
			return 0
			;;
		esac
	done
	return 1
}

status_kb() {
	awk -v k="$2:" '$1 == k { print $2; f = 1 } END { exit !f }' "/proc/$1/status"
}

vmstat() {
	awk -v k="$1" '$1 == k { print $2; f = 1 } END { exit !f }' /proc/vmstat
}

json_objs() {
	grep -o '{[^{}]*}' "$1" | grep -E -- "$2"
}

json_val() {
	printf '%s\n' "$1" | sed -n "s/.*\"$2\":\"\{0,1\}\([^,\"}]*\).*/\1/p" | head -n 1
}

# kernel tag: 6.1 or 6.12, from uname -r
pstest_kver() { uname -r | cut -d. -f1,2; }

# Reason a test is listed in skip-<kver>.txt ("name  # reason"), if it is.
pstest_listed_skip() {
	_f=$PSTEST_DIR/skip-$(pstest_kver).txt
	[ -f "$_f" ] || return 1
	_r=$(awk -v t="$1" '$1 == t { sub(/^[^#]*#[ \t]*/, ""); print; f = 1; exit }
		END { exit !f }' "$_f") || return 1
	echo "${_r:-listed in ${_f##*/}}"
}

pstest_selected() {
	[ -z "${PSTEST_ONLY:-}" ] && return 0
	case ",$PSTEST_ONLY," in *",$1,"*) return 0 ;; esac
	return 1
}

# Run one test in this shell (pstest_main runs each in a fresh shell).
pstest_one() {
	PSTEST_NAME=$1
	W=$PSTEST_WORK/$1
	rm -rf "$W"
	mkdir -p "$W"
	: >"$W/bg.pids"
	"t_$1"
}

pstest_main() {
	if [ "${1:-}" = --one ]; then
		pstest_one "$2"
		exit $?
	fi
	mkdir -p "$PSTEST_WORK"
	_self=$0
	# pstest.set=NAME runs the tests listed in TESTS_NAME instead (a boot of its own: more CPUs)
	_list=$TESTS
	if [ -n "${PSTEST_SET:-}" ]; then
		eval "_list=\${TESTS_$PSTEST_SET:-}"
		[ -n "$_list" ] || say "not ok - pstest.set=$PSTEST_SET: no TESTS_$PSTEST_SET"
	fi
	for _t in $_list; do
		pstest_selected "$_t" || continue
		if _why=$(pstest_listed_skip "$_t"); then
			say "ok - $_t # skip $_why"
			continue
		fi
		rm -f "$PSTEST_WORK/$_t.skip"
		echo "# pstest: running $_t"
		timeout -k 5 "$PSTEST_TIMEOUT" sh "$_self" --one "$_t"
		_rc=$?
		while read -r _p; do
			kill -9 "$_p" 2>/dev/null
		done 2>/dev/null <"$PSTEST_WORK/$_t/bg.pids"
		case $_rc in
		0) say "ok - $_t" ;;
		"$PSTEST_SKIP_RC") say "ok - $_t # skip $(cat "$PSTEST_WORK/$_t.skip")" ;;
		124 | 143 | 137) say "not ok - $_t: killed after the ${PSTEST_TIMEOUT} s limit" ;;
		*) say "not ok - $_t" ;;
		esac
	done
	say "done"
}
