/*
 * ARQ tests: two ARQs joined by simulated channels in packet mode (each frame
 * is one packet, lost whole when any of its wire bytes is hit), stepped in
 * virtual milliseconds.  Applications write a position-dependent byte
 * pattern and check every byte they read.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arq.h"
#include "buf.h"
#include "error.h"
#include "simchan.h"

#define SEED	20240601ULL

struct pair {
	struct ll_arq *a[2];
	struct simchan *ch[2];		/* ch[i]: from side i to side 1 - i */
	uint64_t now;
	size_t qcap;			/* pace: queue frames below this */
	double ratio;
	uint64_t total[2][LL_STREAMS_MAX];	/* to write, per side */
	uint64_t wr[2][LL_STREAMS_MAX];
	uint64_t rd[2][LL_STREAMS_MAX];		/* read and checked */
	bool noread[2][LL_STREAMS_MAX];
	uint64_t *txtime;		/* side 0: last send time per seq */
	uint64_t max_rtx_gap;		/* side 0: longest resend interval */
	uint64_t rtx_times[64];
	unsigned nrtx;
	int watch_seq;			/* record resends of this seq */
};

static uint8_t
pat(int side, unsigned stream, uint64_t off)
{
	return (uint8_t)(((off * 2654435761u) >> 13) ^ (stream * 31) ^
	    (side * 7) ^ off);
}

static void
pair_init(struct pair *p, const struct ll_arq_config *cfg,
    const struct simchan_config *sc, uint64_t seed)
{
	struct simchan_config c = *sc;
	int i;

	memset(p, 0, sizeof(*p));
	for (i = 0; i < 2; i++) {
		p->a[i] = ll_arq_new(cfg, 0);
		assert_non_null(p->a[i]);
		c.seed = seed + i;
		p->ch[i] = simchan_new(&c);
	}
	p->qcap = 64;
	p->ratio = cfg->coding_ratio > 1 ? cfg->coding_ratio : 1;
	p->txtime = calloc(65536, sizeof(*p->txtime));
	assert_non_null(p->txtime);
	p->watch_seq = -1;
}

static void
pair_free(struct pair *p)
{
	int i;

	for (i = 0; i < 2; i++) {
		ll_arq_free(p->a[i]);
		simchan_free(p->ch[i]);
	}
	free(p->txtime);
}

static size_t
frame_pack(const struct ll_frame *f, uint8_t *b)
{
	b[0] = f->type;
	b[1] = f->stream;
	b[2] = f->seq >> 8;
	b[3] = f->seq;
	b[4] = f->ack >> 8;
	b[5] = f->ack;
	b[6] = f->len >> 8;
	b[7] = f->len;
	memcpy(b + 8, f->payload, f->len);
	return 8 + f->len;
}

static void
frame_unpack(const uint8_t *b, size_t n, struct ll_frame *f)
{
	assert_true(n >= 8);
	f->type = b[0];
	f->stream = b[1];
	f->seq = b[2] << 8 | b[3];
	f->ack = b[4] << 8 | b[5];
	f->len = b[6] << 8 | b[7];
	assert_int_equal(n, 8 + f->len);
	memcpy(f->payload, b + 8, f->len);
}

static void
app(struct pair *p, int i)
{
	static uint8_t buf[16384], exp[16384];
	unsigned s;
	uint64_t n, k;
	ssize_t r;

	for (s = 0; s < LL_STREAMS_MAX; s++) {
		while (p->wr[i][s] < p->total[i][s]) {
			n = p->total[i][s] - p->wr[i][s];
			if (n > sizeof(buf))
				n = sizeof(buf);
			for (k = 0; k < n; k++)
				buf[k] = pat(i, s, p->wr[i][s] + k);
			r = ll_arq_write(p->a[i], s, buf, n);
			assert_true(r >= 0);
			if (r == 0)
				break;
			p->wr[i][s] += r;
		}
		if (p->noread[1 - i][s])
			continue;
		while ((r = ll_arq_read(p->a[1 - i], s, buf,
		    sizeof(buf))) > 0) {
			for (k = 0; k < (uint64_t)r; k++)
				exp[k] = pat(i, s, p->rd[i][s] + k);
			if (memcmp(buf, exp, r) != 0)
				fail_msg("side %d stream %u: bad bytes at %llu",
				    i, s, (unsigned long long)p->rd[i][s]);
			p->rd[i][s] += r;
		}
		assert_true(r >= 0);
	}
}

/* Side 0 sent DATA seq: note resend intervals. */
static void
note_send(struct pair *p, uint16_t seq)
{
	uint64_t last = p->txtime[seq], gap = p->now - last;

	if (last != 0 && seq == p->watch_seq && p->nrtx < 64)
		p->rtx_times[p->nrtx++] = p->now;
	if (last != 0 && gap > p->max_rtx_gap && gap < 30000)
		p->max_rtx_gap = gap;
	p->txtime[seq] = p->now;
}

