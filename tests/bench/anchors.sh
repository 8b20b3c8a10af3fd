#!/bin/sh
# lifeline beside its anchors (figures, not assertions; issue 14): the same
# files sent over the project's link emulator (tests/linkemu, 8N1) by
# lrzsz's ZMODEM (sz/rz), by C-Kermit with sliding windows, and by lifeline
# (`get --rescue-host`, --insecure and with SSH inside the link), in one run,
# with the same seed and the same conditions for every tool:
#
#   clean   115200, clean line
#   ber5    115200, BER 1e-5 and a kernel line every 2 s (both directions)
#   ber4    115200, BER 1e-4 and a kernel line every 2 s
#   slow    9600,   BER 1e-5 and a kernel line every 2 s
#   7bit    115200, clean; lifeline in its 7-bit coding (--encoding 7bit)
#           and Kermit with `set parity space` (8th-bit prefixing), both of
#           which put only 7-bit bytes on the line; ZMODEM needs 8 bits.
#           Not in the default set (BENCH_ANCHOR_CASES).
#
# and two files per condition: "random" (seeded pseudo-random bytes) and
# "text" (the C headers of /usr/include concatenated).  Each transfer runs
# on a fresh emulator (same --seed, so the noise falls on the same byte
# positions of the line) and under a time limit; its result is compared
# byte for byte with the source.  The figure is the share of the line rate:
# bytes / seconds / (baud / 10), the time running from the sender's start
# (the receiver, or lifelined, already waiting) to both ends' exit (for
# ZMODEM to sz's exit, see run_zmodem).
# Printed: one line per transfer as it ends (with how busy the line was in
# the data's direction, and the emulator's overruns, which mean the machine
# was too loaded for the figure to count), then a Markdown table like the
# issue's and the agent's peak RSS (VmHWM) in the lifeline transfers.
#
# The tools run on the emulator's two PTY ends: sz with stdin and stdout on
# end A, rz likewise on end B; kermit in local mode on both ends (`set line`,
# one command file each); lifelined --serial on A, lifeline --via serial: on B.
# ZMODEM: `sz -b`, `rz -b -y` (lrzsz's defaults otherwise: 1 KiB subpackets,
# streaming, ZDLE-escaped control characters).  Kermit: `set window 31`,
# block check 3, `set prefixing minimal`, binary, and a packet length per
# case, since Kermit keeps the one it is given: 9024 on clean lines, 512 at
# BER 1e-5, 256 at BER 1e-4 (the best of 256..9024 in a sweep here with
# 128 KiB; at 1e-5 long packets are lost so often that 9024 ends in
# "failed", 2048 gives 60%, 512 80%).  BENCH_KERMIT_PACKET sets one length
# for all cases.
#
# Settings (environment):
#   BENCH_ANCHOR_CASES   "clean ber5 ber4 slow" (add 7bit for that row)
#   BENCH_ANCHOR_DATA    "random text"
#   BENCH_ANCHOR_TOOLS   "zmodem kermit insecure ssh"
#   BENCH_ANCHOR_KIB     256 (KiB per file at 115200)
#   BENCH_ANCHOR_SLOW_KIB 24 (KiB per file at 9600)
#   BENCH_ANCHOR_LIMIT_S  150 at 115200, BENCH_ANCHOR_SLOW_LIMIT_S 180 at 9600
#   BENCH_ANCHOR_SEED     7 (the emulator's seed; the random file's too)
#   BENCH_KERMIT_PACKET   Kermit's packet length (default: per case, above)
#
# sz/rz and kermit come from the Debian packages lrzsz and ckermit
# (`./bootstrap bench` installs them); a missing tool's column says so.
# Run with `make bench-anchors` (or `make bench`) from the build directory.
set -u
top_builddir=${top_builddir:-$(pwd)}
CASES=${BENCH_ANCHOR_CASES:-"clean ber5 ber4 slow"}
DATAS=${BENCH_ANCHOR_DATA:-"random text"}
TOOLS=${BENCH_ANCHOR_TOOLS:-"zmodem kermit insecure ssh"}
KIB=${BENCH_ANCHOR_KIB:-256}
SLOW_KIB=${BENCH_ANCHOR_SLOW_KIB:-24}
LIMIT=${BENCH_ANCHOR_LIMIT_S:-150}
SLOW_LIMIT=${BENCH_ANCHOR_SLOW_LIMIT_S:-180}
SEED=${BENCH_ANCHOR_SEED:-7}
EMU=$top_builddir/tests/linkemu
AGENT=$top_builddir/agent/lifelined
CLIENT=$top_builddir/client/lifeline

