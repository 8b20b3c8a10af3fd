#!/bin/sh
# The start of an SSH session inside the link, cut for slow lines (issue
# 14): over the link emulator at 9600 baud (clean) lifeline's client and
# the agent negotiate exactly curve25519-sha256, ssh-ed25519 and
# chacha20-poly1305 (libssh's log on the client, the agent's log); the
# client's SSH packets up to its first channel data (libssh's packet log)
# are six requests, one of them the authentication (no "none", no query
# before the signature), and the first record goes out before the
# subsystem's answer comes; a session's start up to the first reply (ping
# -c1) puts at most the wire bytes measured for this design on the line,
# plus a margin for the ACK frames a loaded machine sends when a reply is
# late (counts, not timings; main before it took 3.0 and 3.3 KB).  Authentication is as strict as before:
# a key that is not authorized is refused.  OpenSSH's ssh with its
# defaults still connects through the link (lifeline proxy) and is refused
# when it insists on a cipher the in-link server does not offer, while
# the agent's --listen-ssh keeps libssh's defaults (that same cipher is
# accepted there).
. "$(dirname "$0")/lib.sh"
need ssh ssh-keygen python3
plan 21

# The figures of docs/protocol.md ("SSH layer", the session's start: 1.6
# and 1.8 KB), plus a margin for ACKs that a loaded machine sends before
# the reply is ready (each 41 bytes).
BYTES_MAX=2700

ssh_setup
KEY="$T/home/.ssh/id_ed25519"
start_emu a b --baud 9600 --seed 1 --duration-s 600
start_agent_ssh --serial "$T/a,9600"
fp=$(agent_fp) || { echo "Bail out! the agent logged no host key"; exit 1; }
VIA="serial:$T/b,9600"

# First contact, with libssh's packet log (-vvvv); the key is filed.
lls --accept-new-host-key -vvvv ping -c1 >/dev/null 2>"$T/first.err"
is "the first session (the host key accepted) gets its reply" $? 0
check "the client negotiated curve25519-sha256, ssh-ed25519, chacha20-poly1305 and no MAC" \
	grep -q "Negotiated curve25519-sha256,ssh-ed25519,chacha20-poly1305@openssh.com,chacha20-poly1305@openssh.com,aead-poly1305,aead-poly1305,none,none" "$T/first.err"
# The KEXINITs as libssh lists them: the client's own, then the agent's.
for want in "kex algos: curve25519-sha256,ext-info-c,kex-strict-c-v00@openssh.com" \
    "kex algos: curve25519-sha256,kex-strict-s-v00@openssh.com"; do
	check "a KEXINIT offers one key exchange: $want" grep -q "$want\$" "$T/first.err"
done
check "both offer ssh-ed25519, chacha20-poly1305 each way and no compression, only" \
	sh -c "[ \$(grep -cE 'ssh_list_kex: +(server host key algo: ssh-ed25519|encryption (client->server|server->client): chacha20-poly1305@openssh.com|compression algo (client->server|server->client): none)\$' '$T/first.err') = 10 ]"
check "the agent logged the same key exchange and cipher" \
	grep -q "SSH kex curve25519-sha256, cipher chacha20-poly1305@openssh.com in / chacha20-poly1305@openssh.com out" "$T/agent.log"
if grep -q "Access denied for 'none'" "$T/first.err"; then
	not_ok "the client tried no 'none' authentication"
else
	ok "the client tried no 'none' authentication"
fi
check "it signed with its default key file at once" \
	grep -q "authenticated as root@.* with $KEY" "$T/first.err"
# The client's packets in order: "w TYPE" written, "r TYPE" read.
sed -n 's/.*packet: wrote \[type=\([0-9]*\),.*/w \1/p; s/.*packet: read type \([0-9]*\) .*/r \1/p' \
	"$T/first.err" | awk '$0 == "w 94" { exit } { print }' >"$T/packets"
diag "client packets before its first channel data: $(tr '\n' ' ' <"$T/packets")"
# requests: KEXINIT 20, ECDH 30, SERVICE_REQUEST 5, USERAUTH_REQUEST 50,
# CHANNEL_OPEN 90, CHANNEL_REQUEST 98 (NEWKEYS 21 is no request)
is "six requests before the first channel data" \
	"$(grep -cE '^w (20|30|5|50|90|98)$' "$T/packets")" 6
