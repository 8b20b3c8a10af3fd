#!/bin/sh
# lifeline attach --deploy onto a rescue host that has only a shell: busybox
# sh, interactive (its own line editing, cursor queries and all), on a real
# pty, in a mount namespace with its own tmpfs on /run, reached through
# socat and, for the noisy case, the link emulator.  No lifelined is
# installed there; the client brings the bundle (make bundle).
#
# Checked: the deploy runs info over SSH, pins the agent's host key in
# lifeline's known hosts, leaves no first-stage file behind; a second
# attach finds the running agent; another key is refused by it; a noisy
# line (bit errors, kernel messages) still deploys; and the refusals, each
# with a clear error and nothing left running or half-written: no RAM
# directory that allows exec (all noexec), a tmpfs too small, a bundle for
# another architecture, a damaged bundle, a deploy cut in the middle (then
# retried).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (a mount namespace with its own tmpfs)"
need socat busybox unshare ssh-keygen
BUNDLE=$top_builddir/deploy/lifeline-bundle-$(uname -m)
[ -f "$BUNDLE" ] || skip_all "no bundle: make bundle"
plan 39

ssh-keygen -q -t ed25519 -N '' -C operator -f "$T/key" || exit 1
ssh-keygen -q -t ed25519 -N '' -C other -f "$T/other" || exit 1

# rescue_host NAME [RUN_OPTS [TOOLS]]: tests/rescue-shell.sh (RUN_OPTS with +
# for commas) on a pty whose other
# side is $T/NAME (a link emulator side, or a new socat pty); HOSTPID is its
# shell
rescue_host() {
	name=$1
	rm -f "$T/host-$name.pid"
	shell="EXEC:$top_srcdir/tests/rescue-shell.sh $T/host-$name.pid ${2:-size=64m} ${3:-all},pty,setsid,ctty,stderr"
	if [ -e "$T/$name" ]; then
		socat "$T/$name,raw,echo=0" "$shell" 2>>"$T/socat-$name.log" &
	else
		socat "pty,raw,echo=0,link=$T/$name" "$shell" 2>>"$T/socat-$name.log" &
	fi
	PIDS="$PIDS $!"
	for _ in $(seq 100); do
		[ -s "$T/host-$name.pid" ] && [ -e "$T/$name" ] && break
		sleep 0.05
	done
	HOSTPID=$(cat "$T/host-$name.pid" 2>/dev/null)
	[ -n "$HOSTPID" ] || { echo "Bail out! the rescue host did not start"; exit 1; }
	HOST_SIDS="$HOST_SIDS $(ps -o sid= -p "$HOSTPID")"
}
# At exit, whatever runs in a rescue host's session (its shell, a stage, a
# deployed agent) goes too, before lib.sh's cleanup.
HOST_SIDS=
trap 'for s in $HOST_SIDS; do pkill -KILL -s "$s" 2>/dev/null; done; cleanup' EXIT

# dep N NAME [OPTIONS...] [-- COMMAND]: attach --deploy on $T/NAME as the
# operator; output in $T/outN, $T/errN, status in $rc
dep() {
	n=$1; name=$2; shift 2
	HOME="$T/home" SSH_AUTH_SOCK= timeout 300 "$LIFELINE" -v \
		--via "tty:$T/$name" -i "$T/key" --known-hosts "$T/known_hosts" \
		attach --deploy --bundle "${DEPLOY_BUNDLE:-$BUNDLE}" "$@" \
		>"$T/out$n" 2>"$T/err$n"
	rc=$?
	[ "$rc" = 0 ] || grep -v 'link: console' "$T/err$n" | tail -n 4 | sed 's/^/# /'
}

# in_run PID: what is in the rescue host's /run (names, one line)
in_run() { ls -A "/proc/$1/root/run" 2>/dev/null | tr '\n' ' '; }
# children PID: how many processes that shell runs (a stage, an agent)
children() { pgrep -P "$1" | wc -l; }
mkdir -p "$T/home"