static void
step(struct pair *p)
{
	static uint8_t b[LL_FRAME_PAYLOAD_MAX + 16];
	static struct ll_frame f;
	struct ll_arq_stats st;
	uint64_t dl;
	size_t n;
	int i, r;

	p->now++;
	for (i = 0; i < 2; i++) {
		while ((n = simchan_recv_pkt(p->ch[1 - i], p->now, b,
		    sizeof(b))) > 0) {
			frame_unpack(b, n, &f);
			assert_int_equal(ll_arq_input(p->a[i], &f, p->now), 0);
		}
	}
	for (i = 0; i < 2; i++)
		app(p, i);
	for (i = 0; i < 2; i++) {
		dl = ll_arq_deadline(p->a[i]);
		while (simchan_queued(p->ch[i]) < p->qcap) {
			r = ll_arq_next_frame(p->a[i], p->now, &f);
			/* The deadline never hides work. */
			if (dl > p->now)
				assert_int_equal(r, 0);
			if (r == 0)
				break;
			if (i == 0 && f.type == LL_FT_DATA)
				note_send(p, f.seq);
			n = frame_pack(&f, b);
			simchan_send_pkt(p->ch[i], b, n,
			    (size_t)(f.len * p->ratio) + LL_ARQ_OVERHEAD);
		}
		/* Memory stays bounded whatever the channel does. */
		ll_arq_stats(p->a[i], &st);
		assert_true(st.buffered <=
		    2 * LL_STREAMS_MAX * LL_STREAM_BUF_MAX);
		assert_true(st.held <=
		    LL_ARQ_WINDOW_MAX * LL_FRAME_PAYLOAD_MAX);
		assert_true(st.inflight <= LL_ARQ_WINDOW_DEFAULT);
	}
}

static bool
pair_done(const struct pair *p)
{
	int i;
	unsigned s;

	for (i = 0; i < 2; i++)
		for (s = 0; s < LL_STREAMS_MAX; s++)
			if (p->rd[i][s] != p->total[i][s])
				return false;
	return ll_arq_is_drained(p->a[0]) && ll_arq_is_drained(p->a[1]);
}

static void
run_until_done(struct pair *p, uint64_t limit_ms)
{
	while (!pair_done(p)) {
		if (p->now >= limit_ms)
			fail_msg("not done after %llu ms",
			    (unsigned long long)p->now);
		step(p);
	}
}

static void
run_for(struct pair *p, uint64_t ms)
{
	uint64_t end = p->now + ms;

	while (p->now < end)
		step(p);
}

/* In-order, byte-exact delivery under loss, duplication, reordering. */
static void
test_lossy_inorder(void **state)
{
	struct ll_arq_config cfg = { 0 };
	struct simchan_config sc = { .rate = 50, .latency_ms = 20,
	    .drop = 1e-4, .dup = 0.05, .reorder = 0.05, .reorder_ms = 30 };
	struct ll_arq_stats st;
	struct pair p;

	pair_init(&p, &cfg, &sc, SEED);
	p.total[0][1] = 300000;
	p.total[0][2] = 50000;
	p.total[1][0] = 60000;
	p.total[1][1] = 100000;
	run_until_done(&p, 200000);
	ll_arq_stats(p.a[1], &st);
	assert_true(st.duplicates > 0);
	assert_true(st.out_of_order > 0);
	ll_arq_stats(p.a[0], &st);
	assert_true(st.retransmits > 0);
	print_message("# lossy: %llu ms, %llu retransmits, payload %zu\n",
	    (unsigned long long)p.now, (unsigned long long)st.retransmits,
	    st.payload);
	pair_free(&p);
}

/* More than 65536 frames: the sequence space wraps. */
static void
test_wraparound(void **state)
{
	struct ll_arq_config cfg = { .max_payload = 32, .fixed_payload = true };
	struct simchan_config sc = { .rate = 2000, .latency_ms = 1,
	    .drop = 1e-4 };
	struct ll_arq_stats st;
	struct pair p;

	pair_init(&p, &cfg, &sc, SEED + 10);
	p.qcap = 400;
	p.total[0][1] = 70000 * 32;
	p.total[1][0] = 20000;
	run_until_done(&p, 100000);
	ll_arq_stats(p.a[0], &st);
	assert_true(st.data_sent > 65536);
	assert_true(st.retransmits > 0);
	pair_free(&p);
}

/* No more than window frames unacknowledged. */
static void
test_window_limit(void **state)
{
	/* Fixed payload: frames of the full size from the first one. */
	struct ll_arq_config cfg = { .window = 8, .fixed_payload = true };
	struct simchan_config sc = { .rate = 1000, .latency_ms = 5 };
	struct ll_arq_stats st;
	struct pair p;
	int i;

	pair_init(&p, &cfg, &sc, SEED + 20);
	simchan_config(p.ch[1])->cut = true;	/* no ACKs come back */
	p.total[0][1] = 200000;
	for (i = 0; i < 300; i++) {
		step(&p);
		ll_arq_stats(p.a[0], &st);
		assert_true(st.inflight <= 8);
	}
	ll_arq_stats(p.a[0], &st);
	assert_int_equal(st.inflight, 8);
	assert_int_equal(st.data_sent, 8);
	assert_int_equal(p.rd[0][1], 8 * LL_FRAME_PAYLOAD_MAX);
	assert_true(ll_arq_new(&(struct ll_arq_config){ .window = 129 }, 0) ==
	    NULL);
	pair_free(&p);
}

