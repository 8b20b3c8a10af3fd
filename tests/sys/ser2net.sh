#!/bin/sh
# A console server in front of the serial line: Debian's ser2net (4.x) on a
# socat PTY pair, the agent on the other end.  ser2net offers the line twice,
# as a raw TCP port (lifeline's tcp:) and as a telnet port with RFC 2217
# (telnet://, where 0xFF travels doubled and the client sets the baud rate).
# Checked on both: the first reply and its time, transfers byte-exact both
# ways (random data holds 0xFF, the link's 8-bit alphabet sends it raw), a
# file of nothing but 0xFF, and 0xFF typed into and printed by a console; on
# telnet, the baud set through RFC 2217 reaching the device.  SER2NET_MIB
# sets the transfer size (1 MiB here, 4 MiB from `make bench`).
. "$(dirname "$0")/lib.sh"
need ser2net python3 socat stty pkill
plan 21
MIB=${SER2NET_MIB:-1}

free_tcp() { free_port; }
RAW=$(free_tcp)
TEL=$(free_tcp)
while [ "$TEL" = "$RAW" ]; do TEL=$(free_tcp); done
start_ptys dev agent
cat >"$T/ser2net.yaml" <<EOF
connection: &raw
  accepter: tcp,127.0.0.1,$RAW
  connector: serialdev,$T/dev,115200n81,local
  options:
    kickolduser: true
connection: &telnet
  accepter: telnet(rfc2217),tcp,127.0.0.1,$TEL
  connector: serialdev,$T/dev,115200n81,local
  options:
    kickolduser: true
EOF
ser2net -n -d -c "$T/ser2net.yaml" -P "$T/ser2net.pid" >"$T/ser2net.log" 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 50); do
	python3 -c "import socket; socket.create_connection(('127.0.0.1', $TEL)).close()" \
		2>/dev/null && break
	sleep 0.1
done
start_agent --serial "$T/agent,921600"
head -c $((MIB * 1048576)) /dev/urandom >"$T/data"
head -c 65536 /dev/zero | tr '\0' '\377' >"$T/ff"

ms() { echo $(( $(date +%s%N) / 1000000 )); }

# ser2net closes the device a moment after a client leaves; a client that
# comes at once to the other port of the same device may be turned away.
settle() { sleep 1; }

transfers() {
	what=$1
	t0=$(ms)
	ll info >"$T/out" 2>"$T/err"
	rc=$?
	t1=$(ms)
	is "$what: info exits 0" "$rc" 0
	diag "$what: start to first reply $((t1 - t0)) ms"
	t0=$(ms)
	ll get --rescue-host "$T/data" "$T/got" >/dev/null 2>"$T/err"
	rc=$?
	t1=$(ms)
	is "$what: get of $MIB MiB is byte-exact" "$rc $(sha "$T/got")" "0 $(sha "$T/data")"
	diag "$what: get $MIB MiB in $((t1 - t0)) ms"
	t0=$(ms)
	ll put --rescue-host "$T/data" "$T/put" >/dev/null 2>"$T/err"
	rc=$?
	t1=$(ms)
	is "$what: put of $MIB MiB is byte-exact" "$rc $(sha "$T/put")" "0 $(sha "$T/data")"
	diag "$what: put $MIB MiB in $((t1 - t0)) ms"
	ll get --rescue-host "$T/ff" "$T/ff.got" >/dev/null 2>"$T/err"
	is "$what: 64 KiB of 0xFF come back as they are" "$(sha "$T/ff.got")" "$(sha "$T/ff")"
	ll put --rescue-host "$T/ff" "$T/ff.put" >/dev/null 2>"$T/err"
	is "$what: 64 KiB of 0xFF go out as they are" "$(sha "$T/ff.put")" "$(sha "$T/ff")"
	rm -f "$T/got" "$T/put" "$T/ff.got" "$T/ff.put"
}

VIA="tcp:127.0.0.1:$RAW"
transfers "ser2net raw"
settle
VIA="telnet://127.0.0.1:$TEL"
transfers "ser2net telnet"

