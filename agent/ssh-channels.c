/*
 * Session and direct-tcpip channels for the agent's SSH server (see
 * ssh-channels.h).  Everything runs in the connection's engine thread; no
 * call here blocks for long.
 *
 * Requests (exec, shell, subsystem) are answered from libssh's channel
 * callbacks: the policy is checked there, the child started there.  A
 * refused request is granted and then answered with the reason on the
 * channel's stderr and exit status 1, so that ssh shows the user why,
 * instead of its bare "exec request failed".  (pty-req is refused the
 * plain way: ssh then says "PTY allocation request failed" and goes on.)
 *
 * Bytes move in ssh_chans_step(), never in a data callback: libssh keeps
 * what we have not read in the channel and opens the peer's window only as
 * we read, so a child that reads slowly slows the peer down.  The other
 * way, a child's output is read only as far as the peer's window goes.
 *
 * Children are forked from this thread (argv and environment prepared
 * before the fork; only async-signal-safe calls after it) and reaped by
 * the agent's main loop, which owns SIGCHLD: it hands statuses it does not
 * claim to ssh_chans_reaped(), kept in a small table until we look.
 */
#include "config.h"

#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <pty.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>

#include <jansson.h>

#include "agent.h"
#include "audit.h"
#include "authkeys.h"
#include "log.h"
#include "ssh-channels.h"
#include "ssh-common.h"

#define CHANS_MAX	16		/* channels at once on one connection */
#define CHANS_CHUNK	(16 * 1024)
#define CHANS_ROUNDS	8		/* chunks per channel per turn */
#define CHANS_ENV_MAX	32		/* env requests kept per channel */
#define CHANS_CONNECT_MS 10000		/* a direct-tcpip connect */
#define CHANS_REAPED_MAX 64
#define CHANS_PATH	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:" \
			"/sbin:/bin"

/* sftp-server programs, the rescue host's own first (then the bundle's). */
static const char *const sftp_servers[] = {
	"/usr/lib/openssh/sftp-server",	/* Debian, Ubuntu */
	"/usr/lib/ssh/sftp-server",	/* Alpine, Arch */
	"/usr/libexec/openssh/sftp-server", /* Fedora, RHEL */
	"/usr/libexec/sftp-server",	/* OpenBSD, BSDs */
	NULL
};

/*
 * The deploy bundle's sftp-server (docs/deploy.md), for a rescue host with
 * none of its own.  The deploy stage runs the agent through the bundle's
 * loader, "DIR/LOADER --library-path DIR --argv0 lifelined DIR/lifelined":
 * the kernel then started the loader as the program, so no interpreter was
 * loaded for us (AT_BASE is 0), /proc/self/exe is DIR/LOADER and AT_EXECFN
 * (which the loader sets to the program it runs) is DIR/lifelined.  When
 * both are in one directory that holds an sftp-server, that one runs the
 * same way, so no library of the host is used.  Found once.
 */
static struct {
	bool found;
	char loader[PATH_MAX];		/* DIR/LOADER */
	char dir[PATH_MAX];		/* the library path */
	char prog[PATH_MAX];		/* DIR/sftp-server */
} bundle;
static pthread_once_t bundle_once = PTHREAD_ONCE_INIT;

static void
bundle_find(void)
{
	const char *execfn = (const char *)getauxval(AT_EXECFN);
	char self[PATH_MAX], *slash;
	ssize_t n;

	if (getauxval(AT_BASE) != 0 || execfn == NULL)
		return;			/* not run through a named loader */
	if ((n = readlink("/proc/self/exe", bundle.loader,
	    sizeof(bundle.loader) - 1)) <= 0) {
		log_warn("run through a loader, but /proc/self/exe: %s: no "
		    "bundled sftp-server", n < 0 ? strerror(errno) : "empty");
		return;
	}
	bundle.loader[n] = '\0';
	if (realpath(execfn, self) == NULL)
		return;
	snprintf(bundle.dir, sizeof(bundle.dir), "%s", bundle.loader);
	if ((slash = strrchr(bundle.dir, '/')) == NULL)
		return;
	*slash = '\0';
	if ((slash = strrchr(self, '/')) == NULL)
		return;
	*slash = '\0';
	if (strcmp(self, bundle.dir) != 0)
		return;			/* a loader elsewhere: not a bundle */
	if (snprintf(bundle.prog, sizeof(bundle.prog), "%s/sftp-server",
	    bundle.dir) >= (int)sizeof(bundle.prog) ||
	    access(bundle.prog, X_OK) != 0)
		return;
	bundle.found = true;
	log_info("the bundle's sftp-server: %s (through %s)", bundle.prog,
	    bundle.loader);
}

