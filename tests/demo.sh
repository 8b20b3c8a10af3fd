#!/bin/sh
# The demo: lifeline rescues a simulated broken server.
#
# tests/make-broken-server.sh builds the server's disk: a GPT disk whose third
# partition holds an ext4 root with a root password nobody knows and
# filesystem errors.  The disk and that partition become loop devices; the
# agent runs on one end of a virtual serial line with noise (the link
# emulator: 115200 baud, bit errors, kernel messages), and the operator runs
# one lifeline script from the other end: look at the disks, find and mount
# the root, set a new root password (hashed here, so no plaintext crosses the
# line), authorize an SSH key, save /root/demo, unmount, repair the
# filesystem, check it again.  Then the demo looks at the disk itself: the
# password verifies, the key is in place with the right modes, the copied
# files match, the filesystem is clean.  Everything is taken down at the end,
# also on failure or Ctrl-C.
#
# Run by `make demo` as root from the build directory.
set -u
top_builddir=${top_builddir:-$(pwd)}
srcdir=$(cd "$(dirname "$0")/.." && pwd)
LIFELINE="$top_builddir/client/lifeline"
LIFELINED="$top_builddir/agent/lifelined"
LINKEMU="$top_builddir/tests/linkemu"

if [ "$(id -u)" != 0 ]; then
	echo "The demo needs root: it attaches loop devices and the agent mounts" >&2
	echo "and repairs a filesystem.  Run it as root (sudo make demo)." >&2
	exit 1
fi
for c in losetup sfdisk mkfs.ext4 debugfs e2fsck ssh-keygen python3; do
	command -v "$c" >/dev/null 2>&1 || {
		echo "The demo needs $c (packages: util-linux fdisk e2fsprogs" \
			"openssh-client python3)." >&2
		exit 1
	}
done
for f in "$LIFELINE" "$LIFELINED" "$LINKEMU"; do
	[ -x "$f" ] || { echo "missing $f: build first (make all tests/linkemu)" >&2; exit 1; }
done

T=$(mktemp -d /tmp/lifeline-demo.XXXXXX)
chmod 700 "$T"
PIDS=""
LOOPS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	sleep 0.3
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	# Whatever is still mounted from our loop devices or below $T (the
	# agent's mounts, with any bind mounts below them), innermost first.
	for l in $LOOPS; do
		awk -v d="$l" '$1 == d { print $2 }' /proc/mounts
	done >"$T/mp" 2>/dev/null
	awk -v t="$T" 'index($2, t) == 1 { print $2 }' /proc/mounts >>"$T/mp"
	for m in $(sort -u "$T/mp"); do
		awk -v m="$m" 'index($2, m) == 1 { print $2 }' /proc/mounts
	done | sort -ru | while read -r m; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	for l in $LOOPS; do losetup -d "$l" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
indent() { sed 's/^/    /'; }
fails=0
checks=0
pass() { checks=$((checks + 1)); printf '  \033[32mPASS\033[0m %s\n' "$*"; }
fail() {
	checks=$((checks + 1)); fails=$((fails + 1))
	printf '  \033[31mFAIL\033[0m %s\n' "$*"
}
# check DESCRIPTION COMMAND...
check() {
	d=$1; shift
	if "$@" >"$T/check.out" 2>&1; then pass "$d"
	else fail "$d"; indent <"$T/check.out" | tail -n 8; fi
}

# --- the broken server ---------------------------------------------------
say "The broken server's disk"
echo "\$ tests/make-broken-server.sh"
sh "$srcdir/tests/make-broken-server.sh" "$T/server" >"$T/server.env" ||
	{ echo "could not build the disk image"; exit 1; }
. "$T/server.env"
sfdisk -l "$image" 2>/dev/null | sed -n '/^Device/,$p' | indent
echo "Partition 3 holds the root (ext4, LABEL=origroot).  Nobody knows the"
echo "root password, and the filesystem has errors:"
grep -E 'ref count|Unattached|bitmap differences' "$T/server/e2fsck-before.txt" | indent
orig_root_hash=$(awk -F: '$1 == "root" { print $2 }' "$tree/etc/shadow")

