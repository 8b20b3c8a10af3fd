#!/bin/sh
# Run libFuzzer targets for make fuzz / make fuzz-soak, JOBS at a time, and
# print per target: executions, executions per second, coverage (cov: edges,
# ft: features) from libFuzzer's final statistics, and whether it found
# anything.  Crashes go to fuzz-crashes/NAME-*; add each to
# tests/data/fuzz/NAME/ as a regression input once it is fixed.
#
#   run.sh SRCDIR SECONDS RUNS JOBS NAME...
# RUNS 0 means no limit on executions.  Exit status 1 when any target
# failed (a crash, a leak, a broken property, a timeout).  FUZZ_TIMEOUT is
# libFuzzer's limit per input in seconds of wall time (10): a soak under
# nice 19 beside busy builds needs more, or starvation looks like a hang.
set -u
srcdir=$1 seconds=$2 runs=$3 jobs=$4
shift 4
mkdir -p fuzz-corpus fuzz-crashes fuzz-logs

one() {
	t=$1
	mkdir -p "fuzz-corpus/$t"
	limit="-max_total_time=$seconds"
	[ "$runs" != 0 ] && limit="$limit -runs=$runs"
	# shellcheck disable=SC2086
	"tests/fuzz/fuzz-$t" $limit -max_len=16384 -timeout="${FUZZ_TIMEOUT:-10}" \
		-rss_limit_mb=1024 -print_final_stats=1 \
		-artifact_prefix="fuzz-crashes/$t-" \
		"fuzz-corpus/$t" "$srcdir/tests/data/fuzz/$t" \
		>"fuzz-logs/$t.log" 2>&1
	rc=$?
	# UBSan aborts in this build (-fno-sanitize-recover); a report in the
	# log from a build without that still fails the target
	grep -q 'runtime error:' "fuzz-logs/$t.log" && rc=1
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "fuzz-logs/$t.log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "fuzz-logs/$t.log")
	cov=$(grep -E '^#[0-9]+.*cov: ' "fuzz-logs/$t.log" | tail -n 1 |
		sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\).*/\1 \2/p')
	set -- $cov
	if [ $rc = 0 ]; then verdict=ok; else verdict="FAILED (fuzz-logs/$t.log)"; fi
	printf '%-12s execs %-10s execs/s %-7s cov %-5s ft %-6s %s\n' \
		"$t" "${execs:-?}" "${rate:-?}" "${1:-?}" "${2:-?}" "$verdict"
	[ $rc = 0 ]
}

fail=0
pids=
running=0
for t in "$@"; do
	one "$t" &
	pids="$pids $!"
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		# wait for the oldest: targets run for about the same time
		set -- $pids
		wait "$1" || fail=1
		shift
		pids="$*"
		running=$((running - 1))
	fi
done
for p in $pids; do
	wait "$p" || fail=1
done
exit $fail
