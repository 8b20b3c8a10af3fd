#!/bin/sh
# fsck -y as a job through a dropped console (issue 11): a real ext4 image
# with 3000 wrong link counts on a loop device, checked over the link
# emulator at 115200 baud, so that e2fsck's ~150 KB of repairs take many
# seconds to cross.  The line is cut twice (the emulator killed: hang-up)
# and frozen once (SIGSTOP: silence, the client gives up after 15 s), each
# time in the middle of the output.  Each time the client exits naming the
# job and the command that continues (`output --follow --from OUT,ERR ID`,
# OUT and ERR the bytes received so far), and that command is what runs
# next.  At the end: the pieces put together are exactly the job's whole
# output (each byte once), the last
# client exits with e2fsck's status (1: errors corrected), and `e2fsck -fn`
# on the image afterwards is clean.
. "$(dirname "$0")/lib.sh"
need_root
need socat python3 debugfs
plan 12

mkdir -p "$T/tree/d"
i=0
while [ $i -lt 3000 ]; do : >"$T/tree/d/f$i"; i=$((i + 1)); done
make_ext4 fs 64 "$T/tree"
img="$T/fs.img"
i=0
while [ $i -lt 3000 ]; do
	echo "set_inode_field /d/f$i links_count 3"
	i=$((i + 1))
done >"$T/damage.cmds"
debugfs -w -f "$T/damage.cmds" "$img" >/dev/null 2>&1
e2fsck -fn "$img" >/dev/null 2>&1
is "the damaged image has errors (e2fsck -fn exits 4)" "$?" 4
dev=$(attach "$img"); LOOPS="$dev $LOOPS"

start_emu a b --baud 115200
start_agent --serial "$T/a,115200"
VIA="serial:$T/b,115200"

# restart_emu: a fresh emulator (the agent reopens its side every second)
restart_emu() {
	kill -CONT "$EMU_PID" 2>/dev/null
	kill "$EMU_PID" 2>/dev/null
	wait "$EMU_PID" 2>/dev/null
	start_emu a b --baud 115200
	sleep 1.5
}
# grow FILE BYTES: wait (up to 60 s) until FILE holds more than BYTES
grow() {
	for _ in $(seq 600); do
		[ "$(cat "$1" 2>/dev/null | wc -c)" -gt "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

: >"$T/all.out"
# 1. fsck itself, cut by a hang-up
"$LIFELINE" --insecure --via "$VIA" --reconnect 0 fsck "$dev" >"$T/p1" 2>"$T/e1" &
cpid=$!
PIDS="$PIDS $cpid"
grow "$T/p1" 20000
kill "$EMU_PID"
wait "$cpid"
is "fsck whose line was cut exits 255" "$?" 255
id=$(sed -n 's/.*runs on as job \([0-9]*\) on the agent.*/\1/p' "$T/e1")
# from FILE: the OUT,ERR of the resume command the client printed
from() { sed -n 's/.*output --follow --from \([0-9]*,[0-9]*\) .*/\1/p' "$1"; }
f=$(from "$T/e1")
[ -n "$id" ] && [ "${f%,*}" = "$(wc -c <"$T/p1")" ] &&
	ok "and names the job ($id) and where to continue ($(from "$T/e1"))" ||
	not_ok "and names the job: $(cat "$T/e1") (p1: $(wc -c <"$T/p1"))"
cat "$T/p1" >>"$T/all.out"

# 2. output --follow from there, cut by a hang-up again
restart_emu
"$LIFELINE" --insecure --via "$VIA" --reconnect 0 output --follow \
	--from "$(from "$T/e1")" "$id" >"$T/p2" 2>"$T/e2" &
cpid=$!
PIDS="$PIDS $cpid"
grow "$T/p2" 20000
kill "$EMU_PID"
wait "$cpid"
is "output --follow whose line was cut exits 5" "$?" 5
cat "$T/p2" >>"$T/all.out"

# 3. again, the line frozen (silence) this time
restart_emu
"$LIFELINE" --insecure --via "$VIA" --reconnect 0 output --follow \
	--from "$(from "$T/e2")" "$id" >"$T/p3" 2>"$T/e3" &
cpid=$!
PIDS="$PIDS $cpid"
grow "$T/p3" 20000
kill -STOP "$EMU_PID"
wait "$cpid"
is "output --follow whose line went silent exits 5" "$?" 5
cat "$T/p3" >>"$T/all.out"

# 4. the rest, to the end
restart_emu
"$LIFELINE" --insecure --via "$VIA" --reconnect 0 output --follow \
	--from "$(from "$T/e3")" "$id" >"$T/p4" 2>"$T/e4"
is "the last output --follow exits with e2fsck's status (1)" "$?" 1
cat "$T/p4" >>"$T/all.out"
[ -s "$T/p2" ] && [ -s "$T/p3" ] && [ -s "$T/p4" ] &&
	ok "every piece brought something" || not_ok "every piece brought something"

ll --json jobs >"$T/jobs.json" 2>/dev/null
python3 - "$T/jobs.json" "$id" "$(wc -c <"$T/all.out")" <<'E' && ok "the job ended with status 1, its stdout as long as the pieces" || not_ok "job status: $(cat "$T/jobs.json")"
import json, sys
jobs = {j["job"]: j for j in json.load(open(sys.argv[1]))["jobs"]}
j = jobs[int(sys.argv[2])]
sys.exit(0 if j["state"] == "ended" and j["exit_status"] == 1 and
         j["stdout_bytes"] == int(sys.argv[3])
         and j["stdout_start"] == 0 else 1)
E
ll output "$id" >"$T/whole.out" 2>/dev/null
check "the pieces are the job's whole output, each byte once" \
	cmp "$T/all.out" "$T/whole.out"
grep -q "^Pass 5" "$T/all.out" && ok "the checker ran to its end (Pass 5)" ||
	not_ok "the checker ran to its end"
[ "$(grep -c 'ref count is 3, should be 1' "$T/all.out")" -eq 3000 ] &&
	ok "all 3000 link counts were repaired, each reported once" ||
	not_ok "3000 repairs reported: $(grep -c 'ref count is 3' "$T/all.out")"
e2fsck -fn "$dev" >/dev/null 2>&1
is "e2fsck -fn on the image afterwards is clean" "$?" 0
