#!/bin/sh
# The OpenRC script and its conf.d file.  openrc-run is not installed here
# (Debian's openrc package brings its own init scripts and runlevels to the
# machine), so the script runs under a stub of openrc-run's helpers: the
# stub sources the conf.d file and the script as openrc-run does, calls
# depend() and start_pre(), and starts "$command $command_args" the way
# supervise-daemon would (after eval's word splitting).  The script is also
# checked with busybox sh -n, Alpine's shell.  The started agent serves a
# real session on a PTY.
. "$(dirname "$0")/lib.sh"

script="$top_srcdir/init/openrc/lifelined.in"
confd="$top_srcdir/init/openrc/conf.d/lifelined"
plan 9

check "sh -n accepts the script" sh -n "$script"
if command -v busybox >/dev/null 2>&1; then
	check "busybox sh -n accepts the script" busybox sh -n "$script"
else
	ok "# SKIP busybox is not installed"
fi

sed "s|@sbindir@|$top_builddir/agent|g" "$script" >"$T/lifelined"
# stub NAME CONFD MODE: what openrc-run would do for service NAME with
# conf.d file CONFD.  MODE args: print the command line supervise-daemon
# would get (start_pre is skipped: this machine has no /dev/ttyS1); pre: run
# start_pre; start: start_pre, then start the agent.
cat >"$T/stub.sh" <<'STUB'
RC_SVCNAME=$1
ebegin() { echo "* $*"; }; eend() { return "${1:-0}"; }
einfo() { echo "* $*"; }; ewarn() { echo "* $*" >&2; }
eerror() { echo "* $*" >&2; }
need() { echo "need $*"; }; use() { echo "use $*"; }
after() { echo "after $*"; }; before() { :; }; provide() { :; }
. "$2"
. "$(dirname "$0")/lifelined"
depend >"$(dirname "$0")/depend.out"
[ "$supervisor" = supervise-daemon ] || { echo "no supervisor" >&2; exit 1; }
if [ "$3" = args ]; then
	eval set -- "$command" $command_args
	echo "$*"
	exit 0
fi
start_pre || exit 1
[ "$3" = start ] && eval exec "$command" $command_args
STUB

out=$(sh "$T/stub.sh" lifelined "$confd" args)
is "the shipped conf.d: the agent on /dev/ttyS1 at 115200" "$out" \
    "$top_builddir/agent/lifelined --serial /dev/ttyS1,115200"
check "it needs localmount" grep -qx 'need localmount' "$T/depend.out"

# A script linked as lifelined.NAME serves /dev/NAME when LIFELINED_TTY is
# not set, with the SSH listener when asked.
grep -v '^LIFELINED_TTY=' "$confd" | sed 's/^LIFELINED_SSH_LISTEN=""/LIFELINED_SSH_LISTEN="2222"/' \
    >"$T/confd.ttyS3"
is "lifelined.ttyS3: /dev/ttyS3 and --listen-ssh" \
    "$(sh "$T/stub.sh" lifelined.ttyS3 "$T/confd.ttyS3" args)" \
    "$top_builddir/agent/lifelined --serial /dev/ttyS3,115200 --listen-ssh 2222"
sh "$T/stub.sh" lifelined.ttyS3 "$T/confd.ttyS3" pre >"$T/pre.out" 2>&1
check "a tty that does not exist: start_pre fails naming it" \
    grep -q '/dev/ttyS3 (LIFELINED_TTY) is not a tty device' "$T/pre.out"

# Nothing to serve: refused with the names of the settings.
sed 's/^LIFELINED_TTY=.*/LIFELINED_TTY=""/' "$confd" >"$T/confd.none"
sh "$T/stub.sh" lifelined "$T/confd.none" pre >"$T/none.out" 2>&1
is "no tty and no SSH: start_pre fails" "$?" 1
check "... naming LIFELINED_TTY and LIFELINED_SSH_LISTEN" \
    grep -q 'set LIFELINED_TTY and/or LIFELINED_SSH_LISTEN' "$T/none.out"

# A real start: the tty is a PTY (pts/N below /dev), as conf.d would name it.
start_ptys a b
pts=$(readlink -f "$T/a")
: >"$T/empty.conf"; chmod 600 "$T/empty.conf"
sed -e "s|^LIFELINED_TTY=.*|LIFELINED_TTY=\"${pts#/dev/}\"|" \
    -e "s|^LIFELINED_OPTS=.*|LIFELINED_OPTS=\"--insecure --config $T/empty.conf --debug-file $T/agent.log\"|" \
    "$confd" >"$T/confd.pty"
sh "$T/stub.sh" lifelined "$T/confd.pty" start 2>>"$T/agent.stderr" &
AGENT_PID=$!
PIDS="$PIDS $AGENT_PID"
VIA="serial:$T/b"
check "the started agent serves a session on $pts" ll ping -c 1
