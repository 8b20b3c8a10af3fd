/*
 * The global options: the one table of them (client_global_options), what
 * each does to client_opts, and the list of those given that `run` passes
 * on to the child of each script line.  That list is the words as they were
 * parsed (long name, then the argument), so a new forwarded option needs
 * only its CMD_OPT_FORWARD flag in the table, never a second copy.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "link.h"

const struct cmd_option client_global_options[] = {
	{ "target", 't', CMD_OPT_SHORT | CMD_OPT_FORWARD, "NAME", "take the "
	  "path and settings of Target NAME in ~/.config/lifeline/config or "
	  "/etc/lifeline/config (options given win)" },
	{ "via", 'W', CMD_OPT_FORWARD | CMD_OPT_CONFIG, "SPEC", "the path to the agent "
	  "(default $LIFELINE_VIA):\n"
	  "serial:DEV[,BAUD] (or just /dev/...)  tty:DEV[,BAUD]\n"
	  "exec:CMD  unix:PATH  tcp:HOST:PORT  fd:R,W  stdio\n"
	  "ssh://[USER@]HOST[:PORT] a serial-over-SSH gateway\n"
	  "lifeline+ssh://[USER@]HOST[:PORT] the agent's SSH listener\n"
	  "lifeline+exec:CMD e.g. 'ssh -s root@HOST lifeline'\n"
	  "ipmi://[USER@]BMC[:PORT][?cipher=N&password-file=F]\n"
	  "telnet://HOST:PORT[?baud=N] a console server's port" },
	{ "insecure", 'k', CMD_OPT_FORWARD | CMD_OPT_CONFIG, NULL, "no SSH inside the link: "
	  "unauthenticated (labs, tests)" },
	{ "identity", 'i', CMD_OPT_SHORT | CMD_OPT_FORWARD | CMD_OPT_CONFIG, "FILE",
	  "SSH private key to offer (also: ssh-agent, ~/.ssh/id_*)" },
	{ "no-pty", 'P', CMD_OPT_FORWARD | CMD_OPT_CONFIG, NULL, "ssh:// gateways: do not ask "
	  "for a pty" },
	{ "accept-new-host-key", 'N', CMD_OPT_FORWARD | CMD_OPT_CONFIG, NULL, "trust an "
	  "unknown host key (never a changed one)" },
	{ "host-key-fingerprint", 'F', CMD_OPT_FORWARD | CMD_OPT_CONFIG, "SHA256:...",
	  "the agent's key must be this one" },
	{ "known-hosts", 'K', CMD_OPT_FORWARD | CMD_OPT_CONFIG, "FILE", "agents' keys "
	  "(default ~/.config/lifeline/known_hosts)" },
	{ "encoding", 'e', CMD_OPT_FORWARD | CMD_OPT_CONFIG, "auto|7bit|8bit", "force the "
	  "7-bit or 8-bit frame coding (default: probe)" },
	{ "compress", 'z', CMD_OPT_FORWARD | CMD_OPT_CONFIG, "yes|no", "compress "
	  "file and command data when the agent can (default yes; data that "
	  "does not shrink goes plain)" },
	{ "baud", 'b', CMD_OPT_FORWARD | CMD_OPT_CONFIG, "N", "line speed of the path, to "
	  "pace output (serial: sets it)" },
	{ "connect-timeout", 'T', CMD_OPT_FORWARD | CMD_OPT_CONFIG, "SECONDS",
	  "give up connecting after SECONDS (default 10)" },
	/* the old name, before exec's --timeout made it ambiguous */
	{ "timeout", 'T', CMD_OPT_HIDDEN | CMD_OPT_FORWARD | CMD_OPT_CONFIG,
	  "SECONDS", "deprecated: --connect-timeout" },
	{ "reconnect", 'C', CMD_OPT_FORWARD | CMD_OPT_CONFIG, "SECONDS", "keep trying SECONDS "
	  "to follow a job again after the link is lost (exec, fsck, output "
	  "--follow; default 120, 0: never; Ctrl-C stops trying)" },
	{ "ready", 'R', CMD_OPT_FORWARD | CMD_OPT_CONFIG, "TEXT", "exec: wait for TEXT from "
	  "the command before connecting" },
	{ "ready-timeout", 'r', CMD_OPT_FORWARD | CMD_OPT_CONFIG, "SECONDS", "how long --ready "
	  "and ipmi:// may wait (default 60)" },
	{ "exec-quit", 'Q', CMD_OPT_FORWARD | CMD_OPT_CONFIG, "STRING", "exec: the command's "
	  "own farewell, sent when leaving (\\r, \\n, \\\\ and \\xHH "
	  "understood)" },
	{ "take-over", 'O', CMD_OPT_FORWARD | CMD_OPT_CONFIG, NULL, "ipmi://: deactivate a SOL "
	  "payload another session holds" },
	{ "json", 'j', CMD_OPT_FORWARD, NULL, "machine-readable output: one "
	  "JSON object on stdout" },
	{ "verbose", 'v', CMD_OPT_SHORT | CMD_OPT_FORWARD, NULL, "show "
	  "console text and link details (-vv: more)" },
	{ "version", 'V', CMD_OPT_SHORT | CMD_OPT_NOT_IN_CMD, NULL, "print "
	  "lifeline's version" },
	{ "help", 'h', CMD_OPT_SHORT | CMD_OPT_NOT_IN_CMD, NULL, "show this "
	  "help" },
	{ NULL, 0, 0, NULL, NULL }
};

