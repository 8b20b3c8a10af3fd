/*
 * Link tests: a client link and an agent link joined by two simulated byte
 * channels (simchan.h), stepped in virtual milliseconds.  Each side's output
 * is paced: it may queue frames only while less than qcap bytes wait for the
 * wire, as a transport's write readiness would allow.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "error.h"
#include "link.h"
#include "simchan.h"

#define SEED	424242ULL
#define MIB	(1024 * 1024)

struct net {
	struct ll_link *c, *c2, *a;
	struct simchan *up, *down;	/* client -> agent, agent -> client */
	uint64_t now;
	size_t qcap;
	bool echo;			/* the agent's tty echoes lines */
	uint8_t echobuf[8192];
	size_t echolen;
	uint64_t inject_every;		/* ms between injected lines */
	size_t inject_len;
	uint64_t garbage_every;		/* ms between garbage bursts */
	struct ll_buf out;
	/* stream 1 bulk: client -> agent (dir 0) or agent -> client (1) */
	uint64_t total[2], wr[2], rd[2];
	uint64_t injected;
	unsigned match, kernel_lines;	/* "kernel: " seen by the client */
	char con[4096];			/* the client's newest console text */
	size_t conlen;
};

static uint8_t
pat(int dir, uint64_t off)
{
	return (uint8_t)(((off * 2654435761u) >> 11) ^ off ^ dir);
}

static void
quiet_log(void *ctx, int level, const char *fmt, ...)
{
	(void)ctx;
	(void)level;
	(void)fmt;
}

static struct ll_link *
mklink(bool agent, enum ll_encoding enc, uint32_t epoch, uint64_t now)
{
	struct ll_link_config cfg = { 0 };
	struct ll_link *l;

	cfg.is_agent = agent;
	cfg.encoding = enc;
	cfg.epoch = epoch;
	cfg.log = quiet_log;
	l = ll_link_new(&cfg, now);
	assert_non_null(l);
	return l;
}

static void
net_init(struct net *n, enum ll_encoding cenc, enum ll_encoding aenc,
    const struct simchan_config *sc)
{
	struct simchan_config c = *sc;

	memset(n, 0, sizeof(*n));
	n->c = mklink(false, cenc, 0xc1c1c1c1, 0);
	n->a = mklink(true, aenc, 0xa9a9a9a9, 0);
	c.seed = sc->seed;
	n->up = simchan_new(&c);
	c.seed = sc->seed + 1;
	n->down = simchan_new(&c);
	n->qcap = 64;
	ll_buf_init(&n->out, 1 << 20);
}

static void
net_free(struct net *n)
{
	ll_link_free(n->c);
	ll_link_free(n->c2);
	ll_link_free(n->a);
	simchan_free(n->up);
	simchan_free(n->down);
	ll_buf_cleanup(&n->out);
}

static void
emit(struct net *n, struct ll_link *l, struct simchan *ch)
{
	size_t q = simchan_queued(ch);
	int r;

	if (l == NULL || q >= n->qcap)
		return;
	ll_buf_reset(&n->out);
	r = ll_link_output(l, &n->out, n->qcap - q, n->now);
	assert_true(r >= 0);
	assert_int_equal((size_t)r, ll_buf_avail(&n->out));
	if (r > 0)
		simchan_write(ch, ll_buf_ptr(&n->out), r);
}

static void
bulk(struct net *n)
{
	static uint8_t buf[8192], exp[8192];
	struct ll_link *src, *dst;
	uint64_t k, m;
	ssize_t r;
	int d;

	for (d = 0; d < 2; d++) {
		src = d == 0 ? n->c : n->a;
		dst = d == 0 ? n->a : n->c;
		while (n->wr[d] < n->total[d] &&
		    ll_link_state(src) == LL_LINK_UP) {
			m = n->total[d] - n->wr[d];
			if (m > sizeof(buf))
				m = sizeof(buf);
			for (k = 0; k < m; k++)
				buf[k] = pat(d, n->wr[d] + k);
			r = ll_link_write(src, 1, buf, m);
			assert_true(r >= 0);
			if (r == 0)
				break;
			n->wr[d] += r;
		}
		while ((r = ll_link_read(dst, 1, buf, sizeof(buf))) > 0) {
			for (k = 0; k < (uint64_t)r; k++)
				exp[k] = pat(d, n->rd[d] + k);
			if (memcmp(buf, exp, r) != 0)
				fail_msg("dir %d: bad bytes near %llu", d,
				    (unsigned long long)n->rd[d]);
			n->rd[d] += r;
		}
	}
}

