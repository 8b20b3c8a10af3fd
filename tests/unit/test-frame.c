/*
 * Unit tests for line frames (proto/frame.c): alphabets, radix coding edge
 * cases, seeded random round trips with every alphabet kind, the decoder's
 * handling of console text, terminators, resync, oversized lines, CRC and
 * epoch errors, probe frames, and golden vectors in tests/data/frame-*.bin
 * compared byte for byte.
 *
 * Set LL_GOLDEN_WRITE=1 to (re)write the golden files instead of comparing:
 * only when the wire format changes on purpose.
 */
#define _GNU_SOURCE	/* memmem */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <zlib.h>

#include "buf.h"
#include "error.h"
#include "frame.h"
#include "testutil.h"

#define SEED		0x1f4a3e5dU
#define RANDOM_FRAMES	1500
#define RAW_MAX		(LL_FRAME_HEADER_LEN + LL_FRAME_PAYLOAD_MAX + \
			    LL_FRAME_CRC_LEN)

static const struct ll_epochs ep1 = { 0x12345678, 0x9abcdef0 };
static const struct ll_epochs ep2 = { 0x12345678, 0x9abcdef1 };

static bool
is_never(uint8_t c)
{
	return c == 0x0a || c == 0x0d || c == 0x11 || c == 0x13 || c == '|';
}

/* Events collected from a decoder, text concatenated. */
struct events {
	int		 n, frames, bad, probes, texts;
	int		 kinds[64];
	int		 errors[64];
	uint8_t		 probe_id;
	uint8_t		 text[16384];
	size_t		 text_len;
	uint8_t		 probe[LL_FRAME_WIRE_MAX];
	size_t		 probe_len;
	struct ll_frame	*frame;		/* the last frame */
};

static void
events_add(struct events *e, const struct ll_frame_event *ev)
{
	if (e->n < 64) {
		e->kinds[e->n] = ev->kind;
		e->errors[e->n] = ev->kind == LL_FEV_BAD ? ev->error : 0;
	}
	e->n++;
	switch (ev->kind) {
	case LL_FEV_FRAME:
		e->frames++;
		memcpy(e->frame, &ev->frame, sizeof *e->frame);
		break;
	case LL_FEV_TEXT:
		e->texts++;
		assert_true(ev->text_len > 0);
		assert_true(ev->text_len <= LL_CONSOLE_LINE_MAX);
		assert_true(e->text_len + ev->text_len <= sizeof e->text);
		memcpy(e->text + e->text_len, ev->text, ev->text_len);
		e->text_len += ev->text_len;
		break;
	case LL_FEV_PROBE:
		e->probes++;
		e->probe_id = ev->probe_id;
		memcpy(e->probe, ev->text, ev->text_len);
		e->probe_len = ev->text_len;
		break;
	case LL_FEV_BAD:
		e->bad++;
		break;
	default:
		fail();
	}
}

static struct events *
events_new(void)
{
	struct events	*e = calloc(1, sizeof *e);

	assert_non_null(e);
	e->frame = calloc(1, sizeof *e->frame);
	assert_non_null(e->frame);
	return e;
}

static void
events_free(struct events *e)
{
	free(e->frame);
	free(e);
}

/* Feed p[0..n) in pieces of at most chunk bytes, collecting events. */
static void
feed(struct ll_frame_decoder *d, const uint8_t *p, size_t n, size_t chunk,
    struct events *e)
{
	struct ll_frame_event	*ev = malloc(sizeof *ev);
	size_t			 off = 0, piece, used;
	enum ll_frame_event_kind k;

	assert_non_null(ev);
	while (off < n) {
		piece = n - off < chunk ? n - off : chunk;
		for (;;) {
			k = ll_frame_decoder_feed(d, p + off, piece, &used, ev);
			assert_true(used <= piece);
			assert_int_equal(k, ev->kind);
			off += used;
			piece -= used;
			if (k == LL_FEV_NONE) {
				assert_int_equal(piece, 0);
				break;
			}
			events_add(e, ev);
		}
	}
	free(ev);
}

static void
flush(struct ll_frame_decoder *d, struct events *e)
{
	struct ll_frame_event	*ev = malloc(sizeof *ev);

	assert_non_null(ev);
	if (ll_frame_decoder_flush(d, ev) != LL_FEV_NONE)
		events_add(e, ev);
	free(ev);
}

static struct ll_frame *
frame_new(uint8_t type, uint8_t dir, uint8_t stream, uint16_t seq,
    uint16_t ack, const void *payload, uint16_t len)
{
	struct ll_frame	*f = calloc(1, sizeof *f);

	assert_non_null(f);
	f->type = type;
	f->dir = dir;
	f->stream = stream;
	f->seq = seq;
	f->ack = ack;
	f->len = len;
	if (len > 0)
		memcpy(f->payload, payload, len);
	return f;
}

static void
assert_frame_equal(const struct ll_frame *a, const struct ll_frame *b)
{
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->dir, b->dir);
	assert_int_equal(a->stream, b->stream);
	assert_int_equal(a->seq, b->seq);
	assert_int_equal(a->ack, b->ack);
	assert_int_equal(a->len, b->len);
	if (a->len > 0)
		assert_memory_equal(a->payload, b->payload, a->len);
}

/*
 * Check a wire frame: marker, tag, body of alphabet symbols only, one LF,
 * and none of the forbidden bytes inside.
 */
static void
check_wire(const uint8_t *w, size_t n, const struct ll_alphabet *a,
    uint8_t tag, size_t raw_len)
{
	size_t	i;

	assert_int_equal(n, 3 + ll_radix_coded_len(a, raw_len));
	assert_true(n <= LL_FRAME_WIRE_MAX);
	assert_int_equal(w[0], '|');
	assert_int_equal(w[1], tag);
	assert_int_equal(w[n - 1], '\n');
	for (i = 2; i < n - 1; i++) {
		assert_false(is_never(w[i]));
		assert_true(a->val[w[i]] >= 0);
	}
}

