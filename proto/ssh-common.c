/*
 * Helpers shared by the SSH engines: the socketpairs that join an engine to
 * the poll loop, the copy loop between a channel and a plain-side fd, host
 * key fingerprints and libssh's one-time initialisation.
 *
 * The copy loop (ll_ssh_pump) runs on a libssh event (ssh_event_dopoll) that
 * holds the session and the fd, and copies between them itself.  libssh's
 * ssh_connector was the obvious tool but does not fit: in 0.10 it drops
 * bytes when a non-blocking fd would block, closes the fd it was given when
 * the channel reaches EOF, can leave data in the channel buffer when a write
 * to the fd was partial, and keeps reacting to POLLHUP on a hung-up fd (a
 * busy loop).  Here each direction has one rule:
 *
 *   channel -> fd   read from the channel only when the previous chunk has
 *                   gone out to the fd, so a slow reader of the fd closes
 *                   the channel window and the peer stops sending; the
 *                   channel's EOF (or close) becomes shutdown(fd, SHUT_WR)
 *                   once the last byte is out.
 *   fd -> channel   read from the fd only as much as the peer's window
 *                   takes, and only when the previous chunk is all in the
 *                   channel; EOF on the fd becomes a channel EOF.
 *
 * The session is non-blocking while the pump runs (and set back after), so
 * libssh never waits inside a call.  libssh still writes its output with a
 * blocking send() once the socket polls writable, so the pump hands it a
 * new chunk only when the previous one has left (ssh_blocking_flush with
 * no wait): its own buffer then never holds more than one chunk, a send
 * never waits long, and a keepalive is never queued behind megabytes.
 *
 * Liveness (stall_ms > 0, over a network): every wait is bounded; after
 * LL_SSH_KEEPALIVE_MS without a packet from the peer the pump sends an SSH
 * keepalive request, and after stall_ms without one the session ends with
 * an error, and so does a send the peer has taken nothing of for as long
 * (SO_SNDTIMEO on the SSH socket).  Inside a console link (stall_ms 0) a
 * line may be slow enough to hold a keepalive for minutes; there the
 * link's own timeouts end a dead session, and the pump only waits.
 *
 * The fd is polled only for what the loop can act on now; once it has hung
 * up (POLLHUP: both directions shut, or the poll loop closed its end) it is
 * not polled again, so nothing spins, and what it still holds is read as the
 * window allows.  The loop ends when both directions have ended, when the
 * channel is closed and its data delivered, or when the fd hung up (nothing
 * can reach the other side of it any more).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libssh/libssh.h>
#include <libssh/server.h>		/* ssh_send_keepalive */

#include "clock.h"
#include "ssh-common.h"

/* Kernel buffer of each engine socketpair direction. */
#define LL_SSH_SOCKBUF		(16 * 1024)
/* Largest chunk the pump moves at once in either direction. */
#define LL_SSH_PUMP_CHUNK	(16 * 1024)

int
ll_ssh_link_algorithms(ssh_session s, bool server)
{
	if (ssh_options_set(s, SSH_OPTIONS_KEY_EXCHANGE, LL_SSH_LINK_KEX) !=
	    SSH_OK ||
	    ssh_options_set(s, SSH_OPTIONS_CIPHERS_C_S, LL_SSH_LINK_CIPHER) !=
	    SSH_OK ||
	    ssh_options_set(s, SSH_OPTIONS_CIPHERS_S_C, LL_SSH_LINK_CIPHER) !=
	    SSH_OK ||
	    ssh_options_set(s, SSH_OPTIONS_HMAC_C_S, LL_SSH_LINK_MAC) !=
	    SSH_OK ||
	    ssh_options_set(s, SSH_OPTIONS_HMAC_S_C, LL_SSH_LINK_MAC) !=
	    SSH_OK ||
	    ssh_options_set(s, SSH_OPTIONS_COMPRESSION_C_S, "none") !=
	    SSH_OK ||
	    ssh_options_set(s, SSH_OPTIONS_COMPRESSION_S_C, "none") != SSH_OK)
		return SSH_ERROR;
	if (!server)
		return ssh_options_set(s, SSH_OPTIONS_HOSTKEYS,
		    LL_SSH_LINK_HOSTKEY);
	return ssh_options_set(s, SSH_OPTIONS_PUBLICKEY_ACCEPTED_TYPES,
	    LL_SSH_LINK_SIGS);
}