static void
step(struct net *n)
{
	static uint8_t buf[65536], line[256];
	size_t got, i;

	n->now++;
	if (n->inject_every && n->now % n->inject_every == 0) {
		snprintf((char *)line, sizeof(line), "[%8.3f] kernel: ",
		    n->now / 1000.0);
		for (i = strlen((char *)line); i + 1 < n->inject_len; i++)
			line[i] = 'a' + i % 26;
		line[i++] = '\n';
		simchan_inject(n->down, line, i);
		n->injected += i;
	}
	if (n->garbage_every && n->now % n->garbage_every == 0) {
		for (i = 0; i < 200; i++)
			line[i] = (uint8_t)simchan_rand(n->up);
		line[50] = '|';
		line[51] = '8';
		line[120] = '|';
		line[121] = '7';
		simchan_inject(n->up, line, 200);
		simchan_inject(n->down, line + 7, 180);
	}
	while ((got = simchan_read(n->up, n->now, buf, sizeof(buf))) > 0) {
		assert_int_equal(ll_link_input(n->a, buf, got, n->now), 0);
		if (!n->echo)
			continue;
		/* A tty echo: whole lines come back. */
		for (i = 0; i < got; i++) {
			if (n->echolen < sizeof(n->echobuf))
				n->echobuf[n->echolen++] = buf[i];
			if (buf[i] == '\n') {
				simchan_write(n->down, n->echobuf, n->echolen);
				n->echolen = 0;
			}
		}
	}
	while ((got = simchan_read(n->down, n->now, buf, sizeof(buf))) > 0) {
		assert_int_equal(ll_link_input(n->c, buf, got, n->now), 0);
		if (n->c2 != NULL)
			assert_int_equal(ll_link_input(n->c2, buf, got, n->now),
			    0);
	}
	while ((got = ll_link_console(n->c, buf, sizeof(buf))) > 0)
		for (i = 0; i < got; i++) {
			if (n->conlen == sizeof(n->con))
				n->conlen = 0;
			n->con[n->conlen++] = buf[i];
			n->match = buf[i] == "kernel: "[n->match] ?
			    n->match + 1 : buf[i] == 'k';
			if (n->match == 8) {
				n->kernel_lines++;
				n->match = 0;
			}
		}
	bulk(n);
	emit(n, n->a, n->down);
	emit(n, n->c, n->up);
	emit(n, n->c2, n->up);
}

static void
run_for(struct net *n, uint64_t ms)
{
	uint64_t end = n->now + ms;

	while (n->now < end)
		step(n);
}

static uint64_t
run_until_up(struct net *n, struct ll_link *l)
{
	uint64_t t0 = n->now;

	while (ll_link_state(l) != LL_LINK_UP) {
		assert_int_not_equal(ll_link_state(l), LL_LINK_DEAD);
		if (n->now - t0 > 20000)
			fail_msg("not up after 20 s");
		step(n);
	}
	return n->now - t0;
}

static void
run_until_bulk_done(struct net *n, uint64_t limit)
{
	uint64_t t0 = n->now;

	while (n->rd[0] < n->total[0] || n->rd[1] < n->total[1]) {
		assert_int_equal(ll_link_state(n->c), LL_LINK_UP);
		if (n->now - t0 > limit)
			fail_msg("bulk not done after %llu ms (%llu/%llu)",
			    (unsigned long long)limit,
			    (unsigned long long)(n->rd[0] + n->rd[1]),
			    (unsigned long long)(n->total[0] + n->total[1]));
		step(n);
	}
}

