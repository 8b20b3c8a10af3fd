/*
 * lifeline attach: get an agent running on a console that shows a login
 * prompt or a shell, then run a command through it.
 *
 * attach opens the --via transport itself and reads what the console says,
 * with escape sequences, CRs and the echo of the line it typed taken out.  A
 * CR wakes the console; then a small state machine answers the prompt at the
 * end of the text once the console has been quiet for a moment (a prompt is
 * followed by silence, "Last login:" by more text):
 *
 *	login:		the user name (root unless --user)
 *	Password:	the password: --password-file, --password-stdin, or
 *			asked on the terminal; never logged, and scrubbed from
 *			any console text we show
 *	# or $		"exec AGENT_COMMAND" (lifelined --stdio by default),
 *			so the agent replaces the shell on that tty
 *
 * "Login incorrect", or a login or password prompt again after the password,
 * is a refused login (EXIT_CONNECT).  An agent already running on the
 * console keeps its tty raw and says nothing to a CR, where a getty or a
 * shell answers with a prompt: so lifeline frames on the console, or
 * silence after the wake, mean "try the agent", and the lifeline hello
 * decides.  Either way the open transport goes to conn.c
 * (conn_preset_transport) and the command, info by default, runs through
 * client_dispatch as if it had been given on its own.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "attach.h"
#include "client.h"
#include "error.h"

/* Keep the newer half when full: prompts are at the end. */
static void
attach_put(struct attach *a, char c)
{
	if (a->len == ATTACH_TEXT_MAX) {
		memmove(a->text, a->text + ATTACH_TEXT_MAX / 2,
		    ATTACH_TEXT_MAX / 2);
		a->len = ATTACH_TEXT_MAX / 2;
	}
	a->text[a->len++] = c;
	a->text[a->len] = '\0';
}

/*
 * Console bytes to text as a reader of the screen would see it: escape
 * sequences (CSI, OSC and the other strings, charset selections) dropped,
 * backspace applied, CR and other control characters dropped, tabs as
 * spaces.  Also watches the raw bytes for lifeline frames.
 */
void
attach_feed(struct attach *a, const uint8_t *p, size_t n)
{
	size_t i;
	uint8_t c;

	for (i = 0; i < n; i++) {
		c = p[i];
		if (a->marker && (c == '7' || c == '8'))
			a->frame_seen = true;
		a->marker = a->line_start && c == '|';
		a->line_start = c == '\n' || c == '\r';
		switch (a->esc) {
		case ESC_ESC:
			if (c == '[')
				a->esc = ESC_CSI;
			else if (c == ']' || c == 'P' || c == 'X' || c == '^' ||
			    c == '_')
				a->esc = ESC_STR;
			else if (c >= 0x20 && c <= 0x2f)
				a->esc = ESC_NF;
			else
				a->esc = ESC_NONE;
			continue;
		case ESC_CSI:
			if (c >= 0x40 && c <= 0x7e)
				a->esc = ESC_NONE;
			continue;
		case ESC_STR:
			if (c == 0x07)
				a->esc = ESC_NONE;
			else if (c == 0x1b)
				a->esc = ESC_STR_ESC;
			continue;
		case ESC_STR_ESC:
			a->esc = c == '\\' ? ESC_NONE : ESC_STR;
			continue;
		case ESC_NF:
			if (c < 0x20 || c > 0x2f)
				a->esc = ESC_NONE;
			continue;
		case ESC_NONE:
			break;
		}
		if (c == 0x1b)
			a->esc = ESC_ESC;
		else if (c == '\b') {
			if (a->len > 0 && a->text[a->len - 1] != '\n')
				a->text[--a->len] = '\0';
		} else if (c == '\t')
			attach_put(a, ' ');
		else if (c == '\n' || (c >= 0x20 && c != 0x7f))
			attach_put(a, (char)c);
	}
}

const char *
attach_screen(const struct attach *a)
{
	size_t n = strlen(a->echo);
	const char *s = a->text;

	if (n > 0 && strncmp(s, a->echo, n) == 0) {
		s += n;
		if (*s == '\n')
			s++;
	}
	return s;
}

static bool
attach_ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && strncasecmp(s + n - k, suffix, k) == 0;
}

