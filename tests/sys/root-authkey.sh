#!/bin/sh
# authorize-key on a real ext4 target over a PTY link: owner from the
# target's etc/passwd, .ssh 0700 and authorized_keys 0600, no duplicates;
# malformed or missing key files, unknown users, a read-only mount and
# symlinks that would lead out of the user's directory (to the rescue host's
# /root/.ssh or /etc/passwd) give clear errors and change nothing; temp
# files a killed run left are removed under the lock on .ssh, and a lock
# held elsewhere is waited for briefly, then reported.
. "$(dirname "$0")/lib.sh"
need_root
need python3
command -v ssh-keygen >/dev/null 2>&1 || skip_all "ssh-keygen (openssh-client) is not installed"
plan 52

R="$T/target"
start_ptys a b
VIA="serial:$T/b"
ssh-keygen -q -t ed25519 -N '' -C 'first@test' -f "$T/k1" || { echo "Bail out! ssh-keygen failed"; exit 1; }
ssh-keygen -q -t rsa -b 2048 -N '' -C 'second@test' -f "$T/k2" || { echo "Bail out! ssh-keygen failed"; exit 1; }

# No target root yet.
start_agent --serial "$T/a"
ll authorize-key alice "$T/k1.pub" >/dev/null 2>"$T/err"
is "without a target root authorize-key fails" "$?" 1
grep -q 'no target root is mounted: run `lifeline mount` first' "$T/err" &&
	ok "and says to mount first" || not_ok "says to mount first: $(cat "$T/err")"
stop_agent

make_tree "$T/tree"
# alice's ids in the target differ from anything on the rescue host
sed -i 's/^alice:x:1000:1000:/alice:x:1500:1600:/' "$T/tree/etc/passwd"
chown -R 1500:1600 "$T/tree/home/alice"
mkdir -p "$T/tree/home/bob" "$T/tree/home/carol"
chown 1001:1001 "$T/tree/home/bob"
printf 'carol:x:1002:1002::/home/carol:/bin/sh\n' >>"$T/tree/etc/passwd"
make_ext4 root 64 "$T/tree"
dev=$(attach "$T/root.img")
LOOPS="$dev $LOOPS"	# attach ran in a subshell: remember it here
mount_at "$dev" "$R"
start_agent --serial "$T/a" --target-root "$R"