static void
random_set(uint32_t *seed, struct ll_alphabet *a)
{
	uint8_t	bm[32];
	int	i;

	do {
		for (i = 0; i < 32; i++)
			bm[i] = (uint8_t)(rnd(seed) | rnd(seed));
	} while (ll_alphabet_init_set(a, bm) != 0);
}

/* R^d >= 256^n, checked with a naive base-256 bignum. */
static bool
pow_ge(unsigned int r, unsigned int d, unsigned int n)
{
	uint8_t		x[300];		/* little-endian base 256 */
	unsigned int	i, carry, t;

	memset(x, 0, sizeof x);
	x[0] = 1;
	while (d-- > 0) {
		for (carry = 0, i = 0; i < sizeof x; i++) {
			t = x[i] * r + carry;
			x[i] = t & 0xff;
			carry = t >> 8;
		}
	}
	for (i = sizeof x - 1; i > n; i--) {
		if (x[i] != 0)
			return true;
	}
	return x[n] != 0;	/* 256^n is 1 at index n */
}

static void
check_digits(const struct ll_alphabet *a)
{
	unsigned int	n;

	assert_int_equal(a->digits[0], 0);
	for (n = 1; n <= LL_RADIX_GROUP; n++) {
		assert_true(a->digits[n] > a->digits[n - 1]);
		assert_true(pow_ge(a->n, a->digits[n], n));
		assert_false(pow_ge(a->n, a->digits[n] - 1, n));
	}
}

static void
test_alphabets(void **state)
{
	struct ll_alphabet	a, b;
	uint8_t			bm[32], bm2[32];
	int			i, v;

	ll_alphabet_init_7bit(&a);
	assert_int_equal(a.n, 93);
	assert_int_equal(a.sym[0], 0x21);
	assert_int_equal(a.sym[92], 0x7e);
	assert_int_equal(a.val['|'], -1);
	assert_int_equal(a.val[' '], -1);
	assert_int_equal(a.digits[1], 2);
	assert_int_equal(a.digits[4], 5);
	assert_int_equal(a.digits[128], 157);
	check_digits(&a);

	ll_alphabet_init_8bit(&a);
	assert_int_equal(a.n, 251);
	for (v = 0; v < 256; v++)
		assert_true((a.val[v] < 0) == is_never(v));
	for (i = 1; i < a.n; i++)
		assert_true(a.sym[i] > a.sym[i - 1]);
	assert_int_equal(a.digits[128], 129);
	check_digits(&a);

	/* 0x40..0x7f less '|' is 63 symbols: too few. */
	memset(bm, 0, sizeof bm);
	for (v = 0x40; v < 0x80; v++)
		bm[v / 8] |= 1 << (v % 8);
	assert_int_equal(ll_alphabet_init_set(&a, bm), LL_ERR_INVAL);
	/* Plus 0x80 (and LF, which never counts) makes R = 64 = 2^6. */
	bm[0x80 / 8] |= 1;
	bm[0x0a / 8] |= 1 << (0x0a % 8);
	assert_int_equal(ll_alphabet_init_set(&a, bm), 0);
	assert_int_equal(a.n, 64);
	assert_int_equal(a.val[0x0a], -1);
	assert_int_equal(a.digits[3], 4);	/* 64^4 == 256^3 exactly */
	assert_int_equal(a.digits[128], 171);
	check_digits(&a);
	ll_alphabet_to_bitmap(&a, bm2);
	bm[0x0a / 8] &= ~(1 << (0x0a % 8));
	bm['|' / 8] &= ~(1 << ('|' % 8));
	assert_memory_equal(bm, bm2, 32);
	assert_int_equal(ll_alphabet_init_set(&b, bm2), 0);
	assert_memory_equal(&a, &b, sizeof a);

	/* Every byte set yields the 8-bit alphabet. */
	memset(bm, 0xff, sizeof bm);
	assert_int_equal(ll_alphabet_init_set(&a, bm), 0);
	ll_alphabet_init_8bit(&b);
	assert_memory_equal(&a, &b, sizeof a);
}

static void
roundtrip(const struct ll_alphabet *a, const uint8_t *p, size_t n)
{
	struct ll_buf	c, o;

	ll_buf_init(&c, 16384);
	ll_buf_init(&o, 16384);
	assert_int_equal(ll_radix_encode(a, p, n, &c), 0);
	assert_int_equal(ll_buf_avail(&c), ll_radix_coded_len(a, n));
	assert_int_equal(ll_radix_decode(a, ll_buf_ptr(&c), ll_buf_avail(&c),
	    &o), 0);
	assert_int_equal(ll_buf_avail(&o), n);
	if (n > 0)
		assert_memory_equal(ll_buf_ptr(&o), p, n);
	ll_buf_cleanup(&c);
	ll_buf_cleanup(&o);
}