# Names are checked before anything starts.
for c in $CASES; do
	case $c in clean|ber5|ber4|slow|7bit) ;;
	*) echo "anchors: unknown case \"$c\" in BENCH_ANCHOR_CASES (clean ber5 ber4 slow 7bit)" >&2; exit 2 ;;
	esac
done
for d in $DATAS; do
	case $d in random|text) ;;
	*) echo "anchors: unknown data \"$d\" in BENCH_ANCHOR_DATA (random text)" >&2; exit 2 ;;
	esac
done
for tool in $TOOLS; do
	case $tool in zmodem|kermit|insecure|ssh) ;;
	*) echo "anchors: unknown tool \"$tool\" in BENCH_ANCHOR_TOOLS (zmodem kermit insecure ssh)" >&2; exit 2 ;;
	esac
done
for n in "$KIB" "$SLOW_KIB" "$LIMIT" "$SLOW_LIMIT" "$SEED" "${BENCH_KERMIT_PACKET:-1}"; do
	case $n in ''|*[!0-9]*|0)
		echo "anchors: \"$n\" is not a positive whole number (BENCH_ANCHOR_KIB, _SLOW_KIB, _LIMIT_S, _SLOW_LIMIT_S, _SEED, BENCH_KERMIT_PACKET)" >&2
		exit 2 ;;
	esac
done

for p in "$EMU" "$AGENT" "$CLIENT"; do
	[ -x "$p" ] || { echo "anchors: $p is missing: run make first" >&2; exit 1; }
done

T=$(mktemp -d /tmp/lifeline-anchors.XXXXXX)
PIDS=""
stop() { for p in $PIDS; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; PIDS=""; }
cleanup() { stop; rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 1' INT TERM

# What each tool needs, and why a column is empty without it.
MISSING_zmodem=; MISSING_kermit=
command -v sz >/dev/null && command -v rz >/dev/null ||
	MISSING_zmodem="n/a (lrzsz not installed: ./bootstrap bench)"
command -v kermit >/dev/null ||
	MISSING_kermit="n/a (ckermit not installed: ./bootstrap bench)"
[ -n "$MISSING_zmodem$MISSING_kermit" ] &&
	echo "anchors: $MISSING_zmodem $MISSING_kermit" >&2

mkdir -p "$T/src" "$T/rx"
# One file per size and kind, made once, used by every tool.
mkfile() {	# mkfile KIND KIB -> path
	f="$T/src/$1-$2k"
	if [ ! -f "$f" ]; then
		case $1 in
		random)	python3 -c 'import random, sys
random.seed(int(sys.argv[1])); sys.stdout.buffer.write(random.randbytes(int(sys.argv[2]) * 1024))' \
			    "$SEED" "$2" >"$f" ;;
		text)	# sorted, so every run takes the same headers
			find /usr/include -name '*.h' -type f | LC_ALL=C sort |
			    xargs cat 2>/dev/null | head -c $(($2 * 1024)) >"$f" ;;
		esac
		[ "$(wc -c <"$f")" -eq $(($2 * 1024)) ] ||
			{ echo "anchors: could not make $1 data of $2 KiB" >&2; exit 1; }
	fi
	echo "$f"
}

# Key material for the SSH cases, each side's options (AGENT_SEC, CLIENT_SEC).
. "$(dirname "$0")/sec.sh"

emu_start() {	# emu_start BAUD LINKEMU_OPTS...
	stop
	rm -f "$T/a" "$T/b" "$T/emu.out" "$T/emu.stats"
	b=$1; shift
	"$EMU" --a "$T/a" --b "$T/b" --baud "$b" --seed "$SEED" --duration-s 3600 \
		--stats "$T/emu.stats" "$@" >"$T/emu.out" 2>"$T/emu.log" &
	PIDS=$!
	for _ in $(seq 100); do grep -q ready "$T/emu.out" 2>/dev/null && break; sleep 0.05; done
	grep -q ready "$T/emu.out" || { echo "anchors: linkemu did not start" >&2; cat "$T/emu.log" >&2; exit 1; }
	# The PTYs' nominal speed, for the tools that size blocks by it.
	stty -F "$T/a" "$b" 2>/dev/null; stty -F "$T/b" "$b" 2>/dev/null
}

now() { date +%s.%N; }

