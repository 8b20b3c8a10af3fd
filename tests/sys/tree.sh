# make_tree DIR: the tree of a small original-OS root, shared by the system
# tests (through lib.sh) and tests/make-broken-server.sh.  Only defines the
# function: sourcing it changes nothing else.

# make_tree DIR: a small original-OS root: os-release, fstab, passwd,
# shadow (root's hash unknown), group, login.defs, sshd_config, files.
make_tree() {
	d=$1
	mkdir -p "$d/etc/ssh" "$d/root/demo/sub" "$d/home/alice" "$d/tmp" \
		"$d/dev" "$d/proc" "$d/sys" "$d/run" "$d/var/log"
	chmod 700 "$d/root"; chmod 1777 "$d/tmp"
	cat >"$d/etc/os-release" <<-'E'
	PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
	NAME="Debian GNU/Linux"
	VERSION_ID="12"
	VERSION="12 (bookworm)"
	ID=debian
	E
	cat >"$d/etc/fstab" <<-'E'
	# <file system> <mount point> <type> <options> <dump> <pass>
	LABEL=origroot / ext4 errors=remount-ro 0 1
	LABEL=origboot /boot ext4 defaults 0 2
	/swapfile none swap sw 0 0
	E
	cat >"$d/etc/passwd" <<-'E'
	root:x:0:0:root:/root:/bin/bash
	daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
	alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash
	bob:x:1001:1001::/home/bob:/bin/sh
	E
	# root's hash: a random password nobody knows
	cat >"$d/etc/shadow" <<-'E'
	root:$y$j9T$5mLyEBAFpWaX3kq9VzXbN/$FeVgY1Gd5t7.0yxZJYcNjR6Jq3JgJhvSVn3rJ2vIvP5:19700:0:99999:7:::
	daemon:*:19700:0:99999:7:::
	alice:$6$rounds=5000$saltsaltsalt$3Yg0WcKpYbdQ5vZ2cN9QpS5Yf8x4n6wM1u2L0pVfJ0e8Tq7r6Z5yX4wV3uT2sR1qP0oN9mL8kJ7iH6gF5eD4c:19700:0:99999:7:::
	bob:!:19700:0:99999:7:::
	E
	chmod 640 "$d/etc/shadow"
	cat >"$d/etc/group" <<-'E'
	root:x:0:
	shadow:x:42:
	alice:x:1000:
	bob:x:1001:
	E
	printf 'ENCRYPT_METHOD YESCRYPT\nYESCRYPT_COST_FACTOR 5\n' >"$d/etc/login.defs"
	printf 'PermitRootLogin prohibit-password\nPasswordAuthentication yes\n' >"$d/etc/ssh/sshd_config"
	printf 'important notes\n' >"$d/root/demo/notes.txt"
	head -c 200000 /dev/urandom >"$d/root/demo/blob.bin"
	printf 'deeper\n' >"$d/root/demo/sub/file"
	ln -s notes.txt "$d/root/demo/link-to-notes"
	chmod 600 "$d/root/demo/notes.txt"
	if [ "$(id -u)" = 0 ]; then chown -R 1000:1000 "$d/home/alice"; fi
}
