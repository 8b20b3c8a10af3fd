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
#   rescue-shell.sh PIDFILE [RUN_OPTS [TOOLS]]
pidfile=$1 opts=$(echo "${2:-size=64m}" | tr + ,) tools=${3:-all}
exec unshare --mount --propagation private sh -c '
	echo $$ >"$1"
	sh "$4"
	mount -t tmpfs -o "$2" tmpfs /run || exit 1
	case $2 in *noexec*)
		for d in /dev/shm /tmp; do mount -t tmpfs -o noexec tmpfs $d; done ;;
	esac
	path=/usr/sbin:/usr/bin:/sbin:/bin
	shell="$(command -v busybox) sh"
	if [ "$3" = bare ]; then
		mount -t tmpfs tmpfs /mnt || exit 1
		mkdir /mnt/bin
		for a in uname mkdir chmod rm; do ln -s "$(command -v busybox)" /mnt/bin/$a; done
		path=/mnt/bin
		shell=$(command -v dash)
	fi
	cd / && exec env -i PATH=$path PS1="# " $shell -i
	' rescue-shell "$pidfile" "$opts" "$tools" "$(dirname "$0")/ns-clean.sh"