static uint16_t
radix(const struct ll_link *l)
{
	struct ll_link_stats st;

	ll_link_stats(l, &st);
	return st.radix;
}

static size_t
payload(const struct ll_link *l)
{
	struct ll_link_stats st;

	ll_link_stats(l, &st);
	return st.frame_payload;
}

/* A short exchange both ways proves the session works. */
static void
exchange(struct net *n)
{
	n->total[0] += 20000;
	n->total[1] += 30000;
	run_until_bulk_done(n, 60000);
}

static void
check_path(const struct simchan_config *sc, bool echo, enum ll_encoding cenc,
    enum ll_encoding aenc, uint16_t want_radix, size_t want_payload)
{
	struct net n;
	struct ll_link_stats st;
	uint64_t t;

	net_init(&n, cenc, aenc, sc);
	n.echo = echo;
	t = run_until_up(&n, n.c);
	run_for(&n, 200);
	print_message("# radix %u (want %u), up after %llu ms\n",
	    radix(n.c), want_radix, (unsigned long long)t);
	assert_int_equal(radix(n.c), want_radix);
	assert_int_equal(radix(n.a), want_radix);
	assert_int_equal(payload(n.c), want_payload);
	assert_int_equal(ll_link_state(n.a), LL_LINK_UP);
	assert_int_equal(ll_link_session(n.a), 1);
	exchange(&n);
	ll_link_stats(n.c, &st);
	if (echo)
		assert_true(st.echoes > 0);
	else
		assert_int_equal(st.echoes, 0);
	net_free(&n);
}

static void
test_clean_8bit(void **state)
{
	struct simchan_config sc = { .rate = 100, .latency_ms = 5,
	    .seed = SEED };

	check_path(&sc, false, LL_ENC_AUTO, LL_ENC_AUTO, 251,
	    LL_FRAME_PAYLOAD_MAX);
}

static void
test_strip8(void **state)
{
	struct simchan_config sc = { .rate = 100, .latency_ms = 5,
	    .strip8 = true, .seed = SEED + 1 };

	check_path(&sc, false, LL_ENC_AUTO, LL_ENC_AUTO, 93, 2048);
}

static void
test_echo(void **state)
{
	struct simchan_config sc = { .rate = 100, .latency_ms = 5,
	    .seed = SEED + 2 };

	/* The printable values and 0xA0..0xFE of probe 1. */
	check_path(&sc, true, LL_ENC_AUTO, LL_ENC_AUTO, 189, 2048);
}

static void
test_forced(void **state)
{
	struct simchan_config sc = { .rate = 100, .latency_ms = 5,
	    .seed = SEED + 3 };

	check_path(&sc, false, LL_ENC_7BIT, LL_ENC_AUTO, 93, 2048);
	check_path(&sc, false, LL_ENC_8BIT, LL_ENC_AUTO, 251,
	    LL_FRAME_PAYLOAD_MAX);
	/* An agent forced to 7 bits says no to any alphabet. */
	check_path(&sc, false, LL_ENC_AUTO, LL_ENC_7BIT, 93, 2048);
}

/* 1 MiB under heavy noise and kernel messages arrives byte-exact. */
static void
test_noisy_mib(void **state)
{
	struct simchan_config sc = { .rate = 200, .latency_ms = 4,
	    .ber = 1e-4, .seed = SEED + 4 };
	struct ll_link_stats st;
	struct net n;

	net_init(&n, LL_ENC_AUTO, LL_ENC_AUTO, &sc);
	n.inject_every = 500;
	n.inject_len = 80;
	run_until_up(&n, n.c);
	n.total[0] = MIB;
	n.total[1] = 100000;
	run_until_bulk_done(&n, 600000);
	ll_link_stats(n.a, &st);
	print_message("# 1 MiB at BER 1e-4: %llu ms, %llu retransmits, "
	    "%llu crc errors, payload %zu\n", (unsigned long long)n.now,
	    (unsigned long long)st.retransmits,
	    (unsigned long long)st.crc_errors, st.frame_payload);
	assert_true(st.crc_errors > 0);
	ll_link_stats(n.c, &st);
	assert_true(st.retransmits > 0);
	assert_true(st.console_bytes > 0);
	/* Most lines were read as they came; noise pushes out the rest. */
	print_message("# %u of %llu kernel lines seen intact\n", n.kernel_lines,
	    (unsigned long long)(n.injected / 80));
	assert_true(n.kernel_lines > n.injected / 80 / 2);
	net_free(&n);
}