# Each runner: run_TOOL FILE BAUD LIMIT CASE; leaves "rc seconds" in $T/res
# and the received file in $T/rx/.
run_zmodem() {
	f=$1; b=$2; lim=$3
	(cd "$T/rx" && exec timeout --foreground -k 5 "$lim" rz -b -y <"$T/b" >"$T/b" 2>"$T/rz.log") &
	r=$!
	PIDS="$PIDS $r"
	sleep 0.3
	t0=$(now)
	timeout --foreground -k 5 "$lim" sz -b "$f" <"$T/a" >"$T/a" 2>"$T/sz.log"
	rc=$?
	t1=$(now)
	# sz exits once rz has answered its ZFIN, i.e. after rz closed the
	# file.  Its closing "OO" then often dies in the PTY's output queue
	# (sz flushes the tty as it exits, before the emulator has taken the
	# two bytes), and rz waits 3 x 10 s for it: the time ends at sz's exit,
	# rz gets 2 s more and is then stopped.
	for _ in $(seq 20); do kill -0 "$r" 2>/dev/null || break; sleep 0.1; done
	kill "$r" 2>/dev/null
	wait "$r"
	echo "$rc $(echo "$t1 - $t0" | bc)" >"$T/res"
}

run_kermit() {
	f=$1; b=$2; lim=$3; c=$4
	par=
	[ "$c" = 7bit ] && par="set parity space"
	case $c in
	ber5|slow) pl=512 ;;
	ber4)	pl=256 ;;
	*)	pl=9024 ;;
	esac
	pl=${BENCH_KERMIT_PACKET:-$pl}
	for side in a b; do
		cat >"$T/k$side.ksc" <<-K
		set line $T/$side
		set speed $b
		set carrier-watch off
		set flow none
		$par
		set file type binary
		set file collision overwrite
		set window 31
		set receive packet-length $pl
		set send packet-length $pl
		set block-check 3
		set prefixing minimal
		K
	done
	printf 'cd %s\nreceive\nexit \\v(status)\n' "$T/rx" >>"$T/kb.ksc"
	printf 'send %s\nexit \\v(status)\n' "$f" >>"$T/ka.ksc"
	timeout --foreground -k 5 "$lim" kermit -Y -B -C "take $T/kb.ksc" >"$T/kb.log" 2>&1 &
	r=$!
	PIDS="$PIDS $r"
	sleep 0.3
	t0=$(now)
	timeout --foreground -k 5 "$lim" kermit -Y -B -C "take $T/ka.ksc" >"$T/ka.log" 2>&1
	rc=$?
	wait "$r" || rc=$((rc ? rc : 1))
	echo "$rc $(echo "$(now) - $t0" | bc)" >"$T/res"
}

run_lifeline() {	# run_lifeline FILE BAUD LIMIT CASE ssh|insecure
	f=$1; b=$2; lim=$3; c=$4; sec=$5
	enc=auto
	[ "$c" = 7bit ] && enc=7bit
	SSH=0
	[ "$sec" = ssh ] && SSH=1
	asec=$(AGENT_SEC); csec=$(CLIENT_SEC)
	"$AGENT" --serial "$T/a,$b" $asec 2>"$T/agent.log" &
	apid=$!
	PIDS="$PIDS $apid"
	sleep 0.3
	t0=$(now)
	# -v: the client's link statistics at the end (stderr, a file)
	timeout --foreground -k 5 "$lim" "$CLIENT" -v $csec --via "serial:$T/b,$b" --encoding "$enc" \
		get --rescue-host "$f" "$T/rx/" >/dev/null 2>"$T/client.log"
	rc=$?
	t1=$(now)
	hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$apid/status" 2>/dev/null)
	echo "$rc $(echo "$t1 - $t0" | bc) ${hwm:-}" >"$T/res"
	# What the client's link saw: frames from the agent that failed the
	# CRC, and duplicates (the agent's needless retransmissions).
	sed -n 's/.*link: .* \([0-9]*\) received, \([0-9]*\) CRC errors, \([0-9]*\) duplicates.*alphabet \([0-9]*\).*/\1 frames in, \2 CRC errors, \3 duplicates, R = \4/p' \
		"$T/client.log" | tail -n 1 >"$T/linkstats"
}

# The table's cells, one file per row: "TOOL<TAB>cell" lines.
ROWS=""
label() {	# label CASE DATA
	case $1 in
	clean)	l="115200 clean" ;;
	ber5)	l="115200 BER 1e-5 + kernel line / 2 s" ;;
	ber4)	l="115200 BER 1e-4 + kernel line / 2 s" ;;
	slow)	l="9600 BER 1e-5 + kernel line / 2 s" ;;
	7bit)	l="115200 clean, 7-bit" ;;
	esac
	echo "$l, $2"
}

