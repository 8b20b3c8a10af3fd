/*
 * Selective-repeat ARQ.
 *
 * Sender: every DATA frame takes the next 16-bit sequence number and a slice
 * [off, off + len) of one stream's send ring; the slot (seq mod
 * LL_ARQ_WINDOW_MAX) remembers the slice, so a retransmission re-reads the
 * ring, which keeps bytes until the cumulative ack passes their frame.  A
 * frame leaves the window when the cumulative ack passes it; a SACKed frame
 * is never retransmitted.  Lost frames are found by SACK (two later frames
 * received: fast retransmit) or by the RTO (RFC 6298 estimator, Karn's rule,
 * exponential backoff).
 *
 * Receiver: frames within LL_ARQ_WINDOW_MAX of the next expected sequence
 * number are kept in receive slots until they can be delivered in order into
 * their stream's receive ring; the peer only sends stream bytes up to the
 * credit limit we advertise, so in-order delivery always fits (a frame that
 * would not fit stays in its slot until the application reads).
 *
 * Frame size: the loss of every transmission is sampled (lost = it had to be
 * retransmitted) into exponentially weighted sums over about LOSS_FRAMES
 * transmissions; from the loss fraction f and mean wire size s the per-byte
 * error rate p = -ln(1 - f) / s follows, and the payload that maximises
 * goodput for a frame overhead H is (sqrt(H / p) - H) / coding_ratio.
 * Because p is normalised by size, changing the size does not move the
 * estimate, so the loop does not oscillate.
 */
#include <stdlib.h>
#include <string.h>

#include "arq.h"
#include "buf.h"
#include "error.h"

#define SLOT(s)		((uint16_t)(s) % LL_ARQ_WINDOW_MAX)
#define RING		LL_STREAM_BUF_MAX
#define HALF_SPACE	32768
#define LOSS_FRAMES	128.0	/* memory of the loss estimate, in frames */
#define LOSS_CAP	0.5	/* loss fraction used at most */
#define LOSS_NONE	1e-12	/* loss fraction taken as none (decayed) */
#define GROW_MIN	256	/* first frames' payload, before any is proven */

struct tx_slot {
	uint32_t off;		/* stream offset of the first byte */
	uint16_t len;
	uint8_t stream;
	uint8_t ntx;		/* transmissions so far */
	bool sacked;
	bool need_rtx;
	uint64_t last_tx;
	uint64_t tx_order;	/* arq->tx_count at the last transmission */
	bool timed_out;		/* the RTO took it for lost (loss sampled) */
	uint64_t loss_at;	/* arq->samples when that loss was sampled */
	size_t grow_before;	/* arq->grow before that loss cut it */
};

struct rx_slot {
	uint8_t *data;
	uint16_t len;
	uint8_t stream;
	bool have;
};

struct send_stream {
	uint8_t *ring;		/* RING bytes, allocated on first write */
	uint32_t acked;		/* first byte not cumulatively acked */
	uint32_t sent;		/* first byte not yet framed */
	uint32_t end;		/* end of written bytes */
	uint32_t limit;		/* peer's credit limit */
};

struct recv_stream {
	uint8_t *ring;		/* allocated on first delivery */
	uint32_t consumed;	/* read by the application */
	uint32_t end;		/* delivered in order */
	uint32_t advertised;	/* limit in our last ACK */
};

struct ll_arq {
	struct ll_arq_config cfg;
	uint16_t snd_una, snd_nxt, rcv_nxt;
	struct tx_slot tx[LL_ARQ_WINDOW_MAX];
	struct rx_slot rx[LL_ARQ_WINDOW_MAX];
	struct send_stream ss[LL_STREAMS_MAX];
	struct recv_stream rs[LL_STREAMS_MAX];
	unsigned rr;		/* next of streams 1.. to serve */
	bool ack_pending;	/* an ACK frame goes first in the next output */
	bool ack_delayed;	/* in-order DATA not yet acked, until ack_due */
	uint64_t ack_due;
	uint32_t ack_delay;	/* ms; 0: every DATA is acked at once */
	uint32_t line_rate;	/* bytes/s when known, else 0 */
	uint64_t line_free;	/* when what we sent has left, at that rate */
	uint64_t last_send;
	uint64_t tx_count;	/* DATA transmissions so far, for loss order */

	bool have_rtt;
	double srtt, rttvar;
	uint64_t min_rtt;	/* the shortest round trip sampled */
	uint32_t rto;		/* without backoff */
	unsigned backoff;
	uint64_t last_backoff;