/* Which prompt the text ends with, trailing spaces aside. */
static enum attach_prompt
attach_prompt_of(const char *s)
{
	size_t n = strlen(s), trimmed = n;

	while (trimmed > 0 && s[trimmed - 1] == ' ')
		trimmed--;
	if (attach_ends_with(s, trimmed, "login:"))
		return PROMPT_LOGIN;
	if (attach_ends_with(s, trimmed, "password:"))
		return PROMPT_PASSWORD;
	/* "# " or "$ ": a shell prompt always leaves a space to type at. */
	if (trimmed < n && trimmed > 0 && (s[trimmed - 1] == '#' ||
	    s[trimmed - 1] == '$'))
		return PROMPT_SHELL;
	return PROMPT_NONE;
}

static bool
attach_is_blank(const char *s)
{
	return s[strspn(s, " \n")] == '\0';
}

/*
 * s for a message, on one line: the password scrubbed, its last
 * ATTACH_SHOW_MAX bytes, newlines as "\n", other bytes that are not
 * printable ASCII as \xNN.
 */
void
attach_show(const struct attach *a, const char *s, char *out, size_t len)
{
	char *copy, *hit;
	size_t n, all, pwlen = strlen(a->password), o = 0;

	if ((copy = strdup(s)) == NULL) {
		snprintf(out, len, "?");
		return;
	}
	if (a->have_password && pwlen > 0) {
		while ((hit = strstr(copy, a->password)) != NULL)
			memset(hit, '*', pwlen);
	}
	n = all = strlen(copy);
	while (n > 0 && (copy[n - 1] == ' ' || copy[n - 1] == '\n'))
		n--;
	copy[n] = '\0';
	s = copy + strspn(copy, " \n");
	n = strlen(s);
	if (n > ATTACH_SHOW_MAX) {
		o = (size_t)snprintf(out, len, "...");
		s += n - ATTACH_SHOW_MAX;
	}
	for (; *s != '\0' && o + 5 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\n')
			o += (size_t)snprintf(out + o, len - o, "\\n");
		else if (c < 0x20 || c >= 0x7f)
			o += (size_t)snprintf(out + o, len - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
	explicit_bzero(copy, all);
	free(copy);
}

int
attach_write(struct attach *a, const char *p, size_t n)
{
	struct pollfd pfd = { a->t->wfd, POLLOUT, 0 };
	uint64_t end = ll_now_ms() + 10000;
	ssize_t w;

	while (n > 0) {
		if ((w = ll_transport_write(a->t, p, n)) < 0) {
			msg_error("attach: %s", a->t->err[0] != '\0' ?
			    a->t->err : ll_strerror((int)w));
			return EXIT_CONNECT;
		}
		p += w;
		n -= (size_t)w;
		if (n == 0)
			break;
		if (ll_now_ms() >= end) {
			msg_error("attach: %s does not take what we type",
			    a->t->spec);
			return EXIT_CONNECT;
		}
		poll(&pfd, 1, 100);
	}
	return 0;
}

/*
 * Type line and a CR.  A secret is neither logged nor expected back as an
 * echo.  The console's text starts afresh.
 */
int
attach_type(struct attach *a, const char *line, bool secret)
{
	int rc;

	if ((rc = attach_write(a, line, strlen(line))) != 0 ||
	    (rc = attach_write(a, "\r", 1)) != 0)
		return rc;
	snprintf(a->echo, sizeof(a->echo), "%s", secret ? "" : line);
	attach_clear(a);
	a->last_tx = ll_now_ms();
	return 0;
}

void
attach_clear(struct attach *a)
{
	a->len = 0;
	a->text[0] = '\0';
}

int
attach_read(struct attach *a, int ms)
{
	struct pollfd pfd = { a->t->rfd, POLLIN, 0 };
	uint8_t buf[1024];
	ssize_t r;

	if (poll(&pfd, 1, ms) < 0 && errno != EINTR)
		return LL_ERR_IO;
	while ((r = ll_transport_read(a->t, buf, sizeof(buf))) > 0) {
		attach_feed(a, buf, (size_t)r);
		a->last_rx = ll_now_ms();
	}
	return r == LL_ERR_AGAIN ? 0 : (int)r;
}

/*
 * One line from fd, a byte at a time so that the rest of stdin stays for
 * the command.  Without its CR/LF; 0, or -1 when nothing came before EOF.
 */
static int
attach_read_line(int fd, char *buf, size_t len)
{
	size_t n = 0;
	bool any = false;
	ssize_t r;
	char c;

	for (;;) {
		r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR && !conn_interrupted)
			continue;
		if (r <= 0 || c == '\n')
			break;
		any = true;
		if (n + 1 < len)
			buf[n++] = c;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	c = 0;
	return any || r > 0 ? 0 : -1;
}

/* Ask on the terminal, without echo.  0, or EXIT_CONNECT with a message. */
static int
attach_ask_password(struct attach *a)
{
	struct termios old, noecho;
	char prompt[300];
	int fd, rc = EXIT_CONNECT;

	if (!isatty(STDIN_FILENO) ||
	    (fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
		msg_error("attach: the console asks for a password for %s; "
		    "give --password-file FILE or --password-stdin (there is "
		    "no terminal to ask on)", a->user);
		return EXIT_CONNECT;
	}
	if (tcgetattr(fd, &old) != 0) {
		msg_error("attach: cannot use the terminal: %s",
		    strerror(errno));
		close(fd);
		return EXIT_CONNECT;
	}
	noecho = old;
	noecho.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
	noecho.c_lflag |= ICANON;
	tcsetattr(fd, TCSAFLUSH, &noecho);
	snprintf(prompt, sizeof(prompt), "Password for %s on %s: ", a->user,
	    client_opts.via);
	if (write(fd, prompt, strlen(prompt)) >= 0 &&
	    attach_read_line(fd, a->password, sizeof(a->password)) == 0 &&
	    !conn_interrupted) {
		a->have_password = true;
		rc = 0;
	}
	tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) < 0)
		rc = EXIT_CONNECT;
	close(fd);
	if (rc != 0) {
		explicit_bzero(a->password, sizeof(a->password));
		a->have_password = false;
		msg_error("attach: %s", conn_interrupted ? "interrupted" :
		    "no password read from the terminal");
	}
	return rc;
}

/* --password-file: its first line.  0, or EXIT_USAGE with a message. */
static int
attach_password_file(struct attach *a, const char *path)
{
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		msg_error("attach: --password-file %s: %s", path,
		    strerror(errno));
		return EXIT_USAGE;
	}
	rc = attach_read_line(fd, a->password, sizeof(a->password));
	close(fd);
	if (rc != 0) {
		msg_error("attach: --password-file %s is empty", path);
		return EXIT_USAGE;
	}
	a->have_password = true;
	return 0;
}