echo "lifeline beside ZMODEM and Kermit over tests/linkemu (8N1, seed $SEED);"
echo "$KIB KiB per file at 115200, $SLOW_KIB KiB at 9600; % of the line rate (baud/10 B/s)"
for c in $CASES; do
	case $c in
	clean|7bit) baud=115200 kib=$KIB lim=$LIMIT opts= ;;
	ber5)	baud=115200 kib=$KIB lim=$LIMIT opts="--ber 1e-5 --kmsg-interval-ms 2000 --kmsg-side both" ;;
	ber4)	baud=115200 kib=$KIB lim=$LIMIT opts="--ber 1e-4 --kmsg-interval-ms 2000 --kmsg-side both" ;;
	slow)	baud=9600 kib=$SLOW_KIB lim=$SLOW_LIMIT opts="--ber 1e-5 --kmsg-interval-ms 2000 --kmsg-side both" ;;
	esac
	for d in $DATAS; do
		f=$(mkfile "$d" "$kib") || exit 1
		row=$T/row.$c.$d
		: >"$row"
		ROWS="$ROWS $row"
		for tool in $TOOLS; do
			eval "miss=\${MISSING_$tool:-}"
			if [ "$c" = 7bit ] && [ "$tool" = zmodem ]; then
				miss="n/a (needs an 8-bit line)"
			fi
			if [ -n "$miss" ]; then
				printf '%s\t%s\t\n' "$tool" "$miss" >>"$row"
				continue
			fi
			rm -rf "$T/rx"; mkdir -p "$T/rx"
			: >"$T/linkstats"
			emu_start "$baud" $opts
			case $tool in
			zmodem)	run_zmodem "$f" "$baud" "$lim" "$c" ;;
			kermit)	run_kermit "$f" "$baud" "$lim" "$c" ;;
			insecure|ssh) run_lifeline "$f" "$baud" "$lim" "$c" "$tool" ;;
			esac
			stop	# linkemu writes its statistics as it ends
			read -r rc secs hwm <"$T/res"
			# The data flows A->B for every tool: how busy the line
			# was (bytes carried / the time's capacity) tells a slow
			# protocol from endpoints that left the line idle, and
			# overruns (bytes lost because a side did not read) say
			# the machine was too loaded for the figure to count.
			busy=$(awk -F= -v s="$secs" -v b="$baud" '
			    $1 == "ab_carried" { c = $2 } $1 ~ /_overrun$/ { o += $2 }
			    END { printf "line busy %.0f%%%s", 100 * c / s / (b / 10), o ? ", " o " bytes overrun" : "" }' \
			    "$T/emu.stats" 2>/dev/null)
			got="$T/rx/$(basename "$f")"
			if [ "$rc" -ne 0 ]; then
				cell=$(awk -v s="$secs" 'BEGIN { printf "failed (%.0f s)", s }')
			elif ! cmp -s "$f" "$got"; then
				cell=$(awk -v s="$secs" 'BEGIN { printf "CORRUPT (%.0f s)", s }')
			else
				cell=$(awk -v n=$((kib * 1024)) -v s="$secs" -v b="$baud" \
				    'BEGIN { printf "%.1f%%", 100 * n / s / (b / 10) }')
			fi
			printf '%s\t%s\t%s\n' "$tool" "$cell" "${hwm:-}" >>"$row"
			printf '  %-46s %-8s %-18s %6.1f s  %s%s\n' "$(label "$c" "$d")" "$tool" "$cell" "$secs" \
			    "$busy" "${hwm:+, agent VmHWM $hwm kB}$(sed 's/^/; /' "$T/linkstats")"
		done
	done
done

col() {	# col ROWFILE TOOL FIELD
	awk -F '\t' -v t="$2" -v f="$3" '$1 == t { print $f }' "$1"
}
echo
printf '| case |'
for tool in $TOOLS; do
	case $tool in
	zmodem) printf ' ZMODEM |' ;; kermit) printf ' Kermit (windows) |' ;;
	insecure) printf ' lifeline --insecure |' ;; ssh) printf ' lifeline (SSH) |' ;;
	esac
done
echo
printf '| --- |'; for tool in $TOOLS; do printf ' --- |'; done; echo
for row in $ROWS; do
	n=${row#"$T"/row.}
	printf '| %s |' "$(label "${n%%.*}" "${n#*.}")"
	for tool in $TOOLS; do printf ' %s |' "$(col "$row" "$tool" 2)"; done
	echo
done
# The agent's peak resident set in each lifeline transfer, when measured.
rss=
for row in $ROWS; do
	for tool in insecure ssh; do
		[ -n "$(col "$row" "$tool" 3)" ] && rss=1
	done
done
if [ -n "$rss" ]; then
	echo
	echo "| case | agent VmHWM --insecure | agent VmHWM (SSH) |"
	echo "| --- | --- | --- |"
	for row in $ROWS; do
		n=${row#"$T"/row.}
		i=$(col "$row" insecure 3); s=$(col "$row" ssh 3)
		printf '| %s | %s | %s |\n' "$(label "${n%%.*}" "${n#*.}")" \
		    "${i:+$i kB}" "${s:+$s kB}"
	done
fi
