/*
 * lifeline console: an interactive terminal on the --via path itself, for
 * a console that shows a boot menu, a login prompt or a shell rather than
 * an agent.
 *
 * One poll() loop copies bytes both ways, unchanged: our stdin to the
 * transport (through a bounded buffer, because the transport may not take
 * everything at once) and the transport to our stdout.  When stdin is a
 * terminal it is made raw, signals included, so ^C, ^Z and ^\ reach the
 * remote side; the escape key (^] unless --escape says otherwise) followed
 * by "." or "q" leaves, pressed twice it sends itself.  The terminal's modes
 * are put back however the loop ends: escape, end of the line, error,
 * SIGTERM, SIGHUP (the signals are blocked except inside ppoll(), so a
 * signal can only end the wait, never interrupt the restore).
 *
 * When stdin is not a terminal (scripts, tests) its bytes go through as
 * they are, without escape handling; at its end the remote output is still
 * shown until it has been quiet for the drain time, then console exits 0. *
 * A serial device that goes away (a USB adapter pulled out, a PTY whose
 * other side ended) does not end the console: as tio does, it says so and
 * tries the same path again every CONSOLE_RETRY_MS until the device is
 * back, keys typed meanwhile dropped; the escape key, a signal or the end
 * of stdin still end it.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "client.h"
#include "error.h"

#define CONSOLE_ESCAPE_DEFAULT	0x1d	/* ^] as in telnet */
#define CONSOLE_NO_ESCAPE	(-1)
#define CONSOLE_READ_MAX	2048
/* Escape handling may double a read (an escape then an unknown key). */
#define CONSOLE_OUT_MAX		(2 * CONSOLE_READ_MAX)
#define CONSOLE_DRAIN_MS	500
/* After stdin's end, stop after this many drain times even if the remote
 * never stops talking (a console full of kernel messages). */
#define CONSOLE_DRAIN_CAP	20
#define CONSOLE_RETRY_MS	250	/* a device that went away: retry */

struct console {
	struct ll_transport *t;
	int escape;		/* the escape byte, or CONSOLE_NO_ESCAPE */
	bool raw;		/* stdin is a terminal we made raw */
	bool escaped;		/* the escape key was the last key */
	bool leave;		/* escape + "." */
	bool in_eof;
	uint64_t last_rx;	/* when the remote last said something */
	uint64_t eof_at;	/* when stdin ended; 0: not yet */
	bool away;		/* the device went away: waiting for it */
	uint64_t retry_at;	/* when to try it again */
	uint8_t out[CONSOLE_OUT_MAX];	/* for the transport */
	size_t out_len;
};

#define CONSOLE_GO_ON	(-1)	/* a step's "not done yet" */

static volatile sig_atomic_t console_signal;

static void
console_on_signal(int sig)
{
	console_signal = sig;
}

/*
 * "^X" (also "^?" for DEL), a single character, or "none".  Returns the
 * byte, CONSOLE_NO_ESCAPE, or -2 when the text is none of these.
 */
static int
console_parse_escape(const char *s)
{
	if (strcmp(s, "none") == 0)
		return CONSOLE_NO_ESCAPE;
	if (s[0] == '^' && s[1] != '\0' && s[2] == '\0') {
		if (s[1] == '?')
			return 0x7f;
		if (s[1] >= '@' && s[1] <= '_')
			return s[1] - '@';
		if (s[1] >= 'a' && s[1] <= 'z')
			return s[1] - 'a' + 1;
		return -2;
	}
	if (s[0] != '\0' && s[1] == '\0')
		return (unsigned char)s[0];
	return -2;
}

/* How the user types the escape byte: "^]", "~". */
static void
console_escape_name(int c, char *buf, size_t len)
{
	if (c < 0x20)
		snprintf(buf, len, "^%c", c + '@');
	else if (c == 0x7f)
		snprintf(buf, len, "^?");
	else
		snprintf(buf, len, "%c", c);
}

/* A message of our own in the middle of the session: raw mode needs CR. */
static void
console_note(const struct console *con, const char *text)
{
	fprintf(stderr, "%slifeline: %s%s", con->raw ? "\r\n" : "", text,
	    con->raw ? "\r\n" : "\n");
}

/* Queue typed bytes for the transport, acting on the escape key. */
static void
console_keys(struct console *con, const uint8_t *p, size_t n)
{
	char name[8];
	size_t i;

	for (i = 0; i < n && !con->leave; i++) {
		if (!con->escaped) {
			if (con->raw && p[i] == con->escape)
				con->escaped = true;
			else
				con->out[con->out_len++] = p[i];
			continue;
		}
		con->escaped = false;
		switch (p[i]) {
		case '.':
		case 'q':
			con->leave = true;
			break;
		case '?':
			console_escape_name(con->escape, name, sizeof(name));
			fprintf(stderr, "\r\nlifeline: %s . or %s q leaves, "
			    "%s %s sends %s\r\n", name, name, name, name,
			    name);
			break;
		default:
			/* Not a command: both keys go through. */
			if (p[i] != con->escape)
				con->out[con->out_len++] = (uint8_t)con->escape;
			con->out[con->out_len++] = p[i];
			break;
		}
	}
}

