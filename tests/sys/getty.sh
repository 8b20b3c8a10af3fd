#!/bin/sh
# lifelined and a getty sharing one serial console (lifelined --getty):
# the agent serves lifeline frames on the line; a person pressing Enter
# gets a login prompt from a real getty (util-linux agetty, then busybox
# getty), logs in, works, logs out, and the line is lifeline's again.
#
# The line is the link emulator (two ptys, so that a side closed by the
# getty never hangs up the other).  The getty is real; login(1) is a
# stand-in script (greets the user and runs a shell), because a real login
# needs a password of this machine.  The agent runs in a mount namespace
# with its own tmpfs on /run and /var/log, where the getty writes its utmp
# and wtmp records, so this machine's stay as they are.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (a getty, a mount namespace)"
need unshare python3
AGETTY=$(command -v agetty || echo /sbin/agetty)
[ -x "$AGETTY" ] || skip_all "no agetty (util-linux)"
plan 23

TALK="python3 $top_srcdir/tests/sys/tty-talk.py"
cat >"$T/login" <<'EOF'
#!/bin/sh
# a stand-in for login(1): what the getty passes, then a shell on the tty
echo "welcome $*"
exec /bin/sh -i
EOF
chmod +x "$T/login"
start_emu line con --baud 1000000 --duration-s 600
VIA="serial:$T/con"

# start_shared GETTY: lifelined on $T/line with --getty GETTY, in a mount
# namespace whose /run and /var/log are its own (with empty utmp and wtmp
# for the getty's records)
start_shared() {
	unshare --mount --propagation private sh -c '
		sh "$NS_CLEAN"
		mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /var/log &&
		: >/run/utmp && : >/var/log/wtmp && exec "$@"' sh "$LIFELINED" --insecure --debug-file "$T/agent.log" \
		--serial "$T/line,115200" --getty "$1" 2>>"$T/agent.stderr" &
	AGENT_PID=$!
	PIDS="$PIDS $AGENT_PID"
	for _ in $(seq 100); do
		grep -q 'serving on' "$T/agent.log" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "Bail out! the agent did not start"; cat "$T/agent.stderr"; exit 1
}
# getty_pid: the agent's child (the getty, or the login it became)
getty_pid() { pgrep -P "$AGENT_PID" | head -n 1; }
# info_until_ok: lifeline info, retried for up to 10 s
info_until_ok() {
	for _ in $(seq 20); do
		ll --timeout 3 info >"$T/info.out" 2>"$T/info.err" && return 0
		sleep 0.5
	done
	return 1
}

# --- refused at start ---------------------------------------------------
"$LIFELINED" --insecure --serial "$T/line,115200" --getty "agetty %t" \
	>"$T/out0" 2>&1
is "a getty command that is not an absolute path: refused (exit 2)" "$?" 2
grep -q 'must be an absolute path' "$T/out0" && ok "and the error says why" ||
	not_ok "says why: $(cat "$T/out0")"
"$LIFELINED" --insecure --listen "unix:$T/sock" --getty "$AGETTY %t" \
	>"$T/out0" 2>&1
grep -q 'needs --serial' "$T/out0" &&
	ok "--getty without --serial: refused, saying it needs --serial" ||
	not_ok "needs --serial: $(cat "$T/out0")"

# --- agetty -----------------------------------------------------------------
start_shared "$AGETTY -L -l $T/login %b %t vt100"
ll info >"$T/out1" 2>&1
is "lifeline frames are served on the shared line (info exits 0)" "$?" 0
is "and they start no getty" "$(getty_pid)" ""
# What is not a person: a frame cut by noise, control bytes, ended by CR.
$TALK "$T/con" 'sleep:0.7' 'send:|8garbled\r' 'send:\x01\x1b[6n\r' 'sleep:1'
is "noise ended by CR (a frame's marker, control bytes) starts no getty" \
	"$(getty_pid)" ""
# A person: Enter, a while after the last frame.
$TALK "$T/con" 'sleep:0.7' 'send:\r' 'expect:login: ' >"$T/talk1"
is "Enter on the console gives a login prompt" "$?" 0
gpid=$(getty_pid)
[ -n "$gpid" ] && [ "$(cat "/proc/$gpid/comm" 2>/dev/null)" = agetty ] &&
	ok "from agetty, run by the agent" ||
	not_ok "agetty runs: pid '$gpid' $(cat "/proc/$gpid/comm" 2>&1)"
