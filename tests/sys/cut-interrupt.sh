#!/bin/sh
# What the client says and keeps when a command is interrupted or its link
# is lost (issue 10, items 7, 10 and 13), over the link emulator at 115200
# baud with real processes:
#
# - Ctrl-C (SIGINT) during a get exits 130 and keeps every byte that
#   crossed the line in the part file, also the start of a 64 KiB record
#   still arriving; the same command then resumes after that prefix (over a
#   unix socket, where it takes no time) and ends byte-exact;
# - a line gone silent mid-transfer says the link was lost after N s and
#   that the command may still be running (not "is lifelined running?");
# - a cut line names the path once;
# - a state-changing request whose answer the cut swallowed says the change
#   may have been applied and which command shows it (passwd and put; the
#   cut comes after the agent logged the operation's end, while a 1 s line
#   latency still holds its answer);
# - on a console, a killed client's command runs on, also after the next
#   client session started: it is a job of the agent (issue 11).
#
# No root needed: get and put use --rescue-host paths below $T, passwd a
# plain directory as the target root.
. "$(dirname "$0")/lib.sh"
need socat sha256sum cmp
plan 23

# wait_log PATTERN [TENTHS]: until the agent's log matches (default 30 s)
wait_log() {
	for _ in $(seq "${2:-300}"); do
		grep -q "$1" "$T/agent.log" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
# restart_emu [linkemu options]: a fresh emulator on the same paths (the
# agent reopens its side every second)
restart_emu() {
	kill -CONT "$EMU_PID" 2>/dev/null
	kill "$EMU_PID" 2>/dev/null
	wait "$EMU_PID" 2>/dev/null
	start_emu a b --baud 115200 "$@"
	sleep 1.5
}
json() { python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"])"; }

head -c 1048576 /dev/urandom >"$T/src.bin"
mkdir -p "$T/out" "$T/root/etc"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$T/root/etc/passwd"
printf 'root:$6$old$old:19000:0:99999:7:::\n' >"$T/root/etc/shadow"
chmod 600 "$T/root/etc/shadow"

start_emu a b --baud 115200
start_agent --serial "$T/a,115200" --target-root "$T/root"
"$LIFELINED" --insecure --listen "unix:$T/fast.sock" \
	--debug-file "$T/agent-fast.log" 2>>"$T/agent.stderr" &
PIDS="$PIDS $!"
VIA="serial:$T/b,115200"

# --- item 7: Ctrl-C during get keeps what arrived -----------------------
# 2 s after the agent started reading, about 20 KB have crossed: less than
# one 64 KiB record, all of which used to be thrown away.
"$LIFELINE" --insecure --via "$VIA" get --rescue-host "$T/src.bin" \
	"$T/out/got.bin" 2>"$T/get.err" &
cpid=$!
PIDS="$PIDS $cpid"
wait_log "get .*src.bin" && sleep 2
kill -INT "$cpid"
wait "$cpid"
is "get interrupted by SIGINT exits 130" "$?" 130
part=$(stat -c %s "$T/out/.got.bin.lifeline-part" 2>/dev/null || echo 0)
[ "$part" -gt 0 ] && ok "the part file keeps what arrived ($part bytes)" ||
	{ not_ok "the part file keeps what arrived ($part bytes)"; diag "$(cat "$T/get.err")"; }
cmp -s -n "$part" "$T/out/.got.bin.lifeline-part" "$T/src.bin" &&
	ok "and it is the source's prefix" || not_ok "and it is the source's prefix"
grep -q "get: interrupted: the first $part bytes of $T/src.bin are kept in $T/out/.got.bin.lifeline-part; the same command resumes" "$T/get.err" &&
	ok "the message says how much is kept and where" ||
	not_ok "the message says how much is kept and where: $(cat "$T/get.err")"
[ ! -e "$T/out/got.bin" ] && ok "nothing unverified took the destination's name" ||
	not_ok "nothing unverified took the destination's name"
"$LIFELINE" --insecure --via "unix:$T/fast.sock" --json get --rescue-host \
	"$T/src.bin" "$T/out/got.bin" >"$T/get.json" 2>"$T/get2.err"
is "the same get again exits 0" "$?" 0
is "and ends byte-exact" "$(sha "$T/out/got.bin")" "$(sha "$T/src.bin")"
bytes=$(json bytes <"$T/get.json" 2>/dev/null)
is "and sent only what the part file lacked" "$bytes" $((1048576 - part))

# --- item 13: a line gone silent mid-transfer ---------------------------
"$LIFELINE" --insecure --via "$VIA" exec -- cat "$T/src.bin" \
	>"$T/exec.out" 2>"$T/exec.err" &
cpid=$!
PIDS="$PIDS $cpid"
wait_log "exec cat" && sleep 2
kill -STOP "$EMU_PID"
t0=$(date +%s)
wait "$cpid"
rc=$?
secs=$(( $(date +%s) - t0 ))
is "exec whose line went silent exits 255" "$rc" 255
grep -q "$VIA: the link to the agent was lost: nothing came from it for 1[4-6] s" "$T/exec.err" &&
	ok "the message says the link was lost and for how long (${secs} s)" ||
	not_ok "the link was lost after N s: $(cat "$T/exec.err")"
grep -q "the command may still be running on the agent's host" "$T/exec.err" &&
	ok "and that the command may still be running" || not_ok "may still be running"
grep -q "is lifelined running" "$T/exec.err" &&
	not_ok "no advice to check for an agent that answered a moment ago" ||
	ok "no advice to check for an agent that answered a moment ago"

# --- item 13: a cut line names the path once ----------------------------
restart_emu
"$LIFELINE" --insecure --via "$VIA" exec -- cat "$T/src.bin" \
	>"$T/exec.out" 2>"$T/exec.err" &
cpid=$!
PIDS="$PIDS $cpid"
wait_log "exec cat (pid" && sleep 2
kill "$EMU_PID"
wait "$cpid"
is "exec whose line was cut exits 255" "$?" 255
# A PTY whose master is gone reads as end of file once the kernel has hung
# it up, and as EIO (transport.c: "hangup") when the read comes first.
grep -qE "the link to the agent was lost: read $VIA: (end of file|Input/output error \(hangup\))" "$T/exec.err" &&
	ok "the cut is reported as a lost link" || not_ok "cut reported: $(cat "$T/exec.err")"
n=$(grep -o "$T/b" "$T/exec.err" | wc -l)
is "the path is named once" "$n" 1

# --- item 10: the answer of a change lost in a cut ----------------------
# A 1 s latency holds the answer on the line for a second after the agent
# logged the operation's end; the cut comes then.
restart_emu --latency-ms 1000
: >"$T/agent.log"
"$LIFELINE" --insecure --via "$VIA" --timeout 30 passwd \
	--hash '$6$new$new' root >"$T/pw.out" 2>"$T/pw.err" &
cpid=$!
PIDS="$PIDS $cpid"
wait_log 'op end: .*op="\{0,1\}passwd"\{0,1\} ' && kill "$EMU_PID"
wait "$cpid"
is "passwd whose answer was lost exits 5" "$?" 5
grep -q 'root:\$6\$new\$new:' "$T/root/etc/shadow" &&
	ok "(the agent did apply it)" || not_ok "(the agent did apply it)"
grep -q "passwd was sent and no answer came: the change to root's password may have been applied: \`lifeline exec --chroot -- passwd -S root\` shows" "$T/pw.err" &&
	ok "passwd says the change may have been applied and how to check" ||
	not_ok "passwd lost answer: $(cat "$T/pw.err")"

restart_emu --latency-ms 1000
: >"$T/agent.log"
head -c 1000 /dev/urandom >"$T/small.bin"
"$LIFELINE" --insecure --via "$VIA" --timeout 30 put --rescue-host \
	"$T/small.bin" "$T/out/put.bin" >"$T/put.out" 2>"$T/put.err" &
cpid=$!
PIDS="$PIDS $cpid"
wait_log 'op end: .*op="\{0,1\}put"\{0,1\} ' && kill "$EMU_PID"
wait "$cpid"
is "put whose answer was lost exits 5" "$?" 5
grep -q "put was sent and no answer came: $T/out/put.bin may have been replaced: \`lifeline exec -- sha256sum $T/out/put.bin\` shows what is there now" "$T/put.err" &&
	ok "put says the file may have been replaced and how to check" ||
	not_ok "put lost answer: $(cat "$T/put.err")"
# --- issue 11: a vanished client's command runs on as a job, also when
# the next client session starts.  -n: the client's stdin (/dev/null, not a
# terminal) would otherwise be the command's input, and a client killed
# before its EOF crossed cuts that input, which ends the command (by design,
# op-exec.c); this case is about a command that takes no input.
restart_emu
"$LIFELINE" --insecure --via "$VIA" exec -n -- sh -c \
	"touch $T/started; sleep 2; touch $T/ran-on; sleep 60" 2>/dev/null &
cpid=$!
PIDS="$PIDS $cpid"
for _ in $(seq 200); do [ -e "$T/started" ] && break; sleep 0.1; done
kill -9 "$cpid"
sleep 3
[ -e "$T/ran-on" ] && ok "a killed client's command runs on (console)" ||
	not_ok "a killed client's command runs on (console)"
ll info >/dev/null 2>&1
sleep 0.5
pgrep -f "touch $T/ran-on; sleep 60" >/dev/null &&
	ok "the next client session leaves it running (a job)" ||
	not_ok "the next client session leaves it running (a job)"
kill -0 "$AGENT_PID" 2>/dev/null && ok "the agent is still up" || not_ok "the agent is still up"