/*
 * A cap on wire bytes in flight: with no ACKs the sender stops at it (one
 * frame more never fits), and with ACKs it keeps the path busy below it.
 */
static void
test_window_bytes(void **state)
{
	struct ll_arq_config cfg = { .fixed_payload = true,
	    .max_payload = 1000, .window_bytes = 3100 };
	struct simchan_config sc = { .rate = 1, .latency_ms = 5 };
	struct ll_arq_stats st;
	struct pair p;
	int i;

	pair_init(&p, &cfg, &sc, SEED + 22);
	p.qcap = 1 << 20;			/* the cap alone holds frames */
	simchan_config(p.ch[1])->cut = true;	/* no ACKs come back */
	p.total[0][1] = 200000;
	for (i = 0; i < 300; i++)
		step(&p);
	ll_arq_stats(p.a[0], &st);
	assert_int_equal(st.data_sent, 3);	/* 3 * 1016 <= 3100 */
	assert_int_equal(st.inflight_bytes, 3 * (1000 + LL_ARQ_OVERHEAD));
	pair_free(&p);

	pair_init(&p, &cfg, &sc, SEED + 23);
	p.qcap = 1 << 20;
	p.total[0][1] = 60000;
	while (!pair_done(&p)) {
		step(&p);
		ll_arq_stats(p.a[0], &st);
		assert_true(st.inflight_bytes <= cfg.window_bytes);
		assert_true(p.now < 80000);
	}
	pair_free(&p);
	(void)state;
}

/*
 * Frames start small and double with each one that gets through, so a
 * noisy line never sees a burst of large frames it cannot carry.
 */
static void
test_frame_growth(void **state)
{
	struct ll_arq_config cfg = { 0 };
	struct simchan_config sc = { .rate = 1000, .latency_ms = 5 };
	struct ll_arq_stats st;
	struct pair p;

	pair_init(&p, &cfg, &sc, SEED + 25);
	p.total[0][1] = 200000;
	step(&p);
	ll_arq_stats(p.a[0], &st);
	assert_int_equal(st.data_sent, 1);
	assert_true(st.bytes_sent <= 256);
	run_until_done(&p, 60000);
	ll_arq_stats(p.a[0], &st);
	/*
	 * 256 -> 4096 takes four rounds of doubling; after that the frames
	 * are large, so far fewer frames than at 256 bytes each.
	 */
	print_message("# growth: %llu frames for 200000 bytes\n",
	    (unsigned long long)st.data_sent);
	assert_true(st.data_sent < 200000 / 1024);
	pair_free(&p);
	(void)state;
}

/* RTO follows the RTT, and backs off exponentially up to 10 s. */
static void
test_rto(void **state)
{
	struct ll_arq_config cfg = { 0 };
	struct simchan_config sc = { .rate = 1000, .latency_ms = 50 };
	struct ll_arq_stats st;
	struct pair p;
	unsigned i;
	uint64_t gap, prev = 0;

	pair_init(&p, &cfg, &sc, SEED + 30);
	p.total[0][1] = 100000;
	run_until_done(&p, 20000);
	ll_arq_stats(p.a[0], &st);
	print_message("# srtt %u rttvar %u rto %u\n", st.srtt_ms,
	    st.rttvar_ms, st.rto_ms);
	/* 100 ms of latency plus a few ms of frame time. */
	assert_in_range(st.srtt_ms, 100, 120);
	/* RFC 6298, but never under one and a half round trips. */
	assert_true(st.rto_ms + 1 >= st.srtt_ms * 3 / 2);
	assert_true(st.rto_ms <= st.srtt_ms * 3 / 2 + 4 * (st.rttvar_ms + 1) +
	    1);
	assert_int_equal(st.retransmits, 0);

	/* Cut the line, write one frame, watch its retransmissions. */
	simchan_config(p.ch[0])->cut = true;
	simchan_config(p.ch[1])->cut = true;
	p.watch_seq = (int)st.data_sent % 65536;
	p.total[0][1] += 100;
	run_for(&p, 60000);
	assert_true(p.nrtx >= 6);
	for (i = 1; i < p.nrtx; i++) {
		gap = p.rtx_times[i] - p.rtx_times[i - 1];
		if (prev != 0 && prev < 5000)
			assert_in_range(gap, 2 * prev - 2, 2 * prev + 2);
		assert_true(gap <= 10000);
		prev = gap;
	}
	assert_int_equal(prev, 10000);
	/* The line comes back: the transfer completes. */
	simchan_config(p.ch[0])->cut = false;
	simchan_config(p.ch[1])->cut = false;
	run_until_done(&p, p.now + 20000);
	pair_free(&p);
}

