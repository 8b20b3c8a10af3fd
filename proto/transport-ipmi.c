/*
 * The ipmi:// transport: a BMC's Serial-over-LAN through ipmitool (lanplus).
 *
 *   ipmi://[USER@]BMC[:PORT][?cipher=N&password-file=FILE]
 *
 * ipmitool runs on a raw pty (transport-exec.c): on a terminal it flushes
 * its "[SOL Session operational" banner at once and sets the line raw
 * itself.  Open returns only after that banner, so the login and payload
 * activation (seconds on a real BMC) come before the link's connect timeout
 * starts.  The password never appears on a command line: ipmitool reads it
 * from IPMI_PASSWORD (-E) or from a file (-f).
 *
 * ipmitool takes '~' after a line end as its escape; the exec engine doubles
 * it there, so nothing the link or a user sends is eaten, and close leaves
 * with "\r~." so that ipmitool deactivates the payload: a BMC keeps the
 * payload of a client that vanished, and the next activation is refused with
 * "SOL payload already active on another session".  Open reports that as
 * LL_ERR_BUSY; the program may then ask, call ll_transport_ipmi_deactivate()
 * and open again.  ipmitool's other errors (password, address, cipher suite)
 * come back as its own words.
 */
#include "config.h"

#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "transport.h"
#include "transport-priv.h"

#define IPMI_READY		"[SOL Session operational"
#define IPMI_QUIT		"\r~."
#define IPMI_BUSY_TEXT		"already active on another session"
#define IPMI_ARGV_MAX		20
#define IPMI_DEACTIVATE_MS	30000

struct ipmi_target {
	char user[64];
	char host[128];
	char port[8];
	char cipher[4];
	char pwfile[LL_TP_DEVMAX];
};

/* Copy [s, s+n) into dst (size dstlen); false when it does not fit. */
static bool
take(char *dst, size_t dstlen, const char *s, size_t n)
{
	if (n >= dstlen)
		return false;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return true;
}

static bool
all_digits(const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return i > 0 && i <= max;
}

/* One "key=value" of the query part. */
static int
parse_option(struct ipmi_target *g, const char *o, size_t n, char *why,
    size_t whylen)
{
	const char *eq = memchr(o, '=', n);
	size_t kl = eq != NULL ? (size_t)(eq - o) : n;
	const char *v = eq != NULL ? eq + 1 : "";
	size_t vl = eq != NULL ? n - kl - 1 : 0;

	if (kl == 6 && memcmp(o, "cipher", 6) == 0) {
		if (!take(g->cipher, sizeof g->cipher, v, vl) ||
		    !all_digits(g->cipher, 2)) {
			snprintf(why, whylen, "cipher wants a cipher suite "
			    "number (0-17)");
			return LL_ERR_INVAL;
		}
		return 0;
	}
	if (kl == 13 && memcmp(o, "password-file", 13) == 0) {
		if (vl == 0 || !take(g->pwfile, sizeof g->pwfile, v, vl)) {
			snprintf(why, whylen, "password-file wants a file "
			    "name");
			return LL_ERR_INVAL;
		}
		return 0;
	}
	snprintf(why, whylen, "unknown option '%.*s' (cipher=N, "
	    "password-file=FILE)", (int)kl, o);
	return LL_ERR_INVAL;
}

/* Parse "//[USER@]BMC[:PORT][?OPTIONS]"; why says what was wrong. */
static int
parse_target(const char *arg, struct ipmi_target *g, char *why,
    size_t whylen)
{
	const char *p, *q, *at, *end, *colon, *o, *amp;
	int r;

	memset(g, 0, sizeof *g);
	if (strncmp(arg, "//", 2) != 0) {
		snprintf(why, whylen, "expected ipmi://[USER@]BMC[:PORT]");
		return LL_ERR_INVAL;
	}
	p = arg + 2;
	q = strchr(p, '?');
	end = q != NULL ? q : p + strlen(p);
	at = memchr(p, '@', (size_t)(end - p));
	if (at != NULL) {
		if (at == p || !take(g->user, sizeof g->user, p,
		    (size_t)(at - p))) {
			snprintf(why, whylen, "empty or too long user name");
			return LL_ERR_INVAL;
		}
		p = at + 1;
	}
	colon = memchr(p, ':', (size_t)(end - p));
	if (!take(g->host, sizeof g->host, p, (size_t)((colon ? colon : end) -
	    p)) || g->host[0] == '\0' || g->host[0] == '-') {
		snprintf(why, whylen, "missing or bad BMC host name");
		return LL_ERR_INVAL;
	}
	if (colon != NULL && (!take(g->port, sizeof g->port, colon + 1,
	    (size_t)(end - colon - 1)) || !all_digits(g->port, 5) ||
	    atoi(g->port) > 65535 || atoi(g->port) == 0)) {
		snprintf(why, whylen, "bad port (1-65535)");
		return LL_ERR_INVAL;
	}
	for (o = q != NULL ? q + 1 : NULL; o != NULL && *o != '\0';
	    o = amp != NULL ? amp + 1 : NULL) {
		amp = strchr(o, '&');
		r = parse_option(g, o, amp != NULL ? (size_t)(amp - o) :
		    strlen(o), why, whylen);
		if (r != 0)
			return r;
	}
	return 0;
}

