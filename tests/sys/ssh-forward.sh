#!/bin/sh
# ssh -L through a console: OpenSSH's ssh, with `lifeline proxy` as its
# ProxyCommand over the link emulator (bit errors, kernel messages on both
# sides), forwards a local port to a TCP server the rescue host reaches
# (socat on 127.0.0.1 here).  3 MiB each way, more than any SSH window
# (OpenSSH's is 2 MiB, libssh's smaller), so window adjusts must flow while
# the line is noisy; both copies are compared by SHA-256.  The audit log
# records the forwarding channel with its destination.
. "$(dirname "$0")/lib.sh"
need ssh socat python3
plan 7

ssh_setup
KEY="$T/home/.ssh/id_ed25519"
export SSH_AUTH_SOCK=
start_emu a b --baud 2000000 --ber 1e-6 --kmsg-interval-ms 2000 \
	--kmsg-side both --seed "${SEED:-$$}" --duration-s 600
start_agent_ssh --serial "$T/a,2000000"
agent_fp >/dev/null || { echo "Bail out! the agent logged no host key"; exit 1; }
VIA="serial:$T/b,2000000"
"$LIFELINE" --via "$VIA" -i "$KEY" ssh-config rescue >"$T/ssh_config"
ssh_config_batch "$T/ssh_config" "ExitOnForwardFailure yes"
S="-F $T/ssh_config"

head -c 3145728 /dev/urandom >"$T/data"
down=$(free_port)
up=$(free_port)
# The services on the rescue host's side: one sends the file to whoever
# connects, the other keeps what it receives.
socat -u OPEN:"$T/data" TCP-LISTEN:"$down",bind=127.0.0.1,reuseaddr 2>"$T/socat-down.log" &
PIDS="$PIDS $!"
socat -u TCP-LISTEN:"$up",bind=127.0.0.1,reuseaddr CREATE:"$T/got.up" 2>"$T/socat-up.log" &
UP_PID=$!
PIDS="$PIDS $UP_PID"

ldown=$(free_port)
lup=$(free_port)
# A master connection that forks once its forwards listen (-f with
# ExitOnForwardFailure); its pid from -O check, so the cleanup stops it.
timeout 120 ssh $S -o ControlMaster=yes -o ControlPath="$T/cm" -f -N \
	-L "127.0.0.1:$ldown:127.0.0.1:$down" \
	-L "127.0.0.1:$lup:127.0.0.1:$up" rescue 2>"$T/ssh-L.err"
is "ssh -f -N -L through lifeline proxy starts" $? 0
SSH_L=$(ssh -o ControlPath="$T/cm" -O check rescue 2>&1 |
	sed -n 's/.*pid=\([0-9]*\).*/\1/p')
[ -n "$SSH_L" ] && PIDS="$PIDS $SSH_L"

timeout 300 socat -u TCP:127.0.0.1:"$ldown" CREATE:"$T/got.down" 2>"$T/socat-c1.log"
is "3 MiB from the server through ssh -L: byte-exact (SHA-256)" \
	"$(sha "$T/got.down" 2>/dev/null)" "$(sha "$T/data")"

timeout 300 socat -u OPEN:"$T/data" TCP:127.0.0.1:"$lup" 2>"$T/socat-c2.log"
for _ in $(seq 200); do kill -0 "$UP_PID" 2>/dev/null || break; sleep 0.1; done
is "3 MiB to the server through ssh -L: byte-exact (SHA-256)" \
	"$(sha "$T/got.up" 2>/dev/null)" "$(sha "$T/data")"

check "the audit log records the forwarding channel and its destination" \
	grep -q "op start: who=\"$SSH_FP_CLIENT\" id=[0-9]* op=\"forward\" .*\"port\": *$down" "$T/agent.log"
check "and its end" grep -q 'op end: .*op="forward" result="closed"' "$T/agent.log"

# ssh -W (a direct-tcpip channel on stdin/stdout, on the same connection)
# to a port nobody serves: ssh says the open failed, the agent logs why.
dead=$(free_port)
timeout 120 ssh $S -o ControlPath="$T/cm" -W "127.0.0.1:$dead" rescue </dev/null >/dev/null 2>"$T/err"
check "ssh -W to a closed port fails" \
	grep -q "forwarding request failed: .*refused by peer" "$T/err"
check "and the agent names the destination and the reason" \
	grep -q "forwarding to 127.0.0.1 port $dead failed: .*refused" "$T/agent.log"
ssh -o ControlPath="$T/cm" -O exit rescue 2>/dev/null
diag "emulator: $(tail -n 2 "$T/emu.log" | tr '\n' ' ')"
