#!/bin/sh
# Every process the agent starts goes through one spawner (agent/child.c):
# the same clean environment, /dev/null as stdin, and no fd of the agent's
# beyond 0-2 (issue 13, item 11).
#
# - exec looks a bare name up in the clean PATH the command gets
#   (docs/protocol.md, exec), never in the agent's own PATH and never in
#   its working directory: a program planted in either is not run;
# - a name in the clean PATH still runs, and so does an absolute path;
# - reboot's hook (LIFELINED_REBOOT_COMMAND, the stand-in for reboot(2))
#   gets the clean environment, /dev/null as fds 0-2 and no other fd;
# - exec's commands get no other fd either.
. "$(dirname "$0")/lib.sh"
need python3
plan 11

mkdir -p "$T/agentbin" "$T/cwd"
printf '#!/bin/sh\necho planted-in-agent-path\n' >"$T/agentbin/ll-planted"
printf '#!/bin/sh\necho planted-in-cwd\n' >"$T/cwd/ll-cwd-planted"
chmod 755 "$T/agentbin/ll-planted" "$T/cwd/ll-cwd-planted"
# What a process has: PATH, its open fds (listing them opens one more,
# the lowest free: 3), where 0-2 lead.  The hook writes it, then renames.
cat >"$T/show.py" <<'E'
import os, sys
fds = " ".join(sorted(os.listdir("/proc/self/fd"), key=int))
links = [os.readlink("/proc/self/fd/%d" % f) for f in (0, 1, 2)]
text = "PATH=%s\n%s\n%s\n" % (os.environ.get("PATH", ""), fds,
    "\n".join(links))
if len(sys.argv) > 1:
    with open(sys.argv[1] + ".tmp", "w") as o:
        o.write(text)
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
else:
    sys.stdout.write(text)
E
printf '#!/bin/sh\nexec python3 "%s" "%s"\n' "$T/show.py" "$T/hook.out" \
	>"$T/reboot-hook"
chmod 755 "$T/reboot-hook"

# The agent's own PATH has the planted program first; its cwd holds the
# other one.
(cd "$T/cwd" && PATH="$T/agentbin:$PATH" \
	LIFELINED_REBOOT_COMMAND="$T/reboot-hook" exec "$LIFELINED" --insecure \
	--listen "unix:$T/s.sock" --debug-file "$T/agent.log" \
	2>>"$T/agent.stderr") &
PIDS="$PIDS $!"
VIA="unix:$T/s.sock"
for _ in $(seq 50); do [ -S "$T/s.sock" ] && break; sleep 0.1; done

ll exec -- ll-planted >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" -ne 0 ] && ! grep -q planted "$T/out" &&
	ok "a program only in the agent's PATH is not run (exit $rc)" ||
	not_ok "a program only in the agent's PATH is not run: exit $rc, $(cat "$T/out")"
grep -q "cannot run ll-planted: No such file or directory" "$T/err" &&
	ok "and the error names it" || not_ok "error: $(cat "$T/err")"

ll exec -- ll-cwd-planted >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" -ne 0 ] && ! grep -q planted "$T/out" &&
	ok "a program in the agent's working directory is not run (exit $rc)" ||
	not_ok "a program in the agent's working directory is not run: exit $rc, $(cat "$T/out")"

is "a name in the clean PATH runs" "$(ll exec -- printf '%s' found 2>/dev/null)" found
is "an absolute path runs" "$(ll exec -- "$T/agentbin/ll-planted" 2>/dev/null)" planted-in-agent-path

# exec's command: fds 0-2 (stdin /dev/null: -n, since the test's own
# stdin, not a terminal under make check, would be sent) and the one it
# lists with
ll exec -n -- python3 "$T/show.py" >"$T/exec.out" 2>/dev/null
is "exec's command has no fd beyond 0-2" "$(sed -n 2p "$T/exec.out")" "0 1 2 3"
is "its stdin is /dev/null" "$(sed -n 3p "$T/exec.out")" /dev/null

ll reboot -y >/dev/null 2>"$T/err" || diag "reboot: $(cat "$T/err")"
for _ in $(seq 50); do [ -s "$T/hook.out" ] && break; sleep 0.1; done
is "reboot's hook gets the clean PATH" "$(sed -n 1p "$T/hook.out" 2>/dev/null)" \
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
is "reboot's hook has no fd beyond 0-2" "$(sed -n 2p "$T/hook.out" 2>/dev/null)" "0 1 2 3"
is "its fds 0-2 are /dev/null" "$(sed -n '3,5p' "$T/hook.out" 2>/dev/null | sort -u)" /dev/null
# reboot's REPLY goes out while the request lives on; it is audited as
# every other request's end
grep -q 'op end: who="insecure" id=[0-9]* op="reboot" result="ok"' "$T/agent.log" &&
	ok "reboot's end is in the audit trail" || not_ok "no audit line for reboot's end"
