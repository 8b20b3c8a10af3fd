/*
 * The exec:CMD transport: a child process's stdin and stdout; also the
 * engine under ipmi:// (transport-ipmi.c), which runs ipmitool.
 *
 * CMD is split into argv by wordexp(3) with WRDE_NOCMD: quotes and
 * backslashes work, $(...) and `...` are refused, no shell runs.  The child
 * gets one end of a socketpair as both stdin and stdout (so our writes use
 * send(MSG_NOSIGNAL) and a dead child never raises SIGPIPE here), or, when
 * the caller asks, a raw pty: a program such as ipmitool only flushes its
 * banner at a line end when stdout is a terminal, and only sets its terminal
 * raw itself when it has one.  stderr is inherited, or read from a pipe when
 * the caller wants to tell the child's errors apart.  The child runs in its
 * own process group so that close can signal everything it started.  A
 * CLOEXEC pipe reports the errno of a failed execvp(): open then fails with a
 * message saying the command could not be run.
 *
 * Ready: when a ready text is set (--ready, or ipmitool's "[SOL Session
 * operational"), open reads the child's output until it appears, so that
 * whatever the child does first (log in to a BMC, dial a console server)
 * does not eat the link's connect timeout; the bytes after the text are kept
 * for the first read.
 *
 * Escape: ipmitool reads '~' after a line end as its escape character; with
 * an escape byte set, write doubles that byte where ipmitool would take it
 * ("~~" sends one '~'), so frames and a user's keystrokes pass unchanged.
 *
 * EOF from the child is LL_ERR_CLOSED, with its exit status in t->err when
 * it has already been reaped.  Close writes the quit string when one is set
 * (ipmitool's "~." makes it deactivate the SOL payload and exit) and gives
 * the child 3 s to end; then it shuts our end, sends SIGTERM to the group,
 * SIGKILL after 1 s if the child still lives, and reaps it.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <wordexp.h>

#include "clock.h"
#include "error.h"
#include "transport.h"
#include "transport-priv.h"

#define EXEC_READY_MS_DEFAULT	60000
#define EXEC_QUIT_WAIT_MS	3000
#define EXEC_READY_MAX		256	/* a ready text fits the search window */
#define EXEC_ERRTEXT_MAX	2048	/* stderr kept for messages */
#define EXEC_WCHUNK		2048	/* input bytes per escaped write */

struct exec_priv {
	pid_t	pid;		/* -1 once reaped */
	int	status;		/* valid once reaped */
	int	fd;
	int	errfd;		/* stderr pipe, or -1 */
	bool	pty;
	int	escape;		/* -1 none */
	bool	at_line_start;	/* escape state: last byte sent was CR/LF */
	bool	half_escape;	/* the first of a doubled escape is out */
	char	*quit;
	uint8_t	*pend;		/* output after the ready text */
	size_t	pend_len, pend_off;
	const char *name;	/* "child", or what the caller named it */
	char	errtext[EXEC_ERRTEXT_MAX];
	size_t	errlen;
};

static struct {
	char *ready, *quit;
	unsigned ready_ms;
} exec_defaults;

static void
replace_string(char **slot, const char *s)
{
	free(*slot);
	*slot = s != NULL ? strdup(s) : NULL;
}

void
ll_transport_exec_defaults(const struct ll_exec_options *o)
{
	replace_string(&exec_defaults.ready, o->ready);
	replace_string(&exec_defaults.quit, o->quit);
	exec_defaults.ready_ms = o->ready_ms;
}

unsigned
ll_tp_exec_ready_ms(void)
{
	return exec_defaults.ready_ms;
}

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

