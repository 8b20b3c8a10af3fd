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
};

/*
 * Say where the command runs, and as which job, before its output: with a
 * target root mounted, a command without chroot reads the rescue host's
 * /etc, not the target's, and the client makes sure its user knows (issue
 * 10, item 11).
 */
static void
exec_send_where(struct request *r, bool chroot_target, uint32_t job)
{
	/* a text to show: a root that is not UTF-8 must not lose the event */
	request_event(r, json_pack("{s:s, s:o, s:i}", "runs_on",
	    chroot_target ? "target" : "rescue_host", "target_root",
	    target_has_root() ? ll_msg_text(target_root_path()) : json_null(),
	    "job", (int)job));
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
	bool chroot_target = false, detach = false;
	int64_t timeout_ms = 0;
	int rc = -1;

	/* cwd is a byte string like every path ("cwd" or "cwd_base64") */
	if (arg_argv(r, args, "argv", EXEC_ARGV_MAX, argv) != 0 ||
	    arg_path(r, args, "cwd", false, &cwd) != 0 ||
	    arg_int(r, args, "timeout_ms", 0, INT64_MAX, &timeout_ms) != 0 ||
	    arg_bool(r, args, "chroot", &chroot_target) != 0 ||
	    arg_bool(r, args, "detach", &detach) != 0)
		goto out;
	if (chroot_target && target_require(r) != 0)
		goto out;
	opts.cwd = cwd;
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
	exec_send_where(r, chroot_target, j->id);
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
	if (job_reader_pump(&st->rd) && !job_is_running(st->rd.job))
		exec_finish(r);
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
	job_reader_detach(&st->rd);
	free(st);
	r->state = NULL;
}

const struct agent_op op_exec_ops[] = {
	{ .name = "exec", .writes = true, .outlives_session = true,
	  .start = op_exec_start, .io = op_exec_io, .cancel = op_exec_cancel,
	  .free = op_exec_free },
	{ .name = NULL }
};
