#!/bin/sh
# Bulk transfers over every SSH path, the way issue 18 found them stalling
# for good after a few hundred KiB: get and put of BULK_MB (100 by default)
# MiB of random data over lifeline+ssh:// (libssh at both ends), over
# lifeline+exec: through OpenSSH's ssh client (ssh -s ... lifeline) and over
# a unix socket with SSH inside the link.  Each transfer runs under a time
# limit, so a stall fails its own check instead of hanging the suite, and
# each must arrive byte-exact (SHA-256).
. "$(dirname "$0")/lib.sh"
need ssh python3 timeout
plan 16

MB=${BULK_MB:-100}
LIMIT=${BULK_LIMIT_S:-120}	# seconds per transfer; loaded CI machines too

ssh_setup
port=$(free_port)
mkdir -p "$T/root" "$T/local"
# One file, twice: /big in the target to get, $T/src here to put (so that
# a failed get does not take the put down with it).
head -c $((MB * 1048576)) /dev/urandom >"$T/src" ||
	{ echo "Bail out! cannot make $MB MiB of test data"; exit 1; }
ln "$T/src" "$T/root/big"
want=$(sha "$T/src")
start_agent_ssh --listen-ssh "127.0.0.1:$port" --listen "unix:$T/agent.sock" \
	--target-root "$T/root"
fp=$(agent_fp) || { echo "Bail out! the agent logged no host key"; exit 1; }
for _ in $(seq 100); do
	python3 -c "import socket; socket.create_connection(('127.0.0.1', $port))" 2>/dev/null &&
		[ -S "$T/agent.sock" ] && break
	sleep 0.05
done
KEY="$T/home/.ssh/id_ed25519"

# transfer LABEL: get /big, put $T/src as /up-LABEL, both timed.
transfer() {
	label=$1
	rm -f "$T/local/big"
	t0=$(date +%s.%N)
	HOME="$T/home" SSH_AUTH_SOCK= timeout "$LIMIT" "$LIFELINE" --via "$VIA" \
		--known-hosts "$T/known_hosts" --host-key-fingerprint "$fp" \
		get /big "$T/local/big" >/dev/null 2>"$T/err"
	rc=$?
	t1=$(date +%s.%N)
	is "$label: get of $MB MiB ends in time and exits 0" "$rc" 0
	[ "$rc" = 0 ] || sed 's/^/#   /' "$T/err" | tail -n 5
	is "$label: get is byte-exact" "$(sha "$T/local/big" 2>/dev/null)" "$want"
	HOME="$T/home" SSH_AUTH_SOCK= timeout "$LIMIT" "$LIFELINE" --via "$VIA" \
		--known-hosts "$T/known_hosts" --host-key-fingerprint "$fp" \
		put "$T/src" "/up-$label" >/dev/null 2>"$T/err"
	rc=$?
	t2=$(date +%s.%N)
	is "$label: put of $MB MiB ends in time and exits 0" "$rc" 0
	[ "$rc" = 0 ] || sed 's/^/#   /' "$T/err" | tail -n 5
	is "$label: put is byte-exact" "$(sha "$T/root/up-$label" 2>/dev/null)" "$want"
	awk -v l="$label" -v m="$MB" -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN {
		printf "# %s: get %.1f s (%.0f MB/s), put %.1f s (%.0f MB/s)\n",
		    l, b - a, m * 1.048576 / (b - a), c - b, m * 1.048576 / (c - b) }'
	rm -f "$T/local/big" "$T/root/up-$label"
}

VIA="lifeline+ssh://root@127.0.0.1:$port"
transfer lifeline-ssh

VIA="lifeline+exec:ssh -F /dev/null -p $port -o BatchMode=yes -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=$T/ossh_known_hosts -i $KEY -s root@127.0.0.1 lifeline"
transfer openssh

VIA="unix:$T/agent.sock"
transfer link

# Still serving after all that, and nothing left behind.
VIA="lifeline+ssh://root@127.0.0.1:$port"
is "the agent still answers" \
	"$(HOME="$T/home" SSH_AUTH_SOCK= timeout 30 "$LIFELINE" --via "$VIA" \
	--known-hosts "$T/known_hosts" --host-key-fingerprint "$fp" \
	exec -- echo alive 2>/dev/null)" alive
is "no temp files are left in the target" \
	"$(find "$T/root" -name '*.lifeline-part' | wc -l)" 0
is "the agent's threads are back to one" \
	"$(sleep 1; ls /proc/$AGENT_PID/task | wc -l)" 1
check "no session was ended as stalled" \
	sh -c "! grep -q 'silent for' '$T/agent.log'"
