#!/bin/sh
# fsck and reboot over a PTY link, on loop devices backed by images in $T:
# an ext4 damaged with debugfs is repaired (bit 1) and then clean; -n
# changes nothing; a mounted device is refused through any name of it; a
# missing checker, a swap area, a device with no filesystem and bad paths
# give clear errors.  reboot runs LIFELINED_REBOOT_COMMAND instead of
# rebooting this machine.
. "$(dirname "$0")/lib.sh"
need_root
need mkswap unshare python3 e2label script
plan 55

label="llfsck$$"
make_tree "$T/tree"
make_ext4 fs 64 "$T/tree" "$label"
img="$T/fs.img"

# Damage: a wrong link count and a block of blob.bin marked free.
debugfs -w -R "set_inode_field /root/demo/notes.txt links_count 5" "$img" \
	>/dev/null 2>&1
blk=$(debugfs -R "bmap /root/demo/blob.bin 0" "$img" 2>/dev/null)
debugfs -w -R "freeb $blk" "$img" >/dev/null 2>&1
e2fsck -fn "$img" >/dev/null 2>&1
is "the damaged image has errors e2fsck -n sees (exit 4)" "$?" 4
cp "$img" "$T/dry.img"
# its own label, so LABEL= names one device only
e2label "$T/dry.img" "${label}d"

cat >"$T/reboot-hook" <<E
#!/bin/sh
touch "$T/rebooted"
E
chmod 755 "$T/reboot-hook"

start_ptys a b
LIFELINED_REBOOT_COMMAND="$T/reboot-hook"
export LIFELINED_REBOOT_COMMAND
start_agent --serial "$T/a"
unset LIFELINED_REBOOT_COMMAND
VIA="serial:$T/b"

# attach runs in a subshell here: record the devices for cleanup ourselves
dev=$(attach "$img"); LOOPS="$dev $LOOPS"
drydev=$(attach "$T/dry.img"); LOOPS="$drydev $LOOPS"

# --- repair ---------------------------------------------------------------
ll fsck "$dev" >"$T/out" 2>"$T/err"
rc=$?
[ $((rc & 1)) = 1 ] && ok "fsck repairs: exit status has bit 1 (errors corrected)" ||
	not_ok "fsck repairs: exit $rc: $(tail -n 3 "$T/err")"
[ $((rc & 4)) = 0 ] && ok "no errors are left uncorrected" || not_ok "errors left (exit $rc)"
grep -q "^Pass 1: Checking inodes" "$T/out" && ok "the checker's output is streamed" ||
	not_ok "output streamed: $(head -n 3 "$T/out")"
grep -q "e2fsck exited with status $rc: errors corrected" "$T/err" &&
	ok "the status is explained" || not_ok "the status is explained: $(cat "$T/err")"
ll fsck "$dev" >"$T/out" 2>"$T/err"
is "a second fsck is clean (exit 0)" "$?" 0
grep -q "status 0: no errors" "$T/err" && ok "and says so" || not_ok "and says so: $(cat "$T/err")"
e2fsck -fn "$dev" >/dev/null 2>&1
is "e2fsck -fn agrees the repaired filesystem is clean" "$?" 0

json=$(ll --json fsck -n "$dev" 2>"$T/err")
is "fsck --json: one object with checker, argv, status and meaning" \
	"$(printf '%s\n' "$json" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["checker"], " ".join(d["argv"][1:]), d["exit_status"], d["meaning"], d["type"], "Pass 5" in d["stdout"])')" \
	"e2fsck -f -n -C 3 $dev 0 ['no errors'] ext4 True"

# a progress bar on a terminal (script gives the client a pty)
script -qec "$LIFELINE --insecure --via $VIA fsck -n $dev" /dev/null >"$T/tty" 2>&1
grep -q 'pass 5/5 \[#*\.*\] [0-9]*%' "$T/tty" && ok "a progress bar is drawn on a terminal" ||
	not_ok "progress bar: $(tr '\r' '\n' <"$T/tty" | grep pass | tail -n 3)"
grep -q 'pass [0-9]/5' "$T/out" "$T/err" && not_ok "no bar when stderr is not a terminal" ||
	ok "no bar when stderr is not a terminal"

# --- dry run ----------------------------------------------------------------
before=$(sha "$T/dry.img")
ll fsck -n "$drydev" >"$T/out" 2>"$T/err"
is "fsck -n on the damaged copy exits 4 (errors left uncorrected)" "$?" 4
sync
is "fsck -n changed nothing (image sha256 unchanged)" "$(sha "$T/dry.img")" "$before"
grep -q "dry run: nothing was changed" "$T/err" && ok "the dry run says so" || not_ok "dry run message: $(cat "$T/err")"