/* One lost frame in a steady flow is resent on SACK, before any RTO. */
static void
test_fast_retransmit(void **state)
{
	struct ll_arq_config cfg = { .max_payload = 256,
	    .fixed_payload = true };
	struct simchan_config sc = { .rate = 100, .latency_ms = 20 };
	struct ll_arq_stats st;
	struct pair p;

	pair_init(&p, &cfg, &sc, SEED + 40);
	p.total[0][1] = 400000;
	run_for(&p, 500);
	simchan_drop_next(p.ch[0], 1);
	run_for(&p, 500);
	simchan_drop_next(p.ch[0], 1);
	run_until_done(&p, 60000);
	ll_arq_stats(p.a[0], &st);
	assert_int_equal(st.fast_retransmits, 2);
	assert_int_equal(st.timeouts, 0);
	assert_int_equal(st.retransmits, 2);
	/* Resent well before the RTO would have fired. */
	assert_true(p.max_rtx_gap > 0 && p.max_rtx_gap < st.rto_ms);
	print_message("# resent after %llu ms, rto %u ms\n",
	    (unsigned long long)p.max_rtx_gap, st.rto_ms);
	pair_free(&p);
}

/* Every packet arrives twice: duplicates are dropped and counted. */
static void
test_duplicates(void **state)
{
	struct ll_arq_config cfg = { 0 };
	struct simchan_config sc = { .rate = 200, .latency_ms = 10,
	    .dup = 1.0 };
	struct ll_arq_stats st;
	struct pair p;

	pair_init(&p, &cfg, &sc, SEED + 50);
	p.total[0][1] = 200000;
	p.total[1][2] = 30000;
	run_until_done(&p, 60000);
	ll_arq_stats(p.a[1], &st);
	assert_true(st.duplicates >= st.frames_received / 3);
	pair_free(&p);
}

/* Credit: a stream nobody reads fills exactly its receive buffer, and
 * stream 0 still gets through; a control message during a bulk transfer
 * arrives within a few frame times. */
static void
test_credit_fairness(void **state)
{
	struct ll_arq_config cfg = { 0 };
	struct simchan_config sc = { .rate = 1000, .latency_ms = 5 };
	struct ll_arq_stats st;
	struct pair p;
	uint64_t t0;

	pair_init(&p, &cfg, &sc, SEED + 60);
	p.noread[1][1] = true;
	p.total[0][1] = 1024 * 1024;
	run_for(&p, 3000);
	assert_int_equal(ll_arq_readable(p.a[1], 1), LL_STREAM_BUF_MAX);
	ll_arq_stats(p.a[0], &st);
	assert_int_equal(st.bytes_sent, LL_STREAM_BUF_MAX);
	assert_int_equal(ll_arq_writable(p.a[0], 1), 0);
	/* stream 0 is not blocked by the full stream 1 */
	p.total[0][0] = 300;
	t0 = p.now;
	while (p.rd[0][0] < 300)
		step(&p);
	assert_true(p.now - t0 < 50);
	p.noread[1][1] = false;
	run_until_done(&p, 30000);

	/* Slow line, 4 KiB frames: 356 ms each. */
	pair_free(&p);
	sc.rate = 11.52;
	sc.latency_ms = 4;
	pair_init(&p, &cfg, &sc, SEED + 61);
	p.total[0][1] = 300000;
	run_for(&p, 5000);
	p.total[0][0] = 200;
	t0 = p.now;
	while (p.rd[0][0] < 200)
		step(&p);
	print_message("# control message during bulk: %llu ms\n",
	    (unsigned long long)(p.now - t0));
	assert_true(p.now - t0 < 3 * 360);
	pair_free(&p);
}

/* Frame size converges under loss and returns to the maximum after. */
static void
test_adaptive_size(void **state)
{
	struct ll_arq_config cfg = { 0 };
	struct simchan_config sc = { .rate = 50, .latency_ms = 4,
	    .ber = 1e-5 };
	struct ll_arq_stats st;
	struct pair p;
	size_t lo = SIZE_MAX, hi = 0, sum = 0, k = 0;
	uint64_t t0;

	pair_init(&p, &cfg, &sc, SEED + 70);
	p.total[0][1] = 100ULL * 1024 * 1024;
	p.noread[1][1] = false;
	run_for(&p, 40000);
	while (p.now < 100000) {
		run_for(&p, 100);
		ll_arq_stats(p.a[0], &st);
		lo = st.payload < lo ? st.payload : lo;
		hi = st.payload > hi ? st.payload : hi;
		sum += st.payload;
		k++;
	}
	print_message("# payload at 8e-5/byte: mean %zu, min %zu, max %zu "
	    "(optimum ~431)\n", sum / k, lo, hi);
	assert_in_range(sum / k, 330, 560);
	assert_true(lo >= 250 && hi <= 800);
	simchan_config(p.ch[0])->ber = 0;
	simchan_config(p.ch[1])->ber = 0;
	t0 = p.now;
	do {
		run_for(&p, 100);
		ll_arq_stats(p.a[0], &st);
	} while (st.payload < LL_FRAME_PAYLOAD_MAX && p.now < t0 + 120000);
	print_message("# back to %zu after %llu ms\n", st.payload,
	    (unsigned long long)(p.now - t0));
	assert_int_equal(st.payload, LL_FRAME_PAYLOAD_MAX);
	pair_free(&p);
}

/*
 * A loss long ago decays to nothing: the weighted loss count shrinks by
 * (1 - 1/128) a frame until it is the smallest denormal double, which the
 * weight no longer reduces.  The error rate computed from it then underflows
 * to 0, the optimum to infinity and NaN, and a NaN converted to size_t gave
 * a frame payload of 2^63 (issue 10, item 14).  After about 95000 clean
 * frames the payload must still be the cap.
 */
