/*
 * lifeline: the client.  The global options (options.c) select the path to
 * the agent; the first operand names a command.  Each command is one entry
 * exported by its client/cmd-*.c file; this file only lists them, in the
 * order help shows them.  cmd.c parses a command's options from its entry.
 */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

struct client_options client_opts = {
	.timeout_ms = 10000,
	.reconnect_ms = 120000,
};

const struct client_cmd *const client_cmds[] = {
	&cmd_info_entry,
	&cmd_ping_entry,
	&cmd_exec_entry,
	&cmd_jobs_entry,
	&cmd_output_entry,
	&cmd_wait_entry,
	&cmd_kill_entry,
	&cmd_disks_entry,
	&cmd_inspect_entry,
	&cmd_mount_entry,
	&cmd_umount_entry,
	&cmd_passwd_entry,
	&cmd_authorize_key_entry,
	&cmd_fsck_entry,
	&cmd_get_entry,
	&cmd_put_entry,
	&cmd_run_entry,
	&cmd_reboot_entry,
	&cmd_console_entry,
	&cmd_attach_entry,
	&cmd_proxy_entry,
	&cmd_ssh_config_entry,
	&cmd_shell_entry,
	&cmd_known_hosts_entry,
	&cmd_help_entry,
	NULL
};

static void
on_interrupt(int sig)
{
	conn_signal = sig;
	conn_interrupted++;
}

int
main(int argc, char **argv)
{
	struct sigaction sa;
	int first, rc;

	if ((rc = client_options_parse(argc, argv, &first)) != 0) {
		if (rc > 0)
			output_json_failure(rc);
		return rc < 0 ? EXIT_OK : rc;
	}
	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	rc = client_dispatch(argc - first, argv + first);
	output_json_failure(rc);
	return rc;
}
