#!/bin/sh
# Agent and client as real processes over a socat PTY pair: every first
# command, both encodings, the JSON output and the exit codes.
. "$(dirname "$0")/lib.sh"
plan 25

start_ptys a b
start_agent --serial "$T/a"
VIA="serial:$T/b"

# info
out=$(ll info 2>"$T/err") && ok "info succeeds" || not_ok "info succeeds: $(cat "$T/err")"
echo "$out" | grep -q "^kernel *$(uname -r)\$" && ok "info shows the kernel" || not_ok "info shows the kernel: $out"
echo "$out" | grep -q "^host *$(hostname)\$" && ok "info shows the host name" || not_ok "info shows the host name"
echo "$out" | grep -q "^console *$T/a\$" && ok "info shows the console device" || not_ok "info shows the console device"
grep -q 'not authenticated' "$T/err" && ok "client warns the session is unauthenticated" || not_ok "client warns"
json=$(ll --json info 2>/dev/null)
is "info --json is one JSON object with the agent version" \
	"$(printf "%s\n" "$json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')" \
	"$("$LIFELINED" --version | cut -d' ' -f2)"

# ping
out=$(ll ping -c 3 -i 0 2>&1)
is "ping -c 3 gets 3 replies" "$(echo "$out" | grep -c '^reply from agent')" 3
echo "$out" | grep -q '^3 probes, 3 replies, 0% lost; min/avg/max = ' && ok "ping prints a summary" ||
	not_ok "ping prints a summary: $(echo "$out" | tail -n 1)"

# exec: streams, status, signal, errors
out=$(ll exec -- sh -c 'echo out; echo err >&2; exit 7' 2>"$T/err")
is "exec passes the remote exit status" "$?" 7
is "exec streams stdout" "$out" "out"
grep -qx err "$T/err" && ok "exec streams stderr to stderr" || not_ok "exec streams stderr"
ll exec -- sh -c 'kill -9 $$' 2>"$T/err"
is "death by SIGKILL exits 137" "$?" 137
grep -q 'killed by signal 9' "$T/err" && ok "a signal death is reported" || not_ok "a signal death is reported: $(cat "$T/err")"
ll exec -- /nonexistent/cmd 2>"$T/err"
is "a missing command is lifeline's own failure (255)" "$?" 255
grep -q 'cannot run /nonexistent/cmd: No such file or directory' "$T/err" && ok "a missing command is named" || not_ok "a missing command is named: $(cat "$T/err")"
ll exec --timeout 1 -- sleep 30 2>"$T/err"
is "exec --timeout ends the command and exits 124, as timeout(1)" "$?" 124
ll exec -- printf 'a\000b' > "$T/nul"
is "exec output is binary-safe" "$(od -An -c "$T/nul" | tr -d ' ')" 'a\0b'
json=$(ll --json exec -- sh -c 'echo hi; exit 3')
is "exec --json collects output and status" "$(printf "%s\n" "$json" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["stdout"], d["exit_status"])')" "hi
 3"

# forced encodings, and the probed one
for enc in 7bit 8bit; do
	out=$(ll --encoding $enc exec -- echo "$enc works")
	is "exec with --encoding $enc" "$out" "$enc works"
done
ll -v info >/dev/null 2>"$T/err"
grep -q 'alphabet of 251 symbols' "$T/err" && ok "a raw PTY probes as fully 8-bit transparent" || not_ok "probe: $(grep alphabet "$T/err")"

# errors that name the problem
ll --via serial:/dev/nonexistent-tty info 2>"$T/err"
is "a missing device exits 3" "$?" 3
grep -q '/dev/nonexistent-tty' "$T/err" && ok "and names the device" || not_ok "and names the device: $(cat "$T/err")"
"$LIFELINE" --via "$VIA" info 2>"$T/err"
is "a client that wants SSH is refused by an --insecure agent (3)" "$?" 3
grep -q 'the line answered that SSH is unavailable: either the agent was started with --insecure, or someone on the line' "$T/err" &&
	ok "and is told what the line answered (never advised to use --insecure)" || not_ok "and is told why: $(cat "$T/err")"
