/*
 * The exec:CMD transport: a child process's stdin and stdout.
 *
 * CMD is split into argv by wordexp(3) with WRDE_NOCMD: quotes and
 * backslashes work, $(...) and `...` are refused, no shell runs.  The child
 * gets one end of a socketpair as both stdin and stdout (so our writes use
 * send(MSG_NOSIGNAL) and a dead child never raises SIGPIPE here), inherits
 * stderr, and runs in its own process group so that close can signal
 * everything it started.  A CLOEXEC pipe reports the errno of a failed
 * execvp(): open then fails with a message saying the command could not be
 * run.  EOF from the child is LL_ERR_CLOSED, with its exit status in t->err
 * when it has already been reaped.  Close shuts our end, sends SIGTERM to the
 * group, SIGKILL after 1 s if the child still lives, and reaps it.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wordexp.h>

#include "error.h"
#include "transport.h"
#include "transport-priv.h"

struct exec_priv {
	pid_t	pid;		/* -1 once reaped */
	int	status;		/* valid once reaped */
	int	fd;
};

/* Reap without waiting; true when the child is gone. */
static bool
reap(struct exec_priv *ep)
{
	pid_t r;

	if (ep->pid == -1)
		return true;
	do
		r = waitpid(ep->pid, &ep->status, WNOHANG);
	while (r == -1 && errno == EINTR);
	if (r == ep->pid || (r == -1 && errno == ECHILD)) {
		ep->pid = -1;
		return true;
	}
	return false;
}

static void
describe_exit(struct ll_transport *t, struct exec_priv *ep)
{
	struct timespec ts = { 0, 1000 * 1000 };
	int i;

	/*
	 * EOF usually means the child is exiting; give it up to 50 ms to
	 * finish so the message can carry its status.  This happens once.
	 */
	for (i = 0; i < 50 && !reap(ep); i++)
		nanosleep(&ts, NULL);
	if (!reap(ep)) {
		ll_tp_seterr(t, "%s: child closed its output", t->spec);
		return;
	}
	if (WIFEXITED(ep->status))
		ll_tp_seterr(t, "%s: child exited with status %d", t->spec,
		    WEXITSTATUS(ep->status));
	else if (WIFSIGNALED(ep->status))
		ll_tp_seterr(t, "%s: child killed by signal %d", t->spec,
		    WTERMSIG(ep->status));
	else
		ll_tp_seterr(t, "%s: child ended", t->spec);
}

static ssize_t
exec_read(struct ll_transport *t, void *p, size_t n)
{
	struct exec_priv *ep = t->priv;
	ssize_t r;

	r = ll_tp_fd_read(t, ep->fd, p, n, t->spec);
	if (r == LL_ERR_CLOSED)
		describe_exit(t, ep);
	return r;
}

static ssize_t
exec_write(struct ll_transport *t, const void *p, size_t n)
{
	struct exec_priv *ep = t->priv;
	ssize_t r;

	r = ll_tp_fd_write(t, ep->fd, p, n, t->spec, true);
	if (r == LL_ERR_CLOSED)
		describe_exit(t, ep);
	return r;
}

static void
exec_close(struct ll_transport *t)
{
	struct exec_priv *ep = t->priv;
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int i;

	if (ep == NULL)
		return;
	if (ep->fd != -1)
		close(ep->fd);
	if (!reap(ep)) {
		kill(-ep->pid, SIGTERM);
		for (i = 0; i < 100 && !reap(ep); i++)
			nanosleep(&ts, NULL);
		if (!reap(ep)) {
			kill(-ep->pid, SIGKILL);
			while (waitpid(ep->pid, &ep->status, 0) == -1 &&
			    errno == EINTR)
				;
		}
	}
	free(ep);
	t->priv = NULL;
}

static const struct ll_transport_ops exec_ops = {
	.name = "exec",
	.read = exec_read,
	.write = exec_write,
	.reopen = NULL,
	.close = exec_close,
};

static const char *
wordexp_error(int r)
{
	switch (r) {
	case WRDE_BADCHAR:
		return "unquoted special character (one of |&;<>(){} or "
		    "newline)";
	case WRDE_CMDSUB:
		return "command substitution is not allowed";
	case WRDE_SYNTAX:
		return "syntax error (unbalanced quotes?)";
	case WRDE_NOSPACE:
		return "out of memory";
	default:
		return "cannot split the command";
	}
}

