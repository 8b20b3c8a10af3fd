#!/bin/sh
# inspect's tools run as every child of the agent does (agent/child.c):
# found in the clean PATH, stdin /dev/null, stdout and stderr captured
# together, no other fd of the agent's (issue 13, item 11).  The machine
# has neither mdadm nor vgchange, so the agent runs in a mount namespace of
# its own where a tmpfs over /usr/local/sbin holds two stand-ins (the real
# tools would assemble the arrays of this shared machine): mdadm writes
# 3000 numbered lines to stdout and stderr in turn and exits 3; vgchange
# records what it was given.  inspect is asked about one loop device of
# the test's own, so it probes nothing else.
. "$(dirname "$0")/lib.sh"
need_root
need unshare python3
plan 8

jq_() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }

mkdir -p "$T/tools" "$T/empty"
cat >"$T/tools/mdadm" <<'E'
#!/bin/sh
i=1
while [ $i -le 3000 ]; do
	if [ $((i % 2)) -eq 0 ]; then echo "line $i" >&2; else echo "line $i"; fi
	i=$((i + 1))
done
exit 3
E
cat >"$T/tools/vgchange" <<E
#!/usr/bin/python3
import os
fds = " ".join(sorted(os.listdir("/proc/self/fd"), key=int))
links = [os.readlink("/proc/self/fd/%d" % f) for f in (0, 1, 2)]
with open("$T/vgchange.out", "w") as o:
    o.write("%s\n%s\n" % (fds, "\n".join(links)))
E
chmod 755 "$T/tools/mdadm" "$T/tools/vgchange"
make_ext4 plain 8 "$T/empty" plain
dev=$(attach "$T/plain.img")
LOOPS="$dev $LOOPS"

unshare -m sh -c 'sh "$NS_CLEAN" "$1"; mount --make-rprivate / && mount -t tmpfs tools /usr/local/sbin &&
	cp "$1/tools/mdadm" "$1/tools/vgchange" /usr/local/sbin/ &&
	exec "$0" --insecure --debug-file "$1/agent.log" --listen "unix:$1/s.sock"' \
	"$LIFELINED" "$T" 2>>"$T/agent.stderr" &
PIDS="$PIDS $!"
VIA="unix:$T/s.sock"
for _ in $(seq 50); do [ -S "$T/s.sock" ] && break; sleep 0.1; done

ll --json inspect "$dev" >"$T/inspect.json" 2>"$T/err"
is "inspect with the stand-ins succeeds" "$?" 0
is "mdadm ran from the clean PATH" \
	"$(jq_ 't=d["tools"][0]; print(t["ran"], t["path"])' <"$T/inspect.json")" \
	"True /usr/local/sbin/mdadm"
is "its exit status is reported" \
	"$(jq_ 'print(d["tools"][0]["exit_status"])' <"$T/inspect.json")" 3
# the last 2 KiB of both streams together, in the order written
i=1
while [ $i -le 3000 ]; do echo "line $i"; i=$((i + 1)); done | tail -c 2048 >"$T/tail.want"
jq_ 'import sys; sys.stdout.write(d["tools"][0]["output"])' <"$T/inspect.json" >"$T/tail.got"
cmp -s "$T/tail.want" "$T/tail.got" && ok "its output is the last 2 KiB of stdout and stderr" ||
	not_ok "output: $(head -c 200 "$T/tail.got")"
is "vgchange ran too" "$(jq_ 'print(d["tools"][1]["exit_status"])' <"$T/inspect.json")" 0
# listing its fds opens one more (3)
is "a tool has no fd beyond 0-2" "$(sed -n 1p "$T/vgchange.out" 2>/dev/null)" "0 1 2 3"
is "its stdin is /dev/null" "$(sed -n 2p "$T/vgchange.out" 2>/dev/null)" /dev/null
out=$(sed -n 3p "$T/vgchange.out" 2>/dev/null)
err=$(sed -n 4p "$T/vgchange.out" 2>/dev/null)
case $out in
/memfd:inspect-tool*) [ "$out" = "$err" ] && ok "its stdout and stderr are one memfd" ||
	not_ok "stdout $out, stderr $err" ;;
*) not_ok "its stdout and stderr are one memfd: $out, $err" ;;
esac