is "one of them the authentication" "$(grep -c '^w 50$' "$T/packets")" 1
if grep -q '^r 99$' "$T/packets"; then
	not_ok "the first record went out before the subsystem's answer came"
else
	ok "the first record went out before the subsystem's answer came"
fi

# The counted start: the summary a user sees with -v.
lls -v ping -c1 >/dev/null 2>"$T/count.err"
is "a second session gets its reply" $? 0
sed -n 's/.*link: \([0-9]*\) frames sent (\([0-9]*\) retransmitted), \([0-9]*\) received.*wire bytes \([0-9]*\) out, \([0-9]*\) in.*/\1 \2 \3 \4 \5/p' \
	"$T/count.err" | tail -n 1 >"$T/counts"
read -r fout rtx fin bout bin <"$T/counts"
bout=${bout:-99999} bin=${bin:-99999}
diag "start to first reply at 9600: $fout frames out ($rtx retransmitted), $fin in; wire bytes $bout out, $bin in"
check "wire bytes out at most $BYTES_MAX ($bout)" [ "$bout" -le "$BYTES_MAX" ]
check "wire bytes in at most $BYTES_MAX ($bin)" [ "$bin" -le "$BYTES_MAX" ]

# A key that is not authorized is refused, as before.
mkdir -p "$T/other/.ssh"
chmod 700 "$T/other" "$T/other/.ssh"
ssh-keygen -q -t ed25519 -N '' -f "$T/other/.ssh/id_ed25519"
cp "$T/known_hosts" "$T/other.kh"
HOME="$T/other" SSH_AUTH_SOCK= "$LIFELINE" --via "$VIA" \
	--known-hosts "$T/other.kh" ping -c1 >/dev/null 2>"$T/err"
rc=$?
check "a key that is not authorized is refused (exit $rc)" [ "$rc" -ne 0 ]
check "and the client says no key was accepted" grep -q "no key accepted" "$T/err"

# OpenSSH through the link: its defaults meet the narrowed server.
SSH_AUTH_SOCK= ssh -F /dev/null -o BatchMode=yes -o ControlPath=none \
	-o StrictHostKeyChecking=accept-new -o UserKnownHostsFile="$T/okh" \
	-o HostKeyAlias=rescue -i "$KEY" -o IdentitiesOnly=yes \
	-o ProxyCommand="$LIFELINE --via $VIA proxy" \
	root@rescue 'echo through the link' >"$T/out" 2>"$T/err"
is "OpenSSH's ssh with its defaults connects through the link" \
	"$(cat "$T/out")" "through the link"
SSH_AUTH_SOCK= ssh -F /dev/null -o BatchMode=yes -o ControlPath=none \
	-o StrictHostKeyChecking=accept-new -o UserKnownHostsFile="$T/okh" \
	-o HostKeyAlias=rescue -i "$KEY" -o IdentitiesOnly=yes -c aes256-ctr \
	-o ProxyCommand="$LIFELINE --via $VIA proxy" \
	root@rescue true >/dev/null 2>"$T/err"
is "ssh -c aes256-ctr through the link is refused (exit 255)" $? 255
check "no matching cipher" grep -qi "no matching cipher" "$T/err"
stop_agent

# --listen-ssh keeps libssh's defaults for whatever client comes.
port=$(free_port)
start_agent_ssh --listen-ssh "127.0.0.1:$port"
for _ in $(seq 100); do
	python3 -c "import socket; socket.create_connection(('127.0.0.1', $port))" 2>/dev/null && break
	sleep 0.05
done
for c in default aes256-ctr; do
	copt=""
	[ "$c" = default ] || copt="-c $c"
	# shellcheck disable=SC2086
	out=$(SSH_AUTH_SOCK= ssh -F /dev/null -p "$port" -o BatchMode=yes \
		-o StrictHostKeyChecking=accept-new -o UserKnownHostsFile="$T/okh2" \
		-i "$KEY" -o IdentitiesOnly=yes $copt root@127.0.0.1 'echo listener' \
		2>"$T/err")
	is "OpenSSH's ssh ($c cipher) connects to --listen-ssh" "$out" listener
done
