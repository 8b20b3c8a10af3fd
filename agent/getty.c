/*
 * The console shared with a getty (getty.h says how it works).
 *
 * Why the test is "a line ended by CR": a terminal sends CR for Enter,
 * and lifeline never does: frames are coded so that they hold no raw CR or
 * LF and end with LF, and the link hands up only what lies outside frames.
 * A frame cut by noise comes up as text that holds its marker '|', and
 * line noise makes control bytes; both make the line not a person's.  Only
 * while no client session is up: a session in progress keeps the line.
 *
 * The getty's command is split at blanks (no shell) and gets %t (the tty's
 * name below /dev, as agetty and busybox getty take it), %d (its path,
 * symbolic links resolved) and
 * %b (the baud rate of --serial, 115200 when it names none).  The child
 * starts a session of its own and opens the tty, which becomes its
 * controlling terminal and its stdin, stdout and stderr; signals are reset
 * and the environment is PATH alone (the getty sets TERM).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "getty.h"
#include "link.h"
#include "log.h"
#include "session.h"

#define GETTY_WORDS_MAX		32
#define GETTY_WORD_MAX		512
#define GETTY_BAUD_DEFAULT	"115200"
#define GETTY_CLOSE_RANGE_CLOEXEC (1U << 2)	/* linux/close_range.h */

static struct {
	pid_t pid;		/* 0: not running */
	bool due;		/* a person asked for the line */
	struct getty_keys keys;
	uint64_t started;
} getty;

static const char *const getty_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	NULL
};

bool
getty_keys_feed(struct getty_keys *k, const uint8_t *p, size_t n)
{
	size_t i;
	bool person = false;

	for (i = 0; i < n; i++) {
		uint8_t c = p[i];

		if (c == '\r') {
			if (!k->dirty)
				person = true;
			k->dirty = false;
		} else if (c == '\n')
			k->dirty = false;
		else if (c == LL_FRAME_MARKER ||
		    (c < 0x20 && c != '\t' && c != '\b') || c > 0x7f)
			k->dirty = true;
	}
	return person;
}

/*
 * DEV and BAUD of agent_opts.serial "DEV[,BAUD]"; DEV with its symbolic
 * links resolved (a getty takes a name below /dev: /dev/serial/by-id/...
 * names a ttyUSB, a test's link a /dev/pts/N).
 */
static void
getty_device(char *dev, size_t devlen, char *baud, size_t baudlen)
{
	const char *comma = strchr(agent_opts.serial, ',');
	size_t n = comma != NULL ? (size_t)(comma - agent_opts.serial) :
	    strlen(agent_opts.serial);
	char given[PATH_MAX], *real;

	snprintf(given, sizeof(given), "%.*s", (int)n, agent_opts.serial);
	real = realpath(given, NULL);
	snprintf(dev, devlen, "%s", real != NULL ? real : given);
	free(real);
	snprintf(baud, baudlen, "%s", comma != NULL && comma[1] != '\0' ?
	    comma + 1 : GETTY_BAUD_DEFAULT);
}

/*
 * Split cmd at blanks into argv (words in buf), placeholders replaced.
 * The number of words, or -1 with err.
 */
static int
getty_argv(const char *cmd, const char *dev, const char *baud,
    char *buf, size_t buflen, char **argv, char *err, size_t errlen)
{
	const char *p = cmd, *v;
	size_t used = 0, vlen;
	int n = 0;

	for (;;) {
		p += strspn(p, " \t");
		if (*p == '\0')
			break;
		if (n == GETTY_WORDS_MAX) {
			snprintf(err, errlen, "more than %d words",
			    GETTY_WORDS_MAX);
			return -1;
		}
		argv[n++] = buf + used;
		for (; *p != '\0' && *p != ' ' && *p != '\t'; p++) {
			v = NULL;
			if (p[0] == '%' && p[1] != '\0') {
				if (p[1] == 't')
					v = strncmp(dev, "/dev/", 5) == 0 ?
					    dev + 5 : dev;
				else if (p[1] == 'd')
					v = dev;
				else if (p[1] == 'b')
					v = baud;
				else if (p[1] == '%')
					v = "%";
				else {
					snprintf(err, errlen, "unknown "
					    "placeholder %%%c (%%t, %%d, %%b "
					    "and %%%% are known)", p[1]);
					return -1;
				}
				p++;
			}
			vlen = v != NULL ? strlen(v) : 1;
			if (used + vlen + 1 >= buflen) {
				snprintf(err, errlen, "the command is too "
				    "long");
				return -1;
			}
			memcpy(buf + used, v != NULL ? v : p, vlen);
			used += vlen;
		}
		buf[used++] = '\0';
	}
	argv[n] = NULL;
	if (n == 0)
		snprintf(err, errlen, "the command is empty");
	return n > 0 ? n : -1;
}

