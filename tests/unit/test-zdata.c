/*
 * Tests for ZDATA records (proto/zdata.c, decoded by proto/msg.c).
 *
 * The golden vector tests/data/msg-zdata.bin (docs/protocol.md, ZDATA) was
 * made by Python's zlib module (compressobj(6, DEFLATED, -15, 7)) and a
 * struct.pack of the header: it decodes to its DATA, and our encoder at the
 * same level gives the same bytes.  Then: data that does not shrink goes
 * as the plain DATA record and the channel backs off; every malformed ZDATA
 * body (bad length, truncated or trailing deflate, too much or too little
 * output, a "zip bomb") is LL_ERR_FORMAT, consumed, and the next record
 * decodes; and a randomized round trip of several MiB of mixed text and
 * random chunks through the encoder and the decoder is byte-exact.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "error.h"
#include "ll-limits.h"
#include "msg.h"
#include "golden.h"
#include "testutil.h"
#include "zdata.h"

#define BIG_BUF		(LL_MSG_HEADER_LEN + LL_MSG_MAX)
#define PROP_SEED	0x7a646174U	/* "zdat" */
#define PROP_BYTES	(6 * 1024 * 1024)

static const char jack[] = "All work and no play makes Jack a dull boy.\n";

/* jack four times: the vector's 176 bytes */
static void
jack4(char *out)
{
	out[0] = '\0';
	for (int i = 0; i < 4; i++)
		strcat(out, jack);
}

static void
test_golden(void **state)
{
	struct ll_zdata	*z;
	struct ll_buf	 b, in;
	struct ll_msg	 m;
	struct ll_zdata_stats st;
	char		 raw[200];
	uint8_t		*g;
	size_t		 n;

	(void)state;
	jack4(raw);
	assert_int_equal(strlen(raw), 176);
	g = read_golden("msg-zdata.bin", &n);
	assert_int_equal(n, 61);
	/* header: body 51 bytes, kind 9, channel 1 (stdout), id 7 */
	assert_int_equal(ll_peek_u32(g), 51);
	assert_int_equal(g[4], LL_MSG_ZDATA);
	assert_int_equal(g[5], LL_CH_STDOUT);
	assert_int_equal(ll_peek_u32(g + 6), 7);
	assert_int_equal(ll_peek_u32(g + 10), 176);

	/* It decodes to the DATA it stands for. */
	ll_buf_wrap(&in, g, n);
	assert_int_equal(ll_msg_get(&in, &m), 0);
	assert_int_equal(ll_buf_avail(&in), 0);
	assert_int_equal(m.kind, LL_MSG_DATA);
	assert_true(m.compressed);
	assert_int_equal(m.flags, LL_CH_STDOUT);
	assert_int_equal(m.id, 7);
	assert_int_equal(m.data_len, 176);
	assert_memory_equal(m.data, raw, 176);
	ll_msg_cleanup(&m);

	/* Our encoder at level 6 writes the same bytes. */
	ll_buf_init(&b, BIG_BUF);
	assert_non_null(z = ll_zdata_new(6));
	assert_int_equal(ll_zdata_put(z, &b, LL_CH_STDOUT, 7, raw, 176), 1);
	assert_int_equal(ll_buf_avail(&b), n);
	assert_memory_equal(ll_buf_ptr(&b), g, n);
	ll_zdata_stats(z, &st);
	assert_int_equal(st.zrecords, 1);
	assert_int_equal(st.zraw, 176);
	assert_int_equal(st.zwire, 61);
	assert_int_equal(st.precords, 0);
	ll_zdata_free(z);
	ll_buf_cleanup(&b);
	free(g);

	assert_int_equal(ll_zdata_level_for_rate(11520), 6);
	assert_int_equal(ll_zdata_level_for_rate(0), 1);
	assert_int_equal(ll_zdata_level_for_rate(12500000), 1);
	assert_null(ll_zdata_new(0));
	assert_null(ll_zdata_new(10));
	ll_zdata_free(NULL);
}

/*
 * Random bytes go as the very DATA record ll_msg_put_data makes; after a
 * miss the channel does not try again for 64 KiB, then 128 KiB; another
 * request's id, or another channel, starts afresh; short chunks are not
 * tried.
 */
