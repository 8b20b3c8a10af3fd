/*
 * Line frames and their radix coding.
 *
 * Encoding: header || payload || CRC-32 is cut into groups of LL_RADIX_GROUP
 * bytes; each group, read as a big-endian integer, is written as exactly
 * d(n) base-R digits (d(n) = least d with R^d >= 256^n, tabulated at
 * alphabet init with exact integer arithmetic).  The group value is held as
 * little-endian 32-bit limbs; encoding divides it by R^4 (which always fits
 * in 32 bits because R <= 256 - 5) to peel four digits per pass, and
 * decoding multiplies by R^4 and adds four digits per pass.  Alphabets never
 * hold LF, CR, XON, XOFF or the marker, so the body is safe on a line.
 *
 * Decoding: a byte-at-a-time state machine.  Outside frames, bytes collect
 * as console text.  A marker always starts a new frame (abandoning any
 * partial one); CR or LF ends it; its body is kept in a fixed line buffer
 * and decoded in one go at the terminator into a scratch buffer allocated
 * once.  Each call returns at most one event, so the caller loops.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "buf.h"
#include "error.h"
#include "frame.h"

/* Enough 32-bit limbs for a group value times R (n + 1 bytes, rounded). */
#define RADIX_LIMBS		(LL_RADIX_GROUP / 4 + 2)
/* Limbs for R^d(LL_RADIX_GROUP) during alphabet init (R >= 64). */
#define RADIX_POW_LIMBS		(LL_RADIX_GROUP / 4 + 2)
#define ALPHABET_MIN		64
/* Text lines after a failed frame within which its tail may still come. */
#define SPLICE_LINES		4
/* The longest message text that may sit at the end of a split frame's head. */
#define SPLICE_TEXT_MAX		256
#define FRAME_RAW_MAX \
	(LL_FRAME_HEADER_LEN + LL_FRAME_PAYLOAD_MAX + LL_FRAME_CRC_LEN)
/* Body symbols that fit in a line: MARKER TAG BODY LF. */
#define FRAME_BODY_MAX		(LL_FRAME_WIRE_MAX - 3)
/* Raw probe bytes that fit: MARKER 'p' ID RAW LF. */
#define PROBE_RAW_MAX		(LL_FRAME_WIRE_MAX - 4)

enum {
	ST_TEXT = 0,	/* console text */
	ST_TAG,		/* after a marker */
	ST_BODY,	/* in a coded frame */
	ST_PROBE_ID,	/* after "|p" */
	ST_PROBE,	/* raw probe bytes */
	ST_SKIP,	/* overflowed line: drop to the next terminator */
	ST_EOL,		/* just ended a frame line: swallow CR/LF */
};

static const uint8_t alphabet_never[] = LL_ALPHABET_NEVER;

static bool
is_never(unsigned int v)
{
	size_t	i;

	for (i = 0; i < sizeof alphabet_never; i++) {
		if (alphabet_never[i] == v)
			return true;
	}
	return false;
}

static bool
is_terminator(uint8_t c)
{
	return c == '\n' || c == '\r';
}

/*
 * Fill val[] and digits[] from sym[0..n).  d(k) is the least d with
 * R^d >= 2^(8k), i.e. the least d whose R^d has its top bit at index >= 8k;
 * R^d is built exactly in limbs.
 */
static void
alphabet_finish(struct ll_alphabet *a)
{
	uint32_t	pw[RADIX_POW_LIMBS];
	size_t		nl = 1, j, k = 1, top;
	uint64_t	cur, carry;
	unsigned int	d, i;

	for (i = 0; i < 256; i++)
		a->val[i] = -1;
	for (i = 0; i < a->n; i++)
		a->val[a->sym[i]] = (int16_t)i;

	memset(pw, 0, sizeof pw);
	pw[0] = 1;
	a->digits[0] = 0;
	for (d = 1; k <= LL_RADIX_GROUP && nl < RADIX_POW_LIMBS; d++) {
		carry = 0;
		for (j = 0; j < nl; j++) {
			cur = (uint64_t)pw[j] * a->n + carry;
			pw[j] = (uint32_t)cur;
			carry = cur >> 32;
		}
		if (carry != 0)
			pw[nl++] = (uint32_t)carry;
		top = (nl - 1) * 32;
		for (cur = pw[nl - 1]; cur > 1; cur >>= 1)
			top++;
		while (k <= LL_RADIX_GROUP && top >= 8 * k)
			a->digits[k++] = (uint16_t)d;
	}
}

