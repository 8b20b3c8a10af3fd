#!/bin/sh
# A read-only agent (--read-only) must not write to a disk it mounts, what
# ever filesystem type the client names: an ext4 that needs recovery (a
# journal to replay, an orphan to clean up) is mounted with -t auto, -t ext3,
# -t ext2 and no -t, and its image must hash the same afterwards.  The device
# is read-only (BLKROSET) while it is mounted and writable again after
# umount; a device that is in use elsewhere is not touched.
. "$(dirname "$0")/lib.sh"
need_root
need python3
plan 18

tree=$T/tree
make_tree "$tree"
make_ext4 root 64 "$tree" "ro$$"
# needs_recovery and an orphan list: a ro mount that may write replays and
# cleans them up, which changes the image.
ino=$(debugfs -R "stat /etc/hostname" "$T/root.img" 2>/dev/null | sed -n 's/^Inode: \([0-9]*\).*/\1/p')
debugfs -w -R "feature needs_recovery" "$T/root.img" >/dev/null 2>&1
debugfs -w -R "ssv last_orphan $ino" "$T/root.img" >/dev/null 2>&1
dumpe2fs -h "$T/root.img" 2>/dev/null | grep -q '^Filesystem features:.*needs_recovery' ||
	{ echo "Bail out! debugfs did not set needs_recovery"; exit 1; }
rdev=$(attach "$T/root.img")
LOOPS="$rdev $LOOPS"
rosys=/sys/block/${rdev#/dev/}/ro
before=$(sha "$T/root.img")
M=$T/target

start_ptys a b
start_agent --serial "$T/a" --read-only
VIA="serial:$T/b"

# mount --ro with -t TYPE ("" for none): it works, the device is read-only
# meanwhile, umount puts the flag back, the image is unchanged.
mount_ro() {
	t=$1
	ll mount --ro ${t:+-t "$t"} "$rdev" "$M" >/dev/null 2>"$T/err"
	is "read-only agent: mount --ro ${t:+-t $t }of an ext4 needing recovery succeeds" "$?" 0
	is "  the device is read-only while mounted (${t:-no -t})" "$(cat "$rosys")" 1
	ll umount >/dev/null 2>&1
	is "  and writable again after umount (${t:-no -t})" "$(cat "$rosys")" 0
	is "  the image is unchanged (${t:-no -t})" "$(sha "$T/root.img")" "$before"
}
mount_ro auto
mount_ro ""

# A type other than the one libblkid finds: refused, nothing mounted, the
# error names both.
for t in ext3 ext2; do
	ll mount --ro -t "$t" "$rdev" "$M" >/dev/null 2>"$T/err"
	is "read-only agent: mount --ro -t $t of an ext4 is refused" "$?" 1
	grep -q "\"$t\" .*$rdev holds ext4" "$T/err" && ok "  the error names both types" ||
		not_ok "  -t $t: $(cat "$T/err")"
	is "  and nothing is mounted (-t $t)" "$(awk -v t="$M" '$2 == t' /proc/mounts)" ""
done
is "the image is unchanged by the refused mounts" "$(sha "$T/root.img")" "$before"
dumpe2fs -h "$T/root.img" 2>/dev/null | grep -q '^Filesystem features:.*needs_recovery' &&
	ok "the journal was never replayed (needs_recovery kept)" || not_ok "needs_recovery kept"

# A device mounted elsewhere: a read-only flag would break that mount's
# writes, so it is refused and the flag left alone.
make_ext4 busy 16 "$T/tree" "bu$$"
bdev=$(attach "$T/busy.img")
LOOPS="$bdev $LOOPS"
mount_at "$bdev" "$T/elsewhere"
ll mount --ro "$bdev" "$M" >/dev/null 2>"$T/err"
grep -q "$bdev is in use" "$T/err" && ok "read-only agent: a device in use elsewhere is refused" ||
	not_ok "busy: $(cat "$T/err")"
is "  its read-only flag is untouched" "$(cat "/sys/block/${bdev#/dev/}/ro")" 0