int
getty_check(const char *cmd, char *err, size_t errlen)
{
	char buf[GETTY_WORD_MAX * 4], *argv[GETTY_WORDS_MAX + 1], why[160];
	char dev[PATH_MAX], baud[32];
	struct stat st;

	if (agent_opts.serial == NULL) {
		snprintf(err, errlen, "--getty shares a serial console: it "
		    "needs --serial (or serial in the configuration file)");
		return -1;
	}
	getty_device(dev, sizeof(dev), baud, sizeof(baud));
	if (getty_argv(cmd, dev, baud, buf, sizeof(buf), argv, why,
	    sizeof(why)) < 0) {
		snprintf(err, errlen, "--getty \"%s\": %s", cmd, why);
		return -1;
	}
	if (argv[0][0] != '/') {
		snprintf(err, errlen, "--getty \"%s\": the program must be an "
		    "absolute path (e.g. /sbin/agetty), not \"%s\"", cmd,
		    argv[0]);
		return -1;
	}
	if (stat(argv[0], &st) != 0 || access(argv[0], X_OK) != 0) {
		snprintf(err, errlen, "--getty: %s: %s", argv[0],
		    strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "--getty: %s: not a program file",
		    argv[0]);
		return -1;
	}
	return 0;
}

/* The console text of a serving connection (the session's callback). */
static void
getty_console(void *ctx, const uint8_t *p, size_t n)
{
	struct conn *c = ctx;
	struct ll_link *l = ll_session_link(c->s);

	/* A session in progress keeps the line; a line starts afresh after. */
	if (l != NULL && ll_link_state(l) == LL_LINK_UP) {
		getty.keys.dirty = false;
		return;
	}
	if (getty_keys_feed(&getty.keys, p, n))
		getty.due = true;
}

void
getty_watch(struct conn *c)
{
	getty.due = false;
	getty.keys.dirty = false;
	ll_session_set_console(c->s, getty_console, c);
}

bool
getty_is_due(const struct conn *c)
{
	(void)c;
	return getty.due;
}

/* In the child: become the getty on dev.  Never returns. */
static void
getty_exec(char **argv, const char *dev)
{
	sigset_t none;
	int fd, sig;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	setsid();
	/* A session leader without a terminal: the tty becomes its own. */
	if ((fd = open(dev, O_RDWR)) < 0)
		_exit(126);
	ioctl(fd, TIOCSCTTY, 0);
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
#ifdef SYS_close_range
	syscall(SYS_close_range, 3U, ~0U, GETTY_CLOSE_RANGE_CLOEXEC);
#endif
	execve(argv[0], argv, (char *const *)getty_env);
	dprintf(2, "\r\nlifelined: cannot run the getty %s: %s\r\n", argv[0],
	    strerror(errno));
	_exit(127);
}

int
getty_start(uint64_t now)
{
	char buf[GETTY_WORD_MAX * 4], *argv[GETTY_WORDS_MAX + 1], why[160];
	char dev[PATH_MAX], baud[32];
	pid_t pid;

	getty.due = false;
	getty_device(dev, sizeof(dev), baud, sizeof(baud));
	if (getty_argv(agent_opts.getty, dev, baud, buf, sizeof(buf), argv,
	    why, sizeof(why)) < 0) {
		log_error("--getty: %s", why);
		return -1;
	}
	if ((pid = fork()) < 0) {
		log_error("fork for the getty on %s: %s", dev, strerror(errno));
		return -1;
	}
	if (pid == 0)
		getty_exec(argv, dev);
	getty.pid = pid;
	getty.started = now;
	log_info("%s: a person at the console: the line goes to the getty "
	    "(%s, pid %d) until it exits", dev, argv[0], (int)pid);
	return 0;
}

bool
getty_reaped(pid_t pid, int status)
{
	if (getty.pid == 0 || pid != getty.pid)
		return false;
	getty.pid = 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) >= 126)
		log_error("the getty could not be started on %s (exit %d)",
		    agent_opts.serial, WEXITSTATUS(status));
	else if (WIFEXITED(status))
		log_info("the getty on %s ended (exit %d): serving lifeline "
		    "again", agent_opts.serial, WEXITSTATUS(status));
	else
		log_info("the getty on %s ended (signal %d): serving lifeline "
		    "again", agent_opts.serial, WTERMSIG(status));
	return true;
}

bool
getty_is_running(void)
{
	return getty.pid != 0;
}

void
getty_stop(void)
{
	if (getty.pid == 0)
		return;
	/* As a hangup would: the getty, login and the shell end. */
	kill(-getty.pid, SIGHUP);
	kill(getty.pid, SIGHUP);
}
