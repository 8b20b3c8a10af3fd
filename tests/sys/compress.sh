#!/bin/sh
# Compressed data records (ZDATA, docs/protocol.md; issue 14 item 1), with
# real processes: an agent on a unix socket (the link layer and ARQ of a
# serial line, without a line rate) and one with SSH inside the link over
# the link emulator.  Correctness only; tests/bench/compress.sh measures.
#
# - get, put, exec output and exec stdin of 6 MiB of text (C headers, more
#   than any window or buffer on the path) and of 6 MiB of random bytes
#   arrive byte-exact with compression on;
# - the text goes as ZDATA records, the random bytes as plain DATA records
#   only (the agent's debug log and the client's -v statistics say so);
# - --compress no on the client, --compress no on the agent, and a client
#   whose HELLO offers nothing (tests/llpeer) get plain DATA only, exact;
# - the agent's memory stays flat over a 48 MiB compressed get;
# - with SSH inside the link over the emulator (921600 baud) text is
#   compressed and exact.
. "$(dirname "$0")/lib.sh"
need socat python3 sha256sum cmp
plan 22

# Text: C headers, repeated up to 6 MiB; random: 6 MiB of urandom.
find /usr/include -name '*.h' -type f 2>/dev/null | sort | head -n 4000 |
	xargs cat >"$T/hdr" 2>/dev/null
[ -s "$T/hdr" ] || skip_all "no C headers in /usr/include to use as text"
while [ "$(wc -c <"$T/hdr")" -lt 6291456 ]; do
	cat "$T/hdr" "$T/hdr" >"$T/hdr2" && mv "$T/hdr2" "$T/hdr"
done
head -c 6291456 "$T/hdr" >"$T/text" && rm -f "$T/hdr"
head -c 6291456 /dev/urandom >"$T/random"
mkdir -p "$T/root"

ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0" \
	start_agent -v --listen "unix:$T/s" --target-root "$T/root"
for _ in $(seq 50); do [ -S "$T/s" ] && break; sleep 0.1; done
fast() { "$LIFELINE" --insecure --via "unix:$T/s" "$@"; }
# zlog OP: the agent's last line on the data records of an OP request
zlog() { grep "request [0-9]* ($1): data sent in" "$T/agent.log" | tail -n 1; }
# zrec LINE: "ZDATA-records plain-records plain-bytes" from a zlog line
zrec() { echo "$1" | sed -n 's/.*in \([0-9]*\) ZDATA records .* and \([0-9]*\) plain DATA records (\([0-9]*\) bytes).*/\1 \2 \3/p'; }
# csent FILE: "ZDATA-sent plain-sent ZDATA-received plain-received" from -v
csent() { sed -n 's/.*compression: sent \([0-9]*\) ZDATA records .* and \([0-9]*\) plain DATA records .*received \([0-9]*\) ZDATA and \([0-9]*\) plain.*/\1 \2 \3 \4/p' "$1"; }

# --- get ----------------------------------------------------------------
fast -v get -H "$T/text" "$T/got.text" 2>"$T/c1"
check "get of 6 MiB of text is exact" cmp "$T/text" "$T/got.text"
check "the client says compression is on" grep -q "data compression: on" "$T/c1"
set -- $(zrec "$(zlog get)")
check "the agent sent the text as ZDATA records ($1 of them, $2 plain)" \
	test "${1:-0}" -gt 0
set -- $(csent "$T/c1")
check "the client received them as ZDATA ($3 records)" test "${3:-0}" -gt 0

fast -v get -H "$T/random" "$T/got.random" 2>"$T/c2"
check "get of 6 MiB of random bytes is exact" cmp "$T/random" "$T/got.random"
is "random bytes went as plain DATA records only, all of them" \
	"$(zrec "$(zlog get)" | awk '{ print $1, $3 }')" "0 6291456"