static void
test_loss_decays(void **state)
{
	struct ll_arq_config cfg = { .max_payload = 256 };
	struct simchan_config sc = { .rate = 2000, .latency_ms = 2,
	    .ber = 1e-4 };
	struct ll_arq_stats st;
	struct pair p;
	uint64_t clean_from;

	pair_init(&p, &cfg, &sc, SEED + 90);
	p.total[0][1] = 200ULL * 1024 * 1024;
	run_for(&p, 3000);
	ll_arq_stats(p.a[0], &st);
	assert_true(st.retransmits > 0);
	simchan_config(p.ch[0])->ber = 0;
	simchan_config(p.ch[1])->ber = 0;
	clean_from = st.data_sent;
	do {
		run_for(&p, 50);
		ll_arq_stats(p.a[0], &st);
		if (st.payload > 256)
			fail_msg("payload %zu after %llu clean frames",
			    st.payload, (unsigned long long)(st.data_sent -
			    clean_from));
	} while (st.data_sent - clean_from < 110000);
	assert_int_equal(st.payload, 256);
	assert_true(st.loss == 0);
	print_message("# payload %zu after %llu clean frames\n", st.payload,
	    (unsigned long long)(st.data_sent - clean_from));
	pair_free(&p);
	(void)state;
}

/* Malformed frames are rejected without side effects. */
static void
test_malformed(void **state)
{
	struct ll_arq_config cfg = { 0 };
	struct ll_arq *a = ll_arq_new(&cfg, 0);
	static struct ll_frame f;
	struct ll_arq_stats st;

	assert_non_null(a);
	memset(&f, 0, sizeof(f));
	f.type = LL_FT_ACK;
	f.len = 4;
	assert_int_equal(ll_arq_input(a, &f, 1), LL_ERR_FORMAT);
	f.len = LL_ARQ_ACK_LEN(1);
	f.payload[4] = 2;		/* count says 2, room for 1 */
	assert_int_equal(ll_arq_input(a, &f, 1), LL_ERR_FORMAT);
	f.payload[4] = 1;
	f.payload[5] = LL_STREAMS_MAX;	/* no such stream */
	assert_int_equal(ll_arq_input(a, &f, 1), LL_ERR_FORMAT);
	f.payload[5] = 1;
	assert_int_equal(ll_arq_input(a, &f, 1), 0);
	f.type = LL_FT_DATA;
	f.stream = LL_STREAMS_MAX;
	assert_int_equal(ll_arq_input(a, &f, 1), LL_ERR_FORMAT);
	f.stream = 1;
	f.seq = 1000;			/* far outside the window */
	f.len = 10;
	assert_int_equal(ll_arq_input(a, &f, 1), 0);
	f.seq = 65000;			/* behind: a duplicate */
	assert_int_equal(ll_arq_input(a, &f, 1), 0);
	f.type = LL_FT_HELLO;
	assert_int_equal(ll_arq_input(a, &f, 1), LL_ERR_INVAL);
	ll_arq_stats(a, &st);
	assert_int_equal(st.bad, 4);
	assert_int_equal(st.stale, 1);
	assert_int_equal(st.duplicates, 1);
	assert_int_equal(ll_arq_readable(a, 1), 0);
	assert_int_equal(ll_arq_write(a, LL_STREAMS_MAX, "x", 1),
	    LL_ERR_INVAL);
	ll_arq_free(a);
}

/* The ACK after DATA seqs 0, 2, 3 (docs/protocol.md, "Link layer",
 * 4. ARQ, ACK frames). */
static void
test_ack_vector(void **state)
{
	static const uint8_t want[] = {
		0x00, 0x00, 0x00, 0x03, 0x04,
		0x00, 0x00, 0x04, 0x00, 0x00, 0x01, 0x00, 0x04, 0x00, 0x00,
		0x02, 0x00, 0x04, 0x00, 0x00, 0x03, 0x00, 0x04, 0x00, 0x00,
	};
	struct ll_arq_config cfg = { 0 };
	struct ll_arq *a = ll_arq_new(&cfg, 0);
	static struct ll_frame f;

	memset(&f, 0, sizeof(f));
	f.type = LL_FT_DATA;
	f.stream = 1;
	f.len = 3;
	memcpy(f.payload, "abc", 3);
	assert_int_equal(ll_arq_input(a, &f, 1), 0);
	f.seq = 2;
	assert_int_equal(ll_arq_input(a, &f, 1), 0);
	f.seq = 3;
	assert_int_equal(ll_arq_input(a, &f, 1), 0);
	assert_int_equal(ll_arq_next_frame(a, 1, &f), 1);
	assert_int_equal(f.type, LL_FT_ACK);
	assert_int_equal(f.ack, 1);
	assert_int_equal(f.len, sizeof(want));
	assert_memory_equal(f.payload, want, sizeof(want));
	/* one ACK per batch: nothing more to send */
	assert_int_equal(ll_arq_next_frame(a, 1, &f), 0);
	assert_int_equal(ll_arq_readable(a, 1), 3);
	ll_arq_free(a);
}

