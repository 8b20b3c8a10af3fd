#!/bin/sh
# exec: paths whose command takes its time (a BMC login, a console server's
# dial) or wants its own farewell: the connect timeout counts from the
# child's first output, or from a --ready text, not from fork; --exec-quit
# is what the child hears when lifeline leaves.  The agent is on a socat PTY
# pair; each child is sh, then socat to the agent's line.
. "$(dirname "$0")/lib.sh"
need socat
plan 12

start_ptys a b
start_agent --serial "$T/a"
relay="socat STDIO $T/b,raw,echo=0"

# 3 s of silence, a banner, then the line: a 2 s connect timeout is enough,
# because it counts from the banner.
start=$(date +%s)
out=$("$LIFELINE" --insecure --timeout 2 \
	--via "exec:sh -c 'sleep 3; echo dialing done; exec $relay'" \
	exec -- echo up 2>"$T/err")
rc=$?
is "a child silent for 3 s, then talking: --timeout 2 still connects" "$rc $out" "0 up"
diag "took $(( $(date +%s) - start )) s"

# With nothing at all from the child, --ready-timeout bounds the wait.
start=$(date +%s)
"$LIFELINE" --insecure --timeout 1 --ready-timeout 2 \
	--via "exec:sh -c 'exec sleep 30'" info 2>"$T/err"
rc=$?
secs=$(( $(date +%s) - start ))
is "a child that never says anything: no answer (4)" "$rc" 4
[ "$secs" -ge 2 ] && [ "$secs" -le 5 ] &&
	ok "after --ready-timeout, not --timeout ($secs s)" ||
	not_ok "after --ready-timeout: took $secs s"

# --ready: what comes before the text is the child's, not the link's.
out=$("$LIFELINE" --insecure --timeout 1 --ready 'Connection established.' \
	--via "exec:sh -c 'sleep 2; echo logging in; sleep 1; echo Connection established.; exec $relay'" \
	exec -- echo ready 2>"$T/err")
is "--ready waits for its text, then --timeout 1 suffices" "$?$out" "0ready"
"$LIFELINE" --insecure --ready 'never said' --ready-timeout 1 \
	--via "exec:sh -c 'echo something else; exec sleep 30'" info 2>"$T/err"
is "--ready text that never comes exits 3" "$?" 3
check "and says what was awaited and how long" \
	grep -q 'no "never said" from the child within 1 s' "$T/err"
"$LIFELINE" --insecure --ready 'x' \
	--via "exec:sh -c 'echo bad password >&2; exit 5'" info 2>"$T/err"
is "a child that ends before it is ready exits 3" "$?" 3
check "with its status" grep -q "child exited with status 5" "$T/err"

# --exec-quit: the child's own farewell when lifeline leaves.
"$LIFELINE" --exec-quit 'BYE\r\n' \
	--via "exec:sh -c 'while IFS= read -r l; do case \$l in BYE*) echo left >$T/quit; exit 0;; esac; done'" \
	console --drain 0.2 </dev/null >/dev/null 2>"$T/err"
is "console with --exec-quit exits 0" "$?" 0
is "the child heard its farewell and left by itself" "$(cat "$T/quit" 2>/dev/null)" left
"$LIFELINE" --exec-quit 'a\q' --via "exec:true" info 2>"$T/err"
is "a bad escape in --exec-quit is a usage error" "$?" 2
check "naming it" grep -qF 'bad escape at "\q"' "$T/err"
