# Helpers for the VM tests (make check-vm): a QEMU guest whose second
# 16550 UART (ttyS1) carries lifelined, driven from this host by the client.
#
# On top of tests/sys/lib.sh (TAP, scratch directory $T, cleanup of
# processes, mounts and loop devices at exit):
#   vm_need             skip unless root, QEMU, SeaBIOS and loop devices
#   vm_build [--bare]   build (or reuse) the guest: tests/vm/build-guest.sh;
#                       --bare: the busybox-only guest (no agent) in
#                       $GUEST-bare, without the SSH overlay
#   vm_start NAME APPEND [QEMU ARGS...]
#                       boot it; ttyS0 (kernel console) is logged to
#                       $T/NAME.console, ttyS1 is a QEMU pty chardev: the
#                       client reaches it as VIA=serial:/dev/pts/N,$VM_BAUD,
#                       a termios tty on this side like a USB serial
#                       adapter's, the guest's 8250 driver on the other
#   vm_wait_agent       wait until the agent serves; sets BOOT_S
#   vm_wait_console ERE [SECS]
#                       wait for a line of the init's on the console
#                       (the guests without an agent); sets BOOT_S
#   vm_wait_exit SECS   wait for QEMU to end by itself (reboot, poweroff)
#   vm_reboot           reboot --yes through the agent; QEMU must end
#   vll ARGS...         the client with $VM_CLIENT_FLAGS on $VIA
#
# The agent's and the client's security flags are one variable each,
# VM_AGENT_FLAGS and VM_CLIENT_FLAGS (the guest gets the agent's on the
# kernel command line, commas for spaces).  VM_AUTH picks them:
#   ssh (default)       SSH inside the link: an operator key made here goes
#                       into the guest's /root/.ssh/authorized_keys (a second
#                       cpio archive after the initrd), the agent makes its
#                       host key at boot and prints its fingerprint on the
#                       console, which the client then pins
#                       (--host-key-fingerprint), as an operator would.
#   insecure            --insecure on both sides
# shellcheck shell=sh

. "$top_srcdir/tests/sys/lib.sh"

VM_AUTH=${VM_AUTH:-ssh}
case $VM_AUTH in
insecure)
	VM_AGENT_FLAGS=${VM_AGENT_FLAGS-"--insecure"}
	VM_CLIENT_FLAGS=${VM_CLIENT_FLAGS-"--insecure"} ;;
ssh)
	VM_AGENT_FLAGS=${VM_AGENT_FLAGS-}
	VM_CLIENT_FLAGS=${VM_CLIENT_FLAGS-"-i $T/operator_key --known-hosts $T/known_hosts"}
	SSH_AUTH_SOCK=
	export SSH_AUTH_SOCK ;;
*)	echo "Bail out! VM_AUTH is insecure or ssh, not $VM_AUTH"; exit 1 ;;
esac
VM_PIN=		# --host-key-fingerprint ..., read off the console (ssh)
VM_BAUD=${VM_BAUD:-115200}
VM_MEM=${VM_MEM:-512}
GUEST=${VM_GUEST_DIR:-$top_builddir/tests/vm/guest}
QEMU=${QEMU:-qemu-system-x86_64}
VM_PID=
chmod 700 "$T"
# At exit: QEMU first, then the logs are kept, then lib.sh's cleanup; a
# closed output pipe or a hangup also ends the test through them.  Should
# this shell be killed outright, QEMU gets SIGTERM from the kernel
# (setpriv --pdeathsig) rather than run on.
trap 'vm_kill; vm_keep_logs; cleanup' EXIT
trap 'exit 1' INT TERM HUP PIPE
PDEATH=
command -v setpriv >/dev/null 2>&1 && PDEATH="setpriv --pdeathsig TERM"

now() { date +%s.%N; }
# secs_since START: elapsed seconds, one decimal
secs_since() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.1f", e - s }'; }

