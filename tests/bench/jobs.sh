#!/bin/sh
# Jobs figures (issue 11): the agent's memory with 10 jobs each writing
# 100 MiB while no client reads.  Prints the agent's peak RSS (VmHWM), its
# RSS at the end, and the RAM its job buffers hold (the memfds: shared
# memory, not the agent's heap), to set beside lifelined(8)'s caps.
. "$(dirname "$0")/../sys/lib.sh"
start_agent --listen "unix:$T/s"
VIA="unix:$T/s"
for _ in $(seq 50); do [ -S "$T/s" ] && break; sleep 0.1; done
rss0=$(rss_kb "$AGENT_PID")
ids=""
for i in $(seq 10); do
	ids="$ids $(ll exec --detach -- head -c 104857600 /dev/zero 2>/dev/null)"
done
t0=$(date +%s.%N)
for id in $ids; do ll wait "$id" 2>/dev/null; done
t1=$(date +%s.%N)
memfd_kb=$(awk '/^Shmem:/ { print $2 }' /proc/meminfo)
echo "jobs: 10 x 100 MiB written with no reader in $(echo "$t1 - $t0" | bc) s"
echo "jobs: agent RSS before ${rss0} KiB, after $(rss_kb "$AGENT_PID") KiB, peak $(awk '/^VmHWM:/ { print $2 }' "/proc/$AGENT_PID/status") KiB"
ll --json jobs 2>/dev/null | python3 -c '
import json, sys
j = json.load(sys.stdin)["jobs"]
print("jobs: %d jobs, buffered %d KiB in all (cap 4096 KiB a channel), %d bytes written each"
      % (len(j), sum(x["buffered_bytes"] for x in j) // 1024, j[0]["stdout_bytes"]))'
echo "jobs: system Shmem (tmpfs + memfds, all users) ${memfd_kb} KiB"

# The time from the line coming back to output flowing again, at 115200
# baud: a job printing a line every 50 ms, the emulator killed (the client
# notices at once: its device is gone) and started again 2.5 s later, 3
# times.  The figure includes the client's back-off (it tries 0.5, 1.5, 3.5,
# 7.5 s after the loss), then opening the line, the link handshake, HELLO
# and the job-output request.
stop_agent
start_emu a b --baud 115200
start_agent --serial "$T/a,115200"
"$LIFELINE" --insecure --via "serial:$T/b,115200" --reconnect 60 exec -- sh -c \
	'i=0; while :; do echo $i; i=$((i + 1)); sleep 0.05; done' \
	>"$T/flow.out" 2>/dev/null &
cpid=$!
size() { wc -c <"$T/flow.out"; }
for _ in $(seq 200); do [ "$(size)" -gt 100 ] && break; sleep 0.1; done
for round in 1 2 3; do
	kill "$EMU_PID"; wait "$EMU_PID" 2>/dev/null
	sleep 2.5
	start_emu a b --baud 115200
	t0=$(date +%s.%N); n=$(size)
	while [ "$(size)" -le "$n" ]; do sleep 0.01; done
	t1=$(date +%s.%N)
	echo "jobs: round $round: output flowing again $(echo "$t1 - $t0" | bc) s after the line came back (115200 baud)"
	sleep 1
done
kill "$cpid"
