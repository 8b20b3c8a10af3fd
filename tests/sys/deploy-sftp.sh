#!/bin/sh
# The deploy bundle's sftp-server (issue 12): a rescue host with no
# sftp-server of its own (busybox sh on a real pty, in a mount namespace
# where an empty tmpfs hides each path lifelined looks in; tests/
# rescue-shell.sh, RESCUE_NO_SFTP) gets lifelined by attach --deploy, and
# OpenSSH's sftp and scp (SFTP underneath in OpenSSH 9) go through
# `lifeline proxy` to it.  The agent runs the sftp-server the bundle
# carries through the bundle's loader and libraries.
#
# Checked: none of the host's sftp-server paths exists in the namespace;
# the deployed directory holds the bundle's sftp-server; sftp -b put and
# get and scp both ways of 1.5 MiB are byte-exact (SHA-256) on the rescue
# host's side and on ours; the sftp-server runs as the bundle's loader and
# maps only the bundle's libraries; an agent from a bundle made without
# one refuses sftp, naming the package; run --read-only, the bundle's
# sftp-server serves a get and refuses a put.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (a mount namespace with its own tmpfs)"
need socat busybox unshare ssh-keygen ssh sftp scp
BUNDLE=$top_builddir/deploy/lifeline-bundle-$(uname -m)
[ -f "$BUNDLE" ] || skip_all "no bundle: make bundle"
plan 18

ssh-keygen -q -t ed25519 -N '' -C operator -f "$T/key" || exit 1
mkdir -p "$T/home"
export SSH_AUTH_SOCK=

# rescue_host NAME: tests/rescue-shell.sh without sftp-server on a new pty
# $T/NAME; HOSTPID is its shell
HOST_SIDS=
rescue_host() {
	rm -f "$T/host-$1.pid"
	RESCUE_NO_SFTP=1 socat "pty,raw,echo=0,link=$T/$1" \
		"EXEC:$top_srcdir/tests/rescue-shell.sh $T/host-$1.pid,pty,setsid,ctty,stderr" \
		2>>"$T/socat-$1.log" &
	PIDS="$PIDS $!"
	for _ in $(seq 100); do
		[ -s "$T/host-$1.pid" ] && [ -e "$T/$1" ] && break
		sleep 0.05
	done
	HOSTPID=$(cat "$T/host-$1.pid" 2>/dev/null)
	[ -n "$HOSTPID" ] || { echo "Bail out! the rescue host did not start"; exit 1; }
	HOST_SIDS="$HOST_SIDS $(ps -o sid= -p "$HOSTPID")"
}
# whatever runs in a rescue host's session (shell, stage, agent) goes too
trap 'for s in $HOST_SIDS; do pkill -KILL -s "$s" 2>/dev/null; done; cleanup' EXIT

# dep N NAME BUNDLE: attach --deploy on $T/NAME, info; status in $rc
dep() {
	HOME="$T/home" timeout 300 "$LIFELINE" -v --via "tty:$T/$2" \
		-i "$T/key" --known-hosts "$T/known_hosts" \
		attach --deploy --bundle "$3" -- info >"$T/out$1" 2>"$T/err$1"
	rc=$?
	[ "$rc" = 0 ] || grep -v 'link: console' "$T/err$1" | tail -n 4 | sed 's/^/# /'
}

# ssh_cfg NAME: an ssh config whose Host NAME is $T/NAME's agent, as
# lifeline ssh-config prints it; S the options that use it
ssh_cfg() {
	HOME="$T/home" "$LIFELINE" --via "tty:$T/$1" -i "$T/key" \
		ssh-config "$1" >"$T/ssh_config.$1"
	ssh_config_batch "$T/ssh_config.$1"
	S="-F $T/ssh_config.$1"
}

# agent_of PID: the agent the stage under that shell runs
agent_of() {
	stage=$(pgrep -P "$1" | head -n 1)
	pgrep -P "$stage" 2>/dev/null | head -n 1
}

rescue_host con
seen=
for p in /usr/lib/openssh/sftp-server /usr/lib/ssh/sftp-server \
    /usr/libexec/openssh/sftp-server /usr/libexec/sftp-server; do
	[ -e "/proc/$HOSTPID/root$p" ] && seen="$seen $p"
done
is "the rescue host has none of the sftp-server paths lifelined looks in" "$seen" ""

dep 1 con "$BUNDLE"
is "attach --deploy onto it runs info (exit 0)" "$rc" 0
d=$(ls -d /proc/"$HOSTPID"/root/run/lifeline.* 2>/dev/null | head -n 1)
check "the agent's directory holds the bundle's sftp-server" test -x "$d/sftp-server"
R=/proc/$HOSTPID/root/run

ssh_cfg con
head -c 1572864 /dev/urandom >"$T/data"
want=$(sha "$T/data")
printf 'put %s /run/up.sftp\nget /run/up.sftp %s\n' "$T/data" "$T/down.sftp" \
	>"$T/batch"
HOME="$T/home" timeout 300 sftp $S -b "$T/batch" con >/dev/null 2>"$T/err"
is "sftp -b put and get through lifeline proxy: exit 0" $? 0 ||
	sed 's/^/# /' "$T/err"
is "the put 1.5 MiB is byte-exact on the rescue host" "$(sha "$R/up.sftp")" "$want"
is "the get is byte-exact here" "$(sha "$T/down.sftp")" "$want"

HOME="$T/home" timeout 300 scp $S "$T/data" con:/run/up.scp 2>"$T/err"
is "scp up (SFTP underneath): exit 0" $? 0 || sed 's/^/# /' "$T/err"
is "scp up is byte-exact on the rescue host" "$(sha "$R/up.scp")" "$want"
HOME="$T/home" timeout 300 scp $S con:/run/up.scp "$T/down.scp" 2>"$T/err"
is "scp down: exit 0" $? 0 || sed 's/^/# /' "$T/err"
is "scp down is byte-exact here" "$(sha "$T/down.scp")" "$want"

