#!/bin/sh
# Benchmarks (figures, not assertions): goodput of 1 MiB of random data
# through `exec cat` over the link emulator at 115200 baud, and ping round
# trips, without SSH (--insecure) and with SSH inside the link (the
# default); then bulk get/put over lifeline+ssh:// on loopback next to
# OpenSSH's scp (BENCH_BULK_MB, 200 by default).  Run with `make bench`
# from the build directory.
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
# SSH=1: the agent and client run SSH inside the link (AGENT_SEC, CLIENT_SEC)
. "$(dirname "$0")/sec.sh"

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

# Bulk over SSH on loopback: get and put of BENCH_BULK_MB MiB over
# lifeline+ssh:// (lifelined --listen-ssh), next to OpenSSH's scp from an
# sshd on 127.0.0.1 (as root, when sshd is installed).  Wall time, rate,
# and CPU time per MiB of each side (the client's from its rusage, the
# servers' from /proc: lifelined's own, sshd's reaped children).
BULK_MB=${BENCH_BULK_MB:-200}
echo "bulk over SSH on 127.0.0.1: $BULK_MB MiB, get and put, byte-exact checked"
mkdir -p "$T/root" "$T/home/.ssh"
head -c $((BULK_MB * 1048576)) /dev/urandom >"$T/root/bulk"
cp "$T/key" "$T/home/.ssh/id_ed25519"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# cpu_ms PID FIELDS: utime+stime (14 15) or reaped children's (16 17), in ms
cpu_ms() { awk -v a="$2" -v b="$3" -v hz="$(getconf CLK_TCK)" '{ print ($a + $b) * 1000 / hz }' "/proc/$1/stat"; }
# bulk LABEL SERVER_PID FIELD_A FIELD_B CMD...: one timed transfer
bulk() {
	label=$1; spid=$2; fa=$3; fb=$4; shift 4
	s0=$(cpu_ms "$spid" "$fa" "$fb")
	python3 - "$@" >"$T/bulk.t" <<-'P'
	import os, resource, subprocess, sys, time
	t = time.monotonic()
	rc = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
	t = time.monotonic() - t
	ru = resource.getrusage(resource.RUSAGE_CHILDREN)
	print(rc, t, (ru.ru_utime + ru.ru_stime) * 1000)
	P
	sleep 0.3	# let sshd reap its session
	s1=$(cpu_ms "$spid" "$fa" "$fb")
	read -r rc secs ccpu <"$T/bulk.t"
	awk -v l="$label" -v m="$BULK_MB" -v t="$secs" -v c="$ccpu" -v s0="$s0" -v s1="$s1" -v rc="$rc" \
		'BEGIN { printf "  %-34s %6.2f s %6.1f MiB/s  cpu/MiB: client %.1f ms, server %.1f ms%s\n",
		    l, t, m / t, c / m, (s1 - s0) / m, rc == 0 ? "" : "  (FAILED)" }' | tee -a "$T/bulk.all"
}
exact() { cmp -s "$T/root/bulk" "$1" || echo "  CORRUPT: $1"; rm -f "$1"; }

if [ "$(id -u)" = 0 ] && [ -x /usr/sbin/sshd ] && command -v scp >/dev/null; then
	sport=$(port)
	ssh-keygen -q -t ed25519 -N '' -f "$T/sshd_key"
	cat >"$T/sshd_config" <<-S
	Port $sport
	ListenAddress 127.0.0.1
	HostKey $T/sshd_key
	AuthorizedKeysFile $T/authorized_keys
	PidFile $T/sshd.pid
	UsePAM no
	StrictModes no
	PermitRootLogin prohibit-password
	Subsystem sftp internal-sftp
	S
	/usr/sbin/sshd -D -f "$T/sshd_config" 2>/dev/null &
	SSHD=$!
	PIDS="$PIDS $SSHD"
	sleep 0.5
	SCP="scp -q -F /dev/null -P $sport -i $T/key -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
	bulk "scp get (OpenSSH sshd)" "$SSHD" 16 17 $SCP "root@127.0.0.1:$T/root/bulk" "$T/got.scp"
	exact "$T/got.scp"
	bulk "scp put (OpenSSH sshd)" "$SSHD" 16 17 $SCP "$T/root/bulk" "root@127.0.0.1:$T/root/put.scp"
	exact "$T/root/put.scp"
else
	echo "  (no scp figures: they need root and /usr/sbin/sshd)"
fi
lport=$(port)
"$top_builddir/agent/lifelined" --config "$T/agent.conf" --host-key "$T/hostkey" \
	--authorized-keys "$T/authorized_keys" --listen-ssh "127.0.0.1:$lport" \
	--target-root "$T/root" 2>/dev/null &
AGENT=$!
PIDS="$PIDS $AGENT"
sleep 0.5
LL="$top_builddir/client/lifeline --via lifeline+ssh://root@127.0.0.1:$lport -i $T/key --known-hosts $T/known_hosts --accept-new-host-key"
HOME="$T/home" bulk "lifeline+ssh:// get" "$AGENT" 14 15 $LL get /bulk "$T/got.ll"
exact "$T/got.ll"
HOME="$T/home" bulk "lifeline+ssh:// put" "$AGENT" 14 15 $LL put "$T/root/bulk" /put.ll
exact "$T/root/put.ll"
# Times: field 5 on the scp lines, 3 on lifeline's.
awk '/scp get/ { sg = $5 } /scp put/ { sp = $5 } /lifeline\+ssh:\/\/ get/ { lg = $3 } /lifeline\+ssh:\/\/ put/ { lp = $3 }
	END { if (sg && lg && sp && lp) printf "  lifeline+ssh:// vs scp: get at %.0f%%, put at %.0f%% of scp'"'"'s rate\n", 100 * sg / lg, 100 * sp / lp }' "$T/bulk.all"
