#!/bin/sh
# Hostile bytes on the line: the agent stays up, answers the next ping, and
# its memory does not grow.  The bytes are written straight into the PTY the
# client would use, between client sessions.
. "$(dirname "$0")/lib.sh"
plan 17

start_ptys a b
# Under ASan freed memory waits in a quarantine instead of being reused, so
# RSS grows with every allocation whatever the program does: without one,
# the memory check below measures the agent (no effect on other builds).
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0" \
	start_agent --serial "$T/a"
VIA="serial:$T/b"
line="$T/b"

pings() { ll ping -c 1 >/dev/null 2>"$T/ping.err"; }
check "baseline ping" pings
rss0=$(rss_kb "$AGENT_PID")

head -c 2097152 /dev/urandom >"$line"
check "after 2 MiB of random garbage the agent answers" pings

# A frame line far over the cap, and a marker followed by endless text.
{ printf '|7'; head -c 200000 /dev/zero | tr '\0' 'A'; printf '\n'; } >"$line"
{ printf '|8'; head -c 100000 /dev/urandom | tr -d '\n\r|'; printf '\n'; } >"$line"
check "after oversized frame lines the agent answers" pings

# Lying length fields, a payload over the cap, truncated frames, CRC errors.
"$LLPEER" frame --type 2 --payload-len 10 --len-field 4000 >"$line"
"$LLPEER" frame --type 2 --payload-len 8000 >"$line"
for i in $(seq 200); do
	"$LLPEER" frame --type 0 --payload-hex 4c4c01010000000700100000 | head -c 9 >"$line"
done
for i in $(seq 0 5 40); do
	"$LLPEER" frame --type 0 --payload-hex 4c4c01010000000700100000 --flip "$i" >"$line"
done
check "after lying lengths, truncated frames and CRC errors the agent answers" pings

# Frames of another session: bound frames with made-up epochs.
for i in $(seq 50); do
	"$LLPEER" frame --type 2 --seq "$i" --epochs "$i,$((i * 7))" --payload-hex 0000000c02000000017b7d >"$line"
	"$LLPEER" frame --type 3 --epochs "$i,$((i * 7))" --payload-hex 0000000000 >"$line"
done
check "after frames from old session epochs the agent answers" pings

# Message layer: a record with a huge length, bad JSON, an unknown kind.
out=$("$LLPEER" raw --via "$VIA" --stream 0 --hex 0000000802000000000a7b226f70223a317d --wait-ms 1500)
echo "$out" | grep -q '^4 10 .*"code":"bad_request"' && ok "a request with a non-string op gets bad_request" || not_ok "bad op: $out"
out=$("$LLPEER" raw --via "$VIA" --stream 0 --hex 0000000502000000000f7b7b7b7b7b --wait-ms 1500)
echo "$out" | grep -q '^4 15 .*"code":"bad_request"' && ok "malformed JSON gets bad_request with the record's id" || not_ok "bad json: $out"
out=$("$LLPEER" raw --via "$VIA" --stream 0 --hex 00000000630000000000 --wait-ms 1500)
check "after an unknown message kind the agent answers" pings
out=$("$LLPEER" raw --via "$VIA" --stream 0 --hex fffffff0020000000001 --wait-ms 2000)
echo "$out" | grep -q 'SESSION' && ok "an oversized message length ends that session" || not_ok "oversized length: $out"
check "after an oversized message length the agent answers a new client" pings
kill -0 "$AGENT_PID" && ok "the agent process is still running" || not_ok "the agent is running"

# Memory: more rounds of the same must not grow the agent.
for round in 1 2 3; do
	head -c 1048576 /dev/urandom >"$line"
	{ printf '|7'; head -c 100000 /dev/zero | tr '\0' 'A'; printf '\n'; } >"$line"
	pings
done
check "after more floods the agent answers" pings
rss1=$(rss_kb "$AGENT_PID")
diag "agent RSS: $rss0 KiB at start, $rss1 KiB after the floods"
[ "$rss1" -le $((rss0 + 2048)) ] && ok "agent memory did not grow by more than 2 MiB" || not_ok "agent memory grew: $rss0 -> $rss1 KiB"

# No agent at all, and a dead path.
start_ptys c d
VIA="serial:$T/d"
ll --timeout 2 ping -c 1 2>"$T/err"
is "with no agent on the line the client exits 4" "$?" 4
grep -q 'no answer' "$T/err" && ok "and says nothing answered" || not_ok "no-answer message: $(cat "$T/err")"
VIA="unix:$T/nothing.sock"
ll info 2>"$T/err"
is "an unreachable socket exits 3" "$?" 3
grep -q "$T/nothing.sock" "$T/err" && ok "and names the socket" || not_ok "socket message: $(cat "$T/err")"