/* A DATA frame with payload "x" of stream 1 and sequence number seq. */
static void
data_frame(struct ll_frame *f, uint16_t seq, uint16_t ack)
{
	memset(f, 0, offsetof(struct ll_frame, payload));
	f->type = LL_FT_DATA;
	f->stream = 1;
	f->seq = seq;
	f->ack = ack;
	f->len = 1;
	f->payload[0] = 'x';
}

/*
 * The ACK delay: an in-order DATA frame's ACK waits up to ack_delay_ms for
 * a DATA frame of ours (which carries the ack in its header) and goes
 * alone when none comes (unless data is there by the time it may go: that
 * carries it); a second frame, a gap or a duplicate is acked at once;
 * without a delay every frame is acked at once.
 */
static void
test_ack_delay(void **state)
{
	struct ll_arq_config cfg = { .ack_delay_ms = 40 };
	struct ll_arq *a = ll_arq_new(&cfg, 0);
	static struct ll_frame f;
	struct ll_arq_stats st;
	char buf[8];

	assert_non_null(a);
	/* A reply within the delay carries the ack: no ACK frame. */
	data_frame(&f, 0, 0);
	assert_int_equal(ll_arq_input(a, &f, 100), 0);
	assert_int_equal(ll_arq_deadline(a), 140);
	assert_int_equal(ll_arq_next_frame(a, 100, &f), 0);
	assert_int_equal(ll_arq_write(a, 1, "reply", 5), 5);
	assert_int_equal(ll_arq_next_frame(a, 120, &f), 1);
	assert_int_equal(f.type, LL_FT_DATA);
	assert_int_equal(f.ack, 1);
	assert_int_equal(ll_arq_next_frame(a, 200, &f), 0);
	ll_arq_stats(a, &st);
	assert_int_equal(st.acks_sent, 0);
	/* No reply: the ACK goes alone when the delay is over. */
	data_frame(&f, 1, 0);
	assert_int_equal(ll_arq_input(a, &f, 300), 0);
	assert_int_equal(ll_arq_next_frame(a, 339, &f), 0);
	assert_int_equal(ll_arq_deadline(a), 340);
	assert_int_equal(ll_arq_next_frame(a, 340, &f), 1);
	assert_int_equal(f.type, LL_FT_ACK);
	assert_int_equal(f.ack, 2);
	assert_int_equal(ll_arq_next_frame(a, 341, &f), 0);
	/*
	 * Due while nothing was sent (the link still probing): when data is
	 * there by then, the DATA frame carries the ack, with no ACK first.
	 */
	data_frame(&f, 2, 0);
	assert_int_equal(ll_arq_input(a, &f, 350), 0);
	assert_int_equal(ll_arq_write(a, 1, "late", 4), 4);
	assert_int_equal(ll_arq_next_frame(a, 395, &f), 1);
	assert_int_equal(f.type, LL_FT_DATA);
	assert_int_equal(f.ack, 3);
	assert_int_equal(ll_arq_next_frame(a, 396, &f), 0);
	ll_arq_stats(a, &st);
	assert_int_equal(st.acks_sent, 1);
	/* Two frames in a row: the second is acked at once. */
	data_frame(&f, 3, 0);
	assert_int_equal(ll_arq_input(a, &f, 400), 0);
	data_frame(&f, 4, 0);
	assert_int_equal(ll_arq_input(a, &f, 401), 0);
	assert_int_equal(ll_arq_deadline(a), 0);
	assert_int_equal(ll_arq_next_frame(a, 401, &f), 1);
	assert_int_equal(f.type, LL_FT_ACK);
	assert_int_equal(f.ack, 5);
	/* A gap (6 before 5): at once, with the SACK bit. */
	data_frame(&f, 6, 0);
	assert_int_equal(ll_arq_input(a, &f, 500), 0);
	assert_int_equal(ll_arq_next_frame(a, 500, &f), 1);
	assert_int_equal(f.type, LL_FT_ACK);
	assert_int_equal(f.ack, 5);
	assert_int_equal(ll_peek_u32(f.payload), 1);
	/* The hole filled, nothing held: that one may wait again. */
	data_frame(&f, 5, 0);
	assert_int_equal(ll_arq_input(a, &f, 600), 0);
	assert_int_equal(ll_arq_next_frame(a, 600, &f), 0);
	assert_int_equal(ll_arq_next_frame(a, 640, &f), 1);
	assert_int_equal(f.ack, 7);
	/* A duplicate: at once (our ACK may have been lost). */
	data_frame(&f, 5, 0);
	assert_int_equal(ll_arq_input(a, &f, 700), 0);
	assert_int_equal(ll_arq_next_frame(a, 700, &f), 1);
	assert_int_equal(f.type, LL_FT_ACK);
	/* No delay: at once. */
	ll_arq_set_ack_delay(a, 0);
	data_frame(&f, 7, 0);
	assert_int_equal(ll_arq_input(a, &f, 800), 0);
	assert_int_equal(ll_arq_next_frame(a, 800, &f), 1);
	assert_int_equal(f.type, LL_FT_ACK);
	assert_int_equal(f.ack, 8);
	assert_int_equal(ll_arq_read(a, 1, buf, sizeof(buf)), 8);
	ll_arq_free(a);
}

