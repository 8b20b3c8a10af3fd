#!/bin/sh
# mount and umount over a PTY link, on loop devices: by path, LABEL= and
# UUID=, read-only, the target's own fstab below the root (and a symlinked
# mount point that must not escape), the chroot bind mounts and
# `exec --chroot`, teardown in reverse order, a busy mount, bad arguments,
# `mount auto`, and the target root surviving client sessions.
. "$(dirname "$0")/lib.sh"
need_root
need blkid python3
plan 60

# Labels unique to this run: other root tests (run in parallel) build
# filesystems labelled origroot too, and LABEL= must find ours.
RL="mr$$"; BL="mb$$"
tree=$T/tree
make_tree "$tree"
mkdir "$tree/boot"
sed -i "s/LABEL=origroot/LABEL=$RL/; s/LABEL=origboot/LABEL=$BL/" "$tree/etc/fstab"
# a mount point that is an absolute symlink to a rescue-host directory
mkdir "$T/outside"
ln -s "$T/outside" "$tree/esc"
echo "LABEL=$BL /esc ext4 defaults 0 2" >>"$tree/etc/fstab"
echo "server:/export /srv nfs defaults 0 0" >>"$tree/etc/fstab"
# a static-enough cat for `exec --chroot`
mkdir -p "$tree/bin"
cp -L /bin/cat "$tree/bin/cat"
for lib in $(ldd /bin/cat | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }'); do
	mkdir -p "$tree$(dirname "$lib")"
	cp -L "$lib" "$tree$lib"
done
make_ext4 root 64 "$tree" "$RL"
mkdir "$T/boottree"
echo "kernel image" >"$T/boottree/vmlinuz"
make_ext4 boot 16 "$T/boottree" "$BL"
rdev=$(attach "$T/root.img")
bdev=$(attach "$T/boot.img")
M=$T/target

start_ptys a b
start_agent --serial "$T/a"
VIA="serial:$T/b"

# JSON field of stdin: jf EXPRESSION (d is the object)
jf() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
# mount points at or below $M, in /proc/mounts order
mounts_below() { awk -v t="$M" '$2 == t || index($2, t "/") == 1 { print $2 }' /proc/mounts; }
nmounts_T() { awk -v t="$T" 'index($2, t) == 1' /proc/mounts | wc -l; }
target_root() { ll --json info 2>/dev/null | jf 'd["target_root"]'; }

# --- no root yet -----------------------------------------------------
ll mount auto "$M" 2>"$T/err"
is "mount auto before inspect fails" "$?" 1
grep -q 'no inspected root: run `lifeline inspect` first' "$T/err" &&
	ok "and says to run lifeline inspect first" || not_ok "auto message: $(cat "$T/err")"
ll exec --chroot -- cat /etc/os-release >/dev/null 2>"$T/err"
is "exec --chroot without a target root fails" "$?" 255
grep -q 'no target root is mounted: run `lifeline mount` first' "$T/err" &&
	ok "with the exact 'mount first' message" || not_ok "chroot message: $(cat "$T/err")"

# --- by path -----------------------------------------------------------
out=$(ll mount "$rdev" "$M" 2>"$T/err")
is "mount by device path succeeds" "$?" 0
grep -q "^$rdev $M ext4 rw" /proc/mounts && ok "the device is mounted at the target" ||
	not_ok "in /proc/mounts: $(grep "$T" /proc/mounts)"
echo "$out" | grep -q "^mounted $rdev on $M (ext4)" && ok "mount reports what it mounted" ||
	not_ok "mount output: $out"
is "info --json shows the target root" "$(target_root)" "$M"
ll ping -c 1 -i 0 >/dev/null 2>&1
is "a later client session still sees the target root" "$(target_root)" "$M"
manifest "$M" >"$T/before"
ll mount "$rdev" "$T/other" 2>"$T/err"
is "a second mount while a root is mounted fails" "$?" 1
grep -q "a target root is already mounted at $M: run \`lifeline umount\` first" "$T/err" &&
	ok "and says so" || not_ok "second mount: $(cat "$T/err")"
[ ! -e "$T/other" ] && ok "and creates nothing" || not_ok "$T/other was created"
out=$(ll umount 2>"$T/err")
is "umount succeeds" "$?" 0
is "nothing is left mounted under the target" "$(mounts_below)" ""
is "info shows no target root after umount" "$(target_root)" "None"

# --- by LABEL= and UUID= ----------------------------------------------
ll mount "LABEL=$RL" "$M" >/dev/null 2>"$T/err"
is "mount LABEL= succeeds" "$?" 0
grep -q "^$rdev $M ext4" /proc/mounts && ok "LABEL= resolves to our device" ||
	not_ok "LABEL=: $(cat "$T/err") $(grep "$T" /proc/mounts)"
ll umount >/dev/null 2>&1
uuid=$(blkid -s UUID -o value "$rdev")
ll mount "UUID=$uuid" "$M" >/dev/null 2>"$T/err"
is "mount UUID= succeeds" "$?" 0
grep -q "^$rdev $M ext4" /proc/mounts && ok "UUID= resolves to our device" ||
	not_ok "UUID=: $(cat "$T/err")"