	size_t max_payload, payload;
	size_t grow;		/* frame size proven on this path, doubled */
	double ratio;
	double loss_n, loss_l, loss_b;	/* weighted samples, losses, bytes */
	uint64_t samples;	/* loss samples taken so far */

	size_t held;
	struct ll_arq_stats st;
};

static uint16_t
inflight(const struct ll_arq *arq)
{
	return (uint16_t)(arq->snd_nxt - arq->snd_una);
}

/* Wire bytes of a frame with len payload bytes, at the current coding. */
static size_t
wire_len(const struct ll_arq *arq, size_t len)
{
	return (size_t)((double)len * arq->ratio) + LL_ARQ_OVERHEAD;
}

/*
 * Wire bytes of the DATA frames still in the path: sent, not acknowledged
 * (cumulatively or by SACK) and not yet taken for lost.
 */
static size_t
inflight_wire(const struct ll_arq *arq)
{
	uint16_t n = inflight(arq), i;
	const struct tx_slot *t;
	size_t sum = 0;

	for (i = 0; i < n; i++) {
		t = &arq->tx[SLOT(arq->snd_una + i)];
		if (!t->sacked && !t->need_rtx)
			sum += wire_len(arq, t->len);
	}
	return sum;
}

/*
 * When a keepalive ACK is due: keepalive_ms after our last frame has left,
 * not after it was handed out.  At 9600 baud a 940-byte frame is a second
 * of line, so timed from the hand-over a keepalive (41 bytes) went out
 * between every two DATA frames while the peer heard from us all along.
 */
static uint64_t
keepalive_due(const struct ll_arq *arq)
{
	uint64_t last = arq->line_free > arq->last_send ? arq->line_free :
	    arq->last_send;

	return last + arq->cfg.keepalive_ms;
}

static uint32_t
rto_eff(const struct ll_arq *arq)
{
	uint64_t r = (uint64_t)arq->rto << arq->backoff;

	return r > arq->cfg.rto_max_ms ? arq->cfg.rto_max_ms : (uint32_t)r;
}

/* No libm in the link line: small, exact-enough helpers. */
static double
neg_log1m(double f)
{
	/* -ln(1 - f) = 2 atanh(z), z = f / (2 - f) <= 1/3 for f <= 1/2 */
	double z = f / (2 - f), z2 = z * z, t = z, sum = 0;
	int k;

	for (k = 1; k < 40; k += 2) {
		sum += t / k;
		t *= z2;
	}
	return 2 * sum;
}

static double
square_root(double v)
{
	double x = v > 1 ? v : 1;
	int i;

	if (v <= 0)
		return 0;
	for (i = 0; i < 60; i++)
		x = (x + v / x) / 2;
	return x;
}

static void
update_payload(struct ll_arq *arq)
{
	double f, p, opt;
	size_t lo = LL_ARQ_PAYLOAD_MIN, n;

	if (lo > arq->max_payload)
		lo = arq->max_payload;
	arq->payload = arq->max_payload;
	arq->st.loss = 0;
	if (arq->cfg.fixed_payload || arq->loss_n <= 0 || arq->loss_l <= 0)
		return;
	f = arq->loss_l / arq->loss_n;
	if (f > LOSS_CAP)
		f = LOSS_CAP;
	/*
	 * A loss long past decays to the smallest denormal, which the weight
	 * never takes to 0; below LOSS_NONE it counts as no loss at all.
	 * Otherwise p underflows to 0, H / p is infinite, the square root of
	 * infinity NaN, and a NaN converted to size_t is garbage (2^63).
	 */
	if (f < LOSS_NONE) {
		arq->loss_l = 0;
		return;
	}
	p = neg_log1m(f) / (arq->loss_b / arq->loss_n);
	arq->st.loss = p;
	opt = (square_root(LL_ARQ_OVERHEAD / p) - LL_ARQ_OVERHEAD) / arq->ratio;
	/* written so that a NaN, too, takes the cap */
	if (!(opt < (double)arq->max_payload))
		n = arq->max_payload;
	else if (opt < (double)lo)
		n = lo;
	else
		n = (size_t)opt;
	arq->payload = n;
}

static void
loss_sample(struct ll_arq *arq, bool lost, size_t len)
{
	double w = 1 - 1 / LOSS_FRAMES;

	arq->samples++;
	arq->loss_n = arq->loss_n * w + 1;
	arq->loss_l = arq->loss_l * w + (lost ? 1 : 0);
	arq->loss_b = arq->loss_b * w + len * arq->ratio + LL_ARQ_OVERHEAD;
	/* A lost frame must be proven again before frames that big return. */
	if (lost && !arq->cfg.fixed_payload && len / 2 < arq->grow)
		arq->grow = len / 2 > GROW_MIN ? len / 2 : GROW_MIN;
	update_payload(arq);
}

