#!/bin/sh
# With a target root mounted, get reads the target's files while exec
# without --chroot runs on the rescue host (issue 10, item 11): exec says
# so on stderr, once, naming where the target is, and stays quiet with
# --chroot or without a target.  The target root is a plain directory
# (the agent's --target-root) holding a static busybox, so --chroot can
# run something there without root privileges being needed for a mount.
. "$(dirname "$0")/lib.sh"
need busybox
plan 10

R="$T/target"
mkdir -p "$R/etc" "$R/bin"
echo target-host >"$R/etc/hostname"
cp "$(command -v busybox)" "$R/bin/busybox"
file -L "$R/bin/busybox" 2>/dev/null | grep -q 'statically linked' ||
	ldd "$R/bin/busybox" 2>&1 | grep -q 'not a dynamic' ||
	skip_all "busybox is not statically linked"
NOTE="exec runs on the rescue host, not in the target: the target's root is mounted at $R there"

start_agent --listen "unix:$T/s.sock" --target-root "$R"
"$LIFELINED" --insecure --listen "unix:$T/none.sock" \
	--debug-file "$T/agent-none.log" 2>>"$T/agent.stderr" &
PIDS="$PIDS $!"
VIA="unix:$T/s.sock"
sleep 0.3

ll exec -- sh -c 'seq 1 20000; seq 1 100 >&2' >"$T/out" 2>"$T/err"
is "exec on the rescue host with a target mounted exits 0" "$?" 0
is "its output is intact" "$(wc -l <"$T/out")" 20000
is "it says where it runs, once" "$(grep -c "$NOTE" "$T/err")" 1
grep -v -- --insecure "$T/err" | head -n 1 | grep -q "$NOTE" &&
	ok "before anything the command wrote" || not_ok "before the command's stderr: $(head -n 2 "$T/err")"

ll --json exec -- true >"$T/out" 2>"$T/err"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/out" &&
	ok "--json keeps stdout one JSON object" || not_ok "--json stdout: $(cat "$T/out")"
grep -q "$NOTE" "$T/err" && ok "and says it on stderr" || not_ok "--json note: $(cat "$T/err")"

ll exec --chroot -- /bin/busybox cat /etc/hostname >"$T/out" 2>"$T/err"
is "exec --chroot reads the target's file" "$(cat "$T/out")" target-host
grep -q "rescue host" "$T/err" && not_ok "exec --chroot says nothing: $(cat "$T/err")" ||
	ok "exec --chroot says nothing"

"$LIFELINE" --insecure --via "unix:$T/none.sock" exec -- true 2>"$T/err"
grep -q "rescue host" "$T/err" && not_ok "without a target exec says nothing: $(cat "$T/err")" ||
	ok "without a target exec says nothing"

# A target root whose name is not UTF-8 still gets its note (the EVENT
# once went missing: it could not be built, and nothing said so).
R2=$(printf '%s/t\377rget' "$T")
mkdir -p "$R2"
"$LIFELINED" --insecure --listen "unix:$T/odd.sock" --target-root "$R2" \
	--debug-file "$T/agent-odd.log" 2>>"$T/agent.stderr" &
PIDS="$PIDS $!"
for _ in $(seq 50); do [ -S "$T/odd.sock" ] && break; sleep 0.1; done
"$LIFELINE" --insecure --via "unix:$T/odd.sock" exec -- true 2>"$T/err"
grep -q "exec runs on the rescue host, not in the target: the target's root is mounted at $T/t?rget" "$T/err" &&
	ok "a target root that is not UTF-8 is still named" || not_ok "odd root note: $(cat "$T/err")"
