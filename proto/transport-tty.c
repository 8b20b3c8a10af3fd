/*
 * The tty:DEV[,BAUD] transport: any terminal device through termios (PTYs,
 * consoles, USB and on-board UARTs).  The serial: kind falls back to it for
 * devices libserialport refuses.
 *
 * Open: O_RDWR|O_NOCTTY|O_NONBLOCK so the device never becomes our
 * controlling terminal and open() does not wait for carrier; an exclusive
 * flock() (LOCK_NB, LL_ERR_BUSY when another process holds it) plus TIOCEXCL
 * so non-root programs that do not flock are refused too; save the termios;
 * raw 8N1, CLOCAL|CREAD, no flow control, VMIN=1 VTIME=0, the given speed
 * (or the current one when none is given); then flush stale input.
 * Close: restore the saved termios, drop TIOCEXCL (a PTY slave's tty lives as
 * long as its master, so a leftover TIOCEXCL would lock out the next user)
 * and close.  A hangup (EIO or EOF on a PTY whose master is gone, ENXIO/ENODEV
 * on a vanished USB adapter) is LL_ERR_CLOSED; reopen() opens the same path
 * again with the same settings and gives LL_ERR_NOTFOUND while it is absent.
 * The line rate is known when a speed was given, or for a real tty from its
 * current speed; a PTY's speed means nothing, so it reports 0.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "transport.h"
#include "transport-priv.h"

struct tty_priv {
	int	fd;
	unsigned baud;		/* requested, 0 = keep */
	bool	saved_ok;
	struct termios saved;	/* as found at the first open */
	char	dev[LL_TP_DEVMAX];
};

static const struct {
	unsigned baud;
	speed_t	code;
} bauds[] = {
	{ 50, B50 }, { 75, B75 }, { 110, B110 }, { 134, B134 },
	{ 150, B150 }, { 200, B200 }, { 300, B300 }, { 600, B600 },
	{ 1200, B1200 }, { 1800, B1800 }, { 2400, B2400 }, { 4800, B4800 },
	{ 9600, B9600 }, { 19200, B19200 }, { 38400, B38400 },
	{ 57600, B57600 }, { 115200, B115200 }, { 230400, B230400 },
#ifdef B460800
	{ 460800, B460800 }, { 500000, B500000 }, { 576000, B576000 },
	{ 921600, B921600 }, { 1000000, B1000000 }, { 1152000, B1152000 },
	{ 1500000, B1500000 }, { 2000000, B2000000 }, { 2500000, B2500000 },
	{ 3000000, B3000000 }, { 3500000, B3500000 }, { 4000000, B4000000 },
#endif
};

static int
baud_code(unsigned baud, speed_t *code)
{
	size_t i;

	for (i = 0; i < sizeof bauds / sizeof bauds[0]; i++) {
		if (bauds[i].baud == baud) {
			*code = bauds[i].code;
			return 0;
		}
	}
	return -1;
}

static unsigned
baud_value(speed_t code)
{
	size_t i;

	for (i = 0; i < sizeof bauds / sizeof bauds[0]; i++)
		if (bauds[i].code == code)
			return bauds[i].baud;
	return 0;
}

int
ll_tp_tty_setraw(int fd, unsigned baud, struct termios *saved)
{
	struct termios tio;
	speed_t code;

	if (baud != 0 && baud_code(baud, &code) == -1) {
		errno = EINVAL;
		return -1;
	}
	if (tcgetattr(fd, &tio) == -1)
		return -1;
	if (saved != NULL)
		*saved = tio;
	cfmakeraw(&tio);
	tio.c_cflag &= ~(CSIZE | PARENB | CSTOPB | CRTSCTS);
	tio.c_cflag |= CS8 | CLOCAL | CREAD;
	tio.c_iflag &= ~(IXON | IXOFF | IXANY);
	tio.c_cc[VMIN] = 1;
	tio.c_cc[VTIME] = 0;
	if (baud != 0 && (cfsetispeed(&tio, code) == -1 ||
	    cfsetospeed(&tio, code) == -1))
		return -1;
	return tcsetattr(fd, TCSANOW, &tio);
}

/* Unix98 PTY slaves (/dev/pts/N) have majors 136 to 143 on Linux. */
static bool
is_pty(int fd)
{
	struct stat st;

	if (fstat(fd, &st) == -1 || !S_ISCHR(st.st_mode))
		return false;
	return major(st.st_rdev) >= 136 && major(st.st_rdev) <= 143;
}