void
ll_alphabet_init_7bit(struct ll_alphabet *a)
{
	unsigned int	v;

	memset(a, 0, sizeof *a);
	for (v = 0x21; v <= 0x7e; v++) {
		if (!is_never(v))
			a->sym[a->n++] = (uint8_t)v;
	}
	alphabet_finish(a);
}

void
ll_alphabet_init_8bit(struct ll_alphabet *a)
{
	unsigned int	v;

	memset(a, 0, sizeof *a);
	for (v = 0; v < 256; v++) {
		if (!is_never(v))
			a->sym[a->n++] = (uint8_t)v;
	}
	alphabet_finish(a);
}

int
ll_alphabet_init_set(struct ll_alphabet *a, const uint8_t bitmap[32])
{
	unsigned int	v, n = 0;

	for (v = 0; v < 256; v++) {
		if ((bitmap[v / 8] >> (v % 8) & 1) && !is_never(v))
			n++;
	}
	if (n < ALPHABET_MIN)
		return LL_ERR_INVAL;
	memset(a, 0, sizeof *a);
	for (v = 0; v < 256; v++) {
		if ((bitmap[v / 8] >> (v % 8) & 1) && !is_never(v))
			a->sym[a->n++] = (uint8_t)v;
	}
	alphabet_finish(a);
	return 0;
}

void
ll_alphabet_to_bitmap(const struct ll_alphabet *a, uint8_t bitmap[32])
{
	unsigned int	i;

	memset(bitmap, 0, 32);
	for (i = 0; i < a->n; i++)
		bitmap[a->sym[i] / 8] |= 1U << (a->sym[i] % 8);
}

size_t
ll_radix_coded_len(const struct ll_alphabet *a, size_t n)
{
	return (n / LL_RADIX_GROUP) * a->digits[LL_RADIX_GROUP] +
	    a->digits[n % LL_RADIX_GROUP];
}

static uint64_t
radix_pow(unsigned int r, unsigned int k)
{
	uint64_t	p = 1;

	while (k-- > 0)
		p *= r;
	return p;
}

/* Write the d(n) digits of the n-byte group p to s, most significant first. */
static void
radix_encode_group(const struct ll_alphabet *a, const uint8_t *p, size_t n,
    uint8_t *s)
{
	uint32_t	x[RADIX_LIMBS];
	uint64_t	r4 = radix_pow(a->n, 4), cur, rem;
	size_t		nl = (n + 3) / 4, i, j, pos = a->digits[n];
	unsigned int	k;

	memset(x, 0, sizeof x);
	for (i = 0; i < n; i++)
		x[(n - 1 - i) / 4] |= (uint32_t)p[i] << (8 * ((n - 1 - i) % 4));

	while (pos > 0) {
		while (nl > 0 && x[nl - 1] == 0)
			nl--;
		if (nl == 0) {
			/* The rest of the digits are leading zeros. */
			memset(s, a->sym[0], pos);
			break;
		}
		rem = 0;
		for (j = nl; j-- > 0;) {
			cur = rem << 32 | x[j];
			x[j] = (uint32_t)(cur / r4);
			rem = cur % r4;
		}
		for (k = 0; k < 4 && pos > 0; k++) {
			s[--pos] = a->sym[rem % a->n];
			rem /= a->n;
		}
	}
}

