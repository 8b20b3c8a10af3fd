/*
 * Transport specs and dispatch.
 *
 * A spec is "kind:argument" (or just "stdio").  ll_transport_open() checks
 * the length, splits off the kind, parses the argument where it is common
 * (DEV[,BAUD]) and hands over to the kind's opener in transport-*.c, which
 * fills in the ops table.  Messages name the spec as given ("open
 * tty:/dev/ttyUSB0: No such file or directory"); after a successful open
 * t->err is normally empty, but may hold a note the caller should log (the
 * serial kind falling back to termios).  The read/write helpers shared by the
 * fd-based kinds also live here.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "error.h"
#include "transport.h"
#include "transport-priv.h"

void
ll_tp_seterr(struct ll_transport *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->err, sizeof t->err, fmt, ap);
	va_end(ap);
}

int
ll_tp_errno_code(int e)
{
	switch (e) {
	case ENOENT:
	case ENODEV:
	case ENXIO:
	case EHOSTUNREACH:
	case ENETUNREACH:
		return LL_ERR_NOTFOUND;
	case EBUSY:
	case EWOULDBLOCK:
	case EADDRINUSE:
		return LL_ERR_BUSY;
	case ETIMEDOUT:
		return LL_ERR_TIMEOUT;
	case ECONNREFUSED:
	case ECONNRESET:
	case EPIPE:
		return LL_ERR_CLOSED;
	case ENOMEM:
		return LL_ERR_NOMEM;
	case EINVAL:
	case ENOTTY:
	case ENAMETOOLONG:
		return LL_ERR_INVAL;
	default:
		return LL_ERR_IO;
	}
}

int
ll_tp_set_nonblock(int fd, int *oldfl)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return -1;
	if (oldfl != NULL)
		*oldfl = fl;
	if ((fl & O_NONBLOCK) == 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return -1;
	return 0;
}

ssize_t
ll_tp_fd_read(struct ll_transport *t, int fd, void *p, size_t n,
    const char *what)
{
	ssize_t r;

	if (n == 0)
		return LL_ERR_AGAIN;
	r = read(fd, p, n);
	if (r > 0)
		return r;
	if (r == 0) {
		ll_tp_seterr(t, "read %s: end of file", what);
		return LL_ERR_CLOSED;
	}
	switch (errno) {
	case EAGAIN:
	case EINTR:
		return LL_ERR_AGAIN;
	case EIO:	/* a pty whose other side is gone; a hung-up tty */
	case ENXIO:	/* a USB adapter pulled out */
	case ENODEV:
	case ECONNRESET:
	case EPIPE:
		ll_tp_seterr(t, "read %s: %s (hangup)", what, strerror(errno));
		return LL_ERR_CLOSED;
	default:
		ll_tp_seterr(t, "read %s: %s", what, strerror(errno));
		return LL_ERR_IO;
	}
}

ssize_t
ll_tp_fd_write(struct ll_transport *t, int fd, const void *p, size_t n,
    const char *what, bool sock)
{
	ssize_t r;

	if (n == 0)
		return 0;
	if (sock)
		r = send(fd, p, n, MSG_NOSIGNAL);
	else
		r = write(fd, p, n);
	if (r >= 0)
		return r;
	switch (errno) {
	case EAGAIN:
	case EINTR:
		return 0;
	case EPIPE:
	case ECONNRESET:
	case EIO:
	case ENXIO:
	case ENODEV:
		ll_tp_seterr(t, "write %s: %s (hangup)", what, strerror(errno));
		return LL_ERR_CLOSED;
	default:
		ll_tp_seterr(t, "write %s: %s", what, strerror(errno));
		return LL_ERR_IO;
	}
}

int
ll_tp_parse_baud(const char *s, unsigned *baud)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return LL_ERR_INVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0 || v > 4000000)
		return LL_ERR_INVAL;
	*baud = (unsigned)v;
	return 0;
}

/*
 * Split "DEV[,BAUD]": the baud is what follows the last comma when it is all
 * digits, so a device name may itself contain commas.
 */
static int
parse_dev(struct ll_transport *t, const char *arg, char *dev, size_t devlen,
    unsigned *baud)
{
	const char *comma;
	size_t len;

	*baud = 0;
	comma = strrchr(arg, ',');
	if (comma != NULL && comma[1] >= '0' && comma[1] <= '9') {
		if (ll_tp_parse_baud(comma + 1, baud) != 0) {
			ll_tp_seterr(t, "bad transport spec '%s': "
			    "unsupported baud rate '%s'", t->spec, comma + 1);
			return LL_ERR_INVAL;
		}
		len = comma - arg;
	} else
		len = strlen(arg);
	if (len == 0 || len >= devlen) {
		ll_tp_seterr(t, "bad transport spec '%s': missing or too long "
		    "device name", t->spec);
		return LL_ERR_INVAL;
	}
	memcpy(dev, arg, len);
	dev[len] = '\0';
	return 0;
}