/* Which options of the table were given (a target's settings yield). */
static bool given[64];

/* The forwarded options as given: words, and how many. */
static char **fwd;
static int nfwd;

static int
forward(const struct cmd_option *o, const char *arg)
{
	char **n;

	if ((n = realloc(fwd, (size_t)(nfwd + 3) * sizeof(*n))) == NULL)
		return -1;
	fwd = n;
	if (asprintf(&fwd[nfwd], "--%s", o->name) < 0)
		return -1;
	nfwd++;
	if (arg != NULL && (fwd[nfwd++] = strdup(arg)) == NULL)
		return -1;
	fwd[nfwd] = NULL;
	return 0;
}

void
client_options_forwarded(int *argc, char *const **argv)
{
	*argc = nfwd;
	*argv = fwd;
}

/* Seconds in (min, max] (or [0, max] with zero_ok) as milliseconds. */
static int
seconds_arg(const char *name, const char *s, bool zero_ok, double max,
    int *ms)
{
	char *end;
	double secs = strtod(s, &end);

	if (*end != '\0' || end == s || secs < 0 || (!zero_ok && secs == 0) ||
	    secs > max) {
		msg_error("--%s needs seconds (%s S <= %g), not \"%s\"", name,
		    zero_ok ? "0 <=" : "0 <", max, s);
		return EXIT_USAGE;
	}
	*ms = (int)(secs * 1000);
	return 0;
}

/*
 * The path to the agent, from --via or LIFELINE_VIA: a plain device path
 * means serial:, as tio and picocom take it.  An empty one is kept, for
 * client_dispatch to refuse with "no path given".
 */
static int
via_set(const char *spec, const char *from)
{
	static char *made;

	client_opts.via_from = from;
	if (spec[0] != '/') {
		client_opts.via = spec;
		return 0;
	}
	free(made);
	if (asprintf(&made, "serial:%s", spec) < 0) {
		msg_error("out of memory");
		return EXIT_USAGE;
	}
	client_opts.via = made;
	return 0;
}

/* Apply one global option; 0, EXIT_USAGE, or -1 for --help/--version. */
static int
option_apply(int ch, const char *arg)
{
	char *end;
	int ms;

	switch (ch) {
	case 'W':
		return via_set(arg, "--via");
	case 't':
		return targets_apply(arg);
	case 'k':
		client_opts.insecure = true;
		break;
	case 'e':
		if (strcmp(arg, "auto") == 0)
			client_opts.encoding = LL_ENC_AUTO;
		else if (strcmp(arg, "7bit") == 0)
			client_opts.encoding = LL_ENC_7BIT;
		else if (strcmp(arg, "8bit") == 0)
			client_opts.encoding = LL_ENC_8BIT;
		else {
			msg_error("--encoding must be auto, 7bit or 8bit, not "
			    "\"%s\"", arg);
			return EXIT_USAGE;
		}
		break;
	case 'z':
		if (strcmp(arg, "yes") != 0 && strcmp(arg, "no") != 0) {
			msg_error("--compress must be yes or no, not \"%s\"",
			    arg);
			return EXIT_USAGE;
		}
		client_opts.no_compress = strcmp(arg, "no") == 0;
		break;
	case 'b':
		client_opts.baud = (unsigned)strtoul(arg, &end, 10);
		if (*end != '\0' || client_opts.baud == 0) {
			msg_error("--baud needs a positive number, not \"%s\"",
			    arg);
			return EXIT_USAGE;
		}
		break;
	case 'T':
		if (seconds_arg("connect-timeout", arg, false, 86400,
		    &ms) != 0)
			return EXIT_USAGE;
		client_opts.timeout_ms = ms;
		break;
	case 'C':
		if (seconds_arg("reconnect", arg, true, 86400, &ms) != 0)
			return EXIT_USAGE;
		client_opts.reconnect_ms = ms;
		break;
	case 'j':
		client_opts.json = true;
		break;
	case 'i':
		client_opts.identity = arg;
		break;
	case 'P':
		client_opts.no_pty = true;
		break;
	case 'N':
		client_opts.accept_new_host_key = true;
		break;
	case 'F':
		if (strncmp(arg, "SHA256:", 7) != 0 || strlen(arg) < 20) {
			msg_error("--host-key-fingerprint wants SHA256:BASE64 "
			    "as lifelined logs it, not \"%s\"", arg);
			return EXIT_USAGE;
		}
		client_opts.host_key_fingerprint = arg;
		break;
	case 'K':
		client_opts.known_hosts = arg;
		break;
	case 'R':
		if (arg[0] == '\0' || strlen(arg) > 256) {
			msg_error("--ready needs a text to wait for, of at most "
			    "256 bytes");
			return EXIT_USAGE;
		}
		client_opts.ready = arg;
		break;
	case 'r':
		if (seconds_arg("ready-timeout", arg, false, 3600, &ms) != 0)
			return EXIT_USAGE;
		client_opts.ready_ms = (unsigned)ms;
		break;
	case 'Q':
		client_opts.exec_quit_text = arg;
		if (via_unescape(arg, &client_opts.exec_quit) != 0)
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
		return -1;
	case 'h':
		cmd_help(stdout, NULL);
		return -1;
	}
	return 0;
}