static void
test_radix_edges(void **state)
{
	struct ll_alphabet	 al[3], *a;
	struct ll_buf		 c, o;
	uint8_t			 p[2 * LL_RADIX_GROUP], s[4 * LL_RADIX_GROUP], bm[32];
	uint32_t		 seed = SEED;
	size_t			 n, r, k, i;
	int			 ai;

	ll_alphabet_init_7bit(&al[0]);
	ll_alphabet_init_8bit(&al[1]);
	memset(bm, 0, sizeof bm);
	memset(bm + 8, 0xff, 16);		/* 0x40..0xbf */
	assert_int_equal(ll_alphabet_init_set(&al[2], bm), 0);
	assert_int_equal(al[2].n, 127);

	ll_buf_init(&c, 4096);
	ll_buf_init(&o, 4096);
	for (ai = 0; ai < 3; ai++) {
		a = &al[ai];
		for (n = 1; n <= 2 * LL_RADIX_GROUP; n++) {
			memset(p, 0, n);
			roundtrip(a, p, n);
			memset(p, 0xff, n);
			roundtrip(a, p, n);
			for (i = 0; i < n; i++)
				p[i] = (uint8_t)rnd(&seed);
			roundtrip(a, p, n);
		}
		roundtrip(a, p, 0);

		/* An all-zero group is all sym[0]. */
		memset(p, 0, LL_RADIX_GROUP);
		ll_buf_reset(&c);
		assert_int_equal(ll_radix_encode(a, p, LL_RADIX_GROUP, &c), 0);
		for (i = 0; i < ll_buf_avail(&c); i++)
			assert_int_equal(ll_buf_ptr(&c)[i], a->sym[0]);

		/* Symbol counts no byte count codes to (zero-valued digits). */
		memset(s, a->sym[0], sizeof s);
		for (r = 1; r < a->digits[LL_RADIX_GROUP]; r++) {
			bool valid = false;

			for (k = 1; k < LL_RADIX_GROUP; k++)
				valid |= a->digits[k] == r;
			ll_buf_reset(&o);
			assert_int_equal(ll_radix_decode(a, s, r, &o),
			    valid ? 0 : LL_ERR_FORMAT);
			assert_int_equal(ll_radix_decode(a, s,
			    a->digits[LL_RADIX_GROUP] + r, &o),
			    valid ? 0 : LL_ERR_FORMAT);
		}

		/* All-max digits overflow n bytes unless R^d == 256^n. */
		memset(s, a->sym[a->n - 1], sizeof s);
		for (n = 1; n <= LL_RADIX_GROUP; n++) {
			ll_buf_reset(&o);
			assert_int_equal(ll_radix_decode(a, s, a->digits[n],
			    &o), LL_ERR_FORMAT);
			assert_int_equal(ll_buf_avail(&o), 0);
		}
		/* A bad symbol anywhere; a failed decode appends nothing. */
		ll_buf_reset(&c);
		for (i = 0; i < sizeof p; i++)
			p[i] = (uint8_t)rnd(&seed);
		assert_int_equal(ll_radix_encode(a, p, sizeof p, &c), 0);
		memcpy(s, ll_buf_ptr(&c), ll_buf_avail(&c));
		for (i = 0; i < ll_buf_avail(&c); i++) {
			uint8_t	save = s[i];

			s[i] = i % 2 ? '|' : '\n';
			ll_buf_reset(&o);
			assert_int_equal(ll_radix_decode(a, s, ll_buf_avail(&c),
			    &o), LL_ERR_FORMAT);
			assert_int_equal(ll_buf_avail(&o), 0);
			s[i] = save;
		}
	}

	/* Worked example: 0xff in A7 is 2*93 + 69: "#f". */
	a = &al[0];
	p[0] = 0xff;
	ll_buf_reset(&c);
	assert_int_equal(ll_radix_encode(a, p, 1, &c), 0);
	assert_int_equal(ll_buf_avail(&c), 2);
	assert_int_equal(ll_buf_ptr(&c)[0], a->sym[2]);
	assert_int_equal(ll_buf_ptr(&c)[1], a->sym[69]);
	assert_memory_equal(ll_buf_ptr(&c), "#f", 2);
	/* 256 = 2*93 + 70 does not fit a byte. */
	s[0] = a->sym[2];
	s[1] = a->sym[70];
	ll_buf_reset(&o);
	assert_int_equal(ll_radix_decode(a, s, 2, &o), LL_ERR_FORMAT);
	/* 64^4 == 256^3: all-max digits decode to ff ff ff in R = 64. */
	memset(bm, 0, sizeof bm);
	memset(bm + 8, 0xff, 8);	/* 0x40..0x7f less '|' */
	bm[0x80 / 8] |= 1;
	assert_int_equal(ll_alphabet_init_set(&al[2], bm), 0);
	assert_int_equal(al[2].n, 64);
	memset(s, al[2].sym[63], 4);
	ll_buf_reset(&o);
	assert_int_equal(ll_radix_decode(&al[2], s, 4, &o), 0);
	assert_memory_equal(ll_buf_ptr(&o), "\xff\xff\xff", 3);

	/* The output cap is honoured and leaves out unchanged. */
	ll_buf_cleanup(&o);
	ll_buf_init(&o, 10);
	ll_buf_reset(&c);
	assert_int_equal(ll_radix_encode(a, p, 11, &c), 0);
	assert_int_equal(ll_radix_decode(a, ll_buf_ptr(&c), ll_buf_avail(&c),
	    &o), LL_ERR_TOOBIG);
	assert_int_equal(ll_buf_avail(&o), 0);
	ll_buf_cleanup(&c);
	ll_buf_cleanup(&o);
}

static void
test_roundtrip_random(void **state)
{
	struct ll_frame_decoder	*d = malloc(sizeof *d);
	struct ll_alphabet	 a7, a8, as;
	struct ll_frame		*f = calloc(1, sizeof *f);
	struct events		*e;
	struct ll_buf		 out;
	const struct ll_alphabet *a;
	uint32_t		 seed = SEED;
	uint8_t			 tag;
	size_t			 i;
	int			 k, kind;

	print_message("# random frames seed 0x%08x\n", seed);
	assert_non_null(d);
	assert_non_null(f);
	ll_alphabet_init_7bit(&a7);
	ll_alphabet_init_8bit(&a8);
	ll_buf_init(&out, 2 * LL_FRAME_WIRE_MAX);
	for (k = 0; k < RANDOM_FRAMES; k++) {
		kind = k % 3;
		if (kind == 2 && k % 30 == 2)
			random_set(&seed, &as);
		a = kind == 0 ? &a7 : kind == 1 ? &a8 : &as;
		tag = kind == 0 ? LL_FRAME_TAG_7BIT : LL_FRAME_TAG_8BIT;
		f->type = rnd(&seed) % 16;
		f->dir = rnd(&seed) % 2;
		f->stream = rnd(&seed) % 16;
		f->seq = (uint16_t)rnd(&seed);
		f->ack = (uint16_t)rnd(&seed);
		switch (rnd(&seed) % 4) {
		case 0:
			f->len = 0;
			break;
		case 1:
			f->len = LL_FRAME_PAYLOAD_MAX;
			break;
		default:
			f->len = rnd(&seed) % (LL_FRAME_PAYLOAD_MAX + 1);
			break;
		}
		for (i = 0; i < f->len; i++)
			f->payload[i] = (uint8_t)rnd(&seed);
		/* Worst case for the coding: every byte 0xff. */
		if (k % 50 == 7)
			memset(f->payload, 0xff, f->len);

		ll_buf_reset(&out);
		assert_int_equal(ll_frame_encode(f, a, tag, &ep1, &out), 0);
		check_wire(ll_buf_ptr(&out), ll_buf_avail(&out), a, tag,
		    f->len + 12);

		ll_frame_decoder_init(d);
		ll_frame_decoder_set_epochs(d, &ep1);
		if (kind != 0)
			ll_frame_decoder_set_alphabet(d, a);
		e = events_new();
		feed(d, ll_buf_ptr(&out), ll_buf_avail(&out),
		    1 + rnd(&seed) % 5000, e);
		assert_int_equal(e->n, 1);
		assert_int_equal(e->frames, 1);
		assert_frame_equal(f, e->frame);
		assert_int_equal(d->stats.frames, 1);
		events_free(e);
		ll_frame_decoder_cleanup(d);
	}
	ll_buf_cleanup(&out);
	free(f);
	free(d);
}

