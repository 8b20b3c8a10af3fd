#!/bin/sh
# The agent's keepalive watchdog: an operation that holds the agent's loop
# longer than the link's dead time (15 s) must not cost the session.  A get
# from a disk whose reads a cgroup throttles to 2 KiB/s (read-ahead off):
# the agent's one read of the 48 KiB file takes about 24 s, during which
# its loop sends nothing; the watchdog thread repeats the link's ACK every
# second, so the client keeps the session and gets the file.  Without the
# watchdog the client lost the link after 15 s and had to reconnect and ask
# again (or, with --reconnect 0, failed with exit 5).  Then a
# request after it is served as usual (the loop is back, the watchdog
# quiet).
. "$(dirname "$0")/lib.sh"
need_root
need socat
plan 7

mkdir -p "$T/tree"
head -c 49152 /dev/urandom >"$T/tree/slow.bin"
make_ext4 slow 16 "$T/tree"
dev=$(attach "$T/slow.img")
mount_at "$dev" "$T/mnt" ro
echo 0 >"/sys/block/${dev#/dev/}/queue/read_ahead_kb" 2>/dev/null
start_ptys a b
start_agent --serial "$T/a,115200"
VIA="serial:$T/b,115200"
sleep 0.3
if ! cg_setup "$dev" 2048 || ! echo "$AGENT_PID" >"$CG/cgroup.procs"; then
	skip_all "no blkio or io cgroup to throttle the device with"
fi

t0=$(date +%s)
ll get --rescue-host "$T/mnt/slow.bin" "$T/got.bin" >/dev/null 2>"$T/err"
is "a get whose one read takes about 24 s exits 0" "$?" 0
secs=$(( $(date +%s) - t0 ))
diag "the get took $secs s"
check "and it did take longer than the link's dead time (${secs} s >= 16 s)" [ "$secs" -ge 16 ]
is "the copy is exact" "$(sha "$T/got.bin" 2>/dev/null)" "$(sha "$T/tree/slow.bin")"
# Without the watchdog the client lost the link after 15 s, reconnected
# and asked again (the page cache then answered at once).
is "the session held: one get request, no reconnection" \
	"$(grep -c 'op start: .* op="get"' "$T/agent.log") $(grep -c reconnect "$T/err")" "1 0"
grep -q 'the watchdog kept the link alive with [0-9]* keepalives' "$T/agent.log" &&
	ok "the agent logs that its watchdog kept the link alive" ||
	not_ok "the agent logs the watchdog: $(grep -i watchdog "$T/agent.log")"
cg_cleanup
ll ping -c1 >/dev/null 2>&1
is "the next request is served" "$?" 0
n=$(grep -c 'the watchdog kept' "$T/agent.log")
is "and the watchdog spoke for that one operation only" "$n" 1
