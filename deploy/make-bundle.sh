#!/bin/sh
# Pack the deploy bundle: the first stage and the agent with everything it
# needs to run on a Linux of this architecture that has none of it.
#
#   make-bundle.sh OUT STAGE1 AGENT VERSION ARCH [STUBS]
#
# The agent links libssh, libgcrypt (or libcrypto), jansson, libserialport,
# zlib and libcrypt statically; libmount has no static archive in Debian,
# so the agent stays a dynamic executable and the bundle carries what ldd
# lists for it (libc, libmount, libblkid, libselinux) and glibc's own
# dynamic loader, through which the stage runs it: no file of the host is
# used, nothing is installed.  A library in the directory STUBS is taken
# instead of the system's of the same name (deploy/selinux-stub.c: the
# stand-in libselinux, which also leaves libpcre2 out).
#
# SFTP_SERVER names OpenSSH's sftp-server (empty or "no": none), carried
# as "sftp-server" for a rescue host that has none of its own: the agent
# runs it through the same loader and libraries (agent/ssh-channels.c).
# Its libraries are taken as the agent's are: Debian's needs libc alone.
#
# For another architecture (cross-bundle.sh), where ldd cannot run the
# agent, BUNDLE_LIBDIRS (colon-separated) says where its libraries are: the
# closure of what readelf lists as NEEDED is taken from STUBS and those
# directories, the loader is the agent's ELF interpreter, and STRIP names
# that architecture's strip.
#
# Bundle layout (docs/deploy.md): a text header, then the stage, then the
# agent archive:
#	LLBUNDLE 1 / arch A / version V / stage1 LEN SHA256 /
#	agent LEN SHA256 UNPACKED FILTER / (blank line)
# The agent archive is raw LZMA2 (preset 9e with a 16 MiB dictionary, more
# than the archive, so that the stage decodes it in about 17 MiB of
# memory) after the BCJ filter FILTER (x86, arm64 or none) of
#	LLAR 1 LOADER AGENT\n  then  MODE SIZE NAME\n DATA  per file,  end\n
set -eu
out=$1 stage1=$2 agent=$3 version=$4 arch=$5 stubs=${6:-}
# absolute: ldd prints LD_LIBRARY_PATH's libraries by the path it was given
[ -z "$stubs" ] || stubs=$(cd "$stubs" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

mkdir "$tmp/files"
cp "$agent" "$tmp/files/lifelined"
sftp=
case ${SFTP_SERVER:-no} in
no) ;;
*)	[ -f "$SFTP_SERVER" ] && [ -x "$SFTP_SERVER" ] || {
		echo "make-bundle: SFTP_SERVER=$SFTP_SERVER is not an executable file" >&2
		exit 1
	}
	sftp=$tmp/files/sftp-server
	cp "$SFTP_SERVER" "$sftp" ;;
esac
loader=
interp_of() { readelf -l "$1" | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p'; }
needed() { readelf -d "$1" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
# find NAME in STUBS, then BUNDLE_LIBDIRS
find_lib() {
	for d in $stubs $(echo "$BUNDLE_LIBDIRS" | tr : ' '); do
		[ -e "$d/$1" ] && { echo "$d/$1"; return 0; }
	done
	echo "make-bundle: $1 is in none of $stubs $BUNDLE_LIBDIRS" >&2
	return 1
}
if [ -n "${BUNDLE_LIBDIRS:-}" ]; then
	loader=$(basename "$(interp_of "$agent")")
	todo="$loader $(needed "$agent") $([ -z "$sftp" ] || needed "$sftp")"
	while [ -n "$(echo $todo)" ]; do
		set -- $todo
		name=$1; shift; todo="$*"
		[ -e "$tmp/files/$name" ] && continue
		lib=$(find_lib "$name")
		cp -L "$lib" "$tmp/files/$name"
		todo="$todo $(needed "$tmp/files/$name")"
	done
else
	for lib in $(for f in "$agent" $sftp; do LD_LIBRARY_PATH=$stubs ldd "$f"; done |
	    awk '/=>/ && $3 ~ /^\// { print $3 } /^[ \t]*\// { print $1 }' | sort -u); do
		name=$(basename "$lib")
		cp -L "$lib" "$tmp/files/$name"
		case $name in ld-linux*|ld64*|ld-*.so*) loader=$name ;; esac
	done
fi
[ -n "$loader" ] || { echo "make-bundle: no dynamic loader in ldd $agent" >&2; exit 1; }
# The agent runs the sftp-server through its own loader.
if [ -n "$sftp" ] && [ "$(basename "$(interp_of "$sftp")")" != "$loader" ]; then
	echo "make-bundle: $SFTP_SERVER is not a dynamic executable for the loader $loader" >&2
	exit 1
fi
${STRIP:-strip} --strip-unneeded "$tmp/files/"* 2>/dev/null || true
# Every library a file needs must be in the archive: the stage's loader
# would otherwise take the host's, and a busybox host has none.
for f in "$tmp/files/"*; do
	for need in $(readelf -d "$f" 2>/dev/null |
	    sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
		[ -e "$tmp/files/$need" ] || {
			echo "make-bundle: $(basename "$f") needs $need, which is not in the bundle" >&2
			exit 1
		}
	done
done

arc=$tmp/agent.ar
printf 'LLAR 1 %s lifelined\n' "$loader" > "$arc"
for f in "$tmp/files/"*; do
	name=$(basename "$f")
	mode=755
	case $name in *.so*) mode=644 ;; esac
	[ "$name" = "$loader" ] && mode=755
	printf '%s %s %s\n' "$mode" "$(wc -c < "$f")" "$name" >> "$arc"
	cat "$f" >> "$arc"
done
printf 'end\n' >> "$arc"

case $arch in
x86_64|i?86) filter=x86 ;;
aarch64) filter=arm64 ;;
*) filter=none ;;
esac
# Raw LZMA2, no xz container: the stage then needs liblzma's LZMA2 and BCJ
# decoders alone, not the container's, its checks and its index (20 KB
# less typed into the console; the archive's SHA-256 is checked before it
# is unpacked).  --arm64 needs xz >= 5.4; without it, LZMA2 alone.
raw() { xz --format=raw "$@" --lzma2=preset=9e,dict=16MiB -c "$arc"; }
if [ $filter = none ] || ! raw --$filter > "$tmp/agent.xz" 2>/dev/null; then
	filter=none
	raw > "$tmp/agent.xz"
fi

sha() { sha256sum "$1" | cut -d' ' -f1; }
{
	printf 'LLBUNDLE 1\narch %s\nversion %s\n' "$arch" "$version"
	printf 'stage1 %s %s\n' "$(wc -c < "$stage1")" "$(sha "$stage1")"
	printf 'agent %s %s %s %s\n\n' "$(wc -c < "$tmp/agent.xz")" \
		"$(sha "$tmp/agent.xz")" "$(wc -c < "$arc")" $filter
	cat "$stage1" "$tmp/agent.xz"
} > "$out.tmp"
mv "$out.tmp" "$out"
echo "bundle $out: $(wc -c < "$out") bytes (agent archive $(wc -c < "$tmp/agent.xz") xz, $(wc -c < "$arc") unpacked; stage1 $(wc -c < "$stage1")): $(cd "$tmp/files" && ls | tr '\n' ' ')"
