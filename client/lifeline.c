/*
 * lifeline: the client.  Global options select the path to the agent; the
 * first non-option argument names a subcommand from the table below, which
 * gets the remaining arguments.
 */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "link.h"

struct client_options client_opts = {
	.timeout_ms = 10000,
	.reconnect_ms = 120000,
};

static const struct client_cmd commands[] = {
	{ "info", "info", "show the agent's version, host, kernel, uptime, "
	  "console", cmd_info },
	{ "ping", "ping [-c COUNT] [-i SECONDS]", "measure round trips",
	  cmd_ping },
	{ "exec", "exec [--timeout SECONDS] [--cwd DIR] [--detach] -- "
	  "COMMAND [ARG...]", "run a command on the agent's host (a job)",
	  cmd_exec },
	{ "jobs", "jobs", "list the agent's jobs (commands run by exec)",
	  cmd_jobs },
	{ "output", "output [--follow] [--from OUT[,ERR]] ID", "a job's "
	  "output, from the start of what is buffered", cmd_output },
	{ "wait", "wait ID", "wait for a job; its exit status is ours",
	  cmd_wait },
	{ "kill", "kill [-SIGNAL] ID", "send a job a signal (TERM)",
	  cmd_kill },
	{ "disks", "disks", "list block devices, filesystems, mounts",
	  cmd_disks },
	{ "inspect", "inspect", "find the original OS roots", cmd_inspect },
	{ "mount", "mount [-o OPTS] [--ro] [--fstab] [--chroot] [SOURCE] "
	  "[TARGET]", "mount the original root (SOURCE auto by default)",
	  cmd_mount },
	{ "umount", "umount [TARGET]", "unmount what lifeline mounted",
	  cmd_umount },
	{ "passwd", "passwd [--password|--stdin|--hash H|--clear|--lock|"
	  "--unlock|--expire] [USER]", "change a password in the target",
	  cmd_passwd },
	{ "authorize-key", "authorize-key [USER] KEYFILE",
	  "add an SSH public key for a target user", cmd_authorize_key },
	{ "fsck", "fsck [-n] DEVICE", "check and repair an unmounted "
	  "filesystem", cmd_fsck },
	{ "get", "get [--rescue-host] REMOTE... LOCAL", "copy files from the "
	  "target", cmd_get },
	{ "put", "put [--rescue-host] LOCAL... REMOTE", "copy files to the "
	  "target", cmd_put },
	{ "run", "run [--keep-going] SCRIPT|-", "run a script of lifeline "
	  "commands", cmd_run },
	{ "reboot", "reboot --yes [--force]", "sync, unmount, reboot the rescue host",
	  cmd_reboot },
	{ "console", "console [--escape ^X|CHAR|none] [--drain SECONDS]",
	  "an interactive terminal on the --via path", cmd_console },
	{ "attach", "attach [--user U] [--password-file F] [-- COMMAND...]",
	  "log in on the console, start the agent, run COMMAND", cmd_attach },
	{ "proxy", "proxy", "carry an SSH connection to the agent on "
	  "stdin/stdout (ssh ProxyCommand)", cmd_proxy },
	{ "ssh-config", "ssh-config NAME", "print a Host block for "
	  "~/.ssh/config that uses proxy", cmd_ssh_config },
	{ "shell", "shell [--escape CHAR|none]", "an interactive root shell on "
	  "the agent, through SSH in the link", cmd_shell },
	{ NULL, NULL, NULL, NULL }
};

int
client_dispatch(int argc, char **argv)
{
	const struct client_cmd *c;

	for (c = commands; c->name != NULL; c++) {
		if (strcmp(c->name, argv[0]) == 0)
			return c->run(argc, argv);
	}
	msg_error("unknown command \"%s\" (try lifeline --help)", argv[0]);
	return EXIT_USAGE;
}

static void
usage(FILE *f)
{
	const struct client_cmd *c;

	fprintf(f,
"usage: lifeline [--via SPEC] [--insecure] [--encoding auto|7bit|8bit]\n"
"                [--baud N] [--timeout SECONDS] [--reconnect SECONDS]\n"
"                [--json] [-v]\n"
"                [-i KEYFILE] [--no-pty] [--accept-new-host-key]\n"
"                [--ready TEXT] [--ready-timeout S] [--exec-quit STRING]\n"
"                [--take-over]\n"
"                [--host-key-fingerprint SHA256:...] [--known-hosts FILE]\n"
"                COMMAND [ARGS]\n"
"\n"
"  --via SPEC     path to the agent (default $LIFELINE_VIA):\n"
"                 serial:DEV[,BAUD]  tty:DEV[,BAUD]  exec:CMD  unix:PATH\n"
"                 tcp:HOST:PORT  fd:R,W  stdio\n"
"                 ssh://[USER@]HOST[:PORT]   a serial-over-SSH console gateway\n"
"                 lifeline+ssh://[USER@]HOST[:PORT]  the agent's SSH listener\n"
"                 lifeline+exec:CMD  e.g. 'ssh -s root@HOST lifeline'\n"
"                 ipmi://[USER@]BMC[:PORT][?cipher=N&password-file=F]\n"
"                                    IPMI Serial-over-LAN through ipmitool\n"
"                 telnet://HOST:PORT[?baud=N]  a console server's telnet port\n"
"  --insecure     no SSH inside the link: unauthenticated (labs, tests)\n"
"  -i, --identity FILE  SSH private key to offer (also: ssh-agent, ~/.ssh/id_*)\n"
"  --no-pty       ssh:// gateways: do not ask for a pty\n"
"  --accept-new-host-key  trust an unknown host key (not a changed one)\n"
"  --host-key-fingerprint SHA256:...  the agent's key must be this one\n"
"  --known-hosts FILE  agents' keys (default ~/.config/lifeline/known_hosts)\n"
"  --encoding E   force the 7-bit or 8-bit frame coding (default: probe)\n"
"  --baud N       line speed of the path, to pace output (serial sets it)\n"
"  --timeout S    give up connecting after S seconds (default 10)\n"
"  --ready TEXT   exec: wait for TEXT from the command before connecting\n"
"  --ready-timeout S  how long --ready and ipmi:// may wait (default 60)\n"
"  --exec-quit STRING  exec: the command's own farewell, sent when leaving\n"
"                 (\\r, \\n, \\\\ and \\xHH understood)\n"
"  --take-over    ipmi://: deactivate a SOL payload another session holds\n"
"  --reconnect S  keep trying S seconds to follow a job again after the\n"
"                 link is lost (exec, fsck, output --follow; default 120,\n"
"                 0: never; Ctrl-C stops trying)\n"
"  --json         machine-readable output\n"
"  -v             show console text and link details (-vv: more)\n"
"\n"
"commands:\n");
	for (c = commands; c->name != NULL; c++)
		fprintf(f, "  %-58s %s\n", c->usage, c->summary);
}

