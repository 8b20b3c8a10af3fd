/*
 * Ctrl-C while a job is waited for: stop the job, or only stop waiting
 * (see job-ask.h).  The question is asked without blocking: conn_call
 * keeps the session running (keepalives, output) and polls stdin for the
 * answer through job_ask_wake_fd(), so a slow answer never costs the link.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "client.h"
#include "job-ask.h"
#include "msg.h"

void
job_ask_hint(char *buf, size_t len, long job, const uint64_t pos[3])
{
	snprintf(buf, len, "`lifeline output --follow --from %llu,%llu %ld` "
	    "continues after the %llu and %llu bytes of stdout and stderr "
	    "received, and ends with its status", (unsigned long long)pos[1],
	    (unsigned long long)pos[2], job, (unsigned long long)pos[1],
	    (unsigned long long)pos[2]);
}

/* "job 5 (the checker)", or "job 5" without a what. */
static const char *
job_ask_name(const struct job_ask *a)
{
	static char name[96];

	snprintf(name, sizeof(name), "job %ld%s%s%s", *a->job, a->what !=
	    NULL ? " (" : "", a->what != NULL ? a->what : "", a->what != NULL ?
	    ")" : "");
	return name;
}

/* Stop waiting: the request is left to the session's end, the job runs. */
static int
job_ask_detach(struct job_ask *a, struct conn *c, const char *why)
{
	uint64_t pos[3] = { 0 };
	char hint[256];
	int ch;

	if (a->pos != NULL) {
		memcpy(pos, a->pos, sizeof(pos));
		job_ask_hint(hint, sizeof(hint), *a->job, pos);
	} else if (a->out == NULL)
		snprintf(hint, sizeof(hint), "`lifeline wait %ld` waits for "
		    "it again", *a->job);
	else {
		for (ch = 1; ch <= 2; ch++)
			pos[ch] = (a->from != NULL ? a->from[ch] : 0) +
			    a->out->received[ch];
		job_ask_hint(hint, sizeof(hint), *a->job, pos);
	}
	conn_set_error(c, conn_interrupt_status(), "%s; %s runs on: %s", why,
	    job_ask_name(a), hint);
	return CONN_INT_DETACH;
}

/* Stop the job: exec and fsck cancel their request, the others signal. */
static int
job_ask_stop(struct job_ask *a, struct conn *c)
{
	json_t *req;

	a->asking = false;
	if (!a->stop_by_signal) {
		msg_warn("stopping %s: asking the agent to end it",
		    job_ask_name(a));
		conn_interrupted = 1;	/* and wait for it to confirm */
		return CONN_INT_CANCEL;
	}
	req = json_pack("{s:s, s:{s:I, s:i}}", "op", "job-signal", "args",
	    "job", (json_int_t)*a->job, "signal", 15);
	if (req == NULL || ll_session_send_json(c->s, LL_MSG_REQUEST,
	    ++c->next_id, req) != 0) {
		json_decref(req);
		msg_error("could not ask the agent to stop %s; it runs on",
		    job_ask_name(a));
		return CONN_INT_DETACH;
	}
	json_decref(req);
	msg_warn("stopping %s: SIGTERM sent to it; following it to its end",
	    job_ask_name(a));
	conn_interrupted = 0;
	return CONN_INT_SIGNALLED;
}

/* A line of answer from stdin, if one came: 1 stop, 0 detach, -1 none. */
static int
job_ask_read(struct job_ask *a)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
	char c;
	ssize_t n;
	size_t i;

	while (poll(&p, 1, 0) > 0) {
		n = read(STDIN_FILENO, &c, 1);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return -1;
		if (n <= 0)
			return 0;	/* end of input: the safe answer */
		if (c != '\n') {
			if (a->len + 1 < sizeof(a->answer))
				a->answer[a->len++] = c;
			continue;
		}
		a->answer[a->len] = '\0';
		for (i = 0; isspace((unsigned char)a->answer[i]); i++)
			;
		a->len = 0;
		return tolower((unsigned char)a->answer[i]) == 's' ? 1 : 0;
	}
	return -1;
}

int
job_ask_interrupt(struct job_ask *a, struct conn *c, uint32_t id)
{
	int answer;

	(void)id;
	if (*a->job <= 0 || a->input_open) {
		if (a->input_open)
			msg_warn("interrupted while its input is still being "
			    "sent: stopping %s (a command given part of its "
			    "input is ended)", job_ask_name(a));
		return CONN_INT_CANCEL;
	}
	if (!a->asking) {
		if (!isatty(STDIN_FILENO))
			return job_ask_detach(a, c, "interrupted: stopped "
			    "waiting (not asking: stdin is not a terminal)");
		fprintf(stderr, "\nlifeline: %s is still running. Stop it, or "
		    "only stop waiting and leave it running? [s]top / [W]ait "
		    "no more (Ctrl-C again: stop) ", job_ask_name(a));
		fflush(stderr);
		a->asking = true;
		a->len = 0;
		conn_interrupted = 1;
		return CONN_INT_ASKING;
	}
	if (conn_interrupted > 1)
		return job_ask_stop(a, c);
	if ((answer = job_ask_read(a)) < 0)
		return CONN_INT_ASKING;
	if (answer > 0)
		return job_ask_stop(a, c);
	a->asking = false;
	return job_ask_detach(a, c, "stopped waiting");
}

int
job_ask_wake_fd(const struct job_ask *a)
{
	return a != NULL && a->asking ? STDIN_FILENO : -1;
}