/* Where attach_login() is: what it waits for, since when, CRs sent. */
struct attach_wait {
	enum attach_state st;
	uint64_t start;
	int timeout_ms;
	int wakes;
};

/*
 * The console said the login failed, or the time is up (the exec step has
 * its own, short, limit): true with *rc, the message printed.
 */
static bool
attach_failed(struct attach *a, const struct attach_wait *w, uint64_t now,
    const char *screen, int *rc)
{
	char shown[ATTACH_SHOW_MAX * 4 + 8];

	if ((w->st == ST_USER || w->st == ST_PASSWORD) &&
	    strcasestr(screen, "login incorrect") != NULL) {
		attach_show(a, screen, shown, sizeof(shown));
		msg_error("attach: login as %s failed: the console said "
		    "\"%s\"", a->user, shown);
		*rc = EXIT_CONNECT;
		return true;
	}
	if (w->st == ST_EXEC || now < w->start + (uint64_t)w->timeout_ms)
		return false;
	attach_show(a, screen, shown, sizeof(shown));
	msg_error("attach: %s on %s within %g s; the console said \"%s\"",
	    w->st == ST_WAKE ? "no login or shell prompt" : w->st == ST_USER ?
	    "no password or shell prompt after the user name" :
	    "no shell prompt after the password", client_opts.via,
	    w->timeout_ms / 1000.0, shown);
	*rc = w->st == ST_WAKE ? EXIT_NOAGENT : EXIT_CONNECT;
	return true;
}

/*
 * After "exec AGENT": the shell echoes the line and is replaced by the
 * agent, which is silent; or it says why not and prompts again.  True with
 * *rc once one of them happened.
 */
static bool
attach_exec_done(struct attach *a, uint64_t now, uint64_t quiet_since,
    const char *screen, int *rc)
{
	if (now < quiet_since + ATTACH_EXEC_QUIET_MS &&
	    now < a->last_tx + ATTACH_EXEC_MAX_MS)
		return false;
	attach_show(a, screen, a->said, sizeof(a->said));
	*rc = 0;
	if (attach_prompt_of(screen) == PROMPT_SHELL) {
		msg_error("attach: the agent did not start: the console said "
		    "\"%s\"%s", a->said, a->deploy || strstr(screen,
		    "not found") == NULL ? "" : "; the rescue host has no "
		    "lifelined: attach --deploy brings one");
		*rc = EXIT_NOAGENT;
	}
	return true;
}

