#!/bin/sh
# lifeline shell: an interactive root shell through the client's own SSH
# engine, driven on a real pty (tests/sys/pty-drive.py) over the link
# emulator with bit errors and a kernel message line every 300 ms on both
# sides: a prompt, a command, the window size seen by `stty size` before
# and after a resize (SIGWINCH -> window-change), the shell's exit status
# passed through, ~. ending it at once; and no kernel message ever lands
# in the terminal.
. "$(dirname "$0")/lib.sh"
need python3 stty
plan 13

ssh_setup
KEY="$T/home/.ssh/id_ed25519"
start_emu a b --baud 115200 --ber 1e-5 --kmsg-interval-ms 300 \
	--kmsg-side both --seed "${SEED:-$$}" --duration-s 600
start_agent_ssh --serial "$T/a,115200"
fp=$(agent_fp) || { echo "Bail out! the agent logged no host key"; exit 1; }
VIA="serial:$T/b,115200"
# drive STEPS: lifeline shell on a pty, the terminal's bytes in $T/screen
drive() {
	PTY_DRIVE_LOG="$T/screen" timeout 300 python3 \
		"$top_srcdir/tests/sys/pty-drive.py" "$1" -- \
		env HOME="$T/home" SSH_AUTH_SOCK= TERM=xterm "$LIFELINE" \
		--via "$VIA" -i "$KEY" --known-hosts "$T/known_hosts" \
		--host-key-fingerprint "$fp" shell >"$T/drive.out" 2>&1
}
step() { grep -qxF "$1" "$T/drive.out"; }

cat >"$T/steps" <<'S'
expect [#$] $
send PS1='ll-prompt> '\r
expect ll-prompt> $
send echo marker-$((6*7)) $(tty | cut -c1-8)\r
expect marker-42 /dev/pts
send stty size\r
expect 24 80
resize 33 100
sleep 1
send stty size\r
expect 33 100
send exit 7\r
exit
S
drive "$T/steps"
check "a prompt from the rescue host's shell" step 'ok expect [#$] $'
check "a command runs, on a pty" step 'ok expect marker-42 /dev/pts'
check "stty size sees the terminal's size" step 'ok expect 24 80'
check "a resize reaches the remote pty (stty size after SIGWINCH)" step 'ok expect 33 100'
check "the shell's exit status is lifeline's (7)" step 'exit 7'
check "the agent audits the shell on a pty" \
	grep -q 'op start: .*op="shell" args={"command":"[^"]*","pty":true}' "$T/agent.log"
# What must never be on the terminal: the kernel messages the emulator
# puts on the line (tests/linkemu.c).
check "no kernel message landed in the shell" \
	sh -c "! grep -aE 'USB device number|USB disconnect|EXT4-fs|SATA link up|NIC Link is Up|logical blocks|perf: interrupt|apparmor|blocked for more' '$T/screen'"

cat >"$T/steps" <<'S'
expect [#$] $
send echo typed~.not-an-escape\r
expect typed~.not-an-escape
send \r~~\r
sleep 0.5
send \r~.
exit
S
drive "$T/steps"
check "~ inside a line is typed as it is" step 'ok expect typed~.not-an-escape'
check "~. at the start of a line ends it at once (255)" step 'exit 255'
check "and says so" grep -aq 'shell: closed (~.)' "$T/screen"

"$LIFELINE" --insecure --via "$VIA" shell </dev/null >/dev/null 2>"$T/err"
is "shell with --insecure is a usage error (2)" $? 2
check "naming the option" grep -q -- "--insecure" "$T/err"

# The emulator's own count (ab: towards the client), to be sure the line
# did carry kernel messages.
kill "$EMU_PID"; wait "$EMU_PID" 2>/dev/null
check "the emulator put kernel messages on the line meanwhile" \
	grep -Eq '^ab_kmsg=[1-9]' "$T/emu.log"