int
ll_radix_encode(const struct ll_alphabet *a, const uint8_t *p, size_t n,
    struct ll_buf *out)
{
	size_t	 clen, g;
	uint8_t	*s;
	int	 r;

	if (n == 0)
		return 0;
	/* The coded length must not wrap: d(group) < 2 * LL_RADIX_GROUP. */
	if (n / LL_RADIX_GROUP > SIZE_MAX / (2 * LL_RADIX_GROUP))
		return LL_ERR_TOOBIG;
	clen = ll_radix_coded_len(a, n);
	if ((r = ll_buf_reserve(out, clen, &s)) != 0)
		return r;
	while (n > 0) {
		g = n < LL_RADIX_GROUP ? n : LL_RADIX_GROUP;
		radix_encode_group(a, p, g, s);
		s += a->digits[g];
		p += g;
		n -= g;
	}
	return ll_buf_commit(out, clen);
}

/* Decode the d(n) symbols at s into the n bytes at p. */
static int
radix_decode_group(const struct ll_alphabet *a, const uint8_t *s, size_t n,
    uint8_t *p)
{
	uint32_t	x[RADIX_LIMBS];
	uint64_t	mul, add, cur, carry;
	size_t		d = a->digits[n], i = 0, j, nl = 1, top;
	unsigned int	c;
	int		v;

	memset(x, 0, sizeof x);
	while (i < d) {
		/* The first pass takes d % 4 digits; the rest come in fours. */
		c = (d - i) % 4 == 0 ? 4 : (d - i) % 4;
		mul = radix_pow(a->n, c);
		for (add = 0; c > 0; c--, i++) {
			if ((v = a->val[s[i]]) < 0)
				return LL_ERR_FORMAT;
			add = add * a->n + (unsigned int)v;
		}
		carry = add;
		for (j = 0; j < nl; j++) {
			cur = (uint64_t)x[j] * mul + carry;
			x[j] = (uint32_t)cur;
			carry = cur >> 32;
		}
		if (carry != 0) {
			if (nl == RADIX_LIMBS)
				return LL_ERR_FORMAT;
			x[nl++] = (uint32_t)carry;
		}
	}
	/* The value must fit in n bytes: nothing at bit 8n or above. */
	top = n / 4;
	if (top < RADIX_LIMBS && (n % 4) != 0 && (x[top] >> (8 * (n % 4))) != 0)
		return LL_ERR_FORMAT;
	for (j = (n + 3) / 4; j < nl; j++) {
		if (x[j] != 0)
			return LL_ERR_FORMAT;
	}
	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(x[(n - 1 - i) / 4] >> (8 * ((n - 1 - i) % 4)));
	return 0;
}

int
ll_radix_decode(const struct ll_alphabet *a, const uint8_t *s, size_t n,
    struct ll_buf *out)
{
	size_t	 dg = a->digits[LL_RADIX_GROUP], q, rest;
	size_t	 tail = 0, len, g, gn;
	uint8_t	*p;
	int	 r;

	if (dg == 0)		/* not an initialised alphabet */
		return LL_ERR_INVAL;
	q = n / dg;
	rest = n % dg;
	if (rest != 0) {
		/* d() is strictly increasing: at most one tail length fits. */
		for (tail = 1; tail < LL_RADIX_GROUP; tail++) {
			if (a->digits[tail] >= rest)
				break;
		}
		if (tail == LL_RADIX_GROUP || a->digits[tail] != rest)
			return LL_ERR_FORMAT;
	}
	len = q * LL_RADIX_GROUP + tail;
	if (len == 0)
		return 0;
	if ((r = ll_buf_reserve(out, len, &p)) != 0)
		return r;
	/* Write into reserved space; commit only when every group is valid. */
	for (g = 0; g < len; g += LL_RADIX_GROUP) {
		gn = len - g < LL_RADIX_GROUP ? len - g : LL_RADIX_GROUP;
		if ((r = radix_decode_group(a, s, gn, p + g)) != 0)
			return r;
		s += a->digits[gn];
	}
	return ll_buf_commit(out, len);
}

