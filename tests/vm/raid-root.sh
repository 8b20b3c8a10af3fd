#!/bin/sh
# VM variant B, root on md RAID1 (/dev/mdNNN): two virtio disks that are the
# members of a RAID1 holding the original root.  The array is made inside
# the guest, so this host's md (it has none) is never touched:
#   boot 1 (lifeline.mode=setup-raid): mdadm --create a RAID1 (metadata 1.2,
#     data offset 2 MiB) over /dev/vda and /dev/vdb, the ext4 root built
#     here (tests/sys/tree.sh: unknown root password, plus a known file) is
#     copied onto it from a third disk, the array is stopped, power off;
#   boot 2 (rescue): lifeline inspect assembles the array (it runs mdadm
#     --assemble --scan) and finds the root on /dev/mdNNN; mount auto,
#     passwd, get, umount, fsck, reboot.
# Then this host reads each member on its own: the md superblock (at 4 KiB,
# version 1.2) gives the data offset, a read-only loop device at that offset
# is the ext4 of the array (RAID1 keeps a full copy on each member): e2fsck
# -fn clean, the new password verifies, the known file is there.
. "$top_srcdir/tests/vm/lib.sh"

vm_need
t_all=$(now)
plan 15
vm_build

# The original root, built here; LABEL=origroot as its etc/fstab says.
make_tree "$T/tree"
head -c 30000 /dev/urandom | base64 >"$T/tree/root/known.txt"
orig_root_hash=$(awk -F: '$1 == "root" { print $2 }' "$T/tree/etc/shadow")
make_ext4 seed 40 "$T/tree" origroot
truncate -s 64M "$T/m0.img" "$T/m1.img"
new_password

# boot 1: make the array
t_setup=$(now)
vm_start setup "lifeline.mode=setup-raid" \
	-drive "file=$T/m0.img,format=raw,if=virtio" \
	-drive "file=$T/m1.img,format=raw,if=virtio" \
	-drive "file=$T/seed.img,format=raw,if=virtio,readonly=on"
if vm_wait_exit 120 && grep -q 'setup-raid done: status 0' "$VM_CONSOLE"; then
	ok "setup boot: RAID1 made over vda and vdb, the root copied, array stopped"
else
	not_ok "setup boot: RAID1 made over vda and vdb, the root copied, array stopped"
	grep -E 'lifeline-vm|mdadm|md127|md:' "$VM_CONSOLE" | tail -n 15 | sed 's/^/#   /'
	vm_kill
fi
SETUP_S=$(secs_since "$t_setup")

# boot 2: the rescue
vm_start rescue "" \
	-drive "file=$T/m0.img,format=raw,if=virtio" \
	-drive "file=$T/m1.img,format=raw,if=virtio"
vm_wait_agent
diag "boot ($ACCEL): $BOOT_S s from QEMU's start to the agent serving on ttyS1"
t_rescue=$(now)
vll --json inspect >"$T/inspect.json" 2>"$T/inspect.err"
python3 - "$T/inspect.json" >"$T/roots" 2>&1 <<'E'
import json, sys
d = json.load(open(sys.argv[1]))
print(" ".join(r.get("device", "?") for r in d["roots"]))
E
MD=$(cat "$T/roots")
case $MD in
/dev/md[0-9]*) ok "inspect assembles the array and finds the root on $MD" ;;
*)	not_ok "inspect finds the root on /dev/mdNNN (got: $MD)"
	sed 's/^/#   /' "$T/inspect.err" "$T/inspect.json" | tail -n 20 ;;
esac
vll exec -- cat /proc/mdstat >"$T/mdstat" 2>&1
check "the array is a RAID1 with both members up" grep -q 'raid1 .*vd[ab].*vd[ab]' "$T/mdstat"
grep -q '\[UU\]' "$T/mdstat" || diag "mdstat: $(tr '\n' ' ' <"$T/mdstat")"
check "mount auto" vll mount
check "passwd --hash for root" vll passwd --hash "$NEW_HASH" root
check "get /root/known.txt" vll get /root/known.txt "$T/known.got"
is "the file arrives intact (sha256)" "$(sha "$T/known.got" 2>&1)" "$(sha "$T/tree/root/known.txt")"
check "umount" vll umount
vll fsck "$MD" >"$T/fsck.out" 2>&1
rc=$?
is "fsck $MD finds it clean (exit 0)" "$rc" 0
[ "$rc" = 0 ] || tail -n 8 "$T/fsck.out" | sed 's/^/#   /'
vm_reboot
RESCUE_S=$(secs_since "$t_rescue")

# Each member on this host: the data offset from its md superblock.
# data_offset(m): bytes, from the v1.2 superblock at 4096 (magic a92b4efc,
# data_offset in 512-byte sectors, little-endian, at byte 128 of it).
data_offset() {
	python3 - "$1" <<-'E'
	import struct, sys
	with open(sys.argv[1], "rb") as f:
	    f.seek(4096)
	    sb = f.read(256)
	magic, major = struct.unpack_from("<II", sb, 0)
	if magic != 0xa92b4efc or major != 1:
	    sys.exit("no md 1.x superblock at 4 KiB")
	level = struct.unpack_from("<i", sb, 72)[0]
	off = struct.unpack_from("<Q", sb, 128)[0]
	print(off * 512, level)
	E
}
for m in m0 m1; do
	set -- $(data_offset "$T/$m.img" 2>&1)
	if [ "${2:-}" != 1 ]; then
		not_ok "$m: an md RAID1 member ($*)"
		continue
	fi
	dev=$(attach "$T/$m.img" -r -o "$1")
	check "$m: RAID1 member, data at $1; e2fsck -fn finds its ext4 clean" \
		e2fsck -fn "$dev"
	mount_at "$dev" "$T/check-$m" ro
	h=$(awk -F: '$1 == "root" { print $2 }' "$T/check-$m/etc/shadow")
	if [ "$h" != "$orig_root_hash" ] && pw_verifies "$h" &&
	    [ "$(sha "$T/check-$m/root/known.txt")" = "$(sha "$T/tree/root/known.txt")" ]; then
		ok "$m: the new password verifies, the known file is intact"
	else
		not_ok "$m: the new password verifies, the known file is intact"
	fi
	umount "$T/check-$m"
done

diag "times: setup boot $SETUP_S s, rescue boot $BOOT_S s, rescue (inspect .. reboot) $RESCUE_S s, whole test $(secs_since "$t_all") s"
