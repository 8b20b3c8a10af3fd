#!/bin/sh
# Ctrl-C while a job is waited for (issue 11, item 3): stop the job, or
# only stop waiting?  A real agent on a unix socket; lifeline on a real pty
# (python3's pty module) for the terminal, with a pipe for the rest.
#
# - piped (stdin not a terminal): the first SIGINT stops waiting at once,
#   the job runs on, and lifeline says which job and the command that
#   continues; that command then prints the rest: with what came before,
#   exactly the job's whole output;
# - on a terminal: lifeline asks; Enter stops waiting (the job runs on),
#   "s" stops the job (SIGTERM: it ends by signal 15), a second Ctrl-C
#   stops it too; the same question in `wait` ("s": SIGTERM, wait exits
#   143) and `output --follow` (Enter: the job runs on);
# - exec whose stdin is still being sent is stopped without a question
#   (the agent ends a command whose input was cut anyway), and says so.
. "$(dirname "$0")/lib.sh"
need python3 seq cmp
plan 16

start_agent --listen "unix:$T/s"
for _ in $(seq 50); do [ -S "$T/s" ] && break; sleep 0.1; done
VIA="unix:$T/s"
# job_field TEXT FIELD: FIELD of the newest job whose command has TEXT
job_field() {
	ll --json jobs 2>/dev/null | python3 -c '
import json, sys
js = [j for j in json.load(sys.stdin)["jobs"] if sys.argv[1] in " ".join(j["argv"])]
if js:
    j = js[-1]
    j["status"] = "%s %s" % (j["state"], j.get("signal", j.get("exit_status", "-")))
    print(j[sys.argv[2]])' "$1" "$2"
}
# ended TEXT: wait (5 s at most) for that job to end; its status
ended() {
	for _ in $(seq 50); do
		[ "$(job_field "$1" state)" = ended ] && break
		sleep 0.1
	done
	job_field "$1" status
}
# the counter: lines 1..100, one every 0.1 s, then exit 3
counter() { echo "i=1; while [ \$i -le 100 ]; do echo \$i; i=\$((i + 1)); sleep 0.1; done; exit 3"; }
seq 1 100 >"$T/want"

# on_tty ANSWER ARGS...: lifeline ARGS with a pty as stdin; 1.5 s in, one
# SIGINT, then ANSWER typed ("INT": a second SIGINT instead).  Its status
# in $T/tty.rc, stdout and stderr in $T/tty.out and $T/tty.err.
cat >"$T/tty.py" <<'E'
import os, signal, subprocess, sys, time
t, ans = sys.argv[1], sys.argv[2]
m, s = os.openpty()
with open(t + "/tty.out", "wb") as o, open(t + "/tty.err", "wb") as e:
    p = subprocess.Popen(sys.argv[3:], stdin=s, stdout=o, stderr=e)
    os.close(s)
    time.sleep(1.5)
    p.send_signal(signal.SIGINT)
    time.sleep(1.0)
    if ans == "INT":
        p.send_signal(signal.SIGINT)
    else:
        os.write(m, ans.encode() + b"\n")
    try:
        rc = p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = "timeout"
open(t + "/tty.rc", "w").write(str(rc))
E
on_tty() {
	a=$1; shift
	python3 "$T/tty.py" "$T" "$a" "$LIFELINE" --insecure --via "$VIA" "$@"
}

# --- piped: stop waiting at once ------------------------------------------
"$LIFELINE" --insecure --via "$VIA" exec -- sh -c "$(counter)" piped-$$ \
	</dev/null >"$T/p.out" 2>"$T/p.err" &
cpid=$!
PIDS="$PIDS $cpid"
sleep 1.5
kill -INT "$cpid"
wait "$cpid"
is "piped: SIGINT ends exec at once (255)" "$?" 255
id=$(job_field "piped-$$" job)
grep -q "stopped waiting (not asking: stdin is not a terminal); job $id (the command) runs on" "$T/p.err" &&
	ok "it says it stopped waiting and which job runs on" ||
	not_ok "it says it stopped waiting: $(cat "$T/p.err")"
is "the job runs on" "$(job_field "piped-$$" state)" running
from=$(sed -n 's/.*--from \([0-9]*,[0-9]*\) .*/\1/p' "$T/p.err")
ll output --follow --from "$from" "$id" >>"$T/p.out" 2>/dev/null
is "the command it names exits with the job's status" "$?" 3
check "what came before and after: every line once" cmp "$T/p.out" "$T/want"

# --- on a terminal ---------------------------------------------------------
on_tty "" exec -- sh -c "$(counter)" enter-$$
is "terminal, Enter: exec exits 255" "$(cat "$T/tty.rc")" 255
grep -q "job [0-9]* (the command) is still running. Stop it, or only stop waiting" "$T/tty.err" &&
	ok "it asks, naming the job" || not_ok "it asks: $(cat "$T/tty.err")"
grep -q "stopped waiting; job [0-9]* (the command) runs on: .lifeline output --follow --from" "$T/tty.err" &&
	ok "Enter: it says it stopped waiting and how to follow" ||
	not_ok "Enter: $(cat "$T/tty.err")"
is "Enter: the job runs on" "$(job_field "enter-$$" state)" running

on_tty s exec -- sh -c "$(counter)" stop-$$
grep -q "stopping job [0-9]* (the command)" "$T/tty.err" &&
	ok "s: it says it stops the job" || not_ok "s: $(cat "$T/tty.err")"
is "s: the job ended by SIGTERM" "$(ended "stop-$$")" "ended 15"

on_tty INT exec -- sh -c "$(counter)" twice-$$
is "Ctrl-C twice: the job ended by SIGTERM" "$(ended "twice-$$")" "ended 15"

id=$(ll exec --detach -- sh -c "$(counter)" wait-$$ 2>/dev/null)
on_tty s wait "$id"
is "wait, s: SIGTERM to the job, wait exits 143" "$(cat "$T/tty.rc") $(ended "wait-$$")" "143 ended 15"

id=$(ll exec --detach -- sh -c "$(counter)" output-$$ 2>/dev/null)
on_tty "" output --follow "$id"
grep -q "stopped waiting; job $id runs on" "$T/tty.err" &&
	[ "$(job_field "output-$$" state)" = running ] &&
	ok "output --follow, Enter: the job runs on, and it says so" ||
	not_ok "output --follow, Enter: $(cat "$T/tty.err")"

# --- stdin still being sent: no question ---------------------------------
mkfifo "$T/in"
"$LIFELINE" --insecure --via "$VIA" exec -- sh -c 'cat >/dev/null' input-$$ \
	<"$T/in" >/dev/null 2>"$T/in.err" &
cpid=$!
PIDS="$PIDS $cpid"
exec 3>"$T/in"
echo some input >&3
sleep 1.5
kill -INT "$cpid"
wait "$cpid"
exec 3>&-
grep -q "interrupted while its input is still being sent: stopping job [0-9]* (the command)" "$T/in.err" &&
	ok "stdin still being sent: it stops the command, and says why" ||
	not_ok "stdin still being sent: $(cat "$T/in.err")"
is "... the job ended by SIGTERM" "$(ended "input-$$")" "ended 15"