enum chan_kind { CHAN_NEW, CHAN_CHILD, CHAN_LIFELINE, CHAN_FORWARD,
    CHAN_REFUSED };

struct chan {
	struct ssh_chans *sc;
	ssh_channel ch;
	enum chan_kind kind;
	unsigned no;			/* for the audit: 1, 2, ... */
	char op[16];			/* exec, shell, sftp, forward, ... */
	pid_t pid;			/* the child, or 0 */
	bool reaped;
	int status;
	int to_fd;			/* channel -> here (child's stdin) */
	int out_fd;			/* here -> channel */
	int err_fd;			/* here -> channel's stderr */
	bool pty;
	int pty_fd;			/* master before the shell starts */
	int pty_slave;
	char term[64];
	char *env[CHANS_ENV_MAX];
	int nenv;
	uint8_t pend[CHANS_CHUNK];	/* read from the channel, not yet out */
	size_t pend_len, pend_off;
	uint8_t obuf[CHANS_CHUNK];	/* read from out/err, not yet sent */
	size_t olen, ooff;
	bool oerr;			/* obuf goes to stderr */
	bool to_closed;
	struct ssh_channel_callbacks_struct cb;
};

struct ssh_chans {
	ssh_session session;
	char peer[160];
	char who[LL_SSH_FP_MAX];
	struct authkeys_result key;	/* deny flags, permitopen= */
	int lifeline_fd;
	bool lifeline_used;
	bool lifeline_ended;
	unsigned next_no;
	struct chan *c[CHANS_MAX];
};

static pthread_mutex_t reaped_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	pid_t pid;
	int status;
} reaped[CHANS_REAPED_MAX];
static unsigned reaped_next;

void
ssh_chans_reaped(pid_t pid, int status)
{
	pthread_mutex_lock(&reaped_lock);
	reaped[reaped_next % CHANS_REAPED_MAX].pid = pid;
	reaped[reaped_next % CHANS_REAPED_MAX].status = status;
	reaped_next++;
	pthread_mutex_unlock(&reaped_lock);
}

