/*
 * jobs, job-output, job-wait, job-signal: the jobs exec started, from any
 * session (docs/protocol.md, "Jobs").
 *
 * job-output reads a job's buffer through a job_reader from the offsets
 * the client asks for, so a client that lost its session can continue at
 * the next byte it has not received; job-wait only waits for the end.
 * Both are woken by the agent's loop (the job's pipes and SIGCHLD are
 * polled there) and have no fds of their own.  Cancelling either stops the
 * request, never the job: job-signal is how a job is stopped.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "args.h"
#include "error.h"
#include "job.h"
#include "log.h"
#include "msg.h"

#define JOBS_SIGNAL_MAX	64

struct output_state {
	struct job_reader rd;
	bool follow, cancelled;
};

struct wait_state {
	uint32_t id;
	bool cancelled;
};

/* The job named by args "job": NULL with the ERROR sent when none. */
static struct job *
arg_job(struct request *r, json_t *args)
{
	int64_t id = 0;
	struct job *j;

	if (arg_int(r, args, "job", 1, UINT32_MAX, &id) != 0)
		return NULL;
	if (id == 0) {
		request_error(r, LL_EC_BAD_REQUEST, "argument \"job\" (the job "
		    "id, from exec or `lifeline jobs`) is required");
		return NULL;
	}
	if ((j = job_find((uint32_t)id)) == NULL)
		request_error(r, LL_EC_NOT_FOUND, "no job %lld on this agent "
		    "(ended jobs are kept %d min; `lifeline jobs` lists them)",
		    (long long)id, LL_JOB_KEEP_MS / 60000);
	return j;
}

static int
op_jobs_start(struct request *r, json_t *args)
{
	(void)args;
	request_reply(r, json_pack("{s:o}", "jobs", job_list()));
	return 0;
}

static int
op_output_start(struct request *r, json_t *args)
{
	struct output_state *st;
	int64_t o1 = 0, o2 = 0;
	uint64_t off[3] = { 0 }, dropped[3] = { 0 };
	struct job *j;
	char err[256];
	bool follow;
	json_t *ev;

	if ((j = arg_job(r, args)) == NULL ||
	    arg_int(r, args, "stdout_offset", 0, INT64_MAX, &o1) != 0 ||
	    arg_int(r, args, "stderr_offset", 0, INT64_MAX, &o2) != 0 ||
	    arg_bool(r, args, "follow", &follow) != 0)
		return -1;
	off[1] = (uint64_t)o1;
	off[2] = (uint64_t)o2;
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		request_error(r, LL_EC_INTERNAL, "out of memory");
		return -1;
	}
	if (job_reader_attach(&st->rd, j, r, off, follow, dropped, err,
	    sizeof(err)) != 0) {
		free(st);
		request_error(r, LL_EC_BAD_REQUEST, "%s", err);
		return -1;
	}
	st->follow = follow;
	r->state = st;
	ev = json_pack("{s:i, s:I, s:I, s:I, s:I}", "job", (int)j->id,
	    "stdout_offset", (json_int_t)st->rd.off[1], "stderr_offset",
	    (json_int_t)st->rd.off[2], "stdout_dropped",
	    (json_int_t)dropped[1], "stderr_dropped", (json_int_t)dropped[2]);
	request_event(r, ev);
	if (dropped[1] + dropped[2] > 0)
		log_info("%s: request %u: job %u: %llu bytes no longer "
		    "buffered", r->conn->name, r->id, j->id,
		    (unsigned long long)(dropped[1] + dropped[2]));
	return 0;
}