static void
rtt_sample(struct ll_arq *arq, uint64_t r)
{
	double d, rto;

	if (!arq->have_rtt || r < arq->min_rtt)
		arq->min_rtt = r;
	if (!arq->have_rtt) {
		arq->srtt = (double)r;
		arq->rttvar = (double)r / 2;
		arq->have_rtt = true;
	} else {
		d = arq->srtt - (double)r;
		if (d < 0)
			d = -d;
		arq->rttvar = 0.75 * arq->rttvar + 0.25 * d;
		arq->srtt = 0.875 * arq->srtt + 0.125 * (double)r;
	}
	rto = arq->srtt + 4 * arq->rttvar;
	/*
	 * On a paced serial line the round trip is mostly queueing and
	 * serialization, so it barely varies and rttvar goes to nothing;
	 * keep half a round trip of margin so the SACKs of the frames
	 * behind a lost one win the race against the timer.
	 */
	if (rto < 1.5 * arq->srtt)
		rto = 1.5 * arq->srtt;
	if (rto < arq->cfg.rto_min_ms)
		rto = arq->cfg.rto_min_ms;
	if (rto > arq->cfg.rto_max_ms)
		rto = arq->cfg.rto_max_ms;
	arq->rto = (uint32_t)rto;
	/* A fresh sample shows the path works again: drop the backoff. */
	arq->backoff = 0;
}

static void
ring_put(uint8_t *ring, uint32_t off, const uint8_t *p, size_t n)
{
	size_t at = off % RING, first = RING - at;

	if (first > n)
		first = n;
	memcpy(ring + at, p, first);
	memcpy(ring, p + first, n - first);
}

static void
ring_get(const uint8_t *ring, uint32_t off, uint8_t *p, size_t n)
{
	size_t at = off % RING, first = RING - at;

	if (first > n)
		first = n;
	memcpy(p, ring + at, first);
	memcpy(p + first, ring, n - first);
}

struct ll_arq *
ll_arq_new(const struct ll_arq_config *cfg, uint64_t now)
{
	struct ll_arq *arq = NULL;
	unsigned i;

	if (cfg->window > LL_ARQ_WINDOW_MAX)
		goto out;
	if ((arq = calloc(1, sizeof(*arq))) == NULL)
		goto out;
	arq->cfg = *cfg;
	if (arq->cfg.window == 0)
		arq->cfg.window = LL_ARQ_WINDOW_DEFAULT;
	if (arq->cfg.max_payload == 0 ||
	    arq->cfg.max_payload > LL_FRAME_PAYLOAD_MAX)
		arq->cfg.max_payload = LL_FRAME_PAYLOAD_MAX;
	if (arq->cfg.rto_init_ms == 0)
		arq->cfg.rto_init_ms = 1000;
	if (arq->cfg.rto_min_ms == 0)
		arq->cfg.rto_min_ms = 100;
	if (arq->cfg.rto_max_ms == 0)
		arq->cfg.rto_max_ms = 10000;
	if (arq->cfg.keepalive_ms == 0)
		arq->cfg.keepalive_ms = 1000;
	if (arq->cfg.coding_ratio < 1)
		arq->cfg.coding_ratio = 1;
	arq->ratio = arq->cfg.coding_ratio;
	arq->rto = arq->cfg.rto_init_ms;
	arq->ack_delay = arq->cfg.ack_delay_ms;
	arq->line_rate = arq->cfg.line_rate;
	arq->max_payload = arq->cfg.max_payload;
	arq->payload = arq->max_payload;
	arq->grow = arq->cfg.fixed_payload || arq->max_payload < GROW_MIN ?
	    arq->max_payload : GROW_MIN;
	arq->last_send = now;
	for (i = 0; i < LL_STREAMS_MAX; i++) {
		/* Both sides start out granting a full receive buffer. */
		arq->ss[i].limit = RING;
		arq->rs[i].advertised = RING;
	}
out:
	return arq;
}

void
ll_arq_free(struct ll_arq *arq)
{
	unsigned i;

	if (arq == NULL)
		return;
	for (i = 0; i < LL_ARQ_WINDOW_MAX; i++)
		free(arq->rx[i].data);
	for (i = 0; i < LL_STREAMS_MAX; i++) {
		free(arq->ss[i].ring);
		free(arq->rs[i].ring);
	}
	free(arq);
}

