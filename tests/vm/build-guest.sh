#!/bin/sh
# build-guest.sh [--bare] OUTDIR: the small rescue host the VM tests boot in
# QEMU.
#
# Everything comes from Debian packages, never installed on this host:
#   - the kernel: `apt-get download` of the versioned package that
#     linux-image-amd64 depends on, unpacked with `dpkg -x`, modules.dep
#     regenerated with `depmod -b`;
#   - mdadm: `apt-get download mdadm` + `dpkg -x`;
#   - busybox-static, e2fsprogs and the libraries of lifelined: taken from
#     this host (they are installed Debian packages; bootstrap installs them).
# The downloads and the unpacked trees are kept in $VM_CACHE (default
# /var/cache/lifeline-vm when writable, else $top_builddir/tests/vm/cache), so
# a second run downloads nothing; without network a cached kernel is used.
#
# OUTDIR gets:
#   vmlinuz     the kernel
#   initrd.gz   cpio (newc) + gzip: busybox, lifelined and every library
#               `ldd` lists for it (and the dynamic loader), e2fsck, mke2fs,
#               debugfs, tune2fs, mdadm, the modules virtio_pci, virtio_blk,
#               ext4, raid1 with their dependencies in load order, and
#               tests/vm/init as /init.
#   guest.env   KVER=... (for the tests' reports)
#   variant     full or bare
# With --bare the initrd has busybox, the modules virtio_pci, virtio_blk and
# ext4 and the init alone: no lifelined, no glibc library, no e2fsprogs, no
# mdadm (the guest of `attach --deploy`, tests/vm/deploy.sh).
# The initrd is rebuilt when lifelined (not for --bare), the init or this
# script is newer.
# Needs: apt-get, dpkg, depmod and modprobe (kmod), cpio, gzip, busybox
# (busybox-static), ldd.  Messages go to stderr; exit 1 with a reason when
# something is missing.
set -eu