static void
test_encode_invalid(void **state)
{
	struct ll_alphabet	 a;
	struct ll_frame		*f = frame_new(LL_FT_DATA, 0, 1, 0, 0, "x", 1);
	struct ll_buf		 out;

	ll_alphabet_init_7bit(&a);
	ll_buf_init(&out, 8192);
	f->type = 16;
	assert_int_equal(ll_frame_encode(f, &a, '7', &ep1, &out),
	    LL_ERR_INVAL);
	f->type = LL_FT_DATA;
	f->stream = 16;
	assert_int_equal(ll_frame_encode(f, &a, '7', &ep1, &out),
	    LL_ERR_INVAL);
	f->stream = 0;
	f->dir = 2;
	assert_int_equal(ll_frame_encode(f, &a, '7', &ep1, &out),
	    LL_ERR_INVAL);
	f->dir = 1;
	f->len = LL_FRAME_PAYLOAD_MAX + 1;
	assert_int_equal(ll_frame_encode(f, &a, '7', &ep1, &out),
	    LL_ERR_INVAL);
	f->len = 1;
	assert_int_equal(ll_frame_encode(f, &a, 'x', &ep1, &out),
	    LL_ERR_INVAL);
	assert_int_equal(ll_buf_avail(&out), 0);
	ll_buf_cleanup(&out);
	/* An output buffer too small for the line gets nothing. */
	ll_buf_init(&out, 10);
	assert_int_equal(ll_frame_encode(f, &a, '7', &ep1, &out),
	    LL_ERR_TOOBIG);
	assert_int_equal(ll_buf_avail(&out), 0);
	ll_buf_cleanup(&out);
	free(f);
}

/* Encode one frame into out with A7 and ep1. */
static void
put_frame(struct ll_buf *out, uint8_t type, uint16_t seq, const char *pl)
{
	struct ll_alphabet	 a;
	struct ll_frame		*f = frame_new(type, 0, 1, seq, 0, pl,
	    (uint16_t)strlen(pl));

	ll_alphabet_init_7bit(&a);
	assert_int_equal(ll_frame_encode(f, &a, '7', &ep1, out), 0);
	free(f);
}

static struct ll_frame_decoder *
decoder_new(void)
{
	struct ll_frame_decoder	*d = malloc(sizeof *d);

	assert_non_null(d);
	ll_frame_decoder_init(d);
	ll_frame_decoder_set_epochs(d, &ep1);
	return d;
}

static void
decoder_free(struct ll_frame_decoder *d)
{
	ll_frame_decoder_cleanup(d);
	free(d);
}

static void
test_decoder_text(void **state)
{
	struct ll_frame_decoder	*d = decoder_new();
	struct events		*e = events_new();
	struct ll_buf		 w;
	size_t			 chunk;

	ll_buf_init(&w, 65536);
	ll_buf_put(&w, "boot: hello\nworld", 17);
	put_frame(&w, LL_FT_DATA, 1, "abc");
	ll_buf_put(&w, "more", 4);

	/* Any split gives the same events; flush hands up the tail. */
	for (chunk = 1; chunk <= ll_buf_avail(&w); chunk++) {
		memset(e, 0, offsetof(struct events, frame));
		feed(d, ll_buf_ptr(&w), ll_buf_avail(&w), chunk, e);
		assert_int_equal(e->frames, 1);
		assert_int_equal(e->texts, 2);
		assert_int_equal(e->kinds[0], LL_FEV_TEXT);
		assert_int_equal(e->kinds[1], LL_FEV_TEXT);
		assert_int_equal(e->kinds[2], LL_FEV_FRAME);
		assert_int_equal(e->frame->seq, 1);
		assert_memory_equal(e->frame->payload, "abc", 3);
		flush(d, e);
		assert_int_equal(e->texts, 3);
		assert_int_equal(e->text_len, 21);
		assert_memory_equal(e->text, "boot: hello\nworldmore", 21);
		flush(d, e);
		assert_int_equal(e->texts, 3);
	}
	assert_int_equal(d->stats.text_bytes, 21 * ll_buf_avail(&w));
	assert_int_equal(d->stats.frames, ll_buf_avail(&w));

	/* Text is cut at LL_CONSOLE_LINE_MAX. */
	memset(e, 0, offsetof(struct events, frame));
	ll_buf_reset(&w);
	while (ll_buf_avail(&w) < 2000)
		ll_buf_put_u8(&w, 'a');
	feed(d, ll_buf_ptr(&w), 2000, 7, e);
	assert_int_equal(e->texts, 1);
	assert_int_equal(e->text_len, LL_CONSOLE_LINE_MAX);
	flush(d, e);
	assert_int_equal(e->texts, 2);
	assert_int_equal(e->text_len, 2000);

	/* '|' followed by no tag is console text, reported as bad. */
	memset(e, 0, offsetof(struct events, frame));
	feed(d, (const uint8_t *)"ls | wc\n||\n", 11, 3, e);
	assert_int_equal(e->bad, 3);
	assert_int_equal(e->frames, 0);
	assert_int_equal(e->text_len, 11);
	assert_memory_equal(e->text, "ls | wc\n||\n", 11);
	ll_buf_cleanup(&w);
	events_free(e);
	decoder_free(d);
}

