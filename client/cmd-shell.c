/*
 * lifeline shell: an interactive root shell on the agent through the
 * client's own SSH engine, for users who do not want a ProxyCommand.
 *
 * The link comes up as for any command, but its SSH engine (ssh-client.c,
 * tunnel mode with `shell`) asks the agent for a pty and a login shell
 * instead of the lifeline subsystem; this loop copies the terminal to the
 * engine's plain side and back.  Kernel messages and other text between
 * frames are the link's console text, which this command never shows: only
 * the shell's bytes reach the terminal.
 *
 * The terminal is made raw once the shell is there (not before: the host
 * key question may need it cooked); SIGWINCH sends the new size as a
 * window-change; ~. at the start of a line leaves at once, ~~ sends one ~,
 * ~? lists them, as ssh does.  The shell's exit status becomes ours (a
 * signal that ended it: 128 + its number).  Signals are blocked except
 * inside ppoll(), so they only end a wait, never a terminal restore.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "client.h"
#include "error.h"
#include "ssh-client.h"
#include "ssh-common.h"

#define SHELL_BUF	(16 * 1024)
#define SHELL_ESCAPE	'~'
#define SHELL_NO_ESCAPE	(-1)
#define SHELL_CLOSE_MS	3000

struct shell {
	struct ll_ssh_client *ssh;
	int plain;			/* the shell's bytes, both ways */
	int records_keep;		/* the session's unused records side */
	int escape;			/* '~', or SHELL_NO_ESCAPE */
	bool raw;			/* stdin is a terminal we made raw */
	bool raw_tried;
	bool line_start;		/* the next key starts a line */
	bool escaped;			/* the escape key came at a line start */
	bool leave;			/* ~. */
	bool in_eof;			/* stdin ended: EOF sent to the shell */
	bool out_eof;			/* the shell's output ended */
	uint8_t in[2 * SHELL_BUF];	/* keys for the shell */
	size_t in_len;
};

static volatile sig_atomic_t shell_signal, shell_winch;

static void
shell_on_signal(int sig)
{
	if (sig == SIGWINCH)
		shell_winch = 1;
	else
		shell_signal = sig;
}

/* The terminal's size, or 80x24 when stdin is not one. */
static void
shell_winsize(int *cols, int *rows)
{
	struct winsize ws;

	*cols = 80;
	*rows = 24;
	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 &&
	    ws.ws_row > 0) {
		*cols = ws.ws_col;
		*rows = ws.ws_row;
	}
}

/* The link session started: the SSH engine, asking for a shell. */
static int
shell_tunnel(void *ctx, int *cipher_fd, int *plain_fd)
{
	struct shell *sh = ctx;
	struct ll_ssh_client_config cfg;
	const char *term = getenv("TERM");
	int cipher[2], records[2];
	char err[512];

	if (sh->ssh != NULL)
		return LL_ERR_RESET;	/* a shell cannot resume */
	if (ll_ssh_socketpair(cipher) != 0)
		return LL_ERR_IO;
	if (ll_ssh_socketpair(records) != 0) {
		close(cipher[0]);
		close(cipher[1]);
		return LL_ERR_IO;
	}
	conn_tunnel_config(&cfg);
	cfg.shell = true;
	if (isatty(STDIN_FILENO))
		cfg.term = term != NULL && term[0] != '\0' ? term : "vt100";
	shell_winsize(&cfg.cols, &cfg.rows);
	if (ll_ssh_client_start(&cfg, cipher[1], &sh->plain, &sh->ssh, err,
	    sizeof(err)) != 0) {
		msg_error("%s", err);
		close(cipher[0]);
		close(records[0]);
		close(records[1]);
		return LL_ERR_IO;
	}
	/* No records travel: the session gets a side nobody writes to. */
	sh->records_keep = records[1];
	*cipher_fd = cipher[0];
	*plain_fd = records[0];
	return 0;
}

static struct ll_session *
shell_session(struct shell *sh)
{
	return conn_tunnel_session("shell", "use OpenSSH's ssh to the "
	    "agent's SSH listener instead", shell_tunnel, sh);
}

/* A message of ours in the middle of the session: raw mode needs CR. */
static void
shell_note(const struct shell *sh, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
shell_note(const struct shell *sh, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%slifeline: ", sh->raw ? "\r\n" : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(sh->raw ? "\r\n" : "\n", stderr);
}

/* Typed keys into sh->in, acting on ~. ~~ ~? at the start of a line. */
static void
shell_keys(struct shell *sh, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && !sh->leave; i++) {
		uint8_t k = p[i];

		if (sh->escaped) {
			sh->escaped = false;
			if (k == '.') {
				sh->leave = true;
				break;
			}
			if (k == '?') {
				shell_note(sh, "escapes (at the start of a "
				    "line): %c. leave, %c%c send %c",
				    sh->escape, sh->escape, sh->escape,
				    sh->escape);
				sh->line_start = true;
				continue;
			}
			/* Not a command: the escape goes through too. */
			if (k != sh->escape)
				sh->in[sh->in_len++] = (uint8_t)sh->escape;
		} else if (sh->raw && sh->line_start && k == sh->escape) {
			sh->escaped = true;
			continue;
		}
		sh->in[sh->in_len++] = k;
		sh->line_start = k == '\r' || k == '\n';
	}
}

