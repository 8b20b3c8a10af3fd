#!/bin/sh
# get and put go on by themselves after a cut line (issue 11, item 2): a
# get and a put of 3 MiB of random bytes over the link emulator at 2000000
# baud with bit errors, the line cut (the emulator killed, back 0.3 to 1 s
# later) 3 times during each.  The client reconnects within --reconnect
# and continues from the verified prefix (the part file here, the agent's
# temp file there), in the same command: it exits 0, the SHA-256 are
# equal, it reconnected each time, and each time it went on from a
# nonzero offset (the agent's log says; no restart from byte 0).  Then a cut longer than
# --reconnect: the get gives up, keeps its part file, and says so.
. "$(dirname "$0")/lib.sh"
need python3 sha256sum
plan 12

EMU_OPTS="--baud 2000000 --ber 1e-6 --kmsg-interval-ms 900"
start_emu a b $EMU_OPTS --seed "${SEED:-$$}"
start_agent --serial "$T/a,2000000"
VIA="serial:$T/b,2000000"
SIZE=3145728
head -c $SIZE /dev/urandom >"$T/src"
head -c $SIZE /dev/urandom >"$T/up"
restart_emu() {
	kill "$EMU_PID" 2>/dev/null
	wait "$EMU_PID" 2>/dev/null
	sleep "$1"
	start_emu a b $EMU_OPTS
}
# cuts PID FILE: cut the line 3 times while PID runs, each once FILE grew
# by 256 KiB since the last; n: the number of cuts made while it ran (in
# this shell, not a subshell: EMU_PID and PIDS must follow the restarts)
cuts() {
	n=0
	for pause in 0.3 1.0 0.6; do
		base=$(stat -c %s "$2" 2>/dev/null || echo 0)
		for _ in $(seq 300); do
			kill -0 "$1" 2>/dev/null || break
			[ "$(stat -c %s "$2" 2>/dev/null || echo 0)" -gt $((base + 262144)) ] && break
			sleep 0.1
		done
		kill -0 "$1" 2>/dev/null || break
		restart_emu "$pause"
		n=$((n + 1))
	done
}
# json_bytes FILE: the summary's "bytes" (what crossed the line)
json_bytes() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["bytes"])' "$1"; }

# --- get -------------------------------------------------------------------
"$LIFELINE" --insecure --via "$VIA" --reconnect 60 -v --json get --rescue-host \
	"$T/src" "$T/dst" >"$T/get.json" 2>"$T/get.err" &
cpid=$!
PIDS="$PIDS $cpid"
cuts "$cpid" "$T/.dst.lifeline-part"
wait "$cpid"
is "get with the line cut $n times exits 0" "$?" 0
is "the line was cut 3 times during the get" "$n" 3
is "the SHA-256 are equal" "$(sha "$T/dst")" "$(sha "$T/src")"
r=$(grep -c "reconnected after" "$T/get.err")
[ "$r" -ge 3 ] && ok "it reconnected by itself ($r times)" ||
	not_ok "it reconnected by itself: $r; $(grep "^lifeline:" "$T/get.err" | tail -n 5)"
b=$(json_bytes "$T/get.json")
[ "$b" -lt $((SIZE * 3 / 2)) ] &&
	ok "it went on from the part file: $b bytes crossed for $SIZE" ||
	not_ok "it went on from the part file: $b bytes crossed for $SIZE"
o=$(grep -c "get (rescue host) $T/src: [0-9]* bytes from offset [1-9]" "$T/agent.log")
[ "$o" -ge 3 ] && ok "the agent served it from nonzero offsets ($o times)" ||
	not_ok "the agent served it from nonzero offsets: $(grep 'get ' "$T/agent.log")"

# --- put -------------------------------------------------------------------
"$LIFELINE" --insecure --via "$VIA" --reconnect 60 -v --json put --rescue-host \
	"$T/up" "$T/upped" >"$T/put.json" 2>"$T/put.err" &
cpid=$!
PIDS="$PIDS $cpid"
cuts "$cpid" "$T/.upped.lifeline-part"
wait "$cpid"
is "put with the line cut $n times exits 0" "$?" 0
is "the line was cut 3 times during the put" "$n" 3
is "the SHA-256 are equal" "$(sha "$T/upped")" "$(sha "$T/up")"
o=$(grep -c "put (rescue host) $T/upped: [0-9]* bytes from offset [1-9]" "$T/agent.log")
[ "$o" -ge 3 ] &&
	ok "it went on from the agent's temp file each time ($o; $(json_bytes "$T/put.json") bytes sent for $SIZE)" ||
	not_ok "it went on from the agent's temp file: $(grep 'put (' "$T/agent.log")"

# --- a cut longer than --reconnect ----------------------------------------
rm -f "$T/dst"
"$LIFELINE" --insecure --via "$VIA" --reconnect 2 get --rescue-host \
	"$T/src" "$T/dst" >/dev/null 2>"$T/giveup.err" &
cpid=$!
PIDS="$PIDS $cpid"
for _ in $(seq 100); do [ -s "$T/.dst.lifeline-part" ] && break; sleep 0.1; done
kill "$EMU_PID"; wait "$EMU_PID" 2>/dev/null
wait "$cpid"
is "after --reconnect 2 s without an agent the get exits 5" "$?" 5
grep -q "gave up reconnecting" "$T/giveup.err" && [ ! -e "$T/dst" ] &&
	[ -s "$T/.dst.lifeline-part" ] &&
	ok "it says so and keeps the part file for the same command" ||
	not_ok "gave up: $(cat "$T/giveup.err")"
