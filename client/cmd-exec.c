/*
 * lifeline exec: run a command on the agent's host.  The remote stdout and
 * stderr stream to ours as they arrive; the remote exit status becomes ours
 * (128 + N for death by signal N, as a shell reports it).  With --json the
 * output is collected instead and printed in one object at the end.  With
 * --chroot the command runs chrooted into the target root.
 *
 * get and put act on the target root once one is mounted, but a command
 * without --chroot runs on the rescue host: `exec -- sed -i ...
 * /etc/ssh/sshd_config` would edit the wrong system.  The agent says where
 * the command runs in an event before its output, and with a target
 * mounted and no --chroot we say so on stderr, once, before anything else.
 *
 * Every command is a job of the agent: with --detach we print its id and
 * return at once (`lifeline output`, `wait`, `kill` take it from there).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "msg.h"

static long exec_job;	/* the agent's job id of the command; 0: unknown */

/* The agent's event saying where the command runs (and as which job). */
static void
exec_event(void *ctx, json_t *ev)
{
	static bool said;
	const char *on = json_string_value(json_object_get(ev, "runs_on"));
	const char *root = json_string_value(json_object_get(ev,
	    "target_root"));

	(void)ctx;
	if (json_is_integer(json_object_get(ev, "job")))
		exec_job = (long)json_integer_value(json_object_get(ev, "job"));
	if (said || on == NULL || strcmp(on, "rescue_host") != 0 ||
	    root == NULL)
		return;
	said = true;
	msg_warn("exec runs on the rescue host, not in the target: the "
	    "target's root is mounted at %s there (`lifeline exec --chroot` "
	    "runs inside it)", root);
}

/* --detach: the job id on stdout at once (the job's, for output/wait). */
static int
exec_detached(json_t *args)
{
	json_t *res;
	int rc;

	json_object_set_new(args, "detach", json_true());
	rc = conn_run("exec", args, NULL, &res);
	json_decref(args);
	if (rc != 0)
		return EXIT_EXEC_OWN;
	if (client_opts.json)
		return print_reply(res, NULL);
	printf("%lld\n", (long long)json_integer_value(json_object_get(res,
	    "job")));
	json_decref(res);
	return EXIT_OK;
}

static const struct cmd_option exec_options[] = {
	{ "timeout", 't', CMD_OPT_SHORT, "SECONDS", "terminate the command "
	  "(SIGTERM, then SIGKILL) after SECONDS" },
	{ "cwd", 'C', CMD_OPT_SHORT, "DIR", "run in DIR" },
	{ "chroot", 'R', 0, NULL, "run chrooted into the target root (see "
	  "mount)" },
	{ "detach", 'D', 0, NULL, "print the job id and return at once; the "
	  "command runs on (see jobs, output)" },
	{ NULL, 0, 0, NULL, NULL }
};

static int
cmd_exec(int argc, char **argv)
{
	struct call_handlers h = { .data = stream_out_data,
	    .eof = stream_out_eof, .event = exec_event,
	    .complete = stream_out_complete };
	struct stream_out out;
	json_t *args, *jargv, *res;
	const char *cwd = NULL;
	bool chroot_target = false, detach = false;
	double timeout = 0;
	char *end;
	int ch, rc, i;

	optind = 0;
	while ((ch = cmd_getopt(&cmd_exec_entry, argc, argv)) != -1) {
		switch (ch) {
		case 't':
			timeout = strtod(optarg, &end);
			if (*end != '\0' || timeout <= 0) {
				msg_error("exec: --timeout needs seconds, not "
				    "\"%s\"", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'C':
			cwd = optarg;
			break;
		case 'R':
			chroot_target = true;
			break;
		case 'D':
			detach = true;
			break;
		default:
			goto usage;
		}
	}
	if (optind >= argc)
		goto usage;
	stream_out_init(&out, client_opts.json);
	h.ctx = &out;
	jargv = json_array();
	for (i = optind; i < argc; i++) {
		/* never a command with an argument silently left out */
		json_t *a = arg_text("exec", "argument", argv[i]);

		if (a == NULL || json_array_append_new(jargv, a) != 0) {
			json_decref(jargv);
			return EXIT_USAGE;
		}
	}
	args = json_pack("{s:o}", "argv", jargv);
	/* the working directory is a path: any bytes ("cwd_base64") */
	if (args == NULL || (cwd != NULL &&
	    ll_msg_set_bytes(args, "cwd", cwd) != 0)) {
		json_decref(args);
		msg_error("exec: out of memory");
		return EXIT_EXEC_OWN;
	}
	if (chroot_target)
		json_object_set_new(args, "chroot", json_true());
	if (timeout > 0)
		json_object_set_new(args, "timeout_ms",
		    json_integer((json_int_t)(timeout * 1000)));
	if (detach)
		return exec_detached(args);
	rc = conn_run("exec", args, &h, &res);
	json_decref(args);
	job_reconnect("the command", exec_job, NULL, &out, &rc, &res);
	if (rc != 0) {
		stream_out_cleanup(&out, NULL);
		/* exec's own status space is the remote one: ours is 255,
		 * but a usage error (a malformed --via) is 2 everywhere */
		return rc == EXIT_USAGE ? EXIT_USAGE : EXIT_EXEC_OWN;
	}
	rc = job_exit_code(res);
	if (client_opts.json) {
		stream_out_json(res, &out, true);
		print_json(res);
	} else {
		json_decref(res);
	}
	stream_out_cleanup(&out, "exec: writing the command's output failed");
	return rc;
usage:
	return cmd_usage_error(&cmd_exec_entry);
}

const struct client_cmd cmd_exec_entry = {
	.name = "exec",
	.operands = "[--] COMMAND [ARG...]",
	.summary = "run a command on the agent's host (a job)",
	.help = "COMMAND runs as an argument vector (no shell unless you run one) with "
	    "a clean environment and stdin from /dev/null; its output streams "
	    "as it comes and its exit status becomes lifeline's.  Options end "
	    "at COMMAND: what follows is COMMAND's.",
	.options = exec_options,
	.flags = CMD_STOP_AT_OPERAND,
	.run = cmd_exec,
};