/* Open tp->dev and apply the settings; on failure t->err says why. */
static int
tty_setup(struct ll_transport *t, struct tty_priv *tp)
{
	struct termios tio, *save;
	int fd, r, e;

	fd = open(tp->dev, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		e = errno;
		if (e == EBUSY) {
			ll_tp_seterr(t, "open %s: %s is in exclusive use by "
			    "another process", t->spec, tp->dev);
			return LL_ERR_BUSY;
		}
		ll_tp_seterr(t, "open %s: %s", t->spec, strerror(e));
		return ll_tp_errno_code(e);
	}
	if (!isatty(fd)) {
		ll_tp_seterr(t, "open %s: %s is not a terminal", t->spec,
		    tp->dev);
		r = LL_ERR_INVAL;
		goto fail;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		e = errno;
		if (e == EWOULDBLOCK) {
			ll_tp_seterr(t, "open %s: %s is locked by another "
			    "process", t->spec, tp->dev);
			r = LL_ERR_BUSY;
		} else {
			ll_tp_seterr(t, "lock %s: %s", t->spec, strerror(e));
			r = LL_ERR_IO;
		}
		goto fail;
	}
	/* Best effort: refuses later non-root opens; root ignores it. */
	ioctl(fd, TIOCEXCL);
	save = tp->saved_ok ? &tio : &tp->saved;
	if (ll_tp_tty_setraw(fd, tp->baud, save) == -1) {
		e = errno;
		ll_tp_seterr(t, "configure %s: %s", t->spec, strerror(e));
		r = LL_ERR_IO;
		ioctl(fd, TIOCNXCL);
		goto fail;
	}
	tp->saved_ok = true;
	tcflush(fd, TCIFLUSH);
	tp->fd = fd;
	t->rfd = t->wfd = fd;
	if (tp->baud != 0)
		t->baud = tp->baud;
	else if (!is_pty(fd) && tcgetattr(fd, &tio) == 0)
		t->baud = baud_value(cfgetospeed(&tio));
	else
		t->baud = 0;
	return 0;
fail:
	close(fd);
	return r;
}

static ssize_t
tty_read(struct ll_transport *t, void *p, size_t n)
{
	struct tty_priv *tp = t->priv;

	if (tp->fd == -1) {
		ll_tp_seterr(t, "read %s: device closed; reopen it", t->spec);
		return LL_ERR_CLOSED;
	}
	return ll_tp_fd_read(t, tp->fd, p, n, t->spec);
}

static ssize_t
tty_write(struct ll_transport *t, const void *p, size_t n)
{
	struct tty_priv *tp = t->priv;

	if (tp->fd == -1) {
		ll_tp_seterr(t, "write %s: device closed; reopen it", t->spec);
		return LL_ERR_CLOSED;
	}
	return ll_tp_fd_write(t, tp->fd, p, n, t->spec, false);
}

/* Let queued output leave (bounded: the peer may not be reading). */
static void
drain_briefly(int fd)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int i, q;

	for (i = 0; i < 50; i++) {
		if (ioctl(fd, TIOCOUTQ, &q) == -1 || q <= 0)
			return;
		nanosleep(&ts, NULL);
	}
}

static void
tty_release(struct tty_priv *tp, bool restore)
{
	if (tp->fd == -1)
		return;
	if (restore && tp->saved_ok) {
		drain_briefly(tp->fd);
		tcsetattr(tp->fd, TCSANOW, &tp->saved);
	}
	ioctl(tp->fd, TIOCNXCL);
	close(tp->fd);	/* drops the flock too */
	tp->fd = -1;
}

static int
tty_reopen(struct ll_transport *t)
{
	struct tty_priv *tp = t->priv;
	int r;

	/* The old descriptor points at a device that is gone or hung up. */
	tty_release(tp, false);
	t->rfd = t->wfd = -1;
	if ((r = tty_setup(t, tp)) == 0)
		t->err[0] = '\0';
	return r;
}

static void
tty_close(struct ll_transport *t)
{
	struct tty_priv *tp = t->priv;

	if (tp == NULL)
		return;
	tty_release(tp, true);
	free(tp);
	t->priv = NULL;
}

static const struct ll_transport_ops tty_ops = {
	.name = "tty",
	.read = tty_read,
	.write = tty_write,
	.reopen = tty_reopen,
	.close = tty_close,
};

int
ll_tp_tty_open(struct ll_transport *t, const char *dev, unsigned baud)
{
	struct tty_priv *tp;
	speed_t code;
	int r;

	if (baud != 0 && baud_code(baud, &code) == -1) {
		ll_tp_seterr(t, "bad transport spec '%s': %u is not a "
		    "standard baud rate", t->spec, baud);
		return LL_ERR_INVAL;
	}
	if (strlen(dev) >= sizeof tp->dev) {
		ll_tp_seterr(t, "bad transport spec '%s': device name too "
		    "long", t->spec);
		return LL_ERR_INVAL;
	}
	if ((tp = calloc(1, sizeof *tp)) == NULL) {
		ll_tp_seterr(t, "%s: out of memory", t->spec);
		r = LL_ERR_NOMEM;
		goto out;
	}
	tp->fd = -1;
	tp->baud = baud;
	snprintf(tp->dev, sizeof tp->dev, "%s", dev);
	if ((r = tty_setup(t, tp)) != 0)
		goto out;
	t->ops = &tty_ops;
	t->priv = tp;
	tp = NULL;
out:
	free(tp);
	return r;
}
