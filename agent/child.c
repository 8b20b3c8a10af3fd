/*
 * Child processes (see child.h).
 *
 * The agent forks a guard, which starts a session of its own (so SIGTERM
 * or SIGKILL to its process group reaches whatever the command started)
 * and forks the command in it.  Between fork and exec the command resets
 * its signal mask and handlers, takes /dev/null (or the stdin pipe) and its
 * output fds as fds 0-2 and marks every other fd close-on-exec.  A name
 * without '/' is looked up there, after any chroot, in the clean PATH the
 * child gets (never the agent's own PATH, nor the working directory), with
 * execve alone: only async-signal-safe calls run between fork and exec.
 * If it cannot exec, it writes errno to a close-on-exec pipe; the parent
 * reads that pipe until EOF, so a failed exec is reported as an error
 * rather than as an exit status 127.  Reaping is the server's (SIGCHLD); it
 * hands the status over through job_reaped() or child_op_reaped().
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
 * command.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "child.h"
#include "msg.h"

#define CHILD_KILL_GRACE_MS	2000
#define CHILD_FD_FLOOR		10	/* above every fd the child sets up */
#define CHILD_CLOSE_RANGE_CLOEXEC (1U << 2)	/* linux/close_range.h */

#define CHILD_PATH	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char *const child_env[] = {
	"PATH=" CHILD_PATH, "HOME=/root", "TERM=dumb", "LC_ALL=C",
	"SHELL=/bin/sh", NULL
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

/*
 * In the forked child: execve argv[0], or each "dir/argv[0]" of the clean
 * PATH in turn for a name without '/', as execvp would but with the
 * child's PATH.  Returns only on failure, with errno set (EACCES when a
 * file was found but could not be run, as execvp reports it).
 */
static void
child_execve(char *const argv[])
{
	const char *dir = CHILD_PATH, *end;
	size_t dlen, nlen = strlen(argv[0]);
	char path[PATH_MAX];
	bool denied = false;

	if (strchr(argv[0], '/') != NULL) {
		execve(argv[0], argv, (char *const *)child_env);
		return;
	}
	for (; *dir != '\0'; dir = *end == ':' ? end + 1 : end) {
		end = strchr(dir, ':');
		if (end == NULL)
			end = dir + strlen(dir);
		dlen = (size_t)(end - dir);
		if (dlen + 1 + nlen + 1 > sizeof(path))
			continue;
		memcpy(path, dir, dlen);
		path[dlen] = '/';
		memcpy(path + dlen + 1, argv[0], nlen + 1);
		execve(path, argv, (char *const *)child_env);
		if (errno == EACCES)
			denied = true;
		else if (errno != ENOENT && errno != ENOTDIR)
			return;
	}
	errno = denied ? EACCES : ENOENT;
}

/*
 * In the forked child, under its guard (or, guard 0, on its own): never
 * returns.  out and err are -1 for /dev/null.
 */
static void
child_exec(pid_t guard, char *const argv[], const struct child_opts *o,
    int in, int out, int err, int errpipe)
{
	sigset_t none;
	int nul, moved, extra = -1, e, sig;

	/* a guard killed alone (SIGKILL to its pid) takes the command along;
	 * without one (detached) it leads a session of its own */
	if (guard > 0 && (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 ||
	    getppid() != guard))
		_exit(127);
	if (guard <= 0)
		setsid();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	/* Move everything above the fds it is about to take, so no dup2
	 * below overwrites one still to be used. */
	if ((moved = fcntl(errpipe, F_DUPFD_CLOEXEC, CHILD_FD_FLOOR)) < 0)
		goto fail;
	errpipe = moved;
	/* Above the floor too: dup2() onto itself would keep close-on-exec. */
	if ((nul = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0 ||
	    (nul = fcntl(nul, F_DUPFD_CLOEXEC, CHILD_FD_FLOOR)) < 0)
		goto fail;
	if (out < 0)
		out = nul;
	if (err < 0)
		err = nul;
	if ((out = fcntl(out, F_DUPFD_CLOEXEC, CHILD_FD_FLOOR)) < 0 ||
	    (err = fcntl(err, F_DUPFD_CLOEXEC, CHILD_FD_FLOOR)) < 0)
		goto fail;
	if (in >= 0 && (in = fcntl(in, F_DUPFD_CLOEXEC, CHILD_FD_FLOOR)) < 0)
		goto fail;
	if (o->extra_as > 2 && (extra = fcntl(o->extra_fd, F_DUPFD_CLOEXEC,
	    CHILD_FD_FLOOR)) < 0)
		goto fail;
	if (dup2(in >= 0 ? in : nul, 0) < 0 || dup2(out, 1) < 0 ||
	    dup2(err, 2) < 0)
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
	child_execve(argv);
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

bool
child_find_program(const char *program, char *out, size_t outlen)
{
	const char *dir = CHILD_PATH, *end;
	struct stat st;

	for (; *dir != '\0'; dir = *end == ':' ? end + 1 : end) {
		end = strchr(dir, ':');
		if (end == NULL)
			end = dir + strlen(dir);
		if (snprintf(out, outlen, "%.*s/%s", (int)(end - dir), dir,
		    program) >= (int)outlen)
			continue;
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode) &&
		    (st.st_mode & 0111) != 0 && access(out, X_OK) == 0)
			return true;
	}
	return false;
}

/* The pipes child_spawn() makes for o: 0, or -errno. */
static int
child_pipes(const struct child_opts *o, int out[2], int errp[2])
{
	if (o->output == CHILD_CAPTURE) {
		out[1] = errp[1] = o->capture_fd;
		return 0;
	}
	if (o->output == CHILD_DETACHED)
		return 0;
	if (pipe2(out, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0)
		return -errno;
	return 0;
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
	int e = 0, i, rc;
	ssize_t got;

	if (opts == NULL)
		opts = &none;
	if ((rc = child_pipes(opts, out, errp)) == 0 &&
	    (pipe2(ep, O_CLOEXEC) != 0 ||
	    (opts->stdin_pipe && pipe2(in, O_CLOEXEC) != 0)))
		rc = -errno;
	if (rc != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(-rc));
		goto out;
	}
	agent = getpid();
	if ((c->pid = fork()) < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		goto out;
	}
	/* a detached child is meant to outlive us: no guard for it */
	if (c->pid == 0 && opts->output == CHILD_DETACHED)
		child_exec(0, argv, opts, in[0], out[1], errp[1], ep[1]);
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
	in[1] = -1;
	if (c->fd[0] >= 0)
		fcntl(c->fd[0], F_SETFL, O_NONBLOCK);
	if (opts->output == CHILD_PIPES) {
		c->fd[1] = out[0];
		c->fd[2] = errp[0];
		out[0] = errp[0] = -1;
		fcntl(c->fd[1], F_SETFL, O_NONBLOCK);
		fcntl(c->fd[2], F_SETFL, O_NONBLOCK);
	}
	c->started = ll_now_ms();
	ec = NULL;
out:
	if (opts->output == CHILD_CAPTURE)
		out[1] = errp[1] = -1;	/* the caller's */
	for (i = 0; i < 2; i++) {
		child_close(&in[i]);
		child_close(&out[i]);
		child_close(&errp[i]);
		child_close(&ep[i]);
	}
	return ec;
}

void
child_signal(struct child *c, int sig)
{
	if (c->pid > 0 && !c->exited)
		child_kill(c->pid, sig);
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