/*
 * Answer prompt p: the user name, the password, "exec AGENT" at a shell
 * (or the deploy first), another CR when nothing came.  True with *rc when
 * attach_login() is done (0, *probing when no prompt came at all) or
 * failed; false to read on.
 */
static bool
attach_answer(struct attach *a, struct attach_wait *w, enum attach_prompt p,
    const char *screen, uint64_t now, uint64_t quiet_since, bool *probing,
    int *rc)
{
	char shown[ATTACH_SHOW_MAX * 4 + 8], line[ATTACH_LINE_MAX + 8];
	bool silent;

	*rc = 0;
	switch (p) {
	case PROMPT_LOGIN:
		if (w->st != ST_WAKE) {
			attach_show(a, screen, shown, sizeof(shown));
			msg_error("attach: login as %s failed: the console asks "
			    "for the login again (\"%s\")", a->user, shown);
			*rc = EXIT_CONNECT;
			return true;
		}
		msg_verbose("attach: login prompt: sending the user name %s",
		    a->user);
		*rc = attach_type(a, a->user, false);
		w->st = ST_USER;
		break;
	case PROMPT_PASSWORD:
		if (w->st == ST_PASSWORD) {
			attach_show(a, screen, shown, sizeof(shown));
			msg_error("attach: login as %s failed: the console asks "
			    "for a password again (\"%s\"); a password change "
			    "may be due: log in with lifeline console", a->user,
			    shown);
			*rc = EXIT_CONNECT;
			return true;
		}
		if (!a->have_password && (*rc = attach_ask_password(a)) != 0)
			return true;
		msg_verbose("attach: password prompt: sending the password");
		*rc = attach_type(a, a->password, true);
		w->st = ST_PASSWORD;
		break;
	case PROMPT_SHELL:
		if (a->deploy && w->st != ST_EXEC) {
			if ((*rc = deploy_at_prompt(a)) == 0)
				return true;
			if (*rc != DEPLOY_INSTALLED)
				return true;
		}
		msg_verbose("attach: shell prompt: starting the agent with "
		    "\"exec %s\"", a->agent_cmd);
		snprintf(line, sizeof(line), "exec %s", a->agent_cmd);
		*rc = attach_type(a, line, false);
		w->st = ST_EXEC;
		break;
	case PROMPT_NONE:
		/* Only the wake can meet an agent: it never prompts. */
		if (w->st != ST_WAKE || now < quiet_since + ATTACH_SILENT_MS)
			break;
		attach_show(a, screen, a->said, sizeof(a->said));
		/*
		 * A blank console is an agent's, or a shell that has not
		 * printed its prompt yet (a rescue system still starting, a
		 * loaded host): --deploy, which expects no agent, gives it
		 * more CRs first, as long as the console shows it is a
		 * terminal by echoing them.  An agent's console (raw, no
		 * echo) says nothing at all: a second attach --deploy tries
		 * the agent as soon as attach does.
		 */
		silent = a->last_rx < w->start;
		if (w->wakes >= (a->deploy && !silent ? ATTACH_DEPLOY_WAKES :
		    ATTACH_WAKES) || (attach_is_blank(screen) && !a->deploy)) {
			msg_verbose("attach: no prompt on the console (%s%s%s): "
			    "trying the agent", a->said[0] == '\0' ? "silent" :
			    "it said \"", a->said, a->said[0] == '\0' ? "" :
			    "\"");
			*probing = true;
			return true;
		}
		msg_verbose("attach: no prompt yet: another CR");
		*rc = attach_type(a, "", false);
		w->wakes++;
		break;
	}
	return *rc != 0;
}

/*
 * From the wake to the point where the agent should answer.  0 when the
 * transport is ready for the lifeline hello, with *probing when no prompt
 * was seen (an agent already running, perhaps); else an EXIT_* code with
 * the message printed.
 */
