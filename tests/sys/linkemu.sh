#!/bin/sh
# TAP test for tests/linkemu: rate, exactness, bit-error rate, drops, kernel
# message injection, seed reproducibility, clean exit.  LINKEMU=path.
LINKEMU=${LINKEMU:-${top_builddir:-.}/tests/linkemu}
D=$(mktemp -d /tmp/linkemu.XXXXXX)
EP=; RP=
cleanup() {
	[ -n "$RP" ] && kill $RP 2>/dev/null
	[ -n "$EP" ] && kill $EP 2>/dev/null && wait $EP 2>/dev/null
	rm -rf "$D"
}
trap cleanup EXIT INT TERM
n=0; fails=0
ok() { n=$((n+1)); echo "ok $n - $1"; }
notok() { n=$((n+1)); fails=$((fails+1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else notok "$1"; fi; }

# start ARGS...: run the emulator, wait for "ready"
start() {
	rm -f "$D/a" "$D/b" "$D/ready" "$D/stats"
	"$LINKEMU" --a "$D/a" --b "$D/b" --stats "$D/stats" "$@" \
	    >"$D/ready" 2>"$D/emu.err" &
	EP=$!
	i=0
	until grep -q ready "$D/ready" 2>/dev/null; do
		i=$((i+1)); [ $i -gt 200 ] && return 1; sleep 0.02
	done
}
stop() { kill $EP; wait $EP; EP=; }
# send FILE: a reader on b, a writer on a; wait until OUT has SIZE bytes
send() {
	size=$2
	cat "$D/b" >"$D/out" & RP=$!
	sleep 0.2
	t0=$(date +%s%N)
	cat "$1" >"$D/a" &
	i=0
	while [ "$(stat -c %s "$D/out")" -lt "$size" ]; do
		i=$((i+1)); [ $i -gt 3000 ] && break; sleep 0.01
	done
	t1=$(date +%s%N)
	sleep 0.1
	kill $RP; wait $RP 2>/dev/null; RP=
}
stat_of() { sed -n "s/^$1=//p" "$D/stats"; }
bitdiff() {	# bits that differ between two equal-length files
	cmp -l "$1" "$2" | awk '
	    function oct(s,  v, i) {
		v = 0
		for (i = 1; i <= length(s); i++) v = v * 8 + substr(s, i, 1)
		return v
	    }
	    { x = oct($2); y = oct($3)
	      for (i = 0; i < 8; i++) { if (x % 2 != y % 2) t++
		x = int(x / 2); y = int(y / 2) } }
	    END { print t + 0 }'
}

echo "1..9"
head -c 100000 /dev/urandom >"$D/d100k"
head -c 1000000 /dev/urandom >"$D/d1m"

# 1-2: rate at 115200 (11520 B/s: 100 kB in 8.68 s, within 2%) and exactness
start --baud 115200 --seed 1
send "$D/d100k" 100000
stop
ms=$(( (t1 - t0) / 1000000 ))
# Never faster than the line; the upper bound only catches a broken pacer
# (make check asserts correctness, not timings: make bench measures).
check "100 kB at 115200 baud took ${ms} ms (8681 expected)" \
    "[ $ms -ge 8507 ] && [ $ms -le 13000 ]"
check "ber 0 is byte-exact" "cmp -s '$D/d100k' '$D/out'"

# ber_send: 1 MB through the line with bit errors at 1e-4, seed 42; again
# (at most 3 times) when the reader fell behind the 4 Mbaud line and the
# emulator overran it as a UART would (seen under load): that run's damage
# is not all bit flips
ber_send() {
	for _ in 1 2 3; do
		start --baud 4000000 --ber 1e-4 --seed 42
		send "$D/d1m" 1000000
		stop
		[ "$(stat_of ab_overrun)" = 0 ] && return 0
		echo "# the reader was overrun ($(stat_of ab_overrun) bytes): again"
	done
}

# 3-4: bit errors at 1e-4 over 1 MB: 800 flips expected (+-5 sigma)
ber_send
flips=$(stat_of ab_bits_flipped)
check "ber 1e-4: $flips bits flipped in 1e6 bytes (800 expected)" \
    "[ $flips -ge 660 ] && [ $flips -le 940 ]"
cp "$D/out" "$D/out1"
check "flipped bits in the data match the stats" \
    "[ \$(bitdiff '$D/d1m' '$D/out1') -eq $flips ]"

# 5: the same seed gives the same damage
ber_send
check "seed 42 reproduces the same output" "cmp -s '$D/out1' '$D/out'"

# 6: drops
start --baud 4000000 --drop 0.01 --seed 7
send "$D/d1m" 985000
stop
dropped=$(stat_of ab_dropped); got=$(stat -c %s "$D/out")
overrun=$(stat_of ab_overrun)
check "drop 0.01: $dropped dropped, $got received, $overrun overrun" \
    "[ $dropped -ge 9500 ] && [ $dropped -le 10500 ] && [ $((got + dropped + overrun)) -le 1000000 ] && [ $((got + dropped + overrun)) -ge 980000 ]"

# 7: kernel messages every 50 ms, towards b, mid-stream; --duration-s stops
start --baud 115200 --kmsg-interval-ms 50 --kmsg-side b --seed 3 \
    --duration-s 2.5
head -c 20000 "$D/d1m" >"$D/d20k"
cat "$D/b" >"$D/out" 2>/dev/null & RP=$!
cat "$D/d20k" >"$D/a" &
wait $EP; EP=
wait $RP 2>/dev/null; RP=
k=$(stat_of ab_kmsg); kb=$(stat_of ba_kmsg)
lines=$(tr -c '[:print:]\r\n' '.' <"$D/out" | grep -ac '^\[ *[0-9]*\.[0-9]\{6\}\] ')
check "kmsg: $k injected towards b ($kb towards a), $lines found in the stream" \
    "[ $k -ge 20 ] && [ $kb -eq 0 ] && [ $lines -ge $((k - 2)) ]"

# 8: latency 300 ms: a byte arrives no sooner
start --baud 115200 --latency-ms 300
cat "$D/b" >"$D/out" 2>/dev/null & RP=$!
sleep 0.2
t0=$(date +%s%N); printf x >"$D/a"
while [ "$(stat -c %s "$D/out")" -lt 1 ]; do sleep 0.005; done
t1=$(date +%s%N); kill $RP; wait $RP 2>/dev/null; RP=
ms=$(( (t1 - t0) / 1000000 ))
stop
check "latency 300 ms: one byte took $ms ms" "[ $ms -ge 295 ] && [ $ms -le 2000 ]"

# 9: clean exit removes the links
check "symlinks removed at exit" "[ ! -e '$D/a' ] && [ ! -L '$D/b' ]"
[ $fails -eq 0 ]
