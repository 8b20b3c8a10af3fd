/*
 * exec: run an argv (no shell) as a job and stream its stdout and stderr.
 *
 * The process is a job (job.c) of the agent: a clean environment,
 * /dev/null as stdin, its own process group (so a timeout or cancel can
 * end whatever it started), an exec failure reported as an error rather
 * than as an exit status, its output kept in the job's bounded buffer.
 * The request follows that buffer from offset 0 and ends with the job's
 * status once the job has ended and everything was sent.  When the
 * session ends first the request is freed and the job runs on; with
 * "detach" the request ends at once with the job id.  With "chroot" the
 * child enters the target root (through its fd, not its path) first.
 *
 * With "stdin" the command reads a pipe fed by the request's DATA on
 * channel 0 (job.c buffers at most a window of it); the request tells the
 * client how far the pipe took it ("stdin_offset" events), which moves the
 * window, and whether the command closed it.  When the request ends before
 * the client's EOF (its session ended, it was cut), the command's input is
 * incomplete: the job is terminated rather than left to take part of its
 * input for the whole of it (docs/protocol.md, exec).
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "args.h"
#include "child.h"
#include "error.h"
#include "job.h"
#include "ll-limits.h"
#include "log.h"
#include "msg.h"
#include "target.h"

#define EXEC_ARGV_MAX	1024

struct exec_state {
	struct job_reader rd;	/* follows the job's output from offset 0 */
	bool cancelled;
	bool in_eof;		/* the client's stdin EOF came */
	bool in_closed_said;	/* the client was told stdin is closed */
	uint64_t in_acked;	/* stdin_offset last sent */
};

/*
 * Say where the command runs, and as which job, before its output: with a
 * target root mounted, a command without chroot reads the rescue host's
 * /etc, not the target's, and the client makes sure its user knows (issue
 * 10, item 11).
 */
static void
exec_send_where(struct request *r, bool chroot_target, const struct job *j)
{
	json_t *ev;

	/* a text to show: a root that is not UTF-8 must not lose the event */
	ev = json_pack("{s:s, s:o, s:i}", "runs_on",
	    chroot_target ? "target" : "rescue_host", "target_root",
	    target_has_root() ? ll_msg_text(target_root_path()) : json_null(),
	    "job", (int)j->id);
	if (ev != NULL && j->in_pipe)
		json_object_set_new(ev, "stdin_window",
		    json_integer(LL_JOB_STDIN_WINDOW));
	request_event(r, ev);
}

static int
op_exec_start(struct request *r, json_t *args)
{
	static const uint64_t zero[3];
	struct exec_state *st = NULL;
	struct job *j;
	uint64_t dropped[3];
	char *argv[EXEC_ARGV_MAX + 1];
	struct child_opts opts = { .root_fd = -1 };
	const char *cwd, *ec;
	char err[512];
	bool chroot_target = false, detach = false, in = false;
	int64_t timeout_ms = 0;
	int rc = -1;

	/* cwd is a byte string like every path ("cwd" or "cwd_base64") */
	if (arg_argv(r, args, "argv", EXEC_ARGV_MAX, argv) != 0 ||
	    arg_path(r, args, "cwd", false, &cwd) != 0 ||
	    arg_int(r, args, "timeout_ms", 0, INT64_MAX, &timeout_ms) != 0 ||
	    arg_bool(r, args, "chroot", &chroot_target) != 0 ||
	    arg_bool(r, args, "detach", &detach) != 0)
		goto out;
	if ((chroot_target && target_require(r) != 0) ||
	    arg_bool(r, args, "stdin", &in) != 0)
		goto out;
	if (detach && in) {
		request_error(r, LL_EC_BAD_REQUEST, "\"detach\" and \"stdin\" "
		    "together: a detached command's input has no one to send "
		    "it");
		goto out;
	}
	opts.cwd = cwd;
	opts.stdin_pipe = in;
	if (chroot_target)
		opts.root_fd = target_root_fd();
	if ((j = job_start(argv, &opts, (uint64_t)timeout_ms, &ec, err,
	    sizeof(err))) == NULL) {
		request_error(r, ec, "%s", err);
		goto out;
	}
	log_info("%s: request %u: exec %s as job %u%s", r->conn->name, r->id,
	    argv[0], j->id, detach ? ", detached" : "");
	if (detach) {
		request_reply(r, json_pack("{s:i}", "job", (int)j->id));
		rc = 0;
		goto out;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		/* it runs on, detached: the client can still find it */
		request_error(r, LL_EC_INTERNAL, "out of memory (job %u runs "
		    "on, detached)", j->id);
		goto out;
	}
	if (job_reader_attach(&st->rd, j, r, zero, true, dropped, err,
	    sizeof(err)) != 0) {
		request_error(r, LL_EC_INTERNAL, "%s", err);
		goto out;
	}
	exec_send_where(r, chroot_target, j);
	r->state = st;
	st = NULL;
	rc = 0;
out:
	free(st);
	return rc;
}