# --- mounted devices, by every name ------------------------------------------
mount_at "$dev" "$T/mnt" ro
manifest "$T/tree" >"$T/m.tree"
manifest "$T/mnt" | grep -v '^lost+found ' >"$T/m.fs"
is "the repaired filesystem holds exactly the original tree (manifest)" \
	"$(changed_entries "$T/m.tree" "$T/m.fs")" ""
ll fsck "$dev" >/dev/null 2>"$T/err"
is "a mounted device is refused (exit 255, lifeline's own)" "$?" 255
grep -q "$dev is mounted on $T/mnt: unmount it first (lifeline umount)" "$T/err" &&
	ok "the error says where it is mounted" || not_ok "mounted message: $(cat "$T/err")"
ln -s "$dev" "$T/by-id-link"
ll fsck -n "$T/by-id-link" >/dev/null 2>"$T/err"
is "refused through a /dev/disk/by-*-like symlink" "$?" 255
grep -q "is mounted on $T/mnt" "$T/err" && ok "with the mount named" || not_ok "symlink: $(cat "$T/err")"
ll fsck -n "LABEL=$label" >/dev/null 2>"$T/err"
is "refused through LABEL=" "$?" 255
grep -q "is mounted on $T/mnt" "$T/err" && ok "with the mount named" || not_ok "LABEL: $(cat "$T/err")"
# another device node with the same numbers (not a link at all)
mknod "$T/alias" b "$(printf '%d' "0x$(stat -c '%t' "$dev")")" \
	"$(printf '%d' "0x$(stat -c '%T' "$dev")")"
is "the alias node has the device's numbers" "$(stat -c '%t:%T' "$T/alias")" \
	"$(stat -c '%t:%T' "$dev")"
ll fsck -n "$T/alias" >/dev/null 2>"$T/err"
grep -q "$T/alias is mounted on $T/mnt" "$T/err" &&
	ok "refused through another device node of the same device" ||
	not_ok "alias node: $(cat "$T/err")"
umount "$T/mnt"

# held by an exclusive open: "in use"
python3 -c "
import os, sys, time
fd = os.open('$drydev', os.O_RDONLY | os.O_EXCL)
open('$T/held', 'w').close()
time.sleep(60)" &
holder=$!
PIDS="$PIDS $holder"
for _ in $(seq 100); do [ -e "$T/held" ] && break; sleep 0.05; done
ll fsck -n "$drydev" >/dev/null 2>"$T/err"
is "a device held open exclusively is refused (exit 255)" "$?" 255
grep -q "$drydev is in use" "$T/err" && ok "as in use" || not_ok "in use: $(cat "$T/err")"
kill "$holder"; wait "$holder" 2>/dev/null

# --- what cannot be checked ---------------------------------------------------
make_image swap 16
mkswap "$T/swap.img" >/dev/null 2>&1
swapdev=$(attach "$T/swap.img"); LOOPS="$swapdev $LOOPS"
ll fsck "$swapdev" >/dev/null 2>"$T/err"
is "a swap area: exit 255" "$?" 255
grep -q 'no checker for "swap"' "$T/err" && ok "says there is no checker for swap" || not_ok "swap: $(cat "$T/err")"
make_image empty 8
emptydev=$(attach "$T/empty.img"); LOOPS="$emptydev $LOOPS"
ll fsck "$emptydev" >/dev/null 2>"$T/err"
grep -q "$emptydev holds no filesystem" "$T/err" && ok "a device with no filesystem is named" ||
	not_ok "empty: $(cat "$T/err")"
