#!/bin/sh
# lifeline console over a socat PTY pair whose far end answers each line:
# piped input and its answer, the drain, the far end going away, and, on a
# terminal driven through a PTY of our own, raw mode, the escape key and the
# terminal modes put back after leaving, after SIGTERM and after SIGHUP.
. "$(dirname "$0")/lib.sh"
need python3 stty
plan 36

start_ptys a b
# The remote side: answers every line it gets.
sh -c 'while IFS= read -r l; do printf "remote: %s\n" "$l"; done' \
	<"$T/a" >"$T/a" &
PIDS="$PIDS $!"
VIA="tty:$T/b"

# Piped: stdin's bytes go through as they are, the answers come back.
out=$(printf 'hello\nworld\n' | "$LIFELINE" --via "$VIA" console 2>"$T/err")
is "console exits 0 at the end of its input" "$?" 0
is "the remote's answers arrive on stdout" "$out" "remote: hello
remote: world"
# ^] is no escape on a pipe: it goes through.
out=$(printf 'a\035.b\n' | "$LIFELINE" --via "$VIA" console 2>"$T/err")
is "on a pipe the escape key is an ordinary byte" "$out" "$(printf 'remote: a\035.b')"
# A shorter drain still shows what answers at once.
out=$(printf 'slow\n' | "$LIFELINE" --via "$VIA" console --drain 0.1 2>"$T/err")
is "--drain takes seconds" "$out" "remote: slow"
"$LIFELINE" --via "$VIA" console --drain x </dev/null 2>"$T/err"
is "a bad --drain is a usage error" "$?" 2
"$LIFELINE" --via "$VIA" console --escape '^^^' </dev/null 2>"$T/err"
is "a bad --escape is a usage error" "$?" 2
"$LIFELINE" --via "tty:$T/nonexistent" console </dev/null 2>"$T/err"
is "a missing device exits 3" "$?" 3
grep -q "$T/nonexistent" "$T/err" && ok "and is named" || not_ok "and is named: $(cat "$T/err")"

