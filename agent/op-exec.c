/*
 * exec: run an argv (no shell) and stream its stdout and stderr.
 *
 * The child gets a clean environment, /dev/null as stdin, its own process
 * group (so a timeout or cancel can end whatever it started) and default
 * signal handling.  An exec failure in the child (no such file, not
 * executable) comes back through a close-on-exec pipe and is reported as an
 * error, not as an exit status.  Output is read only while the session has
 * room for it, so a fast producer on a slow line is held back by the pipe,
 * and memory stays bounded.  The request ends when the child has been reaped
 * and both pipes are at EOF.  With "chroot" the child enters the target
 * root (through its fd, not its path) before the exec.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "args.h"
#include "error.h"
#include "ll-limits.h"
#include "log.h"
#include "msg.h"
#include "target.h"

#define EXEC_ARGV_MAX	1024
#define EXEC_KILL_GRACE_MS 2000
#define EXEC_READ_MAX	(16 * 1024)

struct exec_state {
	pid_t pid;
	int fd[3];		/* by channel: [1] stdout, [2] stderr */
	bool exited;
	int status;
	bool timed_out, cancelled;
	uint64_t started, deadline, kill_at;
	uint64_t bytes[3];
};

static const char *const exec_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/root", "TERM=dumb", "LC_ALL=C", "SHELL=/bin/sh", NULL
};

