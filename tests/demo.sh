#!/bin/sh
# The demo: an agent on one end of a virtual serial line with injected noise
# (115200 baud, bit errors, kernel messages), the client on the other end:
# info, ping and an exec transcript, then everything is cleaned up.
set -u
top_builddir=${top_builddir:-$(pwd)}
T=$(mktemp -d /tmp/lifeline-demo.XXXXXX)
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

LIFELINE="$top_builddir/client/lifeline"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

say "A virtual serial line: 115200 baud 8N1, bit error rate 1e-5, a kernel message every 2 s"
"$top_builddir/tests/linkemu" --a "$T/ttyS0" --b "$T/console" --baud 115200 \
	--ber 1e-5 --kmsg-interval-ms 2000 --kmsg-side both --seed 42 \
	--duration-s 600 >"$T/emu.out" 2>"$T/emu.log" &
PIDS="$PIDS $!"
for _ in $(seq 100); do grep -q ready "$T/emu.out" 2>/dev/null && break; sleep 0.05; done
echo "rescue host side: $T/ttyS0    operator side: $T/console"

say "The rescue host starts the agent on its serial port"
echo "\$ lifelined --serial $T/ttyS0,115200 --insecure"
"$top_builddir/agent/lifelined" --serial "$T/ttyS0,115200" --insecure \
	--debug-file "$T/agent.log" 2>"$T/agent.err" &
PIDS="$PIDS $!"
sleep 0.3
sed 's/^/  /' "$T/agent.err"

export LIFELINE_VIA="serial:$T/console,115200"
say "The operator attaches from the other end (LIFELINE_VIA=$LIFELINE_VIA)"
run "$LIFELINE" --insecure info 2>/dev/null || exit 1

say "Round trips through the noise"
run "$LIFELINE" --insecure ping -c 3 2>/dev/null || exit 1

say "Commands run on the rescue host; output streams back, exit status too"
run "$LIFELINE" --insecure exec -- uname -a 2>/dev/null
run "$LIFELINE" --insecure exec -- sh -c 'cat /proc/cpuinfo | grep -m1 "model name"; echo "root fs: $(df -h / | tail -n 1)"' 2>/dev/null
run "$LIFELINE" --insecure -v exec -- sh -c 'echo "to stderr" >&2; exit 3' 2>&1 | grep -v '^lifeline: warning'
echo "(exit status $?)"

say "What the line did meanwhile"
tail -n 4 "$T/emu.log" | sed 's/^/  /'
say "Done: the agent and the line are stopped and removed."