vm_need() {
	[ "$(id -u)" = 0 ] ||
		skip_all "needs root (loop devices to check the guest's disks on this host)"
	command -v "$QEMU" >/dev/null 2>&1 ||
		skip_all "$QEMU is not installed (Debian: qemu-system-x86 seabios; ./bootstrap check-vm installs them)"
	[ -f /usr/share/seabios/bios-256k.bin ] || [ -f /usr/share/qemu/bios-256k.bin ] ||
		skip_all "no SeaBIOS image (Debian package seabios)"
	command -v busybox >/dev/null 2>&1 ||
		skip_all "busybox is not installed (Debian package busybox-static)"
	need losetup e2fsck debugfs mkfs.ext4 sfdisk python3 ssh-keygen apt-get dpkg cpio depmod modprobe
	[ -e /dev/loop-control ] || [ -e /dev/loop0 ] || skip_all "no /dev/loop devices"
	losetup -f >/dev/null 2>&1 || skip_all "no free loop device"
	[ -x "$LIFELINED" ] && [ -x "$LIFELINE" ] ||
		{ echo "Bail out! build first: $LIFELINED, $LIFELINE"; exit 1; }
}

# vm_build [--bare]: the guest's kernel and initrd in $GUEST (cached
# downloads); --bare: the busybox-only guest, in $GUEST-bare
vm_build() {
	t0=$(now)
	variant=
	[ "${1:-}" = --bare ] && { variant=--bare; GUEST=$GUEST-bare; }
	# shellcheck disable=SC2086
	if ! LIFELINED=$LIFELINED sh "$top_srcdir/tests/vm/build-guest.sh" $variant \
	    "$GUEST" >"$T/build-guest.log" 2>&1; then
		echo "Bail out! could not build the guest: $(tail -n 3 "$T/build-guest.log" | tr '\n' ' ')"
		exit 1
	fi
	BUILD_S=$(secs_since "$t0")
	. "$GUEST/guest.env"
	diag "guest: kernel $KVER, built or reused in $BUILD_S s ($(tail -n 1 "$T/build-guest.log"))"
	VM_INITRD=$GUEST/initrd.gz
	[ "$VM_AUTH" = ssh ] && [ -z "$variant" ] && vm_ssh_setup
	vm_accel
}

# vm_ssh_setup: the operator's key here, its public half in the guest's
# /root/.ssh/authorized_keys: a second cpio archive appended to the initrd
# (the kernel unpacks them in turn).
vm_ssh_setup() {
	ssh-keygen -q -t ed25519 -N '' -C operator@vm-test -f "$T/operator_key" ||
		{ echo "Bail out! ssh-keygen failed"; exit 1; }
	o=$T/overlay
	mkdir -p "$o/root/.ssh" "$o/etc/lifeline"
	chmod 700 "$o/root" "$o/root/.ssh" "$o/etc/lifeline"
	install -m 600 "$T/operator_key.pub" "$o/root/.ssh/authorized_keys"
	install -m 600 /dev/null "$o/etc/lifeline/lifelined.conf"
	(cd "$o" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1) >"$T/overlay.gz" ||
		{ echo "Bail out! cpio of the overlay failed"; exit 1; }
	cat "$GUEST/initrd.gz" "$T/overlay.gz" >"$T/initrd.gz"
	VM_INITRD=$T/initrd.gz
}

