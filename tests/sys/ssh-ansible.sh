#!/bin/sh
# Ansible through consoles: Debian's ansible-core runs one playbook against
# three agents, each on its own emulated serial line (bit errors, kernel
# messages), reached with `lifeline proxy` from the Host blocks `lifeline
# ssh-config` prints.  raw (a shell alone), command, copy (sftp) and fetch
# (python3 on the rescue host, as contrib/ansible/rescue.yml says); every
# task must be ok on every host, and the fetched files equal the source.
. "$(dirname "$0")/lib.sh"
need ansible-playbook ssh sftp python3
plan 9

ssh_setup
KEY="$T/home/.ssh/id_ed25519"
export SSH_AUTH_SOCK=
: >"$T/ssh_config"
for h in 1 2 3; do
	mkdir -p "$T/l$h"
	"$LINKEMU" --a "$T/l$h/a" --b "$T/l$h/b" --baud 921600 --ber 1e-6 \
		--kmsg-interval-ms 2000 --kmsg-side both --seed "$h" \
		--duration-s 600 >"$T/l$h/emu.out" 2>"$T/l$h/emu.log" &
	PIDS="$PIDS $!"
	for _ in $(seq 100); do grep -q ready "$T/l$h/emu.out" 2>/dev/null && break; sleep 0.05; done
	"$LIFELINED" --config "$T/agent.conf" --host-key "$T/hostkey$h" \
		--authorized-keys "$T/authorized_keys" --debug-file "$T/agent$h.log" \
		--serial "$T/l$h/a,921600" 2>>"$T/agent.stderr" &
	PIDS="$PIDS $!"
	"$LIFELINE" --via "serial:$T/l$h/b,921600" -i "$KEY" ssh-config "rescue$h" \
		>>"$T/ssh_config"
done
cat >>"$T/ssh_config" <<EOC
Host *
	BatchMode yes
	StrictHostKeyChecking accept-new
	UserKnownHostsFile $T/okh
EOC

mkdir -p "$T/src" "$T/rtmp"
head -c 200000 /dev/urandom >"$T/src/payload"
cat >"$T/inventory.ini" <<EOI
[rescue]
rescue1
rescue2
rescue3

[rescue:vars]
ansible_user=root
ansible_ssh_common_args=-F $T/ssh_config
ansible_ssh_transfer_method=sftp
ansible_remote_tmp=$T/rtmp
ansible_python_interpreter=/usr/bin/python3
ansible_timeout=120
EOI
cat >"$T/play.yml" <<EOP
- hosts: rescue
  gather_facts: false
  tasks:
    - name: raw, a shell alone
      raw: echo "raw on \$(uname -s)" >$T/{{ inventory_hostname }}.raw
    - name: command (python3)
      command: cat /proc/version
    - name: copy (sftp)
      copy:
        src: $T/src/payload
        dest: "$T/{{ inventory_hostname }}.copied"
        mode: "0640"
    - name: fetch
      fetch:
        src: "$T/{{ inventory_hostname }}.copied"
        dest: "$T/fetched/{{ inventory_hostname }}"
        flat: true
EOP
t0=$(date +%s)
HOME="$T/home" ANSIBLE_LOCAL_TEMP="$T/ltmp" ANSIBLE_SSH_CONTROL_PATH_DIR="$T/cp" \
	ANSIBLE_HOST_KEY_CHECKING=False ANSIBLE_NOCOLOR=1 ANSIBLE_FORKS=3 \
	timeout 600 ansible-playbook -i "$T/inventory.ini" "$T/play.yml" \
	>"$T/ansible.out" 2>&1
is "ansible-playbook against three consoles: exit 0" $? 0
for h in 1 2 3; do
	check "rescue$h: every task ok, none failed or unreachable" \
		grep -Eq "^rescue$h +: ok=4 +changed=[0-9]+ +unreachable=0 +failed=0" "$T/ansible.out"
	is "rescue$h: the fetched file equals the source (SHA-256)" \
		"$(sha "$T/fetched/rescue$h" 2>/dev/null)" "$(sha "$T/src/payload")"
done
check "raw ran through the rescue host's shell" grep -qx "raw on Linux" "$T/rescue2.raw"
check "the copies kept the mode" test "$(stat -c %a "$T/rescue1.copied")" = 640
diag "ansible-playbook, 4 tasks on 3 hosts at 921600 baud: $(( $(date +%s) - t0 )) s"
[ "$tap_failed" -gt 0 ] && sed 's/^/# /' "$T/ansible.out" | tail -n 30
exit 0