int
ll_ssh_socketpair(int fds[2])
{
	int sz = LL_SSH_SOCKBUF, i, e;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == -1)
		return -errno;
	for (i = 0; i < 2; i++) {
		if (setsockopt(fds[i], SOL_SOCKET, SO_SNDBUF, &sz,
		    sizeof sz) == -1 ||
		    setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &sz,
		    sizeof sz) == -1)
			goto fail;
	}
	if (fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK) == -1)
		goto fail;
	return 0;
fail:
	e = errno;
	close(fds[0]);
	close(fds[1]);
	fds[0] = fds[1] = -1;
	return -e;
}

struct pump {
	ssh_session	s;
	ssh_channel	ch;
	int		fd;
	uint8_t		out[LL_SSH_PUMP_CHUNK];	/* channel -> fd, pending */
	size_t		out_off, out_len;
	uint8_t		in[LL_SSH_PUMP_CHUNK];	/* fd -> channel, pending */
	size_t		in_off, in_len;
	bool		ch_done;	/* channel input over, fd shut for writing */
	bool		fd_eof;		/* EOF read from fd, channel EOF sent */
	bool		fd_hup;		/* fd hung up: not polled any more */
	short		revents;
	bool		flush_wait;	/* libssh still sending the last chunk */
	struct ll_ssh_liveness live;
};

static int
pump_fd_cb(socket_t fd, int revents, void *userdata)
{
	struct pump *p = userdata;

	(void)fd;
	p->revents |= (short)revents;
	return 0;
}

static void
pump_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
pump_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Move what the channel has towards the fd.  1 when something moved or
 * changed, 0 when nothing could, -1 when the session failed.
 */
static int
pump_from_channel(struct pump *p)
{
	ssize_t w;
	int r, is_stderr, moved = 0;

	for (;;) {
		if (p->out_len == 0 && !p->ch_done) {
			/* stdout first; stderr (rare: a gateway's own
			 * messages) joins the same byte stream. */
			r = 0;
			for (is_stderr = 0; is_stderr < 2 && r <= 0;
			    is_stderr++) {
				r = ssh_channel_read_nonblocking(p->ch, p->out,
				    sizeof p->out, is_stderr);
				if (r == SSH_ERROR)
					return -1;
			}
			if (r > 0) {
				p->out_off = 0;
				p->out_len = (size_t)r;
				moved = 1;
			}
		}
		if (p->out_len == 0)
			break;
		if (p->fd_hup) {
			/* Nobody can read it any more. */
			p->out_len = 0;
			continue;
		}
		w = send(p->fd, p->out + p->out_off, p->out_len,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return moved;
			p->fd_hup = true;	/* EPIPE, ECONNRESET */
			p->out_len = 0;
			continue;
		}
		p->out_off += (size_t)w;
		p->out_len -= (size_t)w;
	}
	if (!p->ch_done && (ssh_channel_is_eof(p->ch) ||
	    (ssh_channel_is_closed(p->ch) &&
	    ssh_channel_poll(p->ch, 0) <= 0 &&
	    ssh_channel_poll(p->ch, 1) <= 0))) {
		p->ch_done = true;
		moved = 1;
		if (!p->fd_hup)
			shutdown(p->fd, SHUT_WR);
	}
	return moved;
}