# --- put ----------------------------------------------------------------
fast -v put "$T/text" /put.text 2>"$T/c3"
check "put of 6 MiB of text is exact" cmp "$T/text" "$T/root/put.text"
set -- $(csent "$T/c3")
check "the client sent the text as ZDATA ($1 records, $2 plain)" test "${1:-0}" -gt 0
fast -v put "$T/random" /put.random 2>"$T/c4"
check "put of 6 MiB of random bytes is exact" cmp "$T/random" "$T/root/put.random"
set -- $(csent "$T/c4")
is "the client sent random bytes as plain DATA only" "${1:-x}" 0

# --- exec output and stdin ----------------------------------------------
fast exec -- cat "$T/text" >"$T/out.text" 2>/dev/null
check "exec output of 6 MiB of text is exact" cmp "$T/text" "$T/out.text"
set -- $(zrec "$(zlog exec)")
check "exec's output went as ZDATA ($1 records)" test "${1:-0}" -gt 0
fast exec -- cat "$T/random" >"$T/out.random" 2>/dev/null
check "exec output of 6 MiB of random bytes is exact" cmp "$T/random" "$T/out.random"
out=$(fast -v exec -i -- sha256sum <"$T/text" 2>"$T/c5" | cut -d' ' -f1)
is "6 MiB of text through exec's stdin: the digests agree" "$out" "$(sha "$T/text")"
set -- $(csent "$T/c5")
check "exec's stdin went as ZDATA ($1 records)" test "${1:-0}" -gt 0

# --- memory: flat over a large compressed get ----------------------------
for _ in 1 2 3 4 5 6 7 8; do cat "$T/text"; done >"$T/big"
rss0=$(rss_kb "$AGENT_PID")
fast get -H "$T/big" "$T/got.big" 2>/dev/null
rss1=$(rss_kb "$AGENT_PID")
cmp -s "$T/big" "$T/got.big" && rm -f "$T/got.big" || rss1=broken
check "the agent's RSS stays flat over a 48 MiB compressed get ($rss0 -> $rss1 kB)" \
	test "$rss1" -le $((rss0 + 1024))
rm -f "$T/big" "$T/got.big"

# --- peers without compression -------------------------------------------
fast -v --compress no get -H "$T/text" "$T/got.no" 2>"$T/c6"
check "--compress no: exact" cmp "$T/text" "$T/got.no"
check "--compress no: the client says so, and gets no ZDATA" \
	sh -c "grep -q 'data compression: off (--compress no)' '$T/c6' && ! grep -q 'received [1-9]' '$T/c6'"
# A client whose HELLO offers no capability, as before ZDATA existed:
# every DATA record of a text exec is plain (kind 7, never 9).
"$LLPEER" raw --via "unix:$T/s" --wait-ms 3000 \
	--request "exec={\"argv\":[\"head\",\"-c\",\"1048576\",\"$T/text\"]}" \
	>"$T/peer.out" 2>"$T/peer.err"
n7=$(grep -c '^7 1 ch1' "$T/peer.out"); n9=$(grep -c '^9 ' "$T/peer.out")
is "an old client (llpeer, caps []) gets plain DATA only ($n7 records)" \
	"$n9 $([ "$n7" -gt 0 ] && echo plain)" "0 plain"
stop_agent

# An agent that does not offer it.
start_agent --listen "unix:$T/s2" --compress no
for _ in $(seq 50); do [ -S "$T/s2" ] && break; sleep 0.1; done
"$LIFELINE" --insecure --via "unix:$T/s2" -v get -H "$T/text" "$T/got.old" 2>"$T/c7"
check "an agent with --compress no: exact" cmp "$T/text" "$T/got.old"
check "the client says the agent does not offer it" \
	grep -q "data compression: off (the agent does not offer it)" "$T/c7"
stop_agent

# --- SSH inside the link, over the emulator -------------------------------
ssh_setup
start_emu a b --baud 921600 --seed 14
start_agent_ssh --serial "$T/a,921600"
VIA="serial:$T/b,921600"
head -c 1048576 "$T/text" >"$T/text1"
lls --accept-new-host-key -v get -H "$T/text1" "$T/got.ssh" 2>"$T/c8"
set -- $(csent "$T/c8")
check "SSH in the link: 1 MiB of text is exact, received as ZDATA ($3 records)" \
	sh -c "cmp '$T/text1' '$T/got.ssh' && test '${3:-0}' -gt 0"
