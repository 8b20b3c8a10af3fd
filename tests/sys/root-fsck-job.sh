#!/bin/sh
# fsck -y as a job through a dropped console, cut while the checker runs
# (issue 11): a real ext4 image with 3000 wrong link counts on a loop
# device, checked over the link emulator at 115200 baud.  The device is
# slow (a blkio cgroup throttles reads of that loop device to 64 KiB/s for
# the agent and the e2fsck it starts, a disk failing slowly; what the
# agent's own libblkid probe reads is read once before, so only the
# checker waits), so e2fsck takes half a minute.  While it runs the line
# is cut twice (the emulator killed: hang-up) and then frozen (SIGSTOP:
# silence, the client gives up on the link after 15 s); before each cut
# the test checks that e2fsck is still running.  The client, with --reconnect, comes back by
# itself each time and follows the job from the next byte.  At the end:
# the client exits with e2fsck's status (1: errors corrected), its output
# is exactly the job's whole output (each byte once), every repair was
# made, and `e2fsck -fn` on the image afterwards is clean.
#
# Then the manual path (--reconnect 0): a cut during the output, the
# client names the job and `output --follow --from OUT,ERR ID`, and that
# command brings exactly the rest.
. "$(dirname "$0")/lib.sh"
need_root
need socat python3 debugfs pgrep
plan 13


# damaged IMG: an ext4 image $T/IMG.img with 3000 wrong link counts
damaged() {
	rm -rf "$T/tree"
	mkdir -p "$T/tree/d"
	i=0
	while [ $i -lt 3000 ]; do : >"$T/tree/d/f$i"; i=$((i + 1)); done
	make_ext4 "$1" 64 "$T/tree"
	i=0
	while [ $i -lt 3000 ]; do
		echo "set_inode_field /d/f$i links_count 3"
		i=$((i + 1))
	done >"$T/damage.cmds"
	debugfs -w -f "$T/damage.cmds" "$T/$1.img" >/dev/null 2>&1
}
damaged fs
e2fsck -fn "$T/fs.img" >/dev/null 2>&1
is "the damaged image has errors (e2fsck -fn exits 4)" "$?" 4
dev=$(attach "$T/fs.img"); LOOPS="$dev $LOOPS"

start_emu a b --baud 115200
start_agent --serial "$T/a,115200"
VIA="serial:$T/b,115200"
# The agent's own probe of the device (libblkid, as blkid -p does it)
# comes from the page cache, so the agent never waits: held open here, or
# the kernel drops a block device's cache at its last close.
exec 7<"$dev"
blkid -p "$dev" >/dev/null 2>&1
cg_setup "$dev" 65536 && echo "$AGENT_PID" >"$CG/cgroup.procs" ||
	diag "no blkio cgroup to slow the device: the cuts may land after e2fsck's end"

