#!/bin/sh
# passwd and passwd-info on a real ext4 target over a PTY link: the hash
# method follows the target's evidence and verifies with crypt(); only the
# one field changes (CRLF, no trailing newline, very long lines); mode,
# owner and xattrs are kept and shadow- holds the old file; locked entries,
# lock/unlock/expire/clear, unknown users, a read-only mount, a held lock
# and etc/shadow symlinks to the rescue host's own /etc/shadow are refused
# with clear errors and nothing changed.
. "$(dirname "$0")/lib.sh"
need_root
need python3
python3 -W ignore -c 'import crypt' 2>/dev/null || skip_all "python3 has no crypt module"
plan 85

R="$T/target"
start_ptys a b
VIA="serial:$T/b"

# No target root yet: the exact sentence.
start_agent --serial "$T/a"
echo x | ll passwd --stdin root >/dev/null 2>"$T/err"
is "without a target root passwd fails" "$?" 1
grep -q 'no target root is mounted: run `lifeline mount` first' "$T/err" &&
	ok "and says to mount first" || not_ok "says to mount first: $(cat "$T/err")"
ll passwd --lock root >/dev/null 2>"$T/err"
grep -q 'no target root is mounted' "$T/err" &&
	ok "--lock without a target root says the same" || not_ok "lock: $(cat "$T/err")"
stop_agent

make_tree "$T/tree"
make_ext4 root 64 "$T/tree"
dev=$(attach "$T/root.img")
LOOPS="$dev $LOOPS"	# attach ran in a subshell: remember it here
mount_at "$dev" "$R"
start_agent --serial "$T/a" --target-root "$R"

S="$R/etc/shadow"
field() { awk -F: -v u="$1" -v i="$2" '$1 == u { print $i; exit }' "$S" | tr -d '\r'; }
verifies() {
	python3 -W ignore -c 'import crypt, sys
h = sys.argv[2]
sys.exit(0 if h and crypt.crypt(sys.argv[1], h) == h else 1)' "$1" "$2"
}
# expect_field OLD NEW USER SPEC...: NEW is OLD with USER's fields replaced,
# byte for byte; a SPEC is IDX (1-based: what NEW has there) or IDX=VALUE.
expect_field() {
	python3 - "$@" <<-'E'
	import sys
	old = open(sys.argv[1], "rb").read(); new = open(sys.argv[2], "rb").read()
	user = sys.argv[3].encode()
	def find(b):
	    for l in b.split(b"\n"):
	        if l.startswith(user + b":"):
	            return l
	    sys.exit("no line for user")
	ol = find(old); f = ol.split(b":")
	for spec in sys.argv[4:]:
	    idx, eq, val = spec.partition("=")
	    idx = int(idx) - 1
	    f[idx] = val.encode() if eq else find(new).split(b":")[idx]
	want = old.replace(ol + b"\n", b":".join(f) + b"\n", 1) if ol + b"\n" in old else old.replace(ol, b":".join(f), 1)
	if want != new:
	    sys.exit("files differ beyond the fields")
	E
}
# today in days since 1970-01-01 (UTC), as shadow's last-change field
today() { echo $(( $(date +%s) / 86400 )); }
xattr() { python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], sys.argv[2]).decode())' "$1" "$2" 2>/dev/null; }
snap() { manifest "$R" >"$T/m.before"; cp "$S" "$T/shadow.old" 2>/dev/null; }
changed() { manifest "$R" >"$T/m.after"; changed_entries "$T/m.before" "$T/m.after"; }
hostsha=$(sha /etc/shadow)

# --- set with --stdin: yescrypt from login.defs ---------------------------
chown 0:42 "$S"; chmod 640 "$S"
python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.test", b"kept")' "$S" ||
	diag "user xattrs unsupported here"
snap
echo 'newpass' | ll passwd --stdin root >"$T/out" 2>"$T/err"
is "passwd --stdin root exits 0" "$?" 0
h=$(field root 2)
case $h in '$y$j9T$'*) ok "the hash is yescrypt with cost 5 (login.defs)" ;; *) not_ok "yescrypt hash: $h" ;; esac
check "the new hash verifies with crypt()" verifies newpass "$h"
grep -q 'yescrypt.*ENCRYPT_METHOD YESCRYPT' "$T/out" && ok "the client says which method and why" ||
	not_ok "method explained: $(cat "$T/out")"
check "every other byte is unchanged" expect_field "$T/shadow.old" "$S" root 2 "3=$(today)"
is "the last change is today, as passwd(1) sets it" "$(field root 3)" "$(today)"
grep -q "last password change: $(date -u +%Y-%m-%d) (day $(today))" "$T/out" &&
	ok "and the client says so" || not_ok "lastchg reported: $(cat "$T/out")"
