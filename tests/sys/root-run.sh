#!/bin/sh
# lifeline run: scripts of info / exec / ping lines over a PTY pair.  The
# transcript order, stopping at the first failure with its status,
# --keep-going, comments, blank lines and quoting, refused constructs named
# by line number, the --json transcript and a script read from stdin.
# Needs no root: it touches no disk.
. "$(dirname "$0")/lib.sh"
plan 33

start_ptys a b
start_agent --serial "$T/a"
VIA="serial:$T/b"

# py EXPR: evaluate a Python expression over the JSON document in $T/json
py() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$T/json"; }

# --- a script that succeeds: order, comments, blanks, quoting ------------
cat >"$T/ok.ll" <<'E'
# a comment line, then a blank one

info
   # an indented comment
exec -- echo 'a b'
exec -- printf '[%s]' "two  spaces" back\ slash 'it'\''s' x#y # trailing comment
exec -- printf '[%s]' one \
	continued
ping -c 1 -i 0
E
ll run "$T/ok.ll" >"$T/out" 2>"$T/err"
is "a script of successful commands exits 0" "$?" 0
is "one header per command, with its line number, in order" \
	"$(awk '/^== / { printf "%s ", $2 }' "$T/err")" "[3] [5] [6] [7] [9] "
grep -q '^== \[5\] exec -- echo '"'a b'"'$' "$T/err" &&
	ok "the header shows the words quoted as a shell would" ||
	not_ok "header quoting: $(grep '^== \[5\]' "$T/err")"
grep -q "^kernel *$(uname -r)\$" "$T/out" && ok "info's output is passed through" ||
	not_ok "info output: $(cat "$T/out")"
grep -qx 'a b' "$T/out" && ok "'a b' is one argument" || not_ok "'a b' is one argument: $(cat "$T/out")"
grep -q "\[two  spaces\]\[back slash\]\[it's\]\[x#y\]" "$T/out" &&
	ok "double quotes, backslashes, '\\'' and # inside a word" ||
	not_ok "quoting: $(cat "$T/out")"
grep -q '\[one\]\[continued\]' "$T/out" && ok "a backslash-newline continues the line" ||
	not_ok "continuation: $(cat "$T/out")"
grep -q 'reply from agent: seq=1' "$T/out" && ok "ping runs from a script" || not_ok "ping: $(cat "$T/out")"

# --- stopping at the first failure -----------------------------------------
cat >"$T/fail.ll" <<'E'
exec -- echo first
exec -- false
exec -- echo third
exec -- sh -c 'exit 7'
exec -- echo fifth
E
ll run "$T/fail.ll" >"$T/out" 2>"$T/err"
is "the first failure stops the script with its status (false -> 1)" "$?" 1
is "nothing after the failure runs" "$(cat "$T/out")" "first"
grep -q 'line 2 (exec) failed with exit status 1' "$T/err" &&
	ok "the failing line is named" || not_ok "failing line named: $(cat "$T/err")"
grep -q '3 of 5 commands not run' "$T/err" &&
	ok "the commands not run are counted" || not_ok "not-run count: $(cat "$T/err")"

ll run --keep-going "$T/fail.ll" >"$T/out" 2>"$T/err"
is "--keep-going exits with the first failure's status" "$?" 1
is "--keep-going runs the rest" "$(cat "$T/out" | tr '\n' ' ')" "first third fifth "
grep -q '2 of 5 commands failed' "$T/err" && ok "--keep-going counts the failures" ||
	not_ok "failure count: $(cat "$T/err")"

printf 'exec -- sh -c "exit 7"\nexec -- false\n' >"$T/seven.ll"
ll run -k "$T/seven.ll" 2>/dev/null
is "the first failure's status is kept (7, not 1)" "$?" 7

