#!/bin/sh
# Connections through --listen unix:/tcp: are network connections: a cap on
# logins in progress (per peer: per uid on a unix socket), a 20 s login
# window, the failure limit, each path with its own failure counter (the
# console, --listen and --listen-ssh cannot lock each other out), from= of
# authorized_keys checked against a --listen tcp: peer as on --listen-ssh
# (and refused on a unix socket), and an agent out of file descriptors
# backs off instead of spinning on accept.
. "$(dirname "$0")/lib.sh"
need ssh-keygen python3 prlimit
plan 21

ssh_setup
mkdir -p "$T/otherhome/.ssh"
ssh-keygen -q -t ed25519 -N '' -f "$T/otherhome/.ssh/id_ed25519"
port=$(free_port)
start_agent_ssh --listen "unix:$T/s.sock" --listen-ssh "127.0.0.1:$port"
fp=$(agent_fp) || { echo "Bail out! the agent logged no host key"; exit 1; }
for _ in $(seq 100); do [ -S "$T/s.sock" ] && break; sleep 0.05; done
# bad VIA: a login with a key that is not in authorized_keys
bad() {
	HOME="$T/otherhome" SSH_AUTH_SOCK= "$LIFELINE" --via "$1" \
		--host-key-fingerprint "$fp" info >/dev/null 2>&1
}
good() {
	VIA=$1 lls --host-key-fingerprint "$fp" exec -- echo in 2>"$T/err"
}

# --- logins in progress and the login window ----------------------------
# Five idle connections from one uid: three may wait for a login, the
# others are closed at once; the three are closed when the window ends.
python3 - "$T/s.sock" >"$T/idle.out" <<'PY'
import select, socket, sys, time
socks = []
for _ in range(5):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    socks.append(s)
def closed():
    n = 0
    for s in socks:
        r, _, _ = select.select([s], [], [], 0)
        if r and s.recv(1, socket.MSG_PEEK) == b"":
            n += 1
    return n
t0 = time.time()
time.sleep(1.5)
print("early", closed())
while closed() < len(socks) and time.time() - t0 < 40:
    time.sleep(0.2)
print("all", closed(), int(time.time() - t0))
PY
is "idle --listen connections beyond 3 from one uid are closed at once" \
	"$(sed -n 's/^early //p' "$T/idle.out")" 2
check "  the log says why" grep -q "unix uid 0: 3 logins are in progress" "$T/agent.log"
set -- $(sed -n 's/^all //p' "$T/idle.out")
is "  the others are closed when the login window ends" "${1:-0}" 5
[ "${2:-99}" -ge 18 ] && [ "${2:-99}" -le 30 ] && ok "  after 20 s ($2 s)" || not_ok "  window: ${2:-none} s"
is "a login over --listen works" "$(good "unix:$T/s.sock")" in

# --- separate failure counters --------------------------------------------
for _ in 1 2 3 4 5 6; do bad "unix:$T/s.sock"; done
good "unix:$T/s.sock" >/dev/null
check "after 6 failures over --listen, even the right key is refused there" test $? -ne 0
check "  the log says so for --listen" grep -q "too many failed authentications on --listen" "$T/agent.log"
is "--listen's failures do not lock out --listen-ssh" \
	"$(good "lifeline+ssh://root@127.0.0.1:$port")" in
stop_agent

start_ptys a b
start_agent_ssh --serial "$T/a" --listen-ssh "127.0.0.1:$port"
sleep 0.5
fp=$(agent_fp)
for _ in 1 2 3 4 5 6; do bad "serial:$T/b"; done
is "the console's failures do not lock out --listen-ssh" \
	"$(good "lifeline+ssh://root@127.0.0.1:$port")" in
for _ in 1 2 3 4 5 6; do bad "lifeline+ssh://root@127.0.0.1:$port"; done
good "lifeline+ssh://root@127.0.0.1:$port" >/dev/null
check "after 6 failures over --listen-ssh the right key is refused there" test $? -ne 0
check "  the log says so for --listen-ssh" grep -q "too many failed authentications on --listen-ssh" "$T/agent.log"
is "--listen-ssh's failures do not lock out the console" "$(good "serial:$T/b")" in
stop_agent

# --- from= on --listen tcp: checked against the peer ---------------------
# As on --listen-ssh: a matching from= lets the key in, another address
# keeps it out; on a unix socket (no address) a from= key is refused.
cp "$T/authorized_keys" "$T/authorized_keys.good"
tport=$(free_port)
start_agent_ssh --listen "unix:$T/f.sock"
unix_agent=$AGENT_PID
start_agent_ssh --listen "tcp:127.0.0.1:$tport"
for _ in $(seq 100); do [ -S "$T/f.sock" ] && break; sleep 0.05; done
fp=$(agent_fp)
for _ in $(seq 100); do
	python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1]))).close()' "$tport" 2>/dev/null && break
	sleep 0.05
done
printf 'from="127.0.0.1" %s\n' "$(cat "$T/home/.ssh/id_ed25519.pub")" >"$T/authorized_keys"
is "--listen tcp: a key with from= matching the peer logs in" \
	"$(good "tcp:127.0.0.1:$tport")" in
good "unix:$T/f.sock" >/dev/null
check "  the same key over a unix socket is refused" test $? -ne 0
check "  the log says why" grep -q "from= cannot be checked without a peer address" "$T/agent.log"
printf 'from="10.0.0.0/8,!127.0.0.1" %s\n' "$(cat "$T/home/.ssh/id_ed25519.pub")" >"$T/authorized_keys"
good "tcp:127.0.0.1:$tport" >/dev/null
check "--listen tcp: a key whose from= does not match the peer is refused" test $? -ne 0
check "  the log names the peer" grep -q "from= excludes 127.0.0.1" "$T/agent.log"
cp "$T/authorized_keys.good" "$T/authorized_keys"
stop_agent
kill "$unix_agent"; wait "$unix_agent" 2>/dev/null

# --- out of file descriptors ---------------------------------------------
start_agent_ssh --listen "unix:$T/e.sock"
for _ in $(seq 100); do [ -S "$T/e.sock" ] && break; sleep 0.05; done
sleep 0.3
nfd=$(ls "/proc/$AGENT_PID/fd" | wc -l)
prlimit --pid "$AGENT_PID" --nofile=$((nfd + 1)):
python3 - "$T/e.sock" <<'PY'
import socket, sys, time
socks = []
for _ in range(6):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    socks.append(s)
time.sleep(3)
PY
n=$(grep -c "Too many open files" "$T/agent.log")
[ "$n" -ge 1 ] && [ "$n" -le 3 ] && ok "out of fds: accept errors are logged once, not in a loop ($n lines)" ||
	not_ok "out of fds: $n lines about it"
check "  the log says it backs off" grep -q "not accepting on unix:$T/e.sock for" "$T/agent.log"
prlimit --pid "$AGENT_PID" --nofile=1024:
sleep 1.5
VIA="unix:$T/e.sock" lls --host-key-fingerprint "$fp" exec -- echo back >"$T/back" 2>"$T/err"
is "  and accepts again once fds are free" "$(cat "$T/back")" back
kill -0 "$AGENT_PID" 2>/dev/null && ok "the agent is still up" || not_ok "the agent is still up"