/*
 * At a known line rate a frame's retransmit timer starts when it has left:
 * a 940-byte frame at 960 B/s takes about a second, so with the initial
 * RTO of a second it is not resent after one second but after two; the
 * frame queued behind it starts later still; and the round trip is
 * measured from the end of the transmission, not from the hand-over.
 */
static void
test_rto_from_tx_end(void **state)
{
	static const uint8_t big[940];
	struct ll_arq_config cfg = { .line_rate = 960, .fixed_payload = true,
	    .max_payload = 940, .keepalive_ms = 60000 };
	struct ll_arq *a;
	static struct ll_frame f;
	struct ll_arq_stats st;

	a = ll_arq_new(&cfg, 0);
	assert_non_null(a);
	assert_int_equal(ll_arq_write(a, 1, big, sizeof(big)), 940);
	assert_int_equal(ll_arq_write(a, 2, "after", 5), 5);
	assert_int_equal(ll_arq_next_frame(a, 0, &f), 1);
	assert_int_equal(f.len, 940);
	/* 940 + 16 wire bytes end at 996 ms; the 5 + 16 after at 1018. */
	assert_int_equal(ll_arq_next_frame(a, 0, &f), 1);
	assert_int_equal(f.len, 5);
	/* The timer of the first runs from 996: due at 1996. */
	assert_int_equal(ll_arq_deadline(a), 1996);
	assert_int_equal(ll_arq_next_frame(a, 1500, &f), 0);
	assert_int_equal(ll_arq_next_frame(a, 1995, &f), 0);
	assert_int_equal(ll_arq_next_frame(a, 1996, &f), 1);
	assert_int_equal(f.type, LL_FT_DATA);
	assert_int_equal(f.seq, 0);
	ll_arq_stats(a, &st);
	assert_int_equal(st.timeouts, 1);
	/* The second (ends at 1018) acked at 1118: a round trip of 100. */
	memset(&f, 0, sizeof(f));
	f.type = LL_FT_ACK;
	f.ack = 0;
	f.len = LL_ARQ_ACK_LEN(0);
	ll_poke_u32(f.payload, 1);	/* SACK: seq 1 */
	assert_int_equal(ll_arq_input(a, &f, 1118), 0);
	ll_arq_stats(a, &st);
	assert_int_equal(st.srtt_ms, 100);
	ll_arq_free(a);
}

/* An ACK for seq (cumulative ack) SACKing the frames in sack, at now. */
static void
give_ack(struct ll_arq *a, uint16_t ack, uint32_t sack, uint64_t now)
{
	static struct ll_frame f;

	memset(&f, 0, sizeof(f));
	f.type = LL_FT_ACK;
	f.ack = ack;
	f.len = LL_ARQ_ACK_LEN(0);
	ll_poke_u32(f.payload, sack);
	assert_int_equal(ll_arq_input(a, &f, now), 0);
}

/*
 * Frames arrive in the order they were sent (every path is a byte stream),
 * so one frame received after a hole proves the hole lost: it is resent at
 * once, not after the RTO (a window of two 940-byte frames at 9600 baud
 * never had the two later frames that used to be required).
 */
static void
test_fast_retransmit_one_later(void **state)
{
	static const uint8_t data[200];
	struct ll_arq_config cfg = { .line_rate = 960, .fixed_payload = true,
	    .max_payload = 100, .keepalive_ms = 60000 };
	static struct ll_frame f;
	struct ll_arq_stats st;
	struct ll_arq *a;

	a = ll_arq_new(&cfg, 0);
	assert_non_null(a);
	assert_int_equal(ll_arq_write(a, 1, data, sizeof(data)), 200);
	assert_int_equal(ll_arq_next_frame(a, 0, &f), 1);
	assert_int_equal(f.seq, 0);
	assert_int_equal(ll_arq_next_frame(a, 0, &f), 1);
	assert_int_equal(f.seq, 1);
	/* seq 1 (sent after seq 0) arrived, seq 0 did not: resend 0 now */
	give_ack(a, 0, 1, 300);
	assert_int_equal(ll_arq_next_frame(a, 300, &f), 1);
	assert_int_equal(f.type, LL_FT_DATA);
	assert_int_equal(f.seq, 0);
	ll_arq_stats(a, &st);
	assert_int_equal(st.fast_retransmits, 1);
	assert_int_equal(st.timeouts, 0);
	ll_arq_free(a);
}

/*
 * A timeout whose ack then comes before the retransmission has even left
 * was no loss (the first transmission was only late): its loss sample is
 * taken back and frames keep their size.  An ack that comes a round trip
 * after the retransmission is taken for the retransmission's: the loss
 * stands and frames shrink.
 */
