#!/bin/sh
# A stalled SSH peer on the network ends the session after LL_SSH_STALL_MS
# (60 s, documented in lifeline(1) and lifelined(8)) instead of hanging, and
# a peer that is only idle is kept alive by keepalives.  Four sessions run
# side by side, so the whole script takes about as long as the longest:
#
#   client stopped   `exec -- cat /dev/zero` over lifeline+ssh://, the
#                    client SIGSTOPped mid-stream: the agent ends the session
#                    (the cat runs on, a job of the agent)
#   agent stopped    the same with a second agent SIGSTOPped: the client
#                    ends with an error
#   idle, libssh     `exec -- sleep 75` over lifeline+ssh://: longer than
#                    the stall time, silent, and it must still succeed
#   idle, OpenSSH    the same through OpenSSH's ssh -s (the agent's
#                    keepalives answered by OpenSSH)
. "$(dirname "$0")/lib.sh"
need ssh python3 timeout
plan 11

IDLE=75		# seconds: past the 60 s stall time
ssh_setup
port1=$(free_port)
port2=$(free_port)
mkdir -p "$T/root"
start_agent_ssh --listen-ssh "127.0.0.1:$port1" --target-root "$T/root"
fp=$(agent_fp) || { echo "Bail out! the agent logged no host key"; exit 1; }
# The second agent, to be stopped: same host key, its own log.
"$LIFELINED" --config "$T/agent.conf" --host-key "$T/hostkey" \
	--authorized-keys "$T/authorized_keys" --debug-file "$T/agent2.log" \
	--listen-ssh "127.0.0.1:$port2" --target-root "$T/root" 2>>"$T/agent2.stderr" &
AGENT2_PID=$!
PIDS="$PIDS $AGENT2_PID"
for p in $port1 $port2; do
	for _ in $(seq 100); do
		python3 -c "import socket; socket.create_connection(('127.0.0.1', $p))" 2>/dev/null && break
		sleep 0.05
	done
done
KEY="$T/home/.ssh/id_ed25519"
# run_bg PORT ARGS... &: lifeline+ssh:// to the agent on PORT, as the
# background job itself (so that $! is lifeline's pid, to stop)
run_bg() {
	p=$1; shift
	export HOME="$T/home" SSH_AUTH_SOCK=
	exec "$LIFELINE" --via "lifeline+ssh://root@127.0.0.1:$p" \
		--known-hosts "$T/known_hosts" --host-key-fingerprint "$fp" "$@"
}
# wait_exit PID SECONDS: the exit status, or 124 when still running then
wait_exit() {
	for _ in $(seq $(($2 * 10))); do
		kill -0 "$1" 2>/dev/null || { wait "$1"; return $?; }
		sleep 0.1
	done
	return 124
}

# The idle sessions first: they take longest.
t0=$(date +%s)
run_bg "$port1" exec -- sleep "$IDLE" >"$T/idle1.out" 2>"$T/idle1.err" &
idle1=$!
PIDS="$PIDS $idle1"
SSH_AUTH_SOCK= "$LIFELINE" --via "lifeline+exec:ssh -F /dev/null -p $port1 -o BatchMode=yes -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=$T/ossh_known_hosts -i $KEY -s root@127.0.0.1 lifeline" \
	exec -- sh -c "sleep $IDLE; echo done" >"$T/idle2.out" 2>"$T/idle2.err" &
idle2=$!
PIDS="$PIDS $idle2"

# A client that stops reading and answering, mid-stream.  (--reconnect 0:
# the stall, not the following again of the job, is what is tested here.)
run_bg "$port1" --reconnect 0 exec -- cat /dev/zero >/dev/null 2>"$T/stopped.err" &
stopped=$!
PIDS="$PIDS $stopped"
# A client whose agent stops.
run_bg "$port2" --reconnect 0 exec -- cat /dev/zero >/dev/null 2>"$T/orphan.err" &
orphan=$!
PIDS="$PIDS $orphan"
sleep 2
kill -STOP "$stopped" "$AGENT2_PID"
ts=$(date +%s)

# The agent gives up on the stopped client.
for _ in $(seq 900); do
	grep -q "SSH peer silent for 60 s" "$T/agent.log" && break
	sleep 0.1
done
dt=$(($(date +%s) - ts))
check "the agent ends the session of a stopped client" \
	grep -q "SSH peer silent for 60 s" "$T/agent.log"
check "after the documented 60 s, not before (took $dt s)" \
	test "$dt" -ge 58 -a "$dt" -le 75
# The session's end leaves the command running, a job (issue 11); it is
# ended here by its pid, so that it does not spin for the rest of the test.
# (each command runs under a guard, lifelined-job, the agent's child)
cats_of() { for g in $(pgrep -P "$1"); do pgrep -P "$g" -x cat; done; }
cat1=$(cats_of "$AGENT_PID")
check "and its running cat runs on as a job" test -n "$cat1"
[ -n "$cat1" ] && kill "$cat1"

# The client gives up on the stopped agent.
wait_exit "$orphan" 30
rc=$?
dt=$(($(date +%s) - ts))
is "the client of a stopped agent fails (exec: 255)" "$rc" 255
check "after the documented 60 s, not before (took $dt s)" \
	test "$dt" -ge 58 -a "$dt" -le 75
check "saying the peer fell silent" grep -q "silent for 60 s" "$T/orphan.err"
kill -CONT "$AGENT2_PID"
cat2=$(cats_of "$AGENT2_PID")
[ -n "$cat2" ] && kill "$cat2"

# The stopped client, resumed, learns that its session is gone.
kill -CONT "$stopped"
wait_exit "$stopped" 30
is "the resumed client fails (exec: 255)" $? 255

# Idle sessions outlive the stall time.
wait_exit "$idle1" $((IDLE + 30))
is "an idle lifeline+ssh:// session of ${IDLE} s succeeds" $? 0
wait_exit "$idle2" $((IDLE + 30))
is "an idle session through OpenSSH of ${IDLE} s succeeds" $? 0
is "and its output arrives" "$(cat "$T/idle2.out")" done
is "the agent ended no other session as stalled" \
	"$(grep -c "SSH peer silent" "$T/agent.log")" 1
diag "idle sessions took $(($(date +%s) - t0)) s"