# vm_accel: VM_ACCEL=kvm|tcg, or auto (the default): KVM when /dev/kvm is
# there and a guest really boots with it (nested KVM here does not), else
# TCG.  The probe's answer is kept in $GUEST/accel.
vm_accel() {
	case ${VM_ACCEL:-auto} in
	kvm|tcg) ACCEL=$VM_ACCEL; return ;;
	esac
	qv=$("$QEMU" --version | head -n 1)
	if [ -f "$GUEST/accel" ] && [ "$(sed -n 2p "$GUEST/accel")" = "$qv" ] &&
	    [ ! "$GUEST/vmlinuz" -nt "$GUEST/accel" ]; then
		ACCEL=$(head -n 1 "$GUEST/accel")
		return
	fi
	ACCEL=tcg
	if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
		# A working KVM prints the kernel's banner within a second.
		# shellcheck disable=SC2086
		$PDEATH "$QEMU" -accel kvm -m 256 -nodefaults -no-user-config -display none \
			-monitor none -no-reboot -kernel "$GUEST/vmlinuz" \
			-append "console=ttyS0 panic=-1" -serial "file:$T/kvm-probe" \
			>"$T/kvm-probe.err" 2>&1 &
		p=$!
		for _ in $(seq 50); do
			grep -q 'Linux version' "$T/kvm-probe" 2>/dev/null && { ACCEL=kvm; break; }
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill "$p" 2>/dev/null; wait "$p" 2>/dev/null
	fi
	printf '%s\n%s\n' "$ACCEL" "$qv" >"$GUEST/accel"
	diag "accelerator: $ACCEL (KVM probed: $([ "$ACCEL" = kvm ] && echo works || echo 'does not boot a guest'))"
}

# vm_start NAME APPEND [QEMU ARGS...]: APPEND goes on the kernel command
# line, with VM_KCONSOLE (default console=ttyS0,115200: the kernel's console
# is ttyS0, whose output QEMU writes to $T/NAME.console).
vm_start() {
	VM_NAME=$1; append=$2; shift 2
	VM_CONSOLE=$T/$VM_NAME.console
	: >"$VM_CONSOLE"
	agent=$(echo "$VM_AGENT_FLAGS" | tr ' ' ',')
	cpu=max
	[ "$ACCEL" = kvm ] && cpu=host
	VM_T0=$(now)
	# shellcheck disable=SC2086
	$PDEATH "$QEMU" -accel "$ACCEL" -cpu "$cpu" -m "$VM_MEM" -smp 1 \
		-nodefaults -no-user-config -display none -monitor none -no-reboot \
		-kernel "$GUEST/vmlinuz" -initrd "$VM_INITRD" \
		-append "$append ${VM_KCONSOLE:-console=ttyS0,115200} panic=-1 lifeline.baud=$VM_BAUD lifeline.agent=$agent" \
		-serial "file:$VM_CONSOLE" -chardev pty,id=ttyS1 -serial chardev:ttyS1 \
		"$@" >"$T/$VM_NAME.qemu" 2>&1 &
	VM_PID=$!
	PIDS="$PIDS $VM_PID"
	VM_PTY=
	for _ in $(seq 100); do
		VM_PTY=$(sed -n 's|.*redirected to \(/dev/pts/[0-9]*\) (label ttyS1).*|\1|p' "$T/$VM_NAME.qemu")
		[ -n "$VM_PTY" ] && break
		kill -0 "$VM_PID" 2>/dev/null || break
		sleep 0.05
	done
	if [ -z "$VM_PTY" ]; then
		echo "Bail out! QEMU did not start: $(tr '\n' ' ' <"$T/$VM_NAME.qemu")"
		exit 1
	fi
	# Until its slave side has been opened once, QEMU's pty chardev takes
	# the guest's bytes into the pty buffer, and when that is full the
	# guest's UART stalls (with console=ttyS1 the whole kernel does).  Open
	# and close it once: from then on QEMU sees the hangup and drops what
	# the guest sends while no client is attached, as a real UART would.
	python3 -c 'import os, sys; os.close(os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY))' "$VM_PTY"
	VIA="serial:$VM_PTY,$VM_BAUD"
}

# vm_wait_console ERE [SECS]: until a console line matches ERE (the init
# says what it starts: "lifeline-vm: starting shell on ttyS1").  BOOT_S:
# seconds from QEMU's start to then.
vm_wait_console() {
	for _ in $(seq $((${2:-120} * 10))); do
		grep -Eq "$1" "$VM_CONSOLE" && break
		if ! kill -0 "$VM_PID" 2>/dev/null; then
			echo "Bail out! the guest stopped before '$1'"
			tail -n 20 "$VM_CONSOLE" | sed 's/^/# /'
			exit 1
		fi
		sleep 0.1
	done
	BOOT_S=$(secs_since "$VM_T0")
	grep -Eq "$1" "$VM_CONSOLE" || {
		echo "Bail out! no '$1' on the console after ${2:-120} s"
		tail -n 20 "$VM_CONSOLE" | sed 's/^/# /'
		exit 1
	}
}

