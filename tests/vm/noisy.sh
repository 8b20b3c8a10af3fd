#!/bin/sh
# VM variant C, the noisy console: the guest's kernel writes its console to
# ttyS1 (console=ttyS1; the 8250 driver serves the kernel console on one
# port only, so ttyS0 then carries only what /init and the agent say), the
# very UART lifelined serves, and a loop in
# the guest floods it with kernel messages through /dev/kmsg
# (lifeline.flood=USEC, printk_devkmsg=on so none is rate-limited).  The
# 8250 console driver writes those bytes between, and into, the agent's
# frames.  A put from this host and a get of a file made in the guest, a few
# MiB each way, must arrive byte-exact (sha256 computed on each side).
#
# QEMU does not pace its UART at the configured rate and the guest's 8250
# cannot go above 115200 anyway, so the baud given here (VM_BAUD, default
# 4000000) only sets lifeline's own pacing: at 115200 these transfers would
# take minutes.  Times here are not line-rate figures.
VM_BAUD=${VM_BAUD:-4000000}
. "$top_srcdir/tests/vm/lib.sh"

PUT_KIB=${VM_PUT_KIB:-1024}
GET_KIB=${VM_GET_KIB:-4096}
FLOOD_US=${VM_FLOOD_US:-5000}

vm_need
t_all=$(now)
plan 7
vm_build

VM_KCONSOLE=console=ttyS1,115200
vm_start noisy "printk_devkmsg=on loglevel=7 lifeline.flood=$FLOOD_US"
vm_wait_agent
diag "boot ($ACCEL): $BOOT_S s from QEMU's start to the agent serving on ttyS1"
grep -q 'kmsg flood every' "$VM_CONSOLE" &&
	ok "the guest floods its kernel console, ttyS1, through /dev/kmsg every $FLOOD_US us" ||
	not_ok "the guest floods its console"

# host to guest
head -c $((PUT_KIB * 1024)) /dev/urandom >"$T/up"
t0=$(now)
vll -v put --rescue-host "$T/up" /tmp/up >"$T/put.out" 2>"$T/put.err"
rc=$?
PUT_S=$(secs_since "$t0")
is "put of $PUT_KIB KiB over the flooded line exits 0" "$rc" 0
[ "$rc" = 0 ] || tail -n 5 "$T/put.err" | sed 's/^/#   /'
vll exec -- sha256sum /tmp/up >"$T/up.sum" 2>/dev/null
is "the guest's copy is byte-exact (sha256 computed in the guest)" \
	"$(cut -d' ' -f1 "$T/up.sum")" "$(sha "$T/up")"

# guest to host
vll exec -- sh -c "head -c $((GET_KIB * 1024)) /dev/urandom >/tmp/down && sha256sum /tmp/down" \
	>"$T/down.sum" 2>/dev/null
t0=$(now)
vll -v get --rescue-host /tmp/down "$T/down" >"$T/get.out" 2>"$T/get.err"
rc=$?
GET_S=$(secs_since "$t0")
is "get of $GET_KIB KiB over the flooded line exits 0" "$rc" 0
[ "$rc" = 0 ] || tail -n 5 "$T/get.err" | sed 's/^/#   /'
is "this host's copy is byte-exact (sha256 computed in the guest)" \
	"$(sha "$T/down" 2>&1)" "$(cut -d' ' -f1 "$T/down.sum")"

# The noise really was on the line: the client shows it as console text.
n=$(cat "$T/put.err" "$T/get.err" | grep -c 'lifeline-noise')
if [ "$n" -gt 0 ]; then
	ok "kernel messages from the flood reached the client's side of the line ($n lines shown with -v)"
else
	not_ok "kernel messages from the flood reached the client's side of the line"
fi
kill -0 "$VM_PID" 2>/dev/null && ok "the guest is still up" || not_ok "the guest is still up"
vll exec -- sh -c 'dmesg | grep lifeline-noise | tail -n 1' 2>/dev/null |
	sed -n 's/.*kernel message \([0-9]*\) .*/\1/p' >"$T/nmsg"
vm_kill

diag "put: $PUT_KIB KiB in $PUT_S s; get: $GET_KIB KiB in $GET_S s; $(cat "$T/nmsg" 2>/dev/null) kernel messages flooded since boot"
grep 'session [0-9]*: sent' "$VM_CONSOLE" | sed 's/^lifelined: agent link: /agent: /' | tail -n 3 | sed 's/^/# /'
diag "times: boot $BOOT_S s, whole test $(secs_since "$t_all") s"