check "etc/shadow- holds the old file" cmp "$T/shadow.old" "$R/etc/shadow-"
is "mode and owner kept" "$(stat -c '%a %u %g' "$S")" "640 0 42"
is "the user.test xattr kept" "$(xattr "$S" user.test)" "kept"
is "only shadow, shadow- and the lock file changed" "$(changed)" "etc/.pwd.lock etc/shadow etc/shadow- "
grep -q 'PermitRootLogin prohibit-password (etc/ssh/sshd_config:1)' "$T/out" &&
	ok "PermitRootLogin prohibit-password is reported" || not_ok "sshd blocker: $(cat "$T/out")"
grep -q 'login shell of root, /bin/bash, does not exist' "$T/out" &&
	ok "a missing shell is reported" || not_ok "shell blocker"
if grep -q 'newpass' "$T/agent.log" || grep -qF "$h" "$T/agent.log"; then
	not_ok "the agent log holds neither password nor hash"
else ok "the agent log holds neither password nor hash"; fi

# --- no ENCRYPT_METHOD: follow the existing hashes -----------------------
printf 'SHA_CRYPT_MAX_ROUNDS 6000\n' >"$R/etc/login.defs"
sed -i 's/^root:[^:]*:/root:*:/' "$S"
snap
json=$(echo 'sha pass' | ll --json passwd --stdin root 2>"$T/err")
is "passwd --json exits 0" "$?" 0
h=$(field root 2)
case $h in '$6$rounds=6000$'*) ok "without ENCRYPT_METHOD the other hashes' method is used (sha512, 6000 rounds)" ;;
	*) not_ok "sha512 hash: $h" ;; esac
check "and verifies" verifies 'sha pass' "$h"
is "--json tells the method and why" "$(printf '%s\n' "$json" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["method"]["prefix"], d["changed"], "other hashes" in d["method"]["reason"])')" '$6$ True True'
check "other bytes unchanged" expect_field "$T/shadow.old" "$S" root 2 "3=$(today)"
is "--json reports the last-change day" "$(printf '%s\n' "$json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["lastchg"])')" "$(today)"
check "shadow- is the previous file" cmp "$T/shadow.old" "$R/etc/shadow-"
rm "$R/etc/login.defs"
sed -i 's/^alice:[^:]*:/alice:!:/' "$S"
# nothing usable anywhere but root's own sha512: still sha512 (the current hash)
echo 'again' | ll passwd --stdin root >"$T/out" 2>&1
case $(field root 2) in '$6$'*) ok "no login.defs: the current hash's method is kept" ;; *) not_ok "current method: $(cat "$T/out")" ;; esac
printf 'ENCRYPT_METHOD YESCRYPT\n' >"$R/etc/login.defs"

# --- CRLF lines, no trailing newline, a very long line --------------------
python3 - "$S" <<-'E'
import sys
lines = [b"root:$y$j9T$abc$def:19700:0:99999:7:::", b"verylong:!:19700:0:99999:7:::" + b"x" * 100000,
         b"daemon:*:19700:0:99999:7:::", b"alice:$6$salt$hash:19700:0:99999:7:::", b"bob:!:19700:0:99999:7:::"]
open(sys.argv[1], "wb").write(b"\r\n".join(lines))
E
snap
echo 'crlf pass' | ll passwd --stdin alice >"$T/out" 2>&1
is "passwd on a CRLF file without a final newline exits 0" "$?" 0
check "the new hash verifies" verifies 'crlf pass' "$(field alice 2)"
check "CRLF, the missing final newline and the 100 KB line stay as they were" expect_field "$T/shadow.old" "$S" alice 2 "3=$(today)"
is "the file still ends without a newline" "$(tail -c 1 "$S" | od -An -c | tr -d ' ')" ':'
snap
echo 'last pass' | ll passwd --stdin bob >/dev/null 2>&1
check "the last line (no newline, locked \"!\") gets its hash" verifies 'last pass' "$(field bob 2)"
check "and nothing else changed" expect_field "$T/shadow.old" "$S" bob 2 "3=$(today)"