/*
 * A hole is lost (not merely still on its way) when a frame transmitted
 * after its last transmission has been received: every path is a byte
 * stream (a line, a pipe, a socket), so frames arrive in the order they
 * were sent, and one later frame is proof, where TCP, whose packets may be
 * reordered, waits for more.  That holds for a first transmission and for a
 * retransmission alike, so a frame is never resent again while its
 * retransmission is still in flight.
 */
static bool
later_frame_received(const struct ll_arq *arq, const struct tx_slot *h,
    uint16_t n)
{
	uint16_t i;

	for (i = 0; i < n; i++) {
		const struct tx_slot *t = &arq->tx[SLOT(arq->snd_una + i)];

		if (t->sacked && t->tx_order > h->tx_order)
			return true;
	}
	return false;
}

/*
 * A timeout that was not a loss (Eifel's idea, told by time instead of a
 * timestamp): the ack came before the retransmission had left plus half
 * the shortest round trip sampled, too soon to answer it, so it answers
 * the first transmission, which was only late (a kernel message or the
 * peer's own frame held its ack back).  Its loss sample is taken back, and
 * the frame size limit it cut restored: else one late ack at the start of
 * a session shrinks every frame to the minimum for the next hundred.
 */
static void
undo_spurious(struct ll_arq *arq, const struct tx_slot *t, uint64_t now)
{
	double w = 1 - 1 / LOSS_FRAMES, weight = 1;
	uint64_t k;

	if (t->ntx < 2 || !t->timed_out || t->loss_at == 0 ||
	    now >= t->last_tx + arq->min_rtt / 2)
		return;
	/* the sample's weight now: w per sample taken since */
	for (k = arq->samples - t->loss_at; k > 0 && weight > LOSS_NONE; k--)
		weight *= w;
	arq->loss_l -= weight;
	if (arq->loss_l < 0)
		arq->loss_l = 0;
	if (t->grow_before > arq->grow)
		arq->grow = t->grow_before;
	arq->st.spurious++;
	update_payload(arq);
}

/* Frame at slot t counts as received by the peer for the first time. */
static void
newly_acked(struct ll_arq *arq, const struct tx_slot *t, uint64_t now,
    bool *have, uint64_t *sent)
{
	undo_spurious(arq, t, now);
	loss_sample(arq, false, t->len);
	/*
	 * Frames grow only as fast as the path proves it carries them
	 * (doubling per success), so a noisy line is never flooded with
	 * large frames that are each lost again on every retransmission:
	 * a frame keeps its size until it gets through.
	 */
	if (t->ntx == 1 && (size_t)t->len * 2 > arq->grow &&
	    !arq->cfg.fixed_payload)
		arq->grow = (size_t)t->len * 2 < arq->max_payload ?
		    (size_t)t->len * 2 : arq->max_payload;
	/* Karn: only frames sent once time the path; take the newest. */
	if (t->ntx == 1 && (!*have || t->last_tx > *sent)) {
		*have = true;
		*sent = t->last_tx;
	}
}

static void
process_ack(struct ll_arq *arq, uint16_t ack, const uint8_t *sackp,
    uint64_t now)
{
	uint16_t n = inflight(arq), d = (uint16_t)(ack - arq->snd_una), i, s;
	uint32_t sack = 0;
	struct tx_slot *t;
	bool sacked_after;
	bool have = false;
	uint64_t sent = 0;

	/* An ack beyond what we sent is bogus, one behind is old news. */
	if (d > 0 && d <= n) {
		for (i = 0; i < d; i++) {
			t = &arq->tx[SLOT(arq->snd_una + i)];
			if (!t->sacked)
				newly_acked(arq, t, now, &have, &sent);
			arq->ss[t->stream].acked = t->off + t->len;
			memset(t, 0, sizeof(*t));
		}
		arq->snd_una = ack;
		n = inflight(arq);
	}
	if (sackp != NULL) {
		sack = ll_peek_u32(sackp);
		for (i = 0; i < LL_ARQ_SACK_BITS; i++) {
			if ((sack & (1U << i)) == 0)
				continue;
			s = (uint16_t)(ack + 1 + i);
			if ((uint16_t)(s - arq->snd_una) >= n)
				continue;
			t = &arq->tx[SLOT(s)];
			if (t->sacked)
				continue;
			t->sacked = true;
			t->need_rtx = false;
			newly_acked(arq, t, now, &have, &sent);
		}
	}
	/* An ack before the computed end of transmission: a faster line. */
	if (have)
		rtt_sample(arq, now > sent ? now - sent : 0);
	if (sackp == NULL)
		return;
	/* Fast retransmit: a hole with a frame received after it. */
	sacked_after = false;
	for (i = n; i > 0; i--) {
		t = &arq->tx[SLOT(arq->snd_una + i - 1)];
		if (t->sacked) {
			sacked_after = true;
			continue;
		}
		if (!sacked_after || t->need_rtx ||
		    !later_frame_received(arq, t, n))
			continue;
		t->need_rtx = true;
		t->timed_out = false;
		arq->st.fast_retransmits++;
		loss_sample(arq, true, t->len);
	}
}

