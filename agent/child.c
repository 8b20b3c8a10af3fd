/*
 * Child processes with streamed output (see child.h).
 *
 * The agent forks a guard, which starts a session of its own (so SIGTERM
 * or SIGKILL to its process group reaches whatever the command started)
 * and forks the command in it.  Between fork and exec the command resets
 * its signal mask and handlers and takes /dev/null (or the stdin pipe) and
 * the output pipes as fds 0-2.
 *
 * The guard is there for the agent's own death.  A job outlives its
 * session, never its agent: should the agent be killed (SIGKILL, a crash,
 * the OOM killer) nobody would see or stop its commands.  The kernel tells
 * the guard (PR_SET_PDEATHSIG, which it sets in itself after the fork and
 * checks against getppid() for a parent already gone), and the guard kills
 * the whole process group, the command and whatever it started, which the
 * parent-death signal alone would miss: it reaches one process, and is
 * lost across the exec of a set-user-ID program.  Otherwise the guard only
 * waits, every signal blocked (those sent to the group are the command's),
 * and ends as the command ended: its exit status, or death by the same
 * signal (without a core dump), so the agent reaps it as if it were the
 * command.  If it cannot exec, it writes errno to a close-on-exec pipe; the
 * parent reads that pipe until EOF, so a failed exec is reported as an
 * error rather than as an exit status 127.  Output is read only while the
 * session has room for it: a fast producer on a slow line is held back by
 * the pipe, and the agent's memory stays bounded.  Reaping is the server's
 * (SIGCHLD); it hands the status over through child_op_reaped().
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "child.h"
#include "msg.h"

#define CHILD_KILL_GRACE_MS	2000
#define CHILD_READ_MAX		(16 * 1024)
#define CHILD_FD_FLOOR		10	/* above every fd the child sets up */
#define CHILD_CLOSE_RANGE_CLOEXEC (1U << 2)	/* linux/close_range.h */

static const char *const child_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/root", "TERM=dumb", "LC_ALL=C", "SHELL=/bin/sh", NULL
};

