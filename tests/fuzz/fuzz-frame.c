/*
 * libFuzzer target for the line-frame decoder and the radix coding.
 *
 * The input goes to a decoder (8-bit alphabet set, or a set alphabet taken
 * from the input's first 32 bytes when that is valid) in pieces whose sizes
 * come from a PRNG seeded by the input, with flushes in between, and every
 * event is checked against the decoder's contract.  The same bytes go
 * straight to ll_radix_decode() with both fixed alphabets; whatever decodes
 * must re-encode to exactly the input, since the coding is a bijection.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct ll_epochs fuzz_ep = { 0x12345678, 0x9abcdef0 };

static void
check_event(const struct ll_frame_event *ev, const struct ll_alphabet *a,
    struct ll_buf *out)
{
	switch (ev->kind) {
	case LL_FEV_TEXT:
		if (ev->text_len == 0 || ev->text_len > LL_CONSOLE_LINE_MAX)
			abort();
		break;
	case LL_FEV_PROBE:
		if (ev->probe_id < 1 || ev->probe_id > 9 ||
		    ev->text_len > LL_FRAME_WIRE_MAX)
			abort();
		if (memchr(ev->text, '\n', ev->text_len) != NULL ||
		    memchr(ev->text, '|', ev->text_len) != NULL)
			abort();
		break;
	case LL_FEV_FRAME:
		if (ev->frame.len > LL_FRAME_PAYLOAD_MAX ||
		    ev->frame.type > 15 || ev->frame.stream > 15)
			abort();
		/* Whatever was accepted can be sent again. */
		ll_buf_reset(out);
		if (ll_frame_encode(&ev->frame, a, LL_FRAME_TAG_8BIT, &fuzz_ep,
		    out) != 0)
			abort();
		break;
	case LL_FEV_BAD:
		if (ev->error >= 0)
			abort();
		break;
	default:
		abort();
	}
}

static void
radix_check(const struct ll_alphabet *a, const uint8_t *data, size_t size,
    struct ll_buf *dec, struct ll_buf *enc)
{
	ll_buf_reset(dec);
	ll_buf_reset(enc);
	if (ll_radix_decode(a, data, size, dec) != 0) {
		if (ll_buf_avail(dec) != 0)
			abort();
		return;
	}
	if (ll_radix_encode(a, ll_buf_ptr(dec), ll_buf_avail(dec), enc) != 0)
		abort();
	if (ll_buf_avail(enc) != size ||
	    (size > 0 && memcmp(ll_buf_ptr(enc), data, size) != 0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ll_frame_decoder	*d;
	struct ll_frame_event	*ev;
	struct ll_alphabet	 a;
	struct ll_buf		 out, dec;
	uint32_t		 seed = 0x9e3779b9;
	size_t			 off = 0, piece, used, i;

	d = malloc(sizeof *d);
	ev = malloc(sizeof *ev);
	if (d == NULL || ev == NULL)
		abort();
	for (i = 0; i < size && i < 8; i++)
		seed = seed * 31 + data[i];
	if (size < 32 || ll_alphabet_init_set(&a, data) != 0)
		ll_alphabet_init_8bit(&a);

	ll_frame_decoder_init(d);
	ll_frame_decoder_set_epochs(d, &fuzz_ep);
	ll_frame_decoder_set_alphabet(d, &a);
	ll_buf_init(&out, 2 * LL_FRAME_WIRE_MAX);
	while (off < size) {
		seed = seed * 1103515245 + 12345;
		piece = (seed >> 16) % 8 == 0 ? (seed >> 8) % 4096 :
		    1 + (seed >> 16) % 32;
		if (piece > size - off)
			piece = size - off;
		while (piece > 0) {
			if (ll_frame_decoder_feed(d, data + off, piece, &used,
			    ev) == LL_FEV_NONE) {
				if (used != piece)
					abort();
			} else
				check_event(ev, &a, &out);
			if (used > piece)
				abort();
			off += used;
			piece -= used;
		}
		if ((seed >> 24) % 16 == 0 &&
		    ll_frame_decoder_flush(d, ev) != LL_FEV_NONE)
			check_event(ev, &a, &out);
	}
	if (ll_frame_decoder_flush(d, ev) != LL_FEV_NONE)
		check_event(ev, &a, &out);
	ll_frame_decoder_cleanup(d);

	ll_buf_init(&dec, 2 * 8192);
	ll_alphabet_init_7bit(&a);
	radix_check(&a, data, size, &dec, &out);
	ll_alphabet_init_8bit(&a);
	radix_check(&a, data, size, &dec, &out);
	ll_buf_cleanup(&dec);
	ll_buf_cleanup(&out);
	free(ev);
	free(d);
	return 0;
}
