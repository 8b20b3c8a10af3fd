/*
 * A child process whose stdout and stderr stream to the client: the
 * machinery exec and fsck share.
 *
 * A struct child starts the operation's state.  child_spawn() runs an
 * argv (no shell) with a clean environment, /dev/null as stdin (or, with
 * stdin_pipe, a pipe whose write end is fd[0]), its own process group and
 * default signals; its stdout and stderr become pipes
 * read by child_pump() into DATA records on channels 1 and 2, each closed
 * with an EOF.  The operation forwards its poll, io, child and cancel hooks
 * here and finishes its request once child_is_done().
 */
#ifndef LL_AGENT_CHILD_H
#define LL_AGENT_CHILD_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

struct request;

struct child_opts {
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
 * Start argv[0] (a path, or a name looked up in the clean PATH) with argv,
 * under a guard process that kills the command's process group should the
 * agent die (child.c); c->pid is the guard's, which ends as the command
 * does (exit status, or the same signal without a core dump).
 * Returns NULL once it runs, or the error code for the request's ERROR
 * with its message in err: LL_EC_EXEC_FAILED when the program could not be
 * started (the child is already reaped), LL_EC_INTERNAL when a pipe or
 * fork failed.  opts may be NULL.  opts->extra_fd stays the caller's.
 */
const char *child_spawn(struct child *c, char *const argv[],
    const struct child_opts *opts, char *err, size_t errlen);
/*
 * Fill pfd (at most max entries) with the output pipes, readable only when
 * r's session has room, and lower *timeout_ms (-1: none) to when SIGKILL is
 * due.  Returns the number of entries.
 */
int child_pollfds(struct child *c, struct request *r, struct pollfd *pfd,
    int max, int *timeout_ms);
/* Send what output the session has room for as r's DATA (and EOF), and
 * SIGKILL the group once the grace after child_terminate() is over. */
void child_pump(struct child *c, struct request *r, uint64_t now);
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