/* Append what the child printed on stderr (non-blocking) to errtext. */
static void
drain_stderr(struct exec_priv *ep)
{
	char buf[512];
	ssize_t n;
	size_t room;

	if (ep->errfd == -1)
		return;
	for (;;) {
		n = read(ep->errfd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		room = sizeof ep->errtext - 1 - ep->errlen;
		if ((size_t)n > room) {
			/* Keep the newest text: the last lines say why. */
			size_t drop = (size_t)n - room;

			if (drop > ep->errlen)
				drop = ep->errlen;
			memmove(ep->errtext, ep->errtext + drop,
			    ep->errlen - drop);
			ep->errlen -= drop;
			room = sizeof ep->errtext - 1 - ep->errlen;
		}
		if ((size_t)n > room)
			n = (ssize_t)room;
		memcpy(ep->errtext + ep->errlen, buf, (size_t)n);
		ep->errlen += (size_t)n;
		ep->errtext[ep->errlen] = '\0';
	}
}

/* The child's stderr as one line: "a; b; c" (empty when none). */
static void
errtext_line(const struct exec_priv *ep, char *out, size_t outlen)
{
	size_t i, o = 0;
	bool sep = false;

	for (i = 0; i < ep->errlen && o + 3 < outlen; i++) {
		char c = ep->errtext[i];

		if (c == '\n' || c == '\r') {
			sep = o > 0;
			continue;
		}
		if (sep) {
			out[o++] = ';';
			out[o++] = ' ';
			sep = false;
		}
		out[o++] = (c >= 0x20 && c < 0x7f) ? c : '?';
	}
	out[o < outlen ? o : outlen - 1] = '\0';
}

static void
describe_exit(struct ll_transport *t, struct exec_priv *ep)
{
	struct timespec ts = { 0, 1000 * 1000 };
	char why[600], status[64];
	int i;

	/*
	 * EOF usually means the child is exiting; give it up to 50 ms to
	 * finish so the message can carry its status.  This happens once.
	 */
	for (i = 0; i < 50 && !reap(ep); i++)
		nanosleep(&ts, NULL);
	drain_stderr(ep);
	errtext_line(ep, why, sizeof why);
	if (!reap(ep))
		snprintf(status, sizeof status, "%s closed its output",
		    ep->name);
	else if (WIFEXITED(ep->status))
		snprintf(status, sizeof status, "%s exited with status %d",
		    ep->name, WEXITSTATUS(ep->status));
	else if (WIFSIGNALED(ep->status))
		snprintf(status, sizeof status, "%s killed by signal %d",
		    ep->name, WTERMSIG(ep->status));
	else
		snprintf(status, sizeof status, "%s ended", ep->name);
	if (why[0] != '\0')
		ll_tp_seterr(t, "%s: %s: %s", t->spec, status, why);
	else
		ll_tp_seterr(t, "%s: %s", t->spec, status);
}

static ssize_t
exec_read(struct ll_transport *t, void *p, size_t n)
{
	struct exec_priv *ep = t->priv;
	ssize_t r;

	if (ep->pend != NULL) {
		size_t k = ep->pend_len - ep->pend_off;

		if (k > n)
			k = n;
		memcpy(p, ep->pend + ep->pend_off, k);
		ep->pend_off += k;
		if (ep->pend_off == ep->pend_len) {
			free(ep->pend);
			ep->pend = NULL;
		}
		if (k > 0)
			return (ssize_t)k;
	}
	drain_stderr(ep);
	r = ll_tp_fd_read(t, ep->fd, p, n, t->spec);
	if (r == LL_ERR_CLOSED)
		describe_exit(t, ep);
	return r;
}

static ssize_t
raw_write(struct ll_transport *t, struct exec_priv *ep, const void *p,
    size_t n)
{
	return ll_tp_fd_write(t, ep->fd, p, n, t->spec, !ep->pty);
}

/*
 * Write with the escape byte doubled where the child would take it.  Only
 * input bytes whose whole expansion went out count as written; a doubled
 * escape cut after its first byte is remembered (half_escape) and completed
 * when the caller offers that byte again.
 */
static ssize_t
escaped_write(struct ll_transport *t, struct exec_priv *ep, const uint8_t *p,
    size_t n)
{
	uint8_t out[2 * EXEC_WCHUNK];
	uint16_t end[EXEC_WCHUNK];
	size_t i, o = 0, done;
	bool bol = ep->at_line_start;
	ssize_t w;

	if (n == 0)
		return 0;
	if (n > EXEC_WCHUNK)
		n = EXEC_WCHUNK;
	for (i = 0; i < n; i++) {
		if (p[i] == (uint8_t)ep->escape && bol) {
			if (!(i == 0 && ep->half_escape))
				out[o++] = p[i];
			out[o++] = p[i];
		} else
			out[o++] = p[i];
		end[i] = (uint16_t)o;
		bol = p[i] == '\r' || p[i] == '\n';
	}
	w = raw_write(t, ep, out, o);
	if (w <= 0)
		return w;
	for (done = 0; done < n && end[done] <= (size_t)w; done++)
		;
	if (done > 0) {
		ep->half_escape = false;
		ep->at_line_start = p[done - 1] == '\r' || p[done - 1] == '\n';
	}
	/* Cut inside the next byte's expansion: its first '~' is out. */
	if (done < n && (size_t)w > (done > 0 ? end[done - 1] : 0))
		ep->half_escape = true;
	return (ssize_t)done;
}

static ssize_t
exec_write(struct ll_transport *t, const void *p, size_t n)
{
	struct exec_priv *ep = t->priv;
	ssize_t r;

	if (ep->escape >= 0)
		r = escaped_write(t, ep, p, n);
	else
		r = raw_write(t, ep, p, n);
	if (r == LL_ERR_CLOSED)
		describe_exit(t, ep);
	return r;
}

/* Wait up to ms for the child to end on its own. */
static bool
wait_exit(struct exec_priv *ep, unsigned ms)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	unsigned i;

	for (i = 0; i < ms / 10 && !reap(ep); i++) {
		drain_stderr(ep);
		nanosleep(&ts, NULL);
	}
	return reap(ep);
}

