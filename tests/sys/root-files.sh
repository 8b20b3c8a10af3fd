#!/bin/sh
# get and put against a real ext4 target root: trees equal by manifest
# (modes, owners, symlinks as links, sizes, sha256, mtimes), nothing else
# changed, atomic replace with a backup, refusals, symlinks that point out
# of the target never reach the rescue host's files, and resuming a cut
# transfer of a big file in both directions.
#
# The tree cases run over a socat PTY pair at 4 Mbaud (the serial transport
# paces output to the line rate, about 400 KB/s there).  The 50 MiB resume
# cases run over a unix socket listener with the same target root, where
# they take seconds instead of minutes; a smaller resume case runs over the
# PTY too.
. "$(dirname "$0")/lib.sh"
need_root
need socat python3 sha256sum
plan 75

BIG_MB=50
PTY_MB=4

# mtimes (to the second) of every entry below two trees, side by side
mtimes() {
	python3 - "$1" <<-'E'
	import os, sys
	root = sys.argv[1]
	for dp, dns, fns in os.walk(root):
	    for n in sorted(dns + fns):
	        p = os.path.join(dp, n)
	        print(os.path.relpath(p, root), int(os.lstat(p).st_mtime))
	    dns.sort()
	print(".", int(os.lstat(root).st_mtime))
	E
}
# json FIELD: a top-level field of the --json summary on stdin
json() { python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"])"; }
# wait_size FILE BYTES PID: until FILE holds at least BYTES (or 60 s, or
# until process PID ended)
wait_size() {
	for _ in $(seq 6000); do
		kill -0 "$3" 2>/dev/null || return 1
		s=$(stat -c %s "$1" 2>/dev/null || echo 0)
		[ "$s" -ge "$2" ] && return 0
		sleep 0.01
	done
	return 1
}

# --- the target ---------------------------------------------------------
make_tree "$T/tree"
ln -s / "$T/tree/root/demo/escape"
ln -s ../../../.. "$T/tree/root/demo/up"
chown 1000:1000 "$T/tree/root/demo/sub/file"
chmod 0751 "$T/tree/root/demo/sub"
touch -h -d '2020-02-02 12:34:56' "$T/tree/root/demo/link-to-notes" \
	"$T/tree/root/demo/notes.txt" "$T/tree/root/demo/sub/file"
head -c $((BIG_MB * 1048576)) /dev/urandom >"$T/tree/root/big.bin"
head -c $((PTY_MB * 1048576)) /dev/urandom >"$T/tree/root/mid.bin"
make_ext4 target 300 "$T/tree"
dev=$(attach "$T/target.img")
mount_at "$dev" "$T/mnt"
host_before=$(sha256sum /etc/passwd /etc/shadow /etc/hostname 2>/dev/null)

# no target root yet: the agent says to mount first
"$LIFELINED" --insecure --listen "unix:$T/noroot.sock" \
	--debug-file "$T/agent-noroot.log" 2>>"$T/agent.stderr" &
PIDS="$PIDS $!"
start_ptys a b
start_agent --serial "$T/a,4000000" --target-root "$T/mnt"
VIA="serial:$T/b,4000000"
sleep 0.3
"$LIFELINE" --insecure --via "unix:$T/noroot.sock" get /root/demo "$T/x" \
	2>"$T/err"
is "get without a target root fails" "$?" 1
grep -q 'no target root is mounted: run `lifeline mount` first' "$T/err" &&
	ok "and says to mount first" || not_ok "and says to mount first: $(cat "$T/err")"

# --- get a tree ---------------------------------------------------------
ll get /root/demo "$T/got" >"$T/out" 2>"$T/err"
is "get /root/demo LOCAL exits 0" "$?" 0
manifest "$T/mnt/root/demo" >"$T/m.remote"
manifest "$T/got" >"$T/m.local"
if cmp -s "$T/m.remote" "$T/m.local"; then ok "the copy equals the target tree by manifest (modes, owners, links, sha256)"
else not_ok "the copy equals the target tree"; diff "$T/m.remote" "$T/m.local" | sed 's/^/#   /'; fi
mtimes "$T/mnt/root/demo" >"$T/t.remote"; mtimes "$T/got" >"$T/t.local"
if cmp -s "$T/t.remote" "$T/t.local"; then ok "mtimes are kept (to the second), directories and links included"
else not_ok "mtimes kept"; diff "$T/t.remote" "$T/t.local" | sed 's/^/#   /'; fi
is "a symlink comes as the link itself" "$(readlink "$T/got/escape")" "/"
mkdir "$T/into"
ll get /root/demo/notes.txt /root/demo/sub "$T/into" >/dev/null 2>"$T/err"
is "get of several into an existing directory exits 0" "$?" 0
[ -f "$T/into/notes.txt" ] && [ -f "$T/into/sub/file" ] &&
	ok "and lands below it, like cp -a" || not_ok "lands below it: $(ls -R "$T/into")"
