#!/bin/sh
# Jobs that outlive their session (issue 11), with real processes: the
# agent on one end of the link emulator at 115200 baud (a console), and a
# second agent on a unix socket for the cases that move megabytes.
#
# - a client killed in the middle of `exec` leaves its command running; a
#   second client takes over the line, sees the job in `jobs`, attaches
#   with `output --follow` and gets all of its output (the whole sequence,
#   each line once) and its exit status as its own;
# - `exec --detach` prints an id at once; `wait` returns the job's status;
#   `kill -KILL` ends a job, and `wait` then exits 128 + 9;
# - `output --from` continues at a byte offset: exactly the rest;
# - the buffer cap: a job writes 8 MiB to stdout while no client reads;
#   `output` says how many bytes were dropped (8 MiB - 4 MiB), prints the
#   last 4 MiB exactly, and the agent's RSS stays small (the buffer is a
#   memfd, not the agent's heap);
# - info lists the running jobs; reboot refuses while one runs, naming it,
#   unless --force (a hook stands in for the reboot);
# - unknown job ids and bad signals are refused by name;
# - jobs end with the agent when it exits on SIGTERM.
. "$(dirname "$0")/lib.sh"
need socat seq python3 cmp
plan 23

start_emu a b --baud 115200
start_agent --serial "$T/a,115200"
VIA="serial:$T/b,115200"
# reboot runs this hook instead of rebooting this machine
printf '#!/bin/sh\ntouch "%s/rebooted"\n' "$T" >"$T/reboot-hook"
chmod 755 "$T/reboot-hook"
LIFELINED_REBOOT_COMMAND="$T/reboot-hook" "$LIFELINED" --insecure \
	--listen "unix:$T/fast.sock" --debug-file "$T/agent-fast.log" \
	2>>"$T/agent.stderr" &
FAST_PID=$!
PIDS="$PIDS $FAST_PID"
fast() { "$LIFELINE" --insecure --via "unix:$T/fast.sock" "$@"; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
for _ in $(seq 50); do [ -S "$T/fast.sock" ] && break; sleep 0.1; done

# --- a killed client, a second client takes over ------------------------
# 20000 lines, written slowly enough that the kill lands in the middle
cat >"$T/count.sh" <<'E'
i=1
while [ $i -le 20000 ]; do
	echo $i
	[ $((i % 1000)) -eq 0 ] && sleep 0.2
	i=$((i + 1))
done
exit 3
E
seq 1 20000 >"$T/want.txt"
# (the binary itself, not the ll function: the kill must reach it; -n: a
# client killed before its stdin's EOF crossed would cut the command's input,
# which ends it, exec-stdin.sh)
"$LIFELINE" --insecure --via "$VIA" exec -n -- sh "$T/count.sh" \
	>"$T/first.out" 2>/dev/null &
cpid=$!
PIDS="$PIDS $cpid"
for _ in $(seq 100); do [ -s "$T/first.out" ] && break; sleep 0.1; done
kill -9 "$cpid"
wait "$cpid" 2>/dev/null
ll --json jobs >"$T/jobs.json" 2>/dev/null
is "the second client sees the job running" \
	"$(json '["jobs"][0]["state"]' <"$T/jobs.json")" running
id=$(json '["jobs"][0]["job"]' <"$T/jobs.json")
ll output --follow "$id" >"$T/rest.out" 2>"$T/rest.err"
is "output --follow exits with the job's status" "$?" 3
check "output --follow gets every line once, none missing" \
	cmp "$T/rest.out" "$T/want.txt"
[ -s "$T/first.out" ] && [ "$(wc -l <"$T/first.out")" -lt 20000 ] &&
	ok "the first client was killed in the middle" ||
	not_ok "the first client was killed in the middle ($(wc -l <"$T/first.out") lines)"
ll --json jobs >"$T/jobs.json" 2>/dev/null
is "jobs shows it ended with its status" \
	"$(json '["jobs"][0]["state"], json.load(open("'"$T/jobs.json"'"))["jobs"][0]["exit_status"]' <"$T/jobs.json")" \
	"ended 3"

# --- detach, wait, kill --------------------------------------------------
id=$(fast exec --detach -- sh -c 'sleep 0.5; exit 5' 2>/dev/null)
case $id in [0-9]*) ok "exec --detach prints a job id";;
	*) not_ok "exec --detach prints a job id: '$id'";; esac