# --- lock, unlock, expire, clear ------------------------------------------
snap
old=$(field alice 2)
ll passwd --lock alice >"$T/out" 2>&1
is "--lock prefixes \"!\"" "$(field alice 2)" "!$old"
check "--lock changes only that field (not the last change)" expect_field "$T/shadow.old" "$S" alice "2=!$old"
grep -q 'password of alice is locked' "$T/out" && ok "the locked account is reported as a blocker" || not_ok "locked blocker: $(cat "$T/out")"
cp "$S" "$T/s1"
ll passwd --lock alice >"$T/out" 2>&1
is "--lock twice exits 0" "$?" 0
grep -q 'already locked: nothing changed' "$T/out" && ok "and says it was already locked" || not_ok "already locked: $(cat "$T/out")"
check "and leaves the file alone" cmp "$T/s1" "$S"
ll passwd --unlock alice >/dev/null 2>&1
is "--unlock removes the \"!\"" "$(field alice 2)" "$old"
ll passwd --lock daemon >/dev/null 2>&1
is "--lock on a \"*\" entry gives \"!*\"" "$(field daemon 2)" '!*'
ll passwd --unlock daemon >/dev/null 2>&1
is "--unlock gives \"*\" back" "$(field daemon 2)" '*'
printf 'root:$y$j9T$abc$def:19700:0:99999:7:::\nnopw:!:19700:0:99999:7:::\n' >"$S"
printf 'nopw:x:1003:1003::/home/nopw:/bin/sh\n' >>"$R/etc/passwd"
snap
ll passwd --unlock nopw >/dev/null 2>"$T/err"
is "--unlock of a bare \"!\" is refused" "$?" 1
grep -q 'would leave an empty password' "$T/err" && ok "and says why" || not_ok "unlock empty: $(cat "$T/err")"
is "nothing changed" "$(changed)" ""
ll passwd --expire root >"$T/out" 2>&1
is "--expire sets the last change to 0" "$(field root 3)" 0
check "--expire changes only that field" expect_field "$T/shadow.old" "$S" root 3=0
grep -q 'password change is forced' "$T/out" && ok "the forced change is reported" || not_ok "expire blocker: $(cat "$T/out")"
ll passwd --clear root >"$T/out" 2>"$T/err"
is "--clear empties the field" "$(field root 2)" ""
is "--clear dates the change today" "$(field root 3)" "$(today)"
grep -q 'no password at all' "$T/err" && ok "--clear warns" || not_ok "--clear warns: $(cat "$T/err")"
ll passwd --hash '$5$abcdefgh$P6Ai0EsXlyqAaxzSnUkPXNGVBAiTc6ywjOR4KHM35H1' root >/dev/null 2>&1
is "--hash puts the given hash in" "$(field root 2)" '$5$abcdefgh$P6Ai0EsXlyqAaxzSnUkPXNGVBAiTc6ywjOR4KHM35H1'
ll passwd --hash 'not-a-hash' root >/dev/null 2>"$T/err"
is "--hash with a malformed hash is a usage error" "$?" 2
ll passwd --lock --expire root >/dev/null 2>&1
is "two actions are a usage error" "$?" 2

# --- --password on a terminal: typed twice without echo -------------------
# tty_passwd ANSWER...: run passwd --password alice on a new pty, typing
# each answer at a password prompt
tty_passwd() {
	python3 - "$LIFELINE" "$VIA" "$@" <<-'E' >"$T/tty.out" 2>&1
	import os, pty, sys, time
	pid, fd = pty.fork()
	if pid == 0:
	    os.execv(sys.argv[1], [sys.argv[1], "--insecure", "--via", sys.argv[2], "passwd", "--password", "alice"])
	out = b""; answers = sys.argv[3:]
	while True:
	    try:
	        b = os.read(fd, 4096)
	    except OSError:
	        break
	    if not b:
	        break
	    out += b
	    if answers and out.endswith(b": ") and (b"password" in out.splitlines()[-1].lower()):
	        time.sleep(0.2); os.write(fd, answers.pop(0).encode() + b"\n")
	_, st = os.waitpid(pid, 0)
	sys.stdout.write(out.decode(errors="replace"))
	sys.exit(os.waitstatus_to_exitcode(st))
	E
}
printf 'alice:!:19700:0:99999:7:::\n' >>"$S"
snap
tty_passwd 'tty one' 'tty two' 'x1' 'x2' 'y1' 'y2'
is "--password with different entries three times fails" "$?" 1
grep -q 'did not match 3 times' "$T/tty.out" && ok "and says they did not match" || not_ok "mismatch: $(cat "$T/tty.out")"
is "nothing changed" "$(changed)" ""
tty_passwd 'tty one' 'tty two' 'tty pass' 'tty pass'
is "--password asks again after a mismatch, and then works (exit 0)" "$?" 0
grep -q 'do not match; try again' "$T/tty.out" && ok "saying the two did not match" || not_ok "try again: $(cat "$T/tty.out")"
check "the typed password verifies" verifies 'tty pass' "$(field alice 2)"
grep -q 'tty pass' "$T/tty.out" && not_ok "the password is not echoed" || ok "the password is not echoed"

# --- users missing, read-only, lock held, no terminal ---------------------
printf 'carol:x:1002:1002::/home/carol:/bin/sh\n' >>"$R/etc/passwd"
snap
echo pw | ll passwd --stdin carol >/dev/null 2>"$T/err"
grep -q 'user carol is in the target.s etc/passwd but has no line in etc/shadow' "$T/err" &&
	ok "a user missing from shadow is named" || not_ok "missing from shadow: $(cat "$T/err")"