bool
ll_frame_type_is_unbound(uint8_t type)
{
	return type == LL_FT_HELLO || type == LL_FT_HELLO_ACK ||
	    type == LL_FT_RESET;
}

static uint32_t
frame_crc(uint8_t type, const struct ll_epochs *ep, const uint8_t *p,
    size_t n)
{
	uint8_t		e[8] = { 0 };
	uint32_t	c, ae;
	uLong		crc;

	if (!ll_frame_type_is_unbound(type) && ep != NULL) {
		c = ep->client;
		ae = ep->agent;
		ll_poke_u32(e, c);
		ll_poke_u32(e + 4, ae);
	}
	crc = crc32(0L, Z_NULL, 0);
	crc = crc32(crc, e, sizeof e);
	crc = crc32(crc, p, (uInt)n);
	return (uint32_t)crc;
}

int
ll_frame_encode(const struct ll_frame *f, const struct ll_alphabet *a,
    uint8_t tag, const struct ll_epochs *ep, struct ll_buf *out)
{
	uint8_t		raw[FRAME_RAW_MAX], *w;
	uint32_t	crc;
	size_t		n, clen, g, gn;
	int		r;

	if (f->type > 15 || f->dir > 1 || f->stream > 15 ||
	    f->len > LL_FRAME_PAYLOAD_MAX ||
	    (tag != LL_FRAME_TAG_7BIT && tag != LL_FRAME_TAG_8BIT))
		return LL_ERR_INVAL;
	raw[0] = (uint8_t)(LL_PROTO_VERSION << 5 | f->dir << 4 | f->type);
	raw[1] = f->stream;
	ll_poke_u16(raw + 2, f->seq);
	ll_poke_u16(raw + 4, f->ack);
	ll_poke_u16(raw + 6, f->len);
	memcpy(raw + LL_FRAME_HEADER_LEN, f->payload, f->len);
	n = LL_FRAME_HEADER_LEN + f->len;
	crc = frame_crc(f->type, ep, raw, n);
	ll_poke_u32(raw + n, crc);
	n += 4;

	clen = ll_radix_coded_len(a, n);
	if (clen > FRAME_BODY_MAX)
		return LL_ERR_TOOBIG;
	/* Reserve the whole line first so a failure appends nothing. */
	if ((r = ll_buf_reserve(out, clen + 3, &w)) != 0)
		return r;
	w[0] = LL_FRAME_MARKER;
	w[1] = tag;
	for (g = 0; g < n; g += LL_RADIX_GROUP) {
		gn = n - g < LL_RADIX_GROUP ? n - g : LL_RADIX_GROUP;
		radix_encode_group(a, raw + g, gn, w + 2);
		w += a->digits[gn];
	}
	w[2] = '\n';
	return ll_buf_commit(out, clen + 3);
}

int
ll_frame_encode_probe(uint8_t id, const uint8_t *raw, size_t n,
    struct ll_buf *out)
{
	uint8_t	*w;
	size_t	 i;
	int	 r;

	if (id < 1 || id > 9)
		return LL_ERR_INVAL;
	if (n > PROBE_RAW_MAX)
		return LL_ERR_TOOBIG;
	for (i = 0; i < n; i++) {
		if (is_terminator(raw[i]) || raw[i] == LL_FRAME_MARKER)
			return LL_ERR_INVAL;
	}
	if ((r = ll_buf_reserve(out, n + 4, &w)) != 0)
		return r;
	w[0] = LL_FRAME_MARKER;
	w[1] = LL_FRAME_TAG_PROBE;
	w[2] = (uint8_t)('0' + id);
	if (n > 0)
		memcpy(w + 3, raw, n);
	w[n + 3] = '\n';
	return ll_buf_commit(out, n + 4);
}

void
ll_frame_decoder_init(struct ll_frame_decoder *d)
{
	memset(d, 0, sizeof *d);
	ll_alphabet_init_7bit(&d->a7);
	d->state = ST_TEXT;
	ll_buf_init(&d->scratch, FRAME_RAW_MAX);
}