DISK=$(losetup -f --show "$image") || exit 1
LOOPS="$DISK $LOOPS"
PART=$(losetup -f --show -o "$root_offset" --sizelimit "$root_size" "$image") || exit 1
LOOPS="$PART $LOOPS"
echo "attached: the disk as $DISK, partition 3 as $PART"
echo "(this kernel has no partitions on loop devices: the partition is a"
echo " second loop device at offset $root_offset)"

# --- the serial line and the agent ---------------------------------------
say "A virtual serial line: 115200 baud 8N1, bit error rate 1e-5, a kernel message every 2 s"
"$LINKEMU" --a "$T/ttyS0" --b "$T/console" --baud 115200 \
	--ber 1e-5 --kmsg-interval-ms 2000 --kmsg-side both --seed 42 \
	--duration-s 1800 >"$T/emu.out" 2>"$T/emu.log" &
EMU_PID=$!
PIDS="$PIDS $EMU_PID"
for _ in $(seq 100); do grep -q ready "$T/emu.out" 2>/dev/null && break; sleep 0.05; done
grep -q ready "$T/emu.out" || { echo "the link emulator did not start"; cat "$T/emu.log"; exit 1; }
echo "rescue host side: $T/ttyS0    operator side: $T/console"

say "The operator's SSH key: it authenticates every session, and goes into the target"
ssh-keygen -q -t ed25519 -N '' -C operator@demo -f "$T/operator_key" ||
	{ echo "ssh-keygen failed"; exit 1; }
echo "\$ ssh-keygen -t ed25519 -f operator_key"
indent <"$T/operator_key.pub"

say "The rescue host has that key in root's authorized_keys and starts the agent"
# (here in files of the demo's own, so nothing of this machine is touched)
cp "$T/operator_key.pub" "$T/authorized_keys"
: >"$T/lifelined.conf"
chmod 600 "$T/lifelined.conf"
echo "\$ lifelined --serial $T/ttyS0,115200"
"$LIFELINED" --serial "$T/ttyS0,115200" --config "$T/lifelined.conf" \
	--host-key "$T/ssh_host_ed25519_key" --authorized-keys "$T/authorized_keys" \
	--debug-file "$T/agent.log" 2>"$T/agent.err" &
AGENT_PID=$!
PIDS="$PIDS $AGENT_PID"
for _ in $(seq 100); do grep -q "SSH host key" "$T/agent.err" && break; sleep 0.05; done
indent <"$T/agent.err"
AGENT_FP=$(sed -n 's/.*SSH host key \(SHA256:[^ ]*\).*/\1/p' "$T/agent.err" | head -n 1)
echo "(the operator reads the host key's fingerprint off the console and pins it)"

# --- the operator's preparations ----------------------------------------
say "The operator prepares a new root password"
# The password stays in a file of ours; only its hash (yescrypt, as the
# target's login.defs asks) goes into the script's environment.
(umask 077; python3 -c 'import secrets; print(secrets.token_urlsafe(15))' >"$T/newpw")
NEW_HASH=$(python3 "$srcdir/tests/pwcrypt.py" "$T/newpw" hash) || { echo "hashing failed"; exit 1; }
export NEW_HASH
echo "a random password, kept in $T/newpw (mode 0600); its yescrypt hash is in \$NEW_HASH"

# --- the rescue ----------------------------------------------------------
export LIFELINE_VIA="serial:$T/console,115200"
# Every session is SSH inside the link: this key, this agent key, nothing else.
SSH_AUTH_SOCK=
export SSH_AUTH_SOCK
LL_SSH="-i $T/operator_key --known-hosts $T/known_hosts --host-key-fingerprint $AGENT_FP"
# `mount auto` takes the one OS root inspect finds.  A host with other OS
# roots attached (other tests running) makes that ambiguous: then the
# script names the partition instead.
MOUNT_SRC=auto
nroots=$("$LIFELINE" $LL_SSH --json inspect 2>/dev/null |
	python3 -c 'import json, sys; print(len(json.load(sys.stdin)["roots"]))' 2>/dev/null)
