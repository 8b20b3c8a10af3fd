/*
 * Line frames: the unit the link layer puts on a byte path.
 *
 *   frame = MARKER TAG BODY LF
 *   MARKER = '|' (0x7C); TAG = '7' (safe printable alphabet) or '8'
 *   (negotiated alphabet); BODY = radix-coded (header || payload || crc32).
 *
 * The body is coded as base-R digits of the alphabet named by TAG, in groups
 * of LL_RADIX_GROUP bytes (see docs/protocol.md), so a frame never holds a raw
 * CR, LF, XON, XOFF or MARKER whatever the alphabet.  The CRC-32 (zlib) covers
 * the 8-byte session epoch pair, then header and payload; frames of type
 * HELLO, HELLO_ACK and RESET use an all-zero epoch pair.
 *
 * A probe frame "|p" ID RAW LF carries raw bytes (not coded, no CRC) so the
 * receiver can report which byte values survive the path.
 *
 * The decoder is a pure state machine: bytes in, events out.  Bytes outside
 * frames come back as console text; a marker always restarts framing, so a
 * cut or garbled frame costs at most that frame.  A frame split by a line of
 * console text (a kernel message printed in the middle of it) is rebuilt
 * when its tail follows within a few lines and the CRC of the whole holds.
 */
#ifndef LL_FRAME_H
#define LL_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "ll-limits.h"

#define LL_FRAME_MARKER		'|'
#define LL_FRAME_TAG_7BIT	'7'
#define LL_FRAME_TAG_8BIT	'8'
#define LL_FRAME_TAG_PROBE	'p'
#define LL_RADIX_GROUP		256	/* bytes per radix-coded group */

/* Frame types: numbered once, never reused (docs/protocol.md). */
enum ll_frame_type {
	LL_FT_HELLO = 0,	/* client -> agent: start a session */
	LL_FT_HELLO_ACK = 1,	/* agent -> client: session accepted */
	LL_FT_DATA = 2,		/* sequenced stream bytes */
	LL_FT_ACK = 3,		/* cumulative ack, SACK bitmap, credits; keepalive */
	LL_FT_PROBE_REPORT = 4,	/* which probe bytes arrived intact */
	LL_FT_SET_ALPHABET = 5,	/* switch the '8' alphabet to this set */
	LL_FT_ALPHABET_ACK = 6,	/* peer will accept and use that set */
	LL_FT_RESET = 7,	/* unknown session: start again with HELLO */
	LL_FT_CLOSE = 8,	/* orderly end of session */
};

enum ll_frame_dir {
	LL_DIR_TO_AGENT = 0,	/* sent by the client */
	LL_DIR_TO_CLIENT = 1,	/* sent by the agent */
};

/* Bytes never in any alphabet. */
#define LL_ALPHABET_NEVER { 0x0A, 0x0D, 0x11, 0x13, LL_FRAME_MARKER }

struct ll_alphabet {
	uint16_t n;		/* radix R, 2..256 */
	uint8_t sym[256];	/* digit value -> byte, ascending */
	int16_t val[256];	/* byte -> digit value, or -1 */
	uint16_t digits[LL_RADIX_GROUP + 1]; /* d(n): digits coding n bytes */
};

/* The safe alphabet: 0x21..0x7E without the marker (R = 93). */
void ll_alphabet_init_7bit(struct ll_alphabet *a);
/*
 * An alphabet of the byte values set in bitmap (bit v of byte v/8, LSB
 * first), minus LL_ALPHABET_NEVER.  LL_ERR_INVAL when fewer than 64 remain.
 */
int ll_alphabet_init_set(struct ll_alphabet *a, const uint8_t bitmap[32]);
/* The widest 8-bit alphabet: every byte but LL_ALPHABET_NEVER (R = 251). */
void ll_alphabet_init_8bit(struct ll_alphabet *a);
void ll_alphabet_to_bitmap(const struct ll_alphabet *a, uint8_t bitmap[32]);

/* Radix coding, exposed for tests: code n bytes, append to out. */
int ll_radix_encode(const struct ll_alphabet *a, const uint8_t *p, size_t n,
    struct ll_buf *out);
/* Decode n symbols into out; LL_ERR_FORMAT on a symbol outside a, a digit
 * count no byte count codes to, or a group value too large. */
int ll_radix_decode(const struct ll_alphabet *a, const uint8_t *s, size_t n,
    struct ll_buf *out);