int
ll_tp_exec_open(struct ll_transport *t, const char *cmd)
{
	struct exec_priv *ep = NULL;
	wordexp_t we;
	int sv[2] = { -1, -1 }, ep_pipe[2] = { -1, -1 };
	int r, wr, child_errno;
	bool have_we = false;
	ssize_t n;
	pid_t pid;

	if ((wr = wordexp(cmd, &we, WRDE_NOCMD)) != 0) {
		ll_tp_seterr(t, "bad transport spec '%s': %s", t->spec,
		    wordexp_error(wr));
		if (wr == WRDE_NOSPACE)
			wordfree(&we);
		r = wr == WRDE_NOSPACE ? LL_ERR_NOMEM : LL_ERR_INVAL;
		goto out;
	}
	have_we = true;
	if (we.we_wordc == 0) {
		ll_tp_seterr(t, "bad transport spec '%s': empty command",
		    t->spec);
		r = LL_ERR_INVAL;
		goto out;
	}
	if ((ep = calloc(1, sizeof *ep)) == NULL) {
		ll_tp_seterr(t, "%s: out of memory", t->spec);
		r = LL_ERR_NOMEM;
		goto out;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1 ||
	    pipe2(ep_pipe, O_CLOEXEC) == -1) {
		ll_tp_seterr(t, "%s: %s", t->spec, strerror(errno));
		r = LL_ERR_IO;
		goto out;
	}
	if ((pid = fork()) == -1) {
		ll_tp_seterr(t, "%s: fork: %s", t->spec, strerror(errno));
		r = LL_ERR_IO;
		goto out;
	}
	if (pid == 0) {
		/* Child: only async-signal-safe calls until exec. */
		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(sv[1], STDIN_FILENO) == -1 ||
		    dup2(sv[1], STDOUT_FILENO) == -1)
			goto child_fail;
		execvp(we.we_wordv[0], we.we_wordv);
child_fail:
		child_errno = errno;
		n = write(ep_pipe[1], &child_errno, sizeof child_errno);
		(void)n;
		_exit(127);
	}
	/* Also in the parent, so a kill right after fork finds the group. */
	setpgid(pid, pid);
	ep->pid = pid;
	ep->fd = sv[0];
	sv[0] = -1;
	close(sv[1]);
	sv[1] = -1;
	close(ep_pipe[1]);
	ep_pipe[1] = -1;
	/* EOF means exec succeeded (the pipe was close-on-exec). */
	do
		n = read(ep_pipe[0], &child_errno, sizeof child_errno);
	while (n == -1 && errno == EINTR);
	if (n == sizeof child_errno) {
		ll_tp_seterr(t, "%s: cannot run '%s': %s%s", t->spec,
		    we.we_wordv[0], strerror(child_errno),
		    child_errno == ENOENT ? " (command not found)" : "");
		r = child_errno == ENOENT ? LL_ERR_NOTFOUND : LL_ERR_IO;
		close(ep->fd);
		ep->fd = -1;
		while (waitpid(pid, &ep->status, 0) == -1 && errno == EINTR)
			;
		goto out;
	}
	if (ll_tp_set_nonblock(ep->fd, NULL) == -1) {
		ll_tp_seterr(t, "%s: %s", t->spec, strerror(errno));
		t->priv = ep;
		exec_close(t);
		ep = NULL;
		r = LL_ERR_IO;
		goto out;
	}
	t->ops = &exec_ops;
	t->rfd = t->wfd = ep->fd;
	t->priv = ep;
	ep = NULL;
	r = 0;
out:
	free(ep);
	if (sv[0] != -1)
		close(sv[0]);
	if (sv[1] != -1)
		close(sv[1]);
	if (ep_pipe[0] != -1)
		close(ep_pipe[0]);
	if (ep_pipe[1] != -1)
		close(ep_pipe[1]);
	if (have_we)
		wordfree(&we);
	t->priv = r == 0 ? t->priv : NULL;
	return r;
}