# --- a clean console --------------------------------------------------------
rescue_host con
dep 1 con -- info
is "attach --deploy on a bare busybox shell runs info (exit 0)" "$rc" 0
grep -q '^agent *[0-9]' "$T/out1" && ok "info answers from the deployed agent" ||
	not_ok "info answers: $(tail -n 5 "$T/err1")"
grep -q 'matches the pinned fingerprint' "$T/err1" &&
	ok "the session is SSH, with the host key the agent printed pinned" ||
	not_ok "SSH with a pinned key: $(grep ssh "$T/err1" | tail -n 3)"
fp=$(sed -n 's/.*host key \(SHA256:[^ ]*\) is filed.*/\1/p' "$T/err1")
is "the agent's host key is filed for this path in lifeline's known hosts" \
	"$(cat "$T/known_hosts" 2>/dev/null)" "tty:$T/con $fp"
run=$(in_run "$HOSTPID")
case $run in
"lifeline."??????" ") ok "the rescue host's /run holds the agent's directory alone (no stage file left)" ;;
*) not_ok "only the agent's directory in /run: got '$run'" ;;
esac
d=$(ls -d /proc/"$HOSTPID"/root/run/lifeline.* 2>/dev/null | head -n 1)
is "its authorized_keys is the operator's key alone" \
	"$(cut -d' ' -f1,2 "$d/authorized_keys" 2>/dev/null)" "$(cut -d' ' -f1,2 "$T/key.pub")"
is "its host key was made there, mode 0600" \
	"$(stat -c %a "$d/ssh_host_ed25519_key" 2>/dev/null)" 600
# The loader also searches the host's own library directories, so a library
# missing from the bundle would go unnoticed here (and fail on a busybox
# host): every shared object the agent maps must come from its directory.
stage=$(pgrep -P "$HOSTPID" | head -n 1)
agent=$(pgrep -P "$stage" 2>/dev/null | head -n 1)
libs=$(awk '$6 ~ /\.so/ { print $6 }' "/proc/$agent/maps" 2>/dev/null | sort -u)
foreign=$(echo "$libs" | grep -v '^/run/lifeline\.[A-Za-z0-9]*/')
[ -n "$libs" ] && [ -z "$foreign" ] &&
	ok "the agent maps only libraries of its own directory ($(echo "$libs" | wc -l))" ||
	not_ok "libraries mapped from elsewhere: '$foreign' (all: '$libs')"

start=$(date +%s)
dep 2 con -- exec -- sh -c 'readlink /proc/$PPID/exe; echo $((6 * 7))'
is "a second attach finds the running agent (exit 0)" "$rc" 0
is "and runs exec through it" "$(tail -n 1 "$T/out2")" 42
secs=$(( $(date +%s) - start ))
# (the agent's raw console echoes nothing, so --deploy tries it after the
# second CR, about 4 s; five CRs 2 s apart, for a console that echoes, take
# 10 s and more)
[ "$secs" -le 8 ] && ok "in seconds ($secs s), without a new deploy" ||
	not_ok "the second attach took $secs s"
grep -q 'typing the first stage' "$T/err2" && not_ok "nothing typed again" ||
	ok "nothing typed again"
HOME="$T/home" SSH_AUTH_SOCK= "$LIFELINE" --via "tty:$T/con" -i "$T/other" \
	--known-hosts "$T/known_hosts" info >"$T/out3" 2>"$T/err3"
is "another key is refused by the deployed agent (exit 3)" "$?" 3
grep -q 'authentication failed' "$T/err3" && ok "and says authentication failed" ||
	not_ok "authentication failed: $(cat "$T/err3")"

# When the agent ends, the stage removes its directory: the host key with it.
stage=$(pgrep -P "$HOSTPID" | head -n 1)
agent=$(pgrep -P "$stage" 2>/dev/null | head -n 1)
[ -n "$agent" ] && kill "$agent"
for _ in $(seq 100); do
	[ -z "$(in_run "$HOSTPID")" ] && break
	sleep 0.05