json=$(ll --json get /root/demo/notes.txt "$T/into/j.txt" 2>/dev/null)
is "get --json reports the file's sha256" \
	"$(printf '%s\n' "$json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["files"][0]["sha256"])')" \
	"$(sha "$T/mnt/root/demo/notes.txt")"
ls -a "$T" "$T/got" "$T/into" | grep -q lifeline-part && not_ok "no part files are left" || ok "no part files are left (none beside a directory got either)"

# A path named on the command line is asked for with get at once; the
# file-stat comes only when the agent refuses that (not a regular file).
ops() { grep -c "op start: .* op=\"$1\"" "$T/agent.log"; }
s0=$(ops file-stat); g0=$(ops get)
ll get /root/demo/notes.txt "$T/one.txt" >/dev/null 2>"$T/err"
is "get of one file exits 0" "$?" 0
is "it takes one get request and no file-stat" "$(ops file-stat) $(ops get)" "$s0 $((g0 + 1))"
is "with the file's mode and mtime from get's event" "$(stat -c '%a %Y' "$T/one.txt")" \
	"$(stat -c '%a %Y' "$T/mnt/root/demo/notes.txt")"
ll get /root/demo/link-to-notes "$T/one-link" >/dev/null 2>"$T/err"
is "get of a symlink named on the command line exits 0" "$?" 0
is "and makes the link itself" "$(readlink "$T/one-link")" "$(readlink "$T/mnt/root/demo/link-to-notes")"
mkfifo "$T/mnt/root/demo/pipe"
( exec 3>"$T/mnt/root/demo/pipe"; : >"$T/fifo-opened" ) &
wpid=$!
ll get /root/demo/pipe "$T/one-pipe" >/dev/null 2>"$T/err"
is "get of a FIFO exits 0 (skipped)" "$?" 0
grep -q 'skipping /root/demo/pipe: not a file' "$T/err" && ok "and says it skips it" || not_ok "says it skips it: $(cat "$T/err")"
sleep 0.2
[ ! -e "$T/fifo-opened" ] && [ ! -e "$T/one-pipe" ] && ok "the agent never opened the FIFO (its writer still waits)" ||
	not_ok "the agent never opened the FIFO"
kill "$wpid" 2>/dev/null; rm -f "$T/mnt/root/demo/pipe"; wait "$wpid" 2>/dev/null
is "get --json of a missing file names the agent's code" \
	"$(ll --json get /root/demo/nonexistent "$T/ne" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["error"]["code"])')" not_found
ls -a "$T" | grep -q lifeline-part && not_ok "no part file is left beside them" || ok "no part file is left beside them"

# refusals on the local side
echo x >"$T/plainfile"
ll get /root/demo/sub "$T/plainfile" >/dev/null 2>"$T/err"
is "get of a directory onto a local file fails" "$?" 1
grep -q 'refusing to replace it with a directory' "$T/err" && ok "and says why" || not_ok "and says why: $(cat "$T/err")"
ll get root/demo "$T/rel" >/dev/null 2>"$T/err"
is "a relative remote path is a usage error" "$?" 2
grep -q 'remote paths are absolute' "$T/err" && ok "and says remote paths are absolute" || not_ok "relative path message: $(cat "$T/err")"
ll get /root/demo/nonexistent "$T/ne" >/dev/null 2>"$T/err"
is "a missing remote file fails" "$?" 1
grep -q '/root/demo/nonexistent' "$T/err" && ok "and names it" || not_ok "names it: $(cat "$T/err")"