static void
child_close(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

static void
child_kill(pid_t pid, int sig)
{
	kill(-pid, sig);
	kill(pid, sig);
}

/* Mark every fd from lo up close-on-exec (Linux 5.11+; else a no-op). */
static void
child_cloexec_from(int lo)
{
#ifdef SYS_close_range
	syscall(SYS_close_range, (unsigned)lo, ~0U, CHILD_CLOSE_RANGE_CLOEXEC);
#else
	(void)lo;
#endif
}

/* In the forked child: never returns. */
static void
child_exec(pid_t guard, char *const argv[], const struct child_opts *o,
    int in, int out, int err, int errpipe)
{
	sigset_t none;
	int nul, moved, extra = -1, e, sig;

	/* a guard killed alone (SIGKILL to its pid) takes the command along */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != guard)
		_exit(127);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	/* Move everything above the fds it is about to take, so no dup2
	 * below overwrites one still to be used. */
	if ((moved = fcntl(errpipe, F_DUPFD_CLOEXEC, CHILD_FD_FLOOR)) < 0)
		goto fail;
	errpipe = moved;
	if ((out = fcntl(out, F_DUPFD_CLOEXEC, CHILD_FD_FLOOR)) < 0 ||
	    (err = fcntl(err, F_DUPFD_CLOEXEC, CHILD_FD_FLOOR)) < 0)
		goto fail;
	if (in >= 0 && (in = fcntl(in, F_DUPFD_CLOEXEC, CHILD_FD_FLOOR)) < 0)
		goto fail;
	if (o->extra_as > 2 && (extra = fcntl(o->extra_fd, F_DUPFD_CLOEXEC,
	    CHILD_FD_FLOOR)) < 0)
		goto fail;
	if ((nul = in) < 0 && (nul = open("/dev/null", O_RDONLY |
	    O_CLOEXEC)) < 0)
		goto fail;
	if (dup2(nul, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		goto fail;
	if (extra >= 0 && dup2(extra, o->extra_as) < 0)
		goto fail;
	/*
	 * Whatever else the agent has open (sockets of other sessions, say)
	 * must not reach the command, even if one lacks close-on-exec.
	 */
	child_cloexec_from(extra >= 0 ? o->extra_as + 1 : 3);
	if (o->root_fd >= 0 && (fchdir(o->root_fd) != 0 ||
	    chroot(".") != 0 || chdir("/") != 0))
		goto fail;
	if (o->cwd != NULL && chdir(o->cwd) != 0)
		goto fail;
	execve(argv[0], argv, (char *const *)child_env);
	if (strchr(argv[0], '/') == NULL) {
		/* search PATH the way the clean environment defines it */
		execvpe(argv[0], argv, (char *const *)child_env);
	}
fail:
	e = errno;
	if (write(errpipe, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

/* Close every fd (the guard holds none: EOFs must come with the command's). */
static void
child_close_all(void)
{
	int fd, max;

#ifdef SYS_close_range
	if (syscall(SYS_close_range, 0U, ~0U, 0U) == 0)
		return;
#endif
	max = (int)sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536)
		max = 65536;
	for (fd = 0; fd < max; fd++)
		close(fd);
}

/* The guard ends as the command ended: never returns. */
static void
child_guard_exit(int status)
{
	struct rlimit no_core = { 0, 0 };
	sigset_t one;
	int sig;

	if (WIFEXITED(status))
		_exit(WEXITSTATUS(status));
	sig = WTERMSIG(status);
	setrlimit(RLIMIT_CORE, &no_core);
	signal(sig, SIG_DFL);
	sigemptyset(&one);
	sigaddset(&one, sig);
	sigprocmask(SIG_UNBLOCK, &one, NULL);
	raise(sig);
	_exit(128 + sig);
}

/*
 * In the forked child: the job's guard (see the top of this file), then
 * the command in its process group.  Never returns.
 */
static void
child_guard(pid_t agent, char *const argv[], const struct child_opts *o,
    int in, int out, int err, int errpipe)
{
	sigset_t all, wanted;
	siginfo_t si;
	pid_t cmd, self = getpid();
	int status, e;

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	setsid();
	/* the agent may have died before the prctl: then it is too late */
	if (prctl(PR_SET_PDEATHSIG, SIGHUP) != 0 || getppid() != agent)
		_exit(127);
	if ((cmd = fork()) < 0) {
		e = errno;
		if (write(errpipe, &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	if (cmd == 0)
		child_exec(self, argv, o, in, out, err, errpipe);
	child_close_all();
	prctl(PR_SET_NAME, "lifelined-job");
	sigemptyset(&wanted);
	sigaddset(&wanted, SIGCHLD);
	sigaddset(&wanted, SIGHUP);
	for (;;) {
		if (sigwaitinfo(&wanted, &si) < 0)
			continue;
		/* SIGHUP: the agent died, or someone signalled the group */
		if (si.si_signo == SIGHUP && getppid() != agent)
			kill(-getpid(), SIGKILL);
		if (waitpid(cmd, &status, WNOHANG) == cmd)
			child_guard_exit(status);
	}
}

void
child_init(struct child *c)
{
	memset(c, 0, sizeof(*c));
	c->pid = -1;
	c->fd[0] = c->fd[1] = c->fd[2] = -1;
}

const char *
child_spawn(struct child *c, char *const argv[],
    const struct child_opts *opts, char *err, size_t errlen)
{
	static const struct child_opts none = { .root_fd = -1 };
	int out[2] = { -1, -1 }, errp[2] = { -1, -1 }, ep[2] = { -1, -1 };
	int in[2] = { -1, -1 };
	const char *ec = LL_EC_INTERNAL;
	pid_t agent;
	int e = 0, i;
	ssize_t got;

	if (opts == NULL)
		opts = &none;
	if (pipe2(out, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0 ||
	    pipe2(ep, O_CLOEXEC) != 0 ||
	    (opts->stdin_pipe && pipe2(in, O_CLOEXEC) != 0)) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto out;
	}
	agent = getpid();
	if ((c->pid = fork()) < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		goto out;
	}
	if (c->pid == 0)
		child_guard(agent, argv, opts, in[0], out[1], errp[1], ep[1]);
	/* Our write end closed, EOF comes with the exec (close-on-exec). */
	child_close(&ep[1]);
	do {
		got = read(ep[0], &e, sizeof(e));
	} while (got < 0 && errno == EINTR);
	if (got == sizeof(e)) {
		waitpid(c->pid, NULL, 0);
		c->pid = -1;
		snprintf(err, errlen, "cannot run %s: %s", argv[0],
		    strerror(e));
		ec = LL_EC_EXEC_FAILED;
		goto out;
	}
	c->fd[0] = in[1];
	c->fd[1] = out[0];
	c->fd[2] = errp[0];
	in[1] = out[0] = errp[0] = -1;
	if (c->fd[0] >= 0)
		fcntl(c->fd[0], F_SETFL, O_NONBLOCK);
	fcntl(c->fd[1], F_SETFL, O_NONBLOCK);
	fcntl(c->fd[2], F_SETFL, O_NONBLOCK);
	c->started = ll_now_ms();
	ec = NULL;
out:
	for (i = 0; i < 2; i++) {
		child_close(&in[i]);
		child_close(&out[i]);
		child_close(&errp[i]);
		child_close(&ep[i]);
	}
	return ec;
}

int
child_pollfds(struct child *c, struct request *r, struct pollfd *pfd,
    int max, int *timeout_ms)
{
	bool room = ll_session_room(r->conn->s) > 0;
	uint64_t now = ll_now_ms();
	int n = 0, ch;

	for (ch = 1; ch <= 2 && n < max; ch++) {
		if (c->fd[ch] < 0)
			continue;
		pfd[n].fd = c->fd[ch];
		pfd[n].events = room ? POLLIN : 0;
		pfd[n].revents = 0;
		n++;
	}
	if (c->kill_at != 0) {
		int ms = c->kill_at > now ? (int)(c->kill_at - now) : 0;

		if (*timeout_ms < 0 || ms < *timeout_ms)
			*timeout_ms = ms;
	}
	return n;
}

void
child_pump(struct child *c, struct request *r, uint64_t now)
{
	uint8_t buf[CHILD_READ_MAX];
	int ch;

	for (ch = 1; ch <= 2; ch++) {
		while (c->fd[ch] >= 0) {
			size_t room = ll_session_room(r->conn->s);
			ssize_t n;

			if (room == 0)
				break;
			if (room > sizeof(buf))
				room = sizeof(buf);
			n = read(c->fd[ch], buf, room);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			if (n <= 0) {
				child_close(&c->fd[ch]);
				ll_session_send_eof(r->conn->s, (uint8_t)ch,
				    r->id);
				break;
			}
			c->bytes[ch] += (uint64_t)n;
			ll_session_send_data(r->conn->s, (uint8_t)ch, r->id,
			    buf, (size_t)n);
		}
	}
	child_kill_due(c, now);
}

void
child_kill_due(struct child *c, uint64_t now)
{
	if (!c->exited && c->kill_at != 0 && now >= c->kill_at) {
		child_kill(c->pid, SIGKILL);
		c->kill_at = 0;
	}
}

bool
child_op_reaped(struct request *r, pid_t pid, int status)
{
	struct child *c = r->state;

	if (c == NULL || c->pid < 0 || c->pid != pid || c->exited)
		return false;
	c->exited = true;
	c->status = status;
	c->kill_at = 0;
	return true;
}

void
child_terminate(struct child *c, uint64_t now)
{
	if (c->pid < 0 || c->exited || c->kill_at != 0)
		return;
	child_kill(c->pid, SIGTERM);
	c->kill_at = now + CHILD_KILL_GRACE_MS;
}

bool
child_is_done(const struct child *c)
{
	return c->exited && c->fd[1] < 0 && c->fd[2] < 0;
}

void
child_result(const struct child *c, json_t *res)
{
	if (WIFEXITED(c->status))
		json_object_set_new(res, "exit_status",
		    json_integer(WEXITSTATUS(c->status)));
	else if (WIFSIGNALED(c->status)) {
		json_object_set_new(res, "signal",
		    json_integer(WTERMSIG(c->status)));
		json_object_set_new(res, "signal_name",
		    ll_msg_text(strsignal(WTERMSIG(c->status))));
	}
	json_object_set_new(res, "duration_ms",
	    json_integer((json_int_t)(ll_now_ms() - c->started)));
}

/* End pid and reap it; grace_ms lets it stop cleanly on SIGTERM first,
 * the SIGKILL after it keeps the agent from hanging on it. */
static void
child_stop(pid_t pid, int grace_ms)
{
	int waited;

	if (grace_ms > 0)
		child_kill(pid, SIGTERM);
	for (waited = 0; waited < grace_ms; waited += 50) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		usleep(50 * 1000);
	}
	child_kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

void
child_cleanup(struct child *c, int grace_ms)
{
	if (c->pid > 0 && !c->exited) {
		child_stop(c->pid, grace_ms);
		c->exited = true;
	}
	child_close(&c->fd[0]);
	child_close(&c->fd[1]);
	child_close(&c->fd[2]);
}