done
is "when the deployed agent ends, nothing of it is left in /run" "$(in_run "$HOSTPID")" ""
is "and the stage that ran it is gone too" "$(children "$HOSTPID")" 0

# --- refusals ----------------------------------------------------------------
sed '1,/^$/s/^arch .*/arch aarch64/' "$BUNDLE" >"$T/bundle-foreign"
rescue_host foreign
DEPLOY_BUNDLE=$T/bundle-foreign dep 4 foreign
is "a bundle for another architecture is refused (exit 1)" "$rc" 1
grep -q 'is for aarch64; the rescue host is x86_64' "$T/err4" &&
	ok "and the error names both architectures" ||
	not_ok "names the architectures: $(cat "$T/err4")"
is "nothing was written to that host's /run" "$(in_run "$HOSTPID")" ""

size=$(wc -c <"$BUNDLE")
{ head -c $((size - 1000)) "$BUNDLE"; printf 'X'; tail -c 999 "$BUNDLE"; } >"$T/bundle-damaged"
DEPLOY_BUNDLE=$T/bundle-damaged dep 5 foreign
grep -q 'is damaged' "$T/err5" && [ "$rc" = 1 ] &&
	ok "a damaged bundle is refused before anything is typed" ||
	not_ok "damaged bundle refused: rc $rc, $(cat "$T/err5")"

rescue_host noexec size=64m+noexec
dep 6 noexec
is "every tmpfs mounted noexec: refused (exit 1)" "$rc" 1
grep -q 'no RAM-backed directory.*mounted noexec: */run /dev/shm /tmp' "$T/err6" &&
	ok "and the error names the noexec mounts" ||
	not_ok "names the noexec mounts: $(cat "$T/err6")"

rescue_host small size=1m
dep 7 small
is "a tmpfs too small for the agent: refused (exit 1)" "$rc" 1
grep -q 'has [0-9]* KiB free; the agent needs' "$T/err7" &&
	ok "and the error says how much room there is and is needed" ||
	not_ok "says the room: $(cat "$T/err7")"
sleep 0.5
is "nothing is left in its /run and nothing runs there" \
	"$(in_run "$HOSTPID")/$(children "$HOSTPID")" "/0"

# A cut in the middle of the agent's transfer, then a retry.
rescue_host cut
HOME="$T/home" SSH_AUTH_SOCK= "$LIFELINE" -v --via "tty:$T/cut" -i "$T/key" \
	--known-hosts "$T/known_hosts" attach --deploy --bundle "$BUNDLE" \
	>"$T/out8" 2>"$T/err8" &
cpid=$!
for _ in $(seq 200); do
	grep -q 'sending the agent' "$T/err8" && break
	sleep 0.05
done
kill -9 "$cpid" 2>/dev/null
wait "$cpid" 2>/dev/null
# The stage notices the dead link (no frame for 15 s), says why and returns
# to the shell; nothing was unpacked (that waits for the whole archive and
# its SHA-256), and its own file was gone from the start.
is "a deploy cut during the transfer leaves nothing in /run" "$(in_run "$HOSTPID")" ""
for _ in $(seq 300); do
	pgrep -P "$HOSTPID" -f 'lifeline-stage1' >/dev/null || break
	sleep 0.1
done
pgrep -P "$HOSTPID" -f 'lifeline-stage1' >/dev/null &&
	not_ok "the first stage gives up on the dead link" ||
	ok "the first stage gives up on the dead link"
dep 9 cut -- info
is "and a retry deploys cleanly (exit 0)" "$rc" 0
case $(in_run "$HOSTPID") in
"lifeline."??????" ") ok "with one agent directory in /run" ;;
*) not_ok "one agent directory: $(in_run "$HOSTPID")" ;;
esac