# --- put a tree ---------------------------------------------------------
mkdir -p "$T/up/pt/nested/deeper"
printf 'secret\n' >"$T/up/pt/secret"; chmod 600 "$T/up/pt/secret"
printf 'shared\n' >"$T/up/pt/nested/shared"; chmod 640 "$T/up/pt/nested/shared"
head -c 100000 /dev/urandom >"$T/up/pt/nested/deeper/blob"
ln -s nested/shared "$T/up/pt/link"
chmod 750 "$T/up/pt" "$T/up/pt/nested"
chown -R -h 1000:1000 "$T/up/pt"
touch -h -d '2021-03-04 05:06:07' "$T/up/pt/link" "$T/up/pt/secret"
printf 'new notes\n' >"$T/up/notes.txt"; chmod 644 "$T/up/notes.txt"
old_notes=$(sha "$T/mnt/root/demo/notes.txt")
manifest "$T/mnt" >"$T/before"
ll put "$T/up/pt" /root >/dev/null 2>"$T/err"
is "put of a tree into /root exits 0" "$?" 0
ll put "$T/up/notes.txt" /root/demo/notes.txt >/dev/null 2>"$T/err"
is "put over an existing file exits 0" "$?" 0
manifest "$T/mnt" >"$T/after"
manifest "$T/up/pt" >"$T/m.local"
manifest "$T/mnt/root/pt" >"$T/m.remote"
if cmp -s "$T/m.local" "$T/m.remote"; then ok "the target copy equals the local tree by manifest (0750/0640/0600, 1000:1000, link)"
else not_ok "target copy equals the local tree"; diff "$T/m.local" "$T/m.remote" | sed 's/^/#   /'; fi
if [ "$(mtimes "$T/up/pt")" = "$(mtimes "$T/mnt/root/pt")" ]; then ok "put keeps mtimes"
else not_ok "put keeps mtimes"; fi
is "only the intended entries changed in the target" "$(changed_entries "$T/before" "$T/after")" \
	"root/demo/notes.txt root/demo/notes.txt.lifeline-bak root/pt root/pt/link root/pt/nested root/pt/nested/deeper root/pt/nested/deeper/blob root/pt/nested/shared root/pt/secret "
is "the replaced file's content is the new one" "$(cat "$T/mnt/root/demo/notes.txt")" "new notes"
is "the backup holds what was replaced" "$(sha "$T/mnt/root/demo/notes.txt.lifeline-bak")" "$old_notes"
ls -a "$T/mnt/root" "$T/mnt/root/demo" | grep -q lifeline-part && not_ok "no temp files are left" || ok "no temp files are left"

# refusals on the target side, nothing changed
cp "$T/after" "$T/before"
mkdir -p "$T/up2"; echo f >"$T/up2/sub"
ll put "$T/up2/sub" /root/demo >/dev/null 2>"$T/err"
is "put of a file over a directory fails" "$?" 1
grep -q 'refusing to replace a directory' "$T/err" && ok "and says why" || not_ok "and says why: $(cat "$T/err")"
ll put "$T/up/pt" /root/demo/notes.txt >/dev/null 2>"$T/err"
is "put of a directory over a file fails" "$?" 1
grep -q 'refusing to replace it with a directory' "$T/err" && ok "and says why" || not_ok "and says why: $(cat "$T/err")"
ll put "$T/up/notes.txt" /root/nodir/x >/dev/null 2>"$T/err"
is "put into a missing directory fails" "$?" 1
manifest "$T/mnt" >"$T/after"
is "the refused puts changed nothing" "$(changed_entries "$T/before" "$T/after")" ""

# --- symlinks pointing out of the target --------------------------------
ll get /root/demo/escape/etc/shadow "$T/esc-shadow" >/dev/null 2>"$T/err"
if [ ! -e "$T/esc-shadow" ] || [ "$(sha "$T/esc-shadow")" = "$(sha "$T/mnt/etc/shadow")" ]; then
	ok "get through escape -> / reads the target's etc/shadow at most, never the host's"
else not_ok "get through escape reached the host's /etc/shadow"; fi
ll get /root/demo/up/etc/passwd "$T/up-passwd" >/dev/null 2>"$T/err"
if [ ! -e "$T/up-passwd" ] || [ "$(sha "$T/up-passwd")" = "$(sha "$T/mnt/etc/passwd")" ]; then
	ok "get through up -> ../../../.. stays in the target"
else not_ok "get through up reached the host"; fi
ll get /root/demo/escape "$T/esc-link" >/dev/null 2>"$T/err"
is "get of the escape link itself copies the link" "$(readlink "$T/esc-link")" "/"
rm -f /tmp/lifeline-files-escape-probe
echo probe >"$T/probe"
ll put "$T/probe" /root/demo/escape/tmp/lifeline-files-escape-probe >/dev/null 2>"$T/err"
[ ! -e /tmp/lifeline-files-escape-probe ] && ok "put through escape never writes the host's /tmp" ||
	{ not_ok "put through escape wrote the host's /tmp"; rm -f /tmp/lifeline-files-escape-probe; }