if [ "${nroots:-0}" -gt 1 ]; then
	MOUNT_SRC=$PART
	say "Note: this host has $nroots OS roots attached, so the script mounts $PART by name, not auto"
fi
cat >"$T/rescue.ll" <<E
# Rescue of a server whose root password is lost.
disks
inspect
mount $MOUNT_SRC
# only the hash crosses the line; it comes from the environment
passwd --hash "\$NEW_HASH" root
authorize-key root $T/operator_key.pub
get /root/demo $T/recovered
umount
# exits 1 when it corrected errors: --keep-going lets the check after it run
fsck $PART
fsck $PART
E
say "The operator's rescue script (LIFELINE_VIA=$LIFELINE_VIA)"
cat -n "$T/rescue.ll" | indent
say "\$ lifeline -i operator_key --host-key-fingerprint $AGENT_FP run --keep-going rescue.ll"
start=$(date +%s)
{
	"$LIFELINE" $LL_SSH run --keep-going "$T/rescue.ll" 2>&1
	echo $? >"$T/run.rc"
} | tee "$T/run.log"
run_rc=$(cat "$T/run.rc")
echo "(lifeline run exited $run_rc after $(( $(date +%s) - start )) s)"

echo "(fsck exits 1 when it corrected errors, and run counts every non-zero"
echo " status as a failure: hence --keep-going, so the second check runs)"

# The agent is done: stop it so that nothing holds the disk, and the line,
# which then says what it carried.
kill "$AGENT_PID" 2>/dev/null
wait "$AGENT_PID" 2>/dev/null
kill "$EMU_PID" 2>/dev/null
wait "$EMU_PID" 2>/dev/null
say "What the line did meanwhile"
awk -F= '
	/^ab_|^ba_/ { v[$1] = $2 }
	/^elapsed_ms=/ { ms = $2 }
	END {
		printf "%.0f s; agent to operator: %d bytes carried, %d bits flipped, %d kernel messages injected\n",
		    ms / 1000, v["ab_carried"], v["ab_bits_flipped"], v["ab_kmsg"]
		printf "operator to agent: %d bytes carried, %d bits flipped, %d kernel messages injected\n",
		    v["ba_carried"], v["ba_bits_flipped"], v["ba_kmsg"]
	}' "$T/emu.log" | indent

# --- checks ---------------------------------------------------------------
say "Checks"
# line_status N: the status run reported for script line N (0 when none,
# "not-run" when it has no header)
line_status() {
	grep -q "^== \[$1\] " "$T/run.log" || { echo not-run; return; }
	s=$(sed -n "s/^lifeline: run: line $1 ([^)]*) failed with exit status \([0-9]*\)\$/\1/p" "$T/run.log")
	echo "${s:-0}"
}
# lines of the script holding COMMAND
script_lines() { grep -n "^$1\\b" "$T/rescue.ll" | cut -d: -f1 | tr '\n' ' '; }
for cmd in disks inspect mount passwd authorize-key get umount; do
	for n in $(script_lines "$cmd"); do
		st=$(line_status "$n")
		case $st in
		0) pass "script line $n ($cmd) succeeded" ;;
		not-run) fail "script line $n ($cmd) did not run" ;;
		*) fail "script line $n ($cmd) exited $st" ;;
		esac
	done
done
# step_log N: what the script printed for line N (up to the next header)
step_log() { sed -n "/^== \[$1\] /,/^== \[/p" "$T/run.log"; }
set -- $(script_lines fsck)
st1=$(line_status "$1"); st2=$(line_status "$2")
# fsck exits with e2fsck's own status; 1 is also lifeline's "failed", so
# the message tells which it was.
if [ "$st1" = 1 ] && step_log "$1" | grep -q 'status 1: errors corrected'; then
	pass "the first fsck corrected errors (exit 1: errors corrected)"
