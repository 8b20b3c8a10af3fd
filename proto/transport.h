/*
 * Transports: where the link's bytes go.  Each kind lives in its own
 * transport-*.c; this header is the one interface.
 *
 *   stdio                 the process's own stdin/stdout (tty set raw when it is one)
 *   fd:R,W                inherited descriptors
 *   tty:DEV[,BAUD]        termios (PTYs, consoles, any tty)
 *   serial:DEV[,BAUD]     libserialport; falls back to termios for PTYs and
 *                         ttys libserialport refuses
 *   exec:CMD              a child's stdin/stdout (CMD split into argv, no shell;
 *                         options: ll_transport_exec_defaults())
 *   ipmi://[USER@]BMC[:PORT][?cipher=N&password-file=F]
 *                         ipmitool's Serial-over-LAN (lanplus) on a pty
 *   telnet://HOST:PORT[?baud=N]   a console server's telnet port (ser2net),
 *                         RFC 854 with BINARY/SGA, RFC 2217 baud setting
 *   unix:PATH, tcp:HOST:PORT   stream sockets (connect; or listen for the agent)
 *   ssh://[USER@]HOST[:PORT]   a console gateway reached over SSH
 *   lifeline+ssh://[USER@]HOST[:PORT]   the agent's own SSH listener
 *                         (options: ll_transport_ssh_defaults() in ssh-client.h)
 *
 * Every transport is non-blocking, has one fd to poll for reading and one for
 * writing, and restores what it changed (termios, serial settings) when
 * closed.  Errors are values; a human message is kept in t->err.
 */
#ifndef LL_TRANSPORT_H
#define LL_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ll_transport;

struct ll_transport_ops {
	const char *name;
	ssize_t (*read)(struct ll_transport *t, void *p, size_t n);
	ssize_t (*write)(struct ll_transport *t, const void *p, size_t n);
	int (*reopen)(struct ll_transport *t);	/* may be NULL */
	void (*close)(struct ll_transport *t);
};

struct ll_transport {
	const struct ll_transport_ops *ops;
	int rfd, wfd;		/* poll these; equal for most kinds */
	unsigned baud;		/* configured line speed, 0 unknown */
	bool direct;		/* carries records itself: no link layer */
	char spec[256];		/* as given */
	char err[512];		/* last error, human readable */
	/* exec: without a ready text: the connect timeout counts from the
	 * child's first output (rx_first_ms, CLOCK_MONOTONIC ms, 0 none yet) */
	bool connect_from_output;
	uint64_t rx_first_ms;
	void *priv;		/* the kind's own state */
};

/*
 * Open spec as a client would.  On failure returns a negative LL_ERR_* and,
 * when errbuf is not NULL, writes a message naming the spec and the cause.
 * *out is freed with ll_transport_close().
 */
int ll_transport_open(const char *spec, struct ll_transport **out,
    char *errbuf, size_t errlen);

/* Listening side (agent --listen unix:PATH | tcp:[ADDR:]PORT). */
struct ll_listener;
int ll_listener_open(const char *spec, struct ll_listener **out, char *errbuf,
    size_t errlen);
int ll_listener_fd(const struct ll_listener *l);
/* Accept one connection as a transport; LL_ERR_AGAIN when none pending. */
int ll_listener_accept(struct ll_listener *l, struct ll_transport **out,
    char *errbuf, size_t errlen);
void ll_listener_close(struct ll_listener *l);	/* removes a unix socket */

/* > 0 bytes, LL_ERR_AGAIN when nothing now, LL_ERR_CLOSED at EOF, LL_ERR_IO. */
ssize_t ll_transport_read(struct ll_transport *t, void *p, size_t n);
/* >= 0 bytes written (0 = would block), or LL_ERR_*. */
ssize_t ll_transport_write(struct ll_transport *t, const void *p, size_t n);
/* Try to reopen a vanished device (serial); LL_ERR_* while it is absent. */
int ll_transport_reopen(struct ll_transport *t);
/* Can it be reopened (serial:, tty:): a device that may come back? */
bool ll_transport_can_reopen(const struct ll_transport *t);
void ll_transport_close(struct ll_transport *t);	/* NULL is fine */
/* bytes per second the line carries (baud / 10 for 8N1), 0 unknown */
unsigned ll_transport_line_rate(const struct ll_transport *t);
/*
 * True for a transport that carries lifeline records directly, with no
 * link layer under them: the "lifeline" subsystem of an SSH channel, which
 * already frames, orders and protects the bytes (lifeline+ssh://, and
 * lifeline+exec:CMD, an exec: whose command reaches that subsystem).
 */
bool ll_transport_is_direct(const struct ll_transport *t);

/*
 * Options of the exec: kind, set once by the program before opening.
 * ready: open waits (at most ready_ms, 0 = 60 s) until the child has printed
 * this text; quit: written to the child when the transport closes, before it
 * is signalled.  Strings are copied.
 */
struct ll_exec_options {
	const char *ready;
	unsigned ready_ms;
	const char *quit;
};
void ll_transport_exec_defaults(const struct ll_exec_options *o);

/*
 * ipmi:// only: true when spec names an ipmi:// path.  A BMC that keeps the
 * SOL payload of an earlier client makes open fail with LL_ERR_BUSY;
 * ll_transport_ipmi_deactivate() then runs "ipmitool ... sol deactivate" for
 * that spec (0, or LL_ERR_* with a message in errbuf).
 */
bool ll_transport_is_ipmi(const char *spec);
int ll_transport_ipmi_deactivate(const char *spec, char *errbuf,
    size_t errlen);

#endif
