#!/bin/sh
# Keystroke echo at 115200 baud over the link emulator (clean line): the
# round trip from a key typed on a pty to its echo on the screen, through
# `lifeline shell` and through OpenSSH's ssh -tt with lifeline proxy, next
# to the wire time of the bytes one keystroke puts on the line (both
# directions: the key, its echo, the link's acknowledgements and SSH's own
# packets).  Those bytes are the emulator's count for a session with KEYS
# keystrokes less one with none, divided by KEYS.  Measures, asserts
# nothing; the goal (issue 12) is an echo within twice the wire time.
. "$(dirname "$0")/../sys/lib.sh"
ssh_setup
KEY="$T/home/.ssh/id_ed25519"
export SSH_AUTH_SOCK=
KEYS=${KEYS:-40}
RATE=11520
VIA="serial:$T/b,115200"

# session HOW N: one shell session typing N keys; prints the pty-drive
# lines, leaves the emulator's stats in $T/stats
session() {
	how=$1; n=$2
	rm -f "$T/a" "$T/b" "$T/emu.out" "$T/stats"
	"$LINKEMU" --a "$T/a" --b "$T/b" --baud 115200 --seed 3 \
		--duration-s 600 --stats "$T/stats" >"$T/emu.out" 2>"$T/emu.log" &
	emu=$!
	for _ in $(seq 100); do grep -q ready "$T/emu.out" 2>/dev/null && break; sleep 0.05; done
	start_agent_ssh --serial "$T/a,115200"
	sleep 0.3
	printf '%s\n' 'expect [#$] $' "send PS1='> '\\r" 'expect > $' \
	    "keys $n" 'send \x15exit\r' exit >"$T/steps"
	if [ "$how" = shell ]; then
		set -- env HOME="$T/home" TERM=xterm "$LIFELINE" --via "$VIA" -i "$KEY" \
			--known-hosts "$T/known_hosts" --accept-new-host-key shell
	else
		"$LIFELINE" --via "$VIA" -i "$KEY" ssh-config rescue >"$T/ssh_config"
		printf 'Host *\n\tBatchMode yes\n\tStrictHostKeyChecking accept-new\n\tUserKnownHostsFile %s/okh\n' \
			"$T" >>"$T/ssh_config"
		set -- env TERM=xterm ssh -F "$T/ssh_config" -tt rescue
	fi
	python3 "$top_srcdir/tests/sys/pty-drive.py" "$T/steps" -- "$@"
	stop_agent
	kill "$emu"; wait "$emu" 2>/dev/null
}
wire_bytes() { awk -F= '/^(ab|ba)_carried=/ { s += $2 } END { print s }' "$T/stats"; }

echo "keystroke echo at 115200 baud (11520 B/s), $KEYS keys, clean line"
for how in shell ssh; do
	session "$how" 0 >/dev/null
	w0=$(wire_bytes)
	line=$(session "$how" "$KEYS" | grep '^keys ')
	w1=$(wire_bytes)
	echo "$line" | awk -v how="$how" -v w0="$w0" -v w1="$w1" -v k="$KEYS" -v r="$RATE" '{
		per = (w1 - w0) / k; wire = per / r * 1000
		label = how == "shell" ? "lifeline shell" : "ssh -tt via lifeline proxy"
		printf "%-28s echo median %.1f ms, mean %.1f ms, max %.1f ms; %.0f wire bytes a key = %.1f ms on the wire: median %.2fx\n",
		    label, $3, $4, $5, per, wire, $3 / wire }'
done