/*
 * A kernel message printed into the middle of a frame: with or without a
 * line end of its own before it, at every cut point, the frame is rebuilt
 * from its head and tail and the message is handed up as text; a text line
 * that is not the tail never makes a frame.
 */
static void
test_decoder_splice(void **state)
{
	static const char *const msgs[] = {
		"\r\n[   12.345678] usb 1-1: new high-speed USB device\r\n",
		"[   12.345678] EXT4-fs (sda3): mounted filesystem\r\n",
	};
	struct ll_frame_decoder	*d = decoder_new();
	struct events		*e = events_new();
	struct ll_buf		 f, w;
	size_t			 cut, m, flen;

	ll_buf_init(&f, 65536);
	ll_buf_init(&w, 65536);
	put_frame(&f, LL_FT_DATA, 7, "the payload of a frame that is cut");
	flen = ll_buf_avail(&f);
	for (m = 0; m < 2; m++) {
		/* After marker and tag, before the final LF. */
		for (cut = 2; cut < flen - 1; cut++) {
			ll_buf_reset(&w);
			ll_buf_put(&w, ll_buf_ptr(&f), cut);
			ll_buf_put(&w, msgs[m], strlen(msgs[m]));
			ll_buf_put(&w, ll_buf_ptr(&f) + cut, flen - cut);
			put_frame(&w, LL_FT_DATA, 8, "next");
			memset(e, 0, offsetof(struct events, frame));
			feed(d, ll_buf_ptr(&w), ll_buf_avail(&w), 5, e);
			if (e->frames != 2)
				print_message("# msg %zu cut %zu\n", m, cut);
			assert_int_equal(e->frames, 2);
			assert_int_equal(e->frame->seq, 8);
			assert_non_null(memmem(e->text, e->text_len,
			    "12.345678]", 10));
		}
	}
	assert_true(d->stats.spliced >= 2 * (flen - 3));

	/* A failed frame followed by unrelated lines stays lost. */
	ll_buf_reset(&w);
	ll_buf_put(&w, ll_buf_ptr(&f), flen / 2);
	ll_buf_put(&w, "\nhello\nworld\nagain\n", 19);
	memset(e, 0, offsetof(struct events, frame));
	feed(d, ll_buf_ptr(&w), ll_buf_avail(&w), 3, e);
	assert_int_equal(e->frames, 0);
	assert_int_equal(e->bad, 1);

	/* A frame of another session never comes back by splicing. */
	ll_buf_reset(&w);
	ll_buf_put(&w, ll_buf_ptr(&f), flen / 2);
	ll_buf_put(&w, msgs[0], strlen(msgs[0]));
	ll_buf_put(&w, ll_buf_ptr(&f) + flen / 2, flen - flen / 2);
	ll_frame_decoder_set_epochs(d, &ep2);
	memset(e, 0, offsetof(struct events, frame));
	feed(d, ll_buf_ptr(&w), ll_buf_avail(&w), 3, e);
	assert_int_equal(e->frames, 0);
	ll_buf_cleanup(&f);
	ll_buf_cleanup(&w);
	events_free(e);
	decoder_free(d);
	(void)state;
}

static void
test_decoder_terminators(void **state)
{
	struct ll_frame_decoder	*d = decoder_new();
	struct events		*e = events_new();
	struct ll_buf		 w, x;
	size_t			 i, n;

	ll_buf_init(&w, 65536);
	ll_buf_init(&x, 65536);
	put_frame(&w, LL_FT_DATA, 1, "one");
	n = ll_buf_avail(&w);
	/* LF, CR, CRLF, LFCR, CRCRLF endings; blank lines are nothing. */
	ll_buf_put(&x, ll_buf_ptr(&w), n);
	ll_buf_put(&x, ll_buf_ptr(&w), n - 1);
	ll_buf_put(&x, "\r", 1);
	ll_buf_put(&x, ll_buf_ptr(&w), n - 1);
	ll_buf_put(&x, "\r\n", 2);
	ll_buf_put(&x, ll_buf_ptr(&w), n);
	ll_buf_put(&x, "\r", 1);
	ll_buf_put(&x, ll_buf_ptr(&w), n - 1);
	ll_buf_put(&x, "\r\r\n\n", 4);
	ll_buf_put(&x, "text\r\n", 6);
	for (i = 1; i < 40; i += 13) {
		memset(e, 0, offsetof(struct events, frame));
		feed(d, ll_buf_ptr(&x), ll_buf_avail(&x), i, e);
		flush(d, e);
		assert_int_equal(e->frames, 5);
		assert_int_equal(e->bad, 0);
		assert_int_equal(e->text_len, 6);
		assert_memory_equal(e->text, "text\r\n", 6);
	}
	ll_buf_cleanup(&w);
	ll_buf_cleanup(&x);
	events_free(e);
	decoder_free(d);
}