static bool
reaped_take(pid_t pid, int *status)
{
	bool found = false;
	int i;

	pthread_mutex_lock(&reaped_lock);
	for (i = 0; i < CHANS_REAPED_MAX; i++) {
		if (reaped[i].pid == pid) {
			*status = reaped[i].status;
			reaped[i].pid = 0;
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&reaped_lock);
	return found;
}

/* The allow-list and read-only mode for op: NULL, or why refused. */
static const char *
chans_policy(const char *op, bool writes, char *why, size_t len)
{
	const char **a;

	if (agent_opts.allow != NULL) {
		for (a = agent_opts.allow; *a != NULL; a++) {
			if (strcmp(*a, op) == 0)
				break;
		}
		if (*a == NULL) {
			snprintf(why, len, "\"%s\" is not in this agent's "
			    "allow-list", op);
			return why;
		}
	}
	if (agent_opts.read_only && writes) {
		snprintf(why, len, "the agent is read-only and \"%s\" changes "
		    "things", op);
		return why;
	}
	return NULL;
}

static void
fd_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void
fd_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static void
chan_free(struct chan *c)
{
	int i;

	if (c->pid > 0 && !c->reaped)
		kill(c->pid, SIGHUP);
	if (c->to_fd == c->out_fd)
		c->out_fd = -1;		/* one socket both ways */
	if (c->kind == CHAN_LIFELINE) {
		/* The lifeline fd is the engine's; only say we are done. */
		shutdown(c->to_fd, SHUT_RDWR);
		c->to_fd = -1;
	}
	fd_close(&c->to_fd);
	fd_close(&c->out_fd);
	fd_close(&c->err_fd);
	fd_close(&c->pty_fd);
	fd_close(&c->pty_slave);
	for (i = 0; i < c->nenv; i++)
		free(c->env[i]);
	if (c->ch != NULL) {
		/*
		 * libssh keeps a channel the peer has not yet closed, and
		 * calls its callbacks when the peer's CLOSE comes (while
		 * another channel reads): they must not point into c, freed
		 * below.  (They did: a use after free that crashed the agent
		 * when one of several channels ended before its peer closed
		 * it, the flaky ControlMaster check of ssh-proxy.sh.)
		 */
		if (c->cb.size != 0)
			ssh_remove_channel_callbacks(c->ch, &c->cb);
		ssh_channel_close(c->ch);
		ssh_channel_free(c->ch);
	}
	free(c);
}

/* Tell the peer why, on stderr, and end the channel with status 1. */
static void
chan_refuse(struct chan *c, const char *op, const char *why)
{
	char line[300];

	log_warn("%s: refused %s on channel %u: %s", c->sc->peer, op, c->no,
	    why);
	audit_op_refused(c->sc->who, op, why);
	snprintf(line, sizeof(line), "lifelined: %s refused: %s\r\n", op, why);
	ssh_channel_write_stderr(c->ch, line, (uint32_t)strlen(line));
	ssh_channel_request_send_exit_status(c->ch, 1);
	ssh_channel_send_eof(c->ch);
	c->kind = CHAN_REFUSED;
}

/* Environment for a child: ours, then the env requests kept. */
static char **
chan_envp(struct chan *c, const struct passwd *pw, const char *command)
{
	char **envp = calloc(CHANS_ENV_MAX + 10, sizeof(*envp));
	int n = 0, i;

	if (envp == NULL)
		return NULL;
	if (asprintf(&envp[n++], "PATH=%s", CHANS_PATH) < 0 ||
	    asprintf(&envp[n++], "HOME=%s", pw->pw_dir) < 0 ||
	    asprintf(&envp[n++], "USER=%s", pw->pw_name) < 0 ||
	    asprintf(&envp[n++], "LOGNAME=%s", pw->pw_name) < 0 ||
	    asprintf(&envp[n++], "SHELL=%s", pw->pw_shell) < 0)
		goto fail;
	if (c->pty && asprintf(&envp[n++], "TERM=%s", c->term[0] != '\0' ?
	    c->term : "vt100") < 0)
		goto fail;
	if (command != NULL && asprintf(&envp[n++],
	    "SSH_ORIGINAL_COMMAND=%s", command) < 0)
		goto fail;
	for (i = 0; i < c->nenv; i++) {
		if (c->pty && strncmp(c->env[i], "TERM=", 5) == 0)
			continue;
		if ((envp[n++] = strdup(c->env[i])) == NULL)
			goto fail;
	}
	return envp;
fail:
	for (i = 0; i < n; i++)
		free(envp[i]);
	free(envp);
	return NULL;
}

static void
strv_free(char **v)
{
	if (v == NULL)
		return;
	for (char **p = v; *p != NULL; p++)
		free(*p);
	free(v);
}

/* The user's shell when it can run, else /bin/sh. */
static const char *
chan_shell(const struct passwd *pw)
{
	if (pw->pw_shell != NULL && pw->pw_shell[0] == '/' &&
	    access(pw->pw_shell, X_OK) == 0)
		return pw->pw_shell;
	return "/bin/sh";
}

/*
 * Start argv (path prog) for c: on the pty when one was asked for, else on
 * three pipes.  0, or -1 with why.
 */
static int
chan_spawn(struct chan *c, const char *prog, char *const argv[],
    char **envp, const char *home, char *why, size_t len)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	sigset_t none;
	pid_t pid;

	if (!c->pty && (pipe(in) != 0 || pipe(out) != 0 || pipe(err) != 0)) {
		snprintf(why, len, "cannot make pipes: %s", strerror(errno));
		goto fail;
	}
	sigemptyset(&none);
	if ((pid = fork()) < 0) {
		snprintf(why, len, "cannot fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0) {
		/* Only async-signal-safe calls from here on. */
		setsid();
		if (c->pty) {
			ioctl(c->pty_slave, TIOCSCTTY, 0);
			dup2(c->pty_slave, 0);
			dup2(c->pty_slave, 1);
			dup2(c->pty_slave, 2);
		} else {
			dup2(in[0], 0);
			dup2(out[1], 1);
			dup2(err[1], 2);
		}
		close_range(3, ~0U, 0);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (chdir(home) != 0 && chdir("/") != 0)
			_exit(126);
		execve(prog, argv, envp);
		_exit(127);
	}
	c->pid = pid;
	if (c->pty) {
		fd_close(&c->pty_slave);
		c->to_fd = c->pty_fd;
		c->out_fd = dup(c->pty_fd);
		c->pty_fd = -1;
		fd_nonblock(c->to_fd);
		fd_nonblock(c->out_fd);
	} else {
		close(in[0]);
		close(out[1]);
		close(err[1]);
		c->to_fd = in[1];
		c->out_fd = out[0];
		c->err_fd = err[0];
		fd_nonblock(c->to_fd);
		fd_nonblock(c->out_fd);
		fd_nonblock(c->err_fd);
	}
	c->kind = CHAN_CHILD;
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		fd_close(&in[i]);
		fd_close(&out[i]);
		fd_close(&err[i]);
	}
	return -1;
}

/*
 * Run a command (NULL: the login shell) for channel c as op, or the
 * sftp-server sftp (through the bundle's loader when bundled).
 */
