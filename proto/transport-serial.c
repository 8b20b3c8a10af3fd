/*
 * The serial:DEV[,BAUD] transport: a UART through libserialport.
 *
 * Open: sp_get_port_by_name() and sp_open() read-write, then an exclusive
 * flock() on the port's descriptor (LL_ERR_BUSY when held) and TIOCEXCL;
 * save the port's configuration (sp_get_config) and set 8N1, no flow
 * control and the baud rate (default 115200); flush stale input.  The
 * descriptor from sp_get_port_handle() is what the caller polls; bytes move
 * with sp_nonblocking_read/write.  Close puts the saved configuration back.
 *
 * libserialport 0.1.1 refuses PTYs and some other ttys (no /sys/class/tty
 * entry, or modem-line ioctls that fail).  When it refuses a device that is a
 * terminal, this kind falls back to the termios transport (transport-tty.c)
 * and succeeds, leaving a note in t->err that the caller should log: a
 * non-empty t->err after a successful open is a note, not an error.
 *
 * A vanished USB adapter shows as ENXIO, ENODEV or EIO, or a hangup on the
 * descriptor: LL_ERR_CLOSED with a message.  reopen() closes what is left,
 * and opens and configures the same device again, giving LL_ERR_NOTFOUND
 * while it is absent.  libserialport errors are converted here with
 * sp_last_error_message() kept in t->err.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libserialport.h>

#include "error.h"
#include "transport.h"
#include "transport-priv.h"

#define SERIAL_DEFAULT_BAUD	115200

struct serial_priv {
	struct sp_port *port;		/* NULL while closed */
	struct sp_port_config *saved;	/* as found at the first open */
	int	fd;
	unsigned baud;
	char	dev[LL_TP_DEVMAX];
};

/*
 * Describe a failed sp_* call in t->err; return the LL_ERR_* code.  *oserr
 * gets the errno behind SP_ERR_FAIL (0 otherwise).
 */
static int
sp_error(struct ll_transport *t, const char *op, enum sp_return ret,
    int *oserr)
{
	char *msg;
	int e = 0;

	switch (ret) {
	case SP_ERR_FAIL:
		e = sp_last_error_code();
		msg = sp_last_error_message();
		ll_tp_seterr(t, "%s %s: %s", op, t->spec,
		    msg != NULL ? msg : "failed");
		if (msg != NULL)
			sp_free_error_message(msg);
		break;
	case SP_ERR_ARG:
		ll_tp_seterr(t, "%s %s: invalid argument", op, t->spec);
		break;
	case SP_ERR_MEM:
		ll_tp_seterr(t, "%s %s: out of memory", op, t->spec);
		break;
	case SP_ERR_SUPP:
		ll_tp_seterr(t, "%s %s: not supported", op, t->spec);
		break;
	default:
		ll_tp_seterr(t, "%s %s: error %d", op, t->spec, (int)ret);
		break;
	}
	if (oserr != NULL)
		*oserr = e;
	if (ret == SP_ERR_MEM)
		return LL_ERR_NOMEM;
	if (ret == SP_ERR_FAIL && e != 0)
		return ll_tp_errno_code(e);
	return LL_ERR_IO;
}

static void
serial_release(struct serial_priv *sp, bool restore)
{
	if (sp->port == NULL)
		return;
	if (restore && sp->saved != NULL)
		sp_set_config(sp->port, sp->saved);
	if (sp->fd != -1)
		ioctl(sp->fd, TIOCNXCL);
	sp_close(sp->port);	/* closes fd and so drops the flock */
	sp_free_port(sp->port);
	sp->port = NULL;
	sp->fd = -1;
}

/*
 * Open and configure sp->dev.  Returns 0, a negative LL_ERR_*, or 1 when
 * libserialport refused the device before we touched it (the caller may
 * fall back to termios); t->err says why in every failing case.
 */