static size_t
recv_room(const struct recv_stream *r)
{
	return RING - (uint32_t)(r->end - r->consumed);
}

static int
deliver(struct ll_arq *arq, unsigned stream, const uint8_t *p, size_t n)
{
	struct recv_stream *r = &arq->rs[stream];

	if (r->ring == NULL && (r->ring = malloc(RING)) == NULL)
		return LL_ERR_NOMEM;
	ring_put(r->ring, r->end, p, n);
	r->end += n;
	arq->st.bytes_received += n;
	return 0;
}

/* Move held frames that are next in order into their receive rings. */
static int
deliver_held(struct ll_arq *arq)
{
	struct rx_slot *x;
	int error;

	for (;;) {
		x = &arq->rx[SLOT(arq->rcv_nxt)];
		if (!x->have || recv_room(&arq->rs[x->stream]) < x->len)
			return 0;
		if ((error = deliver(arq, x->stream, x->data, x->len)) != 0)
			return error;
		arq->held -= x->len;
		free(x->data);
		memset(x, 0, sizeof(*x));
		arq->rcv_nxt++;
	}
}

/*
 * A DATA frame arrived in order with nothing held behind a hole.  With an
 * ACK delay its ACK waits that long for a DATA frame of ours, whose header
 * carries the same cumulative ack: in a request and its reply on a slow
 * line the reply then goes first instead of queueing behind an ACK frame
 * (41 bytes, 43 ms at 9600 baud).  A second such frame, a gap (the peer
 * needs the SACK bits) or a duplicate is acked at once, as is everything
 * without a delay.
 */
static void
ack_later(struct ll_arq *arq, uint64_t now)
{
	if (arq->ack_delay == 0 || arq->held > 0 || arq->ack_delayed) {
		arq->ack_pending = true;
		return;
	}
	arq->ack_delayed = true;
	arq->ack_due = now + arq->ack_delay;
}

static int
input_data(struct ll_arq *arq, const struct ll_frame *f, uint64_t now)
{
	uint16_t d = (uint16_t)(f->seq - arq->rcv_nxt);
	struct rx_slot *x;
	int error;

	process_ack(arq, f->ack, NULL, now);
	/*
	 * Every DATA frame is acked, duplicates too: our ACK may be lost.
	 * Only the plain case may wait (see ack_later).
	 */
	if (d >= HALF_SPACE) {
		arq->ack_pending = true;
		arq->st.duplicates++;
		return 0;
	}
	if (d >= LL_ARQ_WINDOW_MAX) {
		arq->ack_pending = true;
		arq->st.stale++;
		return 0;
	}
	x = &arq->rx[SLOT(f->seq)];
	if (x->have) {
		arq->ack_pending = true;
		arq->st.duplicates++;
		return 0;
	}
	arq->st.frames_received++;
	if (d == 0 && recv_room(&arq->rs[f->stream]) >= f->len) {
		if ((error = deliver(arq, f->stream, f->payload, f->len)) != 0)
			return error;
		arq->rcv_nxt++;
		if ((error = deliver_held(arq)) != 0)
			return error;
		ack_later(arq, now);
		return 0;
	}
	arq->ack_pending = true;
	if (d != 0)
		arq->st.out_of_order++;
	if ((x->data = malloc(f->len > 0 ? f->len : 1)) == NULL)
		return LL_ERR_NOMEM;
	memcpy(x->data, f->payload, f->len);
	x->len = f->len;
	x->stream = f->stream;
	x->have = true;
	arq->held += f->len;
	return 0;
}

