#!/bin/sh
# Exit codes as the README's table has them (issue 13, item 7): no path is
# a usage error (2) for every command, exec and fsck included; so is an
# empty LIFELINE_VIA ("no path given") and a malformed --via spec; a plain
# device path means serial:; exec --timeout running out exits 124 as
# timeout(1) does.  With --json a failure still prints one JSON object
# (issue 13, item 6), and errors name no internal operation (item 8).
# Real agent on a socat PTY pair.
. "$(dirname "$0")/lib.sh"
plan 21

unset LIFELINE_VIA
for c in "info" "exec -- true" "fsck /dev/null" "get /a $T/b" "console" "proxy" "ping"; do
	# shellcheck disable=SC2086
	"$LIFELINE" $c >"$T/out" 2>&1
	rc=$?
	if [ "$rc" -eq 2 ] && grep -q "no path to the agent" "$T/out"; then
		ok "no --via: $c exits 2 naming the missing path"
	else
		not_ok "no --via: $c exits 2 naming the missing path"; diag "rc $rc: $(cat "$T/out")"
	fi
done
LIFELINE_VIA= "$LIFELINE" info >"$T/out" 2>&1
is "LIFELINE_VIA= (empty): exit 2" "$?" 2
grep -q "no path given: LIFELINE_VIA is empty" "$T/out"
is "saying no path was given" "$?" 0
for c in "info" "exec -- true" "fsck /dev/null"; do
	# shellcheck disable=SC2086
	"$LIFELINE" --via bogus $c >/dev/null 2>&1
	is "a malformed spec: $c exits 2" "$?" 2
done

start_ptys a b
start_agent --serial "$T/a"
out=$("$LIFELINE" --insecure --via "$T/b" exec -- echo plain 2>/dev/null)
is "--via /dev/... (a plain device path) is a serial path" "$out" plain
"$LIFELINE" --insecure --via "serial:$T/b" exec --timeout 1 -- sleep 30 >/dev/null 2>"$T/err"
is "exec --timeout that runs out exits 124, as timeout(1)" "$?" 124
grep -q "timed out" "$T/err"
is "and says it timed out" "$?" 0

jf() { python3 -c 'import json,sys; o=json.loads(sys.stdin.read()); print(o["error"]["code"], o["exit_status"])'; }
is "--json, no path: one object, code usage, status 2" "$("$LIFELINE" --json info 2>/dev/null | jf)" "usage 2"
is "--json, a closed socket: code connect, status 3" "$("$LIFELINE" --json --via "unix:$T/none" info 2>/dev/null | jf)" "connect 3"
"$LIFELINE" --insecure --via "$T/b" --json get --rescue-host /nonexistent/file "$T/x" >"$T/json" 2>"$T/err"
is "--json, an agent error: the agent's code and status 1" "$(jf <"$T/json")" "not_found 1"
python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["error"]["message"])' "$T/json" | grep -q /nonexistent/file
is "and its message, naming the file" "$?" 0
grep -q -e "file-stat" -e "file-get" "$T/err" "$T/json"
is "no internal operation name in the error" "$?" 1
out=$("$LIFELINE" --insecure --via "$T/b" --json info 2>/dev/null | python3 -c 'import json,sys; print("error" in json.load(sys.stdin))')
is "--json on success has no error" "$out" False
