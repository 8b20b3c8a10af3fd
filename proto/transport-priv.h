/*
 * Internals shared by the transport-*.c files; not part of the public API.
 *
 * transport.c parses the spec, allocates the struct ll_transport (spec
 * copied, fds -1) and calls one of the ll_tp_*_open() functions below with
 * the kind's argument.  An opener fills in ops, rfd, wfd, baud and priv and
 * returns 0, or leaves a message in t->err and returns a negative LL_ERR_*
 * after releasing whatever it acquired; transport.c then copies t->err to the
 * caller's buffer and frees t.  An opener may also leave a note in t->err and
 * return 0 (serial: falling back to termios); the caller logs it.
 */
#ifndef LL_TRANSPORT_PRIV_H
#define LL_TRANSPORT_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "transport.h"

/* A device path fits in a spec. */
#define LL_TP_DEVMAX	256

/* printf into t->err. */
void ll_tp_seterr(struct ll_transport *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Map an errno from open/connect to an LL_ERR_* code. */
int ll_tp_errno_code(int e);

/* Set O_NONBLOCK (and FD_CLOEXEC when cloexec); *oldfl gets the old flags. */
int ll_tp_set_nonblock(int fd, int *oldfl);

/*
 * read(2)/write(2) mapped to the transport contract: read gives > 0,
 * LL_ERR_AGAIN, LL_ERR_CLOSED (EOF, EIO/ENXIO/ENODEV hangup, ECONNRESET) or
 * LL_ERR_IO; write gives >= 0 (0 = would block) or LL_ERR_CLOSED/LL_ERR_IO.
 * what names the endpoint in messages ("/dev/ttyUSB0", "tcp:host:22").
 * sock selects send(MSG_NOSIGNAL) so a closed peer never raises SIGPIPE.
 */
ssize_t ll_tp_fd_read(struct ll_transport *t, int fd, void *p, size_t n,
    const char *what);
ssize_t ll_tp_fd_write(struct ll_transport *t, int fd, const void *p,
    size_t n, const char *what, bool sock);

/* Parse a decimal baud rate; 0 on success, LL_ERR_INVAL if unsupported. */
int ll_tp_parse_baud(const char *s, unsigned *baud);

/*
 * Save fd's termios in *saved (when not NULL) and make it raw: cfmakeraw,
 * CLOCAL|CREAD, 8N1, no flow control, VMIN=1 VTIME=0, and the speed baud
 * unless 0.  -1 with errno on failure.
 */
struct termios;
int ll_tp_tty_setraw(int fd, unsigned baud, struct termios *saved);

/* The kinds.  arg is the part of the spec after "kind:". */
int ll_tp_fd_open(struct ll_transport *t, const char *arg);
int ll_tp_stdio_open(struct ll_transport *t);
/* dev and baud (0 = keep the current speed) already parsed. */
int ll_tp_tty_open(struct ll_transport *t, const char *dev, unsigned baud);
int ll_tp_serial_open(struct ll_transport *t, const char *dev, unsigned baud);
int ll_tp_exec_open(struct ll_transport *t, const char *cmd);

/*
 * How ll_tp_exec_spawn() runs a child.  argv[0] is looked up in PATH.
 */
struct ll_tp_exec_spec {
	char *const *argv;
	bool pty;		/* stdin/stdout on a raw pty, else a socketpair */
	bool capture_stderr;	/* stderr to a pipe we read (else inherited) */
	const char *ready;	/* open waits for this text in the output */
	unsigned ready_ms;	/* ... for at most this long */
	const char *quit;	/* written at close; NULL: none */
	int escape;		/* doubled after CR/LF and at the start (the
				 * ipmitool escape '~'); -1 none */
	const char *package;	/* names the package when argv[0] is missing */
	const char *name;	/* the child in messages ("ipmitool"), or NULL */
};

/*
 * Start x->argv as the transport's child and, when x->ready is set, wait for
 * that text.  0, or a negative LL_ERR_* with t->err set; when the child
 * ended before it was ready, t->err holds its status and (with
 * capture_stderr) what it printed on stderr, and *stderr_text (when not NULL)
 * gets a copy of that text for the caller to classify (caller frees).
 */
int ll_tp_exec_spawn(struct ll_transport *t, const struct ll_tp_exec_spec *x,
    char **stderr_text);
/* The ready wait exec: was given (ll_transport_exec_defaults), 0 = default. */
unsigned ll_tp_exec_ready_ms(void);
/* "ipmi://[USER@]BMC[:PORT][?OPTIONS]": ipmitool's Serial-over-LAN. */
int ll_tp_ipmi_open(struct ll_transport *t, const char *arg);
/* "telnet://HOST:PORT[?baud=N]": a console server's telnet/RFC 2217 port. */
int ll_tp_telnet_open(struct ll_transport *t, const char *arg);
/* kind is "unix" or "tcp". */
int ll_tp_socket_open(struct ll_transport *t, const char *kind,
    const char *arg);
/* kind is "ssh" or "lifeline+ssh"; arg is "//[USER@]HOST[:PORT]". */
int ll_tp_ssh_open(struct ll_transport *t, const char *kind,
    const char *arg);

#endif