static void
test_decoder_resync(void **state)
{
	struct ll_frame_decoder	*d = decoder_new();
	struct events		*e = events_new();
	struct ll_buf		 w, x;
	size_t			 n, i;

	ll_buf_init(&w, 65536);
	ll_buf_init(&x, 65536);
	put_frame(&w, LL_FT_DATA, 7, "seven");
	n = ll_buf_avail(&w);

	/* A cut frame followed by a whole one: the marker restarts. */
	ll_buf_put(&x, ll_buf_ptr(&w), n / 2);
	ll_buf_put(&x, ll_buf_ptr(&w), n);
	feed(d, ll_buf_ptr(&x), ll_buf_avail(&x), 1, e);
	assert_int_equal(e->n, 2);
	assert_int_equal(e->kinds[0], LL_FEV_BAD);
	assert_int_equal(e->errors[0], LL_ERR_FORMAT);
	assert_int_equal(e->kinds[1], LL_FEV_FRAME);
	assert_int_equal(e->frame->seq, 7);
	assert_int_equal(d->stats.format_errors, 1);

	/* An oversized line, ended by LF, then by a marker. */
	ll_buf_reset(&x);
	ll_buf_put(&x, "|7", 2);
	for (i = 0; i < LL_FRAME_WIRE_MAX + 100; i++)
		ll_buf_put_u8(&x, 'A');
	ll_buf_put(&x, "\n", 1);
	ll_buf_put(&x, "|8", 2);
	for (i = 0; i < 3 * LL_FRAME_WIRE_MAX; i++)
		ll_buf_put_u8(&x, 'B');
	ll_buf_put(&x, ll_buf_ptr(&w), n);
	memset(e, 0, offsetof(struct events, frame));
	feed(d, ll_buf_ptr(&x), ll_buf_avail(&x), 999, e);
	assert_int_equal(e->n, 3);
	assert_int_equal(e->kinds[0], LL_FEV_BAD);
	assert_int_equal(e->errors[0], LL_ERR_TOOBIG);
	assert_int_equal(e->kinds[1], LL_FEV_BAD);
	assert_int_equal(e->errors[1], LL_ERR_TOOBIG);
	assert_int_equal(e->kinds[2], LL_FEV_FRAME);
	assert_int_equal(d->stats.oversized, 2);
	assert_int_equal(e->text_len, 0);

	/*
	 * A line of exactly LL_FRAME_WIRE_MAX bytes is not oversized (cut by
	 * a marker: a format error); one byte more is.
	 */
	for (n = LL_FRAME_WIRE_MAX - 3; n <= LL_FRAME_WIRE_MAX - 2; n++) {
		ll_buf_reset(&x);
		ll_buf_put(&x, "|7", 2);
		for (i = 0; i < n; i++)
			ll_buf_put_u8(&x, '!');
		ll_buf_put(&x, "|", 1);
		memset(e, 0, offsetof(struct events, frame));
		feed(d, ll_buf_ptr(&x), ll_buf_avail(&x), 4096, e);
		assert_int_equal(e->n, 1);
		assert_int_equal(e->errors[0], n == LL_FRAME_WIRE_MAX - 3 ?
		    LL_ERR_FORMAT : LL_ERR_TOOBIG);
		/* End the frame the marker started. */
		feed(d, (const uint8_t *)"7\n", 2, 2, e);
		assert_int_equal(e->n, 2);
	}
	n = ll_buf_avail(&w);

	/* Tag 8 with no alphabet set; empty and short bodies. */
	ll_buf_reset(&x);
	ll_buf_put(&x, ll_buf_ptr(&w), n);
	x.d[1] = '8';
	ll_buf_put(&x, "|7\n|7!!\n", 8);
	memset(e, 0, offsetof(struct events, frame));
	feed(d, ll_buf_ptr(&x), ll_buf_avail(&x), 4096, e);
	assert_int_equal(e->n, 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(e->kinds[i], LL_FEV_BAD);
		assert_int_equal(e->errors[i], LL_ERR_FORMAT);
	}
	ll_buf_cleanup(&w);
	ll_buf_cleanup(&x);
	events_free(e);
	decoder_free(d);
}

/* Code raw (header || payload || crc) as a '7' line into out. */
static void
line_from_raw(const uint8_t *raw, size_t n, struct ll_buf *out)
{
	struct ll_alphabet	a;

	ll_alphabet_init_7bit(&a);
	ll_buf_reset(out);
	ll_buf_put(out, "|7", 2);
	assert_int_equal(ll_radix_encode(&a, raw, n, out), 0);
	ll_buf_put(out, "\n", 1);
}

/* Decode one line, expect exactly one event, return its kind or error. */
static int
decode_one(struct ll_frame_decoder *d, const struct ll_buf *line)
{
	struct events	*e = events_new();
	int		 r;

	feed(d, ll_buf_ptr(line), ll_buf_avail(line), 65536, e);
	assert_int_equal(e->n, 1);
	r = e->kinds[0] == LL_FEV_BAD ? e->errors[0] : 0;
	events_free(e);
	return r;
}

