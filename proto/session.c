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
 *
 * Records can also travel on one ordered byte stream, the plain side of an
 * SSH channel: directly on the transport (no link at all), or through an
 * SSH engine whose protocol bytes the link carries on stream 0 (a tunnel).
 * Then every record goes through tx[0] and rx[0] in order.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "ll-limits.h"
#include "session.h"
#include "zdata.h"

#define SESSION_TX_MAX	(LL_MSG_MAX + 2 * LL_DATA_CHUNK_MAX)
#define SESSION_RX_MAX	(LL_MSG_MAX + LL_MSG_HEADER_LEN)
#define SESSION_BULK_HIGH (2 * LL_DATA_CHUNK_MAX) /* queue bound for room() */
#define SESSION_ROOM_MIN (LL_DATA_CHUNK_MAX / 4)	/* room offered at least */
#define SESSION_WIRE_MAX (64 * 1024)
#define SESSION_BURST_MS 30		/* pacing bucket depth */
#define SESSION_WAKE_BYTES 64		/* tokens worth waking up for */
#define SESSION_TUNNEL_BUF 4096		/* link -> engine bytes held at most */
#define SESSION_TUNNEL_STREAM 0

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
	/* Records on a byte stream: direct (link NULL) or through a tunnel. */
	ll_tunnel_fn *tunnel;
	void *tunnel_ctx;
	bool tunnel_open;
	bool closing;			/* ll_session_close is ending it */
	bool plain_eof;			/* the engine's channel has ended */
	int cipher_fd, plain_fd;	/* the engine's sides, -1 when closed */
	struct ll_buf to_engine;	/* link bytes cipher_fd has not taken */
	struct ll_zdata *z;		/* DATA compressor, made on first use */
	bool compress;			/* both HELLOs said "zdata" */
	uint64_t rx_z, rx_plain;	/* DATA received compressed or not */
};

static bool
session_plain(const struct ll_session *s)
{
	return s->link == NULL || s->tunnel != NULL;
}

/* The queue DATA and EOF records go to. */
static struct ll_buf *
session_bulkq(struct ll_session *s)
{
	return session_plain(s) ? &s->tx[0] : &s->tx[1];
}

/* A session on t with empty buffers and no link yet. */
static struct ll_session *
session_alloc(struct ll_transport *t)
{
	struct ll_session *s;
	int i;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->t = t;
	s->cipher_fd = s->plain_fd = -1;
	ll_buf_init(&s->to_engine, SESSION_TUNNEL_BUF);
	ll_buf_init(&s->wire, SESSION_WIRE_MAX);
	for (i = 0; i < 2; i++) {
		ll_buf_init(&s->tx[i], SESSION_TX_MAX);
		ll_buf_init(&s->rx[i], SESSION_RX_MAX);
	}
	s->generation = 1;
	return s;
}

struct ll_session *
ll_session_new(struct ll_transport *t, const struct ll_link_config *cfg,
    uint64_t now)
{
	struct ll_session *s;

	if ((s = session_alloc(t)) == NULL)
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
	s->generation = ll_link_session(s->link);
	return s;
}

struct ll_session *
ll_session_new_direct(struct ll_transport *t)
{
	return session_alloc(t);
}

static void
session_tunnel_close(struct ll_session *s)
{
	if (s->cipher_fd >= 0)
		close(s->cipher_fd);
	if (s->plain_fd >= 0)
		close(s->plain_fd);
	s->cipher_fd = s->plain_fd = -1;
	s->tunnel_open = false;
	s->plain_eof = false;
	ll_buf_reset(&s->to_engine);
}

