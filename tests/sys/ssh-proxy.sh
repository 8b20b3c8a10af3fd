#!/bin/sh
# OpenSSH through a console: `lifeline proxy` as ssh's ProxyCommand (from
# the Host block `lifeline ssh-config` prints) over the link emulator with
# bit errors and kernel messages on both sides.  OpenSSH's own ssh, scp,
# sftp and rsync talk to the agent's SSH server end to end: exec with the
# exit status and signal passed through, a shell on a pty, env (TERM, LANG,
# LC_* only), scp and sftp both ways and rsync -a with SHA-256/tree checks,
# and several channels at once on one connection (ControlMaster), the
# lifeline subsystem among them.
. "$(dirname "$0")/lib.sh"
need ssh scp sftp python3 socat
plan 29

ssh_setup
KEY="$T/home/.ssh/id_ed25519"
start_emu a b --baud 460800 --ber 1e-5 --kmsg-interval-ms 2000 \
	--kmsg-side both --seed "${SEED:-$$}" --duration-s 900
start_agent_ssh --serial "$T/a,460800"
fp=$(agent_fp) || { echo "Bail out! the agent logged no host key"; exit 1; }
VIA="serial:$T/b,460800"

# The Host block, as a user would paste it into ~/.ssh/config.
"$LIFELINE" --via "$VIA" -i "$KEY" ssh-config rescue >"$T/ssh_config"
check "ssh-config prints a ProxyCommand with --via and proxy" \
	sh -c "grep -F -e \"--via '$VIA' \" '$T/ssh_config' | grep -q ' proxy\$'"
check "and HostKeyAlias" grep -qx "	HostKeyAlias lifeline-rescue" "$T/ssh_config"
ssh_config_batch "$T/ssh_config"
S="-F $T/ssh_config"
export SSH_AUTH_SOCK=

out=$(timeout 120 ssh $S rescue 'uname -a; exit 3' 2>"$T/err")
is "ssh rescue uname -a: the command's exit status comes back" $? 3
is "and its output" "$out" "$(uname -a)"
check "ssh filed the agent's key under the HostKeyAlias" \
	sh -c "ssh-keygen -lf '$T/okh' | grep -F '$fp' | grep -q lifeline-rescue"
timeout 120 ssh $S rescue 'kill -TERM $$' 2>"$T/err"
is "a command killed by a signal: ssh exits 255" $? 255
check "the audit log records the channel's end by SIGTERM" \
	grep -q 'op end: .*op="exec" result="signal TERM"' "$T/agent.log"
check "and who ran it" grep -q "op start: who=\"$SSH_FP_CLIENT\" id=[0-9]* op=\"exec\"" "$T/agent.log"

out=$(LC_LIFELINE=kept EVIL=x timeout 120 ssh $S -o SendEnv=LC_LIFELINE \
	-o SendEnv=EVIL rescue 'echo "${LC_LIFELINE:-lost} ${EVIL:-refused}"')
is "env: LC_* is passed, other names are not" "$out" "kept refused"

printf 'echo "$((6 * 7))-$(tty | cut -c1-8)"\nexit 4\n' |
	timeout 120 ssh $S -tt rescue >"$T/tty.out" 2>&1
is "ssh -tt: the shell's exit status" $? 4
check "the shell ran the command on a pty" grep -q '42-/dev/pts' "$T/tty.out"

# Files: scp (SFTP underneath in OpenSSH 9) and sftp, both ways.
head -c 300000 /dev/urandom >"$T/data"
timeout 300 scp $S "$T/data" rescue:"$T/up.scp" 2>"$T/err"
is "scp up: exit 0" $? 0
is "scp up is byte-exact" "$(sha "$T/up.scp")" "$(sha "$T/data")"
timeout 300 scp $S rescue:"$T/data" "$T/down.scp" 2>"$T/err"
is "scp down is byte-exact" "$(sha "$T/down.scp")" "$(sha "$T/data")"
printf 'put %s %s\nget %s %s\n' "$T/data" "$T/up.sftp" "$T/data" \
	"$T/down.sftp" >"$T/batch"