# vm_wait_agent [SECS]: until the agent serves on ttyS1 (its stderr goes to
# the console).  BOOT_S: seconds from QEMU's start to the agent serving.
# With SSH, VM_PIN pins the host key the agent printed there.
vm_wait_agent() {
	vm_wait_console '^lifelined: serving on' "${1:-120}"
	if [ "$VM_AUTH" = ssh ]; then
		# the key the agent made at boot, as its console shows it
		fp=$(sed -n 's/.*SSH host key \(SHA256:[^ ]*\).*/\1/p' "$VM_CONSOLE" | tail -n 1)
		[ -n "$fp" ] || { echo "Bail out! no SSH host key fingerprint on the console"; exit 1; }
		VM_PIN="--host-key-fingerprint $fp"
		rm -f "$T/known_hosts"
	fi
}

# vm_reboot: `reboot --yes` through the agent, and QEMU (-no-reboot) must
# then end by itself within 60 s; two TAP lines
vm_reboot() {
	check "reboot --yes" vll reboot --yes
	if vm_wait_exit 60; then
		ok "the guest rebooted (QEMU exited)"
	else
		not_ok "the guest rebooted (QEMU exited)"
		tail -n 5 "$VM_CONSOLE" | sed 's/^/#   /'
		vm_kill
	fi
}

# vm_wait_exit SECS: true when QEMU ended by itself within SECS
vm_wait_exit() {
	for _ in $(seq $(($1 * 10))); do
		kill -0 "$VM_PID" 2>/dev/null || { wait "$VM_PID" 2>/dev/null; return 0; }
		sleep 0.1
	done
	return 1
}

# vm_keep_logs: the guests' console logs and QEMU's messages, kept next to
# the test's own log as tests/vm/TEST.console (the scratch directory goes).
vm_keep_logs() {
	d=$top_builddir/tests/vm
	b=$(basename "$0" .sh)
	ls "$T"/*.console >/dev/null 2>&1 || return 0
	mkdir -p "$d"
	for f in "$T"/*.console; do
		[ -f "$f" ] || continue
		echo "==== $(basename "$f")"
		cat "$f"
		q=${f%.console}.qemu
		[ -s "$q" ] && { echo "==== QEMU"; cat "$q"; }
	done >"$d/$b.console" 2>/dev/null
}

vm_kill() {
	[ -n "$VM_PID" ] || return 0
	kill "$VM_PID" 2>/dev/null
	wait "$VM_PID" 2>/dev/null
	VM_PID=
}

# vll ARGS...: the client on the guest's line
# shellcheck disable=SC2086
vll() { "$LIFELINE" $VM_CLIENT_FLAGS $VM_PIN --via "$VIA" "$@"; }

# vm_agent_is_libserialport: the agent's log shows it serving ttyS1 and no
# note that libserialport refused the port (the termios fallback).
vm_agent_is_libserialport() {
	grep -q '^lifelined: serving on /dev/ttyS1' "$VM_CONSOLE" &&
		! grep -q 'libserialport refused' "$VM_CONSOLE"
}

# crypt_py hash PWFILE | verify PWFILE HASH: yescrypt through libxcrypt
# new_password: a random password in $T/newpw, its hash in NEW_HASH
new_password() {
	(umask 077; python3 -c 'import secrets; print(secrets.token_urlsafe(15))' >"$T/newpw")
	NEW_HASH=$(python3 "$top_srcdir/tests/pwcrypt.py" "$T/newpw" hash) ||
		{ echo "Bail out! hashing failed"; exit 1; }
}
pw_verifies() { python3 "$top_srcdir/tests/pwcrypt.py" "$T/newpw" verify "$1"; }

# same_tree A B: same entries, file contents (sha256), modes and symlinks
same_tree() { python3 "$top_srcdir/tests/same-tree.py" "$1" "$2"; }