void
ll_frame_decoder_cleanup(struct ll_frame_decoder *d)
{
	ll_buf_cleanup(&d->scratch);
}

void
ll_frame_decoder_set_epochs(struct ll_frame_decoder *d,
    const struct ll_epochs *ep)
{
	d->ep = *ep;
}

void
ll_frame_decoder_set_alphabet(struct ll_frame_decoder *d,
    const struct ll_alphabet *a8)
{
	if (a8 == NULL) {
		d->have_a8 = false;
		return;
	}
	d->a8 = *a8;
	d->have_a8 = true;
}

static enum ll_frame_event_kind
ev_bad(struct ll_frame_decoder *d, struct ll_frame_event *ev, int error)
{
	if (error == LL_ERR_CRC)
		d->stats.crc_errors++;
	else if (error == LL_ERR_TOOBIG)
		d->stats.oversized++;
	else
		d->stats.format_errors++;
	ev->kind = LL_FEV_BAD;
	ev->error = error;
	return LL_FEV_BAD;
}

static enum ll_frame_event_kind
ev_text(struct ll_frame_decoder *d, struct ll_frame_event *ev)
{
	ev->kind = LL_FEV_TEXT;
	ev->text = d->text;
	ev->text_len = d->text_len;
	d->stats.text_bytes += d->text_len;
	d->text_len = 0;
	return LL_FEV_TEXT;
}

/* Decode the body line[0..len) of a frame tagged tag into f. */
static int
frame_parse(struct ll_frame_decoder *d, uint8_t tag, const uint8_t *line,
    size_t len, struct ll_frame *f)
{
	const struct ll_alphabet	*a;
	const uint8_t			*p;
	size_t				 n;
	uint32_t			 crc;
	int				 r;

	if (tag == LL_FRAME_TAG_8BIT && !d->have_a8)
		return LL_ERR_FORMAT;
	a = tag == LL_FRAME_TAG_8BIT ? &d->a8 : &d->a7;
	ll_buf_reset(&d->scratch);
	if ((r = ll_radix_decode(a, line, len, &d->scratch)) != 0)
		return r;
	p = ll_buf_ptr(&d->scratch);
	n = ll_buf_avail(&d->scratch);
	if (n < LL_FRAME_HEADER_LEN + LL_FRAME_CRC_LEN)
		return LL_ERR_FORMAT;
	n -= LL_FRAME_CRC_LEN;
	crc = ll_peek_u32(p + n);
	/* CRC before any field: line noise is by far the likeliest fault. */
	if (frame_crc(p[0] & 0x0f, &d->ep, p, n) != crc)
		return LL_ERR_CRC;
	if ((p[0] >> 5) != LL_PROTO_VERSION)
		return LL_ERR_VERSION;
	if ((p[1] & 0xf0) != 0)
		return LL_ERR_FORMAT;
	f->type = p[0] & 0x0f;
	f->dir = (p[0] >> 4) & 1;
	f->stream = p[1];
	f->seq = ll_peek_u16(p + 2);
	f->ack = ll_peek_u16(p + 4);
	f->len = ll_peek_u16(p + 6);
	if (f->len != n - LL_FRAME_HEADER_LEN)
		return LL_ERR_FORMAT;
	memcpy(f->payload, p + LL_FRAME_HEADER_LEN, f->len);
	return 0;
}

/*
 * Decode the finished body in d->line into ev.  A body that fails is kept
 * as the head of a possibly split frame (see decoder_splice).
 */