# --- refused scripts: nothing runs, the line is named -----------------------
# refused NAME WANT_MESSAGE: the script in $T/bad.ll is refused before
# anything runs (its first line would create $T/ran).
refused() {
	ll run "$T/bad.ll" >"$T/out" 2>"$T/err"
	rc=$?
	if [ "$rc" = 2 ] && grep -q "$2" "$T/err" && [ ! -e "$T/ran" ]; then
		ok "$1"
	else
		not_ok "$1"; diag "rc=$rc ran=$([ -e "$T/ran" ] && echo yes || echo no)"
		diag "$(cat "$T/err")"
	fi
	rm -f "$T/ran"
}
printf 'exec -- touch %s\n\n# comment\nexec -- echo $(id -u)\n' "$T/ran" >"$T/bad.ll"
refused '$(...) is refused with its line number, before anything runs' \
	'line 4: command substitution (\$(...)) is not allowed'
printf 'exec -- touch %s\nexec -- echo "`id -u`"\n' "$T/ran" >"$T/bad.ll"
refused 'backticks are refused with the line number' \
	'line 2: command substitution (`...`) is not allowed'
printf 'exec -- touch %s\nrun other.ll\n' "$T/ran" >"$T/bad.ll"
refused 'run inside a script is refused' 'line 2: run cannot be used inside a script'
printf 'exec -- touch %s\nexec -- dmesg | tail\n' "$T/ran" >"$T/bad.ll"
refused 'an unquoted pipe is refused' "line 2: unquoted '|'"
printf "exec -- touch %s\nexec -- echo 'open\n" "$T/ran" >"$T/bad.ll"
refused 'an unterminated quote is refused' 'line 2: unterminated single quote'
printf 'exec -- touch %s\nexec -- echo $LIFELINE_TEST_UNSET_VAR\n' "$T/ran" >"$T/bad.ll"
refused 'an unset variable is refused' 'line 2: \$LIFELINE_TEST_UNSET_VAR is not set'

# variables from the environment: one word each, never split
out=$(printf 'exec -- printf [%%s] "$RUNVAR" $RUNVAR\n' | RUNVAR='x  y' ll run - 2>/dev/null)
is "\$VAR expands from the environment without splitting" "$out" "[x  y][x  y]"

# --- --json --------------------------------------------------------------
ll --json run -k "$T/fail.ll" >"$T/json" 2>"$T/err"
is "run --json exits with the first failure's status" "$?" 1
is "--json: every step with its line and exit status" \
	"$(py '" ".join("%d:%d" % (s["line"], s["exit_status"]) for s in d["steps"])')" \
	"1:0 2:1 3:0 4:7 5:0"
is "--json: failed counts the failures" "$(py 'd["failed"]')" 2
is "--json: argv and stdout of a step" \
	"$(py 'd["steps"][0]["argv"], repr(d["steps"][0]["result"]["stdout"])')" \
	"['exec', '--', 'echo', 'first'] 'first\\n'"
is "--json: no headers on stderr" "$(grep -c '^== ' "$T/err")" 0
py 'all(isinstance(s["duration_ms"], int) and "stderr" in s for s in d["steps"])' |
	grep -qx True && ok "--json: duration_ms and stderr in every step" ||
	not_ok "--json fields: $(cat "$T/json")"
ll --json run "$T/fail.ll" >"$T/json" 2>/dev/null
is "--json without --keep-going stops too" "$(py 'len(d["steps"]), d["not_run"]')" "2 3"

# --- the script from stdin ----------------------------------------------
out=$(printf '# from stdin\nexec -- echo from-stdin\nexec -- cat\n' | ll run - 2>"$T/err")
is "- reads the script from stdin; commands read /dev/null" "$out" "from-stdin"
grep -q '^== \[2\] exec -- echo from-stdin$' "$T/err" && ok "stdin script headers name lines" ||
	not_ok "stdin headers: $(cat "$T/err")"

kill -0 "$AGENT_PID" 2>/dev/null && ok "the agent is still up" || not_ok "the agent is still up"
