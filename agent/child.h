/*
 * The agent's one way to start a process: jobs (exec, fsck), inspect's
 * tools and reboot's hook all go through child_spawn(), so every child
 * gets the same clean environment, the same signal reset, its own session
 * and process group, and the same guard that closes every other fd of the
 * agent (the sockets of other sessions, say) before it runs.
 *
 * child_spawn() runs an argv (no shell; a name without '/' is looked up in
 * the clean PATH) with /dev/null as stdin (or, with opts->stdin_pipe, a
 * pipe whose non-blocking write end is c->fd[0]).  Where its stdout and stderr go
 * is the caller's choice (struct child_opts, output):
 *   CHILD_PIPES     two pipes, c->fd[1] and c->fd[2], for the caller to
 *                   read (job.c keeps them in the job's buffer);
 *   CHILD_CAPTURE   both into one fd of the caller's (a memfd: inspect
 *                   keeps the tail of mdadm's output);
 *   CHILD_DETACHED  /dev/null, and nobody waits for it (reboot's hook):
 *                   the loop's SIGCHLD handling reaps it.
 * Reaping is the server's (SIGCHLD); an operation whose state starts with
 * its struct child hands the status over through child_op_reaped().
 */
#ifndef LL_AGENT_CHILD_H
#define LL_AGENT_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

struct request;

enum child_output {
	CHILD_PIPES,		/* stdout, stderr: pipes in c->fd[1], c->fd[2] */
	CHILD_CAPTURE,		/* both into capture_fd */
	CHILD_DETACHED,		/* both to /dev/null; nobody waits for it */
};

struct child_opts {
	enum child_output output;	/* CHILD_PIPES when zeroed */
	int capture_fd;		/* CHILD_CAPTURE: stdout and stderr go here */
	const char *cwd;	/* absolute, inside the root; NULL: keep */
	int root_fd;		/* directory to chroot into; -1: none */
	int extra_fd;		/* given to the child as fd extra_as ... */
	int extra_as;		/* ... when extra_as > 2; 0: none */
	bool stdin_pipe;	/* stdin is a pipe (fd[0]), not /dev/null */
};

struct child {
	pid_t pid;		/* -1 before spawning */
	int fd[3];		/* [1] stdout, [2] stderr read ends; -1: EOF;
				 * [0] stdin's write end (non-blocking), -1:
				 * /dev/null or closed */
	bool exited;		/* reaped: status is valid */
	int status;		/* wait(2) status */
	uint64_t bytes[3];	/* bytes sent so far on channels 1 and 2 */
	uint64_t started;	/* ll_now_ms() at the spawn */
	uint64_t kill_at;	/* when SIGKILL follows SIGTERM; 0: not due */
};

/* Make c safe for child_cleanup() before anything is spawned. */
void child_init(struct child *c);
/*
 * Where program (a name without '/') is in the clean PATH children get:
 * the first directory holding an executable regular file of that name.
 * True with its full path in out; false when there is none.
 */
bool child_find_program(const char *program, char *out, size_t outlen);
/*
 * Start argv[0] (a path, or a name looked up in the clean PATH) with argv,
 * under a guard process that kills the command's process group should the
 * agent die (child.c); c->pid is the guard's, which ends as the command
 * does (exit status, or the same signal without a core dump).
 * Returns NULL once it runs, or the error code for the request's ERROR
 * with its message in err: LL_EC_EXEC_FAILED when the program could not be
 * started (the child is already reaped), LL_EC_INTERNAL when a pipe or
 * fork failed.  opts may be NULL (CHILD_PIPES, no chroot).
 * opts->extra_fd and opts->capture_fd stay the caller's.  A CHILD_DETACHED
 * child is the loop's to reap: c->pid says which it was, nothing else of c
 * needs cleaning up.
 */
const char *child_spawn(struct child *c, char *const argv[],
    const struct child_opts *opts, char *err, size_t errlen);
/* Send sig to the child's process group (and to the child itself) if it
 * has not been reaped yet. */
void child_signal(struct child *c, int sig);
/* SIGKILL the group once the grace after child_terminate() is over. */
void child_kill_due(struct child *c, uint64_t now);
/*
 * The agent_op child hook of an operation whose r->state (NULL, or a
 * struct whose first member is its struct child) runs one child: records
 * pid's wait status; false when pid is not that child (or already seen).
 */
bool child_op_reaped(struct request *r, pid_t pid, int status);
/* SIGTERM the child's group, SIGKILL after a grace period; does nothing if
 * it has exited or is already being terminated. */
void child_terminate(struct child *c, uint64_t now);
/* Reaped and both pipes at EOF: the request can be answered. */
bool child_is_done(const struct child *c);
/* Add to the reply res how the reaped child ended ("exit_status", or
 * "signal" and "signal_name") and "duration_ms" since the spawn. */
void child_result(const struct child *c, json_t *res);
/*
 * Close the pipes; a child still running is ended and reaped first: with
 * SIGTERM and up to grace_ms to stop, then SIGKILL (grace_ms 0: SIGKILL
 * at once).  Blocks until it is reaped.
 */
void child_cleanup(struct child *c, int grace_ms);

#endif