static void
test_incompressible(void **state)
{
	struct ll_zdata	*z;
	struct ll_buf	 b, want;
	struct ll_zdata_stats st;
	static uint8_t	 rnd_data[LL_DATA_CHUNK_MAX];
	char		 text[200];
	uint32_t	 s = PROP_SEED;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(rnd_data); i++)
		rnd_data[i] = (uint8_t)rnd(&s);
	jack4(text);
	ll_buf_init(&b, BIG_BUF);
	ll_buf_init(&want, BIG_BUF);
	assert_non_null(z = ll_zdata_new(6));

	assert_int_equal(ll_zdata_put(z, &b, LL_CH_FILE, 3, rnd_data, 1000), 0);
	assert_int_equal(ll_msg_put_data(&want, LL_MSG_DATA, LL_CH_FILE, 3,
	    rnd_data, 1000), 0);
	assert_int_equal(ll_buf_avail(&b), ll_buf_avail(&want));
	assert_memory_equal(ll_buf_ptr(&b), ll_buf_ptr(&want),
	    ll_buf_avail(&b));
	ll_zdata_stats(z, &st);
	assert_int_equal(st.tried, 1);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.precords, 1);
	assert_int_equal(st.praw, 1000);

	/* Backed off: even text is not tried for the next 64 KiB. */
	assert_int_equal(ll_zdata_put(z, &b, LL_CH_FILE, 3, text, 176), 0);
	assert_int_equal(ll_zdata_put(z, &b, LL_CH_FILE, 3, rnd_data,
	    LL_DATA_CHUNK_MAX - 176), 0);
	ll_zdata_stats(z, &st);
	assert_int_equal(st.tried, 1);
	/* The skip is used up: tried again, missed, now 128 KiB. */
	assert_int_equal(ll_zdata_put(z, &b, LL_CH_FILE, 3, rnd_data,
	    LL_DATA_CHUNK_MAX), 0);
	assert_int_equal(ll_zdata_put(z, &b, LL_CH_FILE, 3, text, 176), 0);
	ll_zdata_stats(z, &st);
	assert_int_equal(st.tried, 2);
	assert_int_equal(st.misses, 2);

	/* Another channel, or a new request on this one, starts afresh. */
	assert_int_equal(ll_zdata_put(z, &b, LL_CH_STDOUT, 3, text, 176), 1);
	assert_int_equal(ll_zdata_put(z, &b, LL_CH_FILE, 4, text, 176), 1);
	/* Under LL_ZDATA_MIN bytes: plain, not tried. */
	assert_int_equal(ll_zdata_put(z, &b, LL_CH_FILE, 4, text, 63), 0);
	ll_zdata_stats(z, &st);
	assert_int_equal(st.tried, 4);
	assert_int_equal(st.zrecords, 2);

	/* Bad arguments append nothing. */
	i = ll_buf_avail(&b);
	assert_int_equal(ll_zdata_put(z, &b, 4, 3, text, 176), LL_ERR_INVAL);
	assert_int_equal(ll_zdata_put(z, &b, 1, 3, rnd_data,
	    LL_DATA_CHUNK_MAX + 1), LL_ERR_INVAL);
	assert_int_equal(ll_buf_avail(&b), i);

	ll_zdata_free(z);
	ll_buf_cleanup(&b);
	ll_buf_cleanup(&want);
}

/* Raw deflate of p (level 6) after a u32 raw_len into out; its size. */
static size_t
deflate_body(uint8_t *out, size_t cap, uint32_t raw_len, const void *p,
    size_t n)
{
	z_stream zs;

	memset(&zs, 0, sizeof(zs));
	assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, -15, 7,
	    Z_DEFAULT_STRATEGY), Z_OK);
	ll_poke_u32(out, raw_len);
	zs.next_in = (Bytef *)(uintptr_t)p;
	zs.avail_in = (uInt)n;
	zs.next_out = out + 4;
	zs.avail_out = (uInt)(cap - 4);
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	n = 4 + zs.total_out;
	deflateEnd(&zs);
	return n;
}