/* argv for ipmitool with the target's options, then the words in tail. */
static void
build_argv(const struct ipmi_target *g, const char **argv,
    const char *const *tail)
{
	int n = 0;

	argv[n++] = "ipmitool";
	argv[n++] = "-I";
	argv[n++] = "lanplus";
	argv[n++] = "-H";
	argv[n++] = g->host;
	if (g->port[0] != '\0') {
		argv[n++] = "-p";
		argv[n++] = g->port;
	}
	if (g->user[0] != '\0') {
		argv[n++] = "-U";
		argv[n++] = g->user;
	}
	if (g->cipher[0] != '\0') {
		argv[n++] = "-C";
		argv[n++] = g->cipher;
	}
	if (g->pwfile[0] != '\0') {
		argv[n++] = "-f";
		argv[n++] = g->pwfile;
	} else
		argv[n++] = "-E";
	while (*tail != NULL)
		argv[n++] = *tail++;
	argv[n] = NULL;
}

/* The target parsed and its password source checked; message in t->err. */
static int
prepare(struct ll_transport *t, const char *arg, struct ipmi_target *g)
{
	char why[160];

	if (parse_target(arg, g, why, sizeof why) != 0) {
		ll_tp_seterr(t, "bad transport spec '%s': %s", t->spec, why);
		return LL_ERR_INVAL;
	}
	if (g->pwfile[0] != '\0') {
		if (access(g->pwfile, R_OK) != 0) {
			ll_tp_seterr(t, "%s: password file %s: %s", t->spec,
			    g->pwfile, strerror(errno));
			return ll_tp_errno_code(errno);
		}
	} else if (getenv("IPMI_PASSWORD") == NULL) {
		ll_tp_seterr(t, "%s: no BMC password: set IPMI_PASSWORD or add "
		    "?password-file=FILE (never on the command line)", t->spec);
		return LL_ERR_INVAL;
	}
	return 0;
}

int
ll_tp_ipmi_open(struct ll_transport *t, const char *arg)
{
	static const char *const tail[] = { "sol", "activate", NULL };
	const char *argv[IPMI_ARGV_MAX];
	struct ll_tp_exec_spec x;
	struct ipmi_target g;
	char *errtext = NULL;
	int r;

	if ((r = prepare(t, arg, &g)) != 0)
		return r;
	build_argv(&g, argv, tail);
	memset(&x, 0, sizeof x);
	x.argv = (char *const *)argv;
	x.pty = true;
	x.capture_stderr = true;
	x.ready = IPMI_READY;
	x.ready_ms = ll_tp_exec_ready_ms();
	x.quit = IPMI_QUIT;
	x.escape = '~';
	x.package = "ipmitool";
	x.name = "ipmitool";
	r = ll_tp_exec_spawn(t, &x, &errtext);
	if (r != 0 && errtext != NULL && strstr(errtext, IPMI_BUSY_TEXT)) {
		ll_tp_seterr(t, "%s: the BMC's SOL payload is already active "
		    "on another session (an earlier client that did not "
		    "leave, or another console); --take-over deactivates it",
		    t->spec);
		r = LL_ERR_BUSY;
	} else if (r == LL_ERR_CLOSED && errtext != NULL &&
	    strstr(errtext, "Unable to establish") != NULL) {
		/* ipmitool's words, then what they usually mean. */
		size_t len = strlen(t->err);

		snprintf(t->err + len, sizeof t->err - len, " (a wrong user "
		    "name or password, or a cipher suite the BMC refuses: "
		    "try ?cipher=3 or 17)");
		r = LL_ERR_IO;
	} else if (r == LL_ERR_CLOSED)
		r = LL_ERR_IO;
	free(errtext);
	if (r == 0)
		t->baud = 0;
	return r;
}

bool
ll_transport_is_ipmi(const char *spec)
{
	return spec != NULL && strncmp(spec, "ipmi://", 7) == 0;
}

/* Run argv to its end, its stderr kept in err (one line). */
static int
run_wait(const char **argv, char *err, size_t errlen)
{
	char buf[1024];
	size_t len = 0;
	int p[2], st, i;
	ssize_t n;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) == -1)
		return -errno;
	if ((pid = fork()) == -1) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		if (devnull != -1) {
			dup2(devnull, STDIN_FILENO);
			dup2(devnull, STDOUT_FILENO);
		}
		dup2(p[1], STDERR_FILENO);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	while ((n = read(p[0], buf + len, sizeof buf - 1 - len)) > 0 ||
	    (n < 0 && errno == EINTR))
		if (n > 0)
			len += (size_t)n;
	close(p[0]);
	buf[len] = '\0';
	for (i = 0; buf[i] != '\0'; i++)
		if (buf[i] == '\n' || buf[i] == '\r')
			buf[i] = buf[i + 1] != '\0' ? ';' : '\0';
	snprintf(err, errlen, "%.400s", buf);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

int
ll_transport_ipmi_deactivate(const char *spec, char *errbuf, size_t errlen)
{
	static const char *const tail[] = { "sol", "deactivate", NULL };
	const char *argv[IPMI_ARGV_MAX];
	struct ll_transport t;
	struct ipmi_target g;
	char said[512];
	int st;

	memset(&t, 0, sizeof t);
	snprintf(t.spec, sizeof t.spec, "%s", spec);
	if (!ll_transport_is_ipmi(spec) || prepare(&t, spec + 5, &g) != 0) {
		snprintf(errbuf, errlen, "%s", t.err[0] ? t.err :
		    "not an ipmi:// path");
		return LL_ERR_INVAL;
	}
	build_argv(&g, argv, tail);
	st = run_wait(argv, said, sizeof said);
	/* "already de-activated" is what we want too. */
	if (st == 0 || strstr(said, "already de-activated") != NULL)
		return 0;
	snprintf(errbuf, errlen, "%s: ipmitool sol deactivate failed "
	    "(status %d): %s", spec, st, said);
	return LL_ERR_IO;
}