/* Coded length of n bytes. */
size_t ll_radix_coded_len(const struct ll_alphabet *a, size_t n);

struct ll_frame {
	uint8_t type;		/* enum ll_frame_type, 0..15 */
	uint8_t dir;		/* enum ll_frame_dir */
	uint8_t stream;		/* 0..15 */
	uint16_t seq;
	uint16_t ack;
	uint16_t len;		/* payload bytes, <= LL_FRAME_PAYLOAD_MAX */
	uint8_t payload[LL_FRAME_PAYLOAD_MAX];
};

struct ll_epochs {
	uint32_t client;
	uint32_t agent;
};

/* true for types whose CRC uses the all-zero epoch pair */
bool ll_frame_type_is_unbound(uint8_t type);

/*
 * Append the wire form of f (MARKER..LF) to out, coded with a and tagged tag
 * (LL_FRAME_TAG_7BIT or _8BIT).  LL_ERR_INVAL on a field out of range.
 */
int ll_frame_encode(const struct ll_frame *f, const struct ll_alphabet *a,
    uint8_t tag, const struct ll_epochs *ep, struct ll_buf *out);
/* Append a probe frame carrying raw bytes (must hold no LF or marker). */
int ll_frame_encode_probe(uint8_t id, const uint8_t *raw, size_t n,
    struct ll_buf *out);

enum ll_frame_event_kind {
	LL_FEV_NONE = 0,	/* all input consumed, nothing to report */
	LL_FEV_FRAME,		/* ev->frame holds a valid frame */
	LL_FEV_TEXT,		/* ev->text/text_len: console text */
	LL_FEV_PROBE,		/* ev->probe_id, ev->text/text_len: raw probe */
	LL_FEV_BAD,		/* a framed line failed: ev->error says why */
};

struct ll_frame_event {
	enum ll_frame_event_kind kind;
	int error;		/* LL_FEV_BAD: LL_ERR_CRC, _FORMAT, _TOOBIG... */
	uint8_t probe_id;
	const uint8_t *text;	/* valid until the next feed */
	size_t text_len;
	struct ll_frame frame;
};

struct ll_frame_stats {
	uint64_t frames, crc_errors, format_errors, oversized, text_bytes;
	uint64_t spliced;	/* frames rebuilt around an interrupting line */
};

struct ll_frame_decoder {
	struct ll_alphabet a7, a8;
	bool have_a8;
	struct ll_epochs ep;
	int state;
	uint8_t tag;
	uint8_t line[LL_FRAME_WIRE_MAX];
	size_t line_len;
	bool overflow;
	uint8_t text[LL_CONSOLE_LINE_MAX];
	size_t text_len;
	/* A frame that failed at a line end, and what may be its tail. */
	bool holding;
	uint8_t held[LL_FRAME_WIRE_MAX];
	size_t held_len;
	uint8_t held_tag;
	unsigned held_lines;
	uint8_t cand[LL_FRAME_WIRE_MAX];
	size_t cand_len;
	struct ll_buf scratch;
	struct ll_frame_stats stats;
};

void ll_frame_decoder_init(struct ll_frame_decoder *d);
void ll_frame_decoder_cleanup(struct ll_frame_decoder *d);
void ll_frame_decoder_set_epochs(struct ll_frame_decoder *d,
    const struct ll_epochs *ep);
void ll_frame_decoder_set_alphabet(struct ll_frame_decoder *d,
    const struct ll_alphabet *a8);
/*
 * Consume bytes from p[0..n) until one event is ready or input runs out.
 * *used receives the bytes consumed.  Call again with the rest until it
 * returns LL_FEV_NONE with *used == n.  Console text is flushed at CR or
 * LF, at a marker, when LL_CONSOLE_LINE_MAX is reached, or by
 * ll_frame_decoder_flush.  Event text is valid until the next feed.
 */
enum ll_frame_event_kind ll_frame_decoder_feed(struct ll_frame_decoder *d,
    const uint8_t *p, size_t n, size_t *used, struct ll_frame_event *ev);
/* Hand up pending console text (e.g. after a quiet period). */
enum ll_frame_event_kind ll_frame_decoder_flush(struct ll_frame_decoder *d,
    struct ll_frame_event *ev);
/*
 * The path was quiet for a while: the CR and LF that follow a frame are
 * swallowed as its line end (a tty may add one), but a line end that comes
 * after a pause was typed, and is console text (a person pressing Enter).
 */
void ll_frame_decoder_quiet(struct ll_frame_decoder *d);

#endif