fast wait "$id" 2>/dev/null
is "wait exits with the job's status" "$?" 5
id=$(fast exec --detach -- sleep 60 2>/dev/null)
check "kill -KILL ID" fast kill -KILL "$id"
fast wait "$id" 2>"$T/wait.err"
is "wait after kill -KILL exits 137" "$?" 137
grep -q "killed by signal 9" "$T/wait.err" && ok "wait says which signal" ||
	not_ok "wait says which signal: $(cat "$T/wait.err")"

# --- output from an offset ----------------------------------------------
id=$(fast exec --detach -- seq 1 1000 2>/dev/null)
fast wait "$id" 2>/dev/null
fast output --from 1000 "$id" >"$T/from.out" 2>/dev/null
seq 1 1000 | tail -c +1001 >"$T/from.want"
check "output --from 1000 is exactly the rest" cmp "$T/from.out" "$T/from.want"

# --- the buffer cap ------------------------------------------------------
id=$(fast exec --detach -- sh -c 'head -c 4194304 /dev/zero; seq 1 600000' 2>/dev/null)
fast wait "$id" 2>/dev/null
total=$(( 4194304 + $(seq 1 600000 | wc -c) ))
fast output "$id" >"$T/cap.out" 2>"$T/cap.err"
is "output of a job past the cap prints the last 4 MiB" \
	"$(wc -c <"$T/cap.out")" 4194304
{ head -c 4194304 /dev/zero; seq 1 600000; } | tail -c 4194304 >"$T/cap.want"
check "... exactly the newest bytes" cmp "$T/cap.out" "$T/cap.want"
grep -q "$((total - 4194304)) bytes of its stdout were dropped" "$T/cap.err" &&
	ok "output says how many bytes were dropped" ||
	not_ok "output says how many bytes were dropped: $(cat "$T/cap.err")"
rss=$(rss_kb "$FAST_PID")
[ "$rss" -lt 40000 ] && ok "agent RSS ${rss} KiB stays under 40 MiB" ||
	not_ok "agent RSS ${rss} KiB stays under 40 MiB"

# --- refusals -------------------------------------------------------------
fast output 4242 2>"$T/no.err"
grep -q "no job 4242 on this agent" "$T/no.err" && ok "an unknown job id is named" ||
	not_ok "an unknown job id is named: $(cat "$T/no.err")"
fast kill -NOPE 1 2>"$T/sig.err"
is "a bad signal is a usage error" "$?" 2

# --- never unseen: info, reboot -----------------------------------------
id=$(fast exec --detach -- sleep 60 2>/dev/null)
fast --json info 2>/dev/null | python3 -c "
import json, sys
j = json.load(sys.stdin)['jobs']
sys.exit(0 if [x['job'] for x in j] == [$id] and j[0]['argv'] == ['sleep', '60'] else 1)" &&
	ok "info lists the running job" || not_ok "info lists the running job"
fast reboot --yes >/dev/null 2>"$T/reboot.err"
is "reboot while a job runs fails (1)" "$?" 1
grep -q "jobs are running: $id (sleep); nothing was done" "$T/reboot.err" &&
	ok "reboot names the running job" ||
	not_ok "reboot names the running job: $(cat "$T/reboot.err")"
sleep 0.5
[ -e "$T/rebooted" ] && not_ok "the refused reboot did nothing" ||
	ok "the refused reboot did nothing"
fast reboot --yes --force >/dev/null 2>&1
for _ in $(seq 100); do [ -e "$T/rebooted" ] && break; sleep 0.1; done
[ -e "$T/rebooted" ] && ok "reboot --force goes ahead" ||
	not_ok "reboot --force goes ahead"

# --- jobs end with the agent -----------------------------------------------
ll exec --detach -- sh -c "echo \$\$ >$T/t.pid; exec sleep 60" >/dev/null 2>&1
for _ in $(seq 50); do [ -s "$T/t.pid" ] && break; sleep 0.1; done
kill "$AGENT_PID"
sleep 1
kill -0 "$(cat "$T/t.pid")" 2>/dev/null && not_ok "an agent ending on SIGTERM ends its jobs" ||
	ok "an agent ending on SIGTERM ends its jobs"