/* Every malformed ZDATA: LL_ERR_FORMAT, consumed, the next one decodes. */
static void
test_bad_zdata(void **state)
{
	static uint8_t	 zeros[1024 * 1024];
	uint8_t		 body[70000], good[300];
	char		 text[200];
	struct ll_buf	 b;
	struct ll_msg	 m;
	size_t		 n, gn;
	int		 i, r;

	(void)state;
	jack4(text);
	ll_buf_init(&b, BIG_BUF);
	gn = deflate_body(good, sizeof(good), 176, text, 176);
	for (i = 0; i < 10; i++) {
		uint8_t flags = LL_CH_STDOUT;

		memcpy(body, good, gn);
		n = gn;
		switch (i) {
		case 0:		/* raw_len 0 */
			ll_poke_u32(body, 0);
			break;
		case 1:		/* raw_len over the cap */
			ll_poke_u32(body, LL_DATA_CHUNK_MAX + 1);
			break;
		case 2:		/* says more than the stream holds */
			ll_poke_u32(body, 177);
			break;
		case 3:		/* says less: the output runs out of room */
			ll_poke_u32(body, 175);
			break;
		case 4:		/* truncated stream */
			n = gn - 3;
			break;
		case 5:		/* a byte after the final block */
			body[n++] = 0;
			break;
		case 6:		/* not deflate at all */
			memset(body + 4, 0xff, gn - 4);
			break;
		case 7:		/* shorter than the u32 and one byte */
			n = 4;
			break;
		case 8:		/* a channel that does not exist */
			flags = 4;
			break;
		case 9:		/* 1 MiB of zeros announced as 64 KiB */
			n = deflate_body(body, sizeof(body), LL_DATA_CHUNK_MAX,
			    zeros, sizeof(zeros));
			break;
		}
		put_raw(&b, (uint32_t)n, LL_MSG_ZDATA, flags, 3, body, n);
		assert_int_equal(ll_msg_put_data(&b, LL_MSG_DATA, 1, 4, "ok",
		    2), 0);
		if ((r = ll_msg_get(&b, &m)) != LL_ERR_FORMAT)
			fail_msg("bad ZDATA %d: got %d", i, r);
		assert_null(m.data);
		assert_int_equal(m.kind, LL_MSG_ZDATA);
		assert_int_equal(m.id, 3);
		assert_int_equal(ll_buf_avail(&b), LL_MSG_HEADER_LEN + 2);
		assert_int_equal(ll_msg_get(&b, &m), 0);
		assert_int_equal(m.id, 4);
		assert_false(m.compressed);
		ll_msg_cleanup(&m);
	}
	/* A body over the cap is refused from its header alone. */
	put_raw(&b, LL_DATA_CHUNK_MAX + 1, LL_MSG_ZDATA, 1, 3, zeros,
	    LL_DATA_CHUNK_MAX + 1);
	assert_int_equal(ll_msg_get(&b, &m), LL_ERR_TOOBIG);
	ll_buf_cleanup(&b);
}

/*
 * Several MiB of chunks of every size up to 64 KiB, text (with random
 * words) and random bytes mixed, on all channels: encoded one after the
 * other into one buffer and decoded, each comes back exact, in order,
 * as DATA, compressed exactly when the encoder said so.
 */
static void
test_property(void **state)
{
	static uint8_t	 src[LL_DATA_CHUNK_MAX];
	struct ll_zdata	*z;
	struct ll_buf	 b;
	struct ll_msg	 m;
	uint32_t	 s = PROP_SEED;
	size_t		 total = 0, n, i, ztotal = 0;
	int		 r;

	(void)state;
	print_message("# seed 0x%08x, %d bytes\n", PROP_SEED, PROP_BYTES);
	ll_buf_init(&b, BIG_BUF);
	assert_non_null(z = ll_zdata_new(1 + (int)(rnd(&s) % 9)));
	while (total < PROP_BYTES) {
		uint8_t ch = (uint8_t)(rnd(&s) % 4);
		uint32_t id = 1 + rnd(&s) % 3;
		bool text = rnd(&s) % 3 != 0;

		n = rnd(&s) % 4 == 0 ? rnd(&s) % 300 :
		    1 + rnd(&s) % LL_DATA_CHUNK_MAX;
		for (i = 0; i < n; i++) {
			if (!text)
				src[i] = (uint8_t)rnd(&s);
			else if (i % 45 < 40)
				src[i] = (uint8_t)jack[i % 44];
			else
				src[i] = (uint8_t)('a' + rnd(&s) % 26);
		}
		r = ll_zdata_put(z, &b, ch, id, src, n);
		assert_true(r == 0 || r == 1);
		assert_int_equal(ll_msg_get(&b, &m), 0);
		assert_int_equal(ll_buf_avail(&b), 0);
		ll_buf_reset(&b);
		assert_int_equal(m.kind, LL_MSG_DATA);
		assert_int_equal(m.flags, ch);
		assert_int_equal(m.id, id);
		assert_int_equal(m.compressed, r == 1);
		assert_int_equal(m.data_len, n);
		if (n > 0)
			assert_memory_equal(m.data, src, n);
		ll_msg_cleanup(&m);
		total += n;
		if (r == 1)
			ztotal += n;
	}
	/* both kinds of record were exercised */
	assert_true(ztotal > 0 && ztotal < total);
	ll_zdata_free(z);
	ll_buf_cleanup(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_incompressible),
		cmocka_unit_test(test_bad_zdata),
		cmocka_unit_test(test_property),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
