#!/bin/sh
# The agent's other ways in: a unix socket, TCP on loopback, its own stdio
# as a child of the client (the sshd -i pattern), and its own tty.
. "$(dirname "$0")/lib.sh"
plan 9

start_agent --listen "unix:$T/agent.sock"
for _ in $(seq 50); do [ -S "$T/agent.sock" ] && break; sleep 0.05; done
VIA="unix:$T/agent.sock"
is "exec over a unix socket" "$(ll exec -- echo unix 2>/dev/null)" unix
perm=$(stat -c %a "$T/agent.sock")
is "the unix socket is private (0600)" "$perm" 600
stop_agent

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start_agent --listen "tcp:127.0.0.1:$port"
sleep 0.3
VIA="tcp:127.0.0.1:$port"
is "exec over TCP on loopback" "$(ll exec -- echo tcp 2>/dev/null)" tcp
# two clients at once on a listener: independent sessions
ll exec -- sh -c 'sleep 1; echo first' >"$T/one" 2>/dev/null &
c1=$!
is "a second client works while the first runs" "$(ll exec -- echo second 2>/dev/null)" second
wait $c1
is "and the first one completes" "$(cat "$T/one")" first
stop_agent

VIA="exec:$LIFELINED --stdio --insecure --debug-file $T/stdio.log"
is "exec through an agent on the client's own pipes (--stdio)" "$(ll exec -- echo pipes 2>/dev/null)" pipes
ll info >/dev/null 2>&1
is "the agent on pipes exits with its session" "$(pgrep -f "$T/stdio.log" | wc -l)" 0

# --stdio on a real tty: socat gives the agent a PTY as its stdin/stdout.
need socat
socat pty,raw,echo=0,link="$T/console" \
	EXEC:"$LIFELINED --stdio --insecure --debug-file $T/tty.log",pty,setsid,ctty \
	2>"$T/socat2.log" &
PIDS="$PIDS $!"
for _ in $(seq 50); do [ -e "$T/console" ] && break; sleep 0.05; done
VIA="serial:$T/console"
is "exec through an agent serving its own tty (--stdio)" "$(ll exec -- echo tty 2>/dev/null)" tty
is "info names the agent's tty as its console" "$(ll info 2>/dev/null | awk '/^console/ { print $2 }' | grep -c '^/dev/pts/')" 1