BARE=false VARIANT=full
[ "${1:-}" = --bare ] && { BARE=true VARIANT=bare; shift; }
[ $# -eq 1 ] || { echo "usage: $0 [--bare] OUTDIR" >&2; exit 2; }
OUT=$1
here=$(cd "$(dirname "$0")" && pwd)
: "${top_builddir:=$(pwd)}"
LIFELINED=${LIFELINED:-$top_builddir/agent/lifelined}
say() { printf 'build-guest: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

for c in apt-get apt-cache dpkg depmod modprobe cpio gzip ldd; do
	command -v "$c" >/dev/null 2>&1 || die "$c is not installed"
done
BUSYBOX=
for b in /bin/busybox /usr/bin/busybox; do
	# the static one: a dynamic busybox would need its libraries too
	if [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1; then BUSYBOX=$b; break; fi
done
[ -n "$BUSYBOX" ] || die "no static busybox (package busybox-static)"
$BARE || [ -x "$LIFELINED" ] || die "no $LIFELINED: build first"

if [ -z "${VM_CACHE:-}" ]; then
	if mkdir -p /var/cache/lifeline-vm 2>/dev/null && [ -w /var/cache/lifeline-vm ]; then
		VM_CACHE=/var/cache/lifeline-vm
	else
		VM_CACHE=$top_builddir/tests/vm/cache
	fi
fi
mkdir -p "$VM_CACHE" "$OUT"
VM_CACHE=$(cd "$VM_CACHE" && pwd)
OUT=$(cd "$OUT" && pwd)

# One build at a time per cache (tests may run in parallel).
exec 9>"$VM_CACHE/.lock"
flock 9 2>/dev/null || true

# fetch PACKAGE: unpack PACKAGE (the candidate version) into
# $VM_CACHE/PACKAGE_VERSION, downloading it once; prints that directory.
# Offline, the newest cached unpacked tree of PACKAGE is used.
fetch() {
	pkg=$1
	ver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null |
		sed -n 's/^Version: //p' | head -n 1)
	if [ -z "$ver" ]; then
		d=$(ls -d "$VM_CACHE/${pkg}_"* 2>/dev/null | grep -v '\.deb$' | sort -V | tail -n 1)
		[ -n "$d" ] || die "apt knows no package $pkg (apt-get update?) and nothing is cached"
		say "apt knows no $pkg: using the cached $d"
		echo "$d"; return
	fi
	d=$VM_CACHE/${pkg}_$(echo "$ver" | tr ':' '_')
	if [ ! -f "$d/.done" ]; then
		deb=$(ls "$VM_CACHE/${pkg}_"*"$(echo "$ver" | sed 's/^[0-9]*://')"_*.deb 2>/dev/null | head -n 1)
		if [ -z "$deb" ]; then
			say "apt-get download $pkg ($ver)"
			(cd "$VM_CACHE" && apt-get download -q "$pkg=$ver" >/dev/null 2>"$VM_CACHE/apt.err") || {
				cat "$VM_CACHE/apt.err" >&2
				d2=$(ls -d "$VM_CACHE/${pkg}_"* 2>/dev/null | grep -v '\.deb$' | sort -V | tail -n 1)
				[ -n "$d2" ] && [ -f "$d2/.done" ] || die "cannot download $pkg"
				say "download failed: using the cached $d2"
				echo "$d2"; return
			}
			deb=$(ls "$VM_CACHE/${pkg}_"*.deb | sort -V | tail -n 1)
		fi
		rm -rf "$d"
		dpkg -x "$deb" "$d" || die "dpkg -x $deb failed"
		touch "$d/.done"
		rm -f "$deb"	# the unpacked tree is the cache
	fi
	echo "$d"
}

# The kernel: linux-image-amd64 is a metapackage; its Depends names the
# real, versioned package.
kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
	sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n 1)
if [ -n "$kpkg" ]; then
	KDIR=$(fetch "$kpkg")
else
	KDIR=$(ls -d "$VM_CACHE"/linux-image-[0-9]* 2>/dev/null | grep -v '\.deb$' | sort -V | tail -n 1)
	[ -n "$KDIR" ] || die "apt knows no linux-image-amd64 and no kernel is cached"
fi
KVER=$(ls "$KDIR/lib/modules" | head -n 1)
[ -f "$KDIR/boot/vmlinuz-$KVER" ] || die "no vmlinuz in $KDIR"
if [ ! -f "$KDIR/lib/modules/$KVER/modules.dep" ]; then
	say "depmod -b for $KVER"
	depmod -b "$KDIR" "$KVER" || die "depmod failed"
fi
# Older versions (a kernel update brings a new package) are dropped.
for o in "$VM_CACHE"/linux-image-[0-9]*; do
	[ -e "$o" ] && [ "$o" != "$KDIR" ] && rm -rf "$o"
done
if ! $BARE; then
	MDDIR=$(fetch mdadm)
	for o in "$VM_CACHE"/mdadm_*; do
		[ -e "$o" ] && [ "$o" != "$MDDIR" ] && rm -rf "$o"
	done
	MDADM=$MDDIR/sbin/mdadm
	[ -x "$MDADM" ] || die "no mdadm in $MDDIR"
fi

cmp -s "$KDIR/boot/vmlinuz-$KVER" "$OUT/vmlinuz" ||
	{ cp "$KDIR/boot/vmlinuz-$KVER" "$OUT/vmlinuz.new" && mv "$OUT/vmlinuz.new" "$OUT/vmlinuz"; }
echo "KVER=$KVER" >"$OUT/guest.env"

if [ -f "$OUT/initrd.gz" ] &&
    { $BARE || [ ! "$LIFELINED" -nt "$OUT/initrd.gz" ]; } &&
    [ ! "$here/init" -nt "$OUT/initrd.gz" ] &&
    [ ! "$0" -nt "$OUT/initrd.gz" ] &&
    [ ! "$KDIR/.done" -nt "$OUT/initrd.gz" ] &&
    [ "$(cat "$OUT/variant" 2>/dev/null)" = "$VARIANT" ]; then
	say "initrd is up to date ($OUT/initrd.gz)"
	exit 0
fi

R=$OUT/root
rm -rf "$R"
mkdir -p "$R"
cd "$R"
mkdir -p bin sbin usr/bin usr/sbin lib lib64 etc proc sys dev run tmp mnt root var
chmod 1777 tmp

# copy_bin FILE DEST_DIR: the program and every library ldd lists for it
copy_bin() {
	cp -L "$1" "$R/$2/"
	ldd "$1" 2>/dev/null | awk '/=> \// { print $3 } /^\t\/[^ ]* \(/ { print $1 }' |
	while read -r lib; do
		[ -f "$R$lib" ] && continue
		mkdir -p "$R$(dirname "$lib")"
		cp -L "$lib" "$R$lib"
	done
}
MODULES="virtio_pci virtio_blk ext4"
if ! $BARE; then
	MODULES="$MODULES raid1"
	copy_bin "$LIFELINED" usr/sbin
	for p in e2fsck mke2fs debugfs tune2fs; do
		f=$(command -v "$p" 2>/dev/null || ls /sbin/$p /usr/sbin/$p 2>/dev/null | head -n 1)
		[ -n "$f" ] || die "$p is not installed (e2fsprogs)"
		copy_bin "$f" usr/sbin
	done
	ln -s e2fsck usr/sbin/fsck.ext4
	ln -s mke2fs usr/sbin/mkfs.ext4
	copy_bin "$MDADM" usr/sbin
	[ -f /etc/mke2fs.conf ] && cp /etc/mke2fs.conf etc/
	# Debian's layout: the loader is also found as /lib64/ld-linux-x86-64.so.2
	[ -e lib64/ld-linux-x86-64.so.2 ] ||
		cp -L /lib64/ld-linux-x86-64.so.2 lib64/ 2>/dev/null || true
fi

# busybox applets, never in place of the real tools copied above
cp "$BUSYBOX" bin/busybox
"$BUSYBOX" --list-full | while read -r a; do
	n=$(basename "$a")
	[ -e "usr/sbin/$n" ] || [ -e "$a" ] || [ "$a" = bin/busybox ] && continue
	mkdir -p "$(dirname "$a")"
	ln -s /bin/busybox "$a"
done

# The modules, in the order `modprobe --show-depends` gives from modules.dep
# (softdeps included: crc32c for ext4).
: >etc/modules.order
for m in $MODULES; do
	modprobe -d "$KDIR" -S "$KVER" --show-depends "$m" ||
		die "modprobe --show-depends $m failed"
done | awk '$1 == "insmod" { print $2 }' | while read -r ko; do
	rel=${ko#"$KDIR"}
	grep -qxF "$rel" etc/modules.order && continue
	mkdir -p "$R$(dirname "$rel")"
	cp "$ko" "$R$rel"
	echo "$rel" >>etc/modules.order
done

cat >etc/passwd <<'E'
root:x:0:0:root:/root:/bin/sh
E
cat >etc/group <<'E'
root:x:0:
E
echo rescue >etc/hostname
cat >etc/os-release <<'E'
PRETTY_NAME="lifeline test rescue system (busybox)"
NAME="lifeline-rescue"
ID=lifeline-rescue
E
# inspect runs `mdadm --assemble --scan`: any array, whatever its homehost
if ! $BARE; then
	printf 'DEVICE partitions\nHOMEHOST <ignore>\n' >etc/mdadm.conf
	mkdir -p etc/mdadm && cp etc/mdadm.conf etc/mdadm/mdadm.conf
fi
cp "$here/init" init
chmod 755 init

find . -print0 | LC_ALL=C sort -z | cpio -o -H newc -R 0:0 --null --quiet |
	gzip -1 >"$OUT/initrd.gz.new"
mv "$OUT/initrd.gz.new" "$OUT/initrd.gz"
echo "$VARIANT" >"$OUT/variant"
cd "$OUT"
rm -rf "$R"
say "kernel $KVER, initrd $(du -k "$OUT/initrd.gz" | cut -f1) KiB in $OUT"
