/*
 * Tests for the message layer codec (proto/msg.c).
 *
 * Round trips of every kind, golden vectors in tests/data/msg-*.bin compared
 * byte for byte (they were produced by an independent Python encoder and are
 * the test vectors of docs/protocol.md), incomplete input at every split
 * point, early rejection of oversized lengths, bad records consumed so the
 * next one decodes, the hello and error helpers, and a randomized property
 * test: random record sequences encoded into one buffer and fed back in
 * random-size pieces decode to the same sequence.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "error.h"
#include "ll-limits.h"
#include "msg.h"
#include "golden.h"
#include "testutil.h"

#define BIG_BUF		(LL_MSG_HEADER_LEN + LL_MSG_MAX)
#define PROP_SEED	0x6c69666cU	/* "lifl" */
#define PROP_ROUNDS	1000

static uint32_t
rnd_below(uint32_t *s, uint32_t n)
{
	return (rnd(s) % n);
}

static json_t *
load(const char *text)
{
	json_error_t	 err;
	json_t		*v;

	v = json_loads(text, JSON_REJECT_DUPLICATES, &err);
	assert_non_null(v);
	return (v);
}

static void
test_roundtrip_kinds(void **state)
{
	static const char *bodies[] = {
		"{\"caps\":[],\"proto\":{\"max\":1,\"min\":1}}",
		"{\"args\":{\"path\":\"/etc/fstab\"},\"op\":\"read\"}",
		"{\"result\":{\"n\":3,\"ok\":true,\"x\":null,\"r\":1.5}}",
		"{\"code\":\"busy\",\"message\":\"device busy \\u00e9\"}",
		"{\"job\":12,\"progress\":0.25,\"state\":\"running\"}",
		"{}",
	};
	struct ll_buf	 b;
	struct ll_msg	 m;
	uint8_t		 data[300];
	json_t		*v;
	uint8_t		 kind, ch;
	size_t		 i;

	(void)state;
	ll_buf_init(&b, BIG_BUF);
	for (kind = LL_MSG_HELLO; kind <= LL_MSG_CANCEL; kind++) {
		assert_true(ll_msg_kind_is_json(kind));
		v = load(bodies[kind - 1]);
		assert_int_equal(ll_msg_put_json(&b, kind, 1000u + kind, v), 0);
		assert_int_equal(ll_msg_get(&b, &m), 0);
		assert_int_equal(m.kind, kind);
		assert_int_equal(m.flags, 0);
		assert_int_equal(m.id, 1000u + kind);
		assert_true(json_equal(m.json, v));
		assert_null(m.data);
		ll_msg_cleanup(&m);
		json_decref(v);
	}
	for (i = 0; i < sizeof data; i++)
		data[i] = (uint8_t)(i * 7);
	for (ch = LL_CH_STDIN; ch <= LL_CH_FILE; ch++) {
		assert_false(ll_msg_kind_is_json(LL_MSG_DATA));
		assert_int_equal(ll_msg_put_data(&b, LL_MSG_DATA, ch,
		    0xfffffff0u, data, sizeof data), 0);
		assert_int_equal(ll_msg_put_data(&b, LL_MSG_EOF, ch,
		    0xfffffff0u, NULL, 0), 0);
		assert_int_equal(ll_msg_get(&b, &m), 0);
		assert_int_equal(m.kind, LL_MSG_DATA);
		assert_int_equal(m.flags, ch);
		assert_int_equal(m.id, 0xfffffff0u);
		assert_null(m.json);
		assert_int_equal(m.data_len, sizeof data);
		assert_memory_equal(m.data, data, sizeof data);
		ll_msg_cleanup(&m);
		assert_int_equal(ll_msg_get(&b, &m), 0);
		assert_int_equal(m.kind, LL_MSG_EOF);
		assert_int_equal(m.flags, ch);
		assert_int_equal(m.data_len, 0);
		assert_null(m.data);
		ll_msg_cleanup(&m);
	}
	/* A full-size chunk and an empty DATA chunk also pass. */
	{
		uint8_t *big = calloc(1, LL_DATA_CHUNK_MAX);

		assert_non_null(big);
		big[LL_DATA_CHUNK_MAX - 1] = 0x5a;
		assert_int_equal(ll_msg_put_data(&b, LL_MSG_DATA, LL_CH_FILE, 3,
		    big, LL_DATA_CHUNK_MAX), 0);
		assert_int_equal(ll_msg_put_data(&b, LL_MSG_DATA, LL_CH_FILE, 3,
		    NULL, 0), 0);
		assert_int_equal(ll_msg_get(&b, &m), 0);
		assert_int_equal(m.data_len, LL_DATA_CHUNK_MAX);
		assert_memory_equal(m.data, big, LL_DATA_CHUNK_MAX);
		ll_msg_cleanup(&m);
		assert_int_equal(ll_msg_get(&b, &m), 0);
		assert_int_equal(m.kind, LL_MSG_DATA);
		assert_int_equal(m.data_len, 0);
		ll_msg_cleanup(&m);
		free(big);
	}
	assert_int_equal(ll_buf_avail(&b), 0);
	assert_int_equal(ll_msg_get(&b, &m), LL_ERR_SHORT);
	ll_buf_cleanup(&b);
}

