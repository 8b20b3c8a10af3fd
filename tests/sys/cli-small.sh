#!/bin/sh
# The small things of issue 13 item 8, each as a user meets it: ping shows
# every lost probe (an agent stopped for two seconds) and the loss in
# percent; the connect timeout is --connect-timeout, its old name --timeout
# still works; -h after a command is its help; human info shows the target
# root and how the session is authenticated (the client key, and how the
# agent's host key was checked); authorize-key given a private key sends
# its .pub (or its public half), never the private key.
. "$(dirname "$0")/lib.sh"
need python3
plan 31

ssh_setup
start_ptys A B
mkdir -p "$T/root/etc" "$T/root/root"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$T/root/etc/passwd"
VIA="serial:$T/B"

# --- ping: lost probes, and the loss in percent (an insecure agent)
start_agent --serial "$T/A"
ll ping -c 6 -i 0.3 -W 0.7 >"$T/ping" 2>"$T/ping.err" &
p=$!
for _ in $(seq 200); do grep -q "seq=1 " "$T/ping" && break; sleep 0.05; done
kill -STOP "$AGENT_PID"; sleep 2; kill -CONT "$AGENT_PID"
wait "$p"
is "ping with answers and losses exits 0, as ping(8)" $? 0
lost=$(grep -c '^no reply from agent: seq=[0-9]* lost' "$T/ping")
got=$(grep -c '^reply from agent: seq=' "$T/ping")
check "the stopped agent's probes are each said to be lost" test "$lost" -ge 1
is "each probe has its own line" "$((lost + got))" 6
is "the summary gives the loss in percent" "$(tail -n 1 "$T/ping" | cut -d';' -f1)" \
	"6 probes, $got replies, $(( (lost * 100 + 3) / 6 ))% lost"
ll --json ping -c 2 >"$T/ping.json" 2>/dev/null
check "--json: sent, lost, loss_percent" python3 -c "
import json; d = json.load(open('$T/ping.json'))
assert d['sent'] == 2 and d['lost'] == 0 and d['loss_percent'] == 0 and d['count'] == 2, d"

# --- info, insecure: target root and no authentication
ll info >"$T/info" 2>/dev/null
check "human info says no target root is mounted" grep -qx "target     none mounted (lifeline mount)" "$T/info"
check "and that the session is not authenticated" grep -qx "auth       none (--insecure)" "$T/info"

# --- put leaves a file that is already there alone, unless --force
mkdir -p "$T/in"
printf 'same bytes\n' >"$T/f"
ll put "$T/f" "$T/in/" --rescue-host >/dev/null 2>&1
ino=$(stat -c %i "$T/in/f")
ll put "$T/f" "$T/in/" --rescue-host >"$T/out" 2>/dev/null
is "a second put of the same file exits 0" $? 0
check "and says it is unchanged" grep -q "^unchanged $T/in/f " "$T/out"
is "the file was not replaced (same inode) and not backed up" \
	"$(stat -c %i "$T/in/f"):$(ls "$T/in" | tr '\n' ' ')" "$ino:f "
ll --json put "$T/f" "$T/in/f" --rescue-host >"$T/out.json" 2>/dev/null
check "--json marks it unchanged, 0 bytes sent" python3 -c "
import json; d = json.load(open('$T/out.json'))
assert d['files'][0]['unchanged'] is True and d['bytes'] == 0, d"
ll put --force "$T/f" "$T/in/" --rescue-host >/dev/null 2>&1
check "--force sends it anyway, with a backup" test -e "$T/in/f.lifeline-bak" -a "$(stat -c %i "$T/in/f")" != "$ino"
printf 'diff bytes\n' >"$T/f"
ll put "$T/f" "$T/in/" --rescue-host >"$T/out" 2>/dev/null
is "other bytes of the same size are sent" "$(cat "$T/in/f")" "diff bytes"
stop_agent

# --- the connect timeout's names
start_ptys C D
t0=$(date +%s%N)
"$LIFELINE" --insecure --via "serial:$T/D" --connect-timeout 1 info >/dev/null 2>"$T/err"
rc=$?; t1=$(date +%s%N)
is "--connect-timeout 1 with nothing on the line: no agent (exit 4)" $rc 4
check "within about a second" test $(( (t1 - t0) / 1000000 )) -lt 4000
"$LIFELINE" --insecure --via "serial:$T/D" --timeout 1 info >/dev/null 2>&1
is "the old name --timeout still works" $? 4
"$LIFELINE" --help >"$T/help"
check "help names --connect-timeout" grep -q -- "--connect-timeout SECONDS" "$T/help"
check "and not the deprecated global --timeout" sh -c "! grep -q '^      --timeout' '$T/help'"

# --- -h after a command
"$LIFELINE" ping -h >"$T/h" 2>/dev/null
is "ping -h exits 0" $? 0
check "ping -h is ping's help" grep -q "^usage: lifeline ping" "$T/h"
"$LIFELINE" reboot -h >"$T/h" 2>/dev/null
check "reboot's help shows -y, --yes" grep -q -- "-y, --yes" "$T/h"

# --- SSH: info says how the session is authenticated
start_agent_ssh --serial "$T/A" --target-root "$T/root"
fp=$(agent_fp) || { echo "Bail out! the agent logged no host key"; exit 1; }
lls --accept-new-host-key info >/dev/null 2>&1
lls info >"$T/info" 2>"$T/err"
is "info over SSH" $? 0
check "shows the target root" grep -qx "target     $T/root" "$T/info"
check "shows the client key SSH accepted" grep -qx "auth       SSH, your key $SSH_FP_CLIENT" "$T/info"
check "and the agent's host key with the known-hosts line" grep -qx "host key   $fp (known: $T/known_hosts:1)" "$T/info"
lls --host-key-fingerprint "$fp" info >"$T/info" 2>"$T/err"
check "or that it was pinned" grep -qx "host key   $fp (pinned with --host-key-fingerprint)" "$T/info"

# --- authorize-key with a private key
ssh-keygen -q -t ed25519 -N '' -C op@test -f "$T/opkey"
lls authorize-key root "$T/opkey" >"$T/out" 2>"$T/err"
is "authorize-key given a private key works (exit 0)" $? 0
is "it sent KEY.pub" "$(cat "$T/root/root/.ssh/authorized_keys" 2>/dev/null)" "$(cat "$T/opkey.pub")"
check "and says so" grep -q "is a private key: sending $T/opkey.pub instead" "$T/err"
ssh-keygen -q -t ed25519 -N '' -C lone@test -f "$T/lone"
rm "$T/lone.pub"
lls authorize-key root "$T/lone" >"$T/out" 2>"$T/err"
is "without a .pub, its public half is sent (exit 0)" "$?:$(tail -n 1 "$T/root/root/.ssh/authorized_keys" | cut -d' ' -f1,3)" "0:ssh-ed25519 lone"
check "no private key material reached the target" sh -c "! grep -q PRIVATE '$T/root/root/.ssh/authorized_keys'"