static void
spurious_case(bool late, uint64_t *spurious, size_t *payload)
{
	static const uint8_t data[256];
	struct ll_arq_config cfg = { .line_rate = 960, .max_payload = 940,
	    .keepalive_ms = 60000 };
	static struct ll_frame f;
	struct ll_arq_stats st;
	struct ll_arq *a;
	uint64_t rtx;

	a = ll_arq_new(&cfg, 0);
	assert_non_null(a);
	assert_int_equal(ll_arq_write(a, 1, data, sizeof(data)), 256);
	assert_int_equal(ll_arq_next_frame(a, 0, &f), 1);
	assert_int_equal(f.len, 256);
	rtx = ll_arq_deadline(a);
	assert_int_equal(ll_arq_next_frame(a, rtx, &f), 1);
	assert_int_equal(f.seq, 0);
	ll_arq_stats(a, &st);
	assert_int_equal(st.timeouts, 1);
	/* the loss shrank the frames */
	assert_true(st.payload < 940);
	/* 272 wire bytes take 284 ms: an ack 10 ms in answers the first */
	give_ack(a, 1, 0, late ? rtx + 284 + 300 : rtx + 10);
	ll_arq_stats(a, &st);
	*spurious = st.spurious;
	*payload = st.payload;
	ll_arq_free(a);
}

static void
test_spurious_timeout(void **state)
{
	uint64_t spurious;
	size_t payload;

	spurious_case(false, &spurious, &payload);
	assert_int_equal(spurious, 1);
	assert_int_equal(payload, 940);
	spurious_case(true, &spurious, &payload);
	assert_int_equal(spurious, 0);
	assert_true(payload < 940);
}

/*
 * The keepalive ACK counts from when our last frame has left: a 940-byte
 * frame at 960 B/s leaves at 996 ms, so with nothing more to send the
 * keepalive is due at 1996, not at 1000 (a second after the hand-over,
 * while the frame was still on the line), and a steady flow of such frames
 * sends no keepalive at all.
 */
static void
test_keepalive_from_tx_end(void **state)
{
	static const uint8_t big[3 * 940];
	struct ll_arq_config cfg = { .line_rate = 960, .fixed_payload = true,
	    .max_payload = 940, .rto_init_ms = 10000 };
	static struct ll_frame f;
	struct ll_arq *a;
	uint64_t now;
	unsigned acks = 0;

	a = ll_arq_new(&cfg, 0);
	assert_non_null(a);
	assert_int_equal(ll_arq_write(a, 1, big, 940), 940);
	assert_int_equal(ll_arq_next_frame(a, 0, &f), 1);
	assert_int_equal(f.type, LL_FT_DATA);
	assert_int_equal(ll_arq_deadline(a), 1996);
	assert_int_equal(ll_arq_next_frame(a, 1000, &f), 0);
	assert_int_equal(ll_arq_next_frame(a, 1996, &f), 1);
	assert_int_equal(f.type, LL_FT_ACK);
	ll_arq_free(a);

	/*
	 * frames handed out a little after the line took the last (a pump
	 * waits for the transport to drain): DATA only, no keepalive between
	 */
	a = ll_arq_new(&cfg, 0);
	assert_non_null(a);
	assert_int_equal(ll_arq_write(a, 1, big, sizeof(big)),
	    (ssize_t)sizeof(big));
	for (now = 0; now < 3100; now += 1050) {
		assert_int_equal(ll_arq_next_frame(a, now, &f), 1);
		if (f.type == LL_FT_ACK)
			acks++;
		give_ack(a, f.seq + 1, 0, now + 990);
	}
	assert_int_equal(acks, 0);
	ll_arq_free(a);
}

/* With an ACK delay, delivery under loss and reordering stays exact. */
static void
test_lossy_ack_delay(void **state)
{
	struct ll_arq_config cfg = { .ack_delay_ms = 40 };
	struct simchan_config sc = { .rate = 50, .latency_ms = 20,
	    .drop = 1e-4, .dup = 0.05, .reorder = 0.05, .reorder_ms = 30 };
	struct ll_arq_stats st;
	struct pair p;

	pair_init(&p, &cfg, &sc, SEED + 7);
	p.total[0][1] = 200000;
	p.total[1][0] = 60000;
	p.total[1][2] = 50000;
	run_until_done(&p, 200000);
	ll_arq_stats(p.a[0], &st);
	assert_true(st.retransmits > 0);
	print_message("# lossy, ACK delay 40 ms: %llu ms, %llu retransmits\n",
	    (unsigned long long)p.now, (unsigned long long)st.retransmits);
	pair_free(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_ack_vector),
		cmocka_unit_test(test_lossy_inorder),
		cmocka_unit_test(test_wraparound),
		cmocka_unit_test(test_window_limit),
		cmocka_unit_test(test_window_bytes),
		cmocka_unit_test(test_frame_growth),
		cmocka_unit_test(test_rto),
		cmocka_unit_test(test_fast_retransmit),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_credit_fairness),
		cmocka_unit_test(test_adaptive_size),
		cmocka_unit_test(test_loss_decays),
		cmocka_unit_test(test_ack_delay),
		cmocka_unit_test(test_lossy_ack_delay),
		cmocka_unit_test(test_rto_from_tx_end),
		cmocka_unit_test(test_fast_retransmit_one_later),
		cmocka_unit_test(test_spurious_timeout),
		cmocka_unit_test(test_keepalive_from_tx_end),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	printf("# seed %llu\n", (unsigned long long)SEED);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