/* Keys inserted in any order encode to the same bytes. */
static void
test_deterministic(void **state)
{
	struct ll_buf	 a, b;
	json_t		*x, *y;

	(void)state;
	x = json_pack("{s:i,s:s,s:{s:b,s:n}}", "zeta", 1, "alpha", "a",
	    "mid", "y", 1, "b");
	y = json_pack("{s:{s:n,s:b},s:s,s:i}", "mid", "b", "y", 1,
	    "alpha", "a", "zeta", 1);
	assert_non_null(x);
	assert_non_null(y);
	ll_buf_init(&a, BIG_BUF);
	ll_buf_init(&b, BIG_BUF);
	assert_int_equal(ll_msg_put_json(&a, LL_MSG_REPLY, 5, x), 0);
	assert_int_equal(ll_msg_put_json(&b, LL_MSG_REPLY, 5, y), 0);
	assert_int_equal(ll_buf_avail(&a), ll_buf_avail(&b));
	assert_memory_equal(ll_buf_ptr(&a), ll_buf_ptr(&b), ll_buf_avail(&a));
	assert_memory_equal(ll_buf_ptr(&a) + LL_MSG_HEADER_LEN,
	    "{\"alpha\":\"a\",\"mid\":{\"b\":null,\"y\":true},\"zeta\":1}",
	    ll_buf_avail(&a) - LL_MSG_HEADER_LEN);
	ll_buf_cleanup(&a);
	ll_buf_cleanup(&b);
	json_decref(x);
	json_decref(y);
}

static void
check_golden(const char *name, struct ll_buf *b)
{
	struct ll_buf	 in;
	struct ll_msg	 m, m2;
	uint8_t		*g;
	size_t		 n;

	g = read_golden(name, &n);
	assert_int_equal(ll_buf_avail(b), n);
	assert_memory_equal(ll_buf_ptr(b), g, n);
	/* And the golden bytes decode to what was encoded. */
	ll_buf_wrap(&in, g, n);
	assert_int_equal(ll_msg_get(&in, &m), 0);
	assert_int_equal(ll_buf_avail(&in), 0);
	assert_int_equal(ll_msg_get(b, &m2), 0);
	assert_int_equal(m.kind, m2.kind);
	assert_int_equal(m.flags, m2.flags);
	assert_int_equal(m.id, m2.id);
	if (m.json != NULL)
		assert_true(json_equal(m.json, m2.json));
	else {
		assert_int_equal(m.data_len, m2.data_len);
		if (m.data_len > 0)
			assert_memory_equal(m.data, m2.data, m.data_len);
	}
	ll_msg_cleanup(&m);
	ll_msg_cleanup(&m2);
	ll_buf_cleanup(&in);
	ll_buf_reset(b);
	free(g);
}

static void
test_golden(void **state)
{
	struct ll_buf	 b;
	json_t		*v;

	(void)state;
	ll_buf_init(&b, BIG_BUF);

	/* a client HELLO with no capabilities (lifeline --compress no) */
	v = ll_msg_hello_new("client", "lifeline 0.1.0", NULL);
	assert_non_null(v);
	assert_int_equal(ll_msg_put_json(&b, LL_MSG_HELLO, 0, v), 0);
	check_golden("msg-hello.bin", &b);
	json_decref(v);

	v = load("{\"op\":\"exec\",\"args\":{\"argv\":[\"echo\",\"hi\"]}}");
	assert_int_equal(ll_msg_put_json(&b, LL_MSG_REQUEST, 7, v), 0);
	check_golden("msg-request.bin", &b);
	json_decref(v);

	assert_int_equal(ll_msg_put_error(&b, 7, LL_EC_NOT_FOUND,
	    "no such file: %s", "/etc/nope"), 0);
	check_golden("msg-error.bin", &b);

	assert_int_equal(ll_msg_put_data(&b, LL_MSG_DATA, LL_CH_STDOUT, 7,
	    "hello\n", 6), 0);
	check_golden("msg-data.bin", &b);

	assert_int_equal(ll_msg_put_data(&b, LL_MSG_EOF, LL_CH_STDOUT, 7,
	    NULL, 0), 0);
	check_golden("msg-eof.bin", &b);

	/* jobs (docs/protocol.md, "Jobs") */
	v = load("{\"op\":\"job-output\",\"args\":{\"job\":3,"
	    "\"stdout_offset\":1000,\"stderr_offset\":0,\"follow\":true}}");
	assert_int_equal(ll_msg_put_json(&b, LL_MSG_REQUEST, 9, v), 0);
	check_golden("msg-job-output.bin", &b);
	json_decref(v);

	v = load("{\"job\":3,\"stdout_offset\":1000,\"stderr_offset\":0,"
	    "\"stdout_dropped\":0,\"stderr_dropped\":0}");
	assert_int_equal(ll_msg_put_json(&b, LL_MSG_EVENT, 9, v), 0);
	check_golden("msg-job-event.bin", &b);
	json_decref(v);

	/* exec's standard input (docs/protocol.md, exec) */
	v = load("{\"op\":\"exec\",\"args\":{\"argv\":[\"sha256sum\"],"
	    "\"stdin\":true}}");
	assert_int_equal(ll_msg_put_json(&b, LL_MSG_REQUEST, 4, v), 0);
	check_golden("msg-exec-stdin.bin", &b);
	json_decref(v);

	assert_int_equal(ll_msg_put_data(&b, LL_MSG_DATA, LL_CH_STDIN, 4,
	    "abc", 3), 0);
	check_golden("msg-stdin-data.bin", &b);

	assert_int_equal(ll_msg_put_data(&b, LL_MSG_EOF, LL_CH_STDIN, 4,
	    NULL, 0), 0);
	check_golden("msg-stdin-eof.bin", &b);

	v = load("{\"job\":5,\"stdin_offset\":65536}");
	assert_int_equal(ll_msg_put_json(&b, LL_MSG_EVENT, 4, v), 0);
	check_golden("msg-stdin-event.bin", &b);
	json_decref(v);

	ll_buf_cleanup(&b);
}

