#!/bin/sh
# exec's standard input (issue 11, item 4), with real processes: an agent on
# a unix socket for the sizes (the same link layer and ARQ as on a serial
# line, without a line rate), and one on the link emulator at 921600 baud
# with bit errors and kernel-message lines for the noise.
#
# - stdin reaches the command and its end of file closes the command's
#   stdin (`exec -- cat` ends; a command after `cat` runs);
# - 50 MiB of random bytes through sha256sum on the agent: the digests are
#   equal; while the command does not read (it sleeps first), the agent
#   holds at most its window (256 KiB) and neither side's memory grows
#   with the size (RSS sampled then);
# - 1 MiB through sha256sum over the noisy emulated line: digests equal;
# - on a terminal stdin is not sent (the command reads /dev/null) unless
#   -i asks for it (a real pty from python3's pty module); -n never sends;
# - a client killed mid-stream leaves no process: the agent ends a command
#   whose input was cut (SIGTERM), on the socket at once and on the line
#   when a second client takes it over;
# - a client overrunning the window (tests/llpeer) is refused by name and
#   its command ended; detach with stdin is refused.
. "$(dirname "$0")/lib.sh"
need socat python3 sha256sum cmp pgrep
plan 23

# Under ASan freed memory waits in a quarantine instead of being reused:
# without one, the memory checks below measure the agent (as bad-input.sh)
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0" \
	start_agent --listen "unix:$T/s"
