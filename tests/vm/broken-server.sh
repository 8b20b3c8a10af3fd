#!/bin/sh
# VM variant A, the broken server: the rescue of tests/demo.sh, on a real
# rescue host.  The guest (tests/vm/build-guest.sh) boots with the broken
# server's disk (tests/make-broken-server.sh: GPT, ext4 root on partition 3,
# unknown root password, filesystem damage) as its virtio disk /dev/vda, and
# serves lifelined on its 16550 ttyS1 through libserialport.  From this host
# the client runs inspect, mount auto, passwd, authorize-key, get, umount,
# fsck twice (repairs, then clean) and reboot; the guest's reboot ends QEMU
# (-no-reboot).  Then this host checks the disk image itself, read-only.
. "$top_srcdir/tests/vm/lib.sh"

vm_need
t_all=$(now)
if [ "$VM_AUTH" = ssh ]; then plan 24; else plan 23; fi
vm_build

sh "$top_srcdir/tests/make-broken-server.sh" "$T/server" >"$T/server.env" 2>"$T/server.err" ||
	{ echo "Bail out! make-broken-server.sh: $(cat "$T/server.err")"; exit 1; }
. "$T/server.env"
orig_root_hash=$(awk -F: '$1 == "root" { print $2 }' "$tree/etc/shadow")
ssh-keygen -q -t ed25519 -N '' -C operator@vm-test -f "$T/key" ||
	{ echo "Bail out! ssh-keygen failed"; exit 1; }
new_password

vm_start a "" -drive "file=$image,format=raw,if=virtio"
vm_wait_agent
diag "boot ($ACCEL): $BOOT_S s from QEMU's start to the agent serving on ttyS1"
t_rescue=$(now)

# the agent, on the 16550 through libserialport, in the mode asked for
vll --json info >"$T/info.json" 2>"$T/info.err"
is "info answers over ttyS1 (the 16550)" \
	"$(python3 -c 'import json,sys; print(json.load(sys.stdin)["console"])' <"$T/info.json" 2>/dev/null)" \
	"/dev/ttyS1,$VM_BAUD"
want=true
[ "$VM_AUTH" = ssh ] && want=false
is "the session's mode is $VM_AUTH (info: insecure=$want)" \
	"$(python3 -c 'import json,sys; print(str(json.load(sys.stdin).get("insecure")).lower())' <"$T/info.json" 2>/dev/null)" \
	"$want"
if [ "$VM_AUTH" = ssh ]; then
	ssh-keygen -q -t ed25519 -N '' -f "$T/stranger" </dev/null
	"$LIFELINE" -i "$T/stranger" --known-hosts "$T/known_hosts" $VM_PIN \
		--via "$VIA" info >"$T/stranger.out" 2>&1
	rc=$?
	if [ "$rc" != 0 ]; then
		ok "a key not in the guest's authorized_keys is refused (exit $rc)"
	else
		not_ok "a key not in the guest's authorized_keys is refused"
	fi
fi
if vm_agent_is_libserialport; then
	ok "the agent opened ttyS1 through libserialport (no termios fallback)"
else
	not_ok "the agent opened ttyS1 through libserialport"
	grep '^lifelined:' "$VM_CONSOLE" | head -n 5 | sed 's/^/#   /'
fi

# inspect finds the root on /dev/vda3
vll --json inspect >"$T/inspect.json" 2>"$T/inspect.err"
roots=$(python3 -c '
import json, sys
print(" ".join(r.get("device", "?") for r in json.load(sys.stdin)["roots"]))' <"$T/inspect.json" 2>&1)
is "inspect finds one root, on /dev/vda3" "$roots" /dev/vda3

# the rescue
check "mount auto" vll mount
check "passwd --hash (made on this host) for root" vll passwd --hash "$NEW_HASH" root
check "authorize-key root" vll authorize-key root "$T/key.pub"
check "get /root/demo" vll get /root/demo "$T/recovered"
check "umount" vll umount
vll fsck /dev/vda3 >"$T/fsck1.out" 2>&1
rc=$?
if [ "$rc" = 1 ] && grep -q 'errors corrected' "$T/fsck1.out"; then
	ok "the first fsck repairs the damage (exit 1: errors corrected)"
else
	not_ok "the first fsck repairs the damage (exit $rc)"
	tail -n 8 "$T/fsck1.out" | sed 's/^/#   /'
fi
vll fsck /dev/vda3 >"$T/fsck2.out" 2>&1
is "the second fsck finds it clean (exit 0)" "$?" 0

# reboot: QEMU runs with -no-reboot, so the guest's reboot ends it
vm_reboot
RESCUE_S=$(secs_since "$t_rescue")

# the disk image itself, read-only, on this host: partition 3 as a
# loop device at its offset (this kernel has no partitions on loop devices).
PART=$(attach "$image" -r -o "$root_offset" --sizelimit "$root_size")
check "e2fsck -fn finds partition 3 clean" e2fsck -fn "$PART"
mount_at "$PART" "$T/check" ro
sh=$T/check/etc/shadow
root_hash=$(awk -F: '$1 == "root" { print $2 }' "$sh")
check "the new root password verifies against the image's etc/shadow" \
	sh -c '[ "$1" != "$2" ] && [ "$1" = "$3" ]' - "$root_hash" "$orig_root_hash" "$NEW_HASH"
check "... and through libxcrypt" pw_verifies "$root_hash"
is "every other etc/shadow line is unchanged" \
	"$(grep -v '^root:' "$sh")" "$(grep -v '^root:' "$tree/etc/shadow")"
is "the previous file is kept as etc/shadow-" \
	"$(awk -F: '$1 == "root" { print $2 }' "$sh-" 2>/dev/null)" "$orig_root_hash"
ak=$T/check/root/.ssh/authorized_keys
check "the key is in root's authorized_keys" grep -qxF "$(cat "$T/key.pub")" "$ak"
is "root/.ssh is 0700 and authorized_keys 0600, owned by root" \
	"$(stat -c '%a %u:%g' "$T/check/root/.ssh" "$ak" 2>&1 | tr '\n' ' ')" "700 0:0 600 0:0 "
rec=$T/recovered
[ -d "$rec/demo" ] && [ ! -e "$rec/notes.txt" ] && rec=$rec/demo
check "the recovered files match the originals (sha256, modes, symlinks)" \
	same_tree "$tree/root/demo" "$rec"
check "... and the image's own copy" same_tree "$T/check/root/demo" "$rec"
is "the shadow file kept its mode" "$(stat -c %a "$sh")" 640

diag "times: boot $BOOT_S s, rescue (info .. reboot) $RESCUE_S s, whole test $(secs_since "$t_all") s"