/* Every proper prefix of a record is LL_ERR_SHORT and consumes nothing. */
/*
 * The received part of a DATA record still arriving, at every split point:
 * the body bytes so far, nothing consumed; nothing for a complete record,
 * a JSON record, a bad channel or a length over the cap.
 */
static void
test_peek_partial_data(void **state)
{
	struct ll_buf	 enc, in;
	struct ll_msg	 m;
	uint8_t		 body[1000];
	const uint8_t	*p;
	size_t		 k, i;
	json_t		*v;

	(void)state;
	for (i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)(i * 7);
	ll_buf_init(&enc, BIG_BUF);
	assert_int_equal(ll_msg_put_data(&enc, LL_MSG_DATA, LL_CH_FILE, 9,
	    body, sizeof(body)), 0);
	p = ll_buf_ptr(&enc);
	for (k = 0; k < LL_MSG_HEADER_LEN; k++) {
		ll_buf_wrap(&in, p, k);
		assert_int_equal(ll_msg_peek_partial_data(&in, &m), 0);
	}
	for (k = LL_MSG_HEADER_LEN; k < ll_buf_avail(&enc); k++) {
		ll_buf_wrap(&in, p, k);
		assert_int_equal(ll_msg_peek_partial_data(&in, &m), 1);
		assert_int_equal(m.kind, LL_MSG_DATA);
		assert_int_equal(m.flags, LL_CH_FILE);
		assert_int_equal(m.id, 9);
		assert_int_equal(m.data_len, k - LL_MSG_HEADER_LEN);
		if (m.data_len > 0)
			assert_memory_equal(m.data, body, m.data_len);
		ll_msg_cleanup(&m);
		assert_int_equal(ll_buf_avail(&in), k);
	}
	ll_buf_wrap(&in, p, ll_buf_avail(&enc));
	assert_int_equal(ll_msg_peek_partial_data(&in, &m), 0);
	ll_buf_cleanup(&enc);

	/* not DATA, or not a DATA header that could ever complete */
	ll_buf_init(&enc, BIG_BUF);
	v = load("{\"a\":1}");
	assert_int_equal(ll_msg_put_json(&enc, LL_MSG_EVENT, 1, v), 0);
	json_decref(v);
	ll_buf_wrap(&in, ll_buf_ptr(&enc), ll_buf_avail(&enc) - 1);
	assert_int_equal(ll_msg_peek_partial_data(&in, &m), 0);
	ll_buf_cleanup(&enc);
	ll_buf_init(&enc, BIG_BUF);
	put_raw(&enc, 100, LL_MSG_DATA, 9, 1, body, 10);
	assert_int_equal(ll_msg_peek_partial_data(&enc, &m), 0);
	ll_buf_reset(&enc);
	put_raw(&enc, LL_DATA_CHUNK_MAX + 1, LL_MSG_DATA, LL_CH_FILE, 1, body,
	    10);
	assert_int_equal(ll_msg_peek_partial_data(&enc, &m), 0);
	ll_buf_cleanup(&enc);
}