static int
dispatch(struct ll_transport *t)
{
	char kind[16], dev[LL_TP_DEVMAX];
	const char *colon, *arg;
	size_t klen;
	unsigned baud;
	int r;

	if (strcmp(t->spec, "stdio") == 0)
		return ll_tp_stdio_open(t);
	colon = strchr(t->spec, ':');
	if (colon == NULL || (klen = colon - t->spec) >= sizeof kind)
		goto bad;
	memcpy(kind, t->spec, klen);
	kind[klen] = '\0';
	arg = colon + 1;
	if (*arg == '\0') {
		ll_tp_seterr(t, "bad transport spec '%s': empty argument",
		    t->spec);
		return LL_ERR_INVAL;
	}
	if (strcmp(kind, "fd") == 0)
		return ll_tp_fd_open(t, arg);
	if (strcmp(kind, "tty") == 0 || strcmp(kind, "serial") == 0) {
		if ((r = parse_dev(t, arg, dev, sizeof dev, &baud)) != 0)
			return r;
		if (kind[0] == 't')
			return ll_tp_tty_open(t, dev, baud);
		return ll_tp_serial_open(t, dev, baud);
	}
	if (strcmp(kind, "exec") == 0)
		return ll_tp_exec_open(t, arg);
	if (strcmp(kind, "lifeline+exec") == 0) {
		t->direct = true;
		return ll_tp_exec_open(t, arg);
	}
	if (strcmp(kind, "unix") == 0 || strcmp(kind, "tcp") == 0)
		return ll_tp_socket_open(t, kind, arg);
	if (strcmp(kind, "ssh") == 0 || strcmp(kind, "lifeline+ssh") == 0)
		return ll_tp_ssh_open(t, kind, arg);
	if (strcmp(kind, "ipmi") == 0)
		return ll_tp_ipmi_open(t, arg);
	if (strcmp(kind, "telnet") == 0)
		return ll_tp_telnet_open(t, arg);
bad:
	ll_tp_seterr(t, "bad transport spec '%s': expected stdio, fd:R,W, "
	    "tty:DEV[,BAUD], serial:DEV[,BAUD], exec:CMD, unix:PATH, "
	    "tcp:HOST:PORT, ssh://[USER@]HOST[:PORT], "
	    "lifeline+ssh://[USER@]HOST[:PORT], lifeline+exec:CMD, "
	    "ipmi://[USER@]BMC[:PORT] or telnet://HOST:PORT",
	    t->spec);
	return LL_ERR_INVAL;
}

int
ll_transport_open(const char *spec, struct ll_transport **out, char *errbuf,
    size_t errlen)
{
	struct ll_transport *t = NULL;
	int r;

	*out = NULL;
	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	if (spec == NULL || strlen(spec) >= sizeof t->spec) {
		if (errbuf != NULL)
			snprintf(errbuf, errlen,
			    "bad transport spec '%.40s...': longer than %zu "
			    "bytes", spec ? spec : "(null)",
			    sizeof t->spec - 1);
		r = LL_ERR_INVAL;
		goto out;
	}
	if ((t = calloc(1, sizeof *t)) == NULL) {
		r = LL_ERR_NOMEM;
		if (errbuf != NULL)
			snprintf(errbuf, errlen, "%s: out of memory", spec);
		goto out;
	}
	t->rfd = t->wfd = -1;
	snprintf(t->spec, sizeof t->spec, "%s", spec);
	if ((r = dispatch(t)) != 0) {
		if (errbuf != NULL)
			snprintf(errbuf, errlen, "%s", t->err);
		free(t);
		t = NULL;
		goto out;
	}
	*out = t;
	r = 0;
out:
	return r;
}

ssize_t
ll_transport_read(struct ll_transport *t, void *p, size_t n)
{
	ssize_t r = t->ops->read(t, p, n);

	if (r > 0 && t->rx_first_ms == 0)
		t->rx_first_ms = ll_now_ms();
	return r;
}

ssize_t
ll_transport_write(struct ll_transport *t, const void *p, size_t n)
{
	return t->ops->write(t, p, n);
}

int
ll_transport_reopen(struct ll_transport *t)
{
	if (t->ops->reopen == NULL) {
		ll_tp_seterr(t, "%s: a %s transport cannot be reopened",
		    t->spec, t->ops->name);
		return LL_ERR_INVAL;
	}
	return t->ops->reopen(t);
}

bool
ll_transport_can_reopen(const struct ll_transport *t)
{
	return t != NULL && t->ops != NULL && t->ops->reopen != NULL;
}

bool
ll_transport_is_direct(const struct ll_transport *t)
{
	return t != NULL && t->direct;
}

void
ll_transport_close(struct ll_transport *t)
{
	if (t == NULL)
		return;
	if (t->ops != NULL && t->ops->close != NULL)
		t->ops->close(t);
	free(t);
}

unsigned
ll_transport_line_rate(const struct ll_transport *t)
{
	return t->baud / 10;
}
