#!/bin/sh
# lifeline attach on consoles made of socat PTY pairs: a fake login
# (tests/sys/fake-login.py: getty and login, then a shell) on one end, the
# client on the other.  Refused logins, a missing password, logging in and
# starting the agent, finding it running the second time, the password asked
# on the terminal, a console left at a shell prompt, an agent that does not
# start, a console that never prompts; and the password appears nowhere in
# lifeline's output, even when the console echoes it.
. "$(dirname "$0")/lib.sh"
need python3 socat
plan 31

FAKE="$top_srcdir/tests/sys/fake-login.py"
PW='Secr3t-pw-4-attach'
AGENT_CMD="$LIFELINED --stdio --insecure --debug-file $T/agent.log"
VERSION=$("$LIFELINED" --version | cut -d' ' -f2)
printf '%s\n' "$PW" >"$T/pw"
printf 'not-the-password\n' >"$T/badpw"

# fake_login A [options]: the fake login on $T/A, ready to be woken
fake_login() {
	tty=$1; shift
	rm -f "$T/ready"
	python3 "$FAKE" "$T/$tty" --ready "$T/ready" "$@" 2>>"$T/fake.err" &
	PIDS="$PIDS $!"
	for _ in $(seq 100); do
		[ -e "$T/ready" ] && return 0
		sleep 0.05
	done
	echo "Bail out! the fake login did not start"; cat "$T/fake.err"; exit 1
}

# at N ARGS...: lifeline --via tty:$T/$CONSOLE attach ARGS, output in
# $T/outN and $T/errN, status in $rc
at() {
	n=$1; shift
	"$LIFELINE" --insecure --via "tty:$T/$CONSOLE" -v -v attach "$@" \
		>"$T/out$n" 2>"$T/err$n"
	rc=$?
}

start_ptys a b
fake_login a --user root --password "$PW" --log "$T/login.log"
CONSOLE=b

at 1 --password-file "$T/badpw" --agent-command "$AGENT_CMD" </dev/null
is "a wrong password exits 3" "$rc" 3
grep -q 'login as root failed.*Login incorrect' "$T/err1" &&
	ok "and says the console's Login incorrect" ||
	not_ok "and says Login incorrect: $(cat "$T/err1")"

at 2 --agent-command "$AGENT_CMD" </dev/null
is "no password to give exits 3" "$rc" 3
grep -q 'asks for a password for root; give --password-file' "$T/err2" &&
	ok "and says how to give one" || not_ok "and says how: $(cat "$T/err2")"

# The console is still at Password: from the last run; the wake answers it
# (empty, refused) and the login prompt follows.
at 3 --password-stdin --agent-command "$AGENT_CMD" <"$T/pw"
is "attach logs in, starts the agent and runs info" "$rc" 0
grep -q "^agent *$VERSION\$" "$T/out3" && ok "info shows the agent's version" ||
	not_ok "info shows the version: $(cat "$T/out3" "$T/err3")"
grep -q 'shell prompt: starting the agent' "$T/err3" &&
	ok "it found the shell prompt after the login" ||
	not_ok "shell prompt found: $(cat "$T/err3")"
is "the fake login saw one good login" "$(grep -c 'login ok' "$T/login.log")" 1

at 4 -- exec -- echo hi </dev/null
is "a second attach runs exec" "$rc" 0
is "and gets its output" "$(cat "$T/out4")" hi
grep -q 'trying the agent' "$T/err4" && ok "it found the agent already running" ||
	not_ok "found the agent running: $(cat "$T/err4")"
is "without logging in again" "$(grep -c 'login ok' "$T/login.log")" 1

# Twice more, back to back.
at 5 -- exec -- echo again </dev/null
is "a third attach works as well" "$rc $(cat "$T/out5")" "0 again"

# The password is in none of lifeline's output, -v -v included.
if grep -l -F -e "$PW" "$T"/out? "$T"/err? >"$T/leak" 2>/dev/null; then
	not_ok "the password appears nowhere in lifeline's output: $(cat "$T/leak")"
else
	ok "the password appears nowhere in lifeline's output (-v -v)"
fi
grep -q 'sending the password' "$T/err3" && ok "-v -v says a password was sent" ||
	not_ok "-v -v says a password was sent"

# A console that echoes the password: it is still not shown.
start_ptys i j
fake_login i --echo-password --password "$PW"
CONSOLE=j
at 12 --password-file "$T/badpw" </dev/null
is "a wrong password on an echoing console exits 3" "$rc" 3
if grep -q -F 'not-the-password' "$T/out12" "$T/err12"; then
	not_ok "an echoed password is scrubbed from the console text: $(cat "$T/err12")"
