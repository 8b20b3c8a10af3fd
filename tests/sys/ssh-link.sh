#!/bin/sh
# SSH inside the link, the default: an agent on a console (a socat PTY pair)
# without --insecure.  The client authenticates with its key, checks the
# agent's host key (trust on first use, pinning, a changed key), and nothing
# reaches the agent's operations outside an authenticated SSH session: not a
# client in the clear, not a well-formed frame injected by someone without a
# key.  Allow-list, read-only mode and the audit trail are checked too.
. "$(dirname "$0")/lib.sh"
need python3
plan 30

ssh_setup
start_ptys A B
mkdir -p "$T/root/etc"
head -c 300000 /dev/urandom >"$T/root/blob"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$T/root/etc/passwd"
printf 'root:$6$old$old:19000:0:99999:7:::\n' >"$T/root/etc/shadow"
chmod 600 "$T/root/etc/shadow"
start_agent_ssh --serial "$T/A" --target-root "$T/root"
VIA="serial:$T/B"
fp=$(agent_fp) || { echo "Bail out! the agent logged no host key"; exit 1; }
is "the host key was generated with mode 0600" "$(stat -c %a "$T/hostkey")" 600

# Trust on first use.
lls info >"$T/out" 2>"$T/err"
is "an unknown agent key is refused without --accept-new-host-key (exit 3)" $? 3
check "the refusal offers no fingerprint to paste, it says where to read it" sh -c "! grep -qF '$fp' '$T/err' && grep -q console '$T/err'"
check "and says how to accept it" grep -q -- "--accept-new-host-key" "$T/err"
lls --accept-new-host-key info >"$T/out" 2>"$T/err"
is "with --accept-new-host-key the session works" $? 0
check "info came back over SSH" grep -q "^agent " "$T/out"
check "the key is filed under the --via name" grep -qxF "$VIA $fp" "$T/known_hosts"
is "exec inside the link" "$(lls exec -- echo over ssh 2>/dev/null)" "over ssh"
lls exec -- sh -c 'exit 7' 2>/dev/null
is "the remote exit status passes through" $? 7
lls get /blob "$T/blob.out" 2>"$T/err"
is "get over SSH is byte-exact" "$(sha "$T/blob.out")" "$(sha "$T/root/blob")"
check "the audit trail names the client's key" grep -qF "$SSH_FP_CLIENT" "$T/agent.log"

# Pinning.
lls --known-hosts "$T/none" --host-key-fingerprint "$fp" info >/dev/null 2>&1
is "a matching --host-key-fingerprint needs no known-hosts entry" $? 0
lls --known-hosts "$T/none" --host-key-fingerprint "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" info >/dev/null 2>"$T/err"
is "a wrong --host-key-fingerprint is refused (exit 3)" $? 3
check "naming the key the agent has" grep -qF "$fp" "$T/err"

# A key that is not in authorized_keys.
mkdir -p "$T/other/.ssh"
ssh-keygen -q -t ed25519 -N '' -f "$T/other/.ssh/id_ed25519"
HOME="$T/other" SSH_AUTH_SOCK= "$LIFELINE" --via "$VIA" --known-hosts "$T/known_hosts" info >/dev/null 2>"$T/err"
is "a key not in authorized_keys is refused (exit 3)" $? 3
check "with an authentication failure message" grep -qi "authentication failed" "$T/err"
other_fp=$(ssh-keygen -lf "$T/other/.ssh/id_ed25519.pub" | cut -d' ' -f2)
check "the refused key is in the audit trail" grep -F "$other_fp" "$T/agent.log"

# Nothing in the clear.
"$LIFELINE" --insecure --via "$VIA" info >/dev/null 2>"$T/err"
is "a client without SSH is refused (exit 3)" $? 3
check "and told the agent requires SSH" grep -q "requires SSH" "$T/err"
"$LLPEER" raw --via "$VIA" --request "exec={\"argv\":[\"touch\",\"$T/pwned1\"]}" --wait-ms 1500 >"$T/peer1" 2>&1
"$LLPEER" raw --via "$VIA" --claim-ssh --request "exec={\"argv\":[\"touch\",\"$T/pwned2\"]}" \
	--stream 1 --hex "$(printf '%s' "exec" | od -An -tx1 | tr -d ' \n')" --wait-ms 2500 >"$T/peer2" 2>&1
sleep 0.5
check "a valid frame carrying an exec request outside SSH runs nothing" test ! -e "$T/pwned1" -a ! -e "$T/pwned2"
check "the agent saw no lifeline request from them" sh -c "! grep pwned '$T/agent.log'"
is "and still serves an authenticated client" "$(lls exec -- echo still here 2>/dev/null)" "still here"

# A changed host key.
stop_agent
HOSTKEY="$T/hostkey2" start_agent_ssh --serial "$T/A" --target-root "$T/root"
sleep 0.5
fp2=$(agent_fp)
lls info >/dev/null 2>"$T/err"
is "a changed agent key is refused (exit 3)" $? 3
check "the message says it changed and names the old key's line" sh -c "grep -q 'another host key' '$T/err' && grep -qF '$T/known_hosts:1 ($fp)' '$T/err'"

# Passwords and hashes never reach the audit trail.
lls --host-key-fingerprint "$fp2" passwd --hash '$6$secretsalt$secrethashvalue' root >/dev/null 2>"$T/err"
is "passwd --hash over SSH" $? 0
check "the hash is not in the agent's log" sh -c "! grep -q secrethashvalue '$T/agent.log'"

# Allow-list and read-only mode.
stop_agent
HOSTKEY="$T/hostkey2" start_agent_ssh --serial "$T/A" --target-root "$T/root" --read-only --allow info,exec,get,fsck
sleep 0.5
is "read-only: info works" "$(lls --host-key-fingerprint "$fp2" info >/dev/null 2>&1; echo $?)" 0
lls --host-key-fingerprint "$fp2" exec -- touch "$T/ro-touched" >/dev/null 2>"$T/err"
check "read-only: exec is refused and says why" sh -c "grep -q read-only '$T/err' && test ! -e '$T/ro-touched'"
lls --host-key-fingerprint "$fp2" passwd --hash '$6$x$y' root >/dev/null 2>"$T/err"
check "allow-list: passwd is refused and says why" grep -q "allow-list" "$T/err"
check "refusals are in the audit trail" grep -q "refused.*passwd\|passwd.*refused" "$T/agent.log"
