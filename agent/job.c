/*
 * Jobs owned by the agent (see job.h and docs/protocol.md, "Jobs").
 *
 * The output buffer of a job is one memfd: channel c's byte at offset o
 * lives at (c - 1) * LL_JOB_CHANNEL_MAX + o % LL_JOB_CHANNEL_MAX, a ring
 * addressed by absolute offsets, so a reader that remembers how many bytes
 * it received can continue at exactly the next one.  The file is in RAM
 * (tmpfs pages, allocated as written) but is never mapped, so the agent's
 * heap holds only one read buffer at a time whatever the jobs write.
 *
 * The pipes are read here, by the agent's loop, not by a request: a job
 * keeps running and its output keeps being collected when no session is
 * left.  A reader holds the job back (its pipe is not read) rather than
 * have its unsent bytes overwritten; with no reader the oldest bytes go.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "error.h"
#include "job.h"
#include "ll-limits.h"
#include "log.h"
#include "msg.h"

#define JOB_IO_MAX	(16 * 1024)	/* one read or send */
#define JOB_CAP		((uint64_t)LL_JOB_CHANNEL_MAX)
#define JOB_SHUTDOWN_GRACE_MS	1000	/* SIGTERM to SIGKILL at exit */
#define JOB_IN_WINDOW	((uint64_t)LL_JOB_STDIN_WINDOW)

static LIST_HEAD(, job) jobs = LIST_HEAD_INITIALIZER(jobs);
static unsigned njobs;
static uint32_t job_next_id = 1;

static void
job_free(struct job *j)
{
	struct job_reader *rd;

	while ((rd = LIST_FIRST(&j->readers)) != NULL) {
		LIST_REMOVE(rd, entry);
		rd->job = NULL;
	}
	LIST_REMOVE(j, entry);
	njobs--;
	child_cleanup(&j->child, 0);
	if (j->aux_fd >= 0)
		close(j->aux_fd);
	if (j->memfd >= 0)
		close(j->memfd);
	free(j->in_ring);
	json_decref(j->argv);
	free(j);
}

/* Make room for one more job: forget the ended job that ended first. */
static bool
job_make_room(void)
{
	struct job *j, *oldest = NULL;

	if (njobs < LL_JOBS_MAX)
		return true;
	LIST_FOREACH(j, &jobs, entry) {
		if (j->ended_at != 0 && (oldest == NULL ||
		    j->ended_at < oldest->ended_at))
			oldest = j;
	}
	if (oldest == NULL)
		return false;
	log_info("job %u forgotten to make room for a new one", oldest->id);
	job_free(oldest);
	return true;
}

struct job *
job_start(char *const argv[], const struct child_opts *opts,
    uint64_t timeout_ms, const char **ec, char *err, size_t errlen)
{
	struct job *j;
	size_t i;

	*ec = LL_EC_INTERNAL;
	if (!job_make_room()) {
		*ec = LL_EC_BUSY;
		snprintf(err, errlen, "%d jobs are running (the agent's "
		    "limit): wait for one or kill one (`lifeline jobs`)",
		    LL_JOBS_MAX);
		return NULL;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	child_init(&j->child);
	j->aux_fd = -1;
	LIST_INIT(&j->readers);
	j->argv = json_array();
	for (i = 0; argv[i] != NULL; i++)
		json_array_append_new(j->argv, ll_msg_text(argv[i]));
	if ((j->memfd = memfd_create("lifelined-job", MFD_CLOEXEC)) < 0) {
		snprintf(err, errlen, "memfd_create for the job's output "
		    "buffer: %s", strerror(errno));
		json_decref(j->argv);
		free(j);
		return NULL;
	}
	j->in_pipe = opts != NULL && opts->stdin_pipe;
	if (j->in_pipe && (j->in_ring = malloc(JOB_IN_WINDOW)) == NULL) {
		snprintf(err, errlen, "out of memory for the command's "
		    "standard input");
		close(j->memfd);
		json_decref(j->argv);
		free(j);
		return NULL;
	}
	if ((*ec = child_spawn(&j->child, argv, opts, err, errlen)) != NULL) {
		close(j->memfd);
		free(j->in_ring);
		json_decref(j->argv);
		free(j);
		return NULL;
	}
	j->id = job_next_id++;
	j->started_wall = (int64_t)time(NULL);
	if (timeout_ms > 0)
		j->deadline = j->child.started + timeout_ms;
	LIST_INSERT_HEAD(&jobs, j, entry);
	njobs++;
	log_info("job %u: %s (pid %d)", j->id, argv[0], (int)j->child.pid);
	return j;
}

void
job_set_progress_fd(struct job *j, int fd)
{
	fcntl(fd, F_SETFL, O_NONBLOCK);
	j->aux_fd = fd;
}

/* Progress lines are tiny: always read, so the child never blocks. */
static void
job_read_progress(struct job *j)
{
	char buf[1024];
	ssize_t n, i;

	while (j->aux_fd >= 0) {
		n = read(j->aux_fd, buf, sizeof(buf));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			close(j->aux_fd);
			j->aux_fd = -1;
			return;
		}
		for (i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				j->aux_part[j->aux_len] = '\0';
				memcpy(j->progress, j->aux_part,
				    j->aux_len + 1);
				j->progress_seq++;
				j->aux_len = 0;
			} else if (j->aux_len + 1 < sizeof(j->aux_part))
				j->aux_part[j->aux_len++] = buf[i];
		}
	}
}