# a minimal FAT16 boot sector (no mkfs.vfat needed): vfat goes to fsck.vfat
python3 - "$T/fat.img" <<'E'
import struct, sys
size = 16 * 1024 * 1024
b = bytearray(512)
b[0:11] = b'\xeb\x3c\x90MSWIN4.1'
struct.pack_into('<HBHBHHBHHHI', b, 11, 512, 4, 4, 2, 512, 0, 0xf8, 32, 32, 2, 0)
struct.pack_into('<I', b, 32, size // 512)
b[36] = 0x80; b[38] = 0x29; struct.pack_into('<I', b, 39, 0x1234abcd)
b[43:62] = b'NO NAME    FAT16   '
b[510:512] = b'\x55\xaa'
with open(sys.argv[1], 'wb') as f:
    f.write(b); f.truncate(size)
    for i in range(2):
        f.seek(512 * (4 + i * 32)); f.write(b'\xf8\xff\xff\xff')
E
fatdev=$(attach "$T/fat.img"); LOOPS="$fatdev $LOOPS"
if command -v fsck.vfat >/dev/null 2>&1; then
	ll --json fsck -n "$fatdev" 2>"$T/err" | grep -q '"checker": *"fsck.vfat"' &&
		ok "vfat is checked by fsck.vfat" || not_ok "vfat: $(cat "$T/err")"
else
	ll fsck -n "$fatdev" >/dev/null 2>"$T/err"
	grep -q "fsck.vfat not found: install dosfstools (Alpine: apk add dosfstools; Debian: apt-get install dosfstools)" "$T/err" &&
		ok "vfat without fsck.vfat names dosfstools" || not_ok "vfat: $(cat "$T/err")"
fi
ll fsck "$T/tree/etc/passwd" >/dev/null 2>"$T/err"
is "a regular file: exit 255" "$?" 255
grep -q "$T/tree/etc/passwd is not a block device" "$T/err" && ok "is not a block device" ||
	not_ok "regular file: $(cat "$T/err")"
ll fsck /dev/lifeline-no-such-disk >/dev/null 2>"$T/err"
grep -q "/dev/lifeline-no-such-disk: No such file or directory" "$T/err" &&
	ok "an unknown device is named" || not_ok "unknown device: $(cat "$T/err")"
ll fsck "LABEL=nolabel$$" >/dev/null 2>"$T/err"
grep -q "no block device has LABEL=nolabel$$" "$T/err" && ok "an unknown LABEL= is named" ||
	not_ok "unknown label: $(cat "$T/err")"
ll fsck >/dev/null 2>&1
is "fsck without a device is a usage error (2)" "$?" 2

# --- a missing checker: a second agent where e2fsck is hidden ----------------
start_ptys c d
unshare -m sh -c '
	sh "$NS_CLEAN" "$1"
	for d in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do
		[ -e "$d/e2fsck" ] && mount --bind /dev/null "$d/e2fsck"
	done
	exec "$0" --insecure --debug-file "$1/agent2.log" --serial "$1/c"' \
	"$LIFELINED" "$T" 2>>"$T/agent2.stderr" &
PIDS="$PIDS $!"
before=$(sha "$T/dry.img")
"$LIFELINE" --insecure --via "serial:$T/d" fsck "$drydev" >/dev/null 2>"$T/err"
is "a missing e2fsck: exit 255" "$?" 255
grep -q "e2fsck not found: install e2fsprogs (Alpine: apk add e2fsprogs; Debian: apt-get install e2fsprogs)" "$T/err" &&
	ok "the error names the package and how to install it" || not_ok "missing checker: $(cat "$T/err")"
is "and the device was not touched" "$(sha "$T/dry.img")" "$before"

# --- live streaming and cancel: a slow fake e2fsck in a third agent --------
cat >"$T/fake-e2fsck" <<E
#!/bin/sh
echo \$\$ >"$T/fake.pid"
echo "Pass 1: fake checker: \$*"
i=0
while [ \$i -lt 600 ]; do echo "1 \$i 600 fake" >&3; i=\$((i + 1)); sleep 0.05; done
E
chmod 755 "$T/fake-e2fsck"
start_ptys e f
unshare -m sh -c 'sh "$NS_CLEAN" "$1"; mount --bind "$1/fake-e2fsck" "$(readlink -f "$(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin command -v e2fsck)")" &&
	exec "$0" --insecure --debug-file "$1/agent3.log" --serial "$1/e"' \
	"$LIFELINED" "$T" 2>>"$T/agent3.stderr" &
PIDS="$PIDS $!"
"$LIFELINE" --insecure --via "serial:$T/f" fsck "$drydev" >"$T/out" 2>"$T/err" &
client=$!
for _ in $(seq 100); do grep -q "Pass 1: fake" "$T/out" && break; sleep 0.05; done
grep -q "Pass 1: fake checker: -f -y -C 3 $drydev" "$T/out" &&
	ok "output arrives while the checker runs, with -f -y -C 3" ||
	not_ok "live output: $(cat "$T/out" "$T/err")"
# Ctrl-C with stdin not a terminal: lifeline stops waiting, the checker
# runs on (a repair is never cut by accident); kill stops it.
kill -INT "$client"
wait "$client"
is "an interrupted fsck exits 255 (not a checker status)" "$?" 255
grep -q "stopped waiting (not asking: stdin is not a terminal); job [0-9]* (the checker) runs on" "$T/err" &&
	ok "piped, Ctrl-C stops waiting and says the checker runs on" ||
	not_ok "interrupt: $(cat "$T/err")"
kill -0 "$(cat "$T/fake.pid")" 2>/dev/null && ok "the checker still runs" ||
	not_ok "the checker still runs"
job=$(sed -n 's/.*; job \([0-9]*\) (the checker) runs on.*/\1/p' "$T/err")
"$LIFELINE" --insecure --via "serial:$T/f" kill "$job" >/dev/null 2>"$T/err"
is "lifeline kill JOB stops it (0)" "$?" 0
for _ in $(seq 50); do kill -0 "$(cat "$T/fake.pid")" 2>/dev/null || break; sleep 0.1; done
kill -0 "$(cat "$T/fake.pid")" 2>/dev/null && not_ok "the checker is gone after kill" ||
	ok "the checker is gone after kill"

# --- reboot -------------------------------------------------------------------
ll reboot >/dev/null 2>"$T/err"
is "reboot without --yes is a usage error (2)" "$?" 2
grep -q "reboots the rescue host" "$T/err" && ok "and says what it would do" || not_ok "reboot usage: $(cat "$T/err")"
[ -e "$T/rebooted" ] && not_ok "without --yes nothing happens" || ok "without --yes nothing happens"
mkdir -p "$T/tgt"
if ll mount "$dev" "$T/tgt" >/dev/null 2>&1 && grep -q " $T/tgt " /proc/mounts; then
	# a process keeps the mount busy: reported, remounted read-only
	sh -c 'cd "$1" && exec sleep 60' sh "$T/tgt" &
	busy=$!
	PIDS="$PIDS $busy"
	sleep 0.2
	ll reboot --yes >/dev/null 2>"$T/err"
	is "reboot --yes with a busy mount still goes on (exit 0)" "$?" 0
	grep -q "could not unmount $T/tgt: Device or resource busy (remounted read-only)" "$T/err" &&
		ok "the busy mount is reported and remounted read-only" || not_ok "busy: $(cat "$T/err")"
	awk -v t="$T/tgt" '$2 == t { print $4 }' /proc/mounts | grep -q '^ro' &&
		ok "it is read-only now" || not_ok "read-only: $(grep " $T/tgt " /proc/mounts)"
	kill "$busy"; wait "$busy" 2>/dev/null
	for _ in $(seq 300); do [ -e "$T/rebooted" ] && break; sleep 0.1; done
	rm -f "$T/rebooted"
	out=$(ll --json reboot --yes 2>"$T/err")
	is "reboot --yes replies (exit 0)" "$?" 0
	for _ in $(seq 300); do [ -e "$T/rebooted" ] && break; sleep 0.1; done
	[ -e "$T/rebooted" ] && ok "the reboot command ran after the reply" || not_ok "reboot command ran: $(tail -n 5 "$T/agent.log")"
	grep -q " $T/tgt " /proc/mounts && not_ok "reboot unmounts lifeline's mounts" ||
		ok "reboot unmounts lifeline's mounts"
	printf '%s\n' "$out" | grep -q "\"unmounted\": *\[\"$T/tgt\"\]" && ok "and lists them" || not_ok "lists unmounted: $out"
else
	out=$(ll --json reboot --yes 2>"$T/err")
	is "reboot --yes replies (exit 0)" "$?" 0
	for _ in $(seq 300); do [ -e "$T/rebooted" ] && break; sleep 0.1; done
	[ -e "$T/rebooted" ] && ok "the reboot command ran after the reply" || not_ok "reboot command ran: $(tail -n 5 "$T/agent.log")"
	ok "# SKIP lifeline mount is not available: nothing lifeline mounted to take down"
	is "the reply lists nothing unmounted" \
		"$(printf '%s\n' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["unmounted"], d["rebooting"])')" \
		"[] True"
	ok "# SKIP no mount to keep busy"
	ok "# SKIP no mount to keep busy"
	ok "# SKIP no mount to keep busy"
fi

# Two devices with the same label: LABEL= must not pick one of them.
make_image twin1 8; make_image twin2 8
mkfs.ext4 -q -F -L "${label}tw" "$T/twin1.img" >/dev/null 2>&1
cp "$T/twin1.img" "$T/twin2.img"
t1=$(attach "$T/twin1.img"); LOOPS="$t1 $LOOPS"
t2=$(attach "$T/twin2.img"); LOOPS="$t2 $LOOPS"
ll fsck -n "LABEL=${label}tw" >/dev/null 2>"$T/err"
is "an ambiguous LABEL= is refused (exit 255)" "$?" 255
grep -q "ambiguous: 2 devices" "$T/err" && ok "and both devices are named" || not_ok "ambiguous label: $(cat "$T/err")"