static int
serial_setup(struct ll_transport *t, struct serial_priv *sp)
{
	struct stat st;
	enum sp_return ret;
	int r, e, fd;

	if (stat(sp->dev, &st) == -1) {
		e = errno;
		ll_tp_seterr(t, "open %s: %s: %s", t->spec, sp->dev,
		    strerror(e));
		return ll_tp_errno_code(e);
	}
	if ((ret = sp_get_port_by_name(sp->dev, &sp->port)) != SP_OK) {
		sp->port = NULL;
		sp_error(t, "sp_get_port_by_name", ret, NULL);
		return 1;
	}
	if ((ret = sp_open(sp->port, SP_MODE_READ_WRITE)) != SP_OK) {
		r = sp_error(t, "sp_open", ret, &e);
		sp_free_port(sp->port);
		sp->port = NULL;
		if (e == EBUSY) {
			ll_tp_seterr(t, "open %s: %s is in exclusive use by "
			    "another process", t->spec, sp->dev);
			return LL_ERR_BUSY;
		}
		if (e == ENOENT || e == ENXIO || e == ENODEV || e == EACCES)
			return r;
		return 1;
	}
	if ((ret = sp_get_port_handle(sp->port, &fd)) != SP_OK) {
		r = sp_error(t, "sp_get_port_handle", ret, NULL);
		goto fail;
	}
	sp->fd = fd;
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK) {
			ll_tp_seterr(t, "open %s: %s is locked by another "
			    "process", t->spec, sp->dev);
			r = LL_ERR_BUSY;
		} else {
			ll_tp_seterr(t, "lock %s: %s", t->spec,
			    strerror(errno));
			r = LL_ERR_IO;
		}
		goto fail;
	}
	ioctl(fd, TIOCEXCL);
	if (sp->saved == NULL) {
		if ((ret = sp_new_config(&sp->saved)) != SP_OK) {
			sp->saved = NULL;
			r = sp_error(t, "sp_new_config", ret, NULL);
			goto fail;
		}
		if ((ret = sp_get_config(sp->port, sp->saved)) != SP_OK) {
			sp_free_config(sp->saved);
			sp->saved = NULL;
			r = sp_error(t, "sp_get_config", ret, NULL);
			goto fail;
		}
	}
	if ((ret = sp_set_baudrate(sp->port, (int)sp->baud)) != SP_OK ||
	    (ret = sp_set_bits(sp->port, 8)) != SP_OK ||
	    (ret = sp_set_parity(sp->port, SP_PARITY_NONE)) != SP_OK ||
	    (ret = sp_set_stopbits(sp->port, 1)) != SP_OK ||
	    (ret = sp_set_flowcontrol(sp->port, SP_FLOWCONTROL_NONE)) !=
	    SP_OK) {
		r = sp_error(t, "configure", ret, NULL);
		goto fail;
	}
	if (ll_tp_set_nonblock(fd, NULL) == -1) {
		ll_tp_seterr(t, "configure %s: %s", t->spec, strerror(errno));
		r = LL_ERR_IO;
		goto fail;
	}
	sp_flush(sp->port, SP_BUF_INPUT);
	t->rfd = t->wfd = fd;
	t->baud = sp->baud;
	return 0;
fail:
	serial_release(sp, false);
	return r;
}

/* After a read of nothing: is the device gone (hangup) or just idle? */
static bool
hung_up(struct serial_priv *sp, bool *readable)
{
	struct pollfd pfd = { .fd = sp->fd, .events = POLLIN };

	*readable = false;
	if (poll(&pfd, 1, 0) <= 0)
		return false;
	*readable = (pfd.revents & POLLIN) != 0;
	return (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) != 0;
}

static ssize_t
serial_read(struct ll_transport *t, void *p, size_t n)
{
	struct serial_priv *sp = t->priv;
	enum sp_return ret;
	bool readable;
	int e, r;

	if (sp->port == NULL) {
		ll_tp_seterr(t, "read %s: device closed; reopen it", t->spec);
		return LL_ERR_CLOSED;
	}
	if (n == 0)
		return LL_ERR_AGAIN;
	ret = sp_nonblocking_read(sp->port, p, n);
	if (ret > 0)
		return ret;
	if (ret == 0) {
		/*
		 * libserialport folds EOF into "nothing read"; a readable
		 * descriptor that gives nothing twice is at EOF.
		 */
		if (hung_up(sp, &readable) || (readable &&
		    (ret = sp_nonblocking_read(sp->port, p, n)) == 0)) {
			ll_tp_seterr(t, "read %s: device hung up", t->spec);
			return LL_ERR_CLOSED;
		}
		if (ret > 0)
			return ret;
		if (ret == 0)
			return LL_ERR_AGAIN;
	}
	r = sp_error(t, "read", ret, &e);
	if (e == EIO || e == ENXIO || e == ENODEV)
		return LL_ERR_CLOSED;
	if (e == EAGAIN || e == EINTR)
		return LL_ERR_AGAIN;
	return r == LL_ERR_CLOSED ? r : LL_ERR_IO;
}