static int
chan_run(struct chan *c, const char *op, const char *command,
    const char *sftp, bool bundled)
{
	struct passwd *pw = getpwuid(getuid());
	struct passwd fallback = { .pw_name = "root", .pw_dir = "/",
	    .pw_shell = "/bin/sh" };
	char why[256], *argv[8], shell_arg0[64];
	const char *shell, *prog;
	char **envp = NULL;
	json_t *args;
	int rc, i = 0;

	if (pw == NULL)
		pw = &fallback;
	shell = chan_shell(pw);
	if (sftp != NULL) {
		if (bundled) {
			prog = bundle.loader;
			argv[i++] = bundle.loader;
			argv[i++] = "--library-path";
			argv[i++] = bundle.dir;
			argv[i++] = "--argv0";
			argv[i++] = "sftp-server";
		} else
			prog = sftp;
		argv[i++] = (char *)sftp;
		if (agent_opts.read_only)
			argv[i++] = "-R";
		argv[i] = NULL;
	} else if (command != NULL) {
		prog = shell;
		argv[0] = (char *)shell;
		argv[1] = "-c";
		argv[2] = (char *)command;
		argv[3] = NULL;
	} else {
		/* A login shell, as sshd starts it: "-sh". */
		const char *base = strrchr(shell, '/');

		snprintf(shell_arg0, sizeof(shell_arg0), "-%s",
		    base != NULL ? base + 1 : shell);
		prog = shell;
		argv[0] = shell_arg0;
		argv[1] = NULL;
	}
	if ((envp = chan_envp(c, pw, NULL)) == NULL) {
		chan_refuse(c, op, "out of memory");
		return 0;
	}
	snprintf(c->op, sizeof(c->op), "%s", op);
	args = json_pack("{s:s, s:b}", "command", command != NULL ? command :
	    (sftp != NULL ? sftp : shell), "pty", c->pty);
	audit_op_start(c->sc->who, c->no, op, args);
	json_decref(args);
	rc = chan_spawn(c, prog, argv, envp, pw->pw_dir, why, sizeof(why));
	strv_free(envp);
	if (rc != 0) {
		audit_op_end(c->sc->who, c->no, op, why);
		chan_refuse(c, op, why);
		return 0;
	}
	log_info("%s: channel %u: %s%s (pid %d)", c->sc->peer, c->no, op,
	    c->pty ? " on a pty" : "", (int)c->pid);
	return 0;
}

/*
 * exec and shell: both change things, so one policy check each, then the
 * command (NULL: the shell) runs on the channel.
 */
static int
chan_request(struct chan *c, const char *op, const char *command)
{
	char why[200];

	if (c->kind != CHAN_NEW)
		return 1;
	if (chans_policy(op, true, why, sizeof(why)) != NULL) {
		chan_refuse(c, op, why);
		return 0;
	}
	return chan_run(c, op, command, NULL, false);
}

static int
cb_exec(ssh_session s, ssh_channel ch, const char *command, void *ud)
{
	(void)s;
	(void)ch;
	return chan_request(ud, "exec", command);
}

static int
cb_shell(ssh_session s, ssh_channel ch, void *ud)
{
	(void)s;
	(void)ch;
	return chan_request(ud, "shell", NULL);
}

static int
cb_subsystem(ssh_session s, ssh_channel ch, const char *name, void *ud)
{
	struct chan *c = ud;
	char why[200], shown[64];
	int i;

	(void)s;
	(void)ch;
	if (c->kind != CHAN_NEW)
		return 1;
	if (strcmp(name, LL_SSH_SUBSYSTEM) == 0) {
		/* One per connection: it has the one plain side. */
		if (c->sc->lifeline_used) {
			log_warn("%s: refused the %s subsystem on channel %u: "
			    "this connection has had one already", c->sc->peer,
			    LL_SSH_SUBSYSTEM, c->no);
			return 1;
		}
		c->sc->lifeline_used = true;
		c->kind = CHAN_LIFELINE;
		snprintf(c->op, sizeof(c->op), "%s", LL_SSH_SUBSYSTEM);
		c->to_fd = c->out_fd = c->sc->lifeline_fd;
		/* Served here (not by ll_ssh_pump), it must not block us. */
		fd_nonblock(c->to_fd);
		return 0;
	}
	if (strcmp(name, "sftp") != 0) {
		log_printable(shown, sizeof(shown), name);
		log_warn("%s: refused subsystem \"%s\": only \"%s\" and "
		    "\"sftp\" are offered", c->sc->peer, shown,
		    LL_SSH_SUBSYSTEM);
		return 1;
	}
	if (chans_policy("sftp", false, why, sizeof(why)) != NULL) {
		chan_refuse(c, "sftp", why);
		return 0;
	}
	c->pty = false;			/* sftp wants a clean byte stream */
	for (i = 0; sftp_servers[i] != NULL; i++) {
		if (access(sftp_servers[i], X_OK) == 0)
			return chan_run(c, "sftp", NULL, sftp_servers[i],
			    false);
	}
	pthread_once(&bundle_once, bundle_find);
	if (bundle.found)
		return chan_run(c, "sftp", NULL, bundle.prog, true);
	chan_refuse(c, "sftp", "no sftp-server program on this host "
	    "(Debian: openssh-sftp-server; Alpine: openssh-sftp-server)");
	return 0;
}