# restart_emu [frozen]: a fresh emulator (the agent reopens its side)
restart_emu() {
	kill -CONT "$EMU_PID" 2>/dev/null
	kill "$EMU_PID" 2>/dev/null
	wait "$EMU_PID" 2>/dev/null
	start_emu a b --baud 115200
}
checking() { pgrep -f "e2fsck.* $dev\$" >/dev/null; }
# until_reconnected N: wait (60 s at most) for the client's Nth reconnect
until_reconnected() {
	for _ in $(seq 600); do
		[ "$(grep -c 'reconnected after' "$T/e1")" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# --- cut while e2fsck runs; the client comes back by itself ---------------
"$LIFELINE" --insecure --via "$VIA" --reconnect 60 -v fsck "$dev" \
	>"$T/p1" 2>"$T/e1" &
cpid=$!
PIDS="$PIDS $cpid"
for _ in $(seq 300); do checking && grep -q '^Pass 1' "$T/p1" && break; sleep 0.1; done
running=0
checking && running=$((running + 1))
kill "$EMU_PID"; wait "$EMU_PID" 2>/dev/null	# hang-up
sleep 0.5
restart_emu
until_reconnected 1
checking && running=$((running + 1))
kill "$EMU_PID"; wait "$EMU_PID" 2>/dev/null	# hang-up
sleep 0.3
restart_emu
until_reconnected 2
checking && running=$((running + 1))
kill -STOP "$EMU_PID"				# silence
# the client gives up on the silent link after 15 s, then tries again
for _ in $(seq 300); do
	[ "$(grep -c 'reconnecting for up to' "$T/e1")" -ge 3 ] && break
	sleep 0.1
done
restart_emu
wait "$cpid"
is "fsck exits with e2fsck's status (1) after 3 cuts" "$?" 1
if [ -n "$CG" ]; then
	is "e2fsck was running at each of the 3 cuts" "$running" 3
else
	ok "# SKIP no blkio cgroup: e2fsck running at $running of the 3 cuts"
fi
r=$(grep -c "reconnected after" "$T/e1")
[ "$r" -ge 3 ] && ok "the client reconnected by itself ($r times)" ||
	not_ok "the client reconnected by itself: $r; $(tail -n 5 "$T/e1")"
id=$(ll --json jobs 2>/dev/null | python3 -c '
import json, sys
print([j for j in json.load(sys.stdin)["jobs"] if j["argv"][0].endswith("e2fsck")][-1]["job"])')
diag "e2fsck ran $(ll --json jobs 2>/dev/null | python3 -c '
import json, sys
print([j for j in json.load(sys.stdin)["jobs"] if j["job"] == int(sys.argv[1])][0]["duration_ms"])' "$id") ms"
ll output "$id" >"$T/whole.out" 2>/dev/null
check "its stdout is the job's whole output, each byte once" cmp "$T/p1" "$T/whole.out"
grep -q "^Pass 5" "$T/p1" && ok "the checker ran to its end (Pass 5)" ||
	not_ok "the checker ran to its end"
[ "$(grep -c 'ref count is 3, should be 1' "$T/p1")" -eq 3000 ] &&
	ok "all 3000 link counts were repaired, each reported once" ||
	not_ok "3000 repairs reported: $(grep -c 'ref count is 3' "$T/p1")"
cg_cleanup
exec 7<&-
e2fsck -fn "$dev" >/dev/null 2>&1
is "e2fsck -fn on the image afterwards is clean" "$?" 0

# --- the manual path: --reconnect 0 ----------------------------------------
damaged fs2
dev2=$(attach "$T/fs2.img"); LOOPS="$dev2 $LOOPS"
: >"$T/all.out"
"$LIFELINE" --insecure --via "$VIA" --reconnect 0 fsck "$dev2" >"$T/q1" 2>"$T/f1" &
cpid=$!
PIDS="$PIDS $cpid"
for _ in $(seq 600); do [ "$(wc -c <"$T/q1")" -gt 20000 ] && break; sleep 0.1; done
kill "$EMU_PID"
wait "$cpid"
is "fsck --reconnect 0 whose line was cut exits 255" "$?" 255
id=$(sed -n 's/.*runs on as job \([0-9]*\) on the agent.*/\1/p' "$T/f1")
f=$(sed -n 's/.*output --follow --from \([0-9]*,[0-9]*\) .*/\1/p' "$T/f1")
[ -n "$id" ] && [ "${f%,*}" = "$(wc -c <"$T/q1")" ] &&
	ok "and names the job ($id) and where to continue ($f)" ||
	not_ok "and names the job: $(cat "$T/f1") (q1: $(wc -c <"$T/q1"))"
restart_emu
sleep 1.5
"$LIFELINE" --insecure --via "$VIA" --reconnect 0 output --follow \
	--from "$f" "$id" >"$T/q2" 2>"$T/f2"
is "output --follow --from exits with e2fsck's status (1)" "$?" 1
cat "$T/q1" "$T/q2" >"$T/all.out"
ll output "$id" >"$T/whole2.out" 2>/dev/null
check "the two pieces are the job's whole output, each byte once" \
	cmp "$T/all.out" "$T/whole2.out"
e2fsck -fn "$dev2" >/dev/null 2>&1
is "e2fsck -fn on that image afterwards is clean" "$?" 0