/* Copy what can be copied now.  -1 when stdout failed. */
static int
shell_copy(struct shell *sh, const struct pollfd *in_pfd)
{
	uint8_t buf[SHELL_BUF];
	ssize_t n;

	if (in_pfd != NULL && in_pfd->revents != 0) {
		n = read(STDIN_FILENO, buf, sizeof(buf));
		if (n > 0)
			shell_keys(sh, buf, (size_t)n);
		else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			/* A terminal that ends has hung up; a pipe is done. */
			sh->in_eof = true;
			if (sh->raw)
				sh->leave = true;
		}
	}
	if (sh->in_len > 0) {
		n = send(sh->plain, sh->in, sh->in_len, MSG_NOSIGNAL);
		if (n > 0) {
			memmove(sh->in, sh->in + n, sh->in_len - (size_t)n);
			sh->in_len -= (size_t)n;
		}
	}
	if (sh->in_eof && sh->in_len == 0)
		shutdown(sh->plain, SHUT_WR);
	while (!sh->out_eof) {
		n = recv(sh->plain, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			if (out_write_all(STDOUT_FILENO, buf, (size_t)n) != 0)
				return -1;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			sh->out_eof = true;
		break;
	}
	return 0;
}

/* The remote shell's end as our exit status, said when it is not plain. */
static int
shell_exit_status(struct shell *sh)
{
	char sig[32], err[512];
	int st = ll_ssh_client_exit(sh->ssh, sig, sizeof(sig));

	if (st >= 0)
		return st;
	if (st == -1) {
		for (int n = 1; n < 65; n++) {
			const char *name = sigabbrev_np(n);

			if (name != NULL && strcmp(name, sig) == 0) {
				shell_note(sh, "shell: the shell was ended by "
				    "SIG%s", sig);
				return 128 + n;
			}
		}
		shell_note(sh, "shell: the shell was ended by signal %s", sig);
		return EXIT_FAILED;
	}
	if (ll_ssh_client_state(sh->ssh, err, sizeof(err)) == LL_SSH_ENDED &&
	    err[0] != '\0') {
		shell_note(sh, "shell: %s", err);
		return EXIT_LOST;
	}
	shell_note(sh, "shell: the agent sent no exit status");
	return EXIT_FAILED;
}

/* A resize asked for by SIGWINCH goes to the remote pty. */
static void
shell_resize(struct shell *sh)
{
	int cols, rows;

	shell_winch = 0;
	shell_winsize(&cols, &rows);
	ll_ssh_client_resize(sh->ssh, cols, rows);
}

/* Make the terminal raw once the shell is there; false when it is not one. */
static bool
shell_raw(struct termios *saved)
{
	struct termios tio;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, saved) != 0)
		return false;
	tio = *saved;
	/* cfmakeraw clears ISIG too: ^C and ^Z are the remote shell's. */
	cfmakeraw(&tio);
	tio.c_cc[VMIN] = 1;
	tio.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &tio) != 0) {
		msg_warn("shell: cannot make the terminal raw: %s",
		    strerror(errno));
		return false;
	}
	return true;
}

/*
 * The loop: the link session, and once the SSH engine is ready the copy.
 * Returns our exit status.
 */
static int
shell_loop(struct shell *sh, struct ll_session *s, const sigset_t *waitmask,
    struct termios *saved)
{
	struct pollfd pfd[LL_SESSION_POLLFDS_MAX + 3], *in_pfd;
	enum ll_ssh_state st = LL_SSH_CONNECTING;
	struct timespec ts;
	char err[512];
	int n, rc, timeout;

