/*
 * Jobs: commands owned by the agent rather than by the session that
 * started them (docs/protocol.md, "Jobs").
 *
 * A job runs one child.c process.  Its stdout and stderr are read by the
 * agent's loop (job_pollfds/job_io) into the job's output buffer, a memfd
 * holding the last LL_JOB_CHANNEL_MAX bytes of each channel, whoever is
 * listening.  Requests read the buffer through a struct job_reader from an
 * offset of their choice; while a reader is attached the job is held back
 * (its pipe not read) instead of overwriting bytes that reader still has
 * to send, and while none is, the oldest bytes are dropped.  A session's
 * end only detaches its readers: the job runs on.
 *
 * With a stdin pipe (exec "stdin"), the bytes a client sends wait in a ring
 * of LL_JOB_STDIN_WINDOW bytes until the command's pipe takes them: the
 * client sends no more than that beyond what the pipe took (the agent
 * tells it, job_stdin_taken), so the ring never overflows whatever the
 * size of the input.
 */
#ifndef LL_AGENT_JOB_H
#define LL_AGENT_JOB_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <jansson.h>

#include "child.h"

struct request;
struct job;

/* One request's view of a job's output: the next offset of each channel. */
struct job_reader {
	struct job *job;	/* NULL once the job was forgotten */
	struct request *r;
	uint64_t off[3];	/* [1] stdout, [2] stderr */
	uint64_t until[3];	/* stop there; UINT64_MAX: follow to the end */
	bool eof_sent[3];
	LIST_ENTRY(job_reader) entry;
};

struct job {
	uint32_t id;
	json_t *argv;		/* array of strings */
	int64_t started_wall;	/* time(NULL) at the start */
	struct child child;
	int memfd;		/* the output buffer: channel c at (c-1)*cap */
	uint64_t start[3];	/* oldest offset still buffered */
	uint64_t end[3];	/* offset after the last byte read */
	uint64_t deadline;	/* timeout_ms: terminate then; 0: none */
	bool timed_out;
	uint64_t ended_at;	/* ll_now_ms() when it ended; 0: running */
	/* A progress pipe (e2fsck -C): read always, its last line kept. */
	int aux_fd;		/* -1: none; the job's once set */
	char aux_part[256];	/* the line being read */
	size_t aux_len;
	char progress[256];	/* the last complete line */
	uint32_t progress_seq;	/* counts complete lines */
	/* Standard input (child.fd[0]), when in_pipe; else /dev/null. */
	bool in_pipe;
	uint8_t *in_ring;	/* byte at offset o at o % the window */
	uint64_t in_recv;	/* bytes received from the client */
	uint64_t in_taken;	/* bytes the command's pipe took */
	bool in_eof;		/* the client's EOF came: close once taken */
	bool in_closed;		/* closed: by EOF, the command or its end */
	LIST_HEAD(, job_reader) readers;
	LIST_ENTRY(job) entry;
};

/*
 * Start argv as a new job (opts as child_spawn; timeout_ms 0: none).
 * Returns NULL with an error code (LL_EC_*) in *ec and its message in err.
 */
struct job *job_start(char *const argv[], const struct child_opts *opts,
    uint64_t timeout_ms, const char **ec, char *err, size_t errlen);
struct job *job_find(uint32_t id);
/* Give j the read end of a line-based progress pipe (j closes it). */
void job_set_progress_fd(struct job *j, int fd);
bool job_is_running(const struct job *j);
/* The number of running jobs; with names, "3 (tar), 5 (e2fsck)" in it. */
unsigned job_running(char *names, size_t len);
/* The job's status object (docs/protocol.md); caller decrefs. */
json_t *job_status(const struct job *j);
/* All jobs' status objects, in id order. */
json_t *job_list(void);
/*
 * Standard input of a job started with child_opts.stdin_pipe.  Data: n
 * bytes more from the client (taken by the pipe now or later); -1 with
 * err set when they go beyond the window or come after the EOF.  Bytes
 * for a stdin already closed by the command are dropped (0).
 */
int job_stdin_data(struct job *j, const uint8_t *p, size_t n, char *err,
    size_t errlen);
/* The client's EOF: the pipe closes once it took every byte. */
void job_stdin_eof(struct job *j);
/* Close stdin now (bytes not yet taken are dropped). */
void job_stdin_close(struct job *j);
/* Does the job have a stdin pipe still open (or bytes waiting for it)? */
bool job_stdin_is_open(const struct job *j);
/* SIGTERM its process group, SIGKILL after the grace. */
void job_terminate(struct job *j);
/* Send sig to its process group: 0, or -errno. */
int job_signal(struct job *j, int sig);

/* The agent loop: pipes to read, timers; reading, timeouts, expiry. */
int job_pollfds(struct pollfd *pfd, int max, int *timeout_ms);
void job_io(uint64_t now);
/* SIGCHLD: true when pid was a job's process. */
bool job_reaped(pid_t pid, int status);
/* Agent exit: SIGTERM every job's process group, SIGKILL after 1 s at
 * most, and free all. */
void job_shutdown(void);

/*
 * Attach rd (caller storage) to j for request r from offsets off[1..2]
 * (clamped up to the oldest byte buffered; dropped[] says by how much).
 * With follow, up to the job's end, else up to what is buffered now.
 * Returns 0, or -1 with err set when an offset is beyond the job's output.
 */
int job_reader_attach(struct job_reader *rd, struct job *j,
    struct request *r, const uint64_t off[3], bool follow,
    uint64_t dropped[3], char *err, size_t errlen);
void job_reader_detach(struct job_reader *rd);
/*
 * Send what the session has room for as r's DATA, and each channel's EOF
 * at its end.  Returns true once both EOFs are sent.
 */
bool job_reader_pump(struct job_reader *rd);

#endif