static void
test_decoder_crc(void **state)
{
	struct ll_frame_decoder	*d = decoder_new();
	struct ll_alphabet	 a;
	struct ll_buf		 w, line, raw;
	struct events		*e;
	uint8_t			 r[64];
	uint32_t		 crc;
	size_t			 n, i, bit;
	int			 t;
	static const uint8_t	 unbound[] = {
		LL_FT_HELLO, LL_FT_HELLO_ACK, LL_FT_RESET,
	};

	ll_alphabet_init_7bit(&a);
	ll_buf_init(&w, 65536);
	ll_buf_init(&line, 65536);
	ll_buf_init(&raw, 65536);
	put_frame(&w, LL_FT_DATA, 3, "payload bytes");
	assert_int_equal(ll_radix_decode(&a, ll_buf_ptr(&w) + 2,
	    ll_buf_avail(&w) - 3, &raw), 0);
	n = ll_buf_avail(&raw);
	assert_int_equal(n, 12 + 13);
	memcpy(r, ll_buf_ptr(&raw), n);
	line_from_raw(r, n, &line);
	assert_int_equal(decode_one(d, &line), 0);

	/* Every single-bit error in header, payload or CRC is caught. */
	for (bit = 0; bit < 8 * n; bit++) {
		r[bit / 8] ^= 1 << (bit % 8);
		line_from_raw(r, n, &line);
		assert_int_equal(decode_one(d, &line), LL_ERR_CRC);
		r[bit / 8] ^= 1 << (bit % 8);
	}
	assert_int_equal(d->stats.crc_errors, 8 * n);

	/* Every bit flip on the wire: never a frame accepted. */
	for (bit = 0; bit < 8 * ll_buf_avail(&w); bit++) {
		ll_buf_reset(&line);
		ll_buf_put(&line, ll_buf_ptr(&w), ll_buf_avail(&w));
		line.d[bit / 8] ^= 1 << (bit % 8);
		e = events_new();
		/* An LF ends the line even when the flip hit the LF. */
		ll_buf_put(&line, "\n", 1);
		feed(d, ll_buf_ptr(&line), ll_buf_avail(&line), 65536, e);
		flush(d, e);
		assert_int_equal(e->frames, 0);
		assert_true(e->n >= 1);
		events_free(e);
	}

	/* Another session's epochs fail the CRC. */
	ll_frame_decoder_set_epochs(d, &ep2);
	assert_int_equal(decode_one(d, &w), LL_ERR_CRC);
	ll_frame_decoder_set_epochs(d, &ep1);

	/* Unbound types use zero epochs whatever the decoder holds. */
	for (t = 0; t < 3; t++) {
		struct ll_frame	*f = frame_new(unbound[t], 1, 0, 0, 0,
		    "hi", 2);

		ll_buf_reset(&line);
		assert_int_equal(ll_frame_encode(f, &a, '7', &ep1, &line), 0);
		ll_frame_decoder_set_epochs(d, &ep2);
		assert_int_equal(decode_one(d, &line), 0);
		ll_buf_reset(&line);
		assert_int_equal(ll_frame_encode(f, &a, '7', NULL, &line), 0);
		assert_int_equal(decode_one(d, &line), 0);
		free(f);
	}
	ll_frame_decoder_set_epochs(d, &ep1);
	assert_true(ll_frame_type_is_unbound(LL_FT_HELLO));
	assert_false(ll_frame_type_is_unbound(LL_FT_DATA));
	assert_false(ll_frame_type_is_unbound(LL_FT_ACK));

	/* With a valid CRC: wrong version, stream high bits, bad len. */
	for (t = 0; t < 4; t++) {
		memcpy(r, ll_buf_ptr(&raw), n);
		if (t == 0)
			r[0] = (r[0] & 0x1f) | 2 << 5;
		else if (t == 1)
			r[0] = (r[0] & 0x1f);
		else if (t == 2)
			r[1] |= 0x10;
		else
			r[7]++;
		crc = (uint32_t)crc32(0, (const uint8_t *)
		    "\x12\x34\x56\x78\x9a\xbc\xde\xf0", 8);
		crc = (uint32_t)crc32(crc, r, (unsigned int)n - 4);
		for (i = 0; i < 4; i++)
			r[n - 4 + i] = crc >> (24 - 8 * i);
		line_from_raw(r, n, &line);
		assert_int_equal(decode_one(d, &line),
		    t < 2 ? LL_ERR_VERSION : LL_ERR_FORMAT);
	}
	ll_buf_cleanup(&w);
	ll_buf_cleanup(&line);
	ll_buf_cleanup(&raw);
	decoder_free(d);
}

static void
test_probe(void **state)
{
	struct ll_frame_decoder	*d = decoder_new();
	struct events		*e = events_new();
	struct ll_buf		 w;
	uint8_t			 raw[256];
	size_t			 n = 0;
	int			 v;

	for (v = 0; v < 256; v++) {
		if (v != '\n' && v != '\r' && v != '|')
			raw[n++] = (uint8_t)v;
	}
	ll_buf_init(&w, 65536);
	assert_int_equal(ll_frame_encode_probe(0, raw, n, &w), LL_ERR_INVAL);
	assert_int_equal(ll_frame_encode_probe(10, raw, n, &w), LL_ERR_INVAL);
	assert_int_equal(ll_frame_encode_probe(1, (const uint8_t *)"a\nb", 3,
	    &w), LL_ERR_INVAL);
	assert_int_equal(ll_frame_encode_probe(1, (const uint8_t *)"a|b", 3,
	    &w), LL_ERR_INVAL);
	assert_int_equal(ll_buf_avail(&w), 0);
	assert_int_equal(ll_frame_encode_probe(3, raw, n, &w), 0);
	assert_int_equal(ll_buf_avail(&w), n + 4);
	assert_memory_equal(ll_buf_ptr(&w), "|p3\x00\x01", 5);
	assert_int_equal(ll_buf_ptr(&w)[n + 3], '\n');

	feed(d, ll_buf_ptr(&w), ll_buf_avail(&w), 5, e);
	assert_int_equal(e->n, 1);
	assert_int_equal(e->probes, 1);
	assert_int_equal(e->probe_id, 3);
	assert_int_equal(e->probe_len, n);
	assert_memory_equal(e->probe, raw, n);

	/* Bad probe ids, an empty probe, a cut probe. */
	memset(e, 0, offsetof(struct events, frame));
	feed(d, (const uint8_t *)"|p0abc\n|p\n|p9\n|p5ab|pZ", 23, 2, e);
	assert_int_equal(e->n, 4);
	assert_int_equal(e->kinds[0], LL_FEV_BAD);
	assert_int_equal(e->kinds[1], LL_FEV_BAD);
	assert_int_equal(e->kinds[2], LL_FEV_PROBE);
	assert_int_equal(e->probe_len, 0);
	assert_int_equal(e->kinds[3], LL_FEV_BAD);
	ll_buf_cleanup(&w);
	events_free(e);
	decoder_free(d);
}

/* The golden frames: docs/protocol.md ("Line frames", 7. Test vectors)
 * lists the same fields. */
struct golden {
	const char		*file;
	uint8_t			 type, dir, stream;
	uint16_t		 seq, ack, len;
	int			 alphabet;	/* 7, 8, or 'p' for a probe */
	const struct ll_epochs	*ep;
};