static void
test_short_every_split(void **state)
{
	struct ll_buf	 enc, in;
	struct ll_msg	 m;
	json_t		*v;
	const uint8_t	*p;
	size_t		 total, k, rec1;

	(void)state;
	ll_buf_init(&enc, BIG_BUF);
	v = load("{\"op\":\"exec\",\"args\":{\"argv\":[\"echo\",\"hi\"]}}");
	assert_int_equal(ll_msg_put_json(&enc, LL_MSG_REQUEST, 7, v), 0);
	rec1 = ll_buf_avail(&enc);
	assert_int_equal(ll_msg_put_data(&enc, LL_MSG_DATA, LL_CH_STDERR, 7,
	    "oops\n", 5), 0);
	total = ll_buf_avail(&enc);
	p = ll_buf_ptr(&enc);

	for (k = 0; k < rec1; k++) {
		ll_buf_wrap(&in, p, k);
		assert_int_equal(ll_msg_get(&in, &m), LL_ERR_SHORT);
		assert_int_equal(ll_buf_avail(&in), k);
		assert_null(m.json);
		assert_null(m.data);
	}
	for (k = rec1; k <= total; k++) {
		ll_buf_wrap(&in, p, k);
		assert_int_equal(ll_msg_get(&in, &m), 0);
		assert_true(json_equal(m.json, v));
		ll_msg_cleanup(&m);
		assert_int_equal(ll_buf_avail(&in), k - rec1);
		if (k < total) {
			assert_int_equal(ll_msg_get(&in, &m), LL_ERR_SHORT);
			assert_int_equal(ll_buf_avail(&in), k - rec1);
		} else {
			assert_int_equal(ll_msg_get(&in, &m), 0);
			assert_int_equal(m.kind, LL_MSG_DATA);
			assert_int_equal(m.flags, LL_CH_STDERR);
			assert_int_equal(m.data_len, 5);
			assert_memory_equal(m.data, "oops\n", 5);
			ll_msg_cleanup(&m);
		}
	}
	json_decref(v);
	ll_buf_cleanup(&enc);
}

/* An oversized length is refused with only the header in, nothing taken. */
static void
test_toobig_early(void **state)
{
	static const struct {
		uint32_t	len;
		uint8_t		kind;
		uint8_t		flags;
		int		want;
	} cases[] = {
		{ LL_MSG_JSON_MAX + 1, LL_MSG_HELLO, 0, LL_ERR_TOOBIG },
		{ LL_MSG_JSON_MAX + 1, LL_MSG_REQUEST, 0, LL_ERR_TOOBIG },
		{ LL_MSG_JSON_MAX + 1, LL_MSG_CANCEL, 0, LL_ERR_TOOBIG },
		{ 0xffffffffu, LL_MSG_REPLY, 0, LL_ERR_TOOBIG },
		{ LL_DATA_CHUNK_MAX + 1, LL_MSG_DATA, 1, LL_ERR_TOOBIG },
		{ LL_DATA_CHUNK_MAX + 1, LL_MSG_EOF, 1, LL_ERR_TOOBIG },
		{ LL_MSG_MAX + 1, 0, 0, LL_ERR_TOOBIG },
		{ LL_MSG_MAX + 1, 200, 0, LL_ERR_TOOBIG },
		{ 0x80000000u, 9, 0, LL_ERR_TOOBIG },
		/* At the cap: acceptable, so it waits for the body. */
		{ LL_MSG_JSON_MAX, LL_MSG_EVENT, 0, LL_ERR_SHORT },
		{ LL_DATA_CHUNK_MAX, LL_MSG_DATA, 2, LL_ERR_SHORT },
		{ LL_MSG_MAX, 77, 0, LL_ERR_SHORT },
	};
	struct ll_buf	 b;
	struct ll_msg	 m;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ll_buf_init(&b, 64);
		put_raw(&b, cases[i].len, cases[i].kind, cases[i].flags, 1,
		    "{}", 2);
		assert_int_equal(ll_msg_get(&b, &m), cases[i].want);
		assert_int_equal(ll_buf_avail(&b), LL_MSG_HEADER_LEN + 2);
		assert_null(m.json);
		assert_null(m.data);
		ll_buf_cleanup(&b);
	}
}