# The sftp-server of a session held open: the bundle's loader runs it,
# and every shared object it maps comes from the agent's directory (the
# loader also searches the host's own library directories, so one
# missing from the bundle would otherwise go unnoticed here).
agent=$(agent_of "$HOSTPID")
sleep 8 | HOME="$T/home" timeout 60 ssh $S -s con sftp >/dev/null 2>&1 &
held=$!
sftpd=
for _ in $(seq 100); do
	for p in $(pgrep -P "$agent"); do
		grep -q sftp-server "/proc/$p/cmdline" 2>/dev/null && sftpd=$p
	done
	[ -n "$sftpd" ] && break
	sleep 0.1
done
dir=${d#/proc/"$HOSTPID"/root}
exe=$(readlink "/proc/$sftpd/exe" 2>/dev/null)
case $exe in
"$dir"/ld-*) ok "the sftp-server runs through the bundle's loader ($exe)" ;;
*) not_ok "the bundle's loader runs the sftp-server: pid '$sftpd', exe '$exe'" ;;
esac
libs=$(awk '$6 ~ /\.so/ { print $6 }' "/proc/$sftpd/maps" 2>/dev/null | sort -u)
foreign=$(echo "$libs" | grep -v "^$dir/")
[ -n "$libs" ] && [ -z "$foreign" ] &&
	ok "it maps only libraries of the agent's directory ($(echo "$libs" | wc -l))" ||
	not_ok "libraries mapped from elsewhere: '$foreign' (all: '$libs')"
kill "$held" 2>/dev/null
wait "$held" 2>/dev/null

# Read-only: the deployed directory's agent run again through its loader,
# as the stage runs it, but --read-only and on an SSH port, in the rescue
# host's namespace (nsenter; loopback is shared): sftp-server gets -R, so
# a get works and a put is refused, nothing written.
need_ro=1
command -v nsenter >/dev/null || need_ro=
if [ -n "$need_ro" ]; then
	port=$(free_port)
	loader=$(ls "$d"/ld-* | head -n 1)
	nsenter -t "$HOSTPID" -m -- "${loader#/proc/"$HOSTPID"/root}" \
		--library-path "$dir" --argv0 lifelined "$dir/lifelined" \
		--listen-ssh "127.0.0.1:$port" --read-only \
		--config "$dir/lifelined.conf" --authorized-keys "$dir/authorized_keys" \
		--host-key "$T/ro_hostkey" --debug-file "$T/agent.log" \
		2>>"$T/agent.stderr" &
	PIDS="$PIDS $!"
	for _ in $(seq 100); do
		grep -q 'SSH host key' "$T/agent.log" 2>/dev/null && break
		sleep 0.05
	done
	printf 'get /run/up.sftp %s\nput %s /run/ro.sftp\n' "$T/down.ro" "$T/data" \
		>"$T/batch.ro"
	timeout 120 sftp -F /dev/null -P "$port" -i "$T/key" -o BatchMode=yes \
		-o IdentitiesOnly=yes -o UserKnownHostsFile="$T/okh.ro" \
		-o StrictHostKeyChecking=accept-new -b "$T/batch.ro" \
		root@127.0.0.1 >/dev/null 2>"$T/err.ro"
	grep -q "the bundle.s sftp-server: $dir/sftp-server (through $dir/ld-" "$T/agent.log" &&
		ok "the agent run through the deployed loader finds the bundle's sftp-server" ||
		not_ok "the bundle's sftp-server found: $(grep sftp "$T/agent.log")"
	is "read-only: it serves a get" \
		"$(sha "$T/down.ro" 2>/dev/null)" "$want"
	[ ! -e "$R/ro.sftp" ] && grep -q 'Permission denied' "$T/err.ro" &&
		ok "and refuses a put (sftp-server -R), nothing written" ||
		not_ok "a put refused: $(ls "$R"), $(cat "$T/err.ro")"
else
	for _ in 1 2 3; do ok "# SKIP no nsenter (util-linux)"; done
fi

# A bundle made without an sftp-server: its agent refuses sftp, naming the
# package (make-bundle.sh as make bundle runs it, SFTP_SERVER=no).
version=$(sed -n 's/^version //p;/^$/q' "$BUNDLE")
SFTP_SERVER=no sh "$top_srcdir/deploy/make-bundle.sh" "$T/bundle-nosftp" \
	"$top_builddir/deploy/lifeline-stage1" \
	"$top_builddir/deploy/lifelined-portable" "$version" "$(uname -m)" \
	"$top_builddir/deploy/stubs" >"$T/make-bundle.out" 2>&1
is "make-bundle.sh with SFTP_SERVER=no: exit 0" $? 0 || sed 's/^/# /' "$T/make-bundle.out"
rescue_host bare
dep 2 bare "$T/bundle-nosftp"
is "an agent from that bundle deploys (exit 0)" "$rc" 0
ssh_cfg bare
printf 'get /etc/hostname %s\n' "$T/none" >"$T/batch2"
HOME="$T/home" timeout 120 sftp $S -b "$T/batch2" bare >/dev/null 2>"$T/err"
rc=$?
[ "$rc" != 0 ] && grep -q 'no sftp-server program on this host (Debian: openssh-sftp-server' "$T/err" &&
	ok "and refuses sftp, naming the package (exit $rc)" ||
	not_ok "sftp refused with the package named: rc $rc, $(cat "$T/err")"
