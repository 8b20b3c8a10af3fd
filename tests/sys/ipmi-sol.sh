#!/bin/sh
# IPMI Serial-over-LAN as operators use it: OpenIPMI's BMC simulator
# (ipmi_sim, a BMC on 127.0.0.1 whose "sol" device is one end of a socat PTY
# pair) and the real ipmitool, driven by lifeline's ipmi:// path; the agent
# serves the other end of the PTY pair.  Checked: the first reply and its
# time, transfers byte-exact both ways, sessions back to back, a client
# killed with SIGKILL (the BMC keeps its payload) followed by a refusal that
# says so and a --take-over, ipmitool's escape '~' passing through untouched
# (console), a wrong password, a missing ipmitool, and SSH inside the link.
#
# ipmi_sim answers no "Get Channel Cipher Suites", so ipmitool waits 10 s for
# it unless a cipher suite is given: the path says ?cipher=3 as one would for
# such a BMC.  The agent's side of the PTY runs at 921600 baud (a PTY has no
# real rate; the simulator's SOL is not paced): SOL_MIB sets the transfer
# size (1 MiB here, 4 MiB from `make bench`).
. "$(dirname "$0")/lib.sh"
need ipmi_sim ipmitool python3 socat ssh-keygen pkill
plan 22
MIB=${SOL_MIB:-1}

PORT=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start_ptys sol agent
cat >"$T/lan.conf" <<EOF
name "lltest"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 $PORT
    priv_limit admin
    allowed_auths_callback none md2 md5 straight
    allowed_auths_user none md2 md5 straight
    allowed_auths_operator none md2 md5 straight
    allowed_auths_admin none md2 md5 straight
    guid a123456789abcdefa123456789abcdef
  endlan
  sol "$T/sol" 115200
  user 2 true "operator" "s3cret" admin 10 none md2 md5 straight
EOF
cat >"$T/sim.cmds" <<EOF
mc_setbmc 0x20
mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr
mc_enable 0x20
EOF
ipmi_sim -n -c "$T/lan.conf" -f "$T/sim.cmds" -s "$T/simstate" \
	>"$T/sim.log" 2>&1 &
PIDS="$PIDS $!"
export IPMI_PASSWORD=s3cret
for _ in $(seq 50); do
	ipmitool -C 3 -I lanplus -H 127.0.0.1 -p "$PORT" -U operator -E \
		mc info >/dev/null 2>&1 && break
	sleep 0.1
done
start_agent --serial "$T/agent,921600"
VIA="ipmi://operator@127.0.0.1:$PORT?cipher=3"

ms() { echo $(( $(date +%s%N) / 1000000 )); }

# The first reply, and how long it takes from start.
t0=$(ms)
ll info >"$T/out" 2>"$T/err"
rc=$?
t1=$(ms)
is "info over SOL exits 0" "$rc" 0
check "info came back" grep -q "^console *$T/agent" "$T/out"
diag "ipmi: start to first reply $((t1 - t0)) ms"

# Sessions back to back: each leaves with ~. so the BMC frees the payload.
n=0
for i in 1 2 3; do
	ll exec -- echo "session $i" >"$T/out" 2>"$T/err" &&
		[ "$(cat "$T/out")" = "session $i" ] && n=$((n + 1))
done
is "three sessions back to back all work" "$n" 3

# Transfers, byte-exact, both ways.
head -c $((MIB * 1048576)) /dev/urandom >"$T/data"
t0=$(ms)
ll get --rescue-host "$T/data" "$T/got" >/dev/null 2>"$T/err"
is "get of $MIB MiB over SOL exits 0" "$?" 0
t1=$(ms)
is "and arrives byte-exact" "$(sha "$T/got")" "$(sha "$T/data")"
diag "ipmi: get $MIB MiB in $((t1 - t0)) ms"
t0=$(ms)
ll put --rescue-host "$T/data" "$T/put" >/dev/null 2>"$T/err"
is "put of $MIB MiB over SOL exits 0" "$?" 0
t1=$(ms)
is "and arrives byte-exact" "$(sha "$T/put")" "$(sha "$T/data")"
diag "ipmi: put $MIB MiB in $((t1 - t0)) ms"

# ipmitool's escape: "~." after a line end would end ipmitool, "~~" would
# lose a '~'.  Typed into lifeline console, both reach the far end as they
# are.  The agent steps aside; a reader takes the line.
stop_agent
socat -d -d -u "$T/agent,raw,echo=0" "OPEN:$T/typed,creat" 2>"$T/reader.log" &
reader=$!
PIDS="$PIDS $reader"
# socat sets the PTY raw first: bytes before that are flushed, so wait for
# its data loop (a fixed sleep lost the first byte under load)
for _ in $(seq 100); do
	grep -q 'starting data transfer loop' "$T/reader.log" && break
	sleep 0.1
