#!/bin/sh
# VM variant D, attach --deploy: a rescue host with no lifelined at all.
# The guest is busybox alone (tests/vm/build-guest.sh --bare: no agent, no
# glibc library, no e2fsprogs, no mdadm) with the broken server's disk
# (tests/make-broken-server.sh) as /dev/vda.  Two boots:
#
# 1. A root shell left on ttyS1 (lifeline.mode=shell: busybox sh -i).  From
#    this host, `attach --deploy` types the first stage into it, sends the
#    agent over the 16550 and pins the host key the agent prints; then,
#    over SSH with that pinned key and no further question: the disk is
#    unchanged by the deploy (its sha256 read in the guest through the
#    deployed agent, `exec -- sha256sum /dev/vda`, and the image's here,
#    both against the image's before QEMU started), inspect, mount (auto),
#    passwd, get of a directory (byte-exact), another key refused (exit 3),
#    umount, reboot (QEMU exits: the agent was in RAM only).  Then this host
#    checks the image: the new password verifies, and no file of the deploy
#    is on it.  No fsck: the guest has no e2fsprogs, and the deployed agent
#    brings none (tests/vm/broken-server.sh covers fsck).
# 2. A getty on ttyS1 (lifeline.mode=getty) with a root password in the
#    initrd's /etc/shadow: a wrong password is refused (exit 3) before
#    anything is typed; `attach --user root --password-file F --deploy`
#    logs in and deploys; reboot ends QEMU.
#
# The deploy brings SSH itself (the operator's public key is the agent's
# only authorized key), so this test runs with SSH whatever VM_AUTH says.
#
# QEMU does not pace its UART and the guest's 8250 cannot go above 115200
# anyway, so the baud given here (VM_BAUD, default 4000000, as noisy.sh)
# only sets lifeline's own pacing: at 115200 the agent's 2.6 MB would take
# four minutes on each boot.
unset VM_CLIENT_FLAGS VM_AGENT_FLAGS
VM_AUTH=ssh
VM_BAUD=${VM_BAUD:-4000000}
. "$top_srcdir/tests/vm/lib.sh"

vm_need
need openssl sha256sum timeout
BUNDLE=$top_builddir/deploy/lifeline-bundle-$(uname -m)
[ -f "$BUNDLE" ] ||
	skip_all "no $BUNDLE: make builds it (needs musl-tools, xz-utils, liblzma-dev)"
t_all=$(now)
plan 29
vm_build --bare

# The guest has none of what the agent needs: its only program is busybox
# (every other command a link to it), beside the init, a few files in /etc
# and the modules.
gzip -dc "$GUEST/initrd.gz" | cpio -tv --quiet >"$T/initrd.list" 2>&1
others=$(awk '$1 ~ /^-/ { print $NF } $1 ~ /^l/ && $NF != "/bin/busybox" { print $(NF - 2) }' \
	"$T/initrd.list" | grep -vE '^(bin/busybox|init|etc/[^/]+|lib/modules/.*\.ko)$' | tr '\n' ' ')
if [ -z "$others" ] && grep -q ' bin/busybox$' "$T/initrd.list" &&
    grep -q '/ext4\.ko$' "$T/initrd.list" && grep -q '/virtio_blk\.ko$' "$T/initrd.list"; then
	ok "the guest's initrd is busybox, the init and the modules: no lifelined, no glibc, no e2fsprogs"
else
	not_ok "the guest's initrd is busybox and the modules only (also: $others)"
fi

sh "$top_srcdir/tests/make-broken-server.sh" "$T/server" >"$T/server.env" 2>"$T/server.err" ||
	{ echo "Bail out! make-broken-server.sh: $(cat "$T/server.err")"; exit 1; }
. "$T/server.env"
orig_root_hash=$(awk -F: '$1 == "root" { print $2 }' "$tree/etc/shadow")
disk_before=$(sha256sum "$image" | cut -d' ' -f1)
ssh-keygen -q -t ed25519 -N '' -C operator@vm-test -f "$T/operator_key" ||
	{ echo "Bail out! ssh-keygen failed"; exit 1; }
ssh-keygen -q -t ed25519 -N '' -C stranger@vm-test -f "$T/stranger" ||
	{ echo "Bail out! ssh-keygen failed"; exit 1; }
new_password

# deploy N ARGS...: attach --deploy on the guest's line as the operator
# (verbose, for the timings); output in $T/deployN.out/.err, status in $rc
deploy() {
	n=$1; shift
	# shellcheck disable=SC2086
	timeout 600 "$LIFELINE" -v $VM_CLIENT_FLAGS --via "$VIA" attach "$@" \
		--deploy --bundle "$BUNDLE" -- info \
		</dev/null >"$T/deploy$n.out" 2>"$T/deploy$n.err"
	rc=$?
}

