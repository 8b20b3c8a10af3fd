#!/bin/sh
# Build lifeline-stage1 with musl, statically: it must run on any Linux of
# this architecture, glibc, musl or busybox alone.
#
#   build-stage1.sh OUT TOP_SRCDIR TOP_BUILDDIR [TRIPLET SYSROOT]
#
# With TRIPLET (aarch64-linux-gnu) and SYSROOT (deploy/cross-sysroot.sh's
# directory), for another architecture: TRIPLET-gcc with the musl of
# SYSROOT (its musl-gcc.specs, whose paths are made SYSROOT's) and SYSROOT's
# headers and static archives.
# musl-gcc sees only musl's headers, so the few library headers the stage
# needs (zlib, liblzma, libcrypto's sha.h) are linked into a private include
# directory; the static archives are Debian's (their objects for xz
# decoding, CRC-32 and SHA-256 need nothing glibc-specific).  zlib's header
# only: stage1-crc32.c gives the frame code its crc32() from liblzma.
set -eu
out=$1 src=$2 build=$3
triplet=${4:-} sysroot=${5:-}
if [ -n "$triplet" ]; then
	multiarch=$triplet
	libdir=$sysroot/usr/lib/$triplet
	hdr=$sysroot/usr/include
	spec=$sysroot/usr/lib/$(echo "$triplet" | sed 's/-gnu$/-musl/')/musl-gcc.specs
	[ -f "$spec" ] || { echo "build-stage1: no musl for $triplet in $sysroot: run ./bootstrap cross" >&2; exit 1; }
	command -v "$triplet-gcc" >/dev/null 2>&1 || { echo "build-stage1: $triplet-gcc not found: run ./bootstrap cross" >&2; exit 1; }
	# the specs name /usr/...: SYSROOT's copy instead (not the loader's path)
	sed "s|/usr/|$sysroot/usr/|g; s|-dynamic-linker $sysroot/usr/|-dynamic-linker /usr/|" \
		"$spec" > "$build/deploy/musl-$triplet.specs"
	mcc="$triplet-gcc -specs=$build/deploy/musl-$triplet.specs"
else
	multiarch=$(gcc -print-multiarch 2>/dev/null)
	libdir=/usr/lib
	hdr=/usr/include
	[ -n "$multiarch" ] && [ -f "/usr/lib/$multiarch/libz.a" ] && libdir=/usr/lib/$multiarch
	# musl-gcc on glibc systems; the compiler itself on a musl one (Alpine)
	if command -v musl-gcc >/dev/null 2>&1; then
		mcc=musl-gcc
	elif ${CC:-cc} -dumpmachine 2>/dev/null | grep -q musl; then
		mcc=${CC:-cc}
	else
		echo "build-stage1: musl-gcc not found: install Debian package musl-tools" >&2
		exit 1
	fi
fi
inc=$build/deploy/musl-inc${triplet:+-$triplet}
rm -rf "$inc"
mkdir -p "$inc/openssl"
for h in zlib.h zconf.h lzma.h lzma; do
	ln -s "$hdr/$h" "$inc/$h"
done
for h in "$hdr"/openssl/* ${multiarch:+"$hdr/$multiarch/openssl/"*}; do
	[ -e "$h" ] || continue
	ln -sf "$h" "$inc/openssl/"
done
# -isystem: library headers, not ours, get no warnings
$mcc -static -Os -s -o "$out" -std=gnu11 -Wall -Wno-cpp \
	-isystem "$inc" -I"$build" -I"$src/proto" \
	"$src/deploy/stage1.c" "$src/proto/link-pump.c" "$src/proto/link.c" \
	"$src/proto/arq.c" "$src/proto/frame.c" "$src/proto/buf.c" \
	"$src/proto/error.c" "$src/deploy/stage1-crc32.c" \
	"$src/deploy/stage1-glibc.c" \
	"$libdir/liblzma.a" "$libdir/libcrypto.a" \
	-Wl,--gc-sections
