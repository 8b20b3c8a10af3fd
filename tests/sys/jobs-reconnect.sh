#!/bin/sh
# The client reconnects by itself and resumes a job's output from the next
# byte (issue 11): `seq 1 200000` (1.3 MB) through exec over the link
# emulator at 921600 baud with bit errors (1e-5) and kernel-message lines
# injected, the line cut (the emulator killed) at 20 random points while
# the client waits.  The emulator comes back after 0.1 to 1 s; the client,
# with --reconnect, follows the job again each time (-v says when).  Its stdout must be
# exactly the sequence: no line twice, none missing; its exit status the
# command's.  Then one cut that lasts longer than --reconnect: the client
# gives up, exits 255 and says which command continues.
. "$(dirname "$0")/lib.sh"
need socat seq cmp python3
plan 6

EMU_OPTS="--baud 921600 --ber 1e-5 --kmsg-interval-ms 700"
start_emu a b $EMU_OPTS
start_agent --serial "$T/a,921600"
VIA="serial:$T/b,921600"
restart_emu() {
	kill "$EMU_PID" 2>/dev/null
	wait "$EMU_PID" 2>/dev/null
	sleep "$1"
	start_emu a b $EMU_OPTS
}
seq 1 200000 >"$T/want"
# the command: the sequence, then exit 7; slowly until the 20 cuts are
# done ($T/stop), then the rest at once
cat >"$T/count.sh" <<E
i=0
while [ \$i -lt 200 ]; do
	seq \$((i * 1000 + 1)) \$((i * 1000 + 1000))
	[ -e "$T/stop" ] || sleep 0.4
	i=\$((i + 1))
done
exit 7
E
"$LIFELINE" --insecure --via "$VIA" --reconnect 30 -v exec -- sh "$T/count.sh" \
	>"$T/got" 2>"$T/err" &
cpid=$!
PIDS="$PIDS $cpid"
cuts=0
for pause in $(python3 -c 'import random; random.seed(11); print(" ".join("%.1f %.1f" % (random.uniform(0.2, 0.8), random.uniform(0.1, 1.0)) for _ in range(20)))'); do
	if [ -z "${run:-}" ]; then run=$pause; continue; fi
	sleep "$run"
	kill -0 "$cpid" 2>/dev/null || break
	restart_emu "$pause"
	cuts=$((cuts + 1))
	run=""
	# wait for the client to come back before the next cut
	n=$(wc -c <"$T/got")
	for _ in $(seq 200); do [ "$(wc -c <"$T/got")" -gt "$n" ] && break; sleep 0.1; done
done
: >"$T/stop"
wait "$cpid"
rc=$?
is "the client exits with the command's status (7)" "$rc" 7
is "the line was cut 20 times while it ran" "$cuts" 20
check "its stdout is exactly seq 1 200000: no line twice, none missing" \
	cmp "$T/got" "$T/want"
n=$(grep -c "reconnected after" "$T/err")
[ "$n" -ge 20 ] && ok "it reconnected by itself ($n times)" ||
	not_ok "it reconnected by itself: $n; $(tail -n 5 "$T/err")"

# a cut longer than --reconnect: give up, say how to continue
"$LIFELINE" --insecure --via "$VIA" --reconnect 2 exec -- sh -c \
	'echo one; sleep 3; echo two' >"$T/got2" 2>"$T/err2" &
cpid=$!
PIDS="$PIDS $cpid"
for _ in $(seq 100); do [ -s "$T/got2" ] && break; sleep 0.1; done
kill "$EMU_PID"; wait "$EMU_PID" 2>/dev/null
wait "$cpid"
is "after --reconnect 2 s without an agent it exits 255" "$?" 255
grep -q "gave up reconnecting" "$T/err2" &&
	grep -q "output --follow --from 4,0 " "$T/err2" &&
	ok "and says how to continue from byte 4" ||
	not_ok "gave up: $(cat "$T/err2")"
