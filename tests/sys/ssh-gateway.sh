#!/bin/sh
# ssh:// console gateways, against a real OpenSSH sshd on 127.0.0.1.
#
# The "console server": sshd with a ForceCommand that joins each session to
# one end of a socat PTY pair; lifelined serves the other end as if it were
# a serial port.  The client runs with its own HOME (its key in ~/.ssh, the
# gateway's host key filed in ~/.ssh/known_hosts) and no ssh-agent.
#
# Checked: an unknown gateway key is refused without --accept-new-host-key
# (exit 3, the fingerprint named) and filed with it; info, exec (output and
# exit status) and get (byte-exact) through the gateway; a changed gateway
# key and a key the gateway does not accept are refused (exit 3); the same
# operations when the gateway's pty is cooked, and with --no-pty.
#
# The gateway's pty modes come from a file the ForceCommand reads on each
# connection:
#   raw     socat sets the pty raw (what a console server normally does)
#   sane    `stty sane`: ICANON, ISIG, ECHO, ICRNL, IXON, OPOST/ONLCR ...
#   cooked  `stty sane -icanon -isig`: echo and CR/NL translation, no line
#           editing and no signal characters
. "$(dirname "$0")/lib.sh"
need socat ssh-keygen python3 sha256sum
SSHD=${SSHD:-/usr/sbin/sshd}
[ -x "$SSHD" ] || skip_all "no $SSHD (Debian package openssh-server)"
plan 51

# How the agent and the client secure the session inside the link: SSH
# (the default), the same client key as for the gateway, the agent's host
# key pinned as an operator would after reading it off the console.
: >"$T/agent.conf"
chmod 600 "$T/agent.conf"
AGENT_SEC="--config $T/agent.conf --host-key $T/agent_hostkey --authorized-keys $T/authorized_keys"

# sshd wants its privilege separation directory when run as root.
[ "$(id -u)" = 0 ] && mkdir -p /run/sshd
PORT=$(free_port)
ME=$(id -un)
GW="ssh://$ME@127.0.0.1:$PORT"

ssh-keygen -q -t ed25519 -N '' -C gateway -f "$T/hostkey"
ssh-keygen -q -t ed25519 -N '' -C other-gateway -f "$T/hostkey2"
mkdir -p "$T/home/.ssh" "$T/stranger/.ssh"
chmod 700 "$T/home" "$T/home/.ssh" "$T/stranger/.ssh"
ssh-keygen -q -t ed25519 -N '' -C client -f "$T/home/.ssh/id_ed25519"
ssh-keygen -q -t ed25519 -N '' -C stranger -f "$T/stranger/.ssh/id_ed25519"
cp "$T/home/.ssh/id_ed25519.pub" "$T/authorized_keys"
fp=$(ssh-keygen -l -E sha256 -f "$T/hostkey.pub" | awk '{ print $2 }')

# --- the target the agent serves ----------------------------------------
mkdir -p "$T/root/srv"
head -c 300000 /dev/urandom >"$T/root/srv/blob.bin"
head -c 200000 /dev/urandom >"$T/upload.bin"
printf 'line one\nline two\n' >"$T/root/srv/notes.txt"

start_ptys a b
"$LIFELINED" $AGENT_SEC --serial "$T/a,4000000" --target-root "$T/root" \
	--debug-file "$T/agent.log" 2>>"$T/agent.stderr" &
AGENT_PID=$!
PIDS="$PIDS $AGENT_PID"
AGENT_FP=$(agent_fp) || { echo "Bail out! the agent logged no host key"; exit 1; }
CLIENT_SEC="--known-hosts $T/agent_known_hosts --host-key-fingerprint $AGENT_FP"

# --- the gateway ----------------------------------------------------------
echo raw >"$T/mode"
cat >"$T/gateway.sh" <<EOF
#!/bin/sh
# One console session: the pty modes asked for, then the PTY's bytes.
m=\$(cat "$T/mode")
case \$m in
raw)	[ -t 0 ] && exec socat STDIO,rawer "$T/b",rawer ;;
sane)	[ -t 0 ] && stty sane ;;
cooked)	[ -t 0 ] && stty sane -icanon -isig ;;
esac
[ -t 0 ] && stty -a >"$T/stty.\$m"
exec socat STDIO "$T/b",rawer
EOF
chmod +x "$T/gateway.sh"