/* The encoder refuses what the decoder would refuse, appending nothing. */
static void
test_encode_refusals(void **state)
{
	struct ll_buf	 b, small;
	json_t		*v, *arr;
	char		*s;
	uint8_t		 x = 0;

	(void)state;
	ll_buf_init(&b, BIG_BUF);
	assert_int_equal(ll_msg_put_data(&b, LL_MSG_DATA, 1, 1, "a", 1), 0);

	v = json_object();
	arr = json_array();
	assert_int_equal(ll_msg_put_json(&b, LL_MSG_DATA, 1, v), LL_ERR_INVAL);
	assert_int_equal(ll_msg_put_json(&b, 0, 1, v), LL_ERR_INVAL);
	assert_int_equal(ll_msg_put_json(&b, 9, 1, v), LL_ERR_INVAL);
	assert_int_equal(ll_msg_put_json(&b, LL_MSG_REPLY, 1, arr),
	    LL_ERR_INVAL);
	assert_int_equal(ll_msg_put_json(&b, LL_MSG_REPLY, 1, NULL),
	    LL_ERR_INVAL);
	assert_int_equal(ll_msg_put_data(&b, LL_MSG_REPLY, 1, 1, &x, 1),
	    LL_ERR_INVAL);
	assert_int_equal(ll_msg_put_data(&b, LL_MSG_DATA, 4, 1, &x, 1),
	    LL_ERR_INVAL);
	assert_int_equal(ll_msg_put_data(&b, LL_MSG_EOF, 1, 1, &x, 1),
	    LL_ERR_INVAL);
	assert_int_equal(ll_msg_put_data(&b, LL_MSG_DATA, 1, 1, &x,
	    LL_DATA_CHUNK_MAX + 1), LL_ERR_TOOBIG);

	/* A JSON body one byte over the cap: {"s":"..."} is 8 + len. */
	s = malloc(LL_MSG_JSON_MAX);
	assert_non_null(s);
	memset(s, 'x', LL_MSG_JSON_MAX - 8);
	s[LL_MSG_JSON_MAX - 8] = '\0';
	assert_int_equal(json_object_set_new(v, "s", json_string(s)), 0);
	assert_int_equal(ll_msg_put_json(&b, LL_MSG_REPLY, 1, v), 0);
	memset(s, 'x', LL_MSG_JSON_MAX - 7);
	s[LL_MSG_JSON_MAX - 7] = '\0';
	assert_int_equal(json_object_set_new(v, "s", json_string(s)), 0);
	assert_int_equal(ll_msg_put_json(&b, LL_MSG_REPLY, 1, v),
	    LL_ERR_TOOBIG);
	assert_int_equal(ll_buf_avail(&b),
	    LL_MSG_HEADER_LEN + 1 + LL_MSG_HEADER_LEN + LL_MSG_JSON_MAX);

	/* All or nothing: a record that does not fit leaves the buffer. */
	ll_buf_init(&small, 20);
	assert_int_equal(ll_msg_put_data(&small, LL_MSG_DATA, 1, 1, "abc", 3),
	    0);
	assert_int_equal(ll_msg_put_data(&small, LL_MSG_DATA, 1, 1, "abc", 3),
	    LL_ERR_TOOBIG);
	assert_int_equal(ll_buf_avail(&small), 13);
	assert_int_equal(ll_msg_put_error(&small, 1, LL_EC_BUSY, "x"),
	    LL_ERR_TOOBIG);
	assert_int_equal(ll_buf_avail(&small), 13);

	free(s);
	json_decref(v);
	json_decref(arr);
	ll_buf_cleanup(&small);
	ll_buf_cleanup(&b);
}

/* Bad content: LL_ERR_FORMAT, record consumed, the next one decodes. */
static void
test_bad_records(void **state)
{
	static const struct {
		uint8_t		 kind;
		uint8_t		 flags;
		const char	*body;
		size_t		 n;	/* 0: strlen(body) */
	} cases[] = {
		{ LL_MSG_REQUEST, 0, "{", 0 },
		{ LL_MSG_REQUEST, 0, "{\"a\":}", 0 },
		{ LL_MSG_REQUEST, 0, "", 0 },
		{ LL_MSG_REQUEST, 0, "[1,2]", 0 },
		{ LL_MSG_REPLY, 0, "\"str\"", 0 },
		{ LL_MSG_REPLY, 0, "42", 0 },
		{ LL_MSG_REPLY, 0, "null", 0 },
		{ LL_MSG_REQUEST, 0, "{}x", 0 },
		{ LL_MSG_REQUEST, 0, "{}{}", 0 },
		{ LL_MSG_REQUEST, 0, "{} ", 0 },
		{ LL_MSG_REQUEST, 0, " {}", 0 },
		{ LL_MSG_REQUEST, 0, "{}\0", 3 },
		{ LL_MSG_HELLO, 0, "{\"a\":1,\"a\":2}", 0 },
		{ LL_MSG_EVENT, 0, "{\"o\":{\"k\":1,\"k\":1}}", 0 },
		{ LL_MSG_ERROR, 0, "{\"a\":\"\\u0000\"}", 0 },
		{ LL_MSG_ERROR, 0, "{\"a\":\"\xff\"}", 0 },
		{ LL_MSG_CANCEL, 0, "{\"a\":1e999}", 0 },
		{ LL_MSG_REQUEST, 1, "{}", 0 },
		{ LL_MSG_HELLO, 0x80, "{}", 0 },
		{ 0, 0, "{}", 0 },
		{ 10, 0, "{}", 0 },
		{ LL_MSG_ZDATA, 0, "{}", 0 },
		{ LL_MSG_ZDATA, 4, "\0\0\0\1\3\0", 6 },
		{ 255, 3, "raw bytes", 0 },
		{ LL_MSG_DATA, 4, "abc", 0 },
		{ LL_MSG_DATA, 0xff, "abc", 0 },
		{ LL_MSG_EOF, 4, "", 0 },
		{ LL_MSG_EOF, 1, "x", 0 },
	};
	struct ll_buf	 b;
	struct ll_msg	 m;
	size_t		 i, n;
	int		 r;

	(void)state;
	ll_buf_init(&b, BIG_BUF);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		n = cases[i].n ? cases[i].n : strlen(cases[i].body);
		put_raw(&b, (uint32_t)n, cases[i].kind, cases[i].flags, 3,
		    cases[i].body, n);
		assert_int_equal(ll_msg_put_data(&b, LL_MSG_DATA, 1, 4, "ok",
		    2), 0);
		if ((r = ll_msg_get(&b, &m)) != LL_ERR_FORMAT)
			fail_msg("bad record %zu: got %d", i, r);
		assert_null(m.json);
		assert_null(m.data);
		/* the header is readable: its id names the request */
		assert_int_equal(m.id, 3);
		assert_int_equal(m.kind, cases[i].kind);
		assert_int_equal(ll_buf_avail(&b), LL_MSG_HEADER_LEN + 2);
		assert_int_equal(ll_msg_get(&b, &m), 0);
		assert_int_equal(m.id, 4);
		assert_memory_equal(m.data, "ok", 2);
		ll_msg_cleanup(&m);
	}
	/* Inner whitespace is valid JSON and accepted. */
	put_raw(&b, 9, LL_MSG_REPLY, 0, 5, "{ \"a\" :1}", 9);
	assert_int_equal(ll_msg_get(&b, &m), 0);
	assert_int_equal(json_integer_value(json_object_get(m.json, "a")), 1);
	ll_msg_cleanup(&m);
	ll_buf_cleanup(&b);
}

