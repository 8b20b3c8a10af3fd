/*
 * Session glue: transport bytes <-> link <-> message records.
 *
 * Outgoing records are appended to a per-stream queue (tx[0] control,
 * tx[1] bulk) and moved into the link as its streams accept them.  The link
 * produces wire bytes into `wire`, which is written to the transport as it
 * accepts them.  New wire bytes are only asked for when `wire` is empty and,
 * with a known line rate, when the pacing budget allows, so a frame waits
 * in the ARQ (where control has priority) rather than in a kernel queue.
 *
 * Incoming stream bytes are read into rx[0] and rx[1] and parsed into
 * records one at a time; control records are returned before bulk ones so a
 * cancel is never stuck behind data.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "ll-limits.h"
#include "session.h"

#define SESSION_TX_MAX	(LL_MSG_MAX + 2 * LL_DATA_CHUNK_MAX)
#define SESSION_RX_MAX	(LL_MSG_MAX + LL_MSG_HEADER_LEN)
#define SESSION_BULK_HIGH (2 * LL_DATA_CHUNK_MAX) /* queue bound for room() */
#define SESSION_ROOM_MIN (LL_DATA_CHUNK_MAX / 4)	/* room offered at least */
#define SESSION_WIRE_MAX (64 * 1024)
#define SESSION_BURST_MS 30		/* pacing bucket depth */
#define SESSION_WAKE_BYTES 64		/* tokens worth waking up for */

struct ll_session {
	struct ll_transport *t;
	struct ll_link *link;
	struct ll_link_config cfg;
	struct ll_buf wire;
	struct ll_buf tx[2];
	struct ll_buf rx[2];
	unsigned rate;			/* bytes/s, 0 = unpaced */
	double tokens;
	uint64_t token_time;
	int error;
	char errtext[256];
	ll_console_fn *console;
	void *console_ctx;
	uint32_t generation;
};

uint64_t
ll_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct ll_session *
ll_session_new(struct ll_transport *t, const struct ll_link_config *cfg,
    uint64_t now)
{
	struct ll_session *s;
	int i;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->cfg = *cfg;
	if (s->cfg.line_rate == 0)
		s->cfg.line_rate = ll_transport_line_rate(t);
	s->rate = s->cfg.line_rate;
	s->tokens = 0;
	s->token_time = now;
	if ((s->link = ll_link_new(&s->cfg, now)) == NULL) {
		free(s);
		return NULL;
	}
	s->t = t;
	ll_buf_init(&s->wire, SESSION_WIRE_MAX);
	for (i = 0; i < 2; i++) {
		ll_buf_init(&s->tx[i], SESSION_TX_MAX);
		ll_buf_init(&s->rx[i], SESSION_RX_MAX);
	}
	s->generation = ll_link_session(s->link);
	return s;
}

void
ll_session_free(struct ll_session *s)
{
	int i;

	if (s == NULL)
		return;
	ll_link_free(s->link);
	ll_transport_close(s->t);
	ll_buf_cleanup(&s->wire);
	for (i = 0; i < 2; i++) {
		ll_buf_cleanup(&s->tx[i]);
		ll_buf_cleanup(&s->rx[i]);
	}
	free(s);
}

void
ll_session_set_console(struct ll_session *s, ll_console_fn *fn, void *ctx)
{
	s->console = fn;
	s->console_ctx = ctx;
}

struct ll_link *
ll_session_link(struct ll_session *s)
{
	return s->link;
}

struct ll_transport *
ll_session_transport(struct ll_session *s)
{
	return s->t;
}

bool
ll_session_is_up(const struct ll_session *s)
{
	return s->error == 0 && ll_link_state(s->link) == LL_LINK_UP;
}

uint32_t
ll_session_generation(const struct ll_session *s)
{
	return ll_link_session(s->link);
}

const char *
ll_session_error_text(const struct ll_session *s)
{
	if (s->errtext[0] != '\0')
		return s->errtext;
	return ll_strerror(s->error);
}