static void
on_interrupt(int sig)
{
	conn_signal = sig;
	conn_interrupted++;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "via", required_argument, NULL, 't' },
		{ "insecure", no_argument, NULL, 'k' },
		{ "encoding", required_argument, NULL, 'e' },
		{ "baud", required_argument, NULL, 'b' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "reconnect", required_argument, NULL, 'C' },
		{ "json", no_argument, NULL, 'j' },
		{ "identity", required_argument, NULL, 'i' },
		{ "no-pty", no_argument, NULL, 'P' },
		{ "accept-new-host-key", no_argument, NULL, 'N' },
		{ "host-key-fingerprint", required_argument, NULL, 'F' },
		{ "known-hosts", required_argument, NULL, 'K' },
		{ "ready", required_argument, NULL, 'R' },
		{ "ready-timeout", required_argument, NULL, 'r' },
		{ "exec-quit", required_argument, NULL, 'Q' },
		{ "take-over", no_argument, NULL, 'O' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct sigaction sa;
	char *end;
	double secs;
	int ch;

	client_opts.via = getenv("LIFELINE_VIA");
	/* "+": stop at the subcommand; its options are its own. */
	while ((ch = getopt_long(argc, argv, "+i:vVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 't':
			client_opts.via = optarg;
			break;
		case 'k':
			client_opts.insecure = true;
			break;
		case 'e':
			if (strcmp(optarg, "auto") == 0)
				client_opts.encoding = LL_ENC_AUTO;
			else if (strcmp(optarg, "7bit") == 0)
				client_opts.encoding = LL_ENC_7BIT;
			else if (strcmp(optarg, "8bit") == 0)
				client_opts.encoding = LL_ENC_8BIT;
			else {
				msg_error("--encoding must be auto, 7bit or "
				    "8bit, not \"%s\"", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'b':
			client_opts.baud = (unsigned)strtoul(optarg, &end, 10);
			if (*end != '\0' || client_opts.baud == 0) {
				msg_error("--baud needs a positive number, not "
				    "\"%s\"", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'T':
			secs = strtod(optarg, &end);
			if (*end != '\0' || secs <= 0 || secs > 86400) {
				msg_error("--timeout needs seconds (0 < S <= "
				    "86400), not \"%s\"", optarg);
				return EXIT_USAGE;
			}
			client_opts.timeout_ms = (int)(secs * 1000);
			break;
		case 'C':
			secs = strtod(optarg, &end);
			if (*end != '\0' || secs < 0 || secs > 86400) {
				msg_error("--reconnect needs seconds (0 <= S <= "
				    "86400), not \"%s\"", optarg);
				return EXIT_USAGE;
			}
			client_opts.reconnect_ms = (int)(secs * 1000);
			break;
		case 'j':
			client_opts.json = true;
			break;
		case 'i':
			client_opts.identity = optarg;
			break;
		case 'P':
			client_opts.no_pty = true;
			break;
		case 'N':
			client_opts.accept_new_host_key = true;
			break;
		case 'F':
			if (strncmp(optarg, "SHA256:", 7) != 0 ||
			    strlen(optarg) < 20) {
				msg_error("--host-key-fingerprint wants "
				    "SHA256:BASE64 as lifelined logs it, not "
				    "\"%s\"", optarg);
				return EXIT_USAGE;
			}
			client_opts.host_key_fingerprint = optarg;
			break;
		case 'K':
			client_opts.known_hosts = optarg;
			break;
		case 'R':
			if (optarg[0] == '\0' || strlen(optarg) > 256) {
				msg_error("--ready needs a text to wait for, of "
				    "at most 256 bytes");
				return EXIT_USAGE;
			}
			client_opts.ready = optarg;
			break;
		case 'r':
			secs = strtod(optarg, &end);
			if (*end != '\0' || secs <= 0 || secs > 3600) {
				msg_error("--ready-timeout needs seconds (0 < S "
				    "<= 3600), not \"%s\"", optarg);
				return EXIT_USAGE;
			}
			client_opts.ready_ms = (unsigned)(secs * 1000);
			break;
		case 'Q':
			client_opts.exec_quit_text = optarg;
			if (via_unescape(optarg, &client_opts.exec_quit) != 0)
				return EXIT_USAGE;
			break;
		case 'O':
			client_opts.take_over = true;
			break;
		case 'v':
			client_opts.verbose++;
			break;
		case 'V':
			printf("lifeline %s\n", PACKAGE_VERSION);
			return EXIT_OK;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	return client_dispatch(argc - optind, argv + optind);
}