else
	fail "the first fsck exited $st1: $(step_log "$1" | grep '^lifeline:' | grep -v 'not authenticated' | head -n 1)"
fi
[ "$st2" = 0 ] && pass "the second fsck found the filesystem clean (exit 0)" ||
	fail "the second fsck exited $st2: $(step_log "$2" | grep '^lifeline:' | grep -v 'not authenticated' | head -n 1)"

# Look at the disk itself, read-only.  Should the rescue have left it
# mounted (umount failed: reported above), take it down here to look.
for m in $(awk -v d="$PART" '$1 == d { print $2 }' /proc/mounts | sort -r); do
	echo "  (note: $PART is still mounted on $m: unmounting it for the checks)"
	umount "$m" 2>/dev/null || umount -l "$m"
done
mkdir -p "$T/check"
if mount -o ro "$PART" "$T/check" 2>"$T/mount.err"; then
	root_hash=$(awk -F: '$1 == "root" { print $2 }' "$T/check/etc/shadow")
	[ "$root_hash" != "$orig_root_hash" ] &&
		python3 "$srcdir/tests/pwcrypt.py" "$T/newpw" verify "$root_hash" &&
		pass "the new root password verifies against the disk's etc/shadow" ||
		fail "the new root password does not verify (root's field: $root_hash)"
	[ "$(grep -v '^root:' "$tree/etc/shadow")" = "$(grep -v '^root:' "$T/check/etc/shadow")" ] &&
		pass "every other etc/shadow line is unchanged" ||
		fail "other etc/shadow lines changed"
	[ "$(awk -F: '$1 == "root" { print $2 }' "$T/check/etc/shadow-" 2>/dev/null)" = "$orig_root_hash" ] &&
		pass "the previous file is kept as etc/shadow-" ||
		fail "no etc/shadow- with the previous hash"
	ak="$T/check/root/.ssh/authorized_keys"
	if [ -f "$ak" ] && grep -qxF "$(cat "$T/operator_key.pub")" "$ak"; then
		pass "the key is in root/.ssh/authorized_keys"
	else
		fail "the key is not in root/.ssh/authorized_keys"
	fi
	modes=$(stat -c '%a %u:%g' "$T/check/root/.ssh" "$ak" 2>/dev/null | tr '\n' ' ')
	[ "$modes" = "700 0:0 600 0:0 " ] &&
		pass "root/.ssh is 0700 and authorized_keys 0600, owned by root" ||
		fail "modes and owners of root/.ssh, authorized_keys: ${modes:-missing}"
	umount "$T/check"
else
	fail "cannot mount $PART read-only to check it: $(cat "$T/mount.err")"
fi

# get DIR LOCAL makes LOCAL the copy when LOCAL did not exist.
rec=$T/recovered
[ -d "$rec/demo" ] && [ ! -e "$rec/notes.txt" ] && rec=$rec/demo
if [ ! -e "$rec" ]; then
	fail "nothing was recovered into $T/recovered"
elif python3 "$srcdir/tests/same-tree.py" "$tree/root/demo" "$rec" >"$T/cmp.out" 2>&1
then
	pass "the recovered files match the originals (sha256, modes, symlinks: $(cat "$T/cmp.out"))"
else
	fail "the recovered files differ: $(tail -n 3 "$T/cmp.out")"
fi
if e2fsck -fn "$PART" >"$T/e2fsck-after.txt" 2>&1; then
	pass "e2fsck -fn finds the root filesystem clean"
else
	fail "e2fsck -fn still finds errors"
	indent <"$T/e2fsck-after.txt" | tail -n 8
fi

say "Result: $((checks - fails)) of $checks checks passed"
if [ "$fails" -gt 0 ]; then
	echo "last lines of the agent log:"
	tail -n 15 "$T/agent.log" 2>/dev/null | indent
fi
say "Cleaning up: the agent and the line are stopped, the loop devices detached, the files removed."
[ "$fails" -eq 0 ]