ll put "$T/probe" /root/demo/up/tmp/lifeline-files-escape-probe >/dev/null 2>"$T/err"
[ ! -e /tmp/lifeline-files-escape-probe ] && ok "put through up never writes the host's /tmp" ||
	{ not_ok "put through up wrote the host's /tmp"; rm -f /tmp/lifeline-files-escape-probe; }
is "the rescue host's passwd, shadow and hostname are unchanged" \
	"$(sha256sum /etc/passwd /etc/shadow /etc/hostname 2>/dev/null)" "$host_before"

# --rescue-host addresses the rescue system's files
echo "host file $$" >"$T/hostfile"
ll get --rescue-host "$T/hostfile" "$T/got-host" >/dev/null 2>"$T/err"
is "get --rescue-host of a host file works" "$(cat "$T/got-host" 2>/dev/null)" "host file $$"
ll put --rescue-host "$T/probe" "$T/host-put" >/dev/null 2>"$T/err"
is "put --rescue-host writes the host file" "$(cat "$T/host-put" 2>/dev/null)" "probe"

# --- temp names planted by the target -----------------------------------
# A compromised server can leave anything at put's temp name: a hard link
# to its shadow, a link to a file holding a prefix of the upload (so the
# client would resume into it), a FIFO, a file of another owner.  None of
# them may be written through; the upload lands in a fresh file.
E=$T/mnt/etc
shadow_before=$(sha "$E/shadow"); shadow_mode=$(stat -c %a "$E/shadow")
printf 'setting = 1\n' >"$T/app.conf"
ln "$E/shadow" "$E/.app.conf.lifeline-part"
ll put "$T/app.conf" /etc/app.conf >/dev/null 2>"$T/err"
is "put with its temp name hard-linked to shadow exits 0" "$?" 0
is "  shadow is unchanged" "$(sha "$E/shadow")" "$shadow_before"
is "  shadow keeps its mode" "$(stat -c %a "$E/shadow")" "$shadow_mode"
is "  the file is put" "$(sha "$E/app.conf")" "$(sha "$T/app.conf")"
head -c 200000 /dev/urandom >"$T/app.bin"
head -c 100000 "$T/app.bin" >"$E/victim"
victim_before=$(sha "$E/victim")
ln "$E/victim" "$E/.app.bin.lifeline-part"
ll put "$T/app.bin" /etc/app.bin >/dev/null 2>"$T/err"
is "put never resumes into a hard-linked part file" "$(sha "$E/victim")" "$victim_before"
is "  the file is put whole" "$(sha "$E/app.bin")" "$(sha "$T/app.bin")"
head -c 100000 "$T/app.bin" >"$E/.app2.bin.lifeline-part"
chown 1000:1000 "$E/.app2.bin.lifeline-part"
bytes=$(ll --json put "$T/app.bin" /etc/app2.bin 2>"$T/err" | json bytes)
is "put does not resume from a part file of another owner" "$bytes" 200000
mkfifo "$E/.app3.conf.lifeline-part"
timeout 20 "$LIFELINE" --insecure --via "$VIA" put "$T/app.conf" /etc/app3.conf >/dev/null 2>"$T/err"
is "put over a FIFO at its temp name exits 0" "$?" 0
is "  the file is put" "$(sha "$E/app3.conf" 2>/dev/null)" "$(sha "$T/app.conf")"
ls -a "$E" | grep -q lifeline-part && not_ok "no part files are left in etc" || ok "no part files are left in etc"

# NAME and NAME.lifeline-bak as one inode (a put stopped before its last
# rename): the next put keeps the old file as the backup and leaves no
# .NAME.lifeline-bakt.
printf 'old\n' >"$E/twice.conf"; ln "$E/twice.conf" "$E/twice.conf.lifeline-bak"
ll put "$T/app.conf" /etc/twice.conf >/dev/null 2>"$T/err"
is "put over a file that is its own backup exits 0" "$?" 0
is "  no .lifeline-bakt is left" "$(ls -A "$E" | grep -c 'lifeline-bakt')" 0
is "  the backup holds the old file" "$(cat "$E/twice.conf.lifeline-bak")" old

# --- resume over the PTY ------------------------------------------------
size=$((PTY_MB * 1048576))
"$LIFELINE" --insecure --via "$VIA" get /root/mid.bin "$T/mid.bin" 2>"$T/bg.err" &
cpid=$!
wait_size "$T/.mid.bin.lifeline-part" $((size / 2)) $cpid && kill -9 $cpid
wait $cpid 2>/dev/null
part=$(stat -c %s "$T/.mid.bin.lifeline-part" 2>/dev/null || echo 0)
[ "$part" -gt 0 ] && [ "$part" -lt "$size" ] && ok "a killed get leaves a partial file ($part of $size bytes)" ||
	not_ok "a killed get leaves a partial file ($part of $size)"