stop_sshd() {
	kill "$SSHD_PID" 2>/dev/null
	wait "$SSHD_PID" 2>/dev/null
	: >"$T/sshd.log"
}

# llg [HOME] ARGS...: the client through the gateway, not interactive
llg() {
	h=$T/home
	case $1 in /*) h=$1; shift ;; esac
	# shellcheck disable=SC2086
	env -u SSH_AUTH_SOCK HOME="$h" "$LIFELINE" $CLIENT_SEC --via "$GW" \
		"$@" </dev/null
}

start_sshd "$T/hostkey" "$T/authorized_keys" "$T/gateway.sh"

# --- host keys ------------------------------------------------------------
llg info >"$T/out" 2>"$T/err"
is "an unknown gateway key is refused: exit 3" "$?" 3
grep -q "unknown host key $fp" "$T/err" &&
	ok "the refusal names the fingerprint" ||
	not_ok "the refusal names the fingerprint: $(cat "$T/err")"
grep -q -- "--accept-new-host-key" "$T/err" &&
	ok "and says how to accept it" || not_ok "and says how to accept it"
[ ! -s "$T/home/.ssh/known_hosts" ] && ok "nothing was filed" ||
	not_ok "nothing was filed"

llg --accept-new-host-key info >"$T/out" 2>"$T/err"
is "--accept-new-host-key: info exits 0" "$?" 0
grep -q "^\[127.0.0.1\]:$PORT ssh-ed25519 " "$T/home/.ssh/known_hosts" &&
	ok "the key is in ~/.ssh/known_hosts" ||
	not_ok "the key is in ~/.ssh/known_hosts: $(cat "$T/home/.ssh/known_hosts" 2>&1)"
grep -q "added the host key $fp" "$T/err" && ok "and the client says so" ||
	not_ok "and the client says so: $(cat "$T/err")"
grep -q '"hostname"\|hostname\|kernel' "$T/out" && ok "info shows the agent" ||
	not_ok "info shows the agent: $(head -c 300 "$T/out")"

# On a terminal the client asks.  ask ANSWER HOME ARGS...: the client on a
# pty of its own, answering the host key question; its output on stdout.
ask() {
	ans=$1; h=$2; shift 2
	# shellcheck disable=SC2086
	env -u SSH_AUTH_SOCK HOME="$h" python3 -c '
import os, select, sys, time
ans, argv = sys.argv[1], sys.argv[2:]
pid, fd = os.forkpty()
if pid == 0:
    os.execv(argv[0], argv)
out, sent, end = b"", False, time.time() + 30
while time.time() < end:
    if not select.select([fd], [], [], 0.2)[0]:
        continue
    try:
        d = os.read(fd, 4096)
    except OSError:
        break
    if not d:
        break
    out += d
    if not sent and b"(yes/no)? " in out:
        os.write(fd, (ans + "\n").encode())
        sent = True
sys.stdout.write(out.decode(errors="replace"))
st = os.waitpid(pid, 0)[1]
sys.exit(os.WEXITSTATUS(st) if os.WIFEXITED(st) else 99)
' "$ans" "$LIFELINE" $CLIENT_SEC --via "$GW" "$@"
}
mkdir -p "$T/asker/.ssh"
cp "$T/home/.ssh/id_ed25519" "$T/home/.ssh/id_ed25519.pub" "$T/asker/.ssh/"
ask no "$T/asker" info >"$T/out" 2>&1
is "on a terminal, answering no: exit 3" "$?" 3
grep -q "fingerprint is $fp" "$T/out" && grep -q "not accepted" "$T/out" &&
	ok "the question shows the fingerprint, the answer is respected" ||
	not_ok "the question shows the fingerprint: $(cat "$T/out")"
ask yes "$T/asker" info >"$T/out" 2>&1
is "answering yes: info exits 0" "$?" 0
grep -q "^\[127.0.0.1\]:$PORT ssh-ed25519 " "$T/asker/.ssh/known_hosts" &&
	ok "and the key is filed" || not_ok "and the key is filed"

# --- operations through the raw gateway -------------------------------
# ops LABEL [OPTIONS]: info, exec and get through the gateway
ops() {
	what=$1; shift
	llg "$@" info >/dev/null 2>"$T/err"
	is "info ($what)" "$?" 0
	out=$(llg "$@" exec -- sh -c 'echo out; echo err >&2; exit 7' 2>"$T/err")
	rc=$?
	is "exec output ($what)" "$out" out
	is "exec exit status ($what)" "$rc" 7
	rm -rf "$T/got"
	llg "$@" get /srv/blob.bin "$T/got" >/dev/null 2>"$T/err"
	is "get exits 0 ($what)" "$?" 0
	is "get is byte-exact ($what)" "$(sha "$T/got" 2>/dev/null)" \
		"$(sha "$T/root/srv/blob.bin")"
	rm -f "$T/root/srv/up.bin"
	llg "$@" put "$T/upload.bin" /srv/up.bin >/dev/null 2>"$T/err"
	is "put exits 0 ($what)" "$?" 0
	is "put is byte-exact ($what)" "$(sha "$T/root/srv/up.bin" 2>/dev/null)" \
		"$(sha "$T/upload.bin")"
}
# has_mode FILE MODE: stty -a output FILE lists MODE (like "icanon")
has_mode() { tr ' ;' '\n\n' <"$1" | grep -qx -- "$2"; }
ops raw

# --- a changed gateway key --------------------------------------------
stop_sshd
start_sshd "$T/hostkey2" "$T/authorized_keys" "$T/gateway.sh"
llg info >"$T/out" 2>"$T/err"
is "a changed gateway key is refused: exit 3" "$?" 3
grep -q "changed" "$T/err" && ok "the refusal says the key changed" ||
	not_ok "the refusal says the key changed: $(cat "$T/err")"
grep -q "ssh-keygen -R" "$T/err" && ok "and how to remove the old one" ||
	not_ok "and how to remove the old one"
llg --accept-new-host-key info >/dev/null 2>"$T/err"
is "--accept-new-host-key does not accept a changed key" "$?" 3
stop_sshd
start_sshd "$T/hostkey" "$T/authorized_keys" "$T/gateway.sh"

# --- a client key the gateway does not accept -------------------------
cp "$T/home/.ssh/known_hosts" "$T/stranger/.ssh/known_hosts"
llg "$T/stranger" info >"$T/out" 2>"$T/err"
is "an unknown client key: exit 3" "$?" 3
grep -q "authentication failed for $ME@127.0.0.1" "$T/err" &&
	ok "the refusal says authentication failed" ||
	not_ok "the refusal says authentication failed: $(cat "$T/err")"
grep -q "stranger/.ssh/id_ed25519" "$T/err" &&
	ok "and names the key it tried" || not_ok "and names the key it tried"
llg "$T/stranger" -i "$T/home/.ssh/id_ed25519" info >/dev/null 2>"$T/err"
is "--identity with the accepted key works" "$?" 0

# --- cooked ptys and no pty -------------------------------------------
echo sane >"$T/mode"
ops "stty sane"
has_mode "$T/stty.sane" icanon && has_mode "$T/stty.sane" isig &&
	has_mode "$T/stty.sane" echo && has_mode "$T/stty.sane" icrnl &&
	ok "the sane gateway pty was cooked (icanon isig echo icrnl)" ||
	not_ok "the sane gateway pty was cooked: $(cat "$T/stty.sane" 2>&1)"
echo cooked >"$T/mode"
ops "stty sane -icanon -isig"
has_mode "$T/stty.cooked" -icanon && has_mode "$T/stty.cooked" echo &&
	ok "the cooked gateway pty echoed, without line editing" ||
	not_ok "the cooked gateway pty: $(cat "$T/stty.cooked" 2>&1)"
echo raw >"$T/mode"
ops "--no-pty" --no-pty

kill -0 "$AGENT_PID" 2>/dev/null && ok "the agent is still up" ||
	not_ok "the agent is still up"
