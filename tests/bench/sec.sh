# Sourced by the benchmarks that run lifeline with and without SSH inside
# the link: key material in $T (the operator's key, the agent's authorized
# keys and an empty config; the agent makes its host key on first use), and
# the options of each side for the current $SSH (1: SSH, else --insecure),
# printed for an unquoted $(...) on the command line.
ssh-keygen -q -t ed25519 -N '' -f "$T/key" && cp "$T/key.pub" "$T/authorized_keys"
: >"$T/agent.conf"; chmod 600 "$T/agent.conf"
SSH=0
AGENT_SEC() {
	if [ "$SSH" = 1 ]; then
		echo "--config $T/agent.conf --host-key $T/hostkey --authorized-keys $T/authorized_keys"
	else echo --insecure; fi
}
CLIENT_SEC() {
	if [ "$SSH" = 1 ]; then
		echo "-i $T/key --known-hosts $T/known_hosts --accept-new-host-key"
	else echo --insecure; fi
}
