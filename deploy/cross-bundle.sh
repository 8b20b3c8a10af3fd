#!/bin/sh
# A deploy bundle for another architecture than the build machine's
# (docs/deploy.md, "Other architectures"): the same first stage and
# portable agent as `make bundle` builds, made with Debian's cross compiler
# against that architecture's libraries (cross-sysroot.sh's directory).
# Called by `make bundle-ARCH`, which passes the agent's sources and flags:
#
#   PORTABLE_SRC="..." CROSS_CFLAGS="..." \
#   cross-bundle.sh ARCH TOP_SRCDIR TOP_BUILDDIR VERSION OUT
#
# As the native one, the agent links everything statically but libmount and
# libblkid (libssh in its gcrypt flavour), and the bundle carries glibc's
# loader and libc from the cross toolchain (libc6-ARCH-cross), the shared
# libmount and libblkid from the sysroot, the stand-in libselinux built
# here, and that architecture's OpenSSH sftp-server from the sysroot.
# Nothing of this runs at build time, so no emulator is needed.
set -eu
arch=$1 src=$2 build=$3 version=$4 out=$5
case $arch in
aarch64) triplet=aarch64-linux-gnu ;;
*) echo "cross-bundle: no cross build for $arch (aarch64 only)" >&2; exit 1 ;;
esac
root=$build/deploy/sysroot-$arch
[ -f "$root/stamp" ] || { echo "cross-bundle: no $arch libraries in $root: run ./bootstrap cross" >&2; exit 1; }
command -v "$triplet-gcc" >/dev/null 2>&1 || { echo "cross-bundle: $triplet-gcc not found: run ./bootstrap cross" >&2; exit 1; }
cc=$triplet-gcc
lib=$root/usr/lib/$triplet
glibc=/usr/$triplet/lib
work=$build/deploy/cross-$arch
rm -rf "$work"
mkdir -p "$work/obj" "$work/stubs"

# the first stage, static, with the sysroot's musl
sh "$src/deploy/build-stage1.sh" "$work/lifeline-stage1" "$src" "$build" \
	"$triplet" "$root"

# the agent's objects, built small as the native portable agent's
for f in $PORTABLE_SRC; do
	$cc -I"$build" -I"$src/proto" -I"$src/agent" \
		-isystem "$root/usr/include" -isystem "$root/usr/include/$triplet" \
		-I"$root/usr/include/libmount" -I"$root/usr/include/blkid" \
		$CROSS_CFLAGS -c -o "$work/obj/$(echo "$f" | tr / _).o" "$src/$f"
done
$cc -O2 -c -o "$work/gss-stub.o" "$src/deploy/gss-stub.c"
$cc -shared -fPIC -Os -s -Wl,-soname,libselinux.so.1 \
	-Wl,--version-script="$src/deploy/selinux-stub.map" \
	-o "$work/stubs/libselinux.so.1" "$src/deploy/selinux-stub.c"
# -rpath-link: libmount's own NEEDED (libselinux: the stand-in) resolve
# here, not on the build machine
$cc -no-pie -o "$work/lifelined-portable" "$work"/obj/*.o "$work/gss-stub.o" \
	-Wl,--gc-sections -Wl,--no-eh-frame-hdr -L"$lib" \
	-Wl,-rpath-link,"$lib" -Wl,-rpath-link,"$work/stubs" \
	-Wl,-Bstatic -ljansson -lserialport "$lib/libssh.a" -lgcrypt \
	-lgpg-error -lcrypto -lz -lcrypt -Wl,-Bdynamic -lmount -lblkid -lpthread
# no unwind tables, as the native one (Makemodule.am says why)
if ! "$triplet-nm" "$work/lifelined-portable" | grep -q '_Unwind_\|__register_frame'; then
	"$triplet-objcopy" --remove-section=.eh_frame "$work/lifelined-portable"
fi

# OpenSSH's sftp-server of that architecture, from the sysroot
# (openssh-sftp-server): carried for a rescue host without one
sftp=$root/usr/lib/openssh/sftp-server
[ -x "$sftp" ] || sftp=no
SFTP_SERVER=$sftp BUNDLE_LIBDIRS=$glibc:$lib STRIP=$triplet-strip \
	sh "$src/deploy/make-bundle.sh" "$out" "$work/lifeline-stage1" \
	"$work/lifelined-portable" "$version" "$arch" "$work/stubs"