	for (;;) {
		if (shell_signal != 0) {
			shell_note(sh, "shell: %s", strsignal(shell_signal));
			return 128 + shell_signal;
		}
		if (sh->leave) {
			shell_note(sh, "shell: closed (%c.)", sh->escape);
			return EXIT_EXEC_OWN;
		}
		if (sh->ssh != NULL && st != LL_SSH_READY)
			st = ll_ssh_client_state(sh->ssh, err, sizeof(err));
		if (st == LL_SSH_FAILED) {
			msg_error("%s: %s", client_opts.via, err);
			return EXIT_CONNECT;
		}
		if (st == LL_SSH_READY && !sh->raw_tried) {
			sh->raw_tried = true;
			sh->raw = shell_raw(saved);
			shell_winch = 1;	/* a size changed meanwhile */
		}
		if (st == LL_SSH_READY && shell_winch)
			shell_resize(sh);
		if (sh->out_eof && sh->in_len == 0)
			return shell_exit_status(sh);
		timeout = 1000;
		n = ll_session_pollfds(s, pfd, ll_now_ms(), &timeout);
		in_pfd = NULL;
		if (st == LL_SSH_READY) {
			pfd[n++] = (struct pollfd){ .fd = sh->plain, .events =
			    POLLIN | (sh->in_len > 0 ? POLLOUT : 0) };
			if (!sh->in_eof && sh->in_len <= SHELL_BUF) {
				in_pfd = &pfd[n];
				pfd[n++] = (struct pollfd){ .fd = STDIN_FILENO,
				    .events = POLLIN };
			}
		}
		ts.tv_sec = timeout / 1000;
		ts.tv_nsec = (long)(timeout % 1000) * 1000000;
		if (ppoll(pfd, (nfds_t)n, &ts, waitmask) < 0) {
			if (errno == EINTR)
				continue;
			shell_note(sh, "shell: poll: %s", strerror(errno));
			return EXIT_FAILED;
		}
		if (st == LL_SSH_READY && shell_copy(sh, in_pfd) != 0)
			return EXIT_FAILED;	/* stdout is gone */
		if ((rc = ll_session_io(s, pfd, ll_now_ms())) != 0 &&
		    !sh->out_eof) {
			shell_note(sh, "shell: %s", ll_session_error_text(s));
			return sh->ssh != NULL && st == LL_SSH_READY ?
			    EXIT_LOST : EXIT_NOAGENT;
		}
	}
}

static const struct cmd_option shell_options[] = {
	{ "escape", 'e', 0, "CHAR|none", "the escape character at the start "
	  "of a line (default ~): then . leaves, ? lists, twice sends it" },
	{ NULL, 0, 0, NULL, NULL }
};

static int
cmd_shell(int argc, char **argv)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGWINCH };
	struct shell sh = { .plain = -1, .records_keep = -1, .escape =
	    SHELL_ESCAPE, .line_start = true };
	struct sigaction sa, old[4];
	sigset_t block, orig, waitmask;
	struct termios saved;
	struct ll_session *s;
	int ch, rc;
	size_t i;

	optind = 0;
	while ((ch = cmd_getopt(&cmd_shell_entry, argc, argv)) != -1) {
		if (ch != 'e')
			return cmd_usage_error(&cmd_shell_entry);
		if (strcmp(optarg, "none") == 0)
			sh.escape = SHELL_NO_ESCAPE;
		else if (optarg[0] != '\0' && optarg[1] == '\0')
			sh.escape = (unsigned char)optarg[0];
		else {
			msg_error("shell: --escape needs one character or "
			    "none, not \"%s\"", optarg);
			return EXIT_USAGE;
		}
	}
	if (optind != argc)
		return cmd_usage_error(&cmd_shell_entry);
	if (client_opts.via == NULL) {
		msg_error("shell: no path to the agent: give --via SPEC or set "
		    "LIFELINE_VIA");
		return EXIT_USAGE;
	}
	if (client_opts.insecure) {
		msg_error("shell: --insecure turns off the agent's SSH server "
		    "inside the link, which the shell runs on; drop "
		    "--insecure (or use lifeline exec)");
		return EXIT_USAGE;
	}
	if ((s = shell_session(&sh)) == NULL)
		return EXIT_CONNECT;

	shell_signal = shell_winch = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = shell_on_signal;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	for (i = 0; i < 4; i++) {
		sigaction(sigs[i], &sa, &old[i]);
		sigaddset(&block, sigs[i]);
	}
	sigprocmask(SIG_BLOCK, &block, &orig);
	waitmask = orig;
	for (i = 0; i < 4; i++)
		sigdelset(&waitmask, sigs[i]);

	rc = shell_loop(&sh, s, &waitmask, &saved);

	if (sh.raw)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
	ll_session_close(s, SHELL_CLOSE_MS);
	ll_session_free(s);
	ll_ssh_client_free(sh.ssh);
	if (sh.plain >= 0)
		close(sh.plain);
	if (sh.records_keep >= 0)
		close(sh.records_keep);
	for (i = 0; i < 4; i++)
		sigaction(sigs[i], &old[i], NULL);
	sigprocmask(SIG_SETMASK, &orig, NULL);
	return rc;
}

const struct client_cmd cmd_shell_entry = {
	.name = "shell",
	.summary = "an interactive root shell on the agent, through SSH in "
	    "the link",
	.help = "A pty with this terminal's TERM and size, resized on SIGWINCH; "
	    "~. at the start of a line leaves; the shell's exit status is "
	    "lifeline's.  Kernel messages on the console never land in it.",
	.options = shell_options,
	.run = cmd_shell,
};