static ssize_t
serial_write(struct ll_transport *t, const void *p, size_t n)
{
	struct serial_priv *sp = t->priv;
	enum sp_return ret;
	int e, r;

	if (sp->port == NULL) {
		ll_tp_seterr(t, "write %s: device closed; reopen it", t->spec);
		return LL_ERR_CLOSED;
	}
	if (n == 0)
		return 0;
	ret = sp_nonblocking_write(sp->port, p, n);
	if (ret >= 0)
		return ret;
	r = sp_error(t, "write", ret, &e);
	if (e == EIO || e == ENXIO || e == ENODEV || e == EPIPE)
		return LL_ERR_CLOSED;
	if (e == EAGAIN || e == EINTR)
		return 0;
	return r == LL_ERR_CLOSED ? r : LL_ERR_IO;
}

static int
serial_reopen(struct ll_transport *t)
{
	struct serial_priv *sp = t->priv;
	int r;

	serial_release(sp, false);
	t->rfd = t->wfd = -1;
	r = serial_setup(t, sp);
	if (r == 1)
		r = LL_ERR_IO;	/* it was a UART before; keep it one */
	if (r == 0)
		t->err[0] = '\0';
	return r;
}

static void
serial_close(struct ll_transport *t)
{
	struct serial_priv *sp = t->priv;

	if (sp == NULL)
		return;
	serial_release(sp, true);
	if (sp->saved != NULL)
		sp_free_config(sp->saved);
	free(sp);
	t->priv = NULL;
}

static const struct ll_transport_ops serial_ops = {
	.name = "serial",
	.read = serial_read,
	.write = serial_write,
	.reopen = serial_reopen,
	.close = serial_close,
};

static bool
is_tty(const char *dev)
{
	bool yes;
	int fd;

	if ((fd = open(dev, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)) == -1)
		return false;
	yes = isatty(fd);
	close(fd);
	return yes;
}

int
ll_tp_serial_open(struct ll_transport *t, const char *dev, unsigned baud)
{
	struct serial_priv *sp;
	char why[sizeof t->err];
	int r;

	if (strlen(dev) >= sizeof sp->dev) {
		ll_tp_seterr(t, "bad transport spec '%s': device name too "
		    "long", t->spec);
		return LL_ERR_INVAL;
	}
	if ((sp = calloc(1, sizeof *sp)) == NULL) {
		ll_tp_seterr(t, "%s: out of memory", t->spec);
		r = LL_ERR_NOMEM;
		goto out;
	}
	sp->fd = -1;
	sp->baud = baud != 0 ? baud : SERIAL_DEFAULT_BAUD;
	snprintf(sp->dev, sizeof sp->dev, "%s", dev);
	r = serial_setup(t, sp);
	if (r == 1) {
		snprintf(why, sizeof why, "%s", t->err);
		if (!is_tty(dev)) {
			r = LL_ERR_INVAL;
			goto out;
		}
		/* libserialport refuses PTYs: drive it through termios. */
		if ((r = ll_tp_tty_open(t, dev, sp->baud)) != 0)
			goto out;
		ll_tp_seterr(t, "note: %s: libserialport refused the device "
		    "(%.120s); using termios instead", t->spec, why);
		goto out;
	}
	if (r != 0)
		goto out;
	t->ops = &serial_ops;
	t->priv = sp;
	sp = NULL;
out:
	if (sp != NULL) {
		if (sp->saved != NULL)
			sp_free_config(sp->saved);
		free(sp);
	}
	return r;
}