static int
input_ack(struct ll_arq *arq, const struct ll_frame *f, uint64_t now)
{
	const uint8_t *p = f->payload;
	uint32_t limit, cur;
	unsigned count, i;
	struct send_stream *s;

	/* Check everything before acting on anything. */
	if (f->len < LL_ARQ_ACK_LEN(0))
		return LL_ERR_FORMAT;
	count = p[4];
	if (f->len != LL_ARQ_ACK_LEN(count))
		return LL_ERR_FORMAT;
	for (i = 0; i < count; i++)
		if (p[5 + 5 * i] >= LL_STREAMS_MAX)
			return LL_ERR_FORMAT;
	arq->st.frames_received++;
	process_ack(arq, f->ack, p, now);
	for (i = 0; i < count; i++) {
		s = &arq->ss[p[5 + 5 * i]];
		limit = ll_peek_u32(p + 6 + 5 * i);
		cur = s->limit;
		/* Limits only grow; an older ACK may arrive late. */
		if ((int32_t)(limit - cur) > 0)
			s->limit = limit;
	}
	return 0;
}

int
ll_arq_input(struct ll_arq *arq, const struct ll_frame *f, uint64_t now)
{
	int error;

	switch (f->type) {
	case LL_FT_DATA:
		if (f->stream >= LL_STREAMS_MAX ||
		    f->len > LL_FRAME_PAYLOAD_MAX)
			error = LL_ERR_FORMAT;
		else
			error = input_data(arq, f, now);
		break;
	case LL_FT_ACK:
		error = input_ack(arq, f, now);
		break;
	default:
		return LL_ERR_INVAL;
	}
	if (error == LL_ERR_FORMAT)
		arq->st.bad++;
	return error;
}

static void
check_timeouts(struct ll_arq *arq, uint64_t now)
{
	uint16_t n = inflight(arq), i;
	uint32_t rto = rto_eff(arq);
	struct tx_slot *t;
	bool fired = false;

	for (i = 0; i < n; i++) {
		t = &arq->tx[SLOT(arq->snd_una + i)];
		if (t->sacked || t->need_rtx || now < t->last_tx + rto)
			continue;
		t->need_rtx = true;
		arq->st.timeouts++;
		t->grow_before = arq->grow;
		loss_sample(arq, true, t->len);
		t->timed_out = true;
		t->loss_at = arq->samples;
		fired = true;
	}
	/* Back off once per RTO period, not once per frame timed out. */
	if (fired && now >= arq->last_backoff + rto &&
	    rto < arq->cfg.rto_max_ms) {
		arq->backoff++;
		arq->last_backoff = now;
	}
}

static bool
sendable(const struct ll_arq *arq, unsigned s)
{
	const struct send_stream *ss = &arq->ss[s];

	return ss->end != ss->sent && (int32_t)(ss->limit - ss->sent) > 0;
}

static int
pick_stream(const struct ll_arq *arq)
{
	unsigned k, s, others = LL_STREAMS_MAX - 1;

	if (inflight(arq) >= arq->cfg.window)
		return -1;
	/*
	 * Bytes in flight beyond the cap would only wait in the path's queue
	 * (a line slower than the pacing rate lets that queue grow without
	 * end): a new frame waits for acks instead, unless the path is empty.
	 */
	if (arq->cfg.window_bytes > 0) {
		size_t in = inflight_wire(arq), next = arq->payload;

		if (next > arq->grow)
			next = arq->grow;
		if (in > 0 && in + wire_len(arq, next) > arq->cfg.window_bytes)
			return -1;
	}
	if (sendable(arq, 0))
		return 0;
	for (k = 0; k < others; k++) {
		s = 1 + (arq->rr + k) % others;
		if (sendable(arq, s))
			return (int)s;
	}
	return -1;
}

/*
 * When a frame of len payload bytes handed out now will have left: at a
 * known line rate, after whatever we handed out before it and its own wire
 * time; else now.  Its retransmit timer and its round trip run from there,
 * so that a long frame (up to a second of line at 9600 baud), or one queued
 * behind others, is not taken for lost while it is still being sent, and a
 * round trip measured on a short frame fits a long one too.
 */
static uint64_t
tx_end(struct ll_arq *arq, uint64_t now, size_t len)
{
	uint64_t start = arq->line_free > now ? arq->line_free : now;

	if (arq->line_rate == 0)
		return now;
	arq->line_free = start + ((uint64_t)wire_len(arq, len) * 1000 +
	    arq->line_rate - 1) / arq->line_rate;
	return arq->line_free;
}

