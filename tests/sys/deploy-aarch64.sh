#!/bin/sh
# lifeline attach --deploy onto an aarch64 rescue host: Debian's arm64
# busybox, its shell interactive on a real pty, run by qemu-user through
# binfmt_misc (so that `uname -m` there says aarch64 and every arm64
# program it starts, the first stage, the loader and the agent, runs
# emulated), in a mount namespace with its own tmpfs on /run.  The client
# picks the aarch64 bundle (make bundle-aarch64) out of a --bundle
# directory by what the host says it is.
#
# The emulator is the one part that is not the real thing: there is no
# arm64 machine here.  Set up by ./bootstrap cross (the cross compiler,
# qemu-user-static, the arm64 libraries and busybox in
# deploy/sysroot-aarch64, the binfmt_misc entry); skipped without it.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (a mount namespace with its own tmpfs)"
need socat unshare ssh-keygen
BUNDLE=$top_builddir/deploy/lifeline-bundle-aarch64
BUSYBOX=$top_builddir/deploy/sysroot-aarch64/bin/busybox
[ -f "$BUNDLE" ] || skip_all "no aarch64 bundle: ./bootstrap cross (make bundle-aarch64)"
[ -x "$BUSYBOX" ] || skip_all "no arm64 busybox: ./bootstrap cross"
grep -qx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null ||
	skip_all "qemu-aarch64 is not registered with binfmt_misc: ./bootstrap cross"
plan 10

ssh-keygen -q -t ed25519 -N '' -C operator -f "$T/key" || exit 1
ssh-keygen -q -t ed25519 -N '' -C other -f "$T/other" || exit 1
mkdir -p "$T/home" "$T/bundles"
cp "$BUNDLE" "$T/bundles/"

rm -f "$T/host.pid"
RESCUE_BUSYBOX=$BUSYBOX socat "pty,raw,echo=0,link=$T/con" \
	"EXEC:$top_srcdir/tests/rescue-shell.sh $T/host.pid,pty,setsid,ctty,stderr" \
	2>>"$T/socat.log" &
PIDS="$PIDS $!"
for _ in $(seq 200); do
	[ -s "$T/host.pid" ] && [ -e "$T/con" ] && break
	sleep 0.05
done
HOSTPID=$(cat "$T/host.pid" 2>/dev/null)
[ -n "$HOSTPID" ] || { echo "Bail out! the rescue host did not start"; exit 1; }
HOST_SID=$(ps -o sid= -p "$HOSTPID")
# whatever runs in the rescue host's session (shell, stage, agent) goes too
trap 'pkill -KILL -s "$HOST_SID" 2>/dev/null; cleanup' EXIT

# dep N [OPTIONS...] [-- COMMAND]: attach --deploy as the operator
dep() {
	n=$1; shift
	HOME="$T/home" SSH_AUTH_SOCK= timeout 600 "$LIFELINE" -v \
		--via "tty:$T/con" -i "$T/key" --known-hosts "$T/known_hosts" \
		attach --deploy "$@" >"$T/out$n" 2>"$T/err$n"
	rc=$?
	[ "$rc" = 0 ] || grep -v 'link: console' "$T/err$n" | tail -n 4 | sed 's/^/# /'
}

# The x86_64 bundle alone in the directory: refused, nothing written.
if [ -f "$top_builddir/deploy/lifeline-bundle-x86_64" ]; then
	dep 1 --bundle "$top_builddir/deploy/lifeline-bundle-x86_64"
	grep -q 'is for x86_64; the rescue host is aarch64' "$T/err1" && [ "$rc" = 1 ] &&
		ok "an x86_64 bundle is refused for the aarch64 host, naming both" ||
		not_ok "x86_64 bundle refused: rc $rc, $(tail -n 2 "$T/err1")"
else
	ok "# SKIP no x86_64 bundle"
fi
is "and nothing was written to its /run" "$(ls -A "/proc/$HOSTPID/root/run")" ""

start=$(date +%s)
dep 2 --bundle "$T/bundles" -- info
is "attach --deploy with the aarch64 bundle from a --bundle directory exits 0" "$rc" 0
# (the agent's uname(2), as qemu-user answers it; what the agent runs with
# exec are the build machine's own programs)
grep -q '^machine *aarch64' "$T/out2" &&
	ok "info answers from an agent that runs as aarch64" ||
	not_ok "info says aarch64: $(cat "$T/out2")"
diag "deployed in $(( $(date +%s) - start )) s: $(grep -E 'typed in|agent is in' "$T/err2" | sed 's/^lifeline: attach: //' | tr '\n' ' ')"
grep -q 'matches the pinned fingerprint' "$T/err2" &&
	ok "the session is SSH, with the host key the agent printed pinned" ||
	not_ok "SSH with a pinned key: $(grep ssh "$T/err2" | tail -n 3)"
agent=$(ls -d "/proc/$HOSTPID/root/run/lifeline."* 2>/dev/null | head -n 1)
file -b "$agent/lifelined" 2>/dev/null | grep -q 'ARM aarch64' &&
	ok "the agent in /run is an aarch64 program" ||
	not_ok "an aarch64 agent in /run: $(file -b "$agent/lifelined" 2>&1)"

dep 3 --bundle "$T/bundles" -- exec -- sh -c 'echo $((6 * 7))'
is "a second attach finds the running agent (exit 0)" "$rc" 0
is "and runs exec through it" "$(tail -n 1 "$T/out3")" 42
grep -q 'typing the first stage' "$T/err3" && not_ok "nothing typed again" ||
	ok "nothing typed again"
HOME="$T/home" SSH_AUTH_SOCK= "$LIFELINE" --via "tty:$T/con" -i "$T/other" \
	--known-hosts "$T/known_hosts" info >"$T/out4" 2>"$T/err4"
is "another key is refused by the deployed agent (exit 3)" "$?" 3
