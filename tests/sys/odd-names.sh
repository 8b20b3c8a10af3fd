#!/bin/sh
# File names that are bytes, not text (issue 10, item 6): a name that is not
# UTF-8, names with a newline, a tab or a backslash, a 255-byte name, and a
# symlink whose target is not UTF-8 go through get and put under their exact
# bytes; asking for such a file directly works; nothing is skipped with a
# success.  The agent serves the rescue host's files (--rescue-host) on a
# unix socket, so no target root (and no root) is needed.
. "$(dirname "$0")/lib.sh"
need python3
plan 23

start_agent --listen "unix:$T/agent.sock"
VIA="unix:$T/agent.sock"
for _ in $(seq 100); do [ -S "$T/agent.sock" ] && break; sleep 0.05; done

# The tree, made byte for byte by python (a shell would mangle the names).
python3 - "$T/data" <<'E'
import os, sys
d = os.fsencode(sys.argv[1])
os.makedirs(d + b"/sub\xff")
def put(name, data):
    with open(d + b"/" + name, "wb") as f:
        f.write(data)
put(b"caf\xe9.txt", b"latin-1 name\n")
put(b"line\nbreak", b"newline in the name\n")
put(b"tab\there back\\slash", b"tab and backslash\n")
put(b"x" * 255, b"a 255-byte name\n")
put(b"sub\xff/na\xefve \xe2\x82", b"cut UTF-8 sequence in the name\n")
put("ünïcödé.txt".encode(), b"valid UTF-8\n")
os.symlink(b"target-\xe9", d + b"/link\xe9")
E
n_src=$(find "$T/data" -print0 | tr -cd '\000' | wc -c)

# The issue's case: a directory with one non-UTF-8 name and one plain one;
# it was "got 2 entries", exit 0, the odd file silently left out.
mkdir "$T/latin"
printf 'plain\n' >"$T/latin/ok.txt"
printf 'odd\n' >"$T/latin/caf$(printf '\351').txt"
ll get --rescue-host "$T/latin" "$T/got-latin" >"$T/out" 2>"$T/err"
grep -q "got 3 entries" "$T/out" && ok "get of data/ with caf\\xe9.txt counts 3 entries" || not_ok "latin: $(cat "$T/out" "$T/err")"
is "and copies caf\\xe9.txt" "$(cat "$T/got-latin/caf$(printf '\351').txt" 2>/dev/null)" "odd"

# get of the whole tree
ll get --rescue-host "$T/data" "$T/got" >"$T/out" 2>"$T/err"
is "get of a tree with odd names exits 0" "$?" 0
diag "$(cat "$T/out" "$T/err")"
grep -q "got $n_src entries" "$T/out" && ok "and counts every entry ($n_src)" || not_ok "entry count: $(cat "$T/out")"
python3 "$top_srcdir/tests/same-tree.py" "$T/data" "$T/got" >"$T/cmp" 2>&1 && ok "the copy has the same names, bytes and link targets" || not_ok "trees differ: $(cat "$T/cmp")"
[ "$(cat "$T/got/caf$(printf '\351').txt")" = "latin-1 name" ] && ok "caf\\xe9.txt is there under its raw name" || not_ok "caf\\xe9.txt"
[ "$(readlink "$T/got/link$(printf '\351')")" = "target-$(printf '\351')" ] && ok "the link's non-UTF-8 target is kept" || not_ok "link target"

# one file asked for directly by its raw name
ll get --rescue-host "$T/data/caf$(printf '\351').txt" "$T/one" 2>"$T/err"
is "get of a non-UTF-8 path exits 0" "$?" 0
is "and gets its bytes" "$(cat "$T/one" 2>/dev/null)" "latin-1 name"
ll get --rescue-host "$T/data/line
break" "$T/two" 2>"$T/err"
is "get of a name with a newline gets its bytes" "$(cat "$T/two" 2>/dev/null)" "newline in the name"

# --json names what is not UTF-8 in base64
ll --json get --rescue-host "$T/data/caf$(printf '\351').txt" "$T/three" >"$T/json" 2>"$T/err"
python3 -c '
import json, sys, base64
f = json.load(open(sys.argv[1]))["files"][0]
assert "remote" not in f, f
assert base64.b64decode(f["remote_base64"]).endswith(b"/caf\xe9.txt"), f
' "$T/json" && ok "--json gives a non-UTF-8 path as remote_base64" || not_ok "json: $(cat "$T/json")"

# put of the tree back, as another name
ll put --rescue-host "$T/data" "$T/put" >"$T/out" 2>"$T/err"
is "put of a tree with odd names exits 0" "$?" 0
diag "$(cat "$T/out" "$T/err")"
python3 "$top_srcdir/tests/same-tree.py" "$T/data" "$T/put" >"$T/cmp" 2>&1 && ok "the agent wrote the same names, bytes and link targets" || not_ok "trees differ: $(cat "$T/cmp")"

# The wire: file-stat answers name_base64, a path may come as path_base64.
out=$("$LLPEER" raw --via "$VIA" --wait-ms 3000 \
	--call "1:-:file-stat={\"rescue_host\":true,\"path_base64\":\"$(printf '%s/data/caf\351.txt' "$T" | base64 -w0)\"}" \
	--call "2:-:file-stat={\"rescue_host\":true,\"path\":\"/x\",\"path_base64\":\"L3g=\"}" \
	--call "3:-:file-stat={\"rescue_host\":true,\"path_base64\":\"L3g\"}" \
	--call "4:-:file-stat={\"rescue_host\":true,\"path_base64\":\"L3gAeQ==\"}")
diag "$out"
echo "$out" | grep -q '^3 1 .*"name_base64":"Y2Fm6S50eHQ="' && ok "file-stat of path_base64 answers with name_base64" || not_ok "file-stat base64"
echo "$out" | grep -q '^4 2 .*"bad_request".*not both' && ok "path and path_base64 together: bad_request" || not_ok "both keys"
echo "$out" | grep -q '^4 3 .*"bad_request".*strict base64' && ok "bad base64: bad_request" || not_ok "bad base64"
echo "$out" | grep -q '^4 4 .*"bad_request".*NUL byte' && ok "a NUL byte in a path: bad_request" || not_ok "NUL in path"

# Other commands: a path argument carries any bytes, other text that is not
# UTF-8 is refused by name instead of being sent without it.
out=$(ll exec --cwd "$T/data/sub$(printf '\377')" -- /bin/pwd 2>"$T/err")
is "exec --cwd with a non-UTF-8 directory runs there" "$out" "$T/data/sub$(printf '\377')"
ll exec -- /bin/echo "caf$(printf '\351')" >"$T/out" 2>"$T/err"
is "exec with a non-UTF-8 argument exits 2" "$?" 2
LC_ALL=C grep -aq 'exec: argument ".*" is not UTF-8 text' "$T/err" && ok "and says which argument" || not_ok "exec arg: $(cat "$T/err")"
[ ! -s "$T/out" ] && ok "and runs nothing (no command without its argument)" || not_ok "exec ran: $(cat "$T/out")"
ll passwd --lock "b$(printf '\351')b" 2>"$T/err"
is "passwd for a non-UTF-8 user name exits 2 (not a request about root)" "$?" 2
LC_ALL=C grep -aq 'passwd: user ".*" is not UTF-8 text' "$T/err" && ok "and says so" || not_ok "passwd user: $(cat "$T/err")"