struct job *
job_find(uint32_t id)
{
	struct job *j;

	LIST_FOREACH(j, &jobs, entry) {
		if (j->id == id)
			return j;
	}
	return NULL;
}

bool
job_is_running(const struct job *j)
{
	return j->ended_at == 0;
}

unsigned
job_running(char *names, size_t len)
{
	struct job *j;
	unsigned n = 0;
	size_t used = 0;

	if (len > 0)
		names[0] = '\0';
	LIST_FOREACH(j, &jobs, entry) {
		if (!job_is_running(j))
			continue;
		n++;
		if (len > used) {
			int w = snprintf(names + used, len - used, "%s%u (%s)",
			    used > 0 ? ", " : "", j->id, json_string_value(
			    json_array_get(j->argv, 0)));

			used += w > 0 ? (size_t)w : 0;
		}
	}
	return n;
}

json_t *
job_status(const struct job *j)
{
	json_t *st = json_object();
	uint64_t now = ll_now_ms();
	uint64_t until = j->ended_at != 0 ? j->ended_at : now;
	int status = j->child.status;

	json_object_set_new(st, "job", json_integer(j->id));
	json_object_set(st, "argv", j->argv);
	json_object_set_new(st, "started", json_integer(j->started_wall));
	json_object_set_new(st, "state", json_string(j->ended_at != 0 ?
	    "ended" : "running"));
	json_object_set_new(st, "stdout_bytes", json_integer((json_int_t)
	    j->end[1]));
	json_object_set_new(st, "stderr_bytes", json_integer((json_int_t)
	    j->end[2]));
	json_object_set_new(st, "stdout_start", json_integer((json_int_t)
	    j->start[1]));
	json_object_set_new(st, "stderr_start", json_integer((json_int_t)
	    j->start[2]));
	json_object_set_new(st, "buffered_bytes", json_integer((json_int_t)
	    (j->end[1] - j->start[1] + j->end[2] - j->start[2])));
	json_object_set_new(st, "stdin", json_string(!j->in_pipe ? "none" :
	    job_stdin_is_open(j) ? "open" : "closed"));
	if (j->in_pipe)
		json_object_set_new(st, "stdin_bytes", json_integer(
		    (json_int_t)j->in_taken));
	if (j->ended_at != 0) {
		child_result(&j->child, st);
		if (WIFSIGNALED(status) && WCOREDUMP(status))
			json_object_set_new(st, "core_dumped", json_true());
	}
	json_object_set_new(st, "timed_out", json_boolean(j->timed_out));
	json_object_set_new(st, "duration_ms", json_integer((json_int_t)
	    (until - j->child.started)));
	return st;
}

json_t *
job_list(void)
{
	json_t *a = json_array();
	uint32_t id, next = 0;
	struct job *j;

	/* ascending ids: the list is newest first */
	for (id = 1; id != 0; id = next) {
		next = 0;
		LIST_FOREACH(j, &jobs, entry) {
			if (j->id == id)
				json_array_append_new(a, job_status(j));
			if (j->id > id && (next == 0 || j->id < next))
				next = j->id;
		}
	}
	return a;
}