static void
test_error_helpers(void **state)
{
	struct ll_buf	 b;
	struct ll_msg	 m;
	json_t		*v;
	char		*big;
	const char	*t;

	(void)state;
	v = ll_msg_error_new(LL_EC_EXEC_FAILED, "%s exited with %d", "fsck",
	    4);
	assert_non_null(v);
	assert_string_equal(json_string_value(json_object_get(v, "code")),
	    "exec_failed");
	assert_string_equal(json_string_value(json_object_get(v, "message")),
	    "fsck exited with 4");
	assert_int_equal(json_object_size(v), 2);
	json_decref(v);

	/* Not UTF-8: the bad bytes become '?', the message still goes. */
	v = ll_msg_error_new(LL_EC_NOT_FOUND, "no file %s", "a\xff\xfe" "b");
	assert_non_null(v);
	assert_string_equal(json_string_value(json_object_get(v, "message")),
	    "no file a??b");
	json_decref(v);

	/* A huge message is cut to LL_MSG_ERROR_TEXT_MAX. */
	big = malloc(3 * LL_MSG_ERROR_TEXT_MAX);
	assert_non_null(big);
	memset(big, 'm', 3 * LL_MSG_ERROR_TEXT_MAX - 1);
	big[3 * LL_MSG_ERROR_TEXT_MAX - 1] = '\0';
	ll_buf_init(&b, BIG_BUF);
	assert_int_equal(ll_msg_put_error(&b, 99, LL_EC_INTERNAL, "%s", big),
	    0);
	assert_int_equal(ll_msg_get(&b, &m), 0);
	assert_int_equal(m.kind, LL_MSG_ERROR);
	assert_int_equal(m.id, 99);
	t = json_string_value(json_object_get(m.json, "message"));
	assert_non_null(t);
	assert_int_equal(strlen(t), LL_MSG_ERROR_TEXT_MAX);
	assert_string_equal(json_string_value(json_object_get(m.json, "code")),
	    "internal");
	ll_msg_cleanup(&m);
	ll_buf_cleanup(&b);
	free(big);
}

static json_t *
hello_with(const char *role, int min, int max)
{
	return (json_pack("{s:{s:i,s:i},s:s,s:s,s:[]}", "proto", "min", min,
	    "max", max, "role", role, "software", "other 9", "caps"));
}

