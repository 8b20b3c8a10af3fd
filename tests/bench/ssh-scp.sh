#!/bin/sh
# scp of 1 MiB of random data through lifeline proxy over the link
# emulator at 115200 baud: the share of the line rate reached (11520 B/s),
# on a clean line, or with NOISE=1 bit errors at 1e-5 and a kernel message
# every 2 s on both sides.  Measures, asserts nothing.
. "$(dirname "$0")/../sys/lib.sh"
ssh_setup
KEY="$T/home/.ssh/id_ed25519"
export SSH_AUTH_SOCK=
if [ -n "$NOISE" ]; then
	noise="--ber 1e-5 --kmsg-interval-ms 2000 --kmsg-side both"
else
	noise=""
fi
start_emu a b --baud 115200 $noise --seed 1 --duration-s 900
start_agent_ssh --serial "$T/a,115200"
agent_fp >/dev/null
VIA="serial:$T/b,115200"
"$LIFELINE" --via "$VIA" -i "$KEY" ssh-config rescue >"$T/ssh_config"
printf 'Host *\n\tBatchMode yes\n\tStrictHostKeyChecking accept-new\n\tUserKnownHostsFile %s/okh\n' "$T" >>"$T/ssh_config"
ssh -F "$T/ssh_config" rescue true
head -c 1048576 /dev/urandom >"$T/data"
for dir in up down; do
	start=$(date +%s.%N)
	if [ $dir = up ]; then
		scp -F "$T/ssh_config" "$T/data" rescue:"$T/copy.up"
		f="$T/copy.up"
	else
		scp -F "$T/ssh_config" rescue:"$T/data" "$T/copy.down"
		f="$T/copy.down"
	fi
	end=$(date +%s.%N)
	cmp -s "$T/data" "$f" || echo "# $dir: the copy differs"
	python3 -c "import sys; s=$end-$start; print('scp %s 1 MiB%s: %.1f s, %.0f B/s, %.1f%% of 11520 B/s' % ('$dir', ' (noise)' if '$NOISE' else '', s, 1048576/s, 100*1048576/s/11520))"
done