void
job_stdin_close(struct job *j)
{
	if (!j->in_pipe || j->in_closed)
		return;
	if (j->child.fd[0] >= 0)
		close(j->child.fd[0]);
	j->child.fd[0] = -1;
	j->in_closed = true;
	free(j->in_ring);
	j->in_ring = NULL;
}

bool
job_stdin_is_open(const struct job *j)
{
	return j->in_pipe && !j->in_closed;
}

/* Give the command's pipe what it takes now; close it after the EOF. */
static void
job_stdin_flush(struct job *j)
{
	while (job_stdin_is_open(j) && j->in_taken < j->in_recv) {
		uint64_t pos = j->in_taken % JOB_IN_WINDOW;
		uint64_t n = j->in_recv - j->in_taken;
		ssize_t w;

		if (n > JOB_IN_WINDOW - pos)
			n = JOB_IN_WINDOW - pos;
		w = write(j->child.fd[0], j->in_ring + pos, (size_t)n);
		if (w > 0) {
			j->in_taken += (uint64_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return;
		/* EPIPE: the command closed its stdin; the rest is of no use */
		log_info("job %u: its standard input is closed after %llu "
		    "bytes (%s); %llu bytes received were not taken", j->id,
		    (unsigned long long)j->in_taken, w < 0 ? strerror(errno) :
		    "no progress", (unsigned long long)(j->in_recv -
		    j->in_taken));
		job_stdin_close(j);
		return;
	}
	if (j->in_eof && j->in_taken == j->in_recv)
		job_stdin_close(j);
}

int
job_stdin_data(struct job *j, const uint8_t *p, size_t n, char *err,
    size_t errlen)
{
	uint64_t pos;
	size_t k;

	if (!j->in_pipe) {
		snprintf(err, errlen, "job %u reads no standard input (exec "
		    "without \"stdin\")", j->id);
		return -1;
	}
	if (j->in_eof) {
		snprintf(err, errlen, "standard input of job %u after its EOF",
		    j->id);
		return -1;
	}
	if (j->in_closed) {
		j->in_recv += n;	/* the command no longer reads it */
		return 0;
	}
	if (j->in_recv + n - j->in_taken > JOB_IN_WINDOW) {
		snprintf(err, errlen, "standard input of job %u beyond its "
		    "window: %llu bytes not yet taken, the window is %llu "
		    "bytes (the agent's \"stdin_offset\" events move it)",
		    j->id, (unsigned long long)(j->in_recv + n - j->in_taken),
		    (unsigned long long)JOB_IN_WINDOW);
		return -1;
	}
	while (n > 0) {
		pos = j->in_recv % JOB_IN_WINDOW;
		k = JOB_IN_WINDOW - pos < n ? (size_t)(JOB_IN_WINDOW - pos) : n;
		memcpy(j->in_ring + pos, p, k);
		j->in_recv += k;
		p += k;
		n -= k;
	}
	job_stdin_flush(j);
	return 0;
}

void
job_stdin_eof(struct job *j)
{
	if (!j->in_pipe)
		return;
	j->in_eof = true;
	job_stdin_flush(j);
}

void
job_terminate(struct job *j)
{
	child_terminate(&j->child, ll_now_ms());
}

int
job_signal(struct job *j, int sig)
{
	if (!job_is_running(j) || j->child.exited)
		return -ESRCH;
	if (kill(-j->child.pid, sig) != 0 && kill(j->child.pid, sig) != 0)
		return -errno;
	return 0;
}

/* Bytes channel ch of j may read now without overwriting a reader's. */
static uint64_t
job_room(const struct job *j, int ch)
{
	const struct job_reader *rd;
	uint64_t held = j->end[ch];
	bool any = false;

	LIST_FOREACH(rd, &j->readers, entry) {
		if (rd->eof_sent[ch] || rd->off[ch] >= rd->until[ch])
			continue;
		any = true;
		if (rd->off[ch] < held)
			held = rd->off[ch];
	}
	if (!any)
		return JOB_CAP;
	return JOB_CAP - (j->end[ch] - held);
}

/* Write (or read) n bytes of channel ch at offset off in the ring. */
static int
job_ring_io(struct job *j, int ch, uint64_t off, void *p, size_t n,
    bool write)
{
	uint64_t base = (uint64_t)(ch - 1) * JOB_CAP;

	while (n > 0) {
		uint64_t pos = off % JOB_CAP;
		size_t k = (size_t)(JOB_CAP - pos) < n ? (size_t)(JOB_CAP -
		    pos) : n;
		ssize_t done = write ? pwrite(j->memfd, p, k, (off_t)(base +
		    pos)) : pread(j->memfd, p, k, (off_t)(base + pos));

		if (done <= 0)
			return -1;
		p = (uint8_t *)p + done;
		off += (uint64_t)done;
		n -= (size_t)done;
	}
	return 0;
}

int
job_pollfds(struct pollfd *pfd, int max, int *timeout_ms)
{
	struct job *j;
	uint64_t now = ll_now_ms(), at;
	int n = 0, ch;

	LIST_FOREACH(j, &jobs, entry) {
		for (ch = 1; ch <= 2 && n < max; ch++) {
			if (j->child.fd[ch] < 0 || job_room(j, ch) == 0)
				continue;
			pfd[n].fd = j->child.fd[ch];
			pfd[n].events = POLLIN;
			pfd[n].revents = 0;
			n++;
		}
		if (job_stdin_is_open(j) && j->in_taken < j->in_recv &&
		    n < max) {
			pfd[n].fd = j->child.fd[0];
			pfd[n].events = POLLOUT;
			pfd[n].revents = 0;
			n++;
		}
		if (j->aux_fd >= 0 && n < max) {
			pfd[n].fd = j->aux_fd;
			pfd[n].events = POLLIN;
			pfd[n].revents = 0;
			n++;
		}
		at = j->child.kill_at;
		if (at == 0 && j->deadline != 0 && !j->timed_out &&
		    !j->child.exited)
			at = j->deadline;
		if (at == 0 && j->ended_at != 0)
			at = j->ended_at + LL_JOB_KEEP_MS;
		if (at != 0) {
			int ms = at > now ? (int)(at - now) : 0;

			if (*timeout_ms < 0 || ms < *timeout_ms)
				*timeout_ms = ms;
		}
	}
	return n;
}

static void
job_read(struct job *j, int ch)
{
	uint8_t buf[JOB_IO_MAX];

	while (j->child.fd[ch] >= 0) {
		uint64_t room = job_room(j, ch);
		ssize_t n;

		if (room == 0)
			return;
		n = read(j->child.fd[ch], buf, room < sizeof(buf) ?
		    (size_t)room : sizeof(buf));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			close(j->child.fd[ch]);
			j->child.fd[ch] = -1;
			return;
		}
		if (job_ring_io(j, ch, j->end[ch], buf, (size_t)n, true) != 0) {
			log_error("job %u: writing its output buffer: %s; "
			    "%zd bytes lost", j->id, strerror(errno), n);
			j->start[ch] = j->end[ch] + (uint64_t)n;
		}
		j->child.bytes[ch] += (uint64_t)n;
		j->end[ch] += (uint64_t)n;
		if (j->end[ch] - j->start[ch] > JOB_CAP)
			j->start[ch] = j->end[ch] - JOB_CAP;
	}
}

void
job_io(uint64_t now)
{
	struct job *j, *next;

	for (j = LIST_FIRST(&jobs); j != NULL; j = next) {
		next = LIST_NEXT(j, entry);
		job_read(j, 1);
		job_read(j, 2);
		job_read_progress(j);
		job_stdin_flush(j);
		child_kill_due(&j->child, now);
		if (j->deadline != 0 && !j->child.exited && !j->timed_out &&
		    now >= j->deadline) {
			log_info("job %u: timed out, terminating pid %d",
			    j->id, (int)j->child.pid);
			j->timed_out = true;
			child_terminate(&j->child, now);
		}
		if (j->ended_at == 0 && child_is_done(&j->child)) {
			/* Whatever progress is left is of no use now. */
			if (j->aux_fd >= 0)
				close(j->aux_fd);
			j->aux_fd = -1;
			job_stdin_close(j);
			j->ended_at = now;
			log_info("job %u ended", j->id);
		}
		if (j->ended_at != 0 && LIST_EMPTY(&j->readers) &&
		    now >= j->ended_at + LL_JOB_KEEP_MS) {
			log_info("job %u forgotten %d min after its end",
			    j->id, LL_JOB_KEEP_MS / 60000);
			job_free(j);
		}
	}
}

bool
job_reaped(pid_t pid, int status)
{
	struct job *j;

	LIST_FOREACH(j, &jobs, entry) {
		if (j->child.pid == pid && !j->child.exited) {
			j->child.exited = true;
			j->child.status = status;
			j->child.kill_at = 0;
			return true;
		}
	}
	return false;
}

void
job_shutdown(void)
{
	struct job *j;
	uint64_t now = ll_now_ms(), until = now + JOB_SHUTDOWN_GRACE_MS;
	bool left;

	/* All at once, so that the grace is shared, not summed. */
	LIST_FOREACH(j, &jobs, entry) {
		if (!j->child.exited) {
			log_info("job %u: ending it, the agent exits", j->id);
			child_terminate(&j->child, now);
		}
	}
	do {
		int status;
		pid_t pid;

		left = false;
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			job_reaped(pid, status);
		LIST_FOREACH(j, &jobs, entry)
			left = left || !j->child.exited;
		if (left)
			usleep(20 * 1000);
	} while (left && ll_now_ms() < until);
	while ((j = LIST_FIRST(&jobs)) != NULL)
		job_free(j);	/* SIGKILL to what is left, and reaped */
}

int
job_reader_attach(struct job_reader *rd, struct job *j, struct request *r,
    const uint64_t off[3], bool follow, uint64_t dropped[3], char *err,
    size_t errlen)
{
	int ch;

	memset(rd, 0, sizeof(*rd));
	for (ch = 1; ch <= 2; ch++) {
		if (off[ch] > j->end[ch]) {
			snprintf(err, errlen, "%s_offset %llu is beyond the "
			    "%llu bytes job %u wrote there", ch == 1 ?
			    "stdout" : "stderr", (unsigned long long)off[ch],
			    (unsigned long long)j->end[ch], j->id);
			return -1;
		}
		rd->off[ch] = off[ch] < j->start[ch] ? j->start[ch] : off[ch];
		dropped[ch] = rd->off[ch] - off[ch];
		rd->until[ch] = follow ? UINT64_MAX : j->end[ch];
	}
	rd->job = j;
	rd->r = r;
	LIST_INSERT_HEAD(&j->readers, rd, entry);
	return 0;
}

void
job_reader_detach(struct job_reader *rd)
{
	if (rd->job == NULL)
		return;
	LIST_REMOVE(rd, entry);
	rd->job = NULL;
}

bool
job_reader_pump(struct job_reader *rd)
{
	uint8_t buf[JOB_IO_MAX];
	struct job *j = rd->job;
	int ch;

	if (j == NULL)
		return true;
	for (ch = 1; ch <= 2; ch++) {
		uint64_t limit = rd->until[ch] < j->end[ch] ? rd->until[ch] :
		    j->end[ch];
		size_t room;

		if (rd->eof_sent[ch])
			continue;
		/* Only a forgotten reader could lag; never send a hole. */
		if (rd->off[ch] < j->start[ch])
			rd->off[ch] = j->start[ch];
		while (rd->off[ch] < limit &&
		    (room = request_room(rd->r)) > 0) {
			size_t n = sizeof(buf);

			if (room < n)
				n = room;
			if (limit - rd->off[ch] < n)
				n = (size_t)(limit - rd->off[ch]);
			if (job_ring_io(j, ch, rd->off[ch], buf, n, false) != 0)
				break;
			if (request_data(rd->r, (uint8_t)ch, buf, n) != 0)
				return true;	/* the request ended with ERROR */
			rd->off[ch] += n;
		}
		if (rd->off[ch] == rd->until[ch] || (j->child.fd[ch] < 0 &&
		    rd->off[ch] == j->end[ch])) {
			if (request_eof(rd->r, (uint8_t)ch) != 0)
				return true;
			rd->eof_sent[ch] = true;
		}
	}
	return rd->eof_sent[1] && rd->eof_sent[2];
}