/*
 * The device went away: wait for it when it is one that can come back
 * (serial:, tty:), else false (the console ends).
 */
static bool
console_went_away(struct console *con)
{
	char msg[640], key[8] = "";
	bool esc = con->raw && con->escape != CONSOLE_NO_ESCAPE;

	if (!ll_transport_can_reopen(con->t))
		return false;
	con->away = true;
	con->retry_at = ll_now_ms() + CONSOLE_RETRY_MS;
	con->out_len = 0;
	if (esc)
		console_escape_name(con->escape, key, sizeof(key));
	snprintf(msg, sizeof(msg), "console: %.200s went away (%.200s); waiting "
	    "for it to come back (%s%s leaves)", con->t->spec, con->t->err,
	    esc ? key : "Ctrl-C", esc ? " ." : "");
	console_note(con, msg);
	return true;
}

/* Away: try the device again when it is time. */
static void
console_try_back(struct console *con, uint64_t now)
{
	char msg[640];

	if (!con->away || now < con->retry_at)
		return;
	con->retry_at = now + CONSOLE_RETRY_MS;
	if (ll_transport_reopen(con->t) != 0)
		return;
	con->away = false;
	snprintf(msg, sizeof(msg), "console: %s is back", con->t->spec);
	console_note(con, msg);
}

/* Away: the poll waits no longer than the next try. */
static struct timespec *
console_away_wait(struct console *con, struct timespec *ts,
    struct timespec *tsp)
{
	if (!con->away || (tsp != NULL && ts->tv_sec == 0 &&
	    ts->tv_nsec <= CONSOLE_RETRY_MS * 1000000L))
		return tsp;
	ts->tv_sec = 0;
	ts->tv_nsec = CONSOLE_RETRY_MS * 1000000L;
	return ts;
}

/* r bytes of con->out have gone to the transport. */
static void
console_out_sent(struct console *con, size_t r)
{
	memmove(con->out, con->out + r, con->out_len - r);
	con->out_len -= r;
}

/* The transport's error r, said. */
static void
console_note_error(struct console *con, ssize_t r)
{
	char msg[640];

	snprintf(msg, sizeof(msg), "console: %s", con->t->err[0] != '\0' ?
	    con->t->err : ll_strerror((int)r));
	console_note(con, msg);
}

/*
 * Once stdin is done: show what still comes, then stop after drain_ms of
 * silence (at most CONSOLE_DRAIN_CAP times that in all).  EXIT_OK when it
 * is time, else CONSOLE_GO_ON with *ts the wait left.
 */
static int
console_drain(struct console *con, uint64_t now, int drain_ms,
    struct timespec *ts)
{
	int wait_ms;

	if (con->eof_at == 0)
		con->eof_at = now;
	if (con->last_rx < con->eof_at)
		con->last_rx = con->eof_at;
	if (now >= con->last_rx + (uint64_t)drain_ms ||
	    now >= con->eof_at + (uint64_t)drain_ms * CONSOLE_DRAIN_CAP)
		return EXIT_OK;
	wait_ms = (int)(con->last_rx + (uint64_t)drain_ms - now);
	ts->tv_sec = wait_ms / 1000;
	ts->tv_nsec = (long)(wait_ms % 1000) * 1000000;
	return CONSOLE_GO_ON;
}

/* What the remote console said, to stdout. */
static int
console_from_remote(struct console *con)
{
	uint8_t buf[CONSOLE_READ_MAX];
	char msg[640];
	ssize_t r;

	while ((r = ll_transport_read(con->t, buf, sizeof(buf))) > 0) {
		con->last_rx = ll_now_ms();
		if (out_write_all(STDOUT_FILENO, buf, (size_t)r) != 0) {
			console_note(con, "console: writing to stdout failed");
			return EXIT_FAILED;
		}
	}
	if (r == LL_ERR_CLOSED && console_went_away(con))
		return CONSOLE_GO_ON;
	if (r == LL_ERR_CLOSED) {
		snprintf(msg, sizeof(msg), "console: %s closed the "
		    "connection", con->t->spec);
		console_note(con, msg);
		return EXIT_OK;
	}
	if (r != LL_ERR_AGAIN) {
		console_note_error(con, r);
		return EXIT_LOST;
	}
	return CONSOLE_GO_ON;
}

