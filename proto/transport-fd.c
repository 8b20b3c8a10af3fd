/*
 * The fd:R,W and stdio transports: descriptors the process already has.
 *
 * Both set O_NONBLOCK on their descriptors and put the old flags back on
 * close (the flags live in the open file description, which a parent shell
 * may share).  stdio also makes stdin raw when it is a terminal, without the
 * lock and the input flush a tty: transport does, and restores it on close.
 * fd: takes ownership of its descriptors and closes them, so the peer sees
 * EOF; stdio leaves 0 and 1 open.  Writing to a pipe whose reader is gone
 * raises SIGPIPE: the programs ignore SIGPIPE, so such a write fails with
 * EPIPE and becomes LL_ERR_CLOSED.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "error.h"
#include "transport.h"
#include "transport-priv.h"

struct fd_priv {
	bool	owned;		/* close the fds on close */
	int	rfl, wfl;	/* flags before we set O_NONBLOCK */
	bool	raw;		/* stdin's termios saved in tio */
	struct termios tio;
};

static ssize_t
fd_read(struct ll_transport *t, void *p, size_t n)
{
	return ll_tp_fd_read(t, t->rfd, p, n, t->spec);
}

static ssize_t
fd_write(struct ll_transport *t, const void *p, size_t n)
{
	return ll_tp_fd_write(t, t->wfd, p, n, t->spec, false);
}

static void
fd_close(struct ll_transport *t)
{
	struct fd_priv *fp = t->priv;

	if (fp == NULL)
		return;
	if (fp->raw)
		tcsetattr(t->rfd, TCSAFLUSH, &fp->tio);
	/* Restore in reverse order: rfd and wfd may share one description. */
	fcntl(t->wfd, F_SETFL, fp->wfl);
	fcntl(t->rfd, F_SETFL, fp->rfl);
	if (fp->owned) {
		close(t->rfd);
		if (t->wfd != t->rfd)
			close(t->wfd);
	}
	free(fp);
	t->priv = NULL;
}

static const struct ll_transport_ops fd_ops = {
	.name = "fd",
	.read = fd_read,
	.write = fd_write,
	.reopen = NULL,
	.close = fd_close,
};

static const struct ll_transport_ops stdio_ops = {
	.name = "stdio",
	.read = fd_read,
	.write = fd_write,
	.reopen = NULL,
	.close = fd_close,
};

static int
parse_fd(const char *s, const char **end)
{
	long v;
	char *e;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &e, 10);
	if (errno != 0 || v > 65535)
		return -1;
	*end = e;
	return (int)v;
}

/* Common part: take rfd/wfd, set them non-blocking. */
static int
setup(struct ll_transport *t, const struct ll_transport_ops *ops, int rfd,
    int wfd, bool owned)
{
	struct fd_priv *fp;
	int r;

	if ((fp = calloc(1, sizeof *fp)) == NULL) {
		ll_tp_seterr(t, "%s: out of memory", t->spec);
		r = LL_ERR_NOMEM;
		goto out;
	}
	/*
	 * Read both flags before changing either: rfd and wfd may share one
	 * open file description (a tty on 0 and 1).
	 */
	if ((fp->rfl = fcntl(rfd, F_GETFL)) == -1 ||
	    (fp->wfl = fcntl(wfd, F_GETFL)) == -1) {
		ll_tp_seterr(t, "%s: descriptor %d: %s", t->spec,
		    fp->rfl == -1 ? rfd : wfd, strerror(errno));
		r = LL_ERR_INVAL;
		goto out;
	}
	if (ll_tp_set_nonblock(rfd, NULL) == -1 ||
	    ll_tp_set_nonblock(wfd, NULL) == -1) {
		ll_tp_seterr(t, "%s: set O_NONBLOCK: %s", t->spec,
		    strerror(errno));
		fcntl(rfd, F_SETFL, fp->rfl);
		r = LL_ERR_IO;
		goto out;
	}
	fp->owned = owned;
	t->ops = ops;
	t->rfd = rfd;
	t->wfd = wfd;
	t->priv = fp;
	fp = NULL;
	r = 0;
out:
	free(fp);
	return r;
}

int
ll_tp_fd_open(struct ll_transport *t, const char *arg)
{
	const char *e;
	int rfd, wfd;

	if ((rfd = parse_fd(arg, &e)) < 0 || *e != ',' ||
	    (wfd = parse_fd(e + 1, &e)) < 0 || *e != '\0') {
		ll_tp_seterr(t, "bad transport spec '%s': expected fd:R,W "
		    "with two descriptor numbers", t->spec);
		return LL_ERR_INVAL;
	}
	return setup(t, &fd_ops, rfd, wfd, true);
}

int
ll_tp_stdio_open(struct ll_transport *t)
{
	struct fd_priv *fp;
	int r;

	if ((r = setup(t, &stdio_ops, STDIN_FILENO, STDOUT_FILENO, false)) != 0)
		return r;
	fp = t->priv;
	if (isatty(STDIN_FILENO)) {
		if (ll_tp_tty_setraw(STDIN_FILENO, 0, &fp->tio) == -1) {
			ll_tp_seterr(t, "stdio: raw mode on stdin: %s",
			    strerror(errno));
			fd_close(t);
			t->ops = NULL;
			return LL_ERR_IO;
		}
		fp->raw = true;
	}
	return 0;
}