timeout 300 sftp $S -b "$T/batch" rescue >/dev/null 2>"$T/err"
is "sftp -b: exit 0" $? 0
check "sftp put and get are byte-exact" sh -c "[ '$(sha "$T/data")' = \
	\"\$(sha256sum <'$T/up.sftp' | cut -d' ' -f1)\" ] && cmp -s '$T/data' '$T/down.sftp'"

if command -v rsync >/dev/null; then
	mkdir -p "$T/tree/sub/deeper"
	head -c 20000 /dev/urandom >"$T/tree/sub/blob"
	echo hello >"$T/tree/a"
	chmod 640 "$T/tree/a"
	chmod 2750 "$T/tree/sub/deeper"
	ln -s ../a "$T/tree/sub/link"
	ln -s /nowhere "$T/tree/dangling"
	timeout 300 rsync -a -e "ssh $S" "$T/tree/" rescue:"$T/tree.copy/" 2>"$T/err"
	is "rsync -a over ssh: exit 0" $? 0
	check "the copy has the same files, modes and links" \
		python3 "$top_srcdir/tests/same-tree.py" "$T/tree" "$T/tree.copy"
else
	ok "# SKIP rsync is not installed"
	ok "# SKIP rsync is not installed"
fi

# Several channels on one connection: a ControlMaster, a command on it
# while another runs, and lifeline's own subsystem beside them.
n0=$(grep -c 'SSH channels for' "$T/agent.log")
timeout 300 ssh $S -o ControlMaster=yes -o ControlPath="$T/cm" -fN rescue
is "a ControlMaster connection starts" $? 0
timeout 120 ssh $S -o ControlPath="$T/cm" rescue 'sleep 2; echo slow' >"$T/slow" &
SLOW=$!
sleep 0.5
out=$(timeout 120 ssh $S -o ControlPath="$T/cm" rescue 'echo quick')
is "a second channel runs while the first is busy" "$out" quick
wait "$SLOW"
is "and the first one finishes too" "$(cat "$T/slow")" slow

# lifeline's own subsystem on the same connection (lifeline+exec: runs
# ssh -s through the master): beside an ssh command started before it, an
# ssh command and an sftp get started while it runs.  One per connection:
# a second is refused.
LLVIA="lifeline+exec:ssh $S -o ControlPath=$T/cm -s rescue lifeline"
timeout 120 ssh $S -o ControlPath="$T/cm" rescue 'sleep 4; echo slow' >"$T/slow" &
SLOW=$!
sleep 0.5
timeout 120 "$LIFELINE" --via "$LLVIA" exec -- sh -c 'sleep 2; echo first' \
	>"$T/first" 2>"$T/err" &
FIRST=$!
sleep 1
out=$(timeout 120 ssh $S -o ControlPath="$T/cm" rescue 'echo second')
is "an ssh command starts while a lifeline exec runs" "$out" second
printf 'get %s %s\n' "$T/data" "$T/down.mux" >"$T/batch.mux"
timeout 120 sftp $S -o ControlPath="$T/cm" -b "$T/batch.mux" rescue >/dev/null 2>&1
is "so does an sftp get, byte-exact" "$(sha "$T/down.mux" 2>/dev/null)" "$(sha "$T/data")"
wait "$FIRST"
is "the lifeline exec beside them finishes" "$(cat "$T/first")" first
wait "$SLOW"
is "and so does the ssh command started before it" "$(cat "$T/slow")" slow
timeout 60 ssh $S -o ControlPath="$T/cm" -s rescue lifeline </dev/null 2>"$T/err"
check "a second lifeline subsystem on the connection is refused" \
	grep -q "refused the lifeline subsystem on channel [0-9]*: this connection has had one already" "$T/agent.log"
timeout 30 ssh $S -o ControlPath="$T/cm" -O exit rescue 2>/dev/null
is "one SSH connection carried them all" \
	"$(grep -c 'SSH channels for' "$T/agent.log")" $((n0 + 1))

# proxy alone: a clear message when the agent's SSH is not on the line.
"$LIFELINE" --insecure --via "$VIA" proxy </dev/null >/dev/null 2>"$T/err"
is "proxy with --insecure is a usage error (2)" $? 2
check "that names the option" grep -q -- "--insecure" "$T/err"