/* The keys waiting in con->out, to the remote console. */
static int
console_to_remote(struct console *con)
{
	ssize_t r = ll_transport_write(con->t, con->out, con->out_len);

	if (r == LL_ERR_CLOSED && console_went_away(con))
		return CONSOLE_GO_ON;
	if (r < 0) {
		console_note_error(con, r);
		return r == LL_ERR_CLOSED ? EXIT_OK : EXIT_LOST;
	}
	console_out_sent(con, (size_t)r);
	return CONSOLE_GO_ON;
}

/* Keys from stdin, through the escape handling into con->out. */
static int
console_from_keys(struct console *con)
{
	uint8_t buf[CONSOLE_READ_MAX];
	ssize_t r;

	r = read(STDIN_FILENO, buf, sizeof(buf));
	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return CONSOLE_GO_ON;
	if (r <= 0) {
		/* A terminal that ends has hung up. */
		if (con->raw)
			return EXIT_OK;
		con->in_eof = true;
		return CONSOLE_GO_ON;
	}
	console_keys(con, buf, (size_t)r);
	if (con->away)
		con->out_len = 0;	/* nowhere to go */
	/* Send at once rather than wait a turn for POLLOUT. */
	if (con->out_len > 0) {
		r = ll_transport_write(con->t, con->out, con->out_len);
		if (r > 0)
			console_out_sent(con, (size_t)r);
	}
	return CONSOLE_GO_ON;
}

/*
 * The copy loop.  Returns EXIT_OK when the user left, stdin ended (after
 * the drain) or the remote side closed; EXIT_LOST on a transport error,
 * EXIT_FAILED when stdout failed or a signal ended it.
 */
static int
console_loop(struct console *con, int drain_ms, const sigset_t *waitmask)
{
	struct pollfd pfd[3];
	struct timespec ts, *tsp;
	size_t room;
	int n, ti, to, rc;
	char msg[640];

	for (;;) {
		if (console_signal != 0) {
			snprintf(msg, sizeof(msg), "console: %s", strsignal(
			    console_signal));
			console_note(con, msg);
			return EXIT_FAILED;
		}
		if (con->leave)
			return EXIT_OK;
		console_try_back(con, ll_now_ms());
		tsp = NULL;
		if (con->in_eof && con->out_len == 0) {
			if ((rc = console_drain(con, ll_now_ms(), drain_ms,
			    &ts)) != CONSOLE_GO_ON)
				return rc;
			tsp = &ts;
		}
		tsp = console_away_wait(con, &ts, tsp);
		n = 0;
		pfd[n++] = (struct pollfd){ con->away ? -1 : con->t->rfd,
		    POLLIN, 0 };
		to = -1;
		if (con->out_len > 0 && !con->away) {
			to = n;
			pfd[n++] = (struct pollfd){ con->t->wfd, POLLOUT, 0 };
		}
		/* Read keys only when a whole read fits, escapes doubled. */
		room = sizeof(con->out) - con->out_len;
		ti = -1;
		if (!con->in_eof && room >= 2 * CONSOLE_READ_MAX) {
			ti = n;
			pfd[n++] = (struct pollfd){ STDIN_FILENO, POLLIN, 0 };
		}
		if (ppoll(pfd, (nfds_t)n, tsp, waitmask) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(msg, sizeof(msg), "console: poll: %s",
			    strerror(errno));
			console_note(con, msg);
			return EXIT_FAILED;
		}
		if (pfd[0].revents != 0 &&
		    (rc = console_from_remote(con)) != CONSOLE_GO_ON)
			return rc;
		if (to >= 0 && pfd[to].revents != 0 &&
		    (rc = console_to_remote(con)) != CONSOLE_GO_ON)
			return rc;
		if (ti >= 0 && pfd[ti].revents != 0 &&
		    (rc = console_from_keys(con)) != CONSOLE_GO_ON)
			return rc;
	}
}

static const struct cmd_option console_options[] = {
	{ "escape", 'e', 0, "^X|CHAR|none", "the escape key (default ^]): "
	  "then . or q leaves, ? lists the keys, twice sends itself" },
	{ "drain", 'd', 0, "SECONDS", "after stdin ends (not a terminal), "
	  "show the console's output until it is quiet for SECONDS (default "
	  "0.5)" },
	{ NULL, 0, 0, NULL, NULL }
};

