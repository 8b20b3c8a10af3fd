/*
 * Unit tests for the telnet state machine (proto/telnet.c): the opening
 * requests, answers only on a change of state (no loops), refusals, RFC 2217
 * baud setting with IAC doubled inside the sub-negotiation, IAC framing and
 * CR NUL both ways, and a randomized property: any data, IAC-coded and cut
 * into random pieces with commands between them, decodes to itself.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "telnet.h"
#include "testutil.h"

#define SEED	0x5eed7e1U
#define IAC	LL_TELNET_IAC

static void
feed(struct ll_telnet *tn, const uint8_t *p, size_t n, uint8_t *data,
    size_t *dlen)
{
	*dlen = ll_telnet_decode(tn, p, n, data);
}

/* The server's answers to our opening: replies cleared first. */
static void
settle_binary(struct ll_telnet *tn)
{
	const uint8_t srv[] = { IAC, LL_TELNET_DO, 0, IAC, LL_TELNET_WILL, 0,
	    IAC, LL_TELNET_DO, 3, IAC, LL_TELNET_WILL, 3 };
	uint8_t data[16];
	size_t n;

	ll_telnet_reply_sent(tn, tn->reply_len);
	feed(tn, srv, sizeof srv, data, &n);
	assert_int_equal(n, 0);
}

static void
test_opening(void **state)
{
	struct ll_telnet tn;
	const uint8_t want[] = { IAC, LL_TELNET_WILL, 0, IAC, LL_TELNET_DO, 0,
	    IAC, LL_TELNET_WILL, 3, IAC, LL_TELNET_DO, 3 };
	const uint8_t want_cpo[] = { IAC, LL_TELNET_WILL, 44 };

	(void)state;
	ll_telnet_init(&tn, 0);
	assert_int_equal(tn.reply_len, sizeof want);
	assert_memory_equal(tn.reply, want, sizeof want);
	assert_false(ll_telnet_is_settled(&tn));
	ll_telnet_init(&tn, 115200);
	assert_int_equal(tn.reply_len, sizeof want + sizeof want_cpo);
	assert_memory_equal(tn.reply + sizeof want, want_cpo, sizeof want_cpo);
}

static void
test_answers_only_on_change(void **state)
{
	struct ll_telnet tn;
	uint8_t data[16];
	size_t n;
	const uint8_t again[] = { IAC, LL_TELNET_DO, 0, IAC, LL_TELNET_WILL, 0 };
	const uint8_t echo[] = { IAC, LL_TELNET_WILL, 1 };
	const uint8_t refuse_echo[] = { IAC, LL_TELNET_DONT, 1 };
	const uint8_t unknown[] = { IAC, LL_TELNET_DO, 24 };
	const uint8_t refuse_unknown[] = { IAC, LL_TELNET_WONT, 24 };
	const uint8_t off[] = { IAC, LL_TELNET_WONT, 0 };
	const uint8_t ack_off[] = { IAC, LL_TELNET_DONT, 0 };

	(void)state;
	ll_telnet_init(&tn, 0);
	settle_binary(&tn);
	/* Answers to our own requests need no reply. */
	assert_int_equal(tn.reply_len, 0);
	assert_true(tn.us[0] && tn.them[0] && tn.us[3] && tn.them[3]);
	assert_true(ll_telnet_is_settled(&tn));
	/* Asking again for what holds changes nothing: no reply, no loop. */
	feed(&tn, again, sizeof again, data, &n);
	assert_int_equal(tn.reply_len, 0);
	/* An echo would send our frames back: refused. */
	feed(&tn, echo, sizeof echo, data, &n);
	assert_int_equal(tn.reply_len, sizeof refuse_echo);
	assert_memory_equal(tn.reply, refuse_echo, sizeof refuse_echo);
	ll_telnet_reply_sent(&tn, tn.reply_len);
	feed(&tn, unknown, sizeof unknown, data, &n);
	assert_memory_equal(tn.reply, refuse_unknown, sizeof refuse_unknown);
	ll_telnet_reply_sent(&tn, tn.reply_len);
	/* Their side leaves BINARY: acknowledged once, CR NUL from now on. */
	feed(&tn, off, sizeof off, data, &n);
	assert_int_equal(tn.reply_len, sizeof ack_off);
	assert_memory_equal(tn.reply, ack_off, sizeof ack_off);
	assert_false(tn.them[0]);
	ll_telnet_reply_sent(&tn, tn.reply_len);
	feed(&tn, off, sizeof off, data, &n);
	assert_int_equal(tn.reply_len, 0);
}

