# Shared helpers for the system tests: TAP output, a scratch directory, and
# starting real processes (socat PTY pairs, the link emulator, the agent)
# that are always cleaned up, even when a test fails or is interrupted.
#
# Tests run from the build directory; top_srcdir and top_builddir come from
# the Automake test environment (or default to this checkout).

: "${top_builddir:=$(pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
LIFELINE="$top_builddir/client/lifeline"
LIFELINED="$top_builddir/agent/lifelined"
LINKEMU="$top_builddir/tests/linkemu"
LLPEER="$top_builddir/tests/llpeer"
# run first in a shell started by unshare -m (see the file)
NS_CLEAN="$top_srcdir/tests/ns-clean.sh"
export NS_CLEAN

T=$(mktemp -d "${TMPDIR:-/tmp}/lifeline-test.XXXXXX")
PIDS=""
MOUNTS=""	# mount points to take down, newest first
LOOPS=""	# loop devices to detach
tap_n=0
tap_failed=0

# cg_setup DEV BYTES_PER_S: a cgroup $CG in which reads of block device DEV
# are throttled to that rate (v1 blkio, else v2 io.max); put processes in
# it with `echo PID >"$CG/cgroup.procs"`.  1 (CG empty) when neither can be
# had.  cleanup takes every process out of it and removes it.
CG=
cg_setup() {
	mm=$(stat -c '%t:%T' "$1")
	mm="$((0x${mm%:*})):$((0x${mm#*:}))"
	if [ -w /sys/fs/cgroup/blkio/cgroup.procs ] &&
	    mkdir "/sys/fs/cgroup/blkio/lifeline-test-$$" 2>/dev/null; then
		CG=/sys/fs/cgroup/blkio/lifeline-test-$$
		echo "$mm $2" >"$CG/blkio.throttle.read_bps_device" 2>/dev/null && return 0
	elif grep -qw io /sys/fs/cgroup/cgroup.controllers 2>/dev/null &&
	    mkdir "/sys/fs/cgroup/lifeline-test-$$" 2>/dev/null; then
		CG=/sys/fs/cgroup/lifeline-test-$$
		echo "$mm rbps=$2" >"$CG/io.max" 2>/dev/null && return 0
	fi
	[ -n "$CG" ] && rmdir "$CG" 2>/dev/null
	CG=
	return 1
}
# cg_cleanup: every process back into the parent cgroup, the cgroup gone
cg_cleanup() {
	[ -n "$CG" ] || return 0
	for p in $(cat "$CG/cgroup.procs" 2>/dev/null); do
		echo "$p" >"${CG%/*}/cgroup.procs" 2>/dev/null
	done
	rmdir "$CG" 2>/dev/null
	CG=
}

