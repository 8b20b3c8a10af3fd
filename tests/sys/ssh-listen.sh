#!/bin/sh
# The agent's own SSH listener (--listen-ssh) against OpenSSH's ssh client
# and against lifeline's lifeline+ssh:// path: the "lifeline" subsystem
# works, and so does a command; a wrong key, password authentication, an
# unknown subsystem, an unknown
# host key without acceptance and a changed host key are refused with clear
# messages; authorized_keys options are honoured or refused; repeated
# failures are rate-limited.
. "$(dirname "$0")/lib.sh"
need ssh python3
plan 28

ssh_setup
port=$(free_port)
mkdir -p "$T/root"
echo "served by the listener" >"$T/root/note"
start_agent_ssh --listen-ssh "127.0.0.1:$port" --target-root "$T/root"
fp=$(agent_fp) || { echo "Bail out! the agent logged no host key"; exit 1; }
for _ in $(seq 100); do
	python3 -c "import socket; socket.create_connection(('127.0.0.1', $port))" 2>/dev/null && break
	sleep 0.05
done
KEY="$T/home/.ssh/id_ed25519"
# OpenSSH, alone: no config file, no agent, its own known_hosts.
ossh() {
	SSH_AUTH_SOCK= ssh -F /dev/null -p "$port" -o BatchMode=yes \
		-o UserKnownHostsFile="$T/ossh_known_hosts" "$@"
}

# lifeline's own client on lifeline+ssh://
VIA="lifeline+ssh://root@127.0.0.1:$port"
lls info >/dev/null 2>"$T/err"
is "lifeline+ssh: an unknown host key is refused when not asked to accept (exit 3)" $? 3
# no fingerprint to paste unseen: it says where to read the agent's own
if grep -q -- "--host-key-fingerprint" "$T/err" && ! grep -qF "$fp" "$T/err"; then
	ok "the message says how to verify the key, with no fingerprint to paste"
else
	not_ok "the message says how to verify the key: $(cat "$T/err")"
fi
is "lifeline+ssh: --accept-new-host-key, then exec" \
	"$(lls --accept-new-host-key exec -- echo listener 2>/dev/null)" listener
check "the key went to OpenSSH's known_hosts" grep -q "^\[127.0.0.1\]:$port " "$T/home/.ssh/known_hosts"
lls get /note "$T/note.out" 2>/dev/null
is "lifeline+ssh: get" "$(cat "$T/note.out")" "served by the listener"

# OpenSSH's ssh reaches the subsystem: lifeline runs over it (lifeline+exec:).
VIA="lifeline+exec:ssh -F /dev/null -p $port -o BatchMode=yes -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=$T/ossh_known_hosts -i $KEY -s root@127.0.0.1 lifeline"
is "OpenSSH ssh -s lifeline: exec works" "$(SSH_AUTH_SOCK= "$LIFELINE" --via "$VIA" exec -- echo via openssh 2>"$T/err")" "via openssh"
check "OpenSSH recorded the same host key" sh -c "ssh-keygen -lf '$T/ossh_known_hosts' | grep -qF '$fp'"

# Refusals, seen by OpenSSH.
mkdir -p "$T/other"
ssh-keygen -q -t ed25519 -N '' -f "$T/other/id_ed25519"
ossh -i "$T/other/id_ed25519" -o IdentitiesOnly=yes -s root@127.0.0.1 lifeline </dev/null >/dev/null 2>"$T/err"
is "a wrong key is refused (ssh exits 255)" $? 255
check "with Permission denied (publickey)" grep -q "Permission denied (publickey)" "$T/err"
ossh -o PubkeyAuthentication=no -o PreferredAuthentications=password,keyboard-interactive \
	-s root@127.0.0.1 lifeline </dev/null >/dev/null 2>"$T/err"
is "password authentication is not offered (ssh exits 255)" $? 255
check "only publickey is listed" grep -q "Permission denied (publickey)" "$T/err"
is "a command runs (the agent's SSH server serves exec)" \
	"$(ossh -i "$KEY" root@127.0.0.1 'echo served' </dev/null 2>"$T/err")" served
