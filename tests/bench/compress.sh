#!/bin/sh
# Benchmark (figures, not assertions) of data compression (ZDATA records,
# docs/protocol.md): `get --rescue-host` over the link emulator at 115200
# baud on a clean line, of text (C headers from /usr/include, logs from
# /var/log, files of /etc) and of random data, with compression on (the
# default) and off (--compress no), without SSH (--insecure) and with SSH
# inside the link.  Each line: wall time of the whole client run (connect,
# handshake and transfer), bytes, and goodput as % of the raw line rate
# (11520 B/s).  Then the agent's peak RSS (VmHWM from /proc/PID/status)
# during a get of BENCH_MEM_MB MiB (1024 by default; a sparse file, so
# zeros, and random data) over --listen unix:, compression on and off,
# without and with SSH, for the build's agent and the deploy bundle's.
#
#   BENCH_ZTEXT   bytes of each text corpus (default 1048576)
#   BENCH_ZRAND   bytes of random data (default 262144)
#   BENCH_MEM_MB  MiB of the memory runs (0: skip them)
#
# Run from the build directory: make bench-compress, or
# sh tests/bench/compress.sh.
set -u
top_builddir=${top_builddir:-$(pwd)}
TEXT=${BENCH_ZTEXT:-1048576}
RAND=${BENCH_ZRAND:-262144}
MEM_MB=${BENCH_MEM_MB:-1024}
RATE=11520
T=$(mktemp -d /tmp/lifeline-zbench.XXXXXX)
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 1' INT TERM

# corpus NAME FILES...: the first $TEXT bytes of the files, concatenated
# (repeated when they hold less).
corpus() {
	name=$1; shift
	: >"$T/$name.all"
	for f in "$@"; do
		[ -f "$f" ] && [ -r "$f" ] && cat "$f" >>"$T/$name.all" 2>/dev/null
		[ "$(wc -c <"$T/$name.all")" -ge "$TEXT" ] && break
	done
	[ -s "$T/$name.all" ] || { echo "no $name to read"; return 1; }
	while [ "$(wc -c <"$T/$name.all")" -lt "$TEXT" ]; do
		cat "$T/$name.all" "$T/$name.all" >"$T/$name.2" && mv "$T/$name.2" "$T/$name.all"
	done
	head -c "$TEXT" "$T/$name.all" >"$T/$name" && rm -f "$T/$name.all"
}
# Text files only: grep -I skips binaries (compressed logs, keyrings).
corpus headers $(find /usr/include -name '*.h' -type f 2>/dev/null | sort)
corpus logs $(find /var/log -type f 2>/dev/null | sort | xargs -r grep -lI . 2>/dev/null)
corpus etc $(find /etc -type f 2>/dev/null | sort | xargs -r grep -lI . 2>/dev/null)
head -c "$RAND" /dev/urandom >"$T/random"

. "$(dirname "$0")/sec.sh"	# SSH, AGENT_SEC, CLIENT_SEC
stop() { for p in $PIDS; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; PIDS=""; }

start() {	# a fresh emulator (clean line, 115200) and agent
	stop
	rm -f "$T/a" "$T/b" "$T/emu.out"
	"$top_builddir/tests/linkemu" --a "$T/a" --b "$T/b" --baud 115200 \
		--seed 7 --duration-s 1200 >"$T/emu.out" 2>"$T/emu.log" &
	PIDS="$!"
	for _ in $(seq 100); do grep -q ready "$T/emu.out" 2>/dev/null && break; sleep 0.05; done
	"$top_builddir/agent/lifelined" --serial "$T/a,115200" $(AGENT_SEC) 2>/dev/null &
	PIDS="$PIDS $!"
	sleep 0.3
}