# The next client gets a clean session: nothing of the killed one's queue.
ll --json get /root/mid.bin "$T/mid.bin" >"$T/out" 2>"$T/err"
is "the first command after a killed client succeeds" "$?" 0
bytes=$(json bytes <"$T/out" 2>/dev/null)
is "the resumed get over the PTY completes with the same sha256" "$(sha "$T/mid.bin")" "$(sha "$T/mnt/root/mid.bin")"
[ -n "$bytes" ] && [ "$bytes" -le $((size - part)) ] && ok "and transferred only the rest ($bytes bytes)" ||
	not_ok "resumed get transferred $bytes bytes (partial was $part)"

# --- resume of a 50 MiB file, over a unix socket ------------------------
"$LIFELINED" --insecure --listen "unix:$T/agent.sock" --target-root "$T/mnt" \
	--debug-file "$T/agent-sock.log" 2>>"$T/agent.stderr" &
PIDS="$PIDS $!"
SVIA="unix:$T/agent.sock"
for _ in $(seq 100); do
	"$LIFELINE" --insecure --via "$SVIA" info >/dev/null 2>&1 && break
	sleep 0.05
done
size=$((BIG_MB * 1048576))
"$LIFELINE" --insecure --via "$SVIA" get /root/big.bin "$T/big.bin" 2>"$T/bg.err" &
cpid=$!
wait_size "$T/.big.bin.lifeline-part" $((size / 2)) $cpid && kill -9 $cpid
wait $cpid 2>/dev/null
part=$(stat -c %s "$T/.big.bin.lifeline-part" 2>/dev/null || echo 0)
[ "$part" -gt 0 ] && [ "$part" -lt "$size" ] && ok "get of $BIG_MB MiB killed midway leaves a partial file ($part bytes)" ||
	{ not_ok "killed get of $BIG_MB MiB leaves a partial file ($part of $size)"; diag "$(cat "$T/bg.err")"; }
bytes=$("$LIFELINE" --insecure --via "$SVIA" --json get /root/big.bin "$T/big.bin" 2>"$T/err" | json bytes)
is "the resumed get completes with the same sha256" "$(sha "$T/big.bin")" "$(sha "$T/mnt/root/big.bin")"
[ -n "$bytes" ] && [ "$bytes" -lt "$size" ] && [ "$bytes" -le $((size - part)) ] &&
	ok "and transferred less than the whole ($bytes of $size bytes)" || not_ok "resumed get transferred $bytes bytes"

head -c $size /dev/urandom >"$T/up/big2.bin"
cp "$T/mnt/root/big.bin" "$T/big-orig"
"$LIFELINE" --insecure --via "$SVIA" put "$T/up/big2.bin" /root/big.bin 2>"$T/bg.err" &
cpid=$!
wait_size "$T/mnt/root/.big.bin.lifeline-part" $((size / 2)) $cpid && kill -9 $cpid
wait $cpid 2>/dev/null
part=$(stat -c %s "$T/mnt/root/.big.bin.lifeline-part" 2>/dev/null || echo 0)
[ "$part" -gt 0 ] && [ "$part" -lt "$size" ] && ok "put killed midway leaves the temp file ($part bytes)" ||
	not_ok "killed put leaves the temp file ($part of $size)"
is "the temp file is mode 0600" "$(stat -c %a "$T/mnt/root/.big.bin.lifeline-part" 2>/dev/null)" 600
is "the cut put left the old file untouched" "$(sha "$T/mnt/root/big.bin")" "$(sha "$T/big-orig")"
bytes=$("$LIFELINE" --insecure --via "$SVIA" --json put "$T/up/big2.bin" /root/big.bin 2>"$T/err" | json bytes)
is "the resumed put completes with the same sha256" "$(sha "$T/mnt/root/big.bin")" "$(sha "$T/up/big2.bin")"
[ -n "$bytes" ] && [ "$bytes" -lt "$size" ] && [ "$bytes" -le $((size - part)) ] &&
	ok "and transferred less than the whole ($bytes of $size bytes)" || not_ok "resumed put transferred $bytes bytes"
is "the replaced big file is kept as the backup" "$(sha "$T/mnt/root/big.bin.lifeline-bak")" "$(sha "$T/big-orig")"
kill -0 "$AGENT_PID" 2>/dev/null && ok "the agent is still up" || not_ok "the agent is still up"