check "and the audit log records the channel" grep -q 'op start: .*op="exec"' "$T/agent.log"
ossh -i "$KEY" -s root@127.0.0.1 nosuch </dev/null >/dev/null 2>"$T/err"
check "an unknown subsystem is refused" grep -q 'refused subsystem "nosuch"' "$T/agent.log"
: >"$T/empty_known_hosts"
SSH_AUTH_SOCK= ssh -F /dev/null -p "$port" -o BatchMode=yes -o StrictHostKeyChecking=yes \
	-o UserKnownHostsFile="$T/empty_known_hosts" -i "$KEY" -s root@127.0.0.1 lifeline \
	</dev/null >/dev/null 2>"$T/err"
check "OpenSSH refuses the unknown host key in strict mode" grep -q "Host key verification failed" "$T/err"

# authorized_keys options.
cp "$T/authorized_keys" "$T/authorized_keys.good"
printf 'from="10.0.0.0/8" %s\n' "$(cat "$KEY.pub")" >"$T/authorized_keys"
ossh -i "$KEY" -s root@127.0.0.1 lifeline </dev/null >/dev/null 2>&1
is "from= that does not match the peer refuses the key" $? 255
printf 'command="/bin/true" %s\n' "$(cat "$KEY.pub")" >"$T/authorized_keys"
ossh -i "$KEY" -s root@127.0.0.1 lifeline </dev/null >/dev/null 2>&1
is "a command= key gets no lifeline session" $? 255
check "the log says why" grep -q "forced command cannot be honoured" "$T/agent.log"
printf 'from="127.0.0.1",no-pty,restrict %s\n' "$(cat "$KEY.pub")" >"$T/authorized_keys"
VIA="lifeline+ssh://root@127.0.0.1:$port"
is "from= that matches, with restrict, is accepted" "$(lls exec -- echo restricted 2>/dev/null)" restricted
cp "$T/authorized_keys.good" "$T/authorized_keys"

# A changed host key; from here on the agent also serves a console.
stop_agent
start_ptys A B
HOSTKEY="$T/hostkey2" start_agent_ssh --listen-ssh "127.0.0.1:$port" --serial "$T/A" --target-root "$T/root"
sleep 0.5
fp2=$(agent_fp)
lls info >/dev/null 2>"$T/err"
is "lifeline+ssh: a changed host key is refused (exit 3)" $? 3
check "and the message says it changed" grep -q "changed" "$T/err"
ossh -o StrictHostKeyChecking=yes -i "$KEY" -s root@127.0.0.1 lifeline </dev/null >/dev/null 2>"$T/err"
check "OpenSSH refuses it too" grep -q "REMOTE HOST IDENTIFICATION HAS CHANGED" "$T/err"

# Connections that never authenticate are capped and do not starve the console.
python3 - "$port" >"$T/idle.out" 2>&1 <<'PY' &
import socket, sys, time
socks = []
for _ in range(40):
    try:
        socks.append(socket.create_connection(("127.0.0.1", int(sys.argv[1]))))
    except OSError:
        pass
print(len(socks), flush=True)
time.sleep(8)
PY
idle=$!
sleep 1.5
check "idle network connections beyond the cap are refused" grep -q "authenticating already" "$T/agent.log"
VIA="serial:$T/B"
is "the console works meanwhile" \
	"$(lls --host-key-fingerprint "$fp2" exec -- echo still 2>/dev/null)" still
kill $idle 2>/dev/null; wait $idle 2>/dev/null
VIA="lifeline+ssh://root@127.0.0.1:$port"
# (besides the console's keepalive watchdog, ll-watchdog, which stays)
is "the agent's threads are back to one after they left" \
	"$(sleep 1; cat /proc/$AGENT_PID/task/*/comm | grep -vcx ll-watchdog)" 1

# Rate limit: after repeated failures even the right key is refused for a while.
for _ in 1 2 3 4 5 6; do
	ossh -o StrictHostKeyChecking=no -i "$T/other/id_ed25519" -o IdentitiesOnly=yes \
		-s root@127.0.0.1 lifeline </dev/null >/dev/null 2>&1
done
ossh -o StrictHostKeyChecking=no -i "$KEY" -s root@127.0.0.1 lifeline </dev/null >/dev/null 2>&1
is "after repeated failures the right key is refused too" $? 255
check "the agent logs that it is refusing" grep -q "too many failed" "$T/agent.log"
VIA="serial:$T/B"
is "the network's failures do not lock the console out" \
	"$(lls --host-key-fingerprint "$fp2" exec -- echo console 2>/dev/null)" console

