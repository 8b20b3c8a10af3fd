/*
 * The telnet://HOST:PORT[?baud=N] transport: a console server's telnet port
 * (ser2net's "telnet" accepter, RFC 2217 ports, terminal servers).
 *
 * The TCP connection is the tcp: transport's (connect with a timeout,
 * TCP_NODELAY, no SIGPIPE), wrapped: reads go through the telnet parser
 * (telnet.c), which takes out commands and undoubles IAC, and writes double
 * IAC.  Open sends the option requests and waits up to TELNET_SETTLE_MS for
 * the server's answers, so the link starts on a BINARY path with the baud
 * set; a server that answers nothing is used as it is (noted in t->err).
 * Replies the parser queues go out before any data.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "error.h"
#include "telnet.h"
#include "transport.h"
#include "transport-priv.h"

#define TELNET_SETTLE_MS	3000
#define TELNET_CHUNK		2048	/* input bytes per encoded write */

struct telnet_priv {
	struct ll_transport inner;	/* the tcp: transport */
	struct ll_telnet tn;
	size_t skip;			/* bytes of the next byte's coding
					 * already sent */
	uint8_t *pend;			/* data read while settling */
	size_t pend_len, pend_off;
};

/* Pass the inner transport's message up. */
static ssize_t
inner_err(struct ll_transport *t, struct telnet_priv *tp, ssize_t r)
{
	if (r < 0 && r != LL_ERR_AGAIN && tp->inner.err[0] != '\0')
		ll_tp_seterr(t, "%s: %s", t->spec, tp->inner.err);
	return r;
}

/* Send queued replies; 0 when all are out (or would block), or LL_ERR_*. */
static int
flush_replies(struct ll_transport *t, struct telnet_priv *tp)
{
	ssize_t w;

	while (tp->tn.reply_len > 0) {
		w = ll_transport_write(&tp->inner, tp->tn.reply,
		    tp->tn.reply_len);
		if (w < 0)
			return (int)inner_err(t, tp, w);
		if (w == 0)
			return 0;
		ll_telnet_reply_sent(&tp->tn, (size_t)w);
	}
	return 0;
}

static ssize_t
telnet_read(struct ll_transport *t, void *p, size_t n)
{
	struct telnet_priv *tp = t->priv;
	uint8_t in[4096];
	ssize_t r;
	size_t got;

	if (tp->pend != NULL) {
		size_t k = tp->pend_len - tp->pend_off;

		if (k > n)
			k = n;
		memcpy(p, tp->pend + tp->pend_off, k);
		tp->pend_off += k;
		if (tp->pend_off == tp->pend_len) {
			free(tp->pend);
			tp->pend = NULL;
		}
		return (ssize_t)k;
	}
	/* Answers owed from an earlier read go out first. */
	if ((r = flush_replies(t, tp)) < 0)
		return r;
	if (n > sizeof in)
		n = sizeof in;
	/* Commands alone yield no data: read on until data or nothing. */
	for (;;) {
		r = ll_transport_read(&tp->inner, in, n);
		if (r <= 0)
			return inner_err(t, tp, r);
		got = ll_telnet_decode(&tp->tn, in, (size_t)r, p);
		if ((r = flush_replies(t, tp)) < 0)
			return r;
		if (got > 0)
			return (ssize_t)got;
	}
}

/*
 * Encode and write; only input bytes whose whole coding went out count as
 * written, and a coding cut in two is finished when the byte comes again.
 */
static ssize_t
telnet_write(struct ll_transport *t, const void *vp, size_t n)
{
	struct telnet_priv *tp = t->priv;
	const uint8_t *p = vp;
	uint8_t out[2 * TELNET_CHUNK], code[2];
	uint16_t end[TELNET_CHUNK];
	size_t i, o = 0, k, done;
	ssize_t w;
	int r;

	if ((r = flush_replies(t, tp)) < 0)
		return r;
	if (tp->tn.reply_len > 0)
		return 0;
	if (n > TELNET_CHUNK)
		n = TELNET_CHUNK;
	for (i = 0; i < n; i++) {
		k = ll_telnet_encode_byte(&tp->tn, p[i], code);
		if (i == 0 && tp->skip > 0 && tp->skip < k) {
			memcpy(out + o, code + tp->skip, k - tp->skip);
			o += k - tp->skip;
		} else {
			memcpy(out + o, code, k);
			o += k;
		}
		end[i] = (uint16_t)o;
	}
	w = ll_transport_write(&tp->inner, out, o);
	if (w <= 0)
		return inner_err(t, tp, w);
	for (done = 0; done < n && end[done] <= (size_t)w; done++)
		;
	if (done > 0)
		tp->skip = 0;
	if (done < n && (size_t)w > (done > 0 ? end[done - 1] : 0))
		tp->skip += (size_t)w - (done > 0 ? end[done - 1] : 0);
	return (ssize_t)done;
}

static void
telnet_close(struct ll_transport *t)
{
	struct telnet_priv *tp = t->priv;

	if (tp == NULL)
		return;
	if (tp->inner.ops != NULL && tp->inner.ops->close != NULL)
		tp->inner.ops->close(&tp->inner);
	free(tp->pend);
	free(tp);
	t->priv = NULL;
}

