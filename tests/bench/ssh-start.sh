#!/bin/sh
# SSH's cost on slow lines (issue 14, item 2): figures, no assertions.
#
#  1. The start of a session over the link emulator with SSH inside the
#     link, from the client's start to the first reply (`lifeline ping
#     -c1`, which exits on that reply): wall time (median of RUNS), the
#     frames and wire bytes each way (the client's -v summary), at 115200
#     and at 9600 on a clean line.  Target: within 1 s at 115200.
#  2. A 24 KiB `get --rescue-host` at 9600 with BER 1e-5 and a kernel
#     message every 2 s on both sides, with SSH and with --insecure: wall
#     time of the whole client run (link, SSH, transfer) and the payload
#     rate against the line's 960 B/s.  Target: at least 80% with SSH.
#
# Run from a build directory (top_builddir=DIR for another build, e.g.
# main's, to compare).  RUNS (3) runs of each, emulator seeds 1..RUNS.
. "$(dirname "$0")/../sys/lib.sh"
ssh_setup
RUNS=${RUNS:-3}
GET_SIZE=24576
head -c "$GET_SIZE" /dev/urandom >"$T/file24k"

# one SECURITY BAUD SEED EMU_OPTS... -- CMD...: one client run over a fresh
# emulator and agent; prints "SECONDS FRAMES_OUT FRAMES_IN BYTES_OUT
# BYTES_IN RC"
one() {
	sec=$1; baud=$2; seed=$3; shift 3
	emu=""
	while [ "$1" != -- ]; do emu="$emu $1"; shift; done
	shift
	rm -f "$T/a" "$T/b" "$T/emu.out" "$T/got"
	# shellcheck disable=SC2086
	start_emu a b --baud "$baud" --seed "$seed" --duration-s 600 $emu
	if [ "$sec" = ssh ]; then
		start_agent_ssh --serial "$T/a,$baud"
		cli="--known-hosts $T/known_hosts"
	else
		start_agent --serial "$T/a,$baud"
		cli=--insecure
	fi
	sleep 0.3
	VIA="serial:$T/b,$baud"
	# the agent's key is filed first (that session is not measured)
	if [ "$sec" = ssh ] && [ ! -s "$T/known_hosts" ]; then
		lls --accept-new-host-key ping -c1 >/dev/null 2>&1
	fi
	t0=$(date +%s.%N)
	# shellcheck disable=SC2086
	HOME="$T/home" SSH_AUTH_SOCK= "$LIFELINE" --via "$VIA" $cli -v "$@" \
		>/dev/null 2>"$T/client.err"
	rc=$?
	t1=$(date +%s.%N)
	stop_agent
	kill "$EMU_PID" 2>/dev/null; wait "$EMU_PID" 2>/dev/null
	sed -n 's/.*link: \([0-9]*\) frames sent.* \([0-9]*\) received,.*wire bytes \([0-9]*\) out, \([0-9]*\) in.*/\1 \2 \3 \4/p' \
		"$T/client.err" | tail -n 1 >"$T/counts"
	read -r fo fi bo bi <"$T/counts" || { fo=0; fi=0; bo=0; bi=0; }
	echo "$(echo "$t1 - $t0" | bc) $fo $fi $bo $bi $rc"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "SSH session start and a 24 KiB get over linkemu ($RUNS runs each; build: $top_builddir)"
for baud in 115200 9600; do
	: >"$T/start"
	for seed in $(seq "$RUNS"); do
		one ssh "$baud" "$seed" -- ping -c1 >>"$T/start"
	done
	t=$(cut -d' ' -f1 "$T/start" | median)
	awk -v b="$baud" -v t="$t" 'END { printf "start to first reply (ping -c1), SSH, %6s clean: median %.2f s; frames %d out / %d in, wire bytes %d out / %d in%s\n",
	    b, t, $2, $3, $4, $5, $6 == 0 ? "" : " (FAILED)" }' "$T/start"
done
for sec in insecure ssh; do
	: >"$T/get"
	for seed in $(seq "$RUNS"); do
		one "$sec" 9600 "$seed" --ber 1e-5 --kmsg-interval-ms 2000 \
		    --kmsg-side both -- get --rescue-host "$T/file24k" "$T/got" >>"$T/get"
		cmp -s "$T/file24k" "$T/got" || echo "  run $seed: CORRUPT or missing"
	done
	t=$(cut -d' ' -f1 "$T/get" | median)
	awk -v s="$sec" -v t="$t" -v n="$GET_SIZE" '{ all = all sprintf(" %.1f", $1); bad += $6 != 0 }
	    END { printf "get --rescue-host 24 KiB, 9600 BER 1e-5 + kmsg/2 s, %-8s: median %.1f s = %.1f%% of 960 B/s (runs:%s s)%s\n",
	    s, t, 100 * n / t / 960, all, bad ? " (FAILED)" : "" }' "$T/get"
done
