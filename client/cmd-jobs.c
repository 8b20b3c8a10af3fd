/*
 * lifeline jobs, output, wait, kill: the agent's jobs (every exec is one;
 * docs/protocol.md, "Jobs").
 *
 * A job outlives the session that started it, so these commands find it
 * by its id from any later session.  output and wait end with the job's
 * own status as exec does (the exit status, 128 + N for a signal N), so a
 * script can start a command with `exec --detach` and collect it later as
 * if it had waited.  Cancelling output or wait (Ctrl-C) stops only the
 * reading or the waiting: the job runs on, and we say so.
 */
#include "config.h"

#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "client.h"
#include "job-ask.h"
#include "msg.h"


static const struct {
	const char *name;
	int sig;
} job_signals[] = {
	{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT },
	{ "KILL", SIGKILL }, { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 },
	{ "TERM", SIGTERM }, { "CONT", SIGCONT }, { "STOP", SIGSTOP },
	{ NULL, 0 }
};

/* "3" as a job id: 0 (and a message) when it is not one. */
static uint32_t
job_id_arg(const char *cmd, const char *s)
{
	char *end;
	unsigned long v;

	v = strtoul(s, &end, 10);
	if (!isdigit((unsigned char)s[0]) || *end != '\0' || v == 0 ||
	    v > UINT32_MAX) {
		msg_error("%s: \"%s\" is not a job id (a number from "
		    "`lifeline jobs`)", cmd, s);
		return 0;
	}
	return (uint32_t)v;
}

int
job_exit_code(json_t *res)
{
	json_t *v;

	/* as timeout(1): 124 when the time ran out, whatever the end */
	if (json_is_true(json_object_get(res, "timed_out"))) {
		if (!client_opts.json)
			msg_error("job %lld timed out (exec --timeout): exit "
			    "status 124, as timeout(1)",
			    (long long)json_integer_value(json_object_get(res,
			    "job")));
		return EXIT_TIMEOUT;
	}
	if (json_is_integer(v = json_object_get(res, "exit_status")))
		return (int)json_integer_value(v);
	if (json_is_integer(v = json_object_get(res, "signal"))) {
		if (!client_opts.json)
			msg_error("job %lld was killed by signal %lld (%s)%s",
			    (long long)json_integer_value(json_object_get(res,
			    "job")), (long long)json_integer_value(v),
			    strsignal((int)json_integer_value(v)),
			    json_is_true(json_object_get(res, "timed_out")) ?
			    " after its timeout" : "");
		return 128 + (int)json_integer_value(v);
	}
	return EXIT_EXEC_OWN;
}

/* Say that WHAT runs on as job, and the command that continues at pos. */
static void
job_hint_at(const char *what, long job, const uint64_t pos[3])
{
	msg_error("%s runs on as job %ld on the agent: `lifeline output "
	    "--follow --from %llu,%llu %ld` continues after the %llu and %llu "
	    "bytes of stdout and stderr received, and ends with its status",
	    what, job, (unsigned long long)pos[1], (unsigned long long)pos[2],
	    job, (unsigned long long)pos[1], (unsigned long long)pos[2]);
}

void
job_lost_hint(const char *what, long job, const uint64_t *from,
    const struct stream_out *o)
{
	uint64_t pos[3];
	int ch;

	if (job <= 0)
		return;
	for (ch = 1; ch <= 2; ch++)
		pos[ch] = (from != NULL ? from[ch] : 0) + o->received[ch];
	job_hint_at(what, job, pos);
}

/*
 * A job followed again after a lost link: the DATA goes on into the same
 * stream_out while pos counts the offset of the next byte of each channel
 * (set from job-output's first event, which says where it really starts).
 */
struct follow {
	struct stream_out *out;
	uint64_t pos[3];
};

static void output_event(void *ctx, json_t *ev);

static void
follow_data(void *ctx, uint8_t ch, const uint8_t *p, size_t n)
{
	struct follow *f = ctx;

	if (ch == 1 || ch == 2)
		f->pos[ch] += n;
	stream_out_data(f->out, ch, p, n);
}

static void
follow_eof(void *ctx, uint8_t ch)
{
	struct follow *f = ctx;

	stream_out_eof(f->out, ch);
}

static bool
follow_complete(void *ctx)
{
	struct follow *f = ctx;

	return stream_out_complete(f->out);
}