# --- 1. a root shell on ttyS1 ------------------------------------------------
vm_start shell lifeline.mode=shell -drive "file=$image,format=raw,if=virtio"
vm_wait_console '^lifeline-vm: starting shell on ttyS1'
diag "boot ($ACCEL): $BOOT_S s from QEMU's start to the shell on ttyS1"
t_rescue=$(now)
rm -f "$T/known_hosts"
t0=$(now)
deploy 1
DEPLOY_S=$(secs_since "$t0")
is "attach --deploy onto busybox sh on ttyS1 runs info (exit 0)" "$rc" 0
diag "deploy: $DEPLOY_S s; $(grep -E 'typed in|agent is in|deployed in' "$T/deploy1.err" |
	sed 's/^lifeline: attach: //' | tr '\n' ' ')"
[ "$rc" = 0 ] || tail -n 15 "$T/deploy1.err" | sed 's/^/#   /'
if grep -q '^agent *[0-9]' "$T/deploy1.out" &&
    grep -q 'typing the first stage' "$T/deploy1.err"; then
	ok "info answers from the agent the deploy brought (the first stage was typed)"
else
	not_ok "info answers from a deployed agent"
fi
fp=$(sed -n 's/.*host key \(SHA256:[^ ]*\) is filed.*/\1/p' "$T/deploy1.err")
# filed by console: the baud is no part of the label (lifeline(1), KNOWN HOSTS)
label=${VIA%%,*}
is "the agent's host key is filed for $label in the known hosts" \
	"$(cat "$T/known_hosts" 2>/dev/null)" "$label $fp"

# A later session: SSH with the filed key, no pin given, no question (stdin
# is not a terminal: an unknown key would be refused).
vll --json info </dev/null >"$T/info.json" 2>"$T/info.err"
is "a new session on the same line talks to the agent over SSH (info: insecure=false)" \
	"$(python3 -c 'import json,sys; print(str(json.load(sys.stdin).get("insecure")).lower())' <"$T/info.json" 2>/dev/null)" \
	false

# The deploy wrote nothing to the disk: its sha256 read in the guest,
# through the guest's page cache (anything written there but not yet on
# the image would show), and the image's here, against the image's before
# QEMU started.  Nothing mounted it yet.
vll exec -- sha256sum /dev/vda </dev/null >"$T/vda.sha" 2>"$T/vda.err"
is "the disk as the guest reads it is unchanged by the deploy (sha256 /dev/vda)" \
	"$(cut -d' ' -f1 "$T/vda.sha")" "$disk_before"
is "... and so is the image on this host" \
	"$(sha256sum "$image" | cut -d' ' -f1)" "$disk_before"
# The agent runs through the loader it brought, from a directory on a tmpfs
# (or the initramfs root).
vll exec -- sh -c 'd=$(dirname "$(readlink /proc/$PPID/exe)"); echo "$d"; stat -f -c %T "$d"' \
	</dev/null >"$T/where.out" 2>&1
where=$(head -n 1 "$T/where.out")
case $where/$(sed -n 2p "$T/where.out") in
/run/lifeline.*/tmpfs|/dev/shm/lifeline.*/tmpfs|/tmp/lifeline.*/tmpfs|/lifeline.*/ramfs|/lifeline.*/tmpfs)
	ok "the agent runs from a RAM directory ($where, $(sed -n 2p "$T/where.out"))" ;;
*)	not_ok "the agent runs from a RAM directory: $(head -n 3 "$T/where.out" | tr '\n' ' ')" ;;
esac

