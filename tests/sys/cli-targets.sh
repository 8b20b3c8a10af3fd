#!/bin/sh
# Named targets (issue 13, item 4): Target blocks in
# $XDG_CONFIG_HOME/lifeline/config give -t NAME its path and settings; the
# command line wins over them; a missing target or a bad line is a usage
# error naming the file (and line); run passes -t on to its lines;
# LIFELINE_IDENTITY and LIFELINE_HOST_KEY_FINGERPRINT are read.  A real
# agent on a unix socket.
. "$(dirname "$0")/lib.sh"
plan 10

start_agent --listen "unix:$T/agent.sock"
for _ in $(seq 50); do [ -S "$T/agent.sock" ] && break; sleep 0.05; done
export XDG_CONFIG_HOME="$T/xdg"
unset LIFELINE_VIA
mkdir -p "$T/xdg/lifeline"
cat >"$T/xdg/lifeline/config" <<EOC
# the lab's rescue host
Target lab
    via unix:$T/agent.sock
    insecure yes
    timeout 5

target broken
    via unix:$T/agent.sock
    colour blue
EOC

is "-t NAME takes the target's path and settings" "$("$LIFELINE" -t lab exec -- echo hi 2>/dev/null)" hi
is "so does --target NAME after the command" "$("$LIFELINE" exec --target lab -- echo hi 2>/dev/null)" hi
"$LIFELINE" --via "unix:$T/none.sock" -t lab info >/dev/null 2>"$T/err"
is "an option given wins over the target's setting" "$?" 3
"$LIFELINE" -t nosuch info >/dev/null 2>"$T/err"
is "an unknown target is a usage error" "$?" 2
grep -q "no Target nosuch in $T/xdg/lifeline/config" "$T/err"
is "naming the files looked in" "$?" 0
"$LIFELINE" -t broken info >/dev/null 2>"$T/err"
is "an unknown setting is a usage error" "$?" 2
grep -q "config:9: in target broken" "$T/err"
is "naming the file and line" "$?" 0
is "help --targets lists the names" "$("$LIFELINE" help --targets | tr '\n' ' ')" "lab broken "
printf 'exec -- echo one\nexec -- echo two\n' >"$T/script"
is "run passes -t to each line" "$("$LIFELINE" -t lab run "$T/script" 2>/dev/null | tr '\n' ' ')" "one two "
LIFELINE_HOST_KEY_FINGERPRINT=nonsense "$LIFELINE" -t lab info >/dev/null 2>&1
is "a malformed LIFELINE_HOST_KEY_FINGERPRINT is a usage error" "$?" 2