static void
test_hello(void **state)
{
	char	 err[128];
	json_t	*h, *caps;
	int	 ver;

	(void)state;
	caps = json_pack("[s,s]", "info", "get");
	h = ll_msg_hello_new("agent", "lifelined 0.1.0", caps);
	assert_non_null(h);
	assert_string_equal(json_string_value(json_object_get(h, "role")),
	    "agent");
	assert_true(json_equal(json_object_get(h, "caps"), caps));
	assert_int_equal(json_integer_value(json_object_get(
	    json_object_get(h, "proto"), "max")), LL_PROTO_VERSION);
	assert_int_equal(json_integer_value(json_object_get(
	    json_object_get(h, "proto"), "min")), LL_MSG_PROTO_MIN);
	ver = -1;
	assert_int_equal(ll_msg_hello_check(h, &ver, err, sizeof err), 0);
	assert_int_equal(ver, LL_PROTO_VERSION);
	assert_string_equal(err, "");
	json_decref(h);
	json_decref(caps);

	h = ll_msg_hello_new("client", "x", NULL);
	assert_non_null(h);
	assert_true(json_is_array(json_object_get(h, "caps")));
	assert_int_equal(json_array_size(json_object_get(h, "caps")), 0);
	json_decref(h);

	assert_null(ll_msg_hello_new("relay", "x", NULL));
	caps = json_pack("[i]", 3);
	assert_null(ll_msg_hello_new("client", "x", caps));
	json_decref(caps);

	/* A peer that also speaks later versions settles on ours. */
	h = hello_with("agent", 1, 5);
	assert_int_equal(ll_msg_hello_check(h, &ver, err, sizeof err), 0);
	assert_int_equal(ver, 1);
	json_decref(h);

	h = hello_with("agent", 2, 3);
	assert_int_equal(ll_msg_hello_check(h, &ver, err, sizeof err),
	    LL_ERR_VERSION);
	assert_string_equal(err,
	    "agent speaks protocol 2..3, this client 1..1");
	json_decref(h);

	h = hello_with("client", 7, 7);
	assert_int_equal(ll_msg_hello_check(h, &ver, err, sizeof err),
	    LL_ERR_VERSION);
	assert_string_equal(err,
	    "client speaks protocol 7..7, this agent 1..1");
	json_decref(h);

	h = hello_with("agent", 0, 1);
	assert_int_equal(ll_msg_hello_check(h, &ver, err, sizeof err),
	    LL_ERR_FORMAT);
	json_decref(h);
	h = hello_with("agent", 3, 2);
	assert_int_equal(ll_msg_hello_check(h, &ver, err, sizeof err),
	    LL_ERR_FORMAT);
	json_decref(h);
	h = hello_with("relay", 1, 1);
	assert_int_equal(ll_msg_hello_check(h, &ver, err, sizeof err),
	    LL_ERR_FORMAT);
	assert_true(strlen(err) > 0);
	json_decref(h);
	h = load("{\"role\":\"agent\"}");
	assert_int_equal(ll_msg_hello_check(h, &ver, err, sizeof err),
	    LL_ERR_FORMAT);
	json_decref(h);
	h = load("{\"role\":\"agent\",\"proto\":{\"min\":\"1\",\"max\":1}}");
	assert_int_equal(ll_msg_hello_check(h, &ver, NULL, 0), LL_ERR_FORMAT);
	json_decref(h);
	h = load("{\"role\":\"agent\",\"proto\":{\"min\":1,\"max\":1},"
	    "\"caps\":\"info\"}");
	assert_int_equal(ll_msg_hello_check(h, &ver, err, sizeof err),
	    LL_ERR_FORMAT);
	json_decref(h);
	/* Unknown fields are for later versions: ignored. */
	h = load("{\"role\":\"agent\",\"proto\":{\"min\":1,\"max\":1},"
	    "\"new\":[1]}");
	assert_int_equal(ll_msg_hello_check(h, &ver, err, sizeof err), 0);
	json_decref(h);
}

static json_t *
rnd_json(uint32_t *s, int depth)
{
	json_t	*v;
	char	 key[8];
	size_t	 i, n;
	int	 t;

	t = (int)rnd_below(s, depth > 0 ? 8 : 6);
	switch (t) {
	case 0:
		return (json_integer((json_int_t)rnd(s) - 0x7fffffff));
	case 1:
		return (json_real((double)(int32_t)rnd(s) / 1024.0));
	case 2:
		return (json_boolean(rnd(s) & 1));
	case 3:
		return (json_null());
	case 4:
	case 5:
		n = rnd_below(s, sizeof key);
		for (i = 0; i < n; i++)
			key[i] = (char)(0x20 + rnd_below(s, 0x5f));
		key[n] = '\0';
		return (json_string(key));
	case 6:
		v = json_array();
		n = rnd_below(s, 4);
		for (i = 0; i < n; i++)
			json_array_append_new(v, rnd_json(s, depth - 1));
		return (v);
	default:
		v = json_object();
		n = rnd_below(s, 4);
		for (i = 0; i < n; i++) {
			snprintf(key, sizeof key, "k%u", rnd_below(s, 100));
			json_object_set_new(v, key, rnd_json(s, depth - 1));
		}
		return (v);
	}
}

struct rec {
	uint8_t	 kind;
	uint8_t	 flags;
	uint32_t id;
	json_t	*json;
	uint8_t	 data[512];
	size_t	 n;
};