static int
cb_pty(ssh_session s, ssh_channel ch, const char *term, int cols, int rows,
    int pxw, int pxh, void *ud)
{
	struct chan *c = ud;
	struct winsize ws = { .ws_row = (unsigned short)rows,
	    .ws_col = (unsigned short)cols, .ws_xpixel = (unsigned short)pxw,
	    .ws_ypixel = (unsigned short)pxh };

	(void)s;
	(void)ch;
	if (c->kind != CHAN_NEW || c->pty)
		return 1;
	if (c->sc->key.deny & AUTHKEYS_DENY_PTY) {
		static const char why[] = "the key's authorized_keys line has "
		    "no-pty or restrict";
		char line[160];

		log_warn("%s: refused a pty on channel %u: %s", c->sc->peer,
		    c->no, why);
		audit_op_refused(c->sc->who, "pty", why);
		/*
		 * ssh only says "PTY allocation request failed" and goes on
		 * without one (as with sshd): the reason goes to the user on
		 * the channel's stderr, which ssh shows.  (ssh -tt gives up
		 * on the refusal at once and may exit before it shows it.)
		 */
		snprintf(line, sizeof(line), "lifelined: pty refused: %s\r\n",
		    why);
		ssh_channel_write_stderr(c->ch, line, (uint32_t)strlen(line));
		return 1;
	}
	if (openpty(&c->pty_fd, &c->pty_slave, NULL, NULL, &ws) != 0) {
		log_warn("%s: cannot open a pty: %s", c->sc->peer,
		    strerror(errno));
		return 1;
	}
	fcntl(c->pty_fd, F_SETFD, FD_CLOEXEC);
	fcntl(c->pty_slave, F_SETFD, FD_CLOEXEC);
	c->pty = true;
	log_printable(c->term, sizeof(c->term), term);
	return 0;
}

static int
cb_window(ssh_session s, ssh_channel ch, int cols, int rows, int pxw,
    int pxh, void *ud)
{
	struct chan *c = ud;
	struct winsize ws = { .ws_row = (unsigned short)rows,
	    .ws_col = (unsigned short)cols, .ws_xpixel = (unsigned short)pxw,
	    .ws_ypixel = (unsigned short)pxh };
	int fd = c->kind == CHAN_CHILD ? c->to_fd : c->pty_fd;

	(void)s;
	(void)ch;
	if (!c->pty || fd < 0)
		return 1;
	return ioctl(fd, TIOCSWINSZ, &ws) == 0 ? 0 : 1;
}

/* TERM, LANG and LC_* only, as sshd's default AcceptEnv. */
static bool
env_is_accepted(const char *name)
{
	return strcmp(name, "TERM") == 0 || strcmp(name, "LANG") == 0 ||
	    strncmp(name, "LC_", 3) == 0;
}

static int
cb_env(ssh_session s, ssh_channel ch, const char *name, const char *value,
    void *ud)
{
	struct chan *c = ud;
	char *kv;

	(void)s;
	(void)ch;
	if (c->kind != CHAN_NEW || !env_is_accepted(name) ||
	    strchr(name, '=') != NULL || c->nenv >= CHANS_ENV_MAX ||
	    strlen(name) + strlen(value) > 1024)
		return 1;
	if (asprintf(&kv, "%s=%s", name, value) < 0)
		return 1;
	c->env[c->nenv++] = kv;
	return 0;
}

