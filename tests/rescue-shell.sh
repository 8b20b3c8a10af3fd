#!/bin/sh
# A rescue host reduced to its shell, for the deploy's tests and benchmark:
# busybox sh, interactive, in a mount namespace of its own with a tmpfs on
# /run (mount options RUN_OPTS, default size=64m; with noexec in them,
# /dev/shm and /tmp get noexec tmpfs too), and a PATH without lifelined.
# Its pid (the shell's, after exec) goes to PIDFILE; the host sees its /run
# as /proc/PID/root/run.  Run it on a pty (socat EXEC:...,pty,setsid,ctty);
# socat splits its addresses at commas, so RUN_OPTS may use + for them.
#
#   rescue-shell.sh PIDFILE [RUN_OPTS]
pidfile=$1 opts=$(echo "${2:-size=64m}" | tr + ,)
exec unshare --mount --propagation private sh -c '
	echo $$ >"$1"
	mount -t tmpfs -o "$2" tmpfs /run || exit 1
	case $2 in *noexec*)
		for d in /dev/shm /tmp; do mount -t tmpfs -o noexec tmpfs $d; done ;;
	esac
	cd / && exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin PS1="# " \
		busybox sh -i' rescue-shell "$pidfile" "$opts"