/*
 * Move what the fd has into the channel, as far as the window allows.  A
 * write can still come up short (the session is non-blocking here, and
 * waits for nothing, not even the end of a key re-exchange): the rest is
 * kept and goes first next time.  1 when something moved or changed, 0
 * when nothing could, -1 when the session failed.
 */
static int
pump_from_fd(struct pump *p)
{
	uint32_t win;
	ssize_t n;
	int w, moved = 0;

	for (;;) {
		if (p->in_len > 0) {
			if (ssh_channel_is_closed(p->ch)) {
				p->in_len = 0;	/* nowhere to send it */
				p->fd_eof = true;
				moved = 1;
				break;
			}
			w = ssh_channel_write(p->ch, p->in + p->in_off,
			    (uint32_t)p->in_len);
			if (w == SSH_ERROR)
				return -1;
			p->in_off += (size_t)w;
			p->in_len -= (size_t)w;
			moved |= w > 0;
			if (p->in_len > 0)
				break;
			continue;
		}
		if (p->fd_eof)
			break;
		if (ssh_channel_is_closed(p->ch)) {
			p->fd_eof = true;
			moved = 1;
			break;
		}
		if ((win = ssh_channel_window_size(p->ch)) == 0)
			break;
		/* The previous chunk must have left libssh first. */
		if ((w = ssh_blocking_flush(p->s, 0)) == SSH_ERROR)
			return -1;
		p->flush_wait = w != SSH_OK;
		if (p->flush_wait)
			break;
		n = recv(p->fd, p->in, win < sizeof p->in ? win :
		    sizeof p->in, MSG_DONTWAIT);
		if (n > 0) {
			p->in_off = 0;
			p->in_len = (size_t)n;
			moved = 1;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		/* EOF, or ECONNRESET: the same for the peer. */
		if (n < 0)
			p->fd_hup = true;
		p->fd_eof = true;
		moved = 1;
		if (ssh_channel_send_eof(p->ch) == SSH_ERROR)
			return -1;
	}
	return moved;
}

void
ll_ssh_liveness_start(struct ll_ssh_liveness *l, ssh_session s, int stall_ms)
{
	memset(l, 0, sizeof(*l));
	l->stall_ms = stall_ms;
	l->rx_at = ll_now_ms();
	ssh_set_counters(s, NULL, &l->rx);
}

void
ll_ssh_liveness_stop(struct ll_ssh_liveness *l, ssh_session s)
{
	(void)l;
	ssh_set_counters(s, NULL, NULL);
}

int
ll_ssh_liveness_check(struct ll_ssh_liveness *l, ssh_session s,
    int *wait_ms)
{
	uint64_t next, now = ll_now_ms();
	int stall_ms = l->stall_ms;

	if (l->rx.in_packets != l->rx_seen) {
		l->rx_seen = l->rx.in_packets;
		l->rx_at = now;
	}
	if (stall_ms <= 0) {
		if (*wait_ms > LL_SSH_KEEPALIVE_MS)	/* bounded all the same */
			*wait_ms = LL_SSH_KEEPALIVE_MS;
		return 0;
	}
	if (now - l->rx_at >= (uint64_t)stall_ms)
		return -1;
	if (now - l->rx_at >= LL_SSH_KEEPALIVE_MS &&
	    now - l->ka_at >= LL_SSH_KEEPALIVE_MS) {
		/*
		 * libssh keeps one global request in flight: a call while the
		 * last one is answered only retires it, so call twice.  An
		 * unanswered one stays the only one.
		 */
		ssh_send_keepalive(s);
		ssh_send_keepalive(s);
		l->ka_at = now;
		/* Those calls may have taken in packets: look at them first. */
		*wait_ms = 0;
		return 0;
	}
	/* The next time to ask (again), or to give up. */
	if (now - l->rx_at < LL_SSH_KEEPALIVE_MS)
		next = l->rx_at + LL_SSH_KEEPALIVE_MS;
	else
		next = l->ka_at + LL_SSH_KEEPALIVE_MS;
	if (next > l->rx_at + (uint64_t)stall_ms)
		next = l->rx_at + (uint64_t)stall_ms;
	if (next <= now)
		*wait_ms = 0;
	else if ((uint64_t)*wait_ms > next - now)
		*wait_ms = (int)(next - now);
	return 0;
}

int
ll_ssh_pump(ssh_session s, ssh_channel ch, int fd, int stall_ms, char *err,
    size_t errlen)
{
	return ll_ssh_pump_ctl(s, ch, fd, stall_ms, NULL, err, errlen);
}

/* The control fd is readable: only wakes the loop, which calls ready. */
static int
pump_ctl_cb(socket_t fd, int revents, void *userdata)
{
	bool *ready = userdata;

	(void)fd;
	if (revents & POLLIN)
		*ready = true;
	return 0;
}

int
ll_ssh_pump_ctl(ssh_session s, ssh_channel ch, int fd, int stall_ms,
    const struct ll_ssh_pump_ctl *ctl, char *err, size_t errlen)
{
	bool ctl_ready = false;
	struct pump *p = NULL;
	ssh_event ev = NULL;
	struct timeval sndto, old_sndto;
	socklen_t tlen = sizeof old_sndto;
	socket_t sock = ssh_get_fd(s);
	bool sndto_set = false;
	short events;
	bool polled;
	int fl = -1, rc = -1, errors = 0, blocking = 1, wait_ms, r, k;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	/* Big buffer: off the engine thread's stack. */
	if ((p = calloc(1, sizeof *p)) == NULL) {
		pump_seterr(err, errlen, "%s", "out of memory");
		goto out;
	}
	p->s = s;
	p->ch = ch;
	p->fd = fd;
	ll_ssh_liveness_start(&p->live, s, stall_ms);
	/* A send to a peer that takes nothing ends after stall_ms. */
	if (stall_ms > 0 && sock != SSH_INVALID_SOCKET &&
	    getsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &old_sndto, &tlen) == 0) {
		sndto.tv_sec = stall_ms / 1000;
		sndto.tv_usec = (stall_ms % 1000) * 1000;
		sndto_set = setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &sndto,
		    sizeof sndto) == 0;
	}
	/* Nothing may wait inside libssh: a stalled peer would time out. */
	blocking = ssh_is_blocking(s);
	ssh_set_blocking(s, 0);
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1) {
		pump_seterr(err, errlen, "pump: %s", strerror(errno));
		fl = -1;
		goto out;
	}
	if ((ev = ssh_event_new()) == NULL ||
	    ssh_event_add_session(ev, s) != SSH_OK ||
	    (ctl != NULL && ctl->fd >= 0 && ssh_event_add_fd(ev, ctl->fd,
	    POLLIN, pump_ctl_cb, &ctl_ready) != SSH_OK)) {
		pump_seterr(err, errlen, "pump: %s", "cannot set up the "
		    "SSH event loop");
		goto out;
	}
	for (;;) {
		/*
		 * Until neither side moves: a write to the channel may take
		 * in packets (data, a window adjust) that nothing would poll
		 * for again.
		 */
		do {
			if ((r = pump_from_channel(p)) < 0 ||
			    (k = pump_from_fd(p)) < 0) {
				pump_seterr(err, errlen, "SSH connection lost: "
				    "%s", ssh_get_error(s));
				goto out;
			}
		} while (r > 0 || k > 0);
		/* The channel's data after the fd's EOF still goes out. */
		if (p->ch_done && (p->fd_eof || ssh_channel_is_closed(ch)))
			break;
		if (p->fd_hup && p->fd_eof)
			break;
		/*
		 * The fd's other side is gone and the peer takes nothing more:
		 * what is left can never be delivered, and waiting for a window
		 * adjust from a peer that stopped reading could last forever.
		 */
		if (p->fd_hup && ssh_channel_window_size(ch) == 0)
			break;
		if (!ssh_is_connected(s)) {
			pump_seterr(err, errlen, "SSH connection lost: %s",
			    ssh_get_error(s));
			goto out;
		}
		/* Here, when nothing moves any more: a packet counted now
		 * came in just now, not a whole poll ago. */
		wait_ms = INT32_MAX;
		if (ll_ssh_liveness_check(&p->live, s, &wait_ms) != 0) {
			pump_seterr(err, errlen, "SSH peer silent for %d s "
			    "(no data, no answer to keepalives): giving up",
			    stall_ms / 1000);
			goto out;
		}
		events = 0;
		if (p->out_len > 0)
			events |= POLLOUT;
		/* While libssh is sending, its POLLOUT is what we wait on. */
		if (!p->fd_eof && p->in_len == 0 && !p->flush_wait &&
		    ssh_channel_window_size(ch) > 0)
			events |= POLLIN;
		/*
		 * A hung-up fd reports POLLHUP whatever was asked: poll it
		 * no more.  Otherwise poll it even for nothing, to learn of a
		 * hangup while waiting on the channel.
		 */
		polled = !p->fd_hup;
		if (polled && ssh_event_add_fd(ev, fd, events, pump_fd_cb,
		    p) != SSH_OK) {
			pump_seterr(err, errlen, "pump: %s", "cannot poll "
			    "the plain side");
			goto out;
		}
		p->revents = 0;
		r = ssh_event_dopoll(ev, wait_ms);
		if (polled)
			ssh_event_remove_fd(ev, fd);
		/* A failed poll that is not a lost session: give it a few
		 * turns, never a busy loop. */
		if (r == SSH_ERROR && errno != EINTR && (!ssh_is_connected(s) ||
		    ++errors > 100)) {
			pump_seterr(err, errlen, "SSH connection lost: %s",
			    ssh_get_error(s));
			goto out;
		}
		if (r != SSH_ERROR)
			errors = 0;
		if (p->revents & (POLLHUP | POLLERR | POLLNVAL))
			p->fd_hup = true;
		if (ctl_ready) {
			ctl_ready = false;
			ctl->ready(ctl->arg, s, ch);
		}
		if (ctl != NULL && ctl->check != NULL &&
		    ctl->check(ctl->arg, s, ch, err, errlen) != 0)
			goto out;
	}
	rc = 0;
