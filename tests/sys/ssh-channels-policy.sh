#!/bin/sh
# Who may open which SSH channel on the agent, seen by OpenSSH's ssh on the
# agent's SSH listener (the same server as inside a console link): an
# intruder's key; a no-pty key asking for a pty (ssh -tt gives up; on a
# terminal the user sees why); a read-only agent that
# refuses shell and exec but serves sftp read-only; an --allow list
# without shell; forwarding (ssh -W, a direct-tcpip channel) under
# no-port-forwarding, restrict, permitopen=, --read-only and --allow.
# Every refusal names its reason to the user or in the agent's log, and in
# the audit log.  (An SSH channel-open failure carries no text of ours:
# libssh sends its own "administratively prohibited".)
. "$(dirname "$0")/lib.sh"
need ssh sftp python3 script
plan 26

ssh_setup
KEY="$T/home/.ssh/id_ed25519"
export SSH_AUTH_SOCK=
port=$(free_port)
echo "read me" >"$T/readme"

wait_port() {
	for _ in $(seq 100); do
		python3 -c "import socket; socket.create_connection(('127.0.0.1', $port))" 2>/dev/null && return 0
		sleep 0.05
	done
}
ossh() {
	timeout 60 ssh -F /dev/null -p "$port" -o BatchMode=yes \
		-o StrictHostKeyChecking=accept-new \
		-o UserKnownHostsFile="$T/okh" -i "$KEY" "$@"
}

start_agent_ssh --listen-ssh "127.0.0.1:$port"
wait_port
is "exec on the listener" "$(ossh root@127.0.0.1 'echo ran' 2>/dev/null)" ran

mkdir -p "$T/intruder"
ssh-keygen -q -t ed25519 -N '' -f "$T/intruder/id"
timeout 60 ssh -F /dev/null -p "$port" -o BatchMode=yes \
	-o UserKnownHostsFile="$T/okh" -i "$T/intruder/id" -o IdentitiesOnly=yes \
	root@127.0.0.1 true 2>"$T/err"
is "an intruder's key is refused (ssh exits 255)" $? 255
check "with Permission denied (publickey)" grep -q "Permission denied (publickey)" "$T/err"

# A service the rescue host reaches, for ssh -W.
svc=$(free_port)
other=$(free_port)
socat TCP-LISTEN:"$svc",bind=127.0.0.1,reuseaddr,fork SYSTEM:'echo hello' \
	2>/dev/null &
PIDS="$PIDS $!"
# fwd PORT: ssh -W to 127.0.0.1:PORT; what came back, ssh's errors in err
fwd() { ossh -W "127.0.0.1:$1" root@127.0.0.1 </dev/null 2>"$T/err"; }
# refused_fwd PORT WHY: the agent logged the refusal of PORT with WHY
refused_fwd() {
	grep -q "refused forwarding to 127.0.0.1 port $1: $2" "$T/agent.log" &&
	    grep -q "op refused: .*op=\"forward\"" "$T/agent.log"
}
for _ in $(seq 100); do
	python3 -c "import socket; socket.create_connection(('127.0.0.1', $svc))" 2>/dev/null && break
	sleep 0.05
done
is "forwarding (ssh -W) reaches a local service" "$(fwd "$svc")" hello

cp "$T/authorized_keys" "$T/authorized_keys.good"
printf 'no-port-forwarding %s\n' "$(cat "$KEY.pub")" >"$T/authorized_keys"
is "a no-port-forwarding key: ssh -W gets nothing" "$(fwd "$svc")" ""
check "ssh says the channel was refused" grep -q "administratively prohibited" "$T/err"
check "the agent logs why" refused_fwd "$svc" "the key's authorized_keys line has no-port-forwarding"
printf 'restrict %s\n' "$(cat "$KEY.pub")" >"$T/authorized_keys"
fwd "$svc" >/dev/null
check "restrict refuses forwarding as well" grep -q "administratively prohibited" "$T/err"
printf 'permitopen="127.0.0.1:%s" %s\n' "$svc" "$(cat "$KEY.pub")" >"$T/authorized_keys"
is "permitopen= lets the key reach the port it names" "$(fwd "$svc")" hello
fwd "$other" >/dev/null
check "and no other" refused_fwd "$other" "127.0.0.1 port $other is not in the key's permitopen= list"