void
ll_session_set_tunnel(struct ll_session *s, ll_tunnel_fn *fn, void *ctx)
{
	s->tunnel = fn;
	s->tunnel_ctx = ctx;
}
void
ll_session_free(struct ll_session *s)
{
	int i;

	if (s == NULL)
		return;
	session_tunnel_close(s);
	ll_buf_cleanup(&s->to_engine);
	ll_zdata_free(s->z);
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
ll_session_output_idle(const struct ll_session *s)
{
	return ll_buf_avail(&s->wire) == 0;
}

bool
ll_session_is_up(const struct ll_session *s)
{
	if (s->link == NULL)
		return s->error == 0;
	return s->error == 0 && ll_link_state(s->link) == LL_LINK_UP &&
	    (s->tunnel == NULL || s->tunnel_open);
}

uint32_t
ll_session_generation(const struct ll_session *s)
{
	return s->link != NULL ? ll_link_session(s->link) : 1;
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

/* A transport error: its own text names the path already. */
static int
session_transport_failed(struct ll_session *s, int err)
{
	if (s->t->err[0] != '\0')
		return session_fail(s, err, "%s", s->t->err);
	return session_fail(s, err, "%s: %s", s->t->spec, ll_strerror(err));
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

static int
session_add_pollfd(struct pollfd *pfd, int n, int fd, short events)
{
	pfd[n].fd = fd;
	pfd[n].events = events;
	pfd[n].revents = 0;
	return n + 1;
}

/* The transport's fds, with POLLOUT when out has bytes for it. */
static int
session_transport_pollfds(struct ll_session *s, struct pollfd *pfd,
    const struct ll_buf *out)
{
	short want = ll_buf_avail(out) > 0 ? POLLOUT : 0;

	if (s->t->wfd == s->t->rfd)
		return session_add_pollfd(pfd, 0, s->t->rfd, POLLIN | want);
	session_add_pollfd(pfd, 0, s->t->rfd, POLLIN);
	return session_add_pollfd(pfd, 1, s->t->wfd, want);
}

/* A whole record (or a header that can only fail) is waiting in b. */
static bool
session_record_ready(const struct ll_buf *b)
{
	uint32_t len;

	if (ll_buf_avail(b) < LL_MSG_HEADER_LEN ||
	    ll_buf_peek_u32(b, 0, &len) != 0)
		return false;
	return len > LL_MSG_MAX || ll_buf_avail(b) >= LL_MSG_HEADER_LEN + len;
}

/*
 * Input that ll_session_recv() can act on now, without more I/O: a record
 * read in by the last ll_session_io() (the caller may not have asked for it
 * since), or stream bytes the link holds.  Then poll must not wait.
 */
static bool
session_input_pending(const struct ll_session *s)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (session_record_ready(&s->rx[i]))
			return true;
		if (!session_plain(s) && ll_link_readable(s->link,
		    (unsigned)i) > 0 && ll_buf_avail(&s->rx[i]) < s->rx[i].max)
			return true;
	}
	return false;
}

int
ll_session_pollfds(struct ll_session *s, struct pollfd *pfd, uint64_t now,
    int *timeout_ms)
{
	uint64_t deadline;
	int n;

	if (timeout_ms != NULL && session_input_pending(s))
		*timeout_ms = 0;
	if (s->link == NULL)
		return session_transport_pollfds(s, pfd, &s->tx[0]);
	deadline = ll_link_deadline(s->link);
	n = session_transport_pollfds(s, pfd, &s->wire);
	if (s->tunnel_open) {
		n = session_add_pollfd(pfd, n, s->cipher_fd,
		    (ll_link_writable(s->link, SESSION_TUNNEL_STREAM) > 0 ?
		    POLLIN : 0) | (ll_buf_avail(&s->to_engine) > 0 ?
		    POLLOUT : 0));
		if (!s->plain_eof)
			n = session_add_pollfd(pfd, n, s->plain_fd, POLLIN |
			    (ll_buf_avail(&s->tx[0]) > 0 ? POLLOUT : 0));
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
	if (!session_plain(s) && (ll_buf_avail(&s->tx[0]) > 0 ||
	    ll_buf_avail(&s->tx[1]) > 0)) {
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

	if (session_plain(s) || ll_link_state(s->link) != LL_LINK_UP)
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

	if (session_plain(s))
		return;
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
			return session_transport_failed(s, (int)r);
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
			return session_transport_failed(s, (int)w);
		if (w == 0)
			break;
		ll_buf_consume(&s->wire, (size_t)w);
	}
	return 0;
}

/* The plain side: the engine's fd, or the transport itself (direct). */
static ssize_t
session_plain_read(struct ll_session *s, void *p, size_t n)
{
	ssize_t r;

	if (s->link == NULL)
		return ll_transport_read(s->t, p, n);
	if ((r = read(s->plain_fd, p, n)) > 0)
		return r;
	if (r == 0)
		return LL_ERR_CLOSED;
	return errno == EAGAIN || errno == EINTR ? LL_ERR_AGAIN : LL_ERR_IO;
}

static ssize_t
session_plain_write(struct ll_session *s, const void *p, size_t n)
{
	ssize_t w;

	if (s->link == NULL)
		return ll_transport_write(s->t, p, n);
	if ((w = write(s->plain_fd, p, n)) >= 0)
		return w;
	if (errno == EAGAIN || errno == EINTR)
		return 0;
	return errno == EPIPE || errno == ECONNRESET ? LL_ERR_CLOSED :
	    LL_ERR_IO;
}

/*
 * The engine ended (its fds closed: authentication refused, the channel
 * closed, or the peer's engine went away).  An agent's link goes back to
 * waiting for a client; a client's session is over.
 */
static int
session_tunnel_ended(struct ll_session *s, uint64_t now)
{
	session_tunnel_close(s);
	for (int i = 0; i < 2; i++) {
		ll_buf_reset(&s->tx[i]);
		ll_buf_reset(&s->rx[i]);
	}
	if (s->cfg.is_agent) {
		ll_link_close(s->link, now);
		return 0;
	}
	if (s->closing)
		return 0;
	return session_fail(s, LL_ERR_CLOSED, "%s: the SSH session inside the "
	    "link ended", s->t->spec);
}

static int
session_plain_failed(struct ll_session *s, ssize_t err, uint64_t now)
{
	if (s->link != NULL && err == LL_ERR_CLOSED) {
		/*
		 * The channel ended.  The engine still has its last SSH
		 * messages to send: keep carrying its cipher side until it
		 * closes that, and only then end the tunnel.
		 */
		s->plain_eof = true;
		shutdown(s->plain_fd, SHUT_RDWR);
		ll_buf_reset(&s->tx[0]);
		return 0;
	}
	if (s->link != NULL)
		return session_tunnel_ended(s, now);
	if (err == LL_ERR_CLOSED)
		return session_fail(s, (int)err, "%s: the SSH session ended",
		    s->t->spec);
	return session_transport_failed(s, (int)err);
}

/* Queued records out to the plain side, records in from it (bounded). */
static int
session_records_io(struct ll_session *s, uint64_t now)
{
	int rounds;

	if (s->plain_eof)
		return 0;
	while (ll_buf_avail(&s->tx[0]) > 0) {
		ssize_t w = session_plain_write(s, ll_buf_ptr(&s->tx[0]),
		    ll_buf_avail(&s->tx[0]));

		if (w < 0)
			return session_plain_failed(s, w, now);
		if (w == 0)
			break;
		ll_buf_consume(&s->tx[0], (size_t)w);
	}
	if (ll_buf_avail(&s->tx[0]) == 0)
		ll_buf_reset(&s->tx[0]);
	for (rounds = 0; rounds < 16; rounds++) {
		size_t room;
		uint8_t *p;
		ssize_t r;

		ll_buf_compact(&s->rx[0]);
		room = s->rx[0].max - s->rx[0].len;
		if (room == 0 || ll_buf_reserve(&s->rx[0], room, &p) != 0)
			break;
		r = session_plain_read(s, p, room);
		if (r == LL_ERR_AGAIN)
			break;
		if (r < 0)
			return session_plain_failed(s, r, now);
		ll_buf_commit(&s->rx[0], (size_t)r);
	}
	return 0;
}

/* Stream 1 carries nothing in a tunnel: what arrives there is dropped, so
 * it cannot hold up stream 0 in the ARQ. */
static void
session_tunnel_discard(struct ll_session *s)
{
	uint8_t junk[1024];

	while (ll_link_readable(s->link, 1) > 0 &&
	    ll_link_read(s->link, 1, junk, sizeof(junk)) > 0)
		;
}

/* Start an engine for a new link session; stop one whose session ended. */
static int
session_tunnel_tend(struct ll_session *s, uint64_t now)
{
	bool up = ll_link_state(s->link) == LL_LINK_UP;
	int cipher, plain, r;

	if (s->tunnel_open && !up)
		session_tunnel_close(s);
	if (!up || s->tunnel_open)
		return 0;
	if ((r = s->tunnel(s->tunnel_ctx, &cipher, &plain)) != 0) {
		if (s->cfg.is_agent) {
			ll_link_close(s->link, now);
			return 0;
		}
		return session_fail(s, r, "%s: cannot start the SSH session: "
		    "%s", s->t->spec, ll_strerror(r));
	}
	s->cipher_fd = cipher;
	s->plain_fd = plain;
	s->tunnel_open = true;
	return 0;
}

/* Link stream 0 <-> the engine's cipher side, then records <-> plain side. */
static int
session_tunnel_io(struct ll_session *s, uint64_t now)
{
	uint8_t in[4096];
	size_t room;

	if (!s->tunnel_open)
		return 0;
	for (;;) {
		ssize_t w;

		if (ll_buf_avail(&s->to_engine) == 0) {
			size_t want = ll_link_readable(s->link,
			    SESSION_TUNNEL_STREAM);
			uint8_t *p;
			ssize_t r;

			ll_buf_reset(&s->to_engine);
			if (want == 0)
				break;
			if (want > SESSION_TUNNEL_BUF)
				want = SESSION_TUNNEL_BUF;
			if (ll_buf_reserve(&s->to_engine, want, &p) != 0)
				break;
			r = ll_link_read(s->link, SESSION_TUNNEL_STREAM, p,
			    want);
			if (r <= 0)
				break;
			ll_buf_commit(&s->to_engine, (size_t)r);
		}
		w = write(s->cipher_fd, ll_buf_ptr(&s->to_engine),
		    ll_buf_avail(&s->to_engine));
		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (w <= 0)
			return session_tunnel_ended(s, now);
		ll_buf_consume(&s->to_engine, (size_t)w);
	}
	while ((room = ll_link_writable(s->link, SESSION_TUNNEL_STREAM)) > 0) {
		ssize_t r = read(s->cipher_fd, in,
		    room < sizeof(in) ? room : sizeof(in));

		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (r <= 0)
			return session_tunnel_ended(s, now);
		if (ll_link_write(s->link, SESSION_TUNNEL_STREAM, in,
		    (size_t)r) != r)
			return session_tunnel_ended(s, now);	/* cannot be */
	}
	session_tunnel_discard(s);
	return session_records_io(s, now);
}

int
ll_session_io(struct ll_session *s, const struct pollfd *pfd, uint64_t now)
{
	unsigned reason = 0;
	int err;

	if (s->error != 0)
		return s->error;
	(void)pfd;	/* non-blocking I/O: trying is cheap and always safe */
	if (s->link == NULL)
		return session_records_io(s, now);
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
		session_tunnel_close(s);
		/* The new client's HELLO says whether it takes ZDATA. */
		s->compress = false;
	}
	session_console(s);
	if (s->tunnel != NULL) {
		if ((err = session_tunnel_tend(s, now)) != 0 ||
		    (err = session_tunnel_io(s, now)) != 0)
			return err;
	}
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
			reason = ll_link_reset_reason(s->link);
		/*
		 * RESET frames are not authenticated: anyone on the line can
		 * send one.  So the answer is reported as what the line said,
		 * never as a fact about the agent, and never with advice to
		 * give up SSH.
		 */
		if (err == LL_ERR_RESET && reason == LL_RESET_NO_SSH &&
		    ll_link_is_ssh(s->link))
			return session_fail(s, err, "%s: the line answered that "
			    "SSH is unavailable: either the agent was started "
			    "with --insecure, or someone on the line sent that "
			    "answer (it is not authenticated); nothing was sent",
			    s->t->spec);
		if (err == LL_ERR_RESET && reason == LL_RESET_NEED_SSH &&
		    !ll_link_is_ssh(s->link))
			return session_fail(s, err, "%s: the line answered that "
			    "the agent requires SSH inside the link; nothing "
			    "was sent: run without --insecure", s->t->spec);
		if (err == LL_ERR_RESET && (reason == LL_RESET_NEED_SSH ||
		    reason == LL_RESET_NO_SSH))
			return session_fail(s, err, "%s: the line answered that "
			    "%s, though this client %s SSH: the HELLO was "
			    "altered on the line or the answer forged (it is "
			    "not authenticated); nothing was sent", s->t->spec,
			    reason == LL_RESET_NEED_SSH ? "the agent requires "
			    "SSH" : "SSH is unavailable",
			    ll_link_is_ssh(s->link) ? "asked for" :
			    "did not ask for");
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
		if (r == 0 && m->kind == LL_MSG_DATA) {
			if (m->compressed)
				s->rx_z++;
			else
				s->rx_plain++;
		}
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
			if (s->link == NULL)
				session_fail(s, r, "%s: a record too large to "
				    "read", s->t->spec);
			else if (s->tunnel != NULL)
				session_tunnel_ended(s, ll_now_ms());
			else
				ll_link_close(s->link, ll_now_ms());
		}
		return r;
	}
	return 0;
}