static int session_fail(struct ll_session *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static int
session_fail(struct ll_session *s, int err, const char *fmt, ...)
{
	va_list ap;

	if (s->error != 0)
		return s->error;
	s->error = err;
	va_start(ap, fmt);
	vsnprintf(s->errtext, sizeof(s->errtext), fmt, ap);
	va_end(ap);
	return err;
}

/* Pacing budget in bytes at now; unlimited without a known rate. */
static size_t
session_budget(struct ll_session *s, uint64_t now)
{
	double depth;

	if (s->rate == 0)
		return SESSION_WIRE_MAX;
	depth = (double)s->rate * SESSION_BURST_MS / 1000.0;
	s->tokens += (double)s->rate * (double)(now - s->token_time) / 1000.0;
	s->token_time = now;
	if (s->tokens > depth)
		s->tokens = depth;
	return s->tokens > 0 ? (size_t)s->tokens : 0;
}

int
ll_session_pollfds(struct ll_session *s, struct pollfd *pfd, uint64_t now,
    int *timeout_ms)
{
	uint64_t deadline = ll_link_deadline(s->link);
	int n = 0;

	pfd[0].fd = s->t->rfd;
	pfd[0].events = POLLIN;
	pfd[0].revents = 0;
	if (s->t->wfd == s->t->rfd) {
		if (ll_buf_avail(&s->wire) > 0)
			pfd[0].events |= POLLOUT;
		n = 1;
	} else {
		pfd[1].fd = s->t->wfd;
		pfd[1].events = ll_buf_avail(&s->wire) > 0 ? POLLOUT : 0;
		pfd[1].revents = 0;
		n = 2;
	}
	/*
	 * Out of pacing tokens: whatever the link wants to send waits until
	 * the line has room again, rather than spinning on a past deadline.
	 */
	if (ll_buf_avail(&s->wire) == 0 && s->rate != 0 &&
	    deadline != UINT64_MAX && s->tokens < SESSION_WAKE_BYTES) {
		uint64_t ready = s->token_time + (uint64_t)((SESSION_WAKE_BYTES -
		    s->tokens) * 1000.0 / s->rate) + 1;

		if (deadline < ready)
			deadline = ready;
	}
	if (s->tx[0].len > s->tx[0].off || s->tx[1].len > s->tx[1].off) {
		if (deadline > now + 10)
			deadline = now + 10;
	}
	if (timeout_ms != NULL && deadline != UINT64_MAX) {
		int64_t ms = deadline > now ? (int64_t)(deadline - now) : 0;

		if (*timeout_ms < 0 || ms < *timeout_ms)
			*timeout_ms = (int)ms;
	}
	return n;
}

/* Move queued record bytes into the link streams. */
static void
session_feed_link(struct ll_session *s)
{
	int i;

	if (ll_link_state(s->link) != LL_LINK_UP)
		return;
	for (i = 0; i < 2; i++) {
		size_t n = ll_buf_avail(&s->tx[i]);
		ssize_t w;

		if (n == 0)
			continue;
		w = ll_link_write(s->link, (unsigned)i, ll_buf_ptr(&s->tx[i]), n);
		if (w > 0)
			ll_buf_consume(&s->tx[i], (size_t)w);
		if (ll_buf_avail(&s->tx[i]) == 0)
			ll_buf_reset(&s->tx[i]);
	}
}

/* Move link stream bytes into rx buffers (bounded). */
static void
session_drain_link(struct ll_session *s)
{
	int i;

	for (i = 0; i < 2; i++) {
		for (;;) {
			uint8_t *p;
			size_t want = ll_link_readable(s->link, (unsigned)i);
			ssize_t r;

			if (want == 0)
				break;
			ll_buf_compact(&s->rx[i]);
			if (want > s->rx[i].max - s->rx[i].len)
				want = s->rx[i].max - s->rx[i].len;
			if (want == 0 || ll_buf_reserve(&s->rx[i], want, &p) != 0)
				break;
			r = ll_link_read(s->link, (unsigned)i, p, want);
			if (r <= 0)
				break;
			ll_buf_commit(&s->rx[i], (size_t)r);
		}
	}
}

static void
session_console(struct ll_session *s)
{
	uint8_t text[1024];
	size_t n;

	while ((n = ll_link_console(s->link, text, sizeof(text))) > 0) {
		if (s->console != NULL)
			s->console(s->console_ctx, text, n);
	}
}

static int
session_read(struct ll_session *s, uint64_t now)
{
	uint8_t in[4096];
	int rounds;

	for (rounds = 0; rounds < 16; rounds++) {
		ssize_t r = ll_transport_read(s->t, in, sizeof(in));

		if (r == LL_ERR_AGAIN || r == 0)
			break;
		if (r < 0)
			return session_fail(s, (int)r, "%s: %s", s->t->spec,
			    s->t->err[0] != '\0' ? s->t->err :
			    ll_strerror((int)r));
		ll_link_input(s->link, in, (size_t)r, now);
	}
	return 0;
}

static int
session_write(struct ll_session *s, uint64_t now)
{
	int rounds;

	for (rounds = 0; rounds < 16; rounds++) {
		ssize_t w;

		if (ll_buf_avail(&s->wire) == 0) {
			size_t budget = session_budget(s, now);

			ll_buf_reset(&s->wire);
			if (budget == 0)
				break;
			if (ll_link_output(s->link, &s->wire, budget, now) <= 0)
				break;
			if (s->rate != 0)
				s->tokens -= (double)ll_buf_avail(&s->wire);
		}
		w = ll_transport_write(s->t, ll_buf_ptr(&s->wire),
		    ll_buf_avail(&s->wire));
		if (w < 0)
			return session_fail(s, (int)w, "%s: %s", s->t->spec,
			    s->t->err[0] != '\0' ? s->t->err :
			    ll_strerror((int)w));
		if (w == 0)
			break;
		ll_buf_consume(&s->wire, (size_t)w);
	}
	return 0;
}

int
ll_session_io(struct ll_session *s, const struct pollfd *pfd, uint64_t now)
{
	int err;

	if (s->error != 0)
		return s->error;
	(void)pfd;	/* non-blocking I/O: trying is cheap and always safe */
	if ((err = session_read(s, now)) != 0)
		return err;
	if (ll_link_session(s->link) != s->generation) {
		/*
		 * A new client replaced the old one.  What was queued for the
		 * old one must not reach the new one's fresh streams, not even
		 * the rest of a half-sent record: drop it before anything is
		 * fed to the link.
		 */
		s->generation = ll_link_session(s->link);
		for (int i = 0; i < 2; i++) {
			ll_buf_reset(&s->tx[i]);
			ll_buf_reset(&s->rx[i]);
		}
	}
	session_console(s);
	session_drain_link(s);
	session_feed_link(s);
	if ((err = session_write(s, now)) != 0)
		return err;
	if (ll_link_state(s->link) == LL_LINK_DEAD) {
		err = ll_link_error(s->link);
		if (err == LL_ERR_TIMEOUT)
			return session_fail(s, err, "%s: no answer from the "
			    "agent (is lifelined running on the other end?)",
			    s->t->spec);
		if (err == LL_ERR_RESET)
			return session_fail(s, err, "%s: the agent restarted or "
			    "another client took over the session", s->t->spec);
		if (err == LL_ERR_CLOSED)
			return session_fail(s, err, "%s: the peer closed the "
			    "session", s->t->spec);
		return session_fail(s, err != 0 ? err : LL_ERR_IO, "%s: link "
		    "failed: %s", s->t->spec, ll_strerror(err));
	}
	return 0;
}

int
ll_session_recv(struct ll_session *s, struct ll_msg *m)
{
	int i, r;

	session_drain_link(s);
	for (i = 0; i < 2; i++) {
		r = ll_msg_get(&s->rx[i], m);
		if (r == LL_ERR_SHORT)
			continue;
		if (ll_buf_avail(&s->rx[i]) == 0)
			ll_buf_reset(&s->rx[i]);
		if (r == 0)
			return 1;
		if (r == LL_ERR_TOOBIG) {
			/*
			 * The stream cannot be resynchronised after a bad
			 * length: end this session.  An agent link goes back
			 * to waiting for a client; a client's link is dead.
			 */
			for (int j = 0; j < 2; j++) {
				ll_buf_reset(&s->rx[j]);
				ll_buf_reset(&s->tx[j]);
			}
			ll_link_close(s->link, ll_now_ms());
		}
		return r;
	}
	return 0;
}

/* A record was queued (r == 0): hand what the link takes to it now. */
static int
session_queued(struct ll_session *s, int r)
{
	if (r == 0)
		session_feed_link(s);
	return r;
}

int
ll_session_send_json(struct ll_session *s, uint8_t kind, uint32_t id,
    const json_t *obj)
{
	return session_queued(s, ll_msg_put_json(&s->tx[0], kind, id, obj));
}

int
ll_session_send_error(struct ll_session *s, uint32_t id, const char *code,
    const char *fmt, ...)
{
	char text[512];
	json_t *obj;
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if ((obj = ll_msg_error_new(code, "%s", text)) == NULL)
		return LL_ERR_NOMEM;
	r = ll_session_send_json(s, LL_MSG_ERROR, id, obj);
	json_decref(obj);
	return r;
}

int
ll_session_send_data(struct ll_session *s, uint8_t channel, uint32_t id,
    const void *p, size_t n)
{
	const uint8_t *cp = p;
	int r = 0;

	while (n > 0 && r == 0) {
		size_t chunk = n > LL_DATA_CHUNK_MAX ? LL_DATA_CHUNK_MAX : n;

		r = ll_msg_put_data(&s->tx[1], LL_MSG_DATA, channel, id, cp,
		    chunk);
		cp += chunk;
		n -= chunk;
	}
	return session_queued(s, r);
}

int
ll_session_send_eof(struct ll_session *s, uint8_t channel, uint32_t id)
{
	return session_queued(s, ll_msg_put_data(&s->tx[1], LL_MSG_EOF,
	    channel, id, NULL, 0));
}

size_t
ll_session_room(const struct ll_session *s)
{
	size_t q = ll_buf_avail(&s->tx[1]);

	/*
	 * Only offer room in large pieces: once the queues are full, room
	 * frees up a frame at a time, and a producer reading that little
	 * would put a record header on every frame's worth of data.
	 */
	return q + SESSION_ROOM_MIN > SESSION_BULK_HIGH ? 0 :
	    SESSION_BULK_HIGH - q;
}

bool
ll_session_is_drained(const struct ll_session *s)
{
	return ll_buf_avail(&s->tx[0]) == 0 && ll_buf_avail(&s->tx[1]) == 0 &&
	    ll_buf_avail(&s->wire) == 0 && ll_link_is_drained(s->link);
}

void
ll_session_close(struct ll_session *s, int timeout_ms)
{
	uint64_t now = ll_now_ms(), end = now + (uint64_t)timeout_ms;
	struct pollfd pfd[2];

	while (s->error == 0 && !ll_session_is_drained(s) && now < end) {
		int tmo = (int)(end - now), n;

		n = ll_session_pollfds(s, pfd, now, &tmo);
		poll(pfd, (nfds_t)n, tmo);
		now = ll_now_ms();
		if (ll_session_io(s, pfd, now) != 0)
			break;
	}
	if (s->error != 0)
		return;
	ll_link_close(s->link, now);
	/* Flush the CLOSE frame itself, briefly: the peer also times out. */
	end = now + 500;
	s->tokens = 0;
	s->rate = 0;
	while (session_write(s, now) == 0 && ll_buf_avail(&s->wire) > 0 &&
	    now < end) {
		poll(NULL, 0, 5);
		now = ll_now_ms();
	}
}
