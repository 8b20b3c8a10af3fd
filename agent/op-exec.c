/*
 * exec: run an argv (no shell) and stream its stdout and stderr.
 *
 * The process itself is child.c's: a clean environment, /dev/null as
 * stdin, its own process group (so a timeout or cancel can end whatever it
 * started), an exec failure reported as an error rather than as an exit
 * status, output read only while the session has room for it.  Here are
 * the arguments, the timeout and the reply, sent once the child has been
 * reaped and both pipes are at EOF.  With "chroot" the child enters the
 * target root (through its fd, not its path) before the exec.
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
#include "ll-limits.h"
#include "log.h"
#include "msg.h"
#include "target.h"

#define EXEC_ARGV_MAX	1024

struct exec_state {
	struct child child;	/* first: see child_op_reaped() */
	bool timed_out, cancelled;
	uint64_t deadline;
};

/*
 * Say where the command runs, before its output: with a target root
 * mounted, a command without chroot reads the rescue host's /etc, not the
 * target's, and the client makes sure its user knows (issue 10, item 11).
 */
static void
exec_send_where(struct request *r, bool chroot_target)
{
	json_t *ev;

	ev = json_pack("{s:s, s:o}", "runs_on", chroot_target ? "target" :
	    "rescue_host", "target_root", target_has_root() ?
	    json_string(agent_target.root) : json_null());
	if (ev != NULL)
		ll_session_send_json(r->conn->s, LL_MSG_EVENT, r->id, ev);
	json_decref(ev);
}

static int
op_exec_start(struct request *r, json_t *args)
{
	struct exec_state *st = NULL;
	char *argv[EXEC_ARGV_MAX + 1];
	json_t *jargv, *v, *jt;
	struct child_opts opts = { .root_fd = -1 };
	const char *cwd, *ec;
	char err[512];
	bool chroot_target = false;
	int rc = -1;
	size_t i, n;

	jargv = json_object_get(args, "argv");
	if (!json_is_array(jargv) || (n = json_array_size(jargv)) == 0 ||
	    n > EXEC_ARGV_MAX) {
		request_error(r, LL_EC_BAD_REQUEST,
		    "exec needs \"argv\": 1 to %d strings", EXEC_ARGV_MAX);
		goto out;
	}
	json_array_foreach(jargv, i, v) {
		if (!json_is_string(v) || strlen(json_string_value(v)) !=
		    json_string_length(v)) {
			request_error(r, LL_EC_BAD_REQUEST,
			    "argv[%zu] is not a string without NUL bytes", i);
			goto out;
		}
		argv[i] = (char *)json_string_value(v);
	}
	argv[n] = NULL;
	if (argv[0][0] == '\0') {
		request_error(r, LL_EC_BAD_REQUEST, "argv[0] is empty");
		goto out;
	}
	/* a byte string like every path ("cwd" or "cwd_base64") */
	if (arg_path(r, args, "cwd", false, &cwd) != 0)
		goto out;
	jt = json_object_get(args, "timeout_ms");
	if (jt != NULL && (!json_is_integer(jt) || json_integer_value(jt) < 0)) {
		request_error(r, LL_EC_BAD_REQUEST,
		    "timeout_ms must be a non-negative integer");
		goto out;
	}
	if (arg_bool(r, args, "chroot", &chroot_target) != 0)
		goto out;
	if (chroot_target && !target_has_root()) {
		request_error(r, LL_EC_NOT_FOUND, "no target root is mounted: "
		    "run `lifeline mount` first");
		goto out;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		request_error(r, LL_EC_INTERNAL, "out of memory");
		goto out;
	}
	child_init(&st->child);
	opts.cwd = cwd;
	if (chroot_target)
		opts.root_fd = agent_target.root_fd;
	if ((ec = child_spawn(&st->child, argv, &opts, err,
	    sizeof(err))) != NULL) {
		request_error(r, ec, "%s", err);
		goto out;
	}
	if (jt != NULL && json_integer_value(jt) > 0)
		st->deadline = st->child.started +
		    (uint64_t)json_integer_value(jt);
	log_info("%s: request %u: exec %s (pid %d)", r->conn->name, r->id,
	    argv[0], (int)st->child.pid);
	exec_send_where(r, chroot_target);
	r->state = st;
	st = NULL;
	rc = 0;
out:
	if (st != NULL) {
		child_cleanup(&st->child, 0);
		free(st);
	}
	return rc;
}

static int
op_exec_pollfds(struct request *r, struct pollfd *pfd, int max,
    int *timeout_ms)
{
	struct exec_state *st = r->state;
	uint64_t now = ll_now_ms();
	int n;

	n = child_pollfds(&st->child, r, pfd, max, timeout_ms);
	/* Once terminating, the child's own SIGKILL time is what counts. */
	if (st->deadline != 0 && !st->child.exited && !st->timed_out &&
	    !st->cancelled) {
		int ms = st->deadline > now ? (int)(st->deadline - now) : 0;

		if (*timeout_ms < 0 || ms < *timeout_ms)
			*timeout_ms = ms;
	}
	return n;
}

static void
exec_finish(struct request *r)
{
	struct exec_state *st = r->state;
	int status = st->child.status;
	json_t *res;

	if (st->cancelled) {
		request_error(r, LL_EC_CANCELLED, "cancelled; %s ended by %s",
		    "the command", WIFSIGNALED(status) ?
		    strsignal(WTERMSIG(status)) : "exiting");
		return;
	}
	res = json_object();
	child_result(&st->child, res);
	if (WIFSIGNALED(status) && WCOREDUMP(status))
		json_object_set_new(res, "core_dumped", json_true());
	json_object_set_new(res, "timed_out", json_boolean(st->timed_out));
	json_object_set_new(res, "stdout_bytes",
	    json_integer((json_int_t)st->child.bytes[1]));
	json_object_set_new(res, "stderr_bytes",
	    json_integer((json_int_t)st->child.bytes[2]));
	request_reply(r, res);
}

static void
op_exec_io(struct request *r, uint64_t now)
{
	struct exec_state *st = r->state;

	if (r->done)
		return;
	child_pump(&st->child, r, now);
	if (!st->child.exited && st->deadline != 0 && now >= st->deadline &&
	    !st->timed_out && !st->cancelled) {
		log_info("%s: request %u: timed out, terminating pid %d",
		    r->conn->name, r->id, (int)st->child.pid);
		st->timed_out = true;
		child_terminate(&st->child, now);
	}
	if (child_is_done(&st->child))
		exec_finish(r);
}

static void
op_exec_cancel(struct request *r)
{
	struct exec_state *st = r->state;

	if (st == NULL)
		return;
	st->cancelled = true;
	child_terminate(&st->child, ll_now_ms());
}

static void
op_exec_free(struct request *r)
{
	struct exec_state *st = r->state;

	if (st == NULL)
		return;
	/* The client went away: the command does not outlive it. */
	child_cleanup(&st->child, 0);
	free(st);
	r->state = NULL;
}

const struct agent_op op_exec_ops[] = {
	{ .name = "exec", .writes = true, .start = op_exec_start,
	  .pollfds = op_exec_pollfds, .io = op_exec_io,
	  .child = child_op_reaped, .cancel = op_exec_cancel,
	  .free = op_exec_free },
	{ .name = NULL }
};
