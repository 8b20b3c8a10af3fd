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
 *
 * Our standard input becomes the command's (unless it is a terminal, where
 * -i asks for it, or -n says no): DATA on channel 0, read only when the
 * session has room and within the window the agent grants ("stdin_offset"
 * events say how far the command took it), so a 50 GB file costs us one
 * chunk of memory and the agent at most its window.  Our end of file
 * closes the command's stdin; a link lost before it cuts the input, and the
 * agent then ends the command rather than let it take part of its input
 * for the whole (docs/protocol.md, exec).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "job-ask.h"
#include "msg.h"
#include "xfer.h"

static long exec_job;	/* the agent's job id of the command; 0: unknown */

/* Our stdin on its way to the command. */
struct exec_in {
	bool on;		/* sent at all ("stdin" in the request) */
	bool eof_read, eof_sent;
	bool closed;		/* the agent says the command's stdin closed */
	uint64_t sent;		/* bytes sent */
	uint64_t taken;		/* bytes the command's pipe took (the agent's
				 * last "stdin_offset") */
	uint64_t window;	/* sent - taken may reach this; 0: not known */
};

/* One exec call: its output and its input. */
struct exec_call {
	struct stream_out out;
	struct exec_in in;
	struct job_ask ask;	/* Ctrl-C: stop it, or stop waiting? */
};

/* Is our input still on its way (then Ctrl-C cannot leave it running)? */
static void
exec_in_update(struct exec_call *e)
{
	e->ask.input_open = e->in.on && !e->in.eof_sent && !e->in.closed;
}

static void
exec_data(void *ctx, uint8_t ch, const uint8_t *p, size_t n)
{
	stream_out_data(&((struct exec_call *)ctx)->out, ch, p, n);
}

static void
exec_eof(void *ctx, uint8_t ch)
{
	stream_out_eof(&((struct exec_call *)ctx)->out, ch);
}

static bool
exec_complete(void *ctx)
{
	return stream_out_complete(&((struct exec_call *)ctx)->out);
}

/* The agent's word on our input: its window, how far it went, closed. */
static void
exec_in_event(struct exec_in *in, json_t *ev)
{
	json_t *v;

	if (json_is_integer(v = json_object_get(ev, "stdin_window")) &&
	    json_integer_value(v) > 0)
		in->window = (uint64_t)json_integer_value(v);
	if (json_is_integer(v = json_object_get(ev, "stdin_offset")) &&
	    (uint64_t)json_integer_value(v) > in->taken)
		in->taken = (uint64_t)json_integer_value(v);
	if (json_is_true(json_object_get(ev, "stdin_closed")) && !in->closed) {
		in->closed = true;
		if (!in->eof_sent)
			msg_verbose("the command closed its standard input "
			    "after %llu bytes; the rest is not sent",
			    (unsigned long long)in->taken);
	}
}

/* Bytes of input we may send now: the session's room within the window. */
static size_t
exec_in_room(const struct exec_in *in, struct ll_session *s)
{
	size_t room = ll_session_room(s);
	uint64_t win;

	if (!in->on || in->eof_sent || in->closed || in->window == 0 ||
	    conn_interrupted)
		return 0;
	win = in->taken + in->window > in->sent ? in->taken + in->window -
	    in->sent : 0;
	return win < room ? (size_t)win : room;
}

/* Is fd readable now (without blocking)? */
static bool
exec_in_ready(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) > 0;
}

/*
 * The produce hook: read our stdin only when it has bytes (poll, never a
 * blocking read: the output must keep flowing) and only as much as may be
 * sent; its end of file becomes the command's.
 */
