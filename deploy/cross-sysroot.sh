#!/bin/sh
# The libraries a deploy bundle for another architecture is built with
# (docs/deploy.md, "Other architectures"), unpacked into a directory of the
# build tree, never installed: the -dev packages with their static
# archives and headers, the shared libmount and libblkid the agent links,
# musl for the first stage, libssh's gcrypt flavour, and OpenSSH's
# sftp-server that the bundle carries, all of Debian's
# ARCH build, fetched with `apt-get download` and unpacked with dpkg-deb.
# The compiler (gcc-TRIPLET) and glibc's loader and libc come from the
# cross toolchain's packages, which ./bootstrap cross installs.
#
#   cross-sysroot.sh ARCH DIR
#
# ARCH as `uname -m` names it (aarch64).  Needs Debian's package lists of
# ARCH: dpkg --add-architecture DEBARCH and apt-get update, which
# ./bootstrap cross does.  DIR/stamp lists what was unpacked; an up-to-date
# DIR is left alone.
set -eu
arch=$1 dir=$2
case $arch in
aarch64) debarch=arm64 ;;
*) echo "cross-sysroot: no cross build for $arch (aarch64 only)" >&2; exit 1 ;;
esac
pkgs="libjansson-dev libjansson4 libserialport-dev libserialport0
libgcrypt20-dev libgcrypt20 libgpg-error-dev libgpg-error0 libssl-dev libssl3
zlib1g-dev zlib1g libcrypt-dev libcrypt1 liblzma-dev liblzma5 libmount-dev
libmount1 libblkid-dev libblkid1 libssh-gcrypt-dev musl-dev musl
busybox-static openssh-sftp-server"
want=$(for p in $pkgs; do echo "$p:$debarch"; done | tr '\n' ' ')
[ "$(cat "$dir/stamp" 2>/dev/null)" = "$want" ] && exit 0
dpkg --print-foreign-architectures | grep -qx "$debarch" || {
	echo "cross-sysroot: dpkg has no $debarch architecture: run ./bootstrap cross (dpkg --add-architecture $debarch; apt-get update)" >&2
	exit 1
}
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
chmod 755 "$t"	# apt-get download drops to user _apt
(cd "$t" && apt-get download -q $want >/dev/null) || {
	echo "cross-sysroot: apt-get download of the $debarch packages failed (apt-get update?)" >&2
	exit 1
}
rm -rf "$dir"
mkdir -p "$dir"
for d in "$t"/*.deb; do dpkg-deb -x "$d" "$dir"; done
rm -rf "$dir/usr/share"
echo "$want" > "$dir/stamp"
echo "cross-sysroot: $debarch libraries unpacked into $dir"