static const struct golden goldens[] = {
	{ "frame-hello-a7.bin", LL_FT_HELLO, 0, 0, 0, 0, 4, 7, NULL },
	{ "frame-data-a7.bin", LL_FT_DATA, 0, 1, 5, 3, 5, 7, &ep1 },
	{ "frame-data-a8.bin", LL_FT_DATA, 1, 1, 0x1234, 0xfffe, 300, 8,
	    &ep1 },
	{ "frame-ack-a7.bin", LL_FT_ACK, 1, 0, 0, 6, 0, 7, &ep1 },
	{ "frame-probe.bin", 0, 0, 0, 0, 0, 0, 'p', NULL },
};

static void
golden_payload(const struct golden *g, uint8_t *p)
{
	size_t	i;

	if (g->type == LL_FT_HELLO)
		memcpy(p, "\x12\x34\x56\x78", 4);
	else if (g->len == 5)
		memcpy(p, "hello", 5);
	else {
		for (i = 0; i < g->len; i++)
			p[i] = (uint8_t)i;
	}
}

static void
golden_path(const char *file, char *path, size_t size)
{
	const char	*top = getenv("top_srcdir");
	const char	*src = __FILE__, *at;
	int		 r;

	if (top != NULL)
		r = snprintf(path, size, "%s/tests/data/%s", top, file);
	else {
		/* __FILE__ is <top>/tests/unit/test-frame.c */
		at = strstr(src, "tests/unit/test-frame.c");
		assert_non_null(at);
		r = snprintf(path, size, "%.*stests/data/%s",
		    (int)(at - src), src, file);
	}
	assert_true(r > 0 && (size_t)r < size);
}

static void
test_golden(void **state)
{
	struct ll_frame_decoder	*d = decoder_new();
	struct ll_alphabet	 a7, a8;
	struct ll_frame		*f;
	struct events		*e;
	struct ll_buf		 w;
	const struct golden	*g;
	uint8_t			 pl[LL_FRAME_PAYLOAD_MAX], file[8192];
	static const uint8_t	 probe[] = {
		0x01, 0x02, 0x03, 0x11, 0x13, 0x7f, 0x80, 0xff,
	};
	size_t			 i, n;
	char			 path[4096];
	FILE			*fp;
	bool			 write = getenv("LL_GOLDEN_WRITE") != NULL;

	ll_alphabet_init_7bit(&a7);
	ll_alphabet_init_8bit(&a8);
	ll_frame_decoder_set_alphabet(d, &a8);
	ll_buf_init(&w, 65536);
	for (i = 0; i < sizeof goldens / sizeof goldens[0]; i++) {
		g = &goldens[i];
		ll_buf_reset(&w);
		if (g->alphabet == 'p') {
			assert_int_equal(ll_frame_encode_probe(1, probe,
			    sizeof probe, &w), 0);
		} else {
			golden_payload(g, pl);
			f = frame_new(g->type, g->dir, g->stream, g->seq,
			    g->ack, pl, g->len);
			assert_int_equal(ll_frame_encode(f,
			    g->alphabet == 7 ? &a7 : &a8,
			    g->alphabet == 7 ? '7' : '8', g->ep, &w), 0);
			/* It also decodes to the same fields. */
			e = events_new();
			feed(d, ll_buf_ptr(&w), ll_buf_avail(&w), 100, e);
			assert_int_equal(e->frames, 1);
			assert_frame_equal(f, e->frame);
			events_free(e);
			free(f);
		}
		golden_path(g->file, path, sizeof path);
		if (write) {
			fp = fopen(path, "wb");
			assert_non_null(fp);
			assert_int_equal(fwrite(ll_buf_ptr(&w), 1,
			    ll_buf_avail(&w), fp), ll_buf_avail(&w));
			assert_int_equal(fclose(fp), 0);
			print_message("# wrote %s\n", path);
		}
		fp = fopen(path, "rb");
		if (fp == NULL)
			print_message("# cannot open %s\n", path);
		assert_non_null(fp);
		n = fread(file, 1, sizeof file, fp);
		fclose(fp);
		assert_int_equal(n, ll_buf_avail(&w));
		assert_memory_equal(file, ll_buf_ptr(&w), n);
	}
	ll_buf_cleanup(&w);
	decoder_free(d);
}

/* Not a pass/fail test: prints the radix coding throughput. */
static void
test_throughput(void **state)
{
	struct ll_alphabet	 a;
	struct ll_buf		 c, o;
	uint8_t			*p;
	uint32_t		 seed = SEED;
	size_t			 n = 256 * 1024, i;
	clock_t			 t0, t1, t2;
	int			 k;

	p = malloc(n);
	assert_non_null(p);
	for (i = 0; i < n; i++)
		p[i] = (uint8_t)rnd(&seed);
	for (k = 0; k < 2; k++) {
		if (k == 0)
			ll_alphabet_init_7bit(&a);
		else
			ll_alphabet_init_8bit(&a);
		ll_buf_init(&c, 2 * n);
		ll_buf_init(&o, n);
		t0 = clock();
		assert_int_equal(ll_radix_encode(&a, p, n, &c), 0);
		t1 = clock();
		assert_int_equal(ll_radix_decode(&a, ll_buf_ptr(&c),
		    ll_buf_avail(&c), &o), 0);
		t2 = clock();
		assert_memory_equal(ll_buf_ptr(&o), p, n);
		print_message("# R=%u: encode %.1f MB/s, decode %.1f MB/s\n",
		    a.n, n / 1e6 / ((t1 - t0 + 1) / (double)CLOCKS_PER_SEC),
		    n / 1e6 / ((t2 - t1 + 1) / (double)CLOCKS_PER_SEC));
		ll_buf_cleanup(&c);
		ll_buf_cleanup(&o);
	}
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alphabets),
		cmocka_unit_test(test_radix_edges),
		cmocka_unit_test(test_roundtrip_random),
		cmocka_unit_test(test_encode_invalid),
		cmocka_unit_test(test_decoder_text),
		cmocka_unit_test(test_decoder_terminators),
		cmocka_unit_test(test_decoder_splice),
		cmocka_unit_test(test_decoder_resync),
		cmocka_unit_test(test_decoder_crc),
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_throughput),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