static int
exec_produce(void *ctx, struct ll_session *s, uint32_t id)
{
	static unsigned char buf[XFER_CHUNK];
	struct exec_in *in = &((struct exec_call *)ctx)->in;
	size_t room;
	ssize_t n;

	while (!in->eof_read && (room = exec_in_room(in, s)) > 0 &&
	    exec_in_ready(STDIN_FILENO)) {
		n = read(STDIN_FILENO, buf, room < sizeof(buf) ? room :
		    sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			break;
		if (n < 0) {
			msg_error("exec: reading our standard input after "
			    "%llu bytes: %s; the command is cancelled (its "
			    "input would be incomplete)",
			    (unsigned long long)in->sent, strerror(errno));
			return -1;
		}
		if (n == 0) {
			in->eof_read = true;
			break;
		}
		ll_session_send_data(s, LL_CH_STDIN, id, buf, (size_t)n);
		in->sent += (uint64_t)n;
	}
	if (in->eof_read && !in->eof_sent && !in->closed) {
		ll_session_send_eof(s, LL_CH_STDIN, id);
		in->eof_sent = true;
		exec_in_update(ctx);
	}
	return 0;
}

/* Wake for our stdin only while its bytes could be sent. */
static int
exec_wake_fd(void *ctx, struct ll_session *s)
{
	const struct exec_in *in = &((struct exec_call *)ctx)->in;

	return !in->eof_read && exec_in_room(in, s) > 0 ? STDIN_FILENO : -1;
}

/* The agent's events: where the command runs (and as which job), and
 * how far its stdin went. */
static void
exec_event(void *ctx, json_t *ev)
{
	static bool said;
	const char *on = json_string_value(json_object_get(ev, "runs_on"));
	const char *root = json_string_value(json_object_get(ev,
	    "target_root"));

	exec_in_event(&((struct exec_call *)ctx)->in, ev);
	exec_in_update(ctx);
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

/*
 * Whether our stdin goes to the command: -n never, -i always, else when
 * it is not a terminal (a person typing at a prompt did not mean it as the
 * command's input).
 */
static bool
exec_in_wanted(int mode)
{
	if (mode != 0)
		return mode > 0;
	return !isatty(STDIN_FILENO);
}

/* After the call: a link lost before our EOF cut the command's input. */
static void
exec_in_report(const struct exec_in *in, int rc)
{
	if (!in->on || in->eof_sent || in->closed || rc != EXIT_LOST)
		return;
	msg_error("exec: the command's standard input was cut after %llu "
	    "bytes sent (%llu taken by the command): the agent ends a "
	    "command whose input did not reach its end", (unsigned long
	    long)in->sent, (unsigned long long)in->taken);
}

static const struct cmd_option exec_options[] = {
	{ "timeout", 't', CMD_OPT_SHORT, "SECONDS", "terminate the command "
	  "(SIGTERM, then SIGKILL) after SECONDS" },
	{ "cwd", 'C', CMD_OPT_SHORT, "DIR", "run in DIR" },
	{ "chroot", 'R', 0, NULL, "run chrooted into the target root (see "
	  "mount)" },
	{ "detach", 'D', 0, NULL, "print the job id and return at once; the "
	  "command runs on (see jobs, output)" },
	{ "stdin", 'i', CMD_OPT_SHORT, NULL, "send lifeline's standard input "
	  "to the command, also from a terminal" },
	{ "no-stdin", 'n', CMD_OPT_SHORT, NULL, "the command's standard input "
	  "is /dev/null, also when lifeline's is not a terminal" },
	{ NULL, 0, 0, NULL, NULL }
};

static int
cmd_exec(int argc, char **argv)
{
	struct call_handlers h = { .data = exec_data, .eof = exec_eof,
	    .event = exec_event, .complete = exec_complete,
	    .produce = exec_produce, .wake_fd = exec_wake_fd };
	struct exec_call call;
	json_t *args, *jargv, *res;
	const char *cwd = NULL;
	bool chroot_target = false, detach = false;
	double timeout = 0;
	char *end;
	int ch, rc, i, in_mode = 0;

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
		case 'i':
			in_mode = 1;
			break;
		case 'n':
			in_mode = -1;
			break;
		default:
			goto usage;
		}
	}
	if (optind >= argc)
		goto usage;
	if (detach && in_mode > 0) {
		msg_error("exec: --detach and -i: a detached command gets no "
		    "input (it returns at once, before any could be sent)");
		return EXIT_USAGE;
	}
	memset(&call, 0, sizeof(call));
	stream_out_init(&call.out, client_opts.json);
	call.in.on = !detach && exec_in_wanted(in_mode);
	call.ask.what = "the command";
	call.ask.job = &exec_job;
	call.ask.out = &call.out;
	exec_in_update(&call);
	h.ctx = &call;
	h.ask = &call.ask;
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
	if (call.in.on)
		json_object_set_new(args, "stdin", json_true());
	rc = conn_run("exec", args, &h, &res);
	json_decref(args);
	exec_in_report(&call.in, rc);
	job_reconnect("the command", exec_job, NULL, &call.out, &call.ask, &rc,
	    &res);
	if (rc != 0) {
		stream_out_cleanup(&call.out, NULL);
		/* exec's own status space is the remote one: ours is 255,
		 * but a usage error (a malformed --via) is 2 everywhere */
		return rc == EXIT_USAGE ? EXIT_USAGE : EXIT_EXEC_OWN;
	}
	rc = job_exit_code(res);
	if (client_opts.json) {
		stream_out_json(res, &call.out, true);
		print_json(res);
	} else {
		json_decref(res);
	}
	stream_out_cleanup(&call.out, "exec: writing the command's output "
	    "failed");
	return rc;
usage:
	return cmd_usage_error(&cmd_exec_entry);
}

const struct client_cmd cmd_exec_entry = {
	.name = "exec",
	.operands = "[--] COMMAND [ARG...]",
	.summary = "run a command on the agent's host (a job)",
	.help = "COMMAND runs as an argument vector (no shell unless you run one) with "
	    "a clean environment; its standard input is lifeline's when that "
	    "is not a terminal (-i: always, -n: never), else /dev/null; its "
	    "output streams as it comes and its exit status becomes lifeline's.  Options end "
	    "at COMMAND: what follows is COMMAND's.",
	.options = exec_options,
	.flags = CMD_STOP_AT_OPERAND,
	.run = cmd_exec,
};