static void
exec_child(char **argv, const char *cwd, bool chroot_target, int out, int err,
    int errpipe)
{
	sigset_t none;
	int nul, e, sig;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	setsid();
	if ((nul = open("/dev/null", O_RDONLY)) < 0 || dup2(nul, 0) < 0 ||
	    dup2(out, 1) < 0 || dup2(err, 2) < 0)
		goto fail;
	if (chroot_target && (fchdir(agent_target.root_fd) != 0 ||
	    chroot(".") != 0 || chdir("/") != 0))
		goto fail;
	if (cwd != NULL && chdir(cwd) != 0)
		goto fail;
	execve(argv[0], argv, (char *const *)exec_env);
	if (strchr(argv[0], '/') == NULL) {
		/* search PATH the way the clean environment defines it */
		execvpe(argv[0], argv, (char *const *)exec_env);
	}
fail:
	e = errno;
	if (write(errpipe, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

static void
exec_close_fd(struct exec_state *st, int ch)
{
	if (st->fd[ch] >= 0) {
		close(st->fd[ch]);
		st->fd[ch] = -1;
	}
}

static int
op_exec_start(struct request *r, json_t *args)
{
	struct exec_state *st = NULL;
	char *argv[EXEC_ARGV_MAX + 1];
	json_t *jargv, *v, *jt;
	const char *cwd;
	bool chroot_target = false;
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, ep[2] = { -1, -1 };
	int e = 0, rc = -1;
	size_t i, n;
	ssize_t got;

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
	cwd = json_string_value(json_object_get(args, "cwd"));
	if (cwd != NULL && cwd[0] != '/') {
		request_error(r, LL_EC_BAD_REQUEST,
		    "cwd must be an absolute path: \"%s\"", cwd);
		goto out;
	}
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
	st->fd[0] = st->fd[1] = st->fd[2] = -1;
	if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0 ||
	    pipe2(ep, O_CLOEXEC) != 0) {
		request_error(r, LL_EC_INTERNAL, "pipe: %s", strerror(errno));
		goto out;
	}
	st->pid = fork();
	if (st->pid < 0) {
		request_error(r, LL_EC_INTERNAL, "fork: %s", strerror(errno));
		goto out;
	}
	if (st->pid == 0)
		exec_child(argv, cwd, chroot_target, out[1], err[1], ep[1]);
	close(ep[1]);
	ep[1] = -1;
	do {
		got = read(ep[0], &e, sizeof(e));
	} while (got < 0 && errno == EINTR);
	if (got == sizeof(e)) {
		waitpid(st->pid, NULL, 0);
		request_error(r, LL_EC_EXEC_FAILED, "cannot run %s: %s",
		    argv[0], strerror(e));
		goto out;
	}
	st->fd[1] = out[0];
	st->fd[2] = err[0];
	out[0] = err[0] = -1;
	fcntl(st->fd[1], F_SETFL, O_NONBLOCK);
	fcntl(st->fd[2], F_SETFL, O_NONBLOCK);
	st->started = ll_now_ms();
	if (jt != NULL && json_integer_value(jt) > 0)
		st->deadline = st->started + (uint64_t)json_integer_value(jt);
	log_info("%s: request %u: exec %s (pid %d)", r->conn->name, r->id,
	    argv[0], (int)st->pid);
	r->state = st;
	st = NULL;
	rc = 0;
out:
	for (i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
		if (ep[i] >= 0)
			close(ep[i]);
	}
	if (st != NULL) {
		exec_close_fd(st, 1);
		exec_close_fd(st, 2);
		free(st);
	}
	return rc;
}

static int
op_exec_pollfds(struct request *r, struct pollfd *pfd, int max,
    int *timeout_ms)
{
	struct exec_state *st = r->state;
	uint64_t now = ll_now_ms(), when = 0;
	bool room = ll_session_room(r->conn->s) > 0;
	int n = 0, ch;

	for (ch = 1; ch <= 2 && n < max; ch++) {
		if (st->fd[ch] < 0)
			continue;
		pfd[n].fd = st->fd[ch];
		pfd[n].events = room ? POLLIN : 0;
		pfd[n].revents = 0;
		n++;
	}
	if (st->kill_at != 0)
		when = st->kill_at;
	else if (st->deadline != 0 && !st->exited)
		when = st->deadline;
	if (when != 0) {
		int ms = when > now ? (int)(when - now) : 0;

		if (*timeout_ms < 0 || ms < *timeout_ms)
			*timeout_ms = ms;
	}
	return n;
}

static void
exec_kill(struct exec_state *st, uint64_t now)
{
	if (st->exited)
		return;
	kill(-st->pid, SIGTERM);
	kill(st->pid, SIGTERM);
	st->kill_at = now + EXEC_KILL_GRACE_MS;
}

static void
exec_finish(struct request *r)
{
	struct exec_state *st = r->state;
	json_t *res;

	if (st->cancelled) {
		request_error(r, LL_EC_CANCELLED, "cancelled; %s ended by %s",
		    "the command", WIFSIGNALED(st->status) ?
		    strsignal(WTERMSIG(st->status)) : "exiting");
		return;
	}
	res = json_object();
	if (WIFEXITED(st->status))
		json_object_set_new(res, "exit_status",
		    json_integer(WEXITSTATUS(st->status)));
	else if (WIFSIGNALED(st->status)) {
		json_object_set_new(res, "signal",
		    json_integer(WTERMSIG(st->status)));
		json_object_set_new(res, "signal_name",
		    json_string(strsignal(WTERMSIG(st->status))));
		if (WCOREDUMP(st->status))
			json_object_set_new(res, "core_dumped", json_true());
	}
	json_object_set_new(res, "timed_out", json_boolean(st->timed_out));
	json_object_set_new(res, "stdout_bytes", json_integer((json_int_t)st->bytes[1]));
	json_object_set_new(res, "stderr_bytes", json_integer((json_int_t)st->bytes[2]));
	json_object_set_new(res, "duration_ms",
	    json_integer((json_int_t)(ll_now_ms() - st->started)));
	request_reply(r, res);
}

static void
op_exec_io(struct request *r, uint64_t now)
{
	struct exec_state *st = r->state;
	uint8_t buf[EXEC_READ_MAX];
	int ch;

	if (r->done)
		return;
	for (ch = 1; ch <= 2; ch++) {
		while (st->fd[ch] >= 0) {
			size_t room = ll_session_room(r->conn->s);
			ssize_t n;

			if (room == 0)
				break;
			if (room > sizeof(buf))
				room = sizeof(buf);
			n = read(st->fd[ch], buf, room);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			if (n <= 0) {
				exec_close_fd(st, ch);
				ll_session_send_eof(r->conn->s, (uint8_t)ch,
				    r->id);
				break;
			}
			st->bytes[ch] += (uint64_t)n;
			ll_session_send_data(r->conn->s, (uint8_t)ch, r->id,
			    buf, (size_t)n);
		}
	}
	if (!st->exited && st->deadline != 0 && now >= st->deadline &&
	    st->kill_at == 0) {
		log_info("%s: request %u: timed out, terminating pid %d",
		    r->conn->name, r->id, (int)st->pid);
		st->timed_out = true;
		exec_kill(st, now);
	}
	if (!st->exited && st->kill_at != 0 && now >= st->kill_at) {
		kill(-st->pid, SIGKILL);
		kill(st->pid, SIGKILL);
		st->kill_at = 0;
	}
	if (st->exited && st->fd[1] < 0 && st->fd[2] < 0)
		exec_finish(r);
}

static bool
op_exec_child(struct request *r, pid_t pid, int status)
{
	struct exec_state *st = r->state;

	if (st == NULL || st->pid != pid || st->exited)
		return false;
	st->exited = true;
	st->status = status;
	st->kill_at = 0;
	return true;
}

static void
op_exec_cancel(struct request *r)
{
	struct exec_state *st = r->state;

	if (st == NULL)
		return;
	st->cancelled = true;
	exec_kill(st, ll_now_ms());
}

static void
op_exec_free(struct request *r)
{
	struct exec_state *st = r->state;

	if (st == NULL)
		return;
	if (!st->exited) {
		/* The client went away: the command does not outlive it. */
		kill(-st->pid, SIGKILL);
		kill(st->pid, SIGKILL);
		waitpid(st->pid, NULL, 0);
	}
	exec_close_fd(st, 1);
	exec_close_fd(st, 2);
	free(st);
	r->state = NULL;
}

const struct agent_op op_exec_ops[] = {
	{ .name = "exec", .writes = true, .start = op_exec_start,
	  .pollfds = op_exec_pollfds, .io = op_exec_io,
	  .child = op_exec_child, .cancel = op_exec_cancel,
	  .free = op_exec_free },
	{ .name = NULL }
};
