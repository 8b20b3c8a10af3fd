#!/bin/sh
# A job outlives its session, never its agent (issue 11, item 5): each
# command runs under a guard that the kernel tells when the agent dies
# (PR_SET_PDEATHSIG), and that then kills the command's whole process
# group.  A real agent on a unix socket:
#
# - a job whose shell started a background process: the agent is killed
#   with SIGKILL, and within 3 s neither the shell nor its background
#   process runs (a process this machine's PID 1 does not reap stays a
#   zombie: that counts as ended, it runs no more);
# - the guard does not change what a job reports: its exit status, death
#   by a signal (128 + N), a timeout, SIGTERM from `lifeline kill` to the
#   group, a command that cannot be started, stdin;
# - the guard alone killed (SIGKILL to its pid) takes the command along.
. "$(dirname "$0")/lib.sh"
need python3
plan 10

start_agent --listen "unix:$T/s"
for _ in $(seq 50); do [ -S "$T/s" ] && break; sleep 0.1; done
VIA="unix:$T/s"
# runs PID: the process exists and is not a zombie
runs() {
	s=$(ps -o stat= -p "$1" 2>/dev/null)
	[ -n "$s" ] && [ "${s#Z}" = "$s" ]
}
# gone PID...: wait (3 s at most) until none of them runs
gone() {
	for _ in $(seq 30); do
		n=0
		for p in "$@"; do runs "$p" && n=$((n + 1)); done
		[ "$n" -eq 0 ] && return 0
		sleep 0.1
	done
	return 1
}

# --- what a job reports -----------------------------------------------------
ll exec -- sh -c 'exit 7' 2>/dev/null
is "an exit status comes through the guard (7)" "$?" 7
ll exec -- sh -c 'kill -USR1 $$' 2>/dev/null
is "death by a signal comes through the guard (128 + 10)" "$?" 138
id=$(ll exec --detach -- sleep 30 2>/dev/null)
ll kill -KILL "$id" 2>/dev/null
ll wait "$id" 2>/dev/null
is "kill -KILL to the group ends guard and command (137)" "$?" 137
id=$(ll exec --detach -- sh -c 'trap "exit 5" TERM; sleep 30 & wait' 2>/dev/null)
sleep 0.5
ll kill "$id" 2>/dev/null
ll wait "$id" 2>/dev/null
is "SIGTERM to the group reaches the command, not the guard (exit 5)" "$?" 5
ll exec -- /nonexistent/command 2>"$T/nx.err"
grep -q "cannot run /nonexistent/command: No such file or directory" "$T/nx.err" &&
	ok "a command that cannot be started is still an error" ||
	not_ok "a command that cannot be started: $(cat "$T/nx.err")"
is "stdin reaches the command" "$(echo through | ll exec -- cat 2>/dev/null)" through

# --- the agent killed ---------------------------------------------------------
# (a second agent: this one is killed)
"$LIFELINED" --insecure --listen "unix:$T/s2" --debug-file "$T/agent2.log" \
	2>>"$T/agent.stderr" &
VICTIM=$!
PIDS="$PIDS $VICTIM"
for _ in $(seq 50); do [ -S "$T/s2" ] && break; sleep 0.1; done
"$LIFELINE" --insecure --via "unix:$T/s2" exec --detach -- sh -c \
	"echo \$\$ >$T/fg.pid; sleep 300 & echo \$! >$T/bg.pid; wait" >/dev/null 2>&1
for _ in $(seq 50); do [ -s "$T/fg.pid" ] && [ -s "$T/bg.pid" ] && break; sleep 0.1; done
fg=$(cat "$T/fg.pid"); bg=$(cat "$T/bg.pid")
runs "$fg" && runs "$bg" && ok "the job's shell and its background process run" ||
	not_ok "the job's shell and its background process run"
kill -9 "$VICTIM"
wait "$VICTIM" 2>/dev/null
if gone "$fg" "$bg"; then
	ok "after the agent's SIGKILL neither runs on"
else
	not_ok "after the agent's SIGKILL neither runs on"
	ps -o pid,ppid,stat,cmd -p "$fg,$bg" | sed 's/^/# /'
fi

# --- the guard killed alone --------------------------------------------------
ll exec --detach -- sh -c "echo \$\$ >$T/g.pid; exec sleep 60" >/dev/null 2>&1
for _ in $(seq 50); do [ -s "$T/g.pid" ] && break; sleep 0.1; done
guard=$(ps -o ppid= -p "$(cat "$T/g.pid")" | tr -d ' ')
is "the command's parent is its guard (lifelined-job)" \
	"$(ps -o comm= -p "$guard")" lifelined-job
kill -9 "$guard"
gone "$(cat "$T/g.pid")" && ok "the guard killed alone takes the command along" ||
	not_ok "the guard killed alone takes the command along"