static int
attach_login(struct attach *a, int timeout_ms, bool *probing)
{
	struct attach_wait w = { ST_WAKE, ll_now_ms(), timeout_ms, 1 };
	enum attach_prompt p;
	uint64_t now, quiet_since;
	const char *screen;
	char shown[ATTACH_SHOW_MAX * 4 + 8];
	int rc;

	*probing = false;
	if ((rc = attach_type(a, "", false)) != 0)
		return rc;
	for (;;) {
		if (conn_interrupted) {
			msg_error("attach: interrupted");
			return EXIT_NOAGENT;
		}
		if ((rc = attach_read(a, 50)) != 0) {
			msg_error("attach: %s", rc == LL_ERR_CLOSED ?
			    "the console closed the connection" :
			    a->t->err[0] != '\0' ? a->t->err : ll_strerror(rc));
			return EXIT_CONNECT;
		}
		now = ll_now_ms();
		screen = attach_screen(a);
		quiet_since = a->last_rx > a->last_tx ? a->last_rx : a->last_tx;
		if (w.st == ST_WAKE && a->frame_seen) {
			msg_verbose("attach: lifeline frames on the console: "
			    "an agent is running there");
			return 0;
		}
		if (attach_failed(a, &w, now, screen, &rc))
			return rc;
		if (w.st == ST_EXEC) {
			if (attach_exec_done(a, now, quiet_since, screen, &rc))
				return rc;
			continue;
		}
		if (now < quiet_since + ATTACH_SETTLE_MS)
			continue;
		p = attach_prompt_of(screen);
		if (client_opts.verbose > 1 && p != PROMPT_NONE) {
			attach_show(a, screen, shown, sizeof(shown));
			msg_verbose("attach: the console said \"%s\"", shown);
		}
		if (attach_answer(a, &w, p, screen, now, quiet_since, probing,
		    &rc))
			return rc;
	}
}