static void
test_property(void **state)
{
	struct rec	*want;
	struct ll_buf	 enc, in;
	struct ll_msg	 m;
	uint32_t	 s = PROP_SEED;
	size_t		 round, i, nrec, got, off, piece, total, j;
	int		 r;

	(void)state;
	print_message("# property test seed 0x%08x, %d rounds\n", PROP_SEED,
	    PROP_ROUNDS);
	want = calloc(64, sizeof *want);
	assert_non_null(want);
	for (round = 0; round < PROP_ROUNDS; round++) {
		ll_buf_init(&enc, BIG_BUF);
		nrec = 1 + rnd_below(&s, 64);
		for (i = 0; i < nrec; i++) {
			/* the kinds ll_msg_put_json/put_data write */
			want[i].kind = (uint8_t)(1 + rnd_below(&s,
			    LL_MSG_EOF));
			want[i].id = rnd(&s);
			want[i].json = NULL;
			want[i].n = 0;
			if (ll_msg_kind_is_json(want[i].kind)) {
				want[i].flags = 0;
				want[i].json = json_object();
				json_object_set_new(want[i].json, "v",
				    rnd_json(&s, 4));
				r = ll_msg_put_json(&enc, want[i].kind,
				    want[i].id, want[i].json);
			} else {
				want[i].flags = (uint8_t)rnd_below(&s, 4);
				if (want[i].kind == LL_MSG_DATA)
					want[i].n = rnd_below(&s,
					    sizeof want[i].data + 1);
				for (j = 0; j < want[i].n; j++)
					want[i].data[j] = (uint8_t)rnd(&s);
				r = ll_msg_put_data(&enc, want[i].kind,
				    want[i].flags, want[i].id, want[i].data,
				    want[i].n);
			}
			assert_int_equal(r, 0);
		}

		/* Feed the stream back in random pieces. */
		ll_buf_init(&in, BIG_BUF);
		total = ll_buf_avail(&enc);
		got = 0;
		for (off = 0; off < total; off += piece) {
			piece = 1 + rnd_below(&s, rnd_below(&s, 2) ? 16 :
			    1024);
			if (piece > total - off)
				piece = total - off;
			assert_int_equal(ll_buf_put(&in, ll_buf_ptr(&enc) + off,
			    piece), 0);
			while ((r = ll_msg_get(&in, &m)) == 0) {
				assert_true(got < nrec);
				assert_int_equal(m.kind, want[got].kind);
				assert_int_equal(m.flags, want[got].flags);
				assert_int_equal(m.id, want[got].id);
				if (want[got].json != NULL)
					assert_true(json_equal(m.json,
					    want[got].json));
				else {
					assert_null(m.json);
					assert_int_equal(m.data_len,
					    want[got].n);
					if (m.data_len > 0)
						assert_memory_equal(m.data,
						    want[got].data, m.data_len);
				}
				ll_msg_cleanup(&m);
				got++;
			}
			assert_int_equal(r, LL_ERR_SHORT);
		}
		assert_int_equal(got, nrec);
		assert_int_equal(ll_buf_avail(&in), 0);
		for (i = 0; i < nrec; i++)
			json_decref(want[i].json);
		ll_buf_cleanup(&in);
		ll_buf_cleanup(&enc);
	}
	free(want);
}

/*
 * Byte strings: UTF-8 as "name", anything else as "name_base64" (the test
 * vector of docs/protocol.md), decoded back to the exact bytes; malformed
 * base64 and both keys at once are refused.
 */
static void
test_bytes(void **state)
{
	static const char *bad[] = { "Y2Fm6S50eHQ", "Y2Fm6S50eHQ==", "Y2F=6S50",
	    "Y2Fm 6S50eHQ=", "Y2Fm6S50eHQ=\n", "=Y2F", "Y2Fm6S5*eHQ=" };
	json_t	*o;
	char	*out, *js;
	size_t	 n, i;

	(void)state;
	o = json_object();
	assert_int_equal(ll_msg_set_bytes(o, "name", "caf\xe9.txt"), 0);
	js = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(js, "{\"name_base64\":\"Y2Fm6S50eHQ=\"}");
	free(js);
	assert_int_equal(ll_msg_get_bytes(o, "name", &out, &n), 0);
	assert_int_equal(n, 8);
	assert_memory_equal(out, "caf\xe9.txt", 9);
	free(out);
	/* UTF-8 replaces it: never both keys */
	assert_int_equal(ll_msg_set_bytes(o, "name", "caf\xc3\xa9.txt"), 0);
	js = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(js, "{\"name\":\"caf\xc3\xa9.txt\"}");
	free(js);
	assert_int_equal(ll_msg_get_bytes(o, "name", &out, &n), 0);
	assert_string_equal(out, "caf\xc3\xa9.txt");
	free(out);
	assert_int_equal(ll_msg_get_bytes(o, "path", &out, &n),
	    LL_ERR_NOTFOUND);
	assert_null(out);
	json_object_set_new(o, "name_base64", json_string("YQ=="));
	assert_int_equal(ll_msg_get_bytes(o, "name", &out, &n), LL_ERR_FORMAT);
	json_object_del(o, "name");
	assert_int_equal(ll_msg_get_bytes(o, "name", &out, &n), 0);
	assert_string_equal(out, "a");
	free(out);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_object_set_new(o, "name_base64", json_string(bad[i]));
		if (ll_msg_get_bytes(o, "name", &out, &n) != LL_ERR_FORMAT)
			fail_msg("\"%s\" was accepted as base64", bad[i]);
		assert_null(out);
	}
	/* a newline, a NUL in the decoded bytes: carried, length says so */
	json_object_set_new(o, "name_base64", json_string("YQpiAGM="));
	assert_int_equal(ll_msg_get_bytes(o, "name", &out, &n), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(out, "a\nb\0c", 5);
	free(out);
	json_object_set_new(o, "name_base64", json_integer(1));
	assert_int_equal(ll_msg_get_bytes(o, "name", &out, &n), LL_ERR_FORMAT);
	json_decref(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_kinds),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_short_every_split),
		cmocka_unit_test(test_peek_partial_data),
		cmocka_unit_test(test_toobig_early),
		cmocka_unit_test(test_encode_refusals),
		cmocka_unit_test(test_bad_records),
		cmocka_unit_test(test_error_helpers),
		cmocka_unit_test(test_hello),
		cmocka_unit_test(test_property),
		cmocka_unit_test(test_bytes),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