done
printf 'one\n~.\n~~two\n~?\n' >"$T/keys"
"$LIFELINE" --via "$VIA" console --drain 1 <"$T/keys" >/dev/null 2>"$T/err"
is "console over SOL exits 0" "$?" 0
# the simulated BMC may still be passing the last bytes on under load
for _ in $(seq 100); do
	[ "$(wc -c <"$T/typed")" -ge "$(wc -c <"$T/keys")" ] && break
	sleep 0.1
done
is "'~.', '~~' and '~?' after line ends reach the far end unchanged" \
	"$(od -An -c "$T/typed" | tr -s ' ')" "$(od -An -c "$T/keys" | tr -s ' ')"
kill "$reader" 2>/dev/null
wait "$reader" 2>/dev/null
start_agent --serial "$T/agent,921600"

# A client killed outright leaves the payload active on the BMC.
ll exec -- sleep 60 >/dev/null 2>&1 &
victim=$!
for _ in $(seq 50); do
	pgrep -f "ipmitool.*-p $PORT .*sol activate" >/dev/null && break
	sleep 0.1
done
sleep 1
kill -9 "$victim"
wait "$victim" 2>/dev/null
sleep 0.5
ll info </dev/null >"$T/out" 2>"$T/err"
is "the next session, with the payload still held, exits 3" "$?" 3
check "and says the payload is active on another session" \
	grep -q "SOL payload is already active on another session" "$T/err"
check "and names --take-over" grep -q -- "--take-over" "$T/err"
ll --take-over info </dev/null >"$T/out" 2>"$T/err"
is "--take-over deactivates it and connects" "$?" 0
check "and says what it did" grep -q "deactivating the SOL session" "$T/err"

# ipmitool's own errors.
IPMI_PASSWORD=wrong ll info </dev/null >"$T/out" 2>"$T/err"
is "a wrong password exits 3" "$?" 3
check "with ipmitool's words and what they mean" \
	grep -q "Unable to establish IPMI v2 / RMCP+ session.*wrong user name or password" "$T/err"
env -u IPMI_PASSWORD "$LIFELINE" --insecure --via "$VIA" info </dev/null 2>"$T/err"
is "no password anywhere exits 3" "$?" 3
check "and says where a password may come from" grep -q "set IPMI_PASSWORD or add ?password-file=FILE" "$T/err"
mkdir -p "$T/nobin"
ln -s "$(command -v env)" "$T/nobin/env"
PATH="$T/nobin" "$LIFELINE" --insecure --via "$VIA" info </dev/null 2>"$T/err"
check "a missing ipmitool names the package" grep -q "install the ipmitool package" "$T/err"

# attach over SOL: a login prompt (tests/sys/fake-login.py) where the agent
# was; attach logs in, starts lifelined --stdio there and runs info.
stop_agent
rm -f "$T/ready"
printf 'Secr3t-sol\n' >"$T/rootpw"
python3 "$top_srcdir/tests/sys/fake-login.py" "$T/agent" --ready "$T/ready" \
	--user root --password Secr3t-sol 2>>"$T/fake.err" &
login=$!
PIDS="$PIDS $login"
for _ in $(seq 100); do [ -e "$T/ready" ] && break; sleep 0.05; done
ll attach --password-file "$T/rootpw" --agent-command \
	"$LIFELINED --stdio --insecure --debug-file $T/agent2.log" \
	</dev/null >"$T/out" 2>"$T/err"
is "attach over SOL logs in and starts the agent (0)" "$?" 0
check "and info came back from it" grep -q "^agent " "$T/out"
# Everything in the fake login's session (it called setsid): the agent too.
pkill -s "$login" 2>/dev/null
wait "$login" 2>/dev/null

# SSH inside the link over SOL, with the password from a file.
stop_agent
ssh_setup
start_agent_ssh --serial "$T/agent,921600"
printf 's3cret\n' >"$T/pw"
chmod 600 "$T/pw"
VIA="ipmi://operator@127.0.0.1:$PORT?cipher=3&password-file=$T/pw"
out=$(env -u IPMI_PASSWORD HOME="$T/home" SSH_AUTH_SOCK= "$LIFELINE" \
	--via "$VIA" --known-hosts "$T/known_hosts" --accept-new-host-key \
	exec -- echo over ssh over sol 2>"$T/err")
is "SSH inside the link over SOL (password from a file)" "$out" "over ssh over sol" ||
	diag "$(cat "$T/err")"