static void
test_comport_baud(void **state)
{
	struct ll_telnet tn;
	uint8_t data[16];
	size_t n;
	const uint8_t do_cpo[] = { IAC, LL_TELNET_DO, 44 };
	/* 0x0001C2FF: the 0xFF in the value is doubled. */
	const uint8_t want[] = { IAC, LL_TELNET_SB, 44, 1, 0x00, 0x01, 0xC2,
	    0xFF, 0xFF, IAC, LL_TELNET_SE };
	const uint8_t ack[] = { IAC, LL_TELNET_SB, 44, 101, 0x00, 0x01, 0xC2,
	    0xFF, 0xFF, IAC, LL_TELNET_SE };

	(void)state;
	ll_telnet_init(&tn, 0x0001C2FF);
	settle_binary(&tn);
	assert_false(ll_telnet_is_settled(&tn));
	feed(&tn, do_cpo, sizeof do_cpo, data, &n);
	assert_true(tn.us[44]);
	assert_true(tn.reply_len > sizeof want);
	assert_memory_equal(tn.reply, want, sizeof want);
	/* Then data size 8, parity none, one stop bit. */
	assert_int_equal(tn.reply[sizeof want + 3], 2);
	assert_int_equal(tn.reply[sizeof want + 4], 8);
	ll_telnet_reply_sent(&tn, tn.reply_len);
	assert_false(ll_telnet_is_settled(&tn));
	/* The answer, cut in the middle of its doubled IAC. */
	feed(&tn, ack, 8, data, &n);
	assert_int_equal(n, 0);
	feed(&tn, ack + 8, sizeof ack - 8, data, &n);
	assert_int_equal(n, 0);
	assert_int_equal(tn.baud_acked, 0x0001C2FF);
	assert_true(ll_telnet_is_settled(&tn));
	/* A second DO changes nothing: the port is not set twice. */
	feed(&tn, do_cpo, sizeof do_cpo, data, &n);
	assert_int_equal(tn.reply_len, 0);
}

static void
test_comport_refused(void **state)
{
	struct ll_telnet tn;
	uint8_t data[8];
	size_t n;
	const uint8_t dont[] = { IAC, LL_TELNET_DONT, 44 };

	(void)state;
	ll_telnet_init(&tn, 9600);
	settle_binary(&tn);
	feed(&tn, dont, sizeof dont, data, &n);
	/* A refusal of our own request is not answered. */
	assert_int_equal(tn.reply_len, 0);
	assert_true(ll_telnet_is_settled(&tn));
	assert_int_equal(tn.baud_acked, 0);
}