snap() { manifest "$R" >"$T/m.before"; }
changed() { manifest "$R" >"$T/m.after"; changed_entries "$T/m.before" "$T/m.after"; }
hostdir() { if [ -e /root/.ssh ]; then ls -la --time-style=full-iso /root/.ssh; sha256sum /root/.ssh/* 2>/dev/null; else echo absent; fi; }
host_before=$(hostdir)
hostpw=$(sha /etc/passwd)
AK="$R/home/alice/.ssh/authorized_keys"
keyline() { cut -d' ' -f1,2 "$1"; }

# --- first key: .ssh and authorized_keys made, owned by the target's alice
snap
ll authorize-key alice "$T/k1.pub" >"$T/out" 2>"$T/err"
is "authorize-key alice exits 0" "$?" 0
is ".ssh is 0700 owned by the target's alice" "$(stat -c '%a %u %g' "$R/home/alice/.ssh")" "700 1500 1600"
is "authorized_keys is 0600 owned by alice" "$(stat -c '%a %u %g' "$AK")" "600 1500 1600"
is "it holds the key line" "$(cat "$AK")" "$(cat "$T/k1.pub")"
grep -q '^ssh-ed25519 SHA256:.*: added' "$T/out" && ok "the client says added, with the fingerprint" ||
	not_ok "added: $(cat "$T/out") $(cat "$T/err")"
is "only .ssh and authorized_keys changed" "$(changed)" "home/alice/.ssh home/alice/.ssh/authorized_keys "

# --- duplicates --------------------------------------------------------
snap
sed 's/first@test/another comment/' "$T/k1.pub" >"$T/k1-renamed.pub"
ll authorize-key alice "$T/k1-renamed.pub" >"$T/out" 2>&1
is "the same key again exits 0" "$?" 0
grep -q 'already present' "$T/out" && ok "and is reported already present (comment ignored)" || not_ok "dup: $(cat "$T/out")"
is "nothing changed" "$(changed)" ""
{ echo '# my keys'; echo; cat "$T/k1.pub" "$T/k2.pub" "$T/k2.pub"; } >"$T/both.pub"
ll authorize-key alice "$T/both.pub" >"$T/out" 2>&1
is "a file with comments, blank lines, an old and a new key exits 0" "$?" 0
is "the new key is added once" "$(grep -c 'ssh-rsa' "$AK")" 1
is "the old one is not added again" "$(grep -c 'ssh-ed25519' "$AK")" 1
is "the output says so per key" "$(grep -c 'already present' "$T/out") $(grep -c ': added' "$T/out")" "2 1"
is "authorized_keys keeps 0600 and its owner" "$(stat -c '%a %u %g' "$AK")" "600 1500 1600"
json=$(ll --json authorize-key alice "$T/k2.pub" 2>/dev/null)
is "--json gives the statuses" "$(printf '%s\n' "$json" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["uid"], d["added"], d["keys"][0]["status"])')" "1500 0 already present"

# --- an existing file without a final newline keeps its bytes and mode -----
mkdir -m 700 "$R/home/carol/.ssh"
printf 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeButNotCheckedForOldLines old' >"$R/home/carol/.ssh/authorized_keys"
chmod 644 "$R/home/carol/.ssh/authorized_keys"
cp "$R/home/carol/.ssh/authorized_keys" "$T/carol.old"
ll authorize-key carol "$T/k1.pub" >/dev/null 2>&1
is "appending to a file without a final newline exits 0" "$?" 0
is "the old bytes stay, a newline is added, then the key" "$(head -c "$(wc -c <"$T/carol.old")" "$R/home/carol/.ssh/authorized_keys" | sha256sum | cut -c1-64) $(sed -n 2p "$R/home/carol/.ssh/authorized_keys")" "$(sha "$T/carol.old") $(cat "$T/k1.pub")"
is "an existing file keeps its mode" "$(stat -c '%a' "$R/home/carol/.ssh/authorized_keys")" 644

# --- root by default ---------------------------------------------------
ll authorize-key "$T/k2.pub" >/dev/null 2>&1
is "without USER the key goes to root" "$(keyline "$R/root/.ssh/authorized_keys")" "$(keyline "$T/k2.pub")"
is "root's .ssh is 0700 root:root" "$(stat -c '%a %u %g' "$R/root/.ssh")" "700 0 0"

# --- bad key files and users: errors, nothing changed -------------------
snap
{ cat "$T/k1.pub"; echo '# fine'; echo 'ssh-ed25519 AAAAnotbase64!!! broken'; } >"$T/bad.pub"
ll authorize-key alice "$T/bad.pub" >/dev/null 2>"$T/err"
is "a malformed key file fails" "$?" 1
grep -q "bad.pub:3: not a valid public key" "$T/err" && ok "the error names the line" || not_ok "malformed: $(cat "$T/err")"
echo 'just some text' >"$T/text.pub"
ll authorize-key alice "$T/text.pub" >/dev/null 2>"$T/err"
grep -q "text.pub:1: not a valid public key: no key type" "$T/err" && ok "a text file is named as no key" || not_ok "text: $(cat "$T/err")"
ll authorize-key alice "$T/nonexistent.pub" >/dev/null 2>"$T/err"
is "a missing key file fails" "$?" 1
grep -q "cannot read $T/nonexistent.pub: No such file" "$T/err" && ok "and is named" || not_ok "missing: $(cat "$T/err")"
ll authorize-key nosuch "$T/k1.pub" >/dev/null 2>"$T/err"
is "an unknown user fails" "$?" 1
grep -q "no user nosuch in the target's etc/passwd" "$T/err" && ok "and is named" || not_ok "unknown: $(cat "$T/err")"
ll authorize-key daemon "$T/k1.pub" >/dev/null 2>"$T/err"
grep -q 'home directory /usr/sbin of daemon cannot be opened' "$T/err" && ok "a missing home is named" || not_ok "home: $(cat "$T/err")"
mount -o remount,ro "$R"
ll authorize-key alice "$T/k2.pub" >/dev/null 2>&1
: # already present: no write needed even read-only
ssh-keygen -q -t ed25519 -N '' -C 'third' -f "$T/k3"
ll authorize-key alice "$T/k3.pub" >/dev/null 2>"$T/err"
is "a read-only target fails" "$?" 1
grep -q 'the target is mounted read-only' "$T/err" && ok "with a clear error" || not_ok "ro: $(cat "$T/err")"
mount -o remount,rw "$R"
is "nothing changed by those errors" "$(changed)" ""

# --- symlinks that lead out ---------------------------------------------
ln -s /root/.ssh "$R/home/bob/.ssh"
snap
ll authorize-key bob "$T/k1.pub" >/dev/null 2>"$T/err"
is "home/bob/.ssh -> /root/.ssh fails" "$?" 1
grep -q '/home/bob/.ssh is a symlink: refusing' "$T/err" && ok "and is refused as a symlink" || not_ok "ssh link: $(cat "$T/err")"
is "nothing in the target changed (not even its /root/.ssh)" "$(changed)" ""
is "the rescue host's /root/.ssh is untouched" "$(hostdir)" "$host_before"
rm "$R/home/bob/.ssh"
ln -s ../../../.ssh "$R/home/bob/.ssh"
ll authorize-key bob "$T/k1.pub" >/dev/null 2>"$T/err"
grep -q 'is a symlink: refusing' "$T/err" && ok "a relative escaping .ssh link is refused too" || not_ok "rel link: $(cat "$T/err")"
rm "$R/home/bob/.ssh"
mkdir "$R/home/bob/.ssh"
ln -s /etc/passwd "$R/home/bob/.ssh/authorized_keys"
snap
ll authorize-key bob "$T/k1.pub" >/dev/null 2>"$T/err"
is "authorized_keys -> /etc/passwd fails" "$?" 1
grep -q 'authorized_keys is a symlink: refusing' "$T/err" && ok "and is refused" || not_ok "ak link: $(cat "$T/err")"
is "nothing in the target changed" "$(changed)" ""
is "the rescue host's /etc/passwd is untouched" "$(sha /etc/passwd)" "$hostpw"
rm "$R/home/bob/.ssh/authorized_keys"
mkfifo "$R/home/bob/.ssh/authorized_keys"
ll authorize-key bob "$T/k1.pub" >/dev/null 2>"$T/err"
grep -q 'authorized_keys is not a regular file: refusing' "$T/err" && ok "a fifo authorized_keys is refused" || not_ok "fifo: $(cat "$T/err")"
rm "$R/home/bob/.ssh/authorized_keys"

# --- temp files a killed run left; the lock on .ssh ---------------------
# Two stale temp files as sf_temp_name makes them go (under the lock no
# run of ours is writing); a directory of such a name, a shorter name and
# authorized_keys' own content stay.
A="$R/home/alice/.ssh"
printf 'half a file\n' >"$A/.authorized_keys.lifeline-Ab3dE6gH"
printf 'ssh-ed25519 AAAA never-applied\n' >"$A/.authorized_keys.lifeline-00000000"
mkdir "$A/.authorized_keys.lifeline-DIRxxxx1"
printf 'x\n' >"$A/.authorized_keys.lifeline-short"
keys_before=$(cat "$A/authorized_keys")
ssh-keygen -q -t ed25519 -N '' -C 'fourth' -f "$T/k4"
ll authorize-key alice "$T/k4.pub" >/dev/null 2>"$T/err"
is "authorize-key with stale temp files beside authorized_keys exits 0" "$?" 0
left=$(cd "$A" && ls -a | grep '^\.authorized_keys\.lifeline-' | sort | tr '\n' ' ')
is "the stale temp files are gone, the rest stays" "$left" ".authorized_keys.lifeline-DIRxxxx1 .authorized_keys.lifeline-short "
is "authorized_keys holds the old keys and the new one" "$(cat "$A/authorized_keys")" "$keys_before
$(cat "$T/k4.pub")"
is "the agent logged both removals" \
	"$(grep -c 'removed .authorized_keys.lifeline-.*a temp file a stopped run left for authorized_keys' "$T/agent.log")" 2
# Another process holding .ssh's lock: authorize-key waits for it briefly,
# and past 2 s says so and changes nothing (held 8 s: longer than the
# client's start and the agent's 2 s under load).
ssh-keygen -q -t ed25519 -N '' -C 'fifth' -f "$T/k5"
# hold_lock SECONDS: another process holds .ssh's lock (started, and seen
# holding it: under load a fixed pause was not always enough)
hold_lock() {
	flock -x "$A" sleep "$1" &
	lpid=$!
	for _ in $(seq 100); do
		flock -n -x "$A" true || return 0
		sleep 0.05
	done
}
hold_lock 0.7
ll authorize-key alice "$T/k5.pub" >/dev/null 2>"$T/err"
is "authorize-key waits for a lock held briefly" "$?" 0
wait "$lpid"
ssh-keygen -q -t ed25519 -N '' -C 'sixth' -f "$T/k6"
hold_lock 8
snap
ll authorize-key alice "$T/k6.pub" >/dev/null 2>"$T/err"
is "a lock held too long fails" "$?" 1
grep -q '/home/alice/.ssh is locked by another process changing authorized_keys; try again' "$T/err" &&
	ok "and says so" || not_ok "lock busy: $(cat "$T/err")"
is "nothing changed" "$(changed)" ""
pkill -P "$lpid" sleep
wait "$lpid"
kill -0 "$AGENT_PID" 2>/dev/null && ok "the agent is still up" || not_ok "the agent is still up"