/* --escape and --drain; -1 to go on, else the exit status (said). */
static int
console_args(int argc, char **argv, int *escape, double *drain)
{
	char *end;
	int ch;

	optind = 0;
	while ((ch = cmd_getopt(&cmd_console_entry, argc, argv)) != -1) {
		switch (ch) {
		case 'e':
			if ((*escape = console_parse_escape(optarg)) == -2) {
				msg_error("console: --escape needs ^X, one "
				    "character or none, not \"%s\"", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'd':
			*drain = strtod(optarg, &end);
			if (*end != '\0' || *drain < 0 || *drain > 3600) {
				msg_error("console: --drain needs seconds (0 "
				    "to 3600), not \"%s\"", optarg);
				return EXIT_USAGE;
			}
			break;
		default:
			return cmd_usage_error(&cmd_console_entry);
		}
	}
	if (optind != argc)
		return cmd_usage_error(&cmd_console_entry);
	if (client_opts.via == NULL) {
		msg_error("no path to the console: give --via SPEC or set "
		    "LIFELINE_VIA");
		return EXIT_USAGE;
	}
	if (strcmp(client_opts.via, "stdio") == 0) {
		msg_error("console: --via stdio is this terminal itself; "
		    "give the path to the remote console");
		return EXIT_USAGE;
	}
	return -1;
}

/* The signals that end the console, and what they were before. */
struct console_signals {
	struct sigaction old[3];
	sigset_t orig;		/* the mask before */
	sigset_t waitmask;	/* the mask during ppoll() */
};

static const int console_sigs[3] = { SIGINT, SIGTERM, SIGHUP };

/*
 * Signals that end the console only end the wait in ppoll(); the handlers
 * replace lifeline's own while the terminal is raw.
 */
static void
console_signals_take(struct console_signals *cs)
{
	struct sigaction sa;
	sigset_t block;
	size_t i;

	console_signal = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = console_on_signal;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	for (i = 0; i < 3; i++) {
		sigaction(console_sigs[i], &sa, &cs->old[i]);
		sigaddset(&block, console_sigs[i]);
	}
	sigprocmask(SIG_BLOCK, &block, &cs->orig);
	cs->waitmask = cs->orig;
	for (i = 0; i < 3; i++)
		sigdelset(&cs->waitmask, console_sigs[i]);
}

static void
console_signals_give_back(struct console_signals *cs)
{
	size_t i;

	for (i = 0; i < 3; i++)
		sigaction(console_sigs[i], &cs->old[i], NULL);
	sigprocmask(SIG_SETMASK, &cs->orig, NULL);
}

/* A terminal on stdin goes raw (saved kept to put back); else stdin is
 * copied until its end. */
static void
console_raw_start(struct console *con, struct termios *saved)
{
	struct termios tio;
	char name[8];

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, saved) != 0) {
		msg_verbose("connected to %s; stdin is not a terminal: "
		    "copying it until its end", client_opts.via);
		return;
	}
	if (con->escape != CONSOLE_NO_ESCAPE) {
		console_escape_name(con->escape, name, sizeof(name));
		fprintf(stderr, "Connected to %s; escape is %s then . to "
		    "leave\n", client_opts.via, name);
	} else {
		fprintf(stderr, "Connected to %s; no escape key: end with "
		    "SIGTERM or hang up\n", client_opts.via);
	}
	tio = *saved;
	/* cfmakeraw clears ISIG too: ^C is the remote's. */
	cfmakeraw(&tio);
	tio.c_cc[VMIN] = 1;
	tio.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &tio) == 0)
		con->raw = true;
	else
		msg_warn("console: cannot make the terminal raw: %s",
		    strerror(errno));
}

static void
console_raw_end(struct console *con, const struct termios *saved)
{
	if (!con->raw)
		return;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, saved);
	if (con->leave)
		fprintf(stderr, "\nlifeline: console closed\n");
}

static int
cmd_console(int argc, char **argv)
{
	struct console_signals cs;
	struct termios saved;
	struct console *con;
	char err[512];
	double drain = CONSOLE_DRAIN_MS / 1000.0;
	int escape = CONSOLE_ESCAPE_DEFAULT, rc;

	if ((rc = console_args(argc, argv, &escape, &drain)) >= 0)
		return rc;
	if ((con = calloc(1, sizeof(*con))) == NULL) {
		msg_error("console: out of memory");
		return EXIT_FAILED;
	}
	con->escape = escape;
	if (conn_open_transport(&con->t, err, sizeof(err)) != 0) {
		msg_error("%s", err);
		free(con);
		return conn_transport_status(err);
	}
	if (con->t->err[0] != '\0')
		msg_verbose("%s", con->t->err);
	console_signals_take(&cs);
	console_raw_start(con, &saved);
	rc = console_loop(con, (int)(drain * 1000), &cs.waitmask);
	console_raw_end(con, &saved);
	ll_transport_close(con->t);
	free(con);
	console_signals_give_back(&cs);
	return rc;
}

const struct client_cmd cmd_console_entry = {
	.name = "console",
	.summary = "an interactive terminal on the --via path",
	.options = console_options,
	.run = cmd_console,
};