int
client_global_setting(const char *key, const char *value)
{
	const struct cmd_option *o;

	for (o = client_global_options; o->help != NULL; o++) {
		if ((o->flags & CMD_OPT_CONFIG) && strcmp(o->name, key) == 0)
			break;
	}
	if (o->help == NULL)
		return -2;
	if (given[o - client_global_options])
		return 0;
	if (o->arg == NULL) {
		/* a flag: yes or no */
		if (strcmp(value, "no") == 0)
			return 0;
		if (strcmp(value, "yes") != 0 && value[0] != '\0')
			return EXIT_USAGE;
		value = NULL;
	}
	return option_apply(o->val, value) != 0 ? EXIT_USAGE : 0;
}

int
client_global_apply(const struct cmd_option *o, const char *arg)
{
	int rc;

	given[o - client_global_options] = true;
	/* -1: --help or --version answered */
	if ((rc = option_apply(o->val, arg)) != 0)
		return rc < 0 ? rc : EXIT_USAGE;
	if ((o->flags & CMD_OPT_FORWARD) && forward(o, arg) != 0) {
		msg_error("out of memory");
		return EXIT_USAGE;
	}
	return 0;
}

/*
 * The environment's defaults, below the options and a target's settings:
 * LIFELINE_VIA, LIFELINE_IDENTITY, LIFELINE_HOST_KEY_FINGERPRINT.
 */
static int
options_from_env(void)
{
	const char *v;

	if ((v = getenv("LIFELINE_VIA")) != NULL &&
	    via_set(v, "LIFELINE_VIA") != 0)
		return EXIT_FAILED;
	if ((v = getenv("LIFELINE_IDENTITY")) != NULL && v[0] != '\0')
		client_opts.identity = v;
	if ((v = getenv("LIFELINE_HOST_KEY_FINGERPRINT")) != NULL &&
	    v[0] != '\0' && option_apply('F', v) != 0) {
		msg_error("(from LIFELINE_HOST_KEY_FINGERPRINT)");
		return EXIT_USAGE;
	}
	return 0;
}

/* The table's entry for what getopt returned. */
static const struct cmd_option *
option_find(int ch)
{
	const struct cmd_option *o;

	for (o = client_global_options; o->help != NULL; o++) {
		if (o->val == ch)
			return o;
	}
	return NULL;
}

int
client_options_parse(int argc, char **argv, int *first)
{
	const struct cmd_option *o;
	struct option *longopts;
	char shortopts[128];
	int ch, rc = 0;

	if ((rc = options_from_env()) != 0)
		return rc;
	/* "+": stop at the command; its options are its own. */
	if (cmd_getopt_spec(client_global_options, "+:", &longopts, shortopts,
	    sizeof(shortopts)) != 0) {
		msg_error("out of memory");
		return EXIT_FAILED;
	}
	optind = 0;
	opterr = 0;
	while (rc == 0 &&
	    (ch = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if ((o = option_find(ch)) == NULL) {
			cmd_option_error(NULL, client_global_options, argc,
			    argv, ch);
			fprintf(stderr, "(lifeline --help lists the options)\n");
			rc = EXIT_USAGE;
			break;
		}
		if ((rc = client_global_apply(o, o->arg != NULL ? optarg :
		    NULL)) != 0)
			break;
	}
	free(longopts);
	if (rc == 0 && optind >= argc) {
		fprintf(stderr, "usage: lifeline [OPTION...] COMMAND [ARG...]\n"
		    "(lifeline help lists the options and commands)\n");
		rc = EXIT_USAGE;
	}
	*first = optind;
	return rc;
}
