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