void
ll_arq_peek_ack(const struct ll_arq *arq, struct ll_frame *out)
{
	uint32_t sack = 0;
	unsigned i;
	uint8_t *p = out->payload;

	for (i = 0; i < LL_ARQ_SACK_BITS; i++)
		if (arq->rx[SLOT(arq->rcv_nxt + 1 + i)].have)
			sack |= 1U << i;
	out->type = LL_FT_ACK;
	out->stream = 0;
	out->seq = arq->snd_nxt;
	out->ack = arq->rcv_nxt;
	ll_poke_u32(p, sack);
	p[4] = LL_STREAMS_MAX;
	for (i = 0; i < LL_STREAMS_MAX; i++) {
		p[5 + 5 * i] = i;
		ll_poke_u32(p + 6 + 5 * i, arq->rs[i].consumed + RING);
	}
	out->len = LL_ARQ_ACK_LEN(LL_STREAMS_MAX);
}

static void
build_ack(struct ll_arq *arq, struct ll_frame *out)
{
	unsigned i;

	ll_arq_peek_ack(arq, out);
	for (i = 0; i < LL_STREAMS_MAX; i++)
		arq->rs[i].advertised = arq->rs[i].consumed + RING;
	arq->st.acks_sent++;
}

/* A DATA frame (a retransmission or new data) may go out now. */
static bool
data_ready(const struct ll_arq *arq)
{
	uint16_t n = inflight(arq), i;

	for (i = 0; i < n; i++) {
		if (arq->tx[SLOT(arq->snd_una + i)].need_rtx)
			return true;
	}
	return pick_stream(arq) >= 0;
}

int
ll_arq_next_frame(struct ll_arq *arq, uint64_t now, struct ll_frame *out)
{
	uint16_t n, i, seq;
	struct tx_slot *t;
	struct send_stream *ss;
	uint32_t len;
	int s;

	check_timeouts(arq, now);
	/*
	 * A delayed ACK that came due while nothing could be sent (the link
	 * still probing, the line full) rides on the DATA frame that can go
	 * now: its header carries the same cumulative ack, and an ACK frame
	 * before it would only delay it (43 ms at 9600 baud).
	 */
	if (arq->ack_pending || now >= keepalive_due(arq) ||
	    (arq->ack_delayed && now >= arq->ack_due && !data_ready(arq))) {
		build_ack(arq, out);
		arq->ack_pending = false;
		(void)tx_end(arq, now, out->len);	/* it takes the line too */
		goto sent;
	}
	/* Retransmissions first, oldest first. */
	n = inflight(arq);
	for (i = 0; i < n; i++) {
		seq = arq->snd_una + i;
		t = &arq->tx[SLOT(seq)];
		if (!t->need_rtx)
			continue;
		out->type = LL_FT_DATA;
		out->stream = t->stream;
		out->seq = seq;
		out->len = t->len;
		ring_get(arq->ss[t->stream].ring, t->off, out->payload, t->len);
		t->need_rtx = false;
		if (t->ntx < UINT8_MAX)
			t->ntx++;
		t->last_tx = tx_end(arq, now, t->len);
		t->tx_order = ++arq->tx_count;
		arq->st.retransmits++;
		goto sent;
	}
	if ((s = pick_stream(arq)) < 0)
		return 0;
	if (s > 0)
		arq->rr = (unsigned)s % (LL_STREAMS_MAX - 1);
	ss = &arq->ss[s];
	len = ss->end - ss->sent;
	if (len > ss->limit - ss->sent)
		len = ss->limit - ss->sent;
	if (len > arq->payload)
		len = arq->payload;
	if (len > arq->grow)
		len = (uint32_t)arq->grow;
	seq = arq->snd_nxt++;
	t = &arq->tx[SLOT(seq)];
	memset(t, 0, sizeof(*t));
	t->off = ss->sent;
	t->len = len;
	t->stream = s;
	t->ntx = 1;
	t->last_tx = tx_end(arq, now, len);
	t->tx_order = ++arq->tx_count;
	out->type = LL_FT_DATA;
	out->stream = s;
	out->seq = seq;
	out->len = len;
	ring_get(ss->ring, ss->sent, out->payload, len);
	ss->sent += len;
	arq->st.data_sent++;
	arq->st.bytes_sent += len;
sent:
	/* Whatever goes out acks everything delivered so far. */
	out->ack = arq->rcv_nxt;
	arq->ack_delayed = false;
	arq->last_send = now;
	arq->st.frames_sent++;
	return 1;
}

uint64_t
ll_arq_deadline(const struct ll_arq *arq)
{
	uint16_t n = inflight(arq), i;
	uint32_t rto = rto_eff(arq);
	const struct tx_slot *t;
	uint64_t dl;

	if (arq->ack_pending || pick_stream(arq) >= 0)
		return 0;
	dl = keepalive_due(arq);
	if (arq->ack_delayed && arq->ack_due < dl)
		dl = arq->ack_due;
	for (i = 0; i < n; i++) {
		t = &arq->tx[SLOT(arq->snd_una + i)];
		if (t->need_rtx)
			return 0;
		if (!t->sacked && t->last_tx + rto < dl)
			dl = t->last_tx + rto;
	}
	return dl;
}

