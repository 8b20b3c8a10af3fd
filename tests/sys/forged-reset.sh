#!/bin/sh
# RESET frames are not authenticated: someone on the line (llpeer
# forge-reset, answering every HELLO as an agent would) can claim that the
# agent has no SSH, or requires it.  The client must report what the line
# answered, that it may be forged, and that nothing was sent, and must never
# advise the operator to give up SSH (--insecure).  The genuine answer of an
# --insecure agent reads the same, since the client cannot tell them apart.
. "$(dirname "$0")/lib.sh"
need ssh-keygen socat
plan 12

mkdir -p "$T/home/.ssh"
ssh-keygen -q -t ed25519 -N '' -f "$T/home/.ssh/id_ed25519"
# run_client VIA [lifeline options]: exit status; stderr in $T/err
run_client() {
	via=$1; shift
	HOME="$T/home" SSH_AUTH_SOCK= timeout 30 "$LIFELINE" --via "$via" \
		--known-hosts "$T/known_hosts" "$@" info >/dev/null 2>"$T/err"
}
forge() { echo "exec:$LLPEER forge-reset --reason $1"; }

# An SSH client told "no SSH here" (reason 4): forged, or an --insecure agent.
run_client "$(forge 4)"
is "a forged 'no SSH' RESET fails the SSH client (exit 3)" "$?" 3
grep -q 'the line answered that SSH is unavailable' "$T/err" &&
	ok "  it says what the line answered" || not_ok "  answer: $(cat "$T/err")"
grep -q 'started with --insecure, or someone on the line' "$T/err" &&
	ok "  and that it may be forged" || not_ok "  forged: $(cat "$T/err")"
grep -q 'nothing was sent' "$T/err" && ok "  and that nothing was sent" ||
	not_ok "  nothing sent: $(cat "$T/err")"
grep -qi 'give --insecure\|--insecure too\|use --insecure' "$T/err" &&
	not_ok "  it advises --insecure: $(cat "$T/err")" || ok "  it never advises --insecure"

# An SSH client told "SSH required" (reason 3, what an agent answers to a
# HELLO whose SSH flag was stripped on the line).
run_client "$(forge 3)"
is "a 'requires SSH' RESET to an SSH client fails (exit 3)" "$?" 3
grep -q 'though this client asked for SSH: the HELLO was altered on the line or the answer forged' "$T/err" &&
	ok "  it says the HELLO was altered or the answer forged" || not_ok "  altered: $(cat "$T/err")"
grep -q 'drop --insecure\|without --insecure' "$T/err" &&
	not_ok "  it talks of --insecure the user never gave: $(cat "$T/err")" ||
	ok "  it does not tell to drop an --insecure never given"

# The genuine answer of an --insecure agent, on a PTY.
start_ptys a b
start_agent --serial "$T/a"
run_client "serial:$T/b"
is "an SSH client and an --insecure agent: exit 3" "$?" 3
grep -q 'the line answered that SSH is unavailable.*nothing was sent' "$T/err" &&
	ok "  the same report as for a forged answer" || not_ok "  genuine: $(cat "$T/err")"
grep -qi 'give --insecure\|--insecure too' "$T/err" &&
	not_ok "  it advises --insecure: $(cat "$T/err")" || ok "  and no advice to use --insecure"
kill -0 "$AGENT_PID" 2>/dev/null && ok "the agent is still up" || not_ok "the agent is still up"