else
	ok "an echoed password is scrubbed from the console text"
fi

# Asked on the terminal: lifeline on a PTY of our own as its terminal.
start_ptys k l
fake_login k --password "$PW"
cat >"$T/term.py" <<'E'
import os, pty, select, sys, time
pid, m = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
out, asked, end = b"", False, time.time() + 30
while time.time() < end:
    if select.select([m], [], [], 0.1)[0]:
        try:
            data = os.read(m, 4096)
        except OSError:
            break
        if not data:
            break
        out += data
        if not asked and b"Password for root on" in out:
            asked = True
            os.write(m, os.environ["PW"].encode() + b"\n")
status = os.waitpid(pid, 0)[1]
sys.stdout.buffer.write(out)
print("\nexit", os.waitstatus_to_exitcode(status))
E
PW=$PW python3 "$T/term.py" "$LIFELINE" --insecure --via "tty:$T/l" attach \
	--agent-command "$AGENT_CMD" -- exec -- echo via-terminal >"$T/term.out" 2>&1
grep -q '^exit 0' "$T/term.out" && grep -q '^via-terminal' "$T/term.out" &&
	ok "without a password option it is asked for on the terminal" ||
	not_ok "asked on the terminal: $(cat "$T/term.out")"
if grep -q -F -e "$PW" "$T/term.out"; then
	not_ok "the terminal does not echo the password"
else
	ok "the terminal does not echo the password"
fi

# A console left at a shell prompt: no login.
start_ptys c d
fake_login c --shell-only --log "$T/login2.log"
CONSOLE=d
at 6 --agent-command /nonexistent/lifelined </dev/null
is "an agent that cannot start exits 4" "$rc" 4
grep -q 'the agent did not start.*/nonexistent/lifelined: No such file' "$T/err6" &&
	ok "and the shell's complaint is shown" ||
	not_ok "the shell's complaint is shown: $(cat "$T/err6")"
at 7 --agent-command "$AGENT_CMD" -- exec -- echo from-shell </dev/null
is "a console at a shell prompt needs no login" "$rc $(cat "$T/out7")" "0 from-shell"
grep -q 'login' "$T/login2.log" && not_ok "no login was attempted" ||
	ok "no login was attempted"

# The same with dash, whose prompt is plain "# ", and a password that is
# asked for but not needed is not read.
start_ptys e f
fake_login e --shell-only --dash
CONSOLE=f
at 8 --password-file "$T/pw" --agent-command "$AGENT_CMD" -- exec -- echo dash </dev/null
is "a dash prompt works too" "$rc $(cat "$T/out8")" "0 dash"

# A console that talks but never prompts: the login timeout names its text.
start_ptys g h
sh -c 'while :; do echo "[    1.0] still booting"; sleep 0.2; done' >"$T/g" &
PIDS="$PIDS $!"
CONSOLE=h
start=$(date +%s)
at 9 --login-timeout 2 </dev/null
is "a console without a prompt times out with 4" "$rc" 4
grep -q 'no login or shell prompt.*within 2 s.*still booting' "$T/err9" &&
	ok "the message names the last text seen" ||
	not_ok "names the last text: $(cat "$T/err9")"
[ $(( $(date +%s) - start )) -le 6 ] && ok "--login-timeout is kept" ||
	not_ok "--login-timeout is kept: $(( $(date +%s) - start )) s"

# Usage errors.
CONSOLE=b
at 10 --password-file "$T/pw" --password-stdin </dev/null
is "--password-file with --password-stdin is a usage error" "$rc" 2
at 11 --password-file "$T/nonexistent" </dev/null
is "a missing --password-file is a usage error" "$rc" 2

# Authenticated, the default: attach starts the agent with SSH and the
# session inside the link is SSH, with the client's key.
ssh_setup
start_ptys i j
fake_login i --user root --password "$PW" --log "$T/login3.log"
SSH_AGENT_CMD="$LIFELINED --stdio --config $T/agent.conf --host-key $T/hostkey --authorized-keys $T/authorized_keys --debug-file $T/agent-ssh.log"
HOME="$T/home" SSH_AUTH_SOCK= "$LIFELINE" --via "tty:$T/j" --known-hosts "$T/known_hosts" \
	--accept-new-host-key attach --password-file "$T/pw" --agent-command "$SSH_AGENT_CMD" \
	-- exec -- echo authenticated >"$T/out10" 2>"$T/err10" </dev/null
is "attach with SSH logs in, starts the agent and runs exec over SSH" "$? $(cat "$T/out10")" "0 authenticated"
check "the agent authenticated the client's key" \
	sh -c "grep 'auth ok' '$T/agent-ssh.log' | grep -qF '$SSH_FP_CLIENT'"