static void
test_data_framing(void **state)
{
	struct ll_telnet tn;
	uint8_t out[2], data[32];
	size_t n;
	/* IAC IAC, a NOP, a sub-negotiation and CR NUL among data. */
	const uint8_t in[] = { 'a', IAC, IAC, 'b', IAC, 241, 'c', IAC,
	    LL_TELNET_SB, 44, 7, IAC, IAC, IAC, LL_TELNET_SE, '\r', 0, 'd',
	    '\r', '\n' };
	const uint8_t want[] = { 'a', 0xFF, 'b', 'c', '\r', 'd', '\r', '\n' };

	(void)state;
	ll_telnet_init(&tn, 0);
	/* Not BINARY yet: CR NUL is CR, and CR goes out as CR NUL. */
	feed(&tn, in, sizeof in, data, &n);
	assert_int_equal(n, sizeof want);
	assert_memory_equal(data, want, sizeof want);
	assert_int_equal(ll_telnet_encode_byte(&tn, '\r', out), 2);
	assert_int_equal(out[1], 0);
	assert_int_equal(ll_telnet_encode_byte(&tn, 0xFF, out), 2);
	assert_int_equal(out[0], 0xFF);
	assert_int_equal(out[1], 0xFF);
	assert_int_equal(ll_telnet_encode_byte(&tn, 'x', out), 1);
	settle_binary(&tn);
	/* BINARY: CR is only CR, a NUL after it is data. */
	assert_int_equal(ll_telnet_encode_byte(&tn, '\r', out), 1);
	feed(&tn, (const uint8_t *)"\r\0", 2, data, &n);
	assert_int_equal(n, 2);
	assert_int_equal(data[1], 0);
}

static void
test_long_subnegotiation(void **state)
{
	struct ll_telnet tn;
	uint8_t in[300], data[300];
	size_t n, i = 0;

	(void)state;
	ll_telnet_init(&tn, 0);
	in[i++] = IAC;
	in[i++] = LL_TELNET_SB;
	while (i < 290)
		in[i++] = 'q';
	in[i++] = IAC;
	in[i++] = LL_TELNET_SE;
	in[i++] = 'z';
	feed(&tn, in, i, data, &n);
	assert_int_equal(n, 1);
	assert_int_equal(data[0], 'z');
	assert_int_equal(tn.sb_len, LL_TELNET_SB_MAX);
}

/* Random data, coded and cut anywhere, with commands between pieces. */
static void
test_random_roundtrip(void **state)
{
	enum { LEN = 20000 };
	struct ll_telnet tx, rx;
	uint8_t *src, *wire, *got, code[2];
	const uint8_t nop[] = { IAC, 241 }, will[] = { IAC, LL_TELNET_WILL, 3 };
	uint32_t seed = SEED;
	size_t i, w = 0, g = 0, off, cut, k;
	int round;

	(void)state;
	print_message("seed 0x%08x\n", SEED);
	src = malloc(LEN);
	wire = malloc(4 * LEN);
	got = malloc(4 * LEN);
	assert_non_null(src);
	assert_non_null(wire);
	assert_non_null(got);
	for (round = 0; round < 2; round++) {
		/* Round 0: BINARY both ways; round 1: NVT (CR NUL). */
		ll_telnet_init(&tx, 0);
		ll_telnet_init(&rx, 0);
		if (round == 0) {
			settle_binary(&tx);
			settle_binary(&rx);
		}
		for (i = 0; i < LEN; i++) {
			/* Many 0xFF and CR: the interesting bytes. */
			uint32_t r = rnd(&seed) % 8;

			src[i] = r == 0 ? 0xFF : r == 1 ? '\r' : (uint8_t)rnd(&seed);
		}
		for (i = 0, w = 0; i < LEN; i++) {
			k = ll_telnet_encode_byte(&tx, src[i], code);
			memcpy(wire + w, code, k);
			w += k;
			if (rnd(&seed) % 97 == 0) {
				memcpy(wire + w, nop, sizeof nop);
				w += sizeof nop;
			}
		}
		memcpy(wire + w, will, sizeof will);
		w += sizeof will;
		for (off = 0, g = 0; off < w; off += cut) {
			cut = 1 + rnd(&seed) % 13;
			if (cut > w - off)
				cut = w - off;
			g += ll_telnet_decode(&rx, wire + off, cut, got + g);
		}
		assert_int_equal(g, LEN);
		assert_memory_equal(got, src, LEN);
	}
	free(src);
	free(wire);
	free(got);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opening),
		cmocka_unit_test(test_answers_only_on_change),
		cmocka_unit_test(test_comport_baud),
		cmocka_unit_test(test_comport_refused),
		cmocka_unit_test(test_data_framing),
		cmocka_unit_test(test_long_subnegotiation),
		cmocka_unit_test(test_random_roundtrip),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