cleanup() {
	cg_cleanup
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	sleep 0.2
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	# Whatever is still mounted below the scratch directory goes, innermost
	# first, then the loop devices this test attached.
	for m in $MOUNTS $(awk -v t="$T" 'index($2, t) == 1 { print $2 }' /proc/mounts | sort -r); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	# Loop devices: those recorded by attach (it runs in $(...) subshells,
	# so it records them in a file) and any other backed by a file in $T.
	for l in $LOOPS $(cat "$T/.loops" 2>/dev/null) \
	    $(losetup -n -l -O NAME,BACK-FILE 2>/dev/null | awk -v t="$T" 'index($2, t) == 1 { print $1 }'); do
		losetup -d "$l" 2>/dev/null
	done
	if [ "$tap_failed" -gt 0 ] && [ -f "$T/agent.log" ]; then
		echo "# last lines of the agent log:"
		tail -n 20 "$T/agent.log" | sed 's/^/#   /'
	fi
	# KEEP_T=1: the scratch directory stays, to read its logs after a run
	[ -n "${KEEP_T:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

plan() { echo "1..$1"; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $*"; }
not_ok() {
	tap_n=$((tap_n + 1)); tap_failed=$((tap_failed + 1))
	echo "not ok $tap_n - $*"
}
diag() { echo "$*" | sed 's/^/# /'; }
# check DESCRIPTION COMMAND...: ok when the command succeeds.
check() {
	desc=$1; shift
	if "$@" >"$T/check.out" 2>&1; then ok "$desc"
	else not_ok "$desc"; sed 's/^/#   /' "$T/check.out" | tail -n 15; fi
}
# is DESCRIPTION GOT WANT: ok when equal (status 1 when not, so a caller
# can add a diagnosis with ||)
is() {
	if [ "$2" = "$3" ]; then ok "$1"
	else not_ok "$1"; diag "got:  $2"; diag "want: $3"; return 1; fi
}

need() {
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip_all "$c is not installed"
	done
}

# start_ptys A B: a socat PTY pair, slave links at $T/A and $T/B
start_ptys() {
	need socat
	socat -d -d pty,raw,echo=0,link="$T/$1" pty,raw,echo=0,link="$T/$2" \
		2>"$T/socat.log" &
	PIDS="$PIDS $!"
	for _ in $(seq 100); do
		[ -e "$T/$1" ] && [ -e "$T/$2" ] && return 0
		sleep 0.05
	done
	echo "Bail out! socat did not create the PTY pair"; exit 1
}

# start_emu A B [linkemu options]: the link emulator between $T/A and $T/B
start_emu() {
	a=$1; b=$2; shift 2
	"$LINKEMU" --a "$T/$a" --b "$T/$b" "$@" >"$T/emu.out" 2>"$T/emu.log" &
	PIDS="$PIDS $!"
	EMU_PID=$!
	for _ in $(seq 100); do
		grep -q ready "$T/emu.out" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "Bail out! linkemu did not start"; cat "$T/emu.log"; exit 1
}

# start_agent ARGS...: lifelined in the background, log in $T/agent.log
start_agent() {
	"$LIFELINED" --insecure --debug-file "$T/agent.log" "$@" \
		2>>"$T/agent.stderr" &
	AGENT_PID=$!
	PIDS="$PIDS $AGENT_PID"
}

stop_agent() {
	kill "$AGENT_PID" 2>/dev/null
	wait "$AGENT_PID" 2>/dev/null
}

# rss_kb PID: resident memory in KiB
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# lifeline with the test path; VIA may be set by the test
ll() { "$LIFELINE" --insecure --via "$VIA" "$@"; }

sha() { sha256sum "$1" | cut -d' ' -f1; }

# ssh_config_batch FILE [OPTION...]: append to an ssh config what OpenSSH
# needs in a test (no prompt, known hosts in $T/okh, no shared connection),
# then each OPTION as a line of the same block.
ssh_config_batch() {
	_f=$1
	shift
	{
		printf 'Host *\n\tBatchMode yes\n\tStrictHostKeyChecking accept-new\n'
		printf '\tUserKnownHostsFile %s\n\tControlPath none\n' "$T/okh"
		for _o; do printf '\t%s\n' "$_o"; done
	} >>"$_f"
}

# noisy_transfer ENCODING [exec]: 1 MiB of random data through `exec cat`
# over the link emulator at 115200 baud, bit error rate 1e-4, a kernel
# message line every second; checks it arrives byte-exact.  With "exec" the
# client reaches the line through an exec: transport (socat).
noisy_transfer() {
	enc=$1; how=${2:-serial}
	plan 4
	head -c 1048576 /dev/urandom >"$T/data"
	start_emu a b --baud 115200 --ber 1e-4 --kmsg-interval-ms 1000 \
		--kmsg-side both --seed "${SEED:-$$}" --duration-s 900
	start_agent --serial "$T/a,115200"
	if [ "$how" = exec ]; then
		need socat
		VIA="exec:socat STDIO $T/b,raw,echo=0"
		extra="--baud 115200"
	else
		VIA="serial:$T/b,115200"
		extra=
	fi
	start=$(date +%s)
	# shellcheck disable=SC2086
	"$LIFELINE" --insecure --via "$VIA" $extra --encoding "$enc" -v \
		exec -- cat "$T/data" >"$T/got" 2>"$T/client.err"
	rc=$?
	secs=$(( $(date +%s) - start ))
	is "exec over the noisy line exits 0 ($enc, $how)" "$rc" 0
	is "1 MiB arrives byte-exact ($enc, $how)" "$(sha "$T/got")" "$(sha "$T/data")"
	grep -q 'usb\|kernel\|\[ *[0-9]' "$T/client.err" &&
		ok "kernel messages on the line are shown as console text with -v" ||
		not_ok "console text shown"
	kill -0 "$AGENT_PID" 2>/dev/null && ok "the agent is still up" || not_ok "the agent is still up"
	diag "$enc via $how: $secs s for 1 MiB ($((1048576 / (secs > 0 ? secs : 1))) B/s); emulator: $(tail -n 3 "$T/emu.log" | tr '\n' ' ')"
}

# --- root tests: loop devices with real filesystems ---------------------

# make_tree DIR (tests/sys/tree.sh, shared with tests/make-broken-server.sh)
. "$top_srcdir/tests/sys/tree.sh"

# need_root: skip unless root with working loop devices and the tools.
# A root test holds the loop lock shared for its whole run (see full_scan),
# once past the gate.
need_root() {
	[ "$(id -u)" = 0 ] || skip_all "needs root (loop devices, mount)"
	need losetup mkfs.ext4 e2fsck debugfs flock
	losetup -f >/dev/null 2>&1 || skip_all "no free loop device"
	exec 7>>"${TMPDIR:-/tmp}/lifeline-tests-gate.lock"
	exec 8>>"${TMPDIR:-/tmp}/lifeline-tests-loops.lock"
	flock -s 7 && flock -s 8 && flock -u 7
}

# full_scan: take the loop lock exclusively before an inspect with no
# device, which probe-mounts every block device on the machine (holding it
# open exclusively and read-only meanwhile): another test's loop device
# must not be taken from under it mid-test (its mount or fsck would fail).
# The gate, held meanwhile, keeps new root tests waiting in need_root so
# the running ones can end.  False (and no scan) after 120 s without it.
full_scan() {
	flock -u 8
	if flock -x -w 120 7 && flock -x -w 120 8; then
		return 0
	fi
	full_scan_done
	return 1
}
full_scan_done() {
	flock -s 8
	flock -u 7
}

# make_image NAME SIZE_MB: an empty image file $T/NAME.img
make_image() {
	truncate -s "${2}M" "$T/$1.img"
}

# attach IMG [losetup options]: a loop device for IMG (detached at exit)
attach() {
	img=$1; shift
	dev=$(losetup -f --show "$@" "$img") || { echo "Bail out! losetup $img failed"; exit 1; }
	LOOPS="$dev $LOOPS"
	echo "$dev" >>"$T/.loops"
	echo "$dev"
}

# make_ext4 NAME SIZE_MB DIR [LABEL]: $T/NAME.img holding an ext4 built from DIR
make_ext4() {
	make_image "$1" "$2"
	mkfs.ext4 -q -F -L "${4:-}" -d "$3" "$T/$1.img" >/dev/null 2>&1 ||
		{ echo "Bail out! mkfs.ext4 -d failed"; exit 1; }
}

# mount_at DEV DIR [options]: mount, remembered for cleanup
mount_at() {
	mkdir -p "$2"
	mount ${3:+-o "$3"} "$1" "$2" || { echo "Bail out! mount $1 failed"; exit 1; }
	MOUNTS="$2 $MOUNTS"
}

# manifest DIR: one line per entry: path type mode uid gid size sha256
# xattrs link-target, sorted, for before/after comparisons.
manifest() {
	python3 - "$1" <<-'E'
	import hashlib, os, stat, sys
	root = sys.argv[1]
	out = []
	for dp, dns, fns in os.walk(root):
	    for n in sorted(dns + fns):
	        p = os.path.join(dp, n)
	        st = os.lstat(p)
	        rel = os.path.relpath(p, root)
	        kind = "l" if stat.S_ISLNK(st.st_mode) else "d" if stat.S_ISDIR(st.st_mode) else "f" if stat.S_ISREG(st.st_mode) else "o"
	        h = link = ""
	        if kind == "f":
	            h = hashlib.sha256(open(p, "rb").read()).hexdigest()
	        if kind == "l":
	            link = os.readlink(p)
	        try:
	            xa = ",".join(sorted("%s=%s" % (k, os.getxattr(p, k, follow_symlinks=False).hex()) for k in os.listxattr(p, follow_symlinks=False)))
	        except OSError:
	            xa = ""
	        size = st.st_size if kind == "f" else 0
	        out.append("%s %s %o %d %d %d %s %s %s" % (rel, kind, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, size, h, xa, link))
	print("\n".join(sorted(set(out))))
	E
}

# changed_entries BEFORE AFTER: paths whose manifest line differs
changed_entries() {
	diff "$1" "$2" | sed -n 's/^[<>] \([^ ]*\) .*/\1/p' | sort -u | tr '\n' ' '
}

# --- SSH (the agent without --insecure) ---
# ssh_setup: a client key in $T/home/.ssh (HOME for lls), authorized_keys
# with it, an empty agent config (so /etc/lifeline/lifelined.conf is never
# read), and SSH_FP_CLIENT = the key's SHA256 fingerprint.
ssh_setup() {
	need ssh-keygen
	mkdir -p "$T/home/.ssh"
	chmod 700 "$T/home" "$T/home/.ssh"
	ssh-keygen -q -t ed25519 -N '' -C lifeline-test \
		-f "$T/home/.ssh/id_ed25519" || exit 1
	cp "$T/home/.ssh/id_ed25519.pub" "$T/authorized_keys"
	: >"$T/agent.conf"
	chmod 600 "$T/agent.conf"
	SSH_FP_CLIENT=$(ssh-keygen -lf "$T/home/.ssh/id_ed25519.pub" | cut -d' ' -f2)
}

# start_agent_ssh ARGS...: lifelined with SSH, host key $T/hostkey
# (generated on first start) unless ARGS give another
start_agent_ssh() {
	"$LIFELINED" --config "$T/agent.conf" --host-key "${HOSTKEY:-$T/hostkey}" \
		--authorized-keys "$T/authorized_keys" \
		--debug-file "$T/agent.log" "$@" 2>>"$T/agent.stderr" &
	AGENT_PID=$!
	PIDS="$PIDS $AGENT_PID"
}

# agent_fp: the host key fingerprint the agent logged
agent_fp() {
	for _ in $(seq 100); do
		fp=$(sed -n 's/.*SSH host key \(SHA256:[^ ]*\).*/\1/p' "$T/agent.log" 2>/dev/null | tail -n 1)
		[ -n "$fp" ] && { echo "$fp"; return 0; }
		sleep 0.05
	done
	return 1
}

# lls: lifeline with SSH inside the link, keys from $T/home, agents' keys
# filed in $T/known_hosts, no ssh-agent
lls() {
	HOME="$T/home" SSH_AUTH_SOCK= "$LIFELINE" --via "$VIA" \
		--known-hosts "$T/known_hosts" "$@"
}

# free_port: a free TCP port on 127.0.0.1
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_sshd HOSTKEY AUTHORIZED_KEYS FORCE_COMMAND: OpenSSH's sshd on
# 127.0.0.1:$PORT as a console gateway (every session runs FORCE_COMMAND),
# public keys only; SSHD_PID, its log in $T/sshd.log
start_sshd() {
	[ "$(id -u)" = 0 ] && mkdir -p /run/sshd
	cat >"$T/sshd_config" <<-EOF
	Port $PORT
	ListenAddress 127.0.0.1
	HostKey $1
	AuthorizedKeysFile $2
	PasswordAuthentication no
	KbdInteractiveAuthentication no
	UsePAM no
	StrictModes no
	PidFile none
	PermitRootLogin prohibit-password
	ForceCommand $3
	EOF
	"${SSHD:-/usr/sbin/sshd}" -D -e -f "$T/sshd_config" 2>>"$T/sshd.log" &
	SSHD_PID=$!
	PIDS="$PIDS $SSHD_PID"
	for _ in $(seq 100); do
		grep -q "Server listening on 127.0.0.1 port $PORT" "$T/sshd.log" &&
			return 0
		kill -0 "$SSHD_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "Bail out! sshd did not start"; sed 's/^/# /' "$T/sshd.log"; exit 1
}