# A console on each port: 0xFF (and the bytes around it) typed by the user
# reach the device, and the device's 0xFF reach the user.  An echoing far
# end takes the agent's place.
stop_agent
python3 -c '
import os, sys, termios, tty
fd = os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY)
tty.setraw(fd)
while True:
    b = os.read(fd, 4096)
    if not b:
        break
    os.write(fd, b)
' "$T/agent" &
echoer=$!
PIDS="$PIDS $echoer"
sleep 0.3
# What the last session left in the line (its closing frames) comes back
# from the echo first: a console with nothing to say takes it.
"$LIFELINE" --via "tcp:127.0.0.1:$RAW" console --drain 0.5 </dev/null \
	>/dev/null 2>&1
printf 'a\377b\377\377c\r\n\0z' >"$T/keys"
for how in raw telnet; do
	settle
	if [ $how = raw ]; then VIA="tcp:127.0.0.1:$RAW"; else VIA="telnet://127.0.0.1:$TEL"; fi
	"$LIFELINE" --via "$VIA" console --drain 2 <"$T/keys" >"$T/echo" 2>"$T/err"
	is "ser2net $how: console exits 0" "$?" 0
	is "ser2net $how: 0xFF, CR LF and NUL typed come back unchanged" \
		"$(od -An -tx1 "$T/echo" | tr -d ' \n')" "$(od -An -tx1 "$T/keys" | tr -d ' \n')"
done

# attach through the telnet port: a login prompt on the line; attach logs
# in, starts lifelined --stdio there and runs info.
kill "$echoer"
wait "$echoer" 2>/dev/null
settle
rm -f "$T/ready"
printf 'Secr3t-s2n\n' >"$T/rootpw"
python3 "$top_srcdir/tests/sys/fake-login.py" "$T/agent" --ready "$T/ready" \
	--user root --password Secr3t-s2n 2>>"$T/fake.err" &
login=$!
PIDS="$PIDS $login"
for _ in $(seq 100); do [ -e "$T/ready" ] && break; sleep 0.05; done
VIA="telnet://127.0.0.1:$TEL"
ll attach --password-file "$T/rootpw" --agent-command \
	"$LIFELINED --stdio --insecure --debug-file $T/agent2.log" \
	</dev/null >"$T/out" 2>"$T/err"
is "attach through ser2net's telnet port logs in and starts the agent" "$?" 0
check "and info came back from it" grep -q "^agent " "$T/out"
# Everything in the fake login's session (it called setsid): the agent too.
pkill -s "$login" 2>/dev/null
wait "$login" 2>/dev/null

# RFC 2217: the baud given with telnet:// is what the device is set to.
# The console stays up while the device is polled (it used to leave after
# 0.5 s of quiet, which under distcheck's load was before the speed was
# seen), and is sent away once it is.
settle
VIA="telnet://127.0.0.1:$TEL?baud=57600"
"$LIFELINE" --via "$VIA" console --drain 10 </dev/null >/dev/null 2>"$T/err" &
con=$!
speed=
for _ in $(seq 100); do
	sleep 0.1
	speed=$(stty -F "$T/dev" speed 2>/dev/null)
	[ "$speed" = 57600 ] && break
done
kill "$con" 2>/dev/null
wait "$con"
is "telnet://...?baud=57600 sets the device to 57600 baud (RFC 2217)" "$speed" 57600

# Errors that name what was wrong.
"$LIFELINE" --via "telnet://127.0.0.1:$TEL?speed=9600" info </dev/null 2>"$T/err"
is "an unknown telnet:// option is a malformed spec: exits 2" "$?" 2
check "and says which option is allowed" grep -q "the only option is baud=N" "$T/err"
"$LIFELINE" --via "telnet://127.0.0.1" info </dev/null 2>"$T/err"
is "a telnet:// without a port is a malformed spec: exits 2" "$?" 2
check "and shows the form" grep -q "expected telnet://HOST:PORT" "$T/err"