ll umount >/dev/null 2>&1

# --- read-only ---------------------------------------------------------
ll mount --ro "$rdev" "$M" >/dev/null 2>"$T/err"
is "mount --ro succeeds" "$?" 0 || diag "$(cat "$T/err")"
grep -q "^$rdev $M ext4 ro," /proc/mounts && ok "the mount is read-only" ||
	not_ok "--ro: $(grep "$M" /proc/mounts)"
if touch "$M/newfile" 2>/dev/null; then not_ok "writing to the --ro mount fails"
else ok "writing to the --ro mount fails"; fi
ll umount >/dev/null 2>&1

# --- fstab and chroot, teardown in reverse order -----------------------
json=$(ll --json mount --fstab --chroot "$rdev" "$M" 2>"$T/err")
is "mount --fstab --chroot succeeds" "$?" 0
grep -q "^$bdev $M/boot ext4" /proc/mounts && ok "--fstab mounts /boot below the root" ||
	not_ok "--fstab: $(cat "$T/err") $(grep "$T" /proc/mounts)"
is "the target's /boot holds the boot filesystem" "$(cat "$M/boot/vmlinuz" 2>&1)" "kernel image"
is "a symlinked fstab mount point cannot mount on the rescue host" \
	"$(awk -v t="$T/outside" '$2 == t' /proc/mounts)" ""
echo "$json" | jf '"\n".join(w for w in d["warnings"])' | grep -q "fstab /esc: mount point /esc: No such file or directory" &&
	ok "and is a warning in the reply" || not_ok "warnings: $(echo "$json" | jf 'd["warnings"]')"
is "swap, nfs and the root entry are skipped with reasons" \
	"$(echo "$json" | jf '";".join(s["mountpoint"] + ":" + s["reason"] for s in d["skipped"])')" \
	"/:the root itself;none:swap;/esc:mount point /esc: No such file or directory;/srv:network filesystem"
missing=""
for d in dev proc sys run; do
	awk -v t="$M/$d" '$2 == t { f = 1 } END { exit !f }' /proc/mounts || missing="$missing $d"
done
is "--chroot binds /dev, /proc, /sys and /run" "$missing" ""
is "exec --chroot sees the target's os-release" \
	"$(ll exec --chroot -- cat /etc/os-release 2>/dev/null)" "$(cat "$tree/etc/os-release")"
is "exec --chroot reads the target's fstab, not the host's" \
	"$(ll exec --chroot -- cat /etc/fstab 2>/dev/null | sha256sum)" "$(sha256sum <"$tree/etc/fstab")"
ll umount "$M/boot" >/dev/null 2>"$T/err"
is "umount TARGET takes down one mount" "$?" 0
if grep -q " $M/boot " /proc/mounts || ! grep -q " $M/dev " /proc/mounts; then
	not_ok "only /boot went: $(mounts_below | tr '\n' ' ')"
else ok "only that one went, the rest stays"; fi
ll umount "$M/proc" >/dev/null 2>&1
json=$(ll --json mount --fstab "$rdev" "$M" 2>&1)
echo "$json" | grep -q "a target root is already mounted" && ok "mount with a SOURCE on a mounted root is refused" ||
	not_ok "remount: $json"
json=$(ll --json mount --fstab 2>"$T/err")
is "mount --fstab without SOURCE adds to the mounted root" \
	"$(echo "$json" | jf '" ".join(m["target"] for m in d["mounted"])')" "$M/boot"
ll umount "$M/boot" >/dev/null 2>&1
ll mount --chroot >/dev/null 2>&1
json=$(ll --json umount 2>"$T/err")
is "umount with no argument succeeds" "$?" 0
# Recorded order: root, dev, sys, run (proc was taken down), then proc
# added by the second --chroot; reverse is the opposite.
is "it goes in reverse order of mounting" \
	"$(echo "$json" | jf '" ".join(d["unmounted"])' | sed "s|$M/|/|g; s|$M\$|/|")" \
	"/proc /run /sys /dev /"
is "and nothing is left mounted under the target" "$(mounts_below)" ""

# --- a busy mount --------------------------------------------------------
ll mount "$rdev" "$M" >/dev/null 2>&1
sh -c "cd '$M/root' && exec sleep 60" &
busy=$!
PIDS="$PIDS $busy"
sleep 0.3
ll umount 2>"$T/err"
is "umount of a busy mount fails" "$?" 1
grep -q "cannot unmount $M: target is busy" "$T/err" && ok "naming the mount and 'target is busy'" ||
	not_ok "busy message: $(cat "$T/err")"
grep -q "^$rdev $M " /proc/mounts && ok "the busy mount stays mounted (no lazy unmount)" ||
	not_ok "busy mount gone"
is "and stays the target root" "$(target_root)" "$M"
kill "$busy"; wait "$busy" 2>/dev/null
ll umount >/dev/null 2>"$T/err"
is "once free, umount succeeds" "$?" 0
is "and nothing is left" "$(mounts_below)" ""