static struct chan *
chan_new(struct ssh_chans *sc, ssh_channel ch)
{
	struct chan *c;
	int i;

	for (i = 0; i < CHANS_MAX && sc->c[i] != NULL; i++)
		;
	if (i == CHANS_MAX) {
		log_warn("%s: refused a channel: %d are open already",
		    sc->peer, CHANS_MAX);
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->sc = sc;
	c->ch = ch;
	c->no = ++sc->next_no;
	c->to_fd = c->out_fd = c->err_fd = c->pty_fd = c->pty_slave = -1;
	sc->c[i] = c;
	return c;
}

ssh_channel
ssh_chans_open(struct ssh_chans *sc)
{
	ssh_channel ch;
	struct chan *c;

	if ((ch = ssh_channel_new(sc->session)) == NULL)
		return NULL;
	if ((c = chan_new(sc, ch)) == NULL) {
		ssh_channel_free(ch);
		return NULL;
	}
	c->cb.userdata = c;
	c->cb.channel_exec_request_function = cb_exec;
	c->cb.channel_shell_request_function = cb_shell;
	c->cb.channel_subsystem_request_function = cb_subsystem;
	c->cb.channel_pty_request_function = cb_pty;
	c->cb.channel_pty_window_change_function = cb_window;
	c->cb.channel_env_request_function = cb_env;
	ssh_callbacks_init(&c->cb);
	ssh_set_channel_callbacks(ch, &c->cb);
	return ch;
}

/*
 * One connect to ai, given CHANS_CONNECT_MS at most (the engine thread
 * waits, and with it the connection's other channels).  The fd, or -1 with
 * errno.
 */
static int
forward_connect_one(const struct addrinfo *ai)
{
	struct pollfd pfd;
	socklen_t elen = sizeof(int);
	int fd, e = 0;

	if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, ai->ai_protocol)) < 0)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS)
		goto fail;
	pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
	if (poll(&pfd, 1, CHANS_CONNECT_MS) == 0) {
		errno = ETIMEDOUT;
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) != 0)
		goto fail;
	if (e == 0)
		return fd;
	errno = e;
fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

/* A connect to host:port, bounded in time; the fd, or -1 with why. */
static int
forward_connect(const char *host, int port, char *why, size_t len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char service[16];
	int fd = -1, e;

	snprintf(service, sizeof(service), "%d", port);
	if ((e = getaddrinfo(host, service, &hints, &res)) != 0) {
		snprintf(why, len, "%s: %s", host, gai_strerror(e));
		return -1;
	}
	snprintf(why, len, "%s port %d: no address to connect to", host,
	    port);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = forward_connect_one(ai)) >= 0)
			break;
		e = errno;
		snprintf(why, len, "%s port %d: %s", host, port, strerror(e));
	}
	freeaddrinfo(res);
	return fd;
}

bool
ssh_chans_forward(struct ssh_chans *sc, ssh_message msg)
{
	const char *host = ssh_message_channel_request_open_destination(msg);
	int port = ssh_message_channel_request_open_destination_port(msg);
	char why[256], shown[128];
	ssh_channel ch = NULL;
	struct chan *c = NULL;
	json_t *args;
	int fd;

	if (host == NULL)
		return false;
	log_printable(shown, sizeof(shown), host);
	if (sc->key.deny & AUTHKEYS_DENY_FORWARD) {
		snprintf(why, sizeof(why), "the key's authorized_keys line has "
		    "no-port-forwarding or restrict");
		goto refused;
	}
	if (!authkeys_permits_open(&sc->key, host, port)) {
		snprintf(why, sizeof(why), "%s port %d is not in the key's "
		    "permitopen= list", shown, port);
		goto refused;
	}
	if (chans_policy("forward", true, why, sizeof(why)) != NULL)
		goto refused;
	if ((fd = forward_connect(host, port, why, sizeof(why))) < 0) {
		log_warn("%s: forwarding to %s port %d failed: %s", sc->peer,
		    shown, port, why);
		return false;
	}
	if ((c = chan_new(sc, NULL)) == NULL ||
	    (ch = ssh_message_channel_request_open_reply_accept(msg)) ==
	    NULL) {
		for (int i = 0; c != NULL && i < CHANS_MAX; i++)
			if (sc->c[i] == c)
				sc->c[i] = NULL;
		free(c);
		close(fd);
		return false;
	}
	c->ch = ch;
	c->kind = CHAN_FORWARD;
	snprintf(c->op, sizeof(c->op), "forward");
	c->to_fd = c->out_fd = fd;
	fd_nonblock(fd);
	args = json_pack("{s:s, s:i}", "host", shown, "port", port);
	audit_op_start(sc->who, c->no, "forward", args);
	json_decref(args);
	log_info("%s: channel %u: forwarding to %s port %d", sc->peer, c->no,
	    shown, port);
	return true;
refused:
	log_warn("%s: refused forwarding to %s port %d: %s", sc->peer, shown,
	    port, why);
	audit_op_refused(sc->who, "forward", why);
	return false;
}

struct ssh_chans *
ssh_chans_new(ssh_session s, const char *peer,
    const struct authkeys_result *key, int lifeline_fd)
{
	struct ssh_chans *sc = calloc(1, sizeof(*sc));

	if (sc == NULL)
		return NULL;
	sc->session = s;
	snprintf(sc->peer, sizeof(sc->peer), "%s", peer);
	snprintf(sc->who, sizeof(sc->who), "%s", key->fingerprint);
	sc->key = *key;
	sc->lifeline_fd = lifeline_fd;
	return sc;
}

