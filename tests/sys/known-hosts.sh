#!/bin/sh
# Known hosts that follow the agent (issue 13, item 5): the agent's host key
# is filed for the console, not for the literal --via text, so the same
# console spelled another way (a baud added, tty: for serial:) is the same
# entry; a key filed before under another path is the same agent (a USB
# adapter that came back under another name, here a symlink to the PTY); an
# unknown key on a known console is a changed key, refused with the file
# and line that hold the old one.  No refusal offers the agent's
# fingerprint to paste: it says where to read it.  lifeline known-hosts
# lists and --remove forgets, by console or by key.
. "$(dirname "$0")/lib.sh"
plan 27

ssh_setup
start_ptys A B
mkdir -p "$T/root"
start_agent_ssh --serial "$T/A" --target-root "$T/root"
VIA="serial:$T/B"
KH="$T/known_hosts"
fp=$(agent_fp) || { echo "Bail out! the agent logged no host key"; exit 1; }
# k: lifeline with SSH inside the link, the test's known hosts, no question
k() { HOME="$T/home" SSH_AUTH_SOCK= "$LIFELINE" --known-hosts "$KH" "$@" </dev/null; }

# An unknown agent: no fingerprint to paste, and where to read it.
k --via "$VIA" info >/dev/null 2>"$T/err"
is "an unknown agent key is refused (exit 3)" $? 3
check "the refusal offers no fingerprint to paste" sh -c "! grep -qF '$fp' '$T/err'"
check "and says where the agent shows its key" grep -q 'SSH host key SHA256:\.\.\..*console' "$T/err"

k --via "$VIA" --accept-new-host-key info >/dev/null 2>"$T/err"
is "--accept-new-host-key files it" "$(cat "$KH")" "serial:$T/B $fp"

# The same console, spelled otherwise.
k --via "serial:$T/B,115200" info >/dev/null 2>"$T/err"
is "the same console with a baud is the same entry (no question, exit 0)" $? 0
k --via "tty:$T/B,4000000" info >/dev/null 2>"$T/err"
is "tty: for serial: is the same entry too" $? 0
k --via "$T/B" info >/dev/null 2>"$T/err"
is "and so is the bare device path" $? 0
is "nothing more was filed" "$(wc -l <"$KH")" 1

# The adapter came back under another name: the key finds it.
ln -s "$T/B" "$T/ttyUSB1"
k --via "serial:$T/ttyUSB1" info >/dev/null 2>"$T/err"
is "a known key on a new path is the same agent (exit 0, no question)" $? 0
check "which lifeline says, naming the line that knew it" grep -qF "is the one filed for serial:$T/B ($KH:1)" "$T/err"
is "and files it for the new path too" "$(sed -n 2p "$KH")" "serial:$T/ttyUSB1 $fp"

# A console whose command has blanks is filed as one word.
k --via "exec:socat - $T/B,raw,echo=0" --accept-new-host-key info >/dev/null 2>"$T/err"
is "an exec: path with blanks can be filed (exit 0)" $? 0
check "as one word, blanks escaped" grep -qxF "exec:socat%20-%20$T/B,raw,echo=0 $fp" "$KH"
k --via "exec:socat  -   $T/B,raw,echo=0" info >/dev/null 2>"$T/err"
is "and found again with other blanks" $? 0

# The rescue host rebooted with a new key: a changed key.
stop_agent
HOSTKEY="$T/hostkey2" start_agent_ssh --serial "$T/A" --target-root "$T/root"
sleep 0.5
fp2=$(agent_fp)
k --via "tty:$T/B" info >/dev/null 2>"$T/err"
is "a changed key is refused (exit 3)" $? 3
check "the refusal names the file and line of the old key" grep -qF "filed for it at $KH:1 ($fp)" "$T/err"
check "offers no new fingerprint to paste" sh -c "! grep -qF '$fp2' '$T/err'"
check "and says how to go on" sh -c "grep -q 'known-hosts --remove tty:$T/B' '$T/err' && grep -q 'console' '$T/err'"
k --via "tty:$T/B" --host-key-fingerprint "$fp2" info >/dev/null 2>&1
is "the key read off the console, pinned, works for this boot" $? 0

# known-hosts: list and remove.
k known-hosts >"$T/list"
is "known-hosts lists every entry with file and line" "$(cut -d' ' -f1 "$T/list" | tr '\n' ' ')" \
	"$KH:1: $KH:2: $KH:3: "
k --json known-hosts "tty:$T/ttyUSB1" >"$T/list.json"
check "--json lists the console's entries" python3 -c "
import json, sys
d = json.load(open('$T/list.json'))
assert d['file'] == '$KH'
assert [(e['line'], e['fingerprint']) for e in d['entries']] == [(2, '$fp')], d"
k known-hosts --remove "serial:$T/B,9600" >"$T/out" 2>"$T/err"
is "--remove forgets the console whatever its spelling (exit 0)" $? 0
is "and says which line went" "$(cat "$T/out")" "removed $KH:1: serial:$T/B $fp"
k --via "tty:$T/B" info >/dev/null 2>"$T/err"
check "then the new key is unknown, not changed" sh -c "grep -q 'does not know' '$T/err' && ! grep -q 'another host key' '$T/err'"
k known-hosts -R "$fp" >"$T/out" 2>"$T/err"
is "-R SHA256:... forgets that key wherever it is filed" "$(wc -l <"$T/out")" 2
is "leaving the file empty" "$(grep -c . "$KH")" 0
LIFELINE_VIA="tty:$T/B" k known-hosts --remove >/dev/null 2>"$T/err"
is "--remove with nothing filed fails (exit 1)" $? 1