# --- bad arguments: a clear error, nothing mounted ------------------------
before=$(nmounts_T)
ll mount /dev/nonexistent "$M" 2>"$T/err"
grep -q '/dev/nonexistent: No such file or directory' "$T/err" &&
	ok "an unknown device is named" || not_ok "unknown device: $(cat "$T/err")"
ll mount LABEL=nosuchlabel "$M" 2>"$T/err"
grep -q 'no block device has LABEL=nosuchlabel' "$T/err" &&
	ok "an unknown label is named" || not_ok "unknown label: $(cat "$T/err")"
ll mount "$rdev" relative/dir 2>"$T/err"
grep -q 'argument "target" must be an absolute path, not "relative/dir"' "$T/err" &&
	ok "a relative target is refused" || not_ok "relative: $(cat "$T/err")"
ll mount "$rdev" "$tree" 2>"$T/err"
grep -q "target $tree is not an empty directory" "$T/err" &&
	ok "a non-empty target directory is refused" || not_ok "non-empty: $(cat "$T/err")"
mkdir "$T/mp"; mount -t tmpfs lltest "$T/mp"; MOUNTS="$T/mp $MOUNTS"
ll mount "$rdev" "$T/mp" 2>"$T/err"
grep -q "something is already mounted on target $T/mp" "$T/err" &&
	ok "a target with something mounted on it is refused" || not_ok "mounted: $(cat "$T/err")"
umount "$T/mp"
ll mount -o nosuchoption "$rdev" "$T/fresh/dir" 2>"$T/err"
grep -q "cannot mount $rdev on $T/fresh/dir: wrong fs type, bad option" "$T/err" &&
	ok "a failing mount carries libmount's message" || not_ok "bad option: $(cat "$T/err")"
[ ! -e "$T/fresh" ] && ok "and removes the directories it created" || not_ok "$T/fresh left behind"
ll mount -o ro,remount "$rdev" "$M" 2>"$T/err"
grep -q 'mount option "remount" is not allowed here' "$T/err" &&
	ok "options that would not mount a filesystem are refused" || not_ok "remount: $(cat "$T/err")"
is "nothing was mounted by the bad arguments" "$(nmounts_T)" "$before"
is "and no target root was set" "$(target_root)" "None"

# a missing target below a symlinked directory: created, canonical, undone
mkdir "$T/realdir"; ln -s realdir "$T/lnk"
ll mount "$rdev" "$T/lnk/sub" >/dev/null 2>"$T/err"
grep -q "^$rdev $T/realdir/sub ext4" /proc/mounts && ok "a missing target is created and mounted at its real path" ||
	not_ok "symlinked target: $(cat "$T/err")"
out=$(ll umount 2>/dev/null)
is "and umount finds it there" "$out $(awk -v t="$T/realdir" 'index($2, t) == 1' /proc/mounts)" "unmounted $T/realdir/sub "

# --- the original root is unchanged by the mount cycles -----------------
ll mount --ro "$rdev" "$M" >/dev/null 2>"$T/err" || diag "mount --ro: $(cat "$T/err")"
manifest "$M" >"$T/after"
is "mount/umount cycles changed nothing in the target" "$(changed_entries "$T/before" "$T/after")" ""
ll umount >/dev/null 2>&1

# --- inspect, then mount auto --------------------------------------------
# (a full scan: while no other root test runs, see full_scan in lib.sh)
if ! full_scan; then
	ok "# SKIP other root tests ran for 120 s: no full scan"
elif ll --json inspect >"$T/inspect.json" 2>"$T/err"; then
	full_scan_done
	roots=$(jf '" ".join(r.get("device", "") for r in d.get("roots", []))' <"$T/inspect.json" 2>/dev/null)
	ll mount auto "$M" >"$T/out" 2>"$T/err"
	case " $roots " in
	" $rdev ")
		grep -q "^$rdev $M " /proc/mounts && ok "inspect, then mount auto mounts the one root" ||
			not_ok "mount auto: $(cat "$T/err")" ;;
	*" $rdev "*)
		grep -q "several original roots were found: .*$rdev (Debian GNU/Linux 12 (bookworm))" "$T/err" &&
			ok "mount auto with several inspected roots lists them ($roots)" ||
			not_ok "mount auto, several: $(cat "$T/err")" ;;
	*)
		not_ok "inspect did not find our root: $roots" ;;
	esac
	ll umount >/dev/null 2>&1
else
	full_scan_done
	ok "# SKIP inspect is not available: $(cat "$T/err")"
fi

# --- a read-only agent -------------------------------------------------
# A read-write mount is refused; mount --ro works and, since a plain "ro"
# mount of ext4 still replays the journal, the agent adds noload (shown by
# the kernel as norecovery).
stop_agent
start_agent --serial "$T/a" --read-only
sleep 0.3
ll mount "$rdev" "$M" >/dev/null 2>"$T/err"
check "read-only agent: a read-write mount is refused" grep -q "read-only" "$T/err"
ll mount --ro "$rdev" "$M" >/dev/null 2>"$T/err"
check "read-only agent: mount --ro works without replaying the journal" \
	sh -c "grep ' $M ' /proc/mounts | grep -q '[ ,]ro,.*norecovery'"
ll umount >/dev/null 2>&1