printf 'no-pty %s\n' "$(cat "$KEY.pub")" >"$T/authorized_keys"
ossh -tt root@127.0.0.1 'tty; echo done' >/dev/null 2>"$T/err" </dev/null
is "a no-pty key with ssh -tt: ssh gives up (exit 255)" $? 255
check "ssh says the pty was refused" grep -q "PTY allocation request failed" "$T/err"
# ssh -tt exits as soon as the refusal arrives and may drop the reason sent
# just before it on the channel's stderr.  On a terminal, where ssh asks for
# a pty by itself and goes on without one, the reason always shows.
{ sleep 2; echo 'echo the-shell; echo ran; exit'; sleep 5; } |
	timeout 60 script -qec "ssh -F /dev/null -p $port -o BatchMode=yes \
	-o UserKnownHostsFile=$T/okh -i $KEY root@127.0.0.1" /dev/null \
	>"$T/term" 2>&1
check "on a terminal the user sees the agent's reason" \
	grep -q "lifelined: pty refused: the key's authorized_keys line has no-pty" "$T/term"
check "and the shell runs without a pty" grep -q "^ran" "$T/term"
check "the refusal is in the audit log" grep -q 'op refused: .*op="pty"' "$T/agent.log"
cp "$T/authorized_keys.good" "$T/authorized_keys"
stop_agent

start_agent_ssh --listen-ssh "127.0.0.1:$port" --read-only
wait_port
out=$(ossh root@127.0.0.1 "echo x >$T/written" 2>"$T/err")
is "read-only: exec is refused (exit 1)" $? 1
check "with the reason on stderr" grep -q "exec refused: the agent is read-only" "$T/err"
check "and nothing was written" test ! -e "$T/written"
fwd "$svc" >/dev/null
check "read-only: forwarding is refused" \
	refused_fwd "$svc" "the agent is read-only and \"forward\" changes things"
ossh -tt root@127.0.0.1 2>"$T/err" >/dev/null </dev/null
check "read-only: a shell is refused with its reason" grep -q "shell refused: the agent is read-only" "$T/err"
printf 'get %s %s\nput %s %s\n' "$T/readme" "$T/readme.got" "$T/readme" \
	"$T/readme.put" >"$T/batch"
timeout 60 sftp -F /dev/null -P "$port" -o BatchMode=yes -o UserKnownHostsFile="$T/okh" \
	-i "$KEY" -b "$T/batch" root@127.0.0.1 >/dev/null 2>"$T/err"
is "read-only: sftp serves a get" "$(cat "$T/readme.got" 2>/dev/null)" "read me"
check "but refuses a put" test ! -e "$T/readme.put"
stop_agent

start_agent_ssh --listen-ssh "127.0.0.1:$port" --allow info,exec,sftp
wait_port
ossh -tt root@127.0.0.1 2>"$T/err" >/dev/null </dev/null
check "an allow-list without shell refuses a shell, naming the list" \
	grep -q 'shell refused: "shell" is not in this agent.s allow-list' "$T/err"
is "and still runs exec" "$(ossh root@127.0.0.1 'echo allowed' 2>/dev/null)" allowed
fwd "$svc" >/dev/null
check "an allow-list without forward refuses forwarding" \
	refused_fwd "$svc" '"forward" is not in this agent.s allow-list'
stop_agent

start_agent_ssh --listen-ssh "127.0.0.1:$port" --allow info,forward
wait_port
is "an allow-list with forward forwards" "$(fwd "$svc")" hello
