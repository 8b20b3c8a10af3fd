#!/bin/sh
# Bulk through lifeline proxy on a fast path: OpenSSH's ssh and scp, with
# `lifeline proxy` as ProxyCommand over a unix socket (the link layer
# without a line rate, lifelined --listen unix:), move PROXY_MB (100 by
# default) MiB of random data each way: `ssh cat` down, scp (SFTP) up.
# This is the kind of path where a stall at one SSH window (128 KiB) hid
# before: each transfer runs under a time limit, so a stall fails its own
# check instead of hanging the suite, and must arrive byte-exact (SHA-256).
. "$(dirname "$0")/lib.sh"
need ssh scp timeout
plan 5

MB=${PROXY_MB:-100}
LIMIT=${PROXY_LIMIT_S:-180}	# seconds per transfer; loaded machines too

ssh_setup
KEY="$T/home/.ssh/id_ed25519"
start_agent_ssh --listen "unix:$T/sock"
agent_fp >/dev/null || { echo "Bail out! the agent logged no host key"; exit 1; }
for _ in $(seq 100); do [ -S "$T/sock" ] && break; sleep 0.05; done
VIA="unix:$T/sock"
"$LIFELINE" --via "$VIA" -i "$KEY" ssh-config rescue >"$T/ssh_config"
ssh_config_batch "$T/ssh_config"
S="-F $T/ssh_config"
export SSH_AUTH_SOCK=
head -c $((MB * 1048576)) /dev/urandom >"$T/big"
want=$(sha "$T/big")

# secs CMD...: run it, print the seconds it took (its status in $T/rc)
secs() {
	t0=$(date +%s.%N)
	"$@"
	echo $? >"$T/rc"
	echo "$(date +%s.%N) $t0" | awk '{ printf "%.1f", $1 - $2 }'
}

down=$(secs sh -c "timeout $LIMIT ssh $S rescue 'cat $T/big' >'$T/down' 2>'$T/err.down'")
is "ssh cat of $MB MiB through proxy: exit 0 within $LIMIT s" "$(cat "$T/rc")" 0
is "and byte-exact (SHA-256)" "$(sha "$T/down")" "$want"
up=$(secs timeout "$LIMIT" scp $S "$T/big" rescue:"$T/up" 2>"$T/err.up")
is "scp of $MB MiB up through proxy: exit 0 within $LIMIT s" "$(cat "$T/rc")" 0
is "and byte-exact (SHA-256)" "$(sha "$T/up" 2>/dev/null)" "$want"
kill -0 "$AGENT_PID" 2>/dev/null && ok "the agent is still up" || not_ok "the agent is still up"
diag "$MB MiB through lifeline proxy on a unix socket: ssh cat down $down s, scp up $up s"