static void
follow_event(void *ctx, json_t *ev)
{
	struct follow *f = ctx;

	if (json_is_integer(json_object_get(ev, "stdout_offset")))
		f->pos[1] = (uint64_t)json_integer_value(json_object_get(ev,
		    "stdout_offset"));
	if (json_is_integer(json_object_get(ev, "stderr_offset")))
		f->pos[2] = (uint64_t)json_integer_value(json_object_get(ev,
		    "stderr_offset"));
	output_event(NULL, ev);
}

void
job_reconnect(const char *what, long job, const uint64_t *from,
    struct stream_out *o, struct job_ask *ask, int *rc, json_t **reply)
{
	struct follow f = { .out = o };
	struct call_handlers h = { .data = follow_data, .eof = follow_eof,
	    .event = follow_event, .complete = follow_complete, .ctx = &f };
	struct job_ask again;
	struct conn c;
	char goes_on[128];
	json_t *args;
	int ch;

	if (*rc != EXIT_LOST)
		return;
	/* A lost call has no reply (conn_run's rule), even one that came
	 * before the link went: the job's status comes from following it. */
	json_decref(*reply);
	*reply = NULL;
	for (ch = 1; ch <= 2; ch++)
		f.pos[ch] = (from != NULL ? from[ch] : 0) + o->received[ch];
	if (job <= 0)
		return;
	if (ask != NULL) {
		/* Ctrl-C asks again; job-output is stopped by a signal */
		again = *ask;
		again.job = &job;
		again.pos = f.pos;
		again.stop_by_signal = true;
		again.input_open = false;
		again.asking = false;
		h.ask = &again;
	}
	snprintf(goes_on, sizeof(goes_on), "%s runs on as job %ld", what, job);
	memset(&c, 0, sizeof(c));
	/* Each loss has its own --reconnect time: the back-off starts afresh. */
	while (conn_reconnect(&c, goes_on) == 0) {
		msg_verbose("job %ld from byte %llu of stdout, %llu of stderr",
		    job, (unsigned long long)f.pos[1],
		    (unsigned long long)f.pos[2]);
		o->eof[1] = o->eof[2] = false;
		args = json_pack("{s:i, s:I, s:I, s:b}", "job", (int)job,
		    "stdout_offset", (json_int_t)f.pos[1], "stderr_offset",
		    (json_int_t)f.pos[2], "follow", 1);
		*rc = conn_call(&c, "job-output", args, &h, reply);
		json_decref(args);
		if (*rc != 0) {
			json_decref(*reply);
			*reply = NULL;
		}
		if (*rc == EXIT_LOST) {
			msg_verbose("%s", c.err);
			continue;
		}
		if (*rc != 0)
			msg_error("%s", c.err);
		conn_close(&c);
		return;
	}
	*rc = EXIT_LOST;
	job_hint_at(what, job, f.pos);
}

static void
jobs_print(json_t *res)
{
	json_t *jobs = json_object_get(res, "jobs"), *j, *a;
	size_t i, k;
	char when[32], status[32];

	if (json_array_size(jobs) == 0) {
		printf("no jobs\n");
		return;
	}
	printf("%-4s %-8s %-19s %10s %-8s %s\n", "ID", "STATE", "STARTED",
	    "BUFFERED", "STATUS", "COMMAND");
	json_array_foreach(jobs, i, j) {
		time_t t = (time_t)json_integer_value(json_object_get(j,
		    "started"));
		struct tm tm;

		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S",
		    localtime_r(&t, &tm));
		status[0] = '\0';
		if (json_is_integer(json_object_get(j, "exit_status")))
			snprintf(status, sizeof(status), "%lld",
			    (long long)json_integer_value(json_object_get(j,
			    "exit_status")));
		else if (json_is_integer(json_object_get(j, "signal")))
			snprintf(status, sizeof(status), "signal %lld",
			    (long long)json_integer_value(json_object_get(j,
			    "signal")));
		printf("%-4lld %-8s %-19s %10lld %-8s",
		    (long long)json_integer_value(json_object_get(j, "job")),
		    json_string_value(json_object_get(j, "state")), when,
		    (long long)json_integer_value(json_object_get(j,
		    "buffered_bytes")), status[0] != '\0' ? status : "-");
		json_array_foreach(json_object_get(j, "argv"), k, a)
			printf(" %s", json_string_value(a));
		printf("\n");
	}
}