int
ll_session_peek_partial(struct ll_session *s, struct ll_msg *m)
{
	int i, r;

	session_drain_link(s);
	for (i = 0; i < 2; i++) {
		if ((r = ll_msg_peek_partial_data(&s->rx[i], m)) != 0)
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

		if (s->compress)
			r = ll_zdata_put(s->z, session_bulkq(s), channel, id,
			    cp, chunk);
		else
			r = ll_msg_put_data(session_bulkq(s), LL_MSG_DATA,
			    channel, id, cp, chunk);
		if (r > 0)
			r = 0;
		cp += chunk;
		n -= chunk;
	}
	return session_queued(s, r);
}

int
ll_session_set_compress(struct ll_session *s, bool on)
{
	if (on && s->z == NULL &&
	    (s->z = ll_zdata_new(ll_zdata_level_for_rate(s->cfg.line_rate))) ==
	    NULL)
		return LL_ERR_NOMEM;
	s->compress = on;
	return 0;
}

bool
ll_session_compresses(const struct ll_session *s)
{
	return s->compress;
}

void
ll_session_zdata_stats(const struct ll_session *s, struct ll_zdata_stats *st)
{
	ll_zdata_stats(s->z, st);
	st->rx_zrecords = s->rx_z;
	st->rx_precords = s->rx_plain;
}