/* A user name or command line must not type more than one line. */
static bool
attach_is_one_line(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static const struct cmd_option attach_options[] = {
	{ "user", 'u', 0, "USER", "log in as USER (default root)" },
	{ "password-file", 'f', 0, "FILE", "the password is FILE's first "
	  "line" },
	{ "password-stdin", 's', 0, NULL, "the password is the first line of "
	  "stdin" },
	{ "agent-command", 'a', 0, "CMD", "start the agent with this shell "
	  "command (default lifelined --stdio)" },
	{ "login-timeout", 't', 0, "SECONDS", "how long the login may take "
	  "(default 30)" },
	{ "deploy", 'D', 0, NULL, "no lifelined there: send the agent "
	  "bundle over the console first" },
	{ "bundle", 'B', 0, "FILE", "the bundle --deploy sends" },
	{ NULL, 0, 0, NULL, NULL }
};

/* attach's own options, and the command to run once logged in. */
struct attach_args {
	const char *user, *password_file, *agent_cmd, *bundle;
	bool password_stdin, deploy;
	double secs;		/* --login-timeout */
	int cargc;
	char **cargv;
};

/* The command line into aa: -1 to go on, else the exit status (said). */
static int
attach_args(int argc, char **argv, struct attach_args *aa)
{
	static char info[] = "info";
	static char *info_argv[] = { info, NULL };
	char *end;
	int ch;

	optind = 0;
	while ((ch = cmd_getopt(&cmd_attach_entry, argc, argv)) != -1) {
		switch (ch) {
		case 'u':
			aa->user = optarg;
			break;
		case 'f':
			aa->password_file = optarg;
			break;
		case 's':
			aa->password_stdin = true;
			break;
		case 'a':
			aa->agent_cmd = optarg;
			break;
		case 'D':
			aa->deploy = true;
			break;
		case 'B':
			aa->bundle = optarg;
			break;
		case 't':
			aa->secs = strtod(optarg, &end);
			if (*end != '\0' || aa->secs <= 0 ||
			    aa->secs > 86400) {
				msg_error("attach: --login-timeout needs seconds "
				    "(0 < S <= 86400), not \"%s\"", optarg);
				return EXIT_USAGE;
			}
			break;
		default:
			return cmd_usage_error(&cmd_attach_entry);
		}
	}
	aa->cargc = argc - optind;
	aa->cargv = argv + optind;
	if (aa->cargc == 0) {
		aa->cargc = 1;
		aa->cargv = info_argv;
	}
	return -1;
}

/* What the options say must hold before the console is touched. */
static int
attach_args_check(const struct attach_args *aa)
{
	if (strcmp(aa->cargv[0], "attach") == 0 ||
	    strcmp(aa->cargv[0], "console") == 0) {
		msg_error("attach: %s cannot run through attach",
		    aa->cargv[0]);
		return EXIT_USAGE;
	}
	if (aa->password_file != NULL && aa->password_stdin) {
		msg_error("attach: give --password-file or --password-stdin, "
		    "not both");
		return EXIT_USAGE;
	}
	if (aa->user[0] == '\0' || !attach_is_one_line(aa->user) ||
	    strchr(aa->user, ' ') != NULL) {
		msg_error("attach: --user needs a user name");
		return EXIT_USAGE;
	}
	if (aa->agent_cmd != NULL && (aa->agent_cmd[0] == '\0' ||
	    !attach_is_one_line(aa->agent_cmd))) {
		msg_error("attach: --agent-command needs one line of shell "
		    "command");
		return EXIT_USAGE;
	}
	if (client_opts.via == NULL) {
		msg_error("no path to the console: give --via SPEC or set "
		    "LIFELINE_VIA");
		return EXIT_USAGE;
	}
	return 0;
}

/* a from the options: user, agent command, deploy, the password given. */
static int
attach_setup(struct attach *a, const struct attach_args *aa)
{
	int rc;

	a->user = aa->user;
	a->deploy = aa->deploy;
	a->bundle = aa->bundle;
	if (aa->agent_cmd != NULL)
		snprintf(a->agent_cmd, sizeof(a->agent_cmd), "%s",
		    aa->agent_cmd);
	else
		snprintf(a->agent_cmd, sizeof(a->agent_cmd),
		    "lifelined --stdio%s", client_opts.insecure ?
		    " --insecure" : "");
	if (aa->password_file != NULL &&
	    (rc = attach_password_file(a, aa->password_file)) != 0)
		return rc;
	if (aa->password_stdin) {
		if (attach_read_line(STDIN_FILENO, a->password,
		    sizeof(a->password)) != 0) {
			msg_error("attach: --password-stdin: no password on "
			    "stdin");
			return EXIT_USAGE;
		}
		a->have_password = true;
	}
	return 0;
}

/* No agent answered the command: what the console said tells why. */
static void
attach_explain_noagent(const struct attach *a, bool probing)
{
	if (probing && a->said[0] == '\0')
		msg_error("attach: the console stayed silent after a CR (no "
		    "login or shell prompt), and no agent answered");
	else if (probing)
		msg_error("attach: the console showed no login or shell prompt "
		    "(it said \"%s\"), and no agent answered", a->said);
	else
		msg_error("attach: the agent started with \"exec %s\" did not "
		    "answer; the console said \"%s\"", a->agent_cmd, a->said);
}

static int
cmd_attach(int argc, char **argv)
{
	struct attach_args aa = { .user = "root",
	    .secs = ATTACH_TIMEOUT_MS / 1000.0 };
	struct attach *a;
	bool probing = false;
	char err[512];
	int rc;

	if ((rc = attach_args(argc, argv, &aa)) >= 0)
		return rc;
	if ((rc = attach_args_check(&aa)) != 0)
		return rc;
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		msg_error("attach: out of memory");
		return EXIT_FAILED;
	}
	if ((rc = attach_setup(a, &aa)) != 0)
		goto out;
	if (conn_open_transport(&a->t, err, sizeof(err)) != 0) {
		msg_error("%s", err);
		rc = conn_transport_status(err);
		goto out;
	}
	if (a->t->err[0] != '\0')
		msg_verbose("%s", a->t->err);
	a->line_start = true;
	if ((rc = attach_login(a, (int)(aa.secs * 1000), &probing)) != 0)
		goto out;
	/* The password's work is done before the command runs. */
	explicit_bzero(a->password, sizeof(a->password));
	conn_preset_transport(a->t);
	a->t = NULL;
	rc = client_dispatch(aa.cargc, aa.cargv);
	if (rc == EXIT_NOAGENT)
		attach_explain_noagent(a, probing);
out:
	ll_transport_close(a->t);
	explicit_bzero(a, sizeof(*a));
	free(a);
	return rc;
}

const struct client_cmd cmd_attach_entry = {
	.name = "attach",
	.operands = "[--] [COMMAND [ARG...]]",
	.summary = "log in on the console, start the agent, run COMMAND",
	.help = "COMMAND is a lifeline command (default info); options end at "
	    "COMMAND: what follows is COMMAND's.",
	.options = attach_options,
	.flags = CMD_STOP_AT_OPERAND,
	.run = cmd_attach,
};
