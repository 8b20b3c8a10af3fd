#!/bin/sh
# Benchmark (figures, not assertions) of lifeline attach --deploy: from a
# busybox shell prompt (tests/rescue-shell.sh, on a pty behind the link
# emulator) to info answering over SSH from the deployed agent.  Prints,
# per line: the whole time, the time to type the first stage, and the time
# to send the agent over the link.  Needs root (the rescue shell's mount
# namespace); skipped otherwise.
#
# BENCH_DEPLOY_CASES picks the cases (default "clean noisy"; "slow-clean"
# and "slow" add 9600 baud, clean and with the same noise: about 35 min
# each, the agent's 1.6 MiB at 9600's 960 bytes a second).
set -u
top_builddir=${top_builddir:-$(pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
if [ "$(id -u)" != 0 ] || ! command -v busybox >/dev/null 2>&1; then
	echo "deploy bench: skipped (needs root and busybox)"
	exit 0
fi
BUNDLE=$top_builddir/deploy/lifeline-bundle-$(uname -m)
T=$(mktemp -d /tmp/lifeline-bench.XXXXXX)
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 1' INT TERM
ssh-keygen -q -t ed25519 -N '' -f "$T/key"

# run LABEL BAUD LINKEMU_OPTS...
run() {
	label=$1 baud=$2; shift 2
	for p in $PIDS; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; PIDS=""
	rm -f "$T/a" "$T/b" "$T/emu.out" "$T/kh" "$T/pid"
	"$top_builddir/tests/linkemu" --a "$T/a" --b "$T/b" --baud "$baud" \
		--seed 7 --duration-s 20000 "$@" >"$T/emu.out" 2>"$T/emu.log" &
	PIDS="$!"
	for _ in $(seq 100); do grep -q ready "$T/emu.out" 2>/dev/null && break; sleep 0.05; done
	socat "$T/a,raw,echo=0" \
		"EXEC:$top_srcdir/tests/rescue-shell.sh $T/pid,pty,setsid,ctty,stderr" \
		2>/dev/null &
	PIDS="$PIDS $!"
	sleep 1
	t0=$(date +%s.%N)
	"$top_builddir/client/lifeline" -v --via "tty:$T/b" --baud "$baud" \
		-i "$T/key" --known-hosts "$T/kh" attach --deploy \
		--bundle "$BUNDLE" -- info >"$T/out" 2>"$T/err"
	rc=$?
	t1=$(date +%s.%N)
	typed=$(sed -n 's/.*first stage typed in \([0-9.]*\) s.*/\1/p' "$T/err")
	sent=$(sed -n 's/.*bytes in \([0-9.]*\) s).*/\1/p' "$T/err")
	printf '%-44s %s  total %6.1f s  (stage typed %s s, agent sent %s s)\n' \
		"$label" "$([ $rc = 0 ] && grep -q '^agent' "$T/out" && echo ok || echo FAILED)" \
		"$(echo "$t1 - $t0" | bc)" "${typed:-?}" "${sent:-?}"
	[ "$rc" = 0 ] || grep -v 'link: console' "$T/err" | tail -n 3 | sed 's/^/    /'
}

echo "deploy: $(sed -n 's/^agent \([0-9]*\) .*/agent archive \1 bytes/p' "$BUNDLE"), $(sed -n 's/^stage1 \([0-9]*\) .*/stage \1 bytes/p' "$BUNDLE"); prompt to info over SSH"
for c in ${BENCH_DEPLOY_CASES:-clean noisy}; do
	case $c in
	clean) run "115200, clean" 115200 ;;
	noisy) run "115200, BER 1e-5, kernel message / 2 s" 115200 \
		--ber 1e-5 --kmsg-interval-ms 2000 --kmsg-side b ;;
	slow-clean) run "9600, clean" 9600 ;;
	slow) run "9600, BER 1e-5, kernel message / 2 s" 9600 \
		--ber 1e-5 --kmsg-interval-ms 2000 --kmsg-side b ;;
	esac
done