# /proc/PID/stat's tty_nr: the controlling terminal's device number
nr=$(awk '{ print $7 }' "/proc/$gpid/stat" 2>/dev/null)
is "the tty is the getty's controlling terminal" \
	"$(printf '%x:%x' $(( (${nr:-0} >> 8) & 0xfff )) \
	    $(( (${nr:-0} & 0xff) | ((${nr:-0} >> 12) & 0xfff00) )))" \
	"$(stat -L -c '%t:%T' "$T/line")"
$TALK "$T/con" 'send:tester\r' 'expect:welcome -- tester' \
	'send:echo hi-$((6 * 7)); exit\r' 'expect:hi-42' >"$T/talk2"
is "the person logs in, works and logs out" "$?" 0 || sed 's/^/# /' "$T/talk2"
for _ in $(seq 50); do [ -z "$(getty_pid)" ] && break; sleep 0.1; done
is "the getty has ended" "$(getty_pid)" ""
info_until_ok
is "then the line is lifeline's again (info exits 0)" "$?" 0
grep -q 'a person at the console: the line goes to the getty' "$T/agent.log" &&
	grep -q 'the getty on .* ended (exit 0): serving lifeline again' "$T/agent.log" &&
	ok "the agent's log says when it gave the line away and took it back" ||
	not_ok "log: $(grep -i getty "$T/agent.log" | tail -n 3)"
[ -s "/proc/$AGENT_PID/root/var/log/wtmp" ] &&
	ok "the getty's login records went to the agent's own /var/log, not this machine's" ||
	not_ok "wtmp in the agent's namespace: $(ls -la "/proc/$AGENT_PID/root/var/log/")"

# Right after a session the CR and LF that follow a frame are its line end,
# but an Enter pressed a while later is a person's.  Ending the agent while
# a getty runs hangs the getty's session up.
$TALK "$T/con" 'sleep:0.7' 'send:\r' 'expect:login: ' >"$T/talk3"
is "after a lifeline session, Enter gives a login prompt" "$?" 0
gpid=$(getty_pid)
kill "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
for _ in $(seq 50); do kill -0 "$gpid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$gpid" 2>/dev/null && not_ok "the getty ends with the agent" ||
	ok "the getty ends with the agent"

# --- busybox getty, and a getty that is killed ----------------------------
if BUSYBOX=$(command -v busybox); then
	: >"$T/agent.log"
	start_shared "$BUSYBOX getty -l $T/login %b %t vt100"
	$TALK "$T/con" 'sleep:0.7' 'send:\r' 'expect:login: ' >"$T/talk4"
	is "busybox getty: Enter gives a login prompt" "$?" 0
	gpid=$(getty_pid)
	[ -n "$gpid" ] && ok "busybox getty runs (pid $gpid)" ||
		not_ok "busybox getty runs"
	# (the frames go to the getty, which takes them for a user name)
	ll --timeout 3 info >"$T/out2" 2>&1
	[ $? != 0 ] && ok "while the getty has the line, lifeline gets no answer" ||
		not_ok "lifeline is refused while the getty runs"
	# SIGHUP, as a hangup would (it may be a shell by now: the frames
	# made a user name, and an interactive shell ignores SIGTERM)
	kill -HUP "$gpid"
	for _ in $(seq 50); do [ -z "$(getty_pid)" ] && break; sleep 0.1; done
	is "hung up, it ends" "$(getty_pid)" ""
	info_until_ok
	is "and lifeline is served again (info exits 0)" "$?" 0
	grep -q 'ended (signal 1): serving lifeline again' "$T/agent.log" &&
		ok "the log says it ended by a signal" ||
		not_ok "log: $(grep -i getty "$T/agent.log" | tail -n 3)"
else
	for _ in 1 2 3 4 5 6; do ok "# SKIP no busybox"; done
fi

# A getty that cannot run: the line stays lifeline's.
stop_agent
: >"$T/agent.log"
printf '#!/bin/sh\nexit 126\n' >"$T/badgetty"
chmod +x "$T/badgetty"
start_shared "$T/badgetty %t"
$TALK "$T/con" 'sleep:0.7' 'send:\r' 'sleep:1'
info_until_ok
is "a getty that fails at once gives the line back (info exits 0)" "$?" 0