/* Text between frames is handed up exactly, in order. */
static void
test_console_text(void **state)
{
	struct simchan_config sc = { .rate = 100, .latency_ms = 5,
	    .seed = SEED + 5 };
	static const char msg[] = "[  12.345] EXT4-fs (sda3): mounted\r\n"
	    "login: ";
	struct net n;

	net_init(&n, LL_ENC_AUTO, LL_ENC_AUTO, &sc);
	run_until_up(&n, n.c);
	run_for(&n, 100);
	assert_int_equal(n.conlen, 0);
	simchan_write(n.down, msg, strlen(msg));
	n.total[1] = 5000;	/* frames around the text */
	run_for(&n, 1000);
	assert_int_equal(n.conlen, strlen(msg));
	assert_memory_equal(n.con, msg, n.conlen);
	assert_int_equal(n.rd[1], 5000);
	net_free(&n);
}

/* The agent restarts: the client's resume HELLO gets a RESET. */
static void
test_agent_restart(void **state)
{
	struct simchan_config sc = { .rate = 100, .latency_ms = 5,
	    .seed = SEED + 6 };
	struct net n;
	uint64_t t0;

	net_init(&n, LL_ENC_AUTO, LL_ENC_AUTO, &sc);
	run_until_up(&n, n.c);
	exchange(&n);
	ll_link_free(n.a);
	n.a = mklink(true, LL_ENC_AUTO, 0x12345678, n.now);
	t0 = n.now;
	while (ll_link_state(n.c) != LL_LINK_DEAD && n.now - t0 < 30000)
		step(&n);
	assert_int_equal(ll_link_state(n.c), LL_LINK_DEAD);
	assert_int_equal(ll_link_error(n.c), LL_ERR_RESET);
	/* before the dead timeout: the resume HELLO found out */
	assert_true(n.now - t0 < 15000);
	assert_int_equal(ll_link_state(n.a), LL_LINK_CONNECTING);
	net_free(&n);
}

/* A second client takes over; the first is told with a RESET. */
static void
test_takeover(void **state)
{
	struct simchan_config sc = { .rate = 100, .latency_ms = 5,
	    .seed = SEED + 7 };
	struct net n;
	uint64_t t0;

	net_init(&n, LL_ENC_AUTO, LL_ENC_AUTO, &sc);
	run_until_up(&n, n.c);
	exchange(&n);
	n.c2 = mklink(false, LL_ENC_AUTO, 0xc2c2c2c2, n.now);
	run_until_up(&n, n.c2);
	assert_int_equal(ll_link_session(n.a), 2);
	t0 = n.now;
	while (ll_link_state(n.c) != LL_LINK_DEAD && n.now - t0 < 30000)
		step(&n);
	assert_int_equal(ll_link_error(n.c), LL_ERR_RESET);
	assert_int_equal(ll_link_state(n.c2), LL_LINK_UP);
	/* the new session works */
	ll_link_free(n.c);
	n.c = n.c2;
	n.c2 = NULL;
	n.total[0] = n.rd[0];
	n.total[1] = n.rd[1];
	n.wr[0] = n.rd[0];
	n.wr[1] = n.rd[1];
	exchange(&n);
	net_free(&n);
}

