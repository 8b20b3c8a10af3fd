#!/bin/sh
# disks and inspect on loop devices: a 64 MiB GPT image whose third
# partition holds an ext4 root (attached whole and, as this kernel makes no
# partition devices for loop devices, a second time over partition 3 only),
# a scratch ext4 without an OS (attached twice: duplicate UUIDs), a mounted
# data filesystem, and a root whose etc/os-release is an absolute symlink to
# /etc/os-release.  Nothing may change: the images' sha256, a journal flag
# and an orphan list the kernel would otherwise process stay as they were,
# and no probe mount or directory is left behind.
. "$(dirname "$0")/lib.sh"
need_root
need sfdisk python3 debugfs dumpe2fs
plan 49

jq_() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }

# --- images ---------------------------------------------------------------
make_tree "$T/tree"
truncate -s 64M "$T/disk.img"
sfdisk -q "$T/disk.img" >/dev/null <<'E' || { echo "Bail out! sfdisk failed"; exit 1; }
label: gpt
size=8MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=esp
size=8MiB, type=0657FD6D-A4AB-461C-A0B4-E7C50BD3F7C6, name=swap
type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=rootfs
E
p3=$(sfdisk -J "$T/disk.img" | jq_ 'p=d["partitiontable"]["partitions"][2]; print(p["start"], p["size"])')
start=${p3% *}; size=${p3#* }
truncate -s $((size * 512)) "$T/root.fs"
mkfs.ext4 -q -F -L origroot -d "$T/tree" "$T/root.fs" >/dev/null 2>&1 ||
	{ echo "Bail out! mkfs.ext4 -d failed"; exit 1; }
# A journal "to replay" and an orphan list "to clean up": a ro mount
# without noload on a writable device would write to the image.
ino=$(debugfs -R "stat /root/demo/sub/file" "$T/root.fs" 2>/dev/null | sed -n 's/^Inode: \([0-9]*\).*/\1/p')
debugfs -w -R "feature needs_recovery" "$T/root.fs" >/dev/null 2>&1
debugfs -w -R "ssv last_orphan $ino" "$T/root.fs" >/dev/null 2>&1
dd if="$T/root.fs" of="$T/disk.img" bs=512 seek="$start" conv=notrunc status=none
rootuuid=$(blkid -o value -s UUID "$T/root.fs")
rm -f "$T/root.fs"

mkdir -p "$T/empty/lost+found-not"
make_ext4 scratch 8 "$T/empty" scratch
make_ext4 data 8 "$T/empty" data
make_tree "$T/evil"
ln -sf /etc/os-release "$T/evil/etc/os-release"
make_ext4 evil 16 "$T/evil" evil

disk=$(attach "$T/disk.img")
part=$(attach "$T/disk.img" -o $((start * 512)) --sizelimit $((size * 512)))
scratch=$(attach "$T/scratch.img")
scratch2=$(attach "$T/scratch.img" -r)
data=$(attach "$T/data.img")
evil=$(attach "$T/evil.img")
# attach ran in subshells: record the devices for lib.sh's cleanup here
LOOPS="$disk $part $scratch $scratch2 $data $evil $LOOPS"
mine="['$disk', '$part', '$scratch', '$scratch2', '$data', '$evil']"
mount_at "$data" "$T/mnt"
before_disk=$(sha "$T/disk.img")
before_scratch=$(sha "$T/scratch.img")
before_evil=$(sha "$T/evil.img")
ls -A /run/lifeline 2>/dev/null >"$T/run.before"

start_ptys a b
start_agent --serial "$T/a"
VIA="serial:$T/b"

# --- disks ------------------------------------------------------------------
ll --json disks >"$T/disks.json" 2>"$T/err"
is "disks --json succeeds" "$?" 0
dev() { jq_ "x=[v for v in d['devices'] if v['path']=='$1']; v=x[0] if x else {}; print($2)" <"$T/disks.json"; }
is "the whole-disk loop: size and type" "$(dev "$disk" "v.get('size'), v.get('type')")" "67108864 loop"
is "its backing file" "$(dev "$disk" "v.get('backing_file')")" "$T/disk.img"
is "its GPT table with 3 partitions" "$(dev "$disk" "v.get('pttype'), len(v.get('partitions', []))")" "gpt 3"
is "partition 3 of the table: number, start, size, type" \
	"$(dev "$disk" "v['partitions'][2]['number'], v['partitions'][2]['start'], v['partitions'][2]['size'], v['partitions'][2]['type']")" \
	"3 $((start * 512)) $((size * 512)) 0fc63daf-8483-4772-8e79-3d69d8477de4"
dev "$disk" "all(len(p.get('partuuid',''))==36 for p in v['partitions'])" | grep -qx True &&
	ok "every table entry has a PARTUUID" || not_ok "every table entry has a PARTUUID"
is "the partition loop: size, offset, fs, label, uuid" \
	"$(dev "$part" "v.get('size'), v.get('loop_offset'), v.get('fstype'), v.get('label'), v.get('uuid')")" \
	"$((size * 512)) $((start * 512)) ext4 origroot $rootuuid"
is "a device mounted here shows its mount point" \
	"$(dev "$data" "v.get('mounted'), [m['target'] for m in v['mounts']]")" \
	"True ['$T/mnt']"
is "an unmounted device is not mounted" "$(dev "$scratch" "v.get('mounted'), v.get('mounts')")" "False []"
is "a read-only loop is ro" "$(dev "$scratch2" "v.get('ro')")" "True"
is "major:minor as in sysfs" "$(dev "$part" "v.get('majmin')")" \
	"$(cat "/sys/block/${part#/dev/}/dev")"
jq_ "print([sorted(u['devices']) for u in d['duplicate_uuids'] if '$scratch' in u['devices']])" <"$T/disks.json" |
	grep -qF "'$scratch', '$scratch2'" && ok "duplicate UUIDs are flagged" ||
	not_ok "duplicate UUIDs are flagged: $(jq_ 'print(d["duplicate_uuids"])' <"$T/disks.json")"
jq_ "print(any(v['name'].startswith('ram') or v['size']==0 for v in d['devices']))" <"$T/disks.json" | grep -qx False &&
	ok "no ram or zero-size devices" || not_ok "no ram or zero-size devices"

out=$(ll disks 2>"$T/err")
is "disks (human) succeeds" "$?" 0
echo "$out" | grep "^${part#/dev/} " | grep -q "ext4 *origroot *$rootuuid" &&
	ok "the table row shows fs, label, uuid" || not_ok "table row: $(echo "$out" | grep "^${part#/dev/} ")"
echo "$out" | grep -q "backing file: $T/disk.img" && ok "the backing file is shown" || not_ok "backing file shown"
echo "$out" | grep -q "gpt partition table .* 3 partitions (no kernel partition devices)" &&
	ok "the table of the whole disk is shown" || not_ok "table of the whole disk: $out"
echo "$out" | grep "^${data#/dev/} " | grep -q " $T/mnt\$" && ok "the mount point column" || not_ok "mount point column"

# --- inspect ----------------------------------------------------------------
ll --json inspect "$disk" "$part" "$scratch" "$data" >"$T/inspect.json" 2>"$T/err"
is "inspect --json succeeds" "$?" 0
is "exactly one root, on the partition loop" "$(jq_ 'print([r["device"] for r in d["roots"]])' <"$T/inspect.json")" "['$part']"
is "its OS" "$(jq_ 'o=d["roots"][0]["os"]; print(o["PRETTY_NAME"], "|", o["ID"], o["VERSION_ID"])' <"$T/inspect.json")" \
	"Debian GNU/Linux 12 (bookworm) | debian 12"
is "seen through a probe mount with noload" \
	"$(jq_ 'r=d["roots"][0]; print(r["via"], r["mount_options"])' <"$T/inspect.json")" \
	"probe mount ro,nodev,nosuid,noexec,noload"
# other tests' devices may carry the same labels: look at ours only
is "its fstab mapping" "$(jq_ "m=$mine; print(';'.join('%s %s %s %s %s' % (e['source'], e['mountpoint'], e['type'], e['options'], None if 'devices' not in e else [x for x in e['devices'] if x in m]) for e in d['roots'][0]['fstab']))" <"$T/inspect.json")" \
	"LABEL=origroot / ext4 errors=remount-ro ['$part'];LABEL=origboot /boot ext4 defaults [];/swapfile none swap sw None"
is "the scratch fs is no root" "$(jq_ "print([(o['device'], o.get('has_os_release'), o.get('has_fstab')) for o in d['others'] if o['device']=='$scratch'])" <"$T/inspect.json")" \
	"[('$scratch', False, False)]"
is "a mounted fs is seen through its mount point" \
	"$(jq_ "print([(o['via'], o['mountpoint']) for o in d['others'] if o['device']=='$data'])" <"$T/inspect.json")" \
	"[('mounted', '$T/mnt')]"
is "the whole disk is skipped: a table, no filesystem" \
	"$(jq_ "print([o.get('skipped') for o in d['others'] if o['device']=='$disk'])" <"$T/inspect.json")" \
	"['a partition table, no filesystem']"
if command -v mdadm >/dev/null; then
	is "mdadm ran" "$(jq_ 'print(d["tools"][0]["ran"])' <"$T/inspect.json")" True
else
	is "a missing mdadm is reported" "$(jq_ 'print(d["notes"][0])' <"$T/inspect.json")" \
		"mdadm not found: md arrays were not assembled"
fi
if command -v vgchange >/dev/null; then
	is "vgchange ran" "$(jq_ 'print(d["tools"][1]["ran"])' <"$T/inspect.json")" True
else
	is "a missing vgchange is reported" "$(jq_ 'print(d["tools"][1]["message"])' <"$T/inspect.json")" \
		"vgchange not found: LVM volumes were not activated"
fi
out=$(ll inspect "$part" "$scratch" 2>&1)
echo "$out" | grep -q "^OS root on $part (ext4, LABEL=origroot" && ok "inspect (human) names the root device" || not_ok "human root line: $out"
echo "$out" | grep -q "^  os *Debian GNU/Linux 12 (bookworm)" && ok "and its OS" || not_ok "human OS line: $out"
echo "$out" | grep -q "LABEL=origroot *  / *ext4 .*-> .*$part" && ok "and the fstab mapping" || not_ok "human fstab: $out"
echo "$out" | grep -q "^no OS: $scratch" && ok "the scratch fs is named as no OS" || not_ok "human no OS: $out"

# The absolute symlink is read inside the probe root: it means the target's
# own /etc/os-release (itself), never the rescue host's.
ll --json inspect "$evil" >"$T/evil.json" 2>"$T/err"
hostos=$(sed -n 's/^PRETTY_NAME=//p' /etc/os-release | tr -d '"')
is "a symlinked os-release does not leak the rescue host's OS" \
	"$(jq_ 'r=(d["roots"]+d["others"])[0]; print(r.get("os"), r.get("has_os_release"), r.get("has_shadow"))' <"$T/evil.json")" \
	"None False True"
grep -qF "$hostos" "$T/evil.json" && not_ok "the host's PRETTY_NAME is nowhere in the result" ||
	ok "the host's PRETTY_NAME is nowhere in the result"

# A filesystem mounted in another mount namespace is invisible in our mount
# table, but in use: it must not be probed (nor made read-only).
if command -v unshare >/dev/null; then
	mkdir -p "$T/ns"
	# unshare execs sh, sh execs sleep: $! is the namespace's only process
	unshare -m --propagation private sh -c "sh $NS_CLEAN $T; mount -o ro,noload $evil $T/ns && exec sleep 60" &
	PIDS="$PIDS $!"
	sleep 0.5
	ll --json inspect "$evil" >"$T/busy.json" 2>"$T/err"
	jq_ 'print(d["others"][0].get("error", ""))' <"$T/busy.json" | grep -q "is in use" &&
		ok "a device in use elsewhere is not probed" || not_ok "in use: $(cat "$T/busy.json")"
	is "and its read-only flag was not touched" "$(cat "/sys/block/${evil#/dev/}/ro")" 0
else
	ok "# SKIP no unshare"; ok "# SKIP no unshare"
fi

# The rescue host's own root is never a candidate.
hostroot=$(findmnt -no SOURCE / 2>/dev/null)
if [ -b "$hostroot" ]; then
	ll --json inspect "$hostroot" >"$T/host.json" 2>"$T/err"
	is "the rescue host's own root is skipped" \
		"$(jq_ 'print(len(d["roots"]), d["others"][0].get("skipped"))' <"$T/host.json")" \
		"0 the rescue host's own root filesystem"
else
	ok "# SKIP the rescue host's root is not a block device"
fi

# Bad arguments.
ll inspect /dev/nonexistent-disk 2>"$T/err"
is "an unknown device fails (1)" "$?" 1
grep -q "/dev/nonexistent-disk" "$T/err" && ok "and is named" || not_ok "unknown device named: $(cat "$T/err")"
ll inspect /etc/hostname 2>"$T/err"
grep -q "not a block device" "$T/err" && ok "a file is not a block device" || not_ok "a file: $(cat "$T/err")"

# The whole scan, while no other root test runs (full_scan in lib.sh).
# Loop devices that are not this test's (left by something else, or a
# test that does not take the lock) are left out of the comparison.
if full_scan; then
	ll --json inspect >"$T/all.json" 2>"$T/err"
	full_scan_done
	losetup -a | grep "$T/" | cut -d: -f1 >"$T/ours"
	is "a full scan finds the same single root" "$(jq_ "
ours = set(open('$T/ours').read().split())
def theirs(dev):
    return dev.startswith('/dev/loop') and not any(dev == o or dev.startswith(o + 'p') for o in ours)
print([r['device'] for r in d['roots'] if not theirs(r['device'])])" <"$T/all.json")" "['$part']"
else
	ok "# SKIP other root tests ran for 120 s: no full scan"
fi

# --- nothing changed --------------------------------------------------------
is "the disk image is unchanged" "$(sha "$T/disk.img")" "$before_disk"
is "the scratch image is unchanged" "$(sha "$T/scratch.img")" "$before_scratch"
is "the evil image is unchanged" "$(sha "$T/evil.img")" "$before_evil"
dumpe2fs -h "$part" 2>/dev/null | grep -q '^Filesystem features:.*needs_recovery' &&
	ok "the journal was not replayed (needs_recovery kept)" || not_ok "needs_recovery kept"
e2fsck -fn "$T/scratch.img" >"$T/fsck.out" 2>&1 && ok "e2fsck -fn: scratch clean" || not_ok "e2fsck -fn: $(tail -3 "$T/fsck.out")"
is "no probe mount is left" "$(grep -c ' /run/lifeline/probe-' /proc/self/mountinfo)" 0
is "no directory is left in /run/lifeline" "$(ls -A /run/lifeline 2>/dev/null)" "$(cat "$T/run.before")"
is "the devices are writable again" "$(cat "/sys/block/${part#/dev/}/ro") $(cat "/sys/block/${scratch#/dev/}/ro")" "0 0"