# --- a shell that prompts late -----------------------------------------------
# A console that stays blank after attach's CR may be an agent's, or a
# shell not yet at its prompt (a rescue system still starting, a loaded
# host: the ssh:// gateway case below failed so once in 120 runs).  With
# --deploy attach gives it a second CR before it tries an agent.
RESCUE_DELAY=3 rescue_host late
dep 14 late -- info
is "attach --deploy onto a shell that prompts 3 s late exits 0" "$rc" 0
grep -q 'no prompt yet: another CR' "$T/err14" &&
	ok "after a second CR" || not_ok "a second CR: $(grep 'attach:' "$T/err14" | head -n 5)"

# --- a shell with no tools ---------------------------------------------------
# dash, and uname, mkdir, chmod and rm alone: the stage goes as printf escapes, is
# checked line by line only (no sha256sum), and the tty keeps its signals.
rescue_host bare size=64m bare
dep 13 bare -- exec -- sh -c 'echo bare-$((40 + 2))'
is "attach --deploy onto a shell without base64, gzip, sha256sum or stty exits 0" "$rc" 0
is "and runs exec through the agent" "$(tail -n 1 "$T/out13")" bare-42
grep -q 'characters of printf escapes' "$T/err13" &&
	ok "the first stage went as printf escapes" ||
	not_ok "printf escapes: $(grep 'typing the first stage' "$T/err13")"

# --- a noisy line ------------------------------------------------------------
# Bit errors both ways and kernel messages from the rescue host; the line is
# fast here (make bench measures 115200).
start_emu ea eb --baud 2000000 --ber 1e-5 --kmsg-interval-ms 500 \
	--kmsg-side b --seed "${SEED:-$$}" --duration-s 600
rescue_host ea
dep 10 eb -- exec -- sh -c 'echo noisy-$((40 + 2))'
is "attach --deploy over a noisy line (bit errors, kernel messages) exits 0" "$rc" 0
is "and runs exec through the agent" "$(tail -n 1 "$T/out10")" noisy-42
diag "$(grep -E 'typed in|agent is in|deployed in' "$T/err10" | sed 's/^lifeline: attach: //')"
diag "emulator: $(tail -n 2 "$T/emu.log" | tr '\n' ' ')"

# --- through an ssh:// console gateway --------------------------------------
# OpenSSH's sshd on 127.0.0.1 as the console server: its ForceCommand joins
# each session to the rescue host's pty, as the gateway test does.
SSHD=/usr/sbin/sshd
if [ ! -x "$SSHD" ]; then
	for _ in 1 2 3; do ok "# SKIP no $SSHD (Debian package openssh-server)"; done
	exit 0
fi
rescue_host gwcon
PORT=$(free_port)
ssh-keygen -q -t ed25519 -N '' -C gateway -f "$T/gw_hostkey"
cp "$T/key.pub" "$T/gw_authorized_keys"
printf '#!/bin/sh\nexec socat STDIO,rawer %s,rawer\n' "$T/gwcon" >"$T/gateway.sh"
chmod +x "$T/gateway.sh"
start_sshd "$T/gw_hostkey" "$T/gw_authorized_keys" "$T/gateway.sh"
GW="ssh://$(id -un)@127.0.0.1:$PORT"
HOME="$T/home" SSH_AUTH_SOCK= timeout 300 "$LIFELINE" -v --via "$GW" \
	-i "$T/key" --known-hosts "$T/known_hosts" --accept-new-host-key \
	attach --deploy --bundle "$BUNDLE" -- exec -- sh -c 'echo gw-$((40 + 2))' \
	>"$T/out11" 2>"$T/err11"
rc=$?
[ "$rc" = 0 ] || grep -v 'link: console' "$T/err11" | tail -n 4 | sed 's/^/# /'
is "attach --deploy through an ssh:// gateway (OpenSSH sshd) exits 0" "$rc" 0
is "and runs exec through the deployed agent" "$(tail -n 1 "$T/out11")" gw-42
HOME="$T/home" SSH_AUTH_SOCK= "$LIFELINE" --via "$GW" -i "$T/key" \
	--known-hosts "$T/known_hosts" info >"$T/out12" 2>"$T/err12"
is "a later plain session through the gateway needs no host key question" "$?" 0