/* Write the farewell (whole, blocking briefly) and let the child go. */
static void
say_quit(struct ll_transport *t, struct exec_priv *ep)
{
	const char *q = ep->quit;
	size_t n, off = 0;
	uint64_t end = ll_now_ms() + 1000;
	struct pollfd pfd;
	ssize_t w;

	/*
	 * The CR that puts ipmitool at a line start is not needed (and would
	 * reach the far end) when the last byte sent ended a line.
	 */
	if (ep->escape >= 0 && ep->at_line_start && !ep->half_escape &&
	    q[0] == '\r')
		q++;
	n = strlen(q);
	while (off < n && ll_now_ms() < end) {
		w = raw_write(t, ep, q + off, n - off);
		if (w < 0)
			return;
		off += (size_t)w;
		if (off < n) {
			pfd.fd = ep->fd;
			pfd.events = POLLOUT;
			poll(&pfd, 1, 100);
		}
	}
	if (off == n)
		wait_exit(ep, EXEC_QUIT_WAIT_MS);
}

static void
exec_close(struct ll_transport *t)
{
	struct exec_priv *ep = t->priv;
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int i;

	if (ep == NULL)
		return;
	if (ep->quit != NULL && ep->fd != -1 && !reap(ep))
		say_quit(t, ep);
	if (ep->fd != -1)
		close(ep->fd);
	/* A child that reads EOF (ipmitool) leaves cleanly if given time. */
	if (!reap(ep) && ep->quit != NULL)
		wait_exit(ep, 500);
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
	if (ep->errfd != -1)
		close(ep->errfd);
	free(ep->quit);
	free(ep->pend);
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

/* A raw pty pair: *master non-blocking, *slave for the child. */
static int
open_pty(int *master, int *slave)
{
	char name[128];
	int m, s;

	if ((m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1)
		return -1;
	if (grantpt(m) == -1 || unlockpt(m) == -1 ||
	    ptsname_r(m, name, sizeof name) != 0 ||
	    (s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1) {
		close(m);
		return -1;
	}
	/* Raw before the child runs: no echo, no CR/LF change, 8 bits. */
	if (ll_tp_tty_setraw(s, 0, NULL) == -1) {
		close(m);
		close(s);
		return -1;
	}
	*master = m;
	*slave = s;
	return 0;
}

/*
 * Read until x->ready appears, the child ends or the time is up.  The
 * bytes after the text go to ep->pend.
 */
static int
wait_ready(struct ll_transport *t, struct exec_priv *ep,
    const struct ll_tp_exec_spec *x)
{
	char seen[4096];
	size_t len = 0, rl = strlen(x->ready);
	uint64_t end = ll_now_ms() + (x->ready_ms ? x->ready_ms :
	    EXEC_READY_MS_DEFAULT);
	struct pollfd pfd[2];
	char *hit;
	ssize_t r;
	int n, left;

	for (;;) {
		left = (int)(end - ll_now_ms());
		if ((int64_t)(end - ll_now_ms()) <= 0) {
			ll_tp_seterr(t, "%s: no \"%s\" from the child within "
			    "%u s", t->spec, x->ready, (x->ready_ms ?
			    x->ready_ms : EXEC_READY_MS_DEFAULT) / 1000);
			return LL_ERR_TIMEOUT;
		}
		pfd[0].fd = ep->fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = ep->errfd;
		pfd[1].events = POLLIN;
		n = poll(pfd, ep->errfd != -1 ? 2 : 1, left);
		if (n < 0 && errno == EINTR) {
			ll_tp_seterr(t, "%s: interrupted while waiting for "
			    "\"%s\"", t->spec, x->ready);
			return LL_ERR_TIMEOUT;
		}
		drain_stderr(ep);
		if (len == sizeof seen - 1) {
			/* Keep the tail: the text may straddle it. */
			memmove(seen, seen + len - rl, rl);
			len = rl;
		}
		r = ll_tp_fd_read(t, ep->fd, seen + len, sizeof seen - 1 - len,
		    t->spec);
		if (r == LL_ERR_AGAIN)
			continue;
		if (r < 0) {
			describe_exit(t, ep);
			return LL_ERR_CLOSED;
		}
		len += (size_t)r;
		seen[len] = '\0';
		if ((hit = memmem(seen, len, x->ready, rl)) == NULL)
			continue;
		hit += rl;
		if ((size_t)(seen + len - hit) > 0) {
			ep->pend_len = (size_t)(seen + len - hit);
			if ((ep->pend = malloc(ep->pend_len)) == NULL)
				return LL_ERR_NOMEM;
			memcpy(ep->pend, hit, ep->pend_len);
			ep->pend_off = 0;
		}
		return 0;
	}
}

int
ll_tp_exec_spawn(struct ll_transport *t, const struct ll_tp_exec_spec *x,
    char **stderr_text)
{
	struct exec_priv *ep = NULL;
	int sv[2] = { -1, -1 }, ep_pipe[2] = { -1, -1 }, errp[2] = { -1, -1 };
	int r, child_errno;
	ssize_t n;
	pid_t pid;

	if (stderr_text != NULL)
		*stderr_text = NULL;
	if (x->ready != NULL && strlen(x->ready) > EXEC_READY_MAX) {
		ll_tp_seterr(t, "%s: the ready text is longer than %d bytes",
		    t->spec, EXEC_READY_MAX);
		return LL_ERR_INVAL;
	}
	if ((ep = calloc(1, sizeof *ep)) == NULL) {
		ll_tp_seterr(t, "%s: out of memory", t->spec);
		return LL_ERR_NOMEM;
	}
	ep->pid = -1;
	ep->fd = ep->errfd = -1;
	ep->pty = x->pty;
	ep->escape = x->escape;
	ep->at_line_start = true;
	ep->name = x->name != NULL ? x->name : "child";
	if (x->quit != NULL && (ep->quit = strdup(x->quit)) == NULL) {
		r = LL_ERR_NOMEM;
		ll_tp_seterr(t, "%s: out of memory", t->spec);
		goto out;
	}
	if ((x->pty ? open_pty(&sv[0], &sv[1]) :
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) == -1 ||
	    pipe2(ep_pipe, O_CLOEXEC) == -1 ||
	    (x->capture_stderr && pipe2(errp, O_CLOEXEC) == -1)) {
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
		if (x->pty) {
			/* A session of its own, the pty as its terminal. */
			setsid();
			ioctl(sv[1], TIOCSCTTY, 0);
		} else
			setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(sv[1], STDIN_FILENO) == -1 ||
		    dup2(sv[1], STDOUT_FILENO) == -1 ||
		    (errp[1] != -1 && dup2(errp[1], STDERR_FILENO) == -1))
			goto child_fail;
		execvp(x->argv[0], x->argv);
child_fail:
		child_errno = errno;
		n = write(ep_pipe[1], &child_errno, sizeof child_errno);
		(void)n;
		_exit(127);
	}
	/* Also in the parent, so a kill right after fork finds the group
	 * (not with a pty: setsid() in the child needs it not a leader yet). */
	if (!x->pty)
		setpgid(pid, pid);
	ep->pid = pid;
	ep->fd = sv[0];
	sv[0] = -1;
	close(sv[1]);
	sv[1] = -1;
	close(ep_pipe[1]);
	ep_pipe[1] = -1;
	if (errp[1] != -1) {
		close(errp[1]);
		errp[1] = -1;
		ep->errfd = errp[0];
		errp[0] = -1;
		ll_tp_set_nonblock(ep->errfd, NULL);
	}
	/* EOF means exec succeeded (the pipe was close-on-exec). */
	do
		n = read(ep_pipe[0], &child_errno, sizeof child_errno);
	while (n == -1 && errno == EINTR);
	if (n == sizeof child_errno) {
		if (child_errno == ENOENT && x->package != NULL)
			ll_tp_seterr(t, "%s: cannot run '%s': command not "
			    "found (install the %s package)", t->spec,
			    x->argv[0], x->package);
		else
			ll_tp_seterr(t, "%s: cannot run '%s': %s%s", t->spec,
			    x->argv[0], strerror(child_errno),
			    child_errno == ENOENT ? " (command not found)" :
			    "");
		r = child_errno == ENOENT ? LL_ERR_NOTFOUND : LL_ERR_IO;
		while (waitpid(pid, &ep->status, 0) == -1 && errno == EINTR)
			;
		ep->pid = -1;
		goto out;
	}
	t->ops = &exec_ops;
	t->rfd = t->wfd = ep->fd;
	t->priv = ep;
	if (ll_tp_set_nonblock(ep->fd, NULL) == -1) {
		ll_tp_seterr(t, "%s: %s", t->spec, strerror(errno));
		r = LL_ERR_IO;
		goto fail_started;
	}
	if (x->ready != NULL && x->ready[0] != '\0' &&
	    (r = wait_ready(t, ep, x)) != 0)
		goto fail_started;
	ep = NULL;
	r = 0;
	goto out;
fail_started:
	if (stderr_text != NULL && ep->errlen > 0)
		*stderr_text = strdup(ep->errtext);
	{
		/* Close quietly: no farewell to a child that never got going. */
		char keep[sizeof t->err];

		memcpy(keep, t->err, sizeof keep);
		free(ep->quit);
		ep->quit = NULL;
		exec_close(t);
		memcpy(t->err, keep, sizeof keep);
	}
	ep = NULL;
	t->ops = NULL;
out:
	if (ep != NULL) {
		if (ep->fd != -1)
			close(ep->fd);
		if (ep->errfd != -1)
			close(ep->errfd);
		free(ep->quit);
		free(ep);
	}
	if (sv[0] != -1)
		close(sv[0]);
	if (sv[1] != -1)
		close(sv[1]);
	if (ep_pipe[0] != -1)
		close(ep_pipe[0]);
	if (ep_pipe[1] != -1)
		close(ep_pipe[1]);
	if (errp[0] != -1)
		close(errp[0]);
	if (errp[1] != -1)
		close(errp[1]);
	if (r != 0)
		t->priv = NULL;
	return r;
}

int
ll_tp_exec_open(struct ll_transport *t, const char *cmd)
{
	struct ll_tp_exec_spec x;
	wordexp_t we;
	int r, wr;

	if ((wr = wordexp(cmd, &we, WRDE_NOCMD)) != 0) {
		ll_tp_seterr(t, "bad transport spec '%s': %s", t->spec,
		    wordexp_error(wr));
		if (wr == WRDE_NOSPACE)
			wordfree(&we);
		return wr == WRDE_NOSPACE ? LL_ERR_NOMEM : LL_ERR_INVAL;
	}
	if (we.we_wordc == 0) {
		ll_tp_seterr(t, "bad transport spec '%s': empty command",
		    t->spec);
		wordfree(&we);
		return LL_ERR_INVAL;
	}
	memset(&x, 0, sizeof x);
	x.argv = we.we_wordv;
	x.escape = -1;
	x.ready = exec_defaults.ready;
	x.ready_ms = exec_defaults.ready_ms;
	x.quit = exec_defaults.quit;
	r = ll_tp_exec_spawn(t, &x, NULL);
	t->connect_from_output = r == 0 && (x.ready == NULL ||
	    x.ready[0] == '\0');
	wordfree(&we);
	return r;
}