run() {	# run FILE COMPRESS(yes|no): one timed get
	f=$1; z=$2
	size=$(wc -c <"$T/$f")
	rm -f "$T/got"
	t0=$(date +%s.%N)
	"$top_builddir/client/lifeline" $(CLIENT_SEC) --via "serial:$T/b,115200" \
		--compress "$z" get -H "$T/$f" "$T/got" >/dev/null 2>&1
	t1=$(date +%s.%N)
	if cmp -s "$T/$f" "$T/got"; then ok=exact; else ok=CORRUPT; fi
	awk -v l="$f, compress $z" -v s="$size" -v a="$t0" -v b="$t1" -v r="$RATE" -v ok="$ok" \
		'BEGIN { t = b - a; printf "  %-24s %8d B %6.1f s %7.0f B/s %6.1f%% of line rate (%s)\n", l, s, t, s / t, 100 * s / t / r, ok }'
}

echo "compression at 115200 baud 8N1 on a clean emulated line ($RATE B/s raw), get --rescue-host"
for SSH in 0 1; do
	if [ "$SSH" = 1 ]; then echo "SSH inside the link:"; else echo "--insecure:"; fi
	start
	for f in headers logs etc; do run "$f" yes; done
	run headers no
	run random yes
	run random no
	stop
done

[ "$MEM_MB" -gt 0 ] 2>/dev/null || exit 0
# Peak RSS of the agent during a get over a unix socket (no line rate, so
# as fast as the machine goes): VmHWM, read from /proc after the get, and
# the part of it that is the agent's own (Private_Clean + Private_Dirty of
# /proc/PID/smaps_rollup after the get; the rest is library code mapped
# from the page cache and shared with every other process using it).  For
# the build's agent (libssh and libcrypto shared libraries) and, when `make
# bundle` has built it, the portable agent of the deploy bundle (libssh and
# libcrypto linked in: what runs on a rescue host after attach --deploy),
# each without SSH (--insecure) and with SSH inside the link.
echo "agent memory: peak RSS (VmHWM) during a get of $MEM_MB MiB over --listen unix:"
mkdir -p "$T/mem"
truncate -s "${MEM_MB}M" "$T/mem/sparse"
head -c "$((MEM_MB * 1048576))" /dev/urandom >"$T/mem/random"
AGENTS="build:$top_builddir/agent/lifelined"
[ -x "$top_builddir/deploy/lifelined-portable" ] &&
	AGENTS="$AGENTS portable:$top_builddir/deploy/lifelined-portable"
for ag in $AGENTS; do
	bin=${ag#*:}
	for SSH in 0 1; do
		for f in sparse random; do
			for z in yes no; do
				rm -f "$T/sock" "$T/got"
				"$bin" --listen "unix:$T/sock" $(AGENT_SEC) \
					--compress "$z" 2>/dev/null &
				AGENT=$!
				PIDS=$AGENT
				for _ in $(seq 100); do [ -S "$T/sock" ] && break; sleep 0.05; done
				idle=$(awk '/^VmHWM/ { print $2 }' "/proc/$AGENT/status")
				t0=$(date +%s.%N)
				"$top_builddir/client/lifeline" $(CLIENT_SEC) --via "unix:$T/sock" \
					--compress "$z" get -H "$T/mem/$f" "$T/got" >/dev/null 2>&1
				t1=$(date +%s.%N)
				hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$AGENT/status")
				own=$(awk '/^Private_(Clean|Dirty):/ { s += $2 } END { print s + 0 }' \
					"/proc/$AGENT/smaps_rollup" 2>/dev/null)
				if cmp -s "$T/mem/$f" "$T/got"; then ok=exact; else ok=CORRUPT; fi
				stop
				rm -f "$T/got"
				sec=insecure
				[ "$SSH" = 1 ] && sec=ssh
				awk -v l="${ag%%:*} $sec, $f, compress $z" -v i="$idle" -v h="$hwm" -v o="${own:-0}" -v a="$t0" -v b="$t1" -v m="$MEM_MB" -v ok="$ok" \
					'BEGIN { printf "  %-36s VmHWM %6d kB (%.2f MiB; %d kB before the get; own %d kB), %5.1f s, %6.1f MiB/s (%s)\n", l, h, h / 1024, i, o, b - a, m / (b - a), ok }'
			done
		done
	done
done
