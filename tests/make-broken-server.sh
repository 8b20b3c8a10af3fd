#!/bin/sh
# make-broken-server.sh IMAGE_DIR: the disk of a simulated broken server.
#
# IMAGE_DIR/disk.img is a 96 MiB disk with a GPT partition table of three
# partitions: 1 a BIOS boot partition (empty), 2 an ext4 /boot labelled
# "origboot", 3 an ext4 root labelled "origroot" holding a small Debian-like
# tree (etc/os-release, etc/fstab, etc/passwd, etc/shadow whose root hash
# nobody knows, login.defs, sshd_config, root/demo files).  The root
# filesystem then gets errors injected with debugfs -w (a wrong link count,
# an in-use block marked free, an inode whose directory entry is gone), so
# `e2fsck -fn` reports them.  IMAGE_DIR/tree is the tree the root was built
# from, kept for comparisons.
#
# On stdout, shell assignments for the caller to eval:
#   image=PATH root_offset=BYTES root_size=BYTES boot_offset=BYTES
#   boot_size=BYTES tree=DIR
# This kernel has no partition support on loop devices, so callers attach a
# partition with `losetup -o $root_offset --sizelimit $root_size $image`.
# Needs sfdisk (fdisk), mkfs.ext4, debugfs, e2fsck, python3; no root needed
# (ownership in the tree is only right when run as root).
set -eu

[ $# -eq 1 ] || { echo "usage: $0 IMAGE_DIR" >&2; exit 2; }
D=$1
for c in sfdisk mkfs.ext4 debugfs e2fsck python3; do
	command -v "$c" >/dev/null 2>&1 ||
		{ echo "$0: $c is not installed" >&2; exit 1; }
done
mkdir -p "$D"
D=$(cd "$D" && pwd)
img=$D/disk.img
tree=$D/tree
rm -rf "$tree" "$img" "$D/root.img" "$D/boot.img"

# The original OS's root: the tests' tree (tests/sys/tree.sh), with
# root/demo replaced by a few small files (the demo copies them at 115200
# baud), stand-ins for the login shells, and a few files to damage.
. "$(dirname "$0")/sys/tree.sh"
build_tree() {
	d=$1
	make_tree "$d"
	rm -rf "$d/root/demo"
	mkdir -p "$d/root/demo/sub" "$d/boot" "$d/bin" "$d/usr/sbin"
	# the login shells named in etc/passwd (stand-ins)
	printf '#!/bin/sh\nexit 0\n' >"$d/bin/bash"
	printf '#!/bin/sh\necho "This account is currently not available."\nexit 1\n' \
		>"$d/usr/sbin/nologin"
	chmod 755 "$d/bin/bash" "$d/usr/sbin/nologin"
	echo broken-server >"$d/etc/hostname"
	cat >"$d/root/demo/notes.txt" <<-'E'
	Things to remember about this server:
	- the database dump is in db-dump.sql
	- the web config is in site.conf
	E
	chmod 600 "$d/root/demo/notes.txt"
	python3 - "$d/root/demo/db-dump.sql" <<-'E'
	import sys
	with open(sys.argv[1], "w") as f:
	    f.write("CREATE TABLE customers (id INTEGER, name TEXT);\n")
	    for i in range(120):
	        f.write("INSERT INTO customers VALUES (%d, 'customer %d');\n" % (i, i))
	E
	printf 'server_name example.org;\nroot /srv/www;\n' >"$d/root/demo/site.conf"
	head -c 3000 /dev/urandom >"$d/root/demo/sub/key.bin"
	ln -s notes.txt "$d/root/demo/README"
	# logs to damage: one loses a block, one its directory entry
	python3 -c 'import sys
for i in range(400): print("Jan  1 00:00:%02d broken-server kernel: line %d" % (i % 60, i))' \
		>"$d/var/log/syslog.1"
	printf 'an old log\n' >"$d/var/log/old.log"
}

mkdir -p "$tree"
build_tree "$tree"
mkdir -p "$D/boottree/grub"
printf 'menuentry "Debian" { linux /vmlinuz root=LABEL=origroot }\n' >"$D/boottree/grub/grub.cfg"
head -c 4096 /dev/urandom >"$D/boottree/vmlinuz"

# The partition table (sectors of 512 bytes): 8 MiB BIOS boot, 24 MiB
# /boot, the rest for the root.
truncate -s 96M "$img"
sfdisk -q --no-reread --no-tell-kernel "$img" >/dev/null <<-'E'
label: gpt
start=2048, size=16384, type=21686148-6449-6E6F-744E-656564454649, name="bios"
size=49152, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="boot"
type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name="root"
E
# part N FIELD: start or size of partition N, in bytes
part() {
	sfdisk -J "$img" | python3 -c '
import json, sys
p = json.load(sys.stdin)["partitiontable"]
ss = p.get("sectorsize", 512)
print(p["partitions"][int(sys.argv[1]) - 1][sys.argv[2]] * ss)' "$1" "$2"
}
boot_offset=$(part 2 start); boot_size=$(part 2 size)
root_offset=$(part 3 start); root_size=$(part 3 size)

# Each filesystem is built in its own file, then copied into its partition.
truncate -s "$boot_size" "$D/boot.img"
mkfs.ext4 -q -F -L origboot -d "$D/boottree" "$D/boot.img" >/dev/null 2>&1
truncate -s "$root_size" "$D/root.img"
mkfs.ext4 -q -F -L origroot -d "$tree" "$D/root.img" >/dev/null 2>&1

# The damage: e2fsck finds each of these in a different pass.
blk=$(debugfs -R "bmap /var/log/syslog.1 1" "$D/root.img" 2>/dev/null)
case $blk in ''|*[!0-9]*) echo "$0: no block for syslog.1: $blk" >&2; exit 1 ;; esac
debugfs -w -f - "$D/root.img" >/dev/null 2>&1 <<-E
sif /etc/hostname links_count 3
freeb $blk
unlink /var/log/old.log
E
if e2fsck -fn "$D/root.img" >"$D/e2fsck-before.txt" 2>&1; then
	echo "$0: the injected errors were not found by e2fsck" >&2
	exit 1
fi

dd if="$D/boot.img" of="$img" bs=1M seek="$((boot_offset / 1048576))" \
	conv=notrunc,sparse status=none
dd if="$D/root.img" of="$img" bs=1M seek="$((root_offset / 1048576))" \
	conv=notrunc,sparse status=none
rm -rf "$D/boot.img" "$D/root.img" "$D/boottree"

echo "image=$img"
echo "root_offset=$root_offset"
echo "root_size=$root_size"
echo "boot_offset=$boot_offset"
echo "boot_size=$boot_size"
echo "tree=$tree"
