# Shared helpers for the system tests: TAP output, a scratch directory, and
# starting real processes (socat PTY pairs, the link emulator, the agent)
# that are always cleaned up, even when a test fails or is interrupted.
#
# Tests run from the build directory; top_srcdir and top_builddir come from
# the Automake test environment (or default to this checkout).

: "${top_builddir:=$(pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
LIFELINE="$top_builddir/client/lifeline"
LIFELINED="$top_builddir/agent/lifelined"
LINKEMU="$top_builddir/tests/linkemu"
LLPEER="$top_builddir/tests/llpeer"

T=$(mktemp -d "${TMPDIR:-/tmp}/lifeline-test.XXXXXX")
PIDS=""
tap_n=0
tap_failed=0

cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	sleep 0.2
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	if [ "$tap_failed" -gt 0 ] && [ -f "$T/agent.log" ]; then
		echo "# last lines of the agent log:"
		tail -n 20 "$T/agent.log" | sed 's/^/#   /'
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

plan() { echo "1..$1"; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $*"; }
not_ok() {
	tap_n=$((tap_n + 1)); tap_failed=$((tap_failed + 1))
	echo "not ok $tap_n - $*"
}
diag() { echo "$*" | sed 's/^/# /'; }
# check DESCRIPTION COMMAND...: ok when the command succeeds.
check() {
	desc=$1; shift
	if "$@" >"$T/check.out" 2>&1; then ok "$desc"
	else not_ok "$desc"; sed 's/^/#   /' "$T/check.out" | tail -n 15; fi
}
# is DESCRIPTION GOT WANT
is() {
	if [ "$2" = "$3" ]; then ok "$1"
	else not_ok "$1"; diag "got:  $2"; diag "want: $3"; fi
}

need() {
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip_all "$c is not installed"
	done
}

# start_ptys A B: a socat PTY pair, slave links at $T/A and $T/B
start_ptys() {
	need socat
	socat -d -d pty,raw,echo=0,link="$T/$1" pty,raw,echo=0,link="$T/$2" \
		2>"$T/socat.log" &
	PIDS="$PIDS $!"
	for _ in $(seq 100); do
		[ -e "$T/$1" ] && [ -e "$T/$2" ] && return 0
		sleep 0.05
	done
	echo "Bail out! socat did not create the PTY pair"; exit 1
}

# start_emu A B [linkemu options]: the link emulator between $T/A and $T/B
start_emu() {
	a=$1; b=$2; shift 2
	"$LINKEMU" --a "$T/$a" --b "$T/$b" "$@" >"$T/emu.out" 2>"$T/emu.log" &
	PIDS="$PIDS $!"
	EMU_PID=$!
	for _ in $(seq 100); do
		grep -q ready "$T/emu.out" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "Bail out! linkemu did not start"; cat "$T/emu.log"; exit 1
}

# start_agent ARGS...: lifelined in the background, log in $T/agent.log
start_agent() {
	"$LIFELINED" --insecure --debug-file "$T/agent.log" "$@" \
		2>>"$T/agent.stderr" &
	AGENT_PID=$!
	PIDS="$PIDS $AGENT_PID"
}

stop_agent() {
	kill "$AGENT_PID" 2>/dev/null
	wait "$AGENT_PID" 2>/dev/null
}

# rss_kb PID: resident memory in KiB
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# lifeline with the test path; VIA may be set by the test
ll() { "$LIFELINE" --insecure --via "$VIA" "$@"; }

sha() { sha256sum "$1" | cut -d' ' -f1; }

# noisy_transfer ENCODING [exec]: 1 MiB of random data through `exec cat`
# over the link emulator at 115200 baud, bit error rate 1e-4, a kernel
# message line every second; checks it arrives byte-exact.  With "exec" the
# client reaches the line through an exec: transport (socat).
noisy_transfer() {
	enc=$1; how=${2:-serial}
	plan 4
	head -c 1048576 /dev/urandom >"$T/data"
	start_emu a b --baud 115200 --ber 1e-4 --kmsg-interval-ms 1000 \
		--kmsg-side both --seed "${SEED:-$$}" --duration-s 900
	start_agent --serial "$T/a,115200"
	if [ "$how" = exec ]; then
		need socat
		VIA="exec:socat STDIO $T/b,raw,echo=0"
		extra="--baud 115200"
	else
		VIA="serial:$T/b,115200"
		extra=
	fi
	start=$(date +%s)
	# shellcheck disable=SC2086
	"$LIFELINE" --insecure --via "$VIA" $extra --encoding "$enc" -v \
		exec -- cat "$T/data" >"$T/got" 2>"$T/client.err"
	rc=$?
	secs=$(( $(date +%s) - start ))
	is "exec over the noisy line exits 0 ($enc, $how)" "$rc" 0
	is "1 MiB arrives byte-exact ($enc, $how)" "$(sha "$T/got")" "$(sha "$T/data")"
	grep -q 'usb\|kernel\|\[ *[0-9]' "$T/client.err" &&
		ok "kernel messages on the line are shown as console text with -v" ||
		not_ok "console text shown"
	kill -0 "$AGENT_PID" 2>/dev/null && ok "the agent is still up" || not_ok "the agent is still up"
	diag "$enc via $how: $secs s for 1 MiB ($((1048576 / (secs > 0 ? secs : 1))) B/s); emulator: $(tail -n 3 "$T/emu.log" | tr '\n' ' ')"
}