int
ll_session_send_eof(struct ll_session *s, uint8_t channel, uint32_t id)
{
	return session_queued(s, ll_msg_put_data(session_bulkq(s), LL_MSG_EOF,
	    channel, id, NULL, 0));
}

size_t
ll_session_room(const struct ll_session *s)
{
	size_t q = ll_buf_avail(session_plain(s) ? &s->tx[0] : &s->tx[1]);

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
	if (ll_buf_avail(&s->tx[0]) > 0 || ll_buf_avail(&s->tx[1]) > 0)
		return false;
	if (s->link == NULL)
		return true;
	return ll_buf_avail(&s->wire) == 0 && ll_buf_avail(&s->to_engine) == 0 &&
	    ll_link_is_drained(s->link);
}

static bool
session_closed_tunnel(const struct ll_session *s)
{
	return !s->tunnel_open;
}

/*
 * Pump s until done(s), an error, or end; each wait is at most max_wait ms
 * (-1: as long as the session's own deadlines allow).  Returns the time.
 */
static uint64_t
session_run_until(struct ll_session *s, bool (*done)(const struct ll_session *),
    uint64_t end, int max_wait)
{
	struct pollfd pfd[LL_SESSION_POLLFDS_MAX];
	uint64_t now = ll_now_ms();
	int tmo, n;

	while (s->error == 0 && !done(s) && now < end) {
		tmo = (int)(end - now);
		if (max_wait >= 0 && tmo > max_wait)
			tmo = max_wait;
		n = ll_session_pollfds(s, pfd, now, &tmo);
		poll(pfd, (nfds_t)n, tmo);
		now = ll_now_ms();
		if (ll_session_io(s, pfd, now) != 0)
			break;
	}
	return now;
}

void
ll_session_close(struct ll_session *s, int timeout_ms)
{
	uint64_t end = ll_now_ms() + (uint64_t)timeout_ms, now;

	now = session_run_until(s, ll_session_is_drained, end, -1);
	if (s->error != 0 || s->link == NULL)
		return;
	if (s->tunnel_open) {
		/*
		 * End the SSH session in order: the engine sees EOF on its
		 * plain side, closes the channel, and its last bytes cross
		 * the link before the link itself closes.  The engine's end
		 * shows as EOF on its cipher side, which is only polled while
		 * the link takes bytes: look again every 50 ms.
		 */
		s->closing = true;
		shutdown(s->plain_fd, SHUT_WR);
		session_run_until(s, session_closed_tunnel, end, 50);
		now = session_run_until(s, ll_session_is_drained, end, -1);
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