static void
op_output_io(struct request *r, uint64_t now)
{
	struct output_state *st = r->state;
	int ch;

	(void)now;
	if (r->done)
		return;
	if (st->cancelled) {
		for (ch = 1; ch <= 2; ch++) {
			if (!st->rd.eof_sent[ch])
				request_eof(r, (uint8_t)ch);
			st->rd.eof_sent[ch] = true;
		}
		job_reader_detach(&st->rd);
		request_error(r, LL_EC_CANCELLED, "stopped reading; the job "
		    "runs on");
		return;
	}
	if (st->rd.job == NULL) {
		request_error(r, LL_EC_NOT_FOUND, "the job was forgotten to "
		    "make room for another (lifelined(8), JOBS)");
		return;
	}
	if (!job_reader_pump(&st->rd))
		return;
	if (!st->follow || !job_is_running(st->rd.job))
		request_reply(r, job_status(st->rd.job));
}

/*
 * Stop reading, the job runs on: the request ends in the next io, which
 * closes with EOF what it had started (a cancel hook never ends a request
 * itself: server.c may end it right after with its own ERROR).
 */
static void
op_output_cancel(struct request *r)
{
	struct output_state *st = r->state;

	if (st != NULL)
		st->cancelled = true;
}

static void
op_output_free(struct request *r)
{
	struct output_state *st = r->state;

	if (st == NULL)
		return;
	job_reader_detach(&st->rd);
	free(st);
	r->state = NULL;
}

static int
op_wait_start(struct request *r, json_t *args)
{
	struct wait_state *st;
	struct job *j;

	if ((j = arg_job(r, args)) == NULL)
		return -1;
	if (!job_is_running(j)) {
		request_reply(r, job_status(j));
		return 0;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		request_error(r, LL_EC_INTERNAL, "out of memory");
		return -1;
	}
	st->id = j->id;
	r->state = st;
	return 0;
}

static void
op_wait_io(struct request *r, uint64_t now)
{
	const struct wait_state *st = r->state;
	struct job *j;

	(void)now;
	if (r->done)
		return;
	if (st->cancelled)
		request_error(r, LL_EC_CANCELLED, "stopped waiting; job %u "
		    "runs on", st->id);
	else if ((j = job_find(st->id)) == NULL)
		request_error(r, LL_EC_NOT_FOUND, "job %u was forgotten to make "
		    "room for another (lifelined(8), JOBS)", st->id);
	else if (!job_is_running(j))
		request_reply(r, job_status(j));
}

static void
op_wait_cancel(struct request *r)
{
	struct wait_state *st = r->state;

	if (st != NULL)
		st->cancelled = true;
}

static void
op_wait_free(struct request *r)
{
	free(r->state);
	r->state = NULL;
}

static int
op_signal_start(struct request *r, json_t *args)
{
	int64_t sig = SIGTERM;
	struct job *j;
	int rc;

	if ((j = arg_job(r, args)) == NULL ||
	    arg_int(r, args, "signal", 1, JOBS_SIGNAL_MAX, &sig) != 0)
		return -1;
	if ((rc = job_signal(j, (int)sig)) != 0) {
		if (!job_is_running(j) || rc == -ESRCH)
			request_error(r, LL_EC_NOT_FOUND, "job %u has already "
			    "ended", j->id);
		else
			request_error(r, LL_EC_BAD_REQUEST, "signal %lld to "
			    "job %u: %s", (long long)sig, j->id,
			    strerror(-rc));
		return -1;
	}
	log_info("%s: request %u: signal %lld to job %u", r->conn->name,
	    r->id, (long long)sig, j->id);
	request_reply(r, json_pack("{s:i, s:i}", "job", (int)j->id, "signal",
	    (int)sig));
	return 0;
}

const struct agent_op op_jobs_ops[] = {
	{ .name = "jobs", .start = op_jobs_start },
	{ .name = "job-output", .start = op_output_start, .io = op_output_io,
	  .cancel = op_output_cancel, .free = op_output_free },
	{ .name = "job-wait", .start = op_wait_start, .io = op_wait_io,
	  .cancel = op_wait_cancel, .free = op_wait_free },
	{ .name = "job-signal", .writes = true, .start = op_signal_start },
	{ .name = NULL }
};