static enum ll_frame_event_kind
frame_finish(struct ll_frame_decoder *d, struct ll_frame_event *ev)
{
	int r;

	if ((r = frame_parse(d, d->tag, d->line, d->line_len,
	    &ev->frame)) != 0) {
		if (r == LL_ERR_CRC || r == LL_ERR_FORMAT) {
			memcpy(d->held, d->line, d->line_len);
			d->held_len = d->line_len;
			d->held_tag = d->tag;
			d->holding = true;
			d->held_lines = 0;
			d->cand_len = 0;
		}
		return ev_bad(d, ev, r);
	}
	d->holding = false;
	d->stats.frames++;
	ev->kind = LL_FEV_FRAME;
	return LL_FEV_FRAME;
}

/*
 * A kernel message printed into the console interrupts a frame at any
 * byte: the kernel writes "message CR LF" right into the frame, so the head
 * of the frame ends with the message's text at that CR, and the rest of the
 * frame arrives as a line of its own (a message that starts with its own
 * CR LF leaves the head clean).  When a frame has just failed and a later
 * text line consists of symbols of its alphabet, try the head, cut before
 * each place the message may have started, with that line; the CRC (bound
 * to the session) decides.  Returns true with ev filled when a splice held.
 */
static bool
decoder_splice(struct ll_frame_decoder *d, struct ll_frame_event *ev)
{
	const struct ll_alphabet *a;
	size_t i, k, lo, hi;

	if (!d->holding || d->cand_len == 0)
		return false;
	if (d->held_tag == LL_FRAME_TAG_8BIT && !d->have_a8)
		return false;
	a = d->held_tag == LL_FRAME_TAG_8BIT ? &d->a8 : &d->a7;
	for (i = 0; i < d->cand_len; i++) {
		if (a->val[d->cand[i]] < 0)
			return false;
	}
	/* The head is frame symbols only up to where the message began. */
	for (hi = 0; hi < d->held_len && a->val[d->held[hi]] >= 0; hi++)
		;
	lo = d->held_len > SPLICE_TEXT_MAX ? d->held_len - SPLICE_TEXT_MAX : 0;
	memcpy(d->line, d->held, hi);
	for (k = hi + 1; k-- > lo;) {
		memcpy(d->line + k, d->cand, d->cand_len);
		if (frame_parse(d, d->held_tag, d->line, k + d->cand_len,
		    &ev->frame) != 0)
			continue;
		d->holding = false;
		d->stats.frames++;
		d->stats.spliced++;
		/* What interrupted the frame is console text, handed up next. */
		d->text_len = d->held_len - k < LL_CONSOLE_LINE_MAX - 1 ?
		    d->held_len - k : LL_CONSOLE_LINE_MAX - 1;
		memcpy(d->text, d->held + k, d->text_len);
		if (d->text_len > 0)
			d->text[d->text_len++] = '\n';
		ev->kind = LL_FEV_FRAME;
		return true;
	}
	return false;
}

/* End of a text line while a failed frame is held. */
static void
decoder_held_line(struct ll_frame_decoder *d)
{
	if (d->cand_len > 0 && ++d->held_lines >= SPLICE_LINES)
		d->holding = false;
	d->cand_len = 0;
}

/*
 * Take one byte.  Returns an event kind; *eat is false when the byte must be
 * offered again (it has not been consumed).
 */
static enum ll_frame_event_kind
decoder_byte(struct ll_frame_decoder *d, uint8_t c, bool *eat,
    struct ll_frame_event *ev)
{
	int	k;