void
ll_arq_request_ack(struct ll_arq *arq)
{
	arq->ack_pending = true;
}

size_t
ll_arq_writable(const struct ll_arq *arq, unsigned stream)
{
	const struct send_stream *ss;

	if (stream >= LL_STREAMS_MAX)
		return 0;
	ss = &arq->ss[stream];
	return RING - (uint32_t)(ss->end - ss->acked);
}

ssize_t
ll_arq_write(struct ll_arq *arq, unsigned stream, const void *p, size_t n)
{
	struct send_stream *ss;
	size_t room;

	if (stream >= LL_STREAMS_MAX)
		return LL_ERR_INVAL;
	ss = &arq->ss[stream];
	room = ll_arq_writable(arq, stream);
	if (n > room)
		n = room;
	if (n == 0)
		return 0;
	if (ss->ring == NULL && (ss->ring = malloc(RING)) == NULL)
		return LL_ERR_NOMEM;
	ring_put(ss->ring, ss->end, p, n);
	ss->end += n;
	return (ssize_t)n;
}

size_t
ll_arq_readable(const struct ll_arq *arq, unsigned stream)
{
	if (stream >= LL_STREAMS_MAX)
		return 0;
	return arq->rs[stream].end - arq->rs[stream].consumed;
}

ssize_t
ll_arq_read(struct ll_arq *arq, unsigned stream, void *p, size_t n)
{
	struct recv_stream *r;
	size_t avail;
	int error;

	if (stream >= LL_STREAMS_MAX)
		return LL_ERR_INVAL;
	r = &arq->rs[stream];
	avail = r->end - r->consumed;
	if (n > avail)
		n = avail;
	if (n == 0)
		return 0;
	ring_get(r->ring, r->consumed, p, n);
	r->consumed += n;
	/* Room made: frames held for lack of it may go in now. */
	if ((error = deliver_held(arq)) != 0)
		return error;
	/* Re-advertise once the credit grew noticeably. */
	if ((uint32_t)(r->consumed + RING - r->advertised) > RING / 4)
		arq->ack_pending = true;
	return (ssize_t)n;
}

bool
ll_arq_is_drained(const struct ll_arq *arq)
{
	unsigned i;

	for (i = 0; i < LL_STREAMS_MAX; i++)
		if (arq->ss[i].acked != arq->ss[i].end)
			return false;
	return inflight(arq) == 0;
}

void
ll_arq_set_max_payload(struct ll_arq *arq, size_t n)
{
	if (n < 1)
		n = 1;
	if (n > LL_FRAME_PAYLOAD_MAX)
		n = LL_FRAME_PAYLOAD_MAX;
	arq->max_payload = n;
	if (arq->grow > n || arq->cfg.fixed_payload)
		arq->grow = n;
	update_payload(arq);
}

void
ll_arq_set_ack_delay(struct ll_arq *arq, uint32_t ms)
{
	arq->ack_delay = ms;
	if (ms == 0 && arq->ack_delayed) {
		arq->ack_delayed = false;
		arq->ack_pending = true;
	}
}

void
ll_arq_set_line_rate(struct ll_arq *arq, uint32_t bytes_per_s)
{
	arq->line_rate = bytes_per_s;
}

void
ll_arq_set_window_bytes(struct ll_arq *arq, size_t n)
{
	arq->cfg.window_bytes = n;
}

void
ll_arq_set_coding_ratio(struct ll_arq *arq, double ratio)
{
	arq->ratio = ratio < 1 ? 1 : ratio;
	update_payload(arq);
}

void
ll_arq_stats(const struct ll_arq *arq, struct ll_arq_stats *s)
{
	unsigned i;

	*s = arq->st;
	s->srtt_ms = (uint32_t)arq->srtt;
	s->rttvar_ms = (uint32_t)arq->rttvar;
	s->rto_ms = rto_eff(arq);
	s->inflight = inflight(arq);
	s->inflight_bytes = inflight_wire(arq);
	s->payload = arq->payload;
	s->held = arq->held;
	s->buffered = 0;
	for (i = 0; i < LL_STREAMS_MAX; i++) {
		s->buffered += (uint32_t)(arq->ss[i].end - arq->ss[i].acked);
		s->buffered += (uint32_t)(arq->rs[i].end - arq->rs[i].consumed);
	}
}