/* Bursts of garbage (with markers) do not break the session. */
static void
test_garbage(void **state)
{
	struct simchan_config sc = { .rate = 100, .latency_ms = 5,
	    .seed = SEED + 8 };
	struct ll_link_stats st;
	struct net n;

	net_init(&n, LL_ENC_AUTO, LL_ENC_AUTO, &sc);
	n.garbage_every = 97;
	run_until_up(&n, n.c);
	n.total[0] = 200000;
	n.total[1] = 200000;
	run_until_bulk_done(&n, 120000);
	ll_link_stats(n.a, &st);
	assert_true(st.format_errors + st.crc_errors > 0);
	assert_int_equal(ll_link_state(n.a), LL_LINK_UP);
	net_free(&n);
}

static void
test_timeout(void **state)
{
	struct simchan_config sc = { .rate = 100, .latency_ms = 5,
	    .seed = SEED + 9 };
	struct net n;

	net_init(&n, LL_ENC_AUTO, LL_ENC_AUTO, &sc);
	simchan_config(n.up)->cut = true;
	while (ll_link_state(n.c) != LL_LINK_DEAD && n.now < 20000)
		step(&n);
	assert_int_equal(ll_link_error(n.c), LL_ERR_TIMEOUT);
	assert_in_range(n.now, 10000, 10001);
	assert_int_equal(ll_link_deadline(n.c), UINT64_MAX);
	net_free(&n);
}

static void
test_close(void **state)
{
	struct simchan_config sc = { .rate = 100, .latency_ms = 5,
	    .seed = SEED + 10 };
	struct net n;

	net_init(&n, LL_ENC_AUTO, LL_ENC_AUTO, &sc);
	run_until_up(&n, n.c);
	ll_link_close(n.c, n.now);
	assert_int_equal(ll_link_error(n.c), LL_ERR_CLOSED);
	assert_int_equal(ll_link_write(n.c, 1, "x", 1), LL_ERR_CLOSED);
	run_for(&n, 100);
	assert_int_equal(ll_link_state(n.a), LL_LINK_CONNECTING);
	/* a new client gets a new session; the agent closes it */
	ll_link_free(n.c);
	n.c = mklink(false, LL_ENC_AUTO, 0xc3c3c3c3, n.now);
	run_until_up(&n, n.c);
	assert_int_equal(ll_link_session(n.a), 2);
	ll_link_close(n.a, n.now);
	run_for(&n, 100);
	assert_int_equal(ll_link_state(n.c), LL_LINK_DEAD);
	assert_int_equal(ll_link_error(n.c), LL_ERR_CLOSED);
	net_free(&n);
}

static size_t
unhex(const char *h, uint8_t *p)
{
	size_t n = 0;
	unsigned v;

	while (sscanf(h + 2 * n, "%2x", &v) == 1)
		p[n++] = (uint8_t)v;
	return n;
}

/* The first frames of a session, byte for byte (docs/protocol.md, "Link
 * layer", 6. Test vectors). */