void
ssh_chans_free(struct ssh_chans *sc)
{
	int i;

	if (sc == NULL)
		return;
	for (i = 0; i < CHANS_MAX; i++) {
		if (sc->c[i] != NULL)
			chan_free(sc->c[i]);
	}
	free(sc);
}

unsigned
ssh_chans_opened(const struct ssh_chans *sc)
{
	return sc->next_no;
}

/* Channel -> to_fd.  true when something moved. */
static bool
chan_input(struct chan *c)
{
	bool moved = false;
	int n;

	if (c->to_fd < 0 || c->to_closed)
		return false;
	if (c->pend_off == c->pend_len) {
		c->pend_off = c->pend_len = 0;
		n = ssh_channel_read_nonblocking(c->ch, c->pend,
		    sizeof(c->pend), 0);
		if (n > 0) {
			c->pend_len = (size_t)n;
			moved = true;
		} else if (n == SSH_ERROR || ssh_channel_is_eof(c->ch) ||
		    ssh_channel_is_closed(c->ch)) {
			/* The peer is done sending: the child's stdin ends
			 * (a pty stays: the shell's own exit ends it). */
			c->to_closed = true;
			if (c->kind == CHAN_FORWARD ||
			    c->kind == CHAN_LIFELINE)
				shutdown(c->to_fd, SHUT_WR);
			else if (!c->pty)
				fd_close(&c->to_fd);
			return true;
		}
	}
	while (c->pend_off < c->pend_len) {
		ssize_t w = write(c->to_fd, c->pend + c->pend_off,
		    c->pend_len - c->pend_off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			break;
		if (w <= 0) {
			/* The child stopped reading: drop the rest. */
			c->pend_off = c->pend_len;
			c->to_closed = true;
			break;
		}
		c->pend_off += (size_t)w;
		moved = true;
	}
	return moved;
}

/* What is left of obuf into the channel.  true when it is all in. */
static bool
chan_flush_out(struct chan *c, bool *moved)
{
	int w;

	while (c->ooff < c->olen) {
		w = c->oerr ? ssh_channel_write_stderr(c->ch, c->obuf + c->ooff,
		    (uint32_t)(c->olen - c->ooff)) : ssh_channel_write(c->ch,
		    c->obuf + c->ooff, (uint32_t)(c->olen - c->ooff));
		if (w == SSH_ERROR) {
			c->ooff = c->olen;	/* the session is failing */
			break;
		}
		if (w == 0)
			return false;
		c->ooff += (size_t)w;
		*moved = true;
	}
	c->ooff = c->olen = 0;
	return true;
}

/*
 * *fd -> the channel (stdout or stderr), as far as the peer's window goes
 * and only once the previous chunk has left libssh, so that its buffer
 * never holds more than a chunk and other channels are not queued behind
 * one busy one.  true when something moved.
 */
static bool
chan_output(struct chan *c, int *fd, bool is_stderr)
{
	uint32_t room;
	bool moved = false;
	ssize_t r;

	if (!chan_flush_out(c, &moved) || *fd < 0)
		return moved;
	room = ssh_channel_window_size(c->ch);
	if (room == 0 || ssh_blocking_flush(c->sc->session, 0) != SSH_OK)
		return moved;
	if (room > sizeof(c->obuf))
		room = sizeof(c->obuf);
	r = read(*fd, c->obuf, room);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return moved;
	if (r <= 0) {
		/*
		 * EOF, or EIO on a pty whose last holder has gone.  A socket
		 * (forward, lifeline) is only half done: the channel may
		 * still have bytes for it, so it stays open for them.
		 */
		if (c->kind == CHAN_FORWARD || c->kind == CHAN_LIFELINE) {
			*fd = -1;
			ssh_channel_send_eof(c->ch);
			return true;
		}
		if (*fd == c->to_fd) {
			c->to_fd = -1;
			c->to_closed = true;
		}
		fd_close(fd);
		return true;
	}
	c->olen = (size_t)r;
	c->ooff = 0;
	c->oerr = is_stderr;
	chan_flush_out(c, &moved);
	return true;
}

/* The child's end: its status to the peer, then EOF and close. */
static void
chan_finish(struct chan *c)
{
	char result[64];

	if (c->pid > 0 && WIFSIGNALED(c->status)) {
		const char *name = sigabbrev_np(WTERMSIG(c->status));

		ssh_channel_request_send_exit_signal(c->ch, name != NULL ?
		    name : "KILL", WCOREDUMP(c->status), "", "");
		snprintf(result, sizeof(result), "signal %s",
		    name != NULL ? name : "?");
	} else if (c->pid > 0) {
		ssh_channel_request_send_exit_status(c->ch,
		    WEXITSTATUS(c->status));
		snprintf(result, sizeof(result), "exit %d",
		    WEXITSTATUS(c->status));
	} else
		snprintf(result, sizeof(result), "closed");
	audit_op_end(c->sc->who, c->no, c->op, result);
	log_info("%s: channel %u: %s ended: %s", c->sc->peer, c->no, c->op,
	    result);
	ssh_channel_send_eof(c->ch);
	ssh_channel_close(c->ch);
}

/*
 * One channel's turn.  true when it is done and may be freed.  *busy when
 * it waits on something no fd may signal, *more when bytes moved (libssh
 * may hold more).
 */
static bool
chan_step(struct chan *c, bool *busy, bool *more)
{
	bool moved = false;

	if (c->kind == CHAN_NEW)
		return ssh_channel_is_closed(c->ch);
	if (c->kind == CHAN_REFUSED)
		return true;	/* its reason and status are sent */
	/*
	 * A few rounds while bytes move: what libssh already holds for the
	 * channel wakes no poll, so one chunk per wake-up would crawl.
	 * Bounded, so that one busy channel leaves the others their turn.
	 */
	for (int round = 0; round < CHANS_ROUNDS; round++) {
		bool r = chan_input(c);

		r |= chan_output(c, &c->out_fd, false);
		r |= chan_output(c, &c->err_fd, true);
		if (!r)
			break;
		moved = true;
	}
	if (c->pend_off < c->pend_len || c->olen > 0)
		*busy = true;
	if (moved)
		*more = true;
	if (c->pid > 0 && !c->reaped && reaped_take(c->pid, &c->status))
		c->reaped = true;
	if (c->kind == CHAN_CHILD) {
		if (ssh_channel_is_closed(c->ch)) {
			/* The peer closed it: the child gets SIGHUP. */
			return true;
		}
		if (!c->reaped || c->out_fd >= 0 || c->err_fd >= 0 ||
		    c->olen > 0)
			return false;
		chan_finish(c);
		return true;
	}
	/* lifeline, forward: one socket; done when it and the peer are. */
	if (ssh_channel_is_closed(c->ch) || (c->out_fd < 0 && c->to_closed)) {
		if (c->kind == CHAN_LIFELINE)
			c->sc->lifeline_ended = true;
		else
			audit_op_end(c->sc->who, c->no, c->op, "closed");
		return true;
	}
	return false;
}

int
ssh_chans_step(struct ssh_chans *sc, int *wait_ms)
{
	bool busy = false, more = false;
	int i;

	for (i = 0; i < CHANS_MAX; i++) {
		struct chan *c = sc->c[i];

		if (c == NULL)
			continue;
		if (chan_step(c, &busy, &more)) {
			sc->c[i] = NULL;
			if (c->kind == CHAN_REFUSED)
				ssh_channel_close(c->ch);
			chan_free(c);
		} else if (c->pid > 0 && !c->reaped)
			busy = busy || (c->out_fd < 0 && c->err_fd < 0);
	}
	if (more)
		*wait_ms = 0;
	else if (busy && *wait_ms > 10)
		*wait_ms = 10;
	return sc->lifeline_ended ? -1 : 0;
}

/* Add fd for events to fds[*n], merged with an entry for the same fd. */
static void
fds_add(struct pollfd *fds, int *n, int max, int fd, short events)
{
	int i;

	if (fd < 0 || events == 0)
		return;
	for (i = 0; i < *n; i++) {
		if (fds[i].fd == fd) {
			fds[i].events |= events;
			return;
		}
	}
	if (*n < max)
		fds[(*n)++] = (struct pollfd){ .fd = fd, .events = events };
}

int
ssh_chans_fds(const struct ssh_chans *sc, struct pollfd *fds, int max)
{
	int i, n = 0;
	bool room;

	for (i = 0; i < CHANS_MAX; i++) {
		const struct chan *c = sc->c[i];

		if (c == NULL || c->kind == CHAN_NEW || c->kind == CHAN_REFUSED)
			continue;
		/*
		 * Output is read only into an empty buffer and as far as the
		 * peer's window goes: a readable fd we would not read must
		 * not wake the loop (the window opens through the session).
		 */
		room = c->olen == 0 && ssh_channel_window_size(c->ch) > 0;
		if (room) {
			fds_add(fds, &n, max, c->out_fd, POLLIN);
			fds_add(fds, &n, max, c->err_fd, POLLIN);
		}
		/* A child (or socket) that has not taken all we read yet. */
		if (c->pend_off < c->pend_len && !c->to_closed)
			fds_add(fds, &n, max, c->to_fd, POLLOUT);
	}
	return n;
}
