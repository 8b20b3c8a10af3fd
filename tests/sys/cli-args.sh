#!/bin/sh
# Options anywhere (issue 13, item 1): a command's options and the global
# ones may follow its operands, as GNU tools take them, but never after
# "--", and never inside the command that exec and attach run.  A real
# agent on a unix socket, --insecure.
. "$(dirname "$0")/lib.sh"
plan 11

start_agent --listen "unix:$T/agent.sock"
for _ in $(seq 50); do [ -S "$T/agent.sock" ] && break; sleep 0.05; done
VIA="unix:$T/agent.sock"
L() { "$LIFELINE" --insecure "$@"; }

echo payload >"$T/src"
mkdir "$T/dst" "$T/in"
L --via "$VIA" get "$T/src" "$T/got" --rescue-host
is "get REMOTE LOCAL --rescue-host copies from the rescue host" "$(cat "$T/got" 2>/dev/null)" payload
L get "$T/src" "$T/got2" --rescue-host --via "$VIA" -v 2>"$T/v.err"
is "global options (--via, -v) after the operands work too" "$(cat "$T/got2" 2>/dev/null)" payload
grep -q -e "link" "$T/v.err"
is "and -v there is verbose" "$?" 0
L --via "$VIA" put "$T/src" "$T/in/" --rescue-host
is "put LOCAL REMOTE --rescue-host copies to the rescue host" "$(cat "$T/in/src" 2>/dev/null)" payload

out=$(L --via "$VIA" exec -- echo --rescue-host 2>/dev/null)
is "after --, an option-like word is an operand" "$out" --rescue-host
out=$(L --via "$VIA" exec printf '%s|' -n --json 2>/dev/null)
is "exec's command keeps its own options (no -- needed)" "$out" "-n|--json|"
out=$(L --via "$VIA" exec --timeout 5 echo -v 2>/dev/null)
is "exec options before the command still count" "$out" -v

L --via "$VIA" passwd root --stdin </dev/null >"$T/pw.out" 2>&1
rc=$?
is "passwd USER --stdin is not a usage error (no target root: 1)" "$rc" 1
L --via "$VIA" mount /dev/lifeline-no-such-device --ro >"$T/m.out" 2>&1
grep -q -e '--ro' "$T/m.out"
is "mount SOURCE --ro: --ro is an option, not the target" "$?" 1
out=$(L --via "$VIA" info --json 2>/dev/null | head -c 1)
is "info --json prints JSON" "$out" "{"
(cd "$T" && L --via "$VIA" get -- "$T/src" "$T/got3" --rescue-host) >"$T/g.out" 2>&1
rc=$?
if [ "$rc" -ne 0 ] && [ ! -e "$T/got3" ]; then ok "after --, --rescue-host is an operand, not an option"
else not_ok "after --, --rescue-host is an operand, not an option"; diag "rc $rc"; fi
