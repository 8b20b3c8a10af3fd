/*
 * Ctrl-C while a job is waited for (exec, fsck, output --follow, wait):
 * stop the job, or only stop waiting?
 *
 * A job outlives its session, so an interrupt is ambiguous: an operator
 * who presses Ctrl-C during `fsck -y` may want the repair stopped, or only
 * the terminal back.  conn_call hands the first interrupt of a call whose
 * handlers carry a struct job_ask to job_ask_interrupt(), which decides:
 *
 * - job unknown yet, or the command's stdin still being sent (a cut input
 *   ends the command anyway): stop it, as before (CONN_INT_CANCEL);
 * - stdin not a terminal (piped, scripted): stop waiting at once, the job
 *   runs on, and say how to follow it (CONN_INT_DETACH);
 * - on a terminal: ask on stderr, read the answer from stdin while the
 *   session keeps running (CONN_INT_ASKING until answered; Ctrl-C again
 *   means stop).  "s" stops the job: for exec and fsck by cancelling their
 *   request, for output and wait by a job-signal (SIGTERM) while following
 *   on to its end (CONN_INT_SIGNALLED); anything else, or just Enter, stops
 *   waiting.
 *
 * Whatever happens is said on stderr with the job id.
 */
#ifndef LL_CLIENT_JOB_ASK_H
#define LL_CLIENT_JOB_ASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn;
struct stream_out;

enum {
	CONN_INT_CANCEL,	/* cancel the request (the default) */
	CONN_INT_ASKING,	/* a question is open: keep going */
	CONN_INT_DETACH,	/* stop waiting now; conn err says so */
	CONN_INT_SIGNALLED,	/* the job was signalled: keep following */
};

struct job_ask {
	const char *what;		/* "the command", "the checker"; NULL */
	const long *job;		/* its id, 0 while unknown */
	/* Where the output was followed from ([1], [2]; NULL: 0) and what
	 * arrived since: the hint to continue.  out NULL: no output (wait). */
	const uint64_t *from;
	const struct stream_out *out;
	const uint64_t *pos;		/* else: the next offsets themselves */
	bool stop_by_signal;		/* stop with job-signal, not CANCEL */
	bool input_open;		/* our stdin is still being sent to it */
	/* state of one interrupt */
	bool asking;
	char answer[64];
	size_t len;
};

/* What conn_call does about the interrupt now (CONN_INT_*). */
int job_ask_interrupt(struct job_ask *a, struct conn *c, uint32_t id);
/* While asking: the fd the answer comes on (stdin), else -1. */
int job_ask_wake_fd(const struct job_ask *a);
/*
 * "`lifeline output --follow --from O,E ID` continues after the O and E
 * bytes of stdout and stderr received, and ends with its status" into
 * buf, from pos[1..2].
 */
void job_ask_hint(char *buf, size_t len, long job, const uint64_t pos[3]);

#endif