static void
test_vectors(void **state)
{
	static const char hello[] =
	    "7c3721366648567a736b417e7b48417428423525326d41526351327b4463370a";
	static const char hello_ack[] =
	    "7c3723633e5d79386d4e2c6f703967322e224d2c305f665f505e5d466a302165"
	    "230a";
	static const char hello_pl[] = "4c4c0101c1c1c1c1001000";
	static const char hello_ack_pl[] = "4c4c01c1c1c1c1a9a9a9a91000";
	struct ll_link *c = mklink(false, LL_ENC_AUTO, 0xc1c1c1c1, 0);
	struct ll_link *a = mklink(true, LL_ENC_AUTO, 0xa9a9a9a9, 0);
	static struct ll_frame_decoder d;
	static struct ll_frame_event ev;
	static uint8_t want[256], pl[64];
	struct ll_buf o;
	size_t n, used;
	int r;

	ll_buf_init(&o, 65536);
	r = ll_link_output(c, &o, 1000, 0);
	n = unhex(hello, want);
	assert_int_equal(r, n);
	assert_memory_equal(ll_buf_ptr(&o), want, n);
	ll_frame_decoder_init(&d);
	assert_int_equal(ll_frame_decoder_feed(&d, ll_buf_ptr(&o), r, &used,
	    &ev), LL_FEV_FRAME);
	assert_int_equal(ev.frame.type, LL_FT_HELLO);
	assert_int_equal(ev.frame.dir, LL_DIR_TO_AGENT);
	n = unhex(hello_pl, pl);
	assert_int_equal(ev.frame.len, n);
	assert_memory_equal(ev.frame.payload, pl, n);

	assert_int_equal(ll_link_input(a, ll_buf_ptr(&o), r, 1), 0);
	ll_buf_reset(&o);
	r = ll_link_output(a, &o, 1000, 1);
	n = unhex(hello_ack, want);
	assert_int_equal(r, n);
	assert_memory_equal(ll_buf_ptr(&o), want, n);
	assert_int_equal(ll_frame_decoder_feed(&d, ll_buf_ptr(&o), r, &used,
	    &ev), LL_FEV_FRAME);
	assert_int_equal(ev.frame.type, LL_FT_HELLO_ACK);
	n = unhex(hello_ack_pl, pl);
	assert_int_equal(ev.frame.len, n);
	assert_memory_equal(ev.frame.payload, pl, n);

	/* Then probe 1: "|p1", 189 raw bytes, LF. */
	assert_int_equal(ll_link_input(c, ll_buf_ptr(&o), r, 2), 0);
	assert_int_equal(ll_link_state(c), LL_LINK_PROBING);
	ll_buf_reset(&o);
	r = ll_link_output(c, &o, 1000, 2);
	assert_int_equal(r, 3 + 189 + 1);
	assert_memory_equal(ll_buf_ptr(&o), "|p1 !\"#", 7);
	assert_int_equal(ll_buf_ptr(&o)[3 + 94], 0xa0);
	assert_int_equal(ll_buf_ptr(&o)[r - 2], 0xfe);
	ll_frame_decoder_cleanup(&d);
	ll_buf_cleanup(&o);
	ll_link_free(c);
	ll_link_free(a);
}

/* Virtual-time goodput of 1 MiB, agent to client, 11520 B/s, 4 ms. */
static double
goodput(enum ll_encoding enc, double ber, uint64_t inject_ms)
{
	struct simchan_config sc = { .rate = 11.52, .latency_ms = 4,
	    .ber = ber, .seed = SEED + 11 };
	struct net n;
	uint64_t t0;
	double g;

	net_init(&n, enc, LL_ENC_AUTO, &sc);
	n.inject_every = inject_ms;
	n.inject_len = 80;
	run_until_up(&n, n.c);
	t0 = n.now;
	n.total[1] = MIB;
	run_until_bulk_done(&n, 1000000);
	g = (double)MIB / (double)(n.now - t0) * 1000 / 11520 * 100;
	net_free(&n);
	return g;
}

static void
test_goodput(void **state)
{
	double clean8, noisy8, clean7;

	clean8 = goodput(LL_ENC_AUTO, 0, 0);
	print_message("# goodput clean 8bit: %.1f%%\n", clean8);
	noisy8 = goodput(LL_ENC_AUTO, 1e-5, 2000);
	print_message("# goodput noisy 8bit (BER 1e-5, 80 B line/2 s): "
	    "%.1f%%\n", noisy8);
	clean7 = goodput(LL_ENC_7BIT, 0, 0);
	print_message("# goodput clean 7bit: %.1f%%\n", clean7);
	assert_true(clean8 > 80);
	assert_true(noisy8 > 60);
	assert_true(clean7 > 60);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_clean_8bit),
		cmocka_unit_test(test_strip8),
		cmocka_unit_test(test_echo),
		cmocka_unit_test(test_forced),
		cmocka_unit_test(test_console_text),
		cmocka_unit_test(test_noisy_mib),
		cmocka_unit_test(test_agent_restart),
		cmocka_unit_test(test_takeover),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_close),
		cmocka_unit_test(test_goodput),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	printf("# seed %llu\n", (unsigned long long)SEED);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
