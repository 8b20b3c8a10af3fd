#!/bin/sh
# A rescue host reduced to its shell, for the deploy's tests and benchmark:
# busybox sh, interactive, in a mount namespace of its own with a tmpfs on
# /run (mount options RUN_OPTS, default size=64m; with noexec in them,
# /dev/shm and /tmp get noexec tmpfs too), and a PATH without lifelined.
# Its pid (the shell's, after exec) goes to PIDFILE; the host sees its /run
# as /proc/PID/root/run.  Run it on a pty (socat EXEC:...,pty,setsid,ctty);
# socat splits its addresses at commas, so RUN_OPTS may use + for them.
#
# With "bare" as TOOLS, the shell is dash (busybox's finds its applets
# whatever PATH says) and PATH holds busybox applets for uname, mkdir, chmod
# and rm
# alone (a tmpfs on /mnt): no base64, gzip, sha256sum or stty, the least a
# rescue shell can have.
#
# RESCUE_BUSYBOX names another busybox than PATH's (an arm64 one, which
# binfmt_misc runs through qemu-user: a rescue host of that architecture).
# RESCUE_DELAY (seconds) holds the shell back after the pid file is
# written: a rescue system that prints its prompt late (still booting, or
# a loaded host).
# RESCUE_NO_SFTP=1 hides the sftp-server programs of this machine (an
# empty tmpfs on the directory of each of the paths lifelined looks in,
# agent/ssh-channels.c): a rescue host with none of its own.
#
#   rescue-shell.sh PIDFILE [RUN_OPTS [TOOLS]]
pidfile=$1 opts=$(echo "${2:-size=64m}" | tr + ,) tools=${3:-all}
busybox=${RESCUE_BUSYBOX:-$(command -v busybox)}
delay=${RESCUE_DELAY:-0}
nosftp=${RESCUE_NO_SFTP:-0}
exec unshare --mount --propagation private sh -c '
	exec 9>"$1"	# PIDFILE may be under the /tmp that noexec hides
	sh "$6"
	mount -t tmpfs -o "$2" tmpfs /run || exit 1
	case $2 in *noexec*)
		for d in /dev/shm /tmp; do mount -t tmpfs -o noexec tmpfs $d; done ;;
	esac
	if [ "$7" = 1 ]; then
		for p in /usr/lib/openssh/sftp-server /usr/lib/ssh/sftp-server \
		    /usr/libexec/openssh/sftp-server /usr/libexec/sftp-server; do
			[ -e "$p" ] || continue
			mount -t tmpfs -o size=1m tmpfs "${p%/*}" || exit 1
		done
	fi
	path=/usr/sbin:/usr/bin:/sbin:/bin
	shell="$4 sh"
	if [ "$3" = bare ]; then
		mount -t tmpfs tmpfs /mnt || exit 1
		mkdir /mnt/bin
		for a in uname mkdir chmod rm; do ln -s "$4" /mnt/bin/$a; done
		path=/mnt/bin
		shell=$(command -v dash)
	fi
	echo $$ >&9	# after the mounts: a test may look at them at once
	exec 9>&-
	sleep "$5"
	cd / && exec env -i PATH=$path PS1="# " $shell -i
	' rescue-shell "$pidfile" "$opts" "$tools" "$busybox" "$delay" \
	"$(dirname "$0")/ns-clean.sh" "$nosftp"