out:
	if (ev != NULL) {
		if (ctl != NULL && ctl->fd >= 0)
			ssh_event_remove_fd(ev, ctl->fd);
		ssh_event_remove_session(ev, s);
		ssh_event_free(ev);
	}
	if (fl != -1)
		fcntl(fd, F_SETFL, fl);
	if (sndto_set)
		setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &old_sndto,
		    sizeof old_sndto);
	if (p != NULL) {
		ll_ssh_liveness_stop(&p->live, s);
		ssh_set_blocking(s, blocking);
	}
	free(p);
	return rc;
}

int
ll_ssh_fingerprint(ssh_key key, char *buf, size_t len)
{
	unsigned char *hash = NULL;
	char *fp = NULL;
	size_t hlen = 0;
	int rc = -1;

	if (len > 0)
		buf[0] = '\0';
	if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash,
	    &hlen) != 0)
		goto out;
	if ((fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash,
	    hlen)) == NULL)
		goto out;
	if (strlen(fp) >= len)
		goto out;
	memcpy(buf, fp, strlen(fp) + 1);
	rc = 0;
out:
	if (fp != NULL)
		ssh_string_free_char(fp);
	if (hash != NULL)
		ssh_clean_pubkey_hash(&hash);
	return rc;
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc = -1;

static void
global_init(void)
{
	init_rc = ssh_init() == SSH_OK ? 0 : -1;
}

int
ll_ssh_global_init(void)
{
	pthread_once(&init_once, global_init);
	return init_rc;
}