	*eat = true;
	switch (d->state) {
	case ST_EOL:
		/* Swallow CR/LF; anything else is text, offered again. */
		if (!is_terminator(c)) {
			d->state = ST_TEXT;
			*eat = false;
		}
		return LL_FEV_NONE;
	case ST_TEXT:
		if (c == LL_FRAME_MARKER) {
			/* A new frame: the tail of a held one is not coming. */
			d->holding = false;
			d->state = ST_TAG;
			if (d->text_len > 0)
				return ev_text(d, ev);
			return LL_FEV_NONE;
		}
		if (d->holding && is_terminator(c)) {
			size_t pending = d->text_len;

			/* The "text" was the frame's tail, not text. */
			d->text_len = 0;
			if (decoder_splice(d, ev)) {
				d->cand_len = 0;
				d->state = ST_EOL;
				return LL_FEV_FRAME;
			}
			d->text_len = pending;
			decoder_held_line(d);
		} else if (d->holding) {
			if (d->held_len + d->cand_len < FRAME_BODY_MAX)
				d->cand[d->cand_len++] = c;
			else
				d->holding = false;
		}
		d->text[d->text_len++] = c;
		if (is_terminator(c) || d->text_len == LL_CONSOLE_LINE_MAX)
			return ev_text(d, ev);
		return LL_FEV_NONE;
	case ST_TAG:
		d->line_len = 0;
		d->tag = c;
		if (c == LL_FRAME_TAG_7BIT || c == LL_FRAME_TAG_8BIT) {
			d->state = ST_BODY;
			return LL_FEV_NONE;
		}
		if (c == LL_FRAME_TAG_PROBE) {
			d->state = ST_PROBE_ID;
			return LL_FEV_NONE;
		}
		/*
		 * Not a frame: give the marker back as console text and let
		 * this byte be read as text too (a shell pipe, say).
		 */
		d->state = ST_TEXT;
		d->text[d->text_len++] = LL_FRAME_MARKER;
		*eat = false;
		return ev_bad(d, ev, LL_ERR_FORMAT);
	case ST_BODY:
	case ST_PROBE_ID:
	case ST_PROBE:
		if (c == LL_FRAME_MARKER) {
			/* A new frame starts; the cut one is lost. */
			d->state = ST_TAG;
			return ev_bad(d, ev, LL_ERR_FORMAT);
		}
		if (is_terminator(c)) {
			k = d->state;
			d->state = ST_EOL;
			if (k == ST_BODY)
				return frame_finish(d, ev);
			if (k == ST_PROBE_ID)
				return ev_bad(d, ev, LL_ERR_FORMAT);
			ev->kind = LL_FEV_PROBE;
			ev->probe_id = d->tag;
			ev->text = d->line;
			ev->text_len = d->line_len;
			return LL_FEV_PROBE;
		}
		if (d->state == ST_PROBE_ID) {
			if (c < '1' || c > '9') {
				d->state = ST_SKIP;
				d->overflow = false;
				return LL_FEV_NONE;
			}
			d->tag = (uint8_t)(c - '0');
			d->state = ST_PROBE;
			return LL_FEV_NONE;
		}
		if (d->line_len == (d->state == ST_BODY ? FRAME_BODY_MAX :
		    PROBE_RAW_MAX)) {
			d->state = ST_SKIP;
			d->overflow = true;
			return LL_FEV_NONE;
		}
		d->line[d->line_len++] = c;
		return LL_FEV_NONE;
	case ST_SKIP:
		if (c == LL_FRAME_MARKER)
			d->state = ST_TAG;
		else if (is_terminator(c))
			d->state = ST_EOL;
		else
			return LL_FEV_NONE;
		return ev_bad(d, ev, d->overflow ? LL_ERR_TOOBIG :
		    LL_ERR_FORMAT);
	}
	return LL_FEV_NONE;
}

enum ll_frame_event_kind
ll_frame_decoder_feed(struct ll_frame_decoder *d, const uint8_t *p, size_t n,
    size_t *used, struct ll_frame_event *ev)
{
	enum ll_frame_event_kind	k;
	size_t				i = 0;
	bool				eat;

	ev->kind = LL_FEV_NONE;
	while (i < n) {
		k = decoder_byte(d, p[i], &eat, ev);
		if (eat)
			i++;
		if (k != LL_FEV_NONE) {
			*used = i;
			return k;
		}
	}
	*used = n;
	return LL_FEV_NONE;
}

enum ll_frame_event_kind
ll_frame_decoder_flush(struct ll_frame_decoder *d, struct ll_frame_event *ev)
{
	ev->kind = LL_FEV_NONE;
	if (d->text_len == 0)
		return LL_FEV_NONE;
	return ev_text(d, ev);
}