static int
cmd_jobs(int argc, char **argv)
{
	json_t *res;
	int rc;

	optind = 0;
	while (cmd_getopt(&cmd_jobs_entry, argc, argv) != -1)
		return cmd_usage_error(&cmd_jobs_entry);
	if (optind != argc)
		return cmd_usage_error(&cmd_jobs_entry);
	if ((rc = conn_run("jobs", NULL, NULL, &res)) != 0)
		return rc;
	return print_reply(res, jobs_print);
}

/* Where job-output's stream really starts: its first event says. */
static uint64_t output_start[3];

/* job-output's first event: where the stream starts, what is gone. */
static void
output_event(void *ctx, json_t *ev)
{
	static const char *const chan[] = { "stdout", "stderr" };
	char key[32];
	int i;

	(void)ctx;
	for (i = 0; i < 2; i++) {
		json_int_t d;

		snprintf(key, sizeof(key), "%s_dropped", chan[i]);
		d = json_integer_value(json_object_get(ev, key));
		snprintf(key, sizeof(key), "%s_offset", chan[i]);
		output_start[i + 1] = (uint64_t)json_integer_value(
		    json_object_get(ev, key));
		if (d > 0)
			msg_warn("job %lld: %lld bytes of its %s were dropped "
			    "(the agent keeps the last 4 MiB of each channel); "
			    "%s continues at byte %lld",
			    (long long)json_integer_value(json_object_get(ev,
			    "job")), (long long)d, chan[i], chan[i],
			    (long long)json_integer_value(json_object_get(ev,
			    key)));
	}
}

/* The end of output or wait: the job's status as ours, or why not. */
static int
job_collect(const char *cmd, int rc, json_t *res, struct stream_out *out)
{
	if (rc != 0) {
		if (out != NULL)
			stream_out_cleanup(out, NULL);
		return rc == EXIT_FAILED ? EXIT_EXEC_OWN : rc;
	}
	if (json_is_string(json_object_get(res, "state")) &&
	    strcmp(json_string_value(json_object_get(res, "state")),
	    "running") == 0) {
		rc = EXIT_OK;
		if (!client_opts.json)
			msg_verbose("%s: job %lld is still running", cmd,
			    (long long)json_integer_value(json_object_get(res,
			    "job")));
	} else
		rc = job_exit_code(res);
	if (client_opts.json) {
		if (out != NULL)
			stream_out_json(res, out, true);
		print_json(res);
	} else
		json_decref(res);
	if (out != NULL)
		stream_out_cleanup(out, "output: writing the job's output "
		    "failed");
	return rc;
}

static int
parse_offsets(const char *s, json_t *args)
{
	unsigned long long o1 = 0, o2 = 0;
	char *end;

	o1 = strtoull(s, &end, 10);
	if (end == s || (*end != '\0' && *end != ','))
		return -1;
	if (*end == ',') {
		s = end + 1;
		o2 = strtoull(s, &end, 10);
		if (end == s || *end != '\0')
			return -1;
	}
	json_object_set_new(args, "stdout_offset", json_integer((json_int_t)
	    o1));
	json_object_set_new(args, "stderr_offset", json_integer((json_int_t)
	    o2));
	return 0;
}

static const struct cmd_option output_options[] = {
	{ "follow", 'f', CMD_OPT_SHORT, NULL, "go on until the job ends; exit "
	  "with its status" },
	{ "from", 'F', 0, "OUT[,ERR]", "start at these byte offsets of stdout "
	  "and stderr" },
	{ NULL, 0, 0, NULL, NULL }
};