FAST_PID=$AGENT_PID
fast() { "$LIFELINE" --insecure --via "unix:$T/s" "$@"; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
for _ in $(seq 50); do [ -S "$T/s" ] && break; sleep 0.1; done
# job_field TEXT FIELD: FIELD of the newest job whose command has TEXT
# ("status": "STATE STDIN SIGNAL-or-EXIT"); nothing when there is none
job_field() {
	fast --json jobs 2>/dev/null | python3 -c '
import json, sys
js = [j for j in json.load(sys.stdin)["jobs"] if sys.argv[1] in " ".join(j["argv"])]
if js:
    j = js[-1]
    j["status"] = "%s %s %s" % (j["state"], j["stdin"], j.get("signal", j.get("exit_status", "-")))
    print(j[sys.argv[2]])' "$1" "$2"
}

# --- stdin and its end ---------------------------------------------------
out=$(printf 'one\ntwo\n' | fast exec -- cat 2>"$T/err")
is "stdin reaches the command (exec -- cat)" "$out" "$(printf 'one\ntwo')"
out=$(fast exec -- sh -c 'cat >/dev/null; echo after-eof' </dev/null 2>>"$T/err")
is "our end of file closes the command's stdin" "$out" after-eof
out=$(printf 'x\n' | fast exec -n -- sh -c 'cat; echo end' 2>>"$T/err")
is "-n: the command reads /dev/null" "$out" end
fast exec --detach -i -- cat </dev/null 2>"$T/det.err"
is "--detach with -i is a usage error" "$?" 2

# --- 50 MiB through sha256sum, memory bounded on both ends ---------------
head -c 52428800 /dev/urandom >"$T/big"
rss0=$(rss_kb "$FAST_PID")
# (the binary itself, not the fast function: its pid is the client's)
# The command reads nothing until the test opens its gate (a FIFO), after
# measuring, however slow the machine.
mkfifo "$T/gate"
"$LIFELINE" --insecure --via "unix:$T/s" exec -- sh -c 'read x <"$1"; exec sha256sum' \
	gated "$T/gate" <"$T/big" >"$T/big.sum" 2>"$T/big.err" &
cpid=$!
PIDS="$PIDS $cpid"
for _ in $(seq 100); do [ -n "$(job_field gated job)" ] && break; sleep 0.1; done
sleep 1
crss=$(rss_kb "$cpid")
arss=$(rss_kb "$FAST_PID")
id=$(job_field gated job)
held=$(job_field gated stdin_bytes)
echo go >"$T/gate"
wait "$cpid"
is "50 MiB through sha256sum exits 0" "$?" 0
is "the digests are equal" "$(cut -d' ' -f1 "$T/big.sum")" "$(sha "$T/big")"
[ "$held" -le 1048576 ] &&
	ok "while the command did not read, its pipe took $held bytes (window 256 KiB)" ||
	not_ok "while the command did not read, its pipe took $held bytes"
[ $((arss - rss0)) -lt 8192 ] &&
	ok "the agent's RSS grew $((arss - rss0)) KiB meanwhile (< 8 MiB)" ||
	not_ok "the agent's RSS grew $((arss - rss0)) KiB meanwhile"
[ "$crss" -lt 20000 ] && ok "the client's RSS was $crss KiB (< 20 MiB)" ||
	not_ok "the client's RSS was $crss KiB"
peak=$(awk '/^VmHWM:/ { print $2 }' "/proc/$FAST_PID/status")
[ $((peak - rss0)) -lt 16384 ] &&
	ok "the agent's peak RSS is $((peak - rss0)) KiB above its start (< 16 MiB)" ||
	not_ok "the agent's peak RSS is $((peak - rss0)) KiB above its start"
diag "50 MiB: agent RSS $rss0 -> $arss KiB (peak $peak), client $crss KiB, job $id"

# --- on a terminal --------------------------------------------------------
# tty_exec ARGS...: lifeline with a pty as stdin; types "typed" and ^D
tty_exec() {
	python3 - "$@" <<'E'
import os, subprocess, sys, time
m, s = os.openpty()
p = subprocess.Popen(sys.argv[1:], stdin=s, stdout=subprocess.PIPE,
                     stderr=subprocess.DEVNULL)
os.close(s)
time.sleep(1.5)
os.write(m, b"typed\n")
time.sleep(0.3)
os.write(m, b"\x04")
try:
    out, _ = p.communicate(timeout=30)
except subprocess.TimeoutExpired:
    p.kill()
    out = b"TIMEOUT"
sys.stdout.write(out.decode(errors="replace"))
E
}
out=$(tty_exec "$LIFELINE" --insecure --via "unix:$T/s" exec -- sh -c 'cat; echo end')
is "on a terminal the command reads /dev/null (nothing typed reaches it)" "$out" end
out=$(tty_exec "$LIFELINE" --insecure --via "unix:$T/s" exec -i -- sh -c 'cat; echo end')
is "on a terminal -i sends what is typed, ^D ends it" "$out" "$(printf 'typed\nend')"

# --- a client killed mid-stream ------------------------------------------
mkfifo "$T/in"
FAST_VIA="unix:$T/s"
"$LIFELINE" --insecure --via "$FAST_VIA" exec -- sh -c 'cat >/dev/null' stdin-cut-$$ <"$T/in" >/dev/null 2>&1 &
cpid=$!
PIDS="$PIDS $cpid"
exec 3>"$T/in"
head -c 1048576 /dev/zero >&3
pgrep -f "^sh -c cat >/dev/null stdin-cut-$$" >/dev/null &&
	ok "the command runs, reading stdin" || not_ok "the command runs, reading stdin"
id=$(job_field "stdin-cut-$$" job)
kill -9 "$cpid"
wait "$cpid" 2>/dev/null
for _ in $(seq 50); do pgrep -f "^sh -c cat >/dev/null stdin-cut-$$" >/dev/null || break; sleep 0.1; done
exec 3>&-
pgrep -f "^sh -c cat >/dev/null stdin-cut-$$" >/dev/null &&
	not_ok "no process left after the client was killed" ||
	ok "no process left after the client was killed"
is "the job was ended by SIGTERM, its stdin closed" "$(job_field "stdin-cut-$$" status)" "ended closed 15"
grep -q "job $id: its standard input was cut after 1048576 bytes" "$T/agent.log" &&
	ok "the agent's log says why" ||
	not_ok "the agent's log says why: $(grep 'standard input' "$T/agent.log")"

# --- misbehaving clients ---------------------------------------------------
out=$("$LLPEER" raw --via "unix:$T/s" --request 'exec={"argv":["sleep","30"],"stdin":true}' \
	--stdin-bytes 600000 --wait-ms 1500)
echo "$out" | grep -q '"bad_request".*beyond its window.*262144 bytes.*the command was ended' &&
	ok "stdin beyond the window is refused by name" ||
	not_ok "stdin beyond the window is refused: $out"
for _ in $(seq 30); do [ "$(job_field 'sleep 30' state)" = ended ] && break; sleep 0.1; done
is "... and its command ended" "$(job_field 'sleep 30' status)" "ended closed 15"
out=$("$LLPEER" raw --via "unix:$T/s" --request 'exec={"argv":["true"],"stdin":true,"detach":true}' --wait-ms 800)
echo "$out" | grep -q '"bad_request".*detach.. and ..stdin.. together' &&
	ok "detach with stdin is refused" || not_ok "detach with stdin is refused: $out"

# --- over the noisy emulated line -----------------------------------------
start_emu a b --baud 921600 --ber 1e-5 --kmsg-interval-ms 700 --seed "${SEED:-$$}"
mv "$T/agent.log" "$T/agent-fast.log"
start_agent --serial "$T/a,921600"
VIA="serial:$T/b,921600"
head -c 1048576 /dev/urandom >"$T/mid"
t0=$(date +%s)
ll exec -- sha256sum <"$T/mid" >"$T/mid.sum" 2>"$T/mid.err"
is "1 MiB through sha256sum over the noisy line exits 0" "$?" 0
is "... digests equal ($(( $(date +%s) - t0 )) s)" "$(cut -d' ' -f1 "$T/mid.sum")" "$(sha "$T/mid")"
# a client killed mid-stream on the line; a second client takes it over
rm -f "$T/in"; mkfifo "$T/in"
"$LIFELINE" --insecure --via "$VIA" exec -- sh -c 'cat >/dev/null' line-cut-$$ \
	<"$T/in" >/dev/null 2>&1 &
cpid=$!
PIDS="$PIDS $cpid"
exec 3>"$T/in"
head -c 65536 /dev/zero >&3
sleep 6	# 64 KiB take 0.7 s at 921600 baud (the start took 1.5 s under load)
kill -9 "$cpid"
wait "$cpid" 2>/dev/null
ll --json jobs >"$T/line.json" 2>/dev/null
for _ in $(seq 50); do pgrep -f "^sh -c cat >/dev/null line-cut-$$" >/dev/null || break; sleep 0.1; done
exec 3>&-
pgrep -f "^sh -c cat >/dev/null line-cut-$$" >/dev/null && not_ok "on the line: no process left once a second client took over" ||
	ok "on the line: no process left once a second client took over"
python3 -c '
import json, sys
j = [x for x in json.load(open(sys.argv[1]))["jobs"] if "line-cut" in " ".join(x["argv"])][0]
sys.exit(0 if j["stdin_bytes"] == 65536 else 1)' "$T/line.json" &&
	ok "the second client saw the job and the 64 KiB its stdin took" ||
	not_ok "the second client saw the job: $(cat "$T/line.json")"