# A device that goes away (a USB adapter pulled out; here the PTY's other
# side ends) is waited for, as tio does, and used again when it comes back
# under the same path (socat started again with the same links).
start_ptys c d
socat_cd=${PIDS##* }
mkfifo "$T/in"
"$LIFELINE" --via "tty:$T/d" console <"$T/in" >"$T/out" 2>"$T/err" &
console_pid=$!
PIDS="$PIDS $console_pid"
exec 3>"$T/in"
sleep 0.3
kill "$socat_cd"
wait "$socat_cd" 2>/dev/null
sleep 1
kill -0 "$console_pid" 2>/dev/null && ok "when the device goes away the console waits for it" ||
	not_ok "the console waits: it ended; $(cat "$T/err")"
grep -q "console: tty:$T/d went away .*waiting for it to come back" "$T/err" && ok "and says so" ||
	not_ok "and says so: $(cat "$T/err")"
start_ptys c d 3>&-	# socat must not hold the console's stdin open
for _ in $(seq 100); do grep -q "is back" "$T/err" && break; sleep 0.05; done
grep -q "console: tty:$T/d is back" "$T/err" && ok "it finds the device back under its path" ||
	not_ok "back: $(cat "$T/err")"
printf 'typed after\n' >&3
is "keys reach the device that came back" "$(timeout 5 head -n 1 "$T/c")" "typed after"
printf 'from the device\n' >"$T/c"
for _ in $(seq 100); do grep -q "from the device" "$T/out" && break; sleep 0.05; done
check "and its output reaches stdout" grep -q "from the device" "$T/out"
exec 3>&-
wait "$console_pid"
is "the end of stdin still ends it (exit 0)" "$?" 0

# A path that cannot come back (exec:) ends the console when it closes.
sleep 3 | "$LIFELINE" --via "exec:echo bye" console >"$T/out" 2>"$T/err"
is "a closed exec: path ends the console with status 0" "$?" 0
grep -q "exec:echo bye closed the connection" "$T/err" && ok "and says so" ||
	not_ok "and says so: $(cat "$T/err")"

# On a terminal: a PTY of our own as console's stdin, stdout and stderr.
cat >"$T/drive.py" <<'E'
import os, pty, select, signal, subprocess, sys, termios, time

lifeline, via, scenario = sys.argv[1], sys.argv[2], sys.argv[3]
m, s = pty.openpty()
out = b""

def stty():
    return subprocess.run(["stty", "-g"], stdin=s, capture_output=True,
                          text=True).stdout.strip()

def pump(secs, until=None):
    """Read the master for up to secs, or until `until` is in the output."""
    global out
    end = time.time() + secs
    while time.time() < end:
        if until is not None and until in out:
            return True
        r, _, _ = select.select([m], [], [], 0.05)
        if r:
            try:
                out += os.read(m, 4096)
            except OSError:
                return False
    return until is None or until in out

def raw():
    lflag = termios.tcgetattr(s)[3]
    return not lflag & (termios.ICANON | termios.ECHO | termios.ISIG)

def wait_raw():
    end = time.time() + 5
    while time.time() < end and not raw():
        pump(0.05)
    return raw()

def report(key, value):
    print(key, value)

before = stty()
args = [lifeline, "--via", via, "console"]
if scenario == "custom":
    args += ["--escape", "^A"]
p = subprocess.Popen(args, stdin=s, stdout=s, stderr=s,
                     start_new_session=True)
report("hint", "yes" if pump(5, b"then . to leave") else "no")
report("raw", "yes" if wait_raw() else "no")
if scenario == "escape":
    os.write(m, b"ping\n")
    report("answer", "yes" if pump(5, b"remote: ping") else "no")
    # ^C is a byte for the remote: no signal here.
    os.write(m, b"x\x03\x1d\x1dy\n")
    report("twice", "yes" if pump(5, b"remote: x\x03\x1dy") else "no")
    os.write(m, b"\x1d.")
elif scenario == "custom":
    report("hint-key", "yes" if b"escape is ^A" in out else "no")
    os.write(m, b"a\x1db\n")
    report("answer", "yes" if pump(5, b"remote: a\x1db") else "no")
    os.write(m, b"\x01q")
elif scenario == "sigterm":
    os.kill(p.pid, signal.SIGTERM)
elif scenario == "sighup":
    os.kill(p.pid, signal.SIGHUP)
end = time.time() + 5
while p.poll() is None and time.time() < end:
    pump(0.05)
report("exit", p.poll())
report("modes", "same" if stty() == before else "changed")
E

get() { awk -v k="$1" '$1 == k { print $2 }' "$T/drive.out"; }
for scenario in escape custom sigterm sighup; do
	python3 "$T/drive.py" "$LIFELINE" "$VIA" "$scenario" >"$T/drive.out" 2>&1
	is "$scenario: the hint names the escape key" "$(get hint)" yes
	is "$scenario: the terminal is raw (no ICANON, ECHO, ISIG) while connected" "$(get raw)" yes
	case $scenario in
	escape)
		is "escape: typed text reaches the remote, its answer comes back" "$(get answer)" yes
		is "escape: ^C is sent, ^] twice sends one ^]" "$(get twice)" yes
		is "escape: ^] . leaves with status 0" "$(get exit)" 0 ;;
	custom)
		is "custom: --escape ^A is announced" "$(get hint-key)" yes
		is "custom: ^] is an ordinary key then" "$(get answer)" yes
		is "custom: ^A q leaves with status 0" "$(get exit)" 0 ;;
	sigterm | sighup)
		is "$scenario: the console ends with status 1" "$(get exit)" 1 ;;
	esac
	is "$scenario: the terminal modes are as before (stty -g)" "$(get modes)" same
done
