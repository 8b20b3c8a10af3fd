#!/bin/sh
# Benchmarks (figures, not assertions): goodput of 1 MiB of random data
# through `exec cat` over the link emulator at 115200 baud, and ping round
# trips, without SSH (--insecure) and with SSH inside the link (the
# default).  Run with `make bench` from the build directory.
set -u
top_builddir=${top_builddir:-$(pwd)}
SIZE=${BENCH_SIZE:-1048576}
RATE=11520
T=$(mktemp -d /tmp/lifeline-bench.XXXXXX)
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 1' INT TERM
head -c "$SIZE" /dev/urandom >"$T/data"
ssh-keygen -q -t ed25519 -N '' -f "$T/key" && cp "$T/key.pub" "$T/authorized_keys"
: >"$T/agent.conf"; chmod 600 "$T/agent.conf"
SSH=0		# 1: the agent and client run SSH inside the link
AGENT_SEC() {
	if [ "$SSH" = 1 ]; then
		echo "--config $T/agent.conf --host-key $T/hostkey --authorized-keys $T/authorized_keys"
	else echo --insecure; fi
}
CLIENT_SEC() {
	if [ "$SSH" = 1 ]; then
		echo "-i $T/key --known-hosts $T/known_hosts --accept-new-host-key"
	else echo --insecure; fi
}

start() {	# start LINKEMU_OPTS...
	for p in $PIDS; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; PIDS=""
	rm -f "$T/a" "$T/b" "$T/emu.out"
	"$top_builddir/tests/linkemu" --a "$T/a" --b "$T/b" --baud 115200 \
		--seed 7 --duration-s 1200 --stats "$T/emu.stats" "$@" \
		>"$T/emu.out" 2>"$T/emu.log" &
	PIDS="$!"
	for _ in $(seq 100); do grep -q ready "$T/emu.out" 2>/dev/null && break; sleep 0.05; done
	"$top_builddir/agent/lifelined" --serial "$T/a,115200" $(AGENT_SEC) 2>/dev/null &
	PIDS="$PIDS $!"
	sleep 0.3
}

goodput() {	# goodput LABEL ENCODING LINKEMU_OPTS...
	label=$1; enc=$2; shift 2
	start "$@"
	t0=$(date +%s.%N)
	"$top_builddir/client/lifeline" $(CLIENT_SEC) --via "serial:$T/b,115200" \
		--encoding "$enc" exec -- cat "$T/data" >"$T/got" 2>/dev/null
	t1=$(date +%s.%N)
	if cmp -s "$T/data" "$T/got"; then ok=exact; else ok=CORRUPT; fi
	awk -v l="$label" -v s="$SIZE" -v a="$t0" -v b="$t1" -v r="$RATE" -v ok="$ok" \
		'BEGIN { t = b - a; printf "%-44s %7.1f s %7.0f B/s %6.1f%% of line rate (%s)\n", l, t, s / t, 100 * s / t / r, ok }'
}

echo "lifeline benchmark: $SIZE bytes, 115200 baud 8N1 = $RATE B/s raw"
goodput "clean line, 8-bit" 8bit
goodput "clean line, probed (auto)" auto
goodput "BER 1e-5 + kmsg every 2 s, 8-bit" 8bit --ber 1e-5 --kmsg-interval-ms 2000 --kmsg-side both
goodput "clean line, 7-bit" 7bit
SSH=1 goodput "clean line, 8-bit, SSH inside the link" 8bit
SSH=1 goodput "BER 1e-5 + kmsg every 2 s, 8-bit, SSH" 8bit --ber 1e-5 --kmsg-interval-ms 2000 --kmsg-side both

for SSH in 0 1; do
[ "$SSH" = 1 ] && echo "with SSH inside the link:"
start
# Ping: round trips, and the time their bytes take on the wire.  The wire
# bytes of one ping are the difference between a session of 21 pings and one
# of 1 (hello and probing cancel out), both directions, at 11520 B/s.
wire() {	# wire COUNT: total wire bytes (out + in) of a session of COUNT pings
	"$top_builddir/client/lifeline" $(CLIENT_SEC) --via "serial:$T/b,115200" -v \
		ping -c "$1" -i 0.05 2>&1 >/dev/null |
		sed -n 's/.*wire bytes \([0-9]*\) out, \([0-9]*\) in.*/\1 \2/p' |
		awk '{ print $1 + $2 }'
}
w1=$(wire 1); w21=$(wire 21)
out=$("$top_builddir/client/lifeline" $(CLIENT_SEC) --via "serial:$T/b,115200" --json ping -c 20 -i 0.1 2>/dev/null)
kill $PIDS 2>/dev/null; wait 2>/dev/null; PIDS=""
echo "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
per = (int(sys.argv[2]) - int(sys.argv[1])) / 20.0
wire_ms = per / 11520.0 * 1000
print("ping at 115200, no added latency: min %.1f / avg %.1f / max %.1f ms over %d" % (d["min_ms"], d["avg_ms"], d["max_ms"], d["count"]))
print("  one ping puts %.0f bytes on the wire (both directions, acks included): %.1f ms; avg round trip = %.2fx that" % (per, wire_ms, d["avg_ms"] / wire_ms))' "$w1" "$w21"
done
