#!/bin/sh
# The benchmarks are not run by make check (they measure, and take tens of
# minutes); this only checks that each script parses (sh -n) and that
# anchors.sh refuses a misspelt setting with an error naming it, before it
# starts anything.
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $*"; }
scripts=$(ls "$top_srcdir"/tests/bench/*.sh)
echo "1..$(($(echo "$scripts" | wc -l) + 2))"
for s in $scripts; do
	if out=$(sh -n "$s" 2>&1); then ok "sh -n ${s##*/}"
	else not_ok "sh -n ${s##*/}"; echo "$out" | sed 's/^/# /'; fi
done
# bad SETTING=VALUE WORD: exit 2 and WORD in the message
bad() {
	out=$(env "$1" sh "$top_srcdir/tests/bench/anchors.sh" 2>&1 </dev/null)
	rc=$?
	if [ "$rc" -eq 2 ] && echo "$out" | grep -q -- "$2"; then
		ok "anchors.sh refuses $1"
	else
		not_ok "anchors.sh refuses $1 (exit $rc)"; echo "$out" | sed 's/^/# /'
	fi
}
bad BENCH_ANCHOR_CASES="clean noisy" '"noisy" in BENCH_ANCHOR_CASES'
bad BENCH_ANCHOR_KIB=12k '"12k" is not a positive whole number'