# the rescue, through the deployed agent
vll --json inspect </dev/null >"$T/inspect.json" 2>"$T/inspect.err"
roots=$(python3 -c '
import json, sys
print(" ".join(r.get("device", "?") for r in json.load(sys.stdin)["roots"]))' <"$T/inspect.json" 2>&1)
is "inspect finds one root, on /dev/vda3" "$roots" /dev/vda3
check "mount auto" vll mount
check "passwd --hash (made on this host) for root" vll passwd --hash "$NEW_HASH" root
check "get /root/demo" vll get /root/demo "$T/recovered"
rec=$T/recovered
[ -d "$rec/demo" ] && [ ! -e "$rec/notes.txt" ] && rec=$rec/demo
check "the recovered directory matches the original byte for byte (sha256, modes, symlinks)" \
	same_tree "$tree/root/demo" "$rec"
"$LIFELINE" -i "$T/stranger" --known-hosts "$T/known_hosts" --via "$VIA" info \
	</dev/null >"$T/stranger.out" 2>&1
is "another key is refused by the deployed agent (exit 3)" "$?" 3
check "umount" vll umount
vm_reboot
RESCUE_S=$(secs_since "$t_rescue")

# the image, read-only, on this host (no e2fsck: the damage the broken
# server has is still there, no fsck ran)
disk_after=$(sha256sum "$image" | cut -d' ' -f1)
if [ "$disk_after" != "$disk_before" ]; then
	ok "the rescue did change the image (so the comparisons above could fail)"
else
	not_ok "the rescue changed the image"
fi
PART=$(attach "$image" -r -o "$root_offset" --sizelimit "$root_size")
mount_at "$PART" "$T/check" ro
root_hash=$(awk -F: '$1 == "root" { print $2 }' "$T/check/etc/shadow")
check "the new root password verifies against the image's etc/shadow" \
	sh -c '[ "$1" != "$2" ] && [ "$1" = "$3" ]' - "$root_hash" "$orig_root_hash" "$NEW_HASH"
check "... and through libxcrypt" pw_verifies "$root_hash"
check "the recovered files match the image's own copy" same_tree "$T/check/root/demo" "$rec"
left=$(find "$T/check" \( -name 'lifeline*' -o -name '.lifeline*' -o -name 'ld-linux*' \) 2>/dev/null |
	sed "s|^$T/check||" | tr '\n' ' ')
is "no file of the deploy is on the disk (lifeline*, ld-linux*)" "$left" ""

# --- 2. a getty and a root password on ttyS1 ---------------------------------
# /etc/shadow with a known SHA-512 crypt hash (busybox login's crypt knows
# it), as a second cpio archive after the initrd.
(umask 077; python3 -c 'import secrets; print(secrets.token_urlsafe(12))' >"$T/rootpw")
(umask 077; echo "not-$(cat "$T/rootpw")" >"$T/wrongpw")
pwhash=$(openssl passwd -6 -stdin <"$T/rootpw") ||
	{ echo "Bail out! openssl passwd failed"; exit 1; }
o=$T/overlay-getty
mkdir -p "$o/etc"
printf 'root:%s:20000:0:99999:7:::\n' "$pwhash" >"$o/etc/shadow"
chmod 600 "$o/etc/shadow"
(cd "$o" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1) >"$T/overlay-getty.gz" ||
	{ echo "Bail out! cpio of the overlay failed"; exit 1; }
cat "$GUEST/initrd.gz" "$T/overlay-getty.gz" >"$T/initrd-getty.gz"
VM_INITRD=$T/initrd-getty.gz
vm_start getty lifeline.mode=getty
vm_wait_console '^lifeline-vm: starting getty on ttyS1'
diag "boot ($ACCEL): $BOOT_S s from QEMU's start to the getty on ttyS1"
rm -f "$T/known_hosts"	# a new line (its pty may have the old one's name)

deploy 2 --user root --password-file "$T/wrongpw"
is "a wrong root password is refused (exit 3)" "$rc" 3
if grep -q 'typing the first stage' "$T/deploy2.err"; then
	not_ok "nothing was typed after the refused login"
else
	ok "nothing was typed after the refused login"
fi
t0=$(now)
deploy 3 --user root --password-file "$T/rootpw"
LOGIN_DEPLOY_S=$(secs_since "$t0")
is "attach --user root --password-file --deploy at the getty runs info (exit 0)" "$rc" 0
[ "$rc" = 0 ] || tail -n 15 "$T/deploy3.err" | sed 's/^/#   /'
diag "login and deploy: $LOGIN_DEPLOY_S s; $(grep -E 'typed in|agent is in|deployed in' "$T/deploy3.err" |
	sed 's/^lifeline: attach: //' | tr '\n' ' ')"
if grep -qF "$(cat "$T/rootpw")" "$T/deploy2.err" "$T/deploy3.err" "$T/deploy3.out"; then
	not_ok "the password appears in no output of the client"
else
	ok "the password appears in no output of the client"
fi
vll exec -- id -u </dev/null >"$T/id.out" 2>&1
is "the deployed agent runs as root, over SSH with the filed key" "$(tail -n 1 "$T/id.out")" 0
vm_reboot

diag "times: deploy at the shell $DEPLOY_S s, rescue (deploy .. reboot) $RESCUE_S s, login and deploy $LOGIN_DEPLOY_S s, whole test $(secs_since "$t_all") s"