static void
exec_finish(struct request *r)
{
	struct exec_state *st = r->state;
	const struct job *j = st->rd.job;
	int status = j->child.status;

	if (st->cancelled) {
		request_error(r, LL_EC_CANCELLED, "cancelled; %s ended by %s",
		    "the command", WIFSIGNALED(status) ?
		    strsignal(WTERMSIG(status)) : "exiting");
		return;
	}
	request_reply(r, job_status(j));
}

/*
 * Tell the client how far the command's pipe took its input (a quarter of
 * the window at a time, so the window never closes while the pipe takes
 * bytes), and once, that the input is closed: the client stops sending.
 */
static void
exec_stdin_ack(struct request *r, struct exec_state *st, const struct job *j)
{
	bool closed = !job_stdin_is_open(j);
	json_t *ev;

	if (!j->in_pipe || st->in_closed_said)
		return;
	if (!closed && j->in_taken - st->in_acked < LL_JOB_STDIN_WINDOW / 4)
		return;
	ev = json_pack("{s:i, s:I}", "job", (int)j->id, "stdin_offset",
	    (json_int_t)j->in_taken);
	if (ev != NULL && closed)
		json_object_set_new(ev, "stdin_closed", json_true());
	if (ev != NULL && ll_session_send_json(r->conn->s, LL_MSG_EVENT, r->id,
	    ev) == 0) {
		st->in_acked = j->in_taken;
		st->in_closed_said = closed;
	}
	json_decref(ev);
}

static void
op_exec_io(struct request *r, uint64_t now)
{
	struct exec_state *st = r->state;

	(void)now;
	if (r->done)
		return;
	if (st->rd.job == NULL) {
		request_error(r, LL_EC_INTERNAL, "the job was forgotten to make "
		    "room for another (lifelined(8), JOBS)");
		return;
	}
	exec_stdin_ack(r, st, st->rd.job);
	if (job_reader_pump(&st->rd) && !job_is_running(st->rd.job))
		exec_finish(r);
}

/*
 * The command's input ends before the client's EOF: a command cannot tell
 * a cut input from a whole one (tar would extract half an archive, a
 * checksum would be of a prefix), so it is ended, not given an EOF.
 */
static void
exec_stdin_cut(struct request *r, struct exec_state *st, const char *why)
{
	struct job *j = st->rd.job;

	if (j == NULL || !job_stdin_is_open(j) || st->in_eof)
		return;
	log_info("%s: request %u: job %u: its standard input was cut after "
	    "%llu bytes (%s): terminating it", r->conn->name, r->id, j->id,
	    (unsigned long long)j->in_recv, why);
	/* the signal first: with its stdin closed first, the command could
	 * take the EOF for the end of its input and exit 0 before it */
	job_terminate(j);
	job_stdin_close(j);
}

/* DATA on channel 0: the command's input. */
static void
op_exec_data(struct request *r, uint8_t channel, const uint8_t *p, size_t n)
{
	struct exec_state *st = r->state;
	char err[256];

	if (r->done || st == NULL || st->rd.job == NULL)
		return;
	if (channel != LL_CH_STDIN) {
		snprintf(err, sizeof(err), "DATA on channel %u: a command "
		    "takes its input on channel 0 (stdin)", channel);
	} else if (job_stdin_data(st->rd.job, p, n, err, sizeof(err)) == 0)
		return;
	if (job_stdin_is_open(st->rd.job)) {
		exec_stdin_cut(r, st, err);
		request_error(r, LL_EC_BAD_REQUEST, "%s; the command was ended",
		    err);
	} else
		request_error(r, LL_EC_BAD_REQUEST, "%s; job %u runs on", err,
		    st->rd.job->id);
}

static void
op_exec_eof(struct request *r, uint8_t channel)
{
	struct exec_state *st = r->state;

	if (r->done || st == NULL || st->rd.job == NULL ||
	    channel != LL_CH_STDIN || !st->rd.job->in_pipe)
		return;
	st->in_eof = true;
	job_stdin_eof(st->rd.job);
}

/* CANCEL (Ctrl-C) ends the command; the request ends once it has. */
static void
op_exec_cancel(struct request *r)
{
	struct exec_state *st = r->state;

	if (st == NULL || st->rd.job == NULL)
		return;
	st->cancelled = true;
	job_terminate(st->rd.job);
}

/* The request ends, with its session or not: the job runs on. */
static void
op_exec_free(struct request *r)
{
	struct exec_state *st = r->state;

	if (st == NULL)
		return;
	exec_stdin_cut(r, st, "the request ended before the client's EOF");
	job_reader_detach(&st->rd);
	free(st);
	r->state = NULL;
}

const struct agent_op op_exec_ops[] = {
	{ .name = "exec", .writes = true, .outlives_session = true,
	  .start = op_exec_start, .io = op_exec_io, .data = op_exec_data,
	  .eof = op_exec_eof, .cancel = op_exec_cancel, .free = op_exec_free },
	{ .name = NULL }
};
