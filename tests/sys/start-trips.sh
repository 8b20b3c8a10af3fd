#!/bin/sh
# Round trips of a command's start (issue 14): the client sends its first
# request right behind its HELLO instead of waiting for the agent's, and get
# asks for a file named on the command line with get at once (file-stat only
# when the agent refuses that).  Over the link emulator with 1.5 s of
# latency each way (a 3 s round trip) and the 7-bit coding forced (no
# probing), so that each round trip is plain in the elapsed time: the link's
# HELLO takes one, the command one more.  The limits sit half a round trip
# above that, a round trip below what the old order takes (info 9 s, get
# 12 s), so load on the machine cannot pass or fail them.
. "$(dirname "$0")/lib.sh"
need python3
plan 8

start_emu a b --baud 115200 --latency-ms 1500 --seed 3 --duration-s 300
start_agent --serial "$T/a,115200"
VIA="serial:$T/b,115200"
sleep 0.3
# elapsed CMD...: run lifeline, print the seconds it took (output in $T/out)
elapsed() {
	t0=$(date +%s.%N)
	ll --encoding 7bit "$@" >"$T/out" 2>"$T/err"
	rc=$?
	echo "$(date +%s.%N) - $t0" | bc
	return $rc
}

s=$(elapsed info)
is "info over a 3 s round trip exits 0" "$?" 0
grep -q '^uptime' "$T/out" && ok "and prints the report" || not_ok "info report: $(cat "$T/out" "$T/err")"
diag "info took $s s (two round trips: 6 s)"
check "info takes two round trips, not three (${s} s < 7.5 s)" \
	[ "$(echo "$s < 7.5" | bc)" = 1 ]

head -c 3000 /dev/urandom >"$T/file"
s=$(elapsed get --rescue-host "$T/file" "$T/copy")
is "get of a file over a 3 s round trip exits 0" "$?" 0
is "the copy is exact" "$(sha "$T/copy")" "$(sha "$T/file")"
diag "get took $s s (two round trips: 6 s)"
check "get takes two round trips, not four (${s} s < 7.5 s)" \
	[ "$(echo "$s < 7.5" | bc)" = 1 ]

# A directory costs the refused get and the file-stat: more round trips,
# and the same result as ever.
mkdir -p "$T/tree/sub"; echo one >"$T/tree/sub/f"
ll --encoding 7bit get --rescue-host "$T/tree" "$T/tree-copy" >/dev/null 2>"$T/err"
is "get of a directory still walks it" "$?" 0
is "and copies what is below it" "$(cat "$T/tree-copy/sub/f" 2>/dev/null)" one