static int
cmd_output(int argc, char **argv)
{
	struct call_handlers h = { .data = stream_out_data,
	    .eof = stream_out_eof, .event = output_event,
	    .complete = stream_out_complete };
	struct stream_out out;
	struct job_ask ask = { .stop_by_signal = true };
	json_t *args, *res = NULL;
	long idl;
	bool follow = false;
	const char *from = NULL;
	uint32_t id;
	int ch, rc;

	optind = 0;
	while ((ch = cmd_getopt(&cmd_output_entry, argc, argv)) != -1) {
		switch (ch) {
		case 'f':
			follow = true;
			break;
		case 'F':
			from = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1)
		goto usage;
	if ((id = job_id_arg("output", argv[optind])) == 0)
		return EXIT_USAGE;
	args = json_pack("{s:i, s:b}", "job", (int)id, "follow", follow);
	if (from != NULL && parse_offsets(from, args) != 0) {
		json_decref(args);
		msg_error("output: --from needs STDOUT_OFFSET[,STDERR_OFFSET] "
		    "(byte counts), not \"%s\"", from);
		return EXIT_USAGE;
	}
	stream_out_init(&out, client_opts.json);
	h.ctx = &out;
	idl = (long)id;
	ask.job = &idl;
	ask.from = output_start;
	ask.out = &out;
	if (follow)
		h.ask = &ask;
	rc = conn_run("job-output", args, &h, &res);
	json_decref(args);
	if (rc == EXIT_LOST && follow)
		job_reconnect("the job", (long)id, output_start, &out, &ask,
		    &rc, &res);
	else if (rc == EXIT_LOST)
		job_lost_hint("the job", (long)id, output_start, &out);
	return job_collect("output", rc, res, &out);
usage:
	return cmd_usage_error(&cmd_output_entry);
}

static int
cmd_wait(int argc, char **argv)
{
	struct job_ask ask = { .stop_by_signal = true };
	struct call_handlers h = { .ask = &ask };
	json_t *args, *res = NULL;
	uint32_t id;
	long idl;
	int rc;

	optind = 0;
	while (cmd_getopt(&cmd_wait_entry, argc, argv) != -1)
		return cmd_usage_error(&cmd_wait_entry);
	if (optind != argc - 1)
		return cmd_usage_error(&cmd_wait_entry);
	if ((id = job_id_arg("wait", argv[optind])) == 0)
		return EXIT_USAGE;
	idl = (long)id;
	ask.job = &idl;
	args = json_pack("{s:i}", "job", (int)id);
	rc = conn_run("job-wait", args, &h, &res);
	json_decref(args);
	return job_collect("wait", rc, res, NULL);
}

/* "-9", "-KILL", "-SIGKILL": the number, or 0. */
static int
signal_arg(const char *s)
{
	char *end;
	long v;
	int i;

	s++;
	if (isdigit((unsigned char)s[0])) {
		v = strtol(s, &end, 10);
		return *end == '\0' && v >= 1 && v <= 64 ? (int)v : 0;
	}
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (i = 0; job_signals[i].name != NULL; i++) {
		if (strcasecmp(s, job_signals[i].name) == 0)
			return job_signals[i].sig;
	}
	return 0;
}

static int
cmd_kill(int argc, char **argv)
{
	json_t *args, *res;
	int sig = SIGTERM, rc, i = 1;
	uint32_t id;

	if (argc == 3 && argv[1][0] == '-') {
		if ((sig = signal_arg(argv[1])) == 0) {
			msg_error("kill: \"%s\" is not a signal (a number 1-64 "
			    "or HUP, INT, QUIT, KILL, USR1, USR2, TERM, CONT, "
			    "STOP)", argv[1] + 1);
			return EXIT_USAGE;
		}
		i = 2;
	} else if (argc != 2)
		return cmd_usage_error(&cmd_kill_entry);
	if ((id = job_id_arg("kill", argv[i])) == 0)
		return EXIT_USAGE;
	args = json_pack("{s:i, s:i}", "job", (int)id, "signal", sig);
	rc = conn_run("job-signal", args, NULL, &res);
	json_decref(args);
	if (rc != 0)
		return rc;
	if (client_opts.json)
		return print_reply(res, NULL);
	json_decref(res);
	return EXIT_OK;
}

const struct client_cmd cmd_jobs_entry = {
	.name = "jobs",
	.summary = "list the agent's jobs (commands run by exec, fsck)",
	.run = cmd_jobs,
};

const struct client_cmd cmd_output_entry = {
	.name = "output",
	.operands = "ID",
	.summary = "a job's output, from the start of what is buffered",
	.options = output_options,
	.run = cmd_output,
};

const struct client_cmd cmd_wait_entry = {
	.name = "wait",
	.operands = "ID",
	.summary = "wait for a job; its exit status is lifeline's",
	.run = cmd_wait,
};

const struct client_cmd cmd_kill_entry = {
	.name = "kill",
	.operands = "[-SIGNAL] ID",
	.summary = "send a job a signal (default TERM)",
	.help = "SIGNAL is a number or HUP, INT, QUIT, KILL, USR1, USR2, TERM, CONT, "
	    "STOP.",
	.flags = CMD_OWN_ARGS,
	.run = cmd_kill,
};
