#!/bin/sh
# The systemd units: `systemd-analyze verify` accepts them without a word
# (an unknown or misspelt setting is only a warning there, so any output
# fails), the tty template conflicts with the getty on its tty and keeps
# none of the options that would hide its mounts or bar its work, and the
# template's own ExecStart line, expanded for a PTY, serves a real session.
# The units are verified with ExecStart pointing at the built lifelined
# (the installed path does not exist yet) and with --man=no (neither do the
# installed man pages).
. "$(dirname "$0")/lib.sh"
need systemd-analyze

src="$top_srcdir/init/systemd"
plan 8

mkdir "$T/units"
for u in lifelined@.service lifelined-ssh.service; do
	sed "s|@sbindir@|$top_builddir/agent|g" "$src/$u.in" >"$T/units/$u"
done
ln -s lifelined@.service "$T/units/lifelined@ttyS1.service"
(cd "$T/units" && systemd-analyze verify --man=no \
    ./lifelined@ttyS1.service ./lifelined-ssh.service) >"$T/verify" 2>&1
is "systemd-analyze verify: exit status" "$?" 0
is "systemd-analyze verify: no warnings" "$(cat "$T/verify")" ""

check "the template conflicts with serial-getty on its tty" \
    grep -qx 'Conflicts=serial-getty@%i.service' "$T/units/lifelined@.service"
for u in lifelined@.service lifelined-ssh.service; do
	is "$u: no option that hides mounts or bars root's work" \
	    "$(grep -E '^(ProtectSystem|ProtectHome|PrivateTmp|PrivateDevices|PrivateMounts|ReadOnlyPaths|InaccessiblePaths|ProtectKernel[A-Za-z]*|ProtectClock|DevicePolicy|NoNewPrivileges|RestrictSUIDSGID|CapabilityBoundingSet|SystemCallFilter|MemoryDenyWriteExecute|RestrictAddressFamilies)=' \
	    "$T/units/$u")" ""
done
# make substituted the configured sbindir into the built units.
check "the built units name an absolute lifelined" \
    grep -q '^ExecStart=/[^@]*/lifelined ' "$top_builddir/init/systemd/lifelined@.service"

# The template's ExecStart, as systemd would run it for a tty: %I and
# ${LIFELINED_BAUD} expanded (a PTY stands for /dev/ttyS1), plus what the
# tests always give the agent.
start_ptys a b
baud=$(sed -n 's/^Environment=LIFELINED_BAUD=//p' "$T/units/lifelined@.service")
cmd=$(sed -n 's/^ExecStart=//p' "$T/units/lifelined@.service" |
    sed "s|/dev/%I|$T/a|; s|\${LIFELINED_BAUD}|$baud|")
: >"$T/empty.conf"; chmod 600 "$T/empty.conf"
start_agent --config "$T/empty.conf" $(echo "$cmd" | cut -d' ' -f2-)
VIA="serial:$T/b"
check "the template's command line serves a session on the tty" \
    ll ping -c 1
is "it runs the built agent" "$(echo "$cmd" | cut -d' ' -f1)" "$LIFELINED"