static const struct ll_transport_ops telnet_ops = {
	.name = "telnet",
	.read = telnet_read,
	.write = telnet_write,
	.reopen = NULL,
	.close = telnet_close,
};

/* Keep data that arrives while the options settle. */
static int
keep_pending(struct telnet_priv *tp, const uint8_t *p, size_t n)
{
	uint8_t *np;

	if (n == 0)
		return 0;
	if ((np = realloc(tp->pend, tp->pend_len + n)) == NULL)
		return LL_ERR_NOMEM;
	memcpy(np + tp->pend_len, p, n);
	tp->pend = np;
	tp->pend_len += n;
	return 0;
}

/* Exchange options until settled or TELNET_SETTLE_MS pass. */
static int
settle(struct ll_transport *t, struct telnet_priv *tp)
{
	uint64_t end = ll_now_ms() + TELNET_SETTLE_MS;
	uint8_t in[1024], data[1024];
	struct pollfd pfd;
	ssize_t r;
	int left;

	while (!ll_telnet_is_settled(&tp->tn)) {
		if ((r = flush_replies(t, tp)) < 0)
			return (int)r;
		left = (int)(end - ll_now_ms());
		if ((int64_t)(end - ll_now_ms()) <= 0) {
			ll_tp_seterr(t, "%s: the server did not finish telnet "
			    "option negotiation in %d s; going on as it is%s",
			    t->spec, TELNET_SETTLE_MS / 1000, tp->tn.baud &&
			    tp->tn.baud_acked == 0 ? " (baud not set)" : "");
			return 0;
		}
		pfd.fd = tp->inner.rfd;
		pfd.events = POLLIN | (tp->tn.reply_len > 0 ? POLLOUT : 0);
		if (poll(&pfd, 1, left) < 0 && errno != EINTR)
			return LL_ERR_IO;
		r = ll_transport_read(&tp->inner, in, sizeof in);
		if (r == LL_ERR_AGAIN)
			continue;
		if (r < 0)
			return (int)inner_err(t, tp, r);
		if ((r = keep_pending(tp, data, ll_telnet_decode(&tp->tn, in,
		    (size_t)r, data))) != 0)
			return (int)r;
	}
	if (tp->tn.baud != 0 && !tp->tn.us[LL_TELNET_OPT_COMPORT])
		ll_tp_seterr(t, "%s: the server refused RFC 2217 "
		    "(COM-PORT-OPTION): the baud was not set", t->spec);
	else if (tp->tn.baud != 0 && tp->tn.baud_acked != tp->tn.baud)
		ll_tp_seterr(t, "%s: asked for %u baud, the server set %u",
		    t->spec, tp->tn.baud, tp->tn.baud_acked);
	return flush_replies(t, tp);
}

/* "//HOST:PORT[?baud=N]" into "HOST:PORT" and the baud. */
static int
parse(struct ll_transport *t, const char *arg, char *hostport, size_t hplen,
    unsigned *baud)
{
	const char *q;
	size_t len;

	*baud = 0;
	if (strncmp(arg, "//", 2) != 0)
		goto bad;
	arg += 2;
	q = strchr(arg, '?');
	len = q != NULL ? (size_t)(q - arg) : strlen(arg);
	if (len == 0 || len >= hplen || memchr(arg, ':', len) == NULL)
		goto bad;
	memcpy(hostport, arg, len);
	hostport[len] = '\0';
	if (q != NULL) {
		if (strncmp(q + 1, "baud=", 5) != 0 ||
		    ll_tp_parse_baud(q + 6, baud) != 0) {
			ll_tp_seterr(t, "bad transport spec '%s': the only "
			    "option is baud=N (a supported rate)", t->spec);
			return LL_ERR_INVAL;
		}
	}
	return 0;
bad:
	ll_tp_seterr(t, "bad transport spec '%s': expected "
	    "telnet://HOST:PORT[?baud=N]", t->spec);
	return LL_ERR_INVAL;
}

int
ll_tp_telnet_open(struct ll_transport *t, const char *arg)
{
	struct telnet_priv *tp;
	char hostport[LL_TP_DEVMAX];
	unsigned baud;
	int r;

	if ((r = parse(t, arg, hostport, sizeof hostport, &baud)) != 0)
		return r;
	if ((tp = calloc(1, sizeof *tp)) == NULL) {
		ll_tp_seterr(t, "%s: out of memory", t->spec);
		return LL_ERR_NOMEM;
	}
	tp->inner.rfd = tp->inner.wfd = -1;
	snprintf(tp->inner.spec, sizeof tp->inner.spec, "tcp:%.250s", hostport);
	if ((r = ll_tp_socket_open(&tp->inner, "tcp", hostport)) != 0) {
		ll_tp_seterr(t, "%s: %s", t->spec, tp->inner.err);
		free(tp);
		return r;
	}
	ll_telnet_init(&tp->tn, baud);
	t->ops = &telnet_ops;
	t->rfd = tp->inner.rfd;
	t->wfd = tp->inner.wfd;
	t->baud = baud;
	t->priv = tp;
	if ((r = settle(t, tp)) != 0) {
		char keep[sizeof t->err];

		memcpy(keep, t->err, sizeof keep);
		telnet_close(t);
		memcpy(t->err, keep, sizeof keep);
		t->ops = NULL;
		return r;
	}
	return 0;
}