ll passwd --lock nosuch >/dev/null 2>"$T/err"
grep -q 'no user nosuch in the target' "$T/err" && ok "an unknown user is named" || not_ok "unknown user: $(cat "$T/err")"
setsid "$LIFELINE" --insecure --via "$VIA" passwd --password root </dev/null >/dev/null 2>"$T/err"
grep -q 'needs a terminal' "$T/err" && ok "--password without a terminal says so" || not_ok "no tty: $(cat "$T/err")"
mount -o remount,ro "$R"
echo pw | ll passwd --stdin root >/dev/null 2>"$T/err"
is "a read-only target fails" "$?" 1
grep -q 'the target is mounted read-only' "$T/err" && ok "with a clear error" || not_ok "ro: $(cat "$T/err")"
mount -o remount,rw "$R"
is "nothing changed by those errors" "$(changed)" ""
python3 -c 'import fcntl, sys, time
f = open(sys.argv[1], "w"); fcntl.lockf(f, fcntl.LOCK_EX); print("held", flush=True); time.sleep(8)' "$R/etc/.pwd.lock" >"$T/held" &
PIDS="$PIDS $!"
for _ in $(seq 50); do grep -q held "$T/held" && break; sleep 0.1; done
snap
echo pw | ll passwd --stdin root >/dev/null 2>"$T/err"
is "a held etc/.pwd.lock fails (after 5 s)" "$?" 1
grep -q 'held by another process' "$T/err" && ok "and says the lock is busy" || not_ok "busy: $(cat "$T/err")"
is "nothing changed" "$(changed)" ""

# --- what a stopped run left -----------------------------------------------
# Temp files of a run killed before its renames (full copies of shadow), and
# shadow- as a second name of shadow (killed between the two renames): the
# next run removes the temp files under the lock, makes shadow- the old file
# again, and leaves no temp file of its own.
cp -p "$S" "$R/etc/.shadow.lifeline-AbCd1234"
cp -p "$S" "$R/etc/.shadow-.lifeline-XyZw5678"
mkdir "$R/etc/.shadow.lifeline-Dir45678"	# not one of ours: left alone
rm -f "$R/etc/shadow-"; ln "$S" "$R/etc/shadow-"
cp "$S" "$T/shadow.old"
echo 'after a stop' | ll passwd --stdin root >/dev/null 2>"$T/err"
is "passwd after a stopped run exits 0" "$?" 0
is "  no temp files are left in etc" \
	"$(find "$R/etc" -maxdepth 1 -type f -name '.shadow*.lifeline-*' | wc -l)" 0
check "  the log names the stale ones it removed" grep -q "removed .shadow.lifeline-AbCd1234" "$T/agent.log"
check "  shadow- holds the old file" cmp "$T/shadow.old" "$R/etc/shadow-"
[ "$(stat -c %i "$S")" != "$(stat -c %i "$R/etc/shadow-")" ] &&
	ok "  shadow and shadow- are two files again" || not_ok "  shadow and shadow- are still one inode"
is "  a directory of that name is left alone" "$(test -d "$R/etc/.shadow.lifeline-Dir45678" && echo kept)" kept
rmdir "$R/etc/.shadow.lifeline-Dir45678"

# --- a FIFO planted at etc/.pwd.lock --------------------------------------
# Opening it for writing would block the agent for ever.
rm -f "$R/etc/.pwd.lock"; mkfifo "$R/etc/.pwd.lock"
snap
echo pw | timeout 20 "$LIFELINE" --insecure --via "$VIA" passwd --stdin root >/dev/null 2>"$T/err"
is "a FIFO at etc/.pwd.lock fails" "$?" 1
grep -q 'etc/.pwd.lock is not a regular file' "$T/err" && ok "and says what is wrong with it" || not_ok "fifo: $(cat "$T/err")"
is "nothing changed (FIFO lock)" "$(changed)" ""
rm -f "$R/etc/.pwd.lock"

# --- etc/shadow as a symlink to the rescue host's /etc/shadow -------------
for link in /etc/shadow ../../etc/shadow; do
	rm -f "$S"; ln -s "$link" "$S"
	snap
	echo pw | ll passwd --stdin root >/dev/null 2>"$T/err"
	is "etc/shadow -> $link fails" "$?" 1
	grep -q 'etc/shadow is a symlink: refusing' "$T/err" && ok "etc/shadow -> $link is refused" || not_ok "symlink $link: $(cat "$T/err")"
	is "nothing in the target changed ($link)" "$(changed)" ""
done
is "the rescue host's /etc/shadow is untouched" "$(sha /etc/shadow)" "$hostsha"
kill -0 "$AGENT_PID" 2>/dev/null && ok "the agent is still up" || not_ok "the agent is still up"
