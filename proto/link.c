/*
 * The link: handshake, path probing and the ARQ over line frames.
 *
 * Input bytes go through the frame decoder; each event is handled at once:
 * console text into a bounded queue, frames by type (HELLO family and the
 * probe/alphabet exchange here, DATA and ACK to the ARQ).  Output is pulled:
 * ll_link_output() first drains a small queue of control frames (HELLO,
 * probes, reports, RESET, CLOSE...), then asks the ARQ for frames, encoding
 * each into a one-frame holding buffer so that a frame that does not fit in
 * this call's limit goes first in the next call.  Timers (hello retries,
 * probe retries, connect and dead timeouts) are checked on every call; the
 * link keeps no clock of its own.  The wire rules are in docs/protocol.md,
 * "Link layer: session, probing, ARQ and streams".
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arq.h"
#include "buf.h"
#include "error.h"
#include "link.h"

#define CONSOLE_MAX	16384
#define CTRL_MAX	8		/* queued control frames */
#define CTRL_PAYLOAD	64
#define PROBE_TRIES	3
#define PAYLOAD_COOKED	2048		/* a cooked tty may cut at 4095 */
/*
 * At a known line rate: a frame takes at most FRAME_MS of line time, and
 * at most QUEUE_MS of it is in flight.  At 9600 baud a 4 KiB frame takes
 * 4.4 s, and pacing alone does not bound the queue when the line is even
 * a little slower than its nominal rate (an emulator or a BMC behind on
 * its clock): the round trip then grew past the RTO's cap of 10 s, every
 * frame timed out, and the deploy's link sent each byte twice or more.
 */
#define FRAME_MS	1000
#define QUEUE_MS	2000
/* The longest an ACK waits for a reply to carry it (see arq_tune). */
#define ACK_DELAY_MAX_MS	50
/* A CR or LF this long after the last byte is typed, not a frame's end. */
#define QUIET_EOL_MS	500

#define HELLO_LEN	11
#define HELLO_ACK_LEN	13
#define RESET_LEN	9
#define REPORT_LEN	36
#define BITMAP_LEN	32

#define HELLO_RESUME	0x01
#define HELLO_SSH	0x02	/* the client runs SSH on stream 0 */
#define REPORT_ECHO	0x01
#define RESET_TAKEOVER	LL_RESET_TAKEOVER
#define RESET_UNKNOWN	LL_RESET_UNKNOWN

enum probe_stage {
	PS_NONE = 0,
	PS_PROBE1,
	PS_PROBE2,
	PS_ALPHABET,
};

struct ctrl {
	uint8_t type;		/* frame type, or 0xff for a raw probe */
	uint8_t probe_id;
	uint16_t len;
	uint8_t payload[CTRL_PAYLOAD];
};

struct ll_link {
	struct ll_link_config cfg;
	enum ll_link_state state;
	int error;
	int version_error;
	uint32_t session;
	uint8_t dir;			/* ours */
	struct ll_epochs ep;
	bool bound;			/* both epochs known */
	uint8_t reset_reason;		/* client: the RESET that ended it */
	struct ll_frame_decoder dec;
	struct ll_alphabet a7, a8;
	bool use8;			/* send with TAG '8' and a8 */
	struct ll_arq *arq;
	uint16_t peer_max;

	uint64_t t_start, t_hello, last_rx;
	uint64_t last_byte;		/* when bytes last arrived, 0: never */

	/* client probing */
	enum probe_stage stage;
	unsigned tries;
	uint64_t t_probe;
	bool probe1_ok;
	uint8_t probe1_map[BITMAP_LEN];
	uint8_t want[BITMAP_LEN];	/* SET_ALPHABET sent */
	bool want_transparent;

	struct ctrl ctrl[CTRL_MAX];
	unsigned ctrl_head, ctrl_len;

	struct ll_buf hold;		/* one encoded frame waiting */
	bool hold_probe;		/* ... and it is a raw probe */
	struct ll_buf enc;		/* scratch for encoding */

	uint8_t console[CONSOLE_MAX];
	size_t con_head, con_len;

	uint64_t frames_sent, frames_received, echoes, console_bytes,
	    bytes_sent, bytes_received, crc_errors, format_errors;
	uint64_t old_retransmits, old_duplicates;
	/* The lifetime counters when the current session came up, so the
	 * session's summary shows its own share. */
	uint64_t mark_frames_sent, mark_bytes_sent, mark_bytes_received,
	    mark_crc_errors;
	struct ll_frame f;		/* scratch, too large for the stack */
	struct ll_frame_event ev;
};

static const uint8_t probe1_bytes[] = {
	0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a,
	0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35,
	0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40,
	0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b,
	0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56,
	0x57, 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60, 0x61,
	0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c,
	0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77,
	0x78, 0x79, 0x7a, 0x7b, 0x7d, 0x7e,
	0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa,
	0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5,
	0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf, 0xc0,
	0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb,
	0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6,
	0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xe1,
	0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xeb, 0xec,
	0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7,
	0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe,
};

static const uint8_t probe2_bytes[] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0b,
	0x0c, 0x0e, 0x0f, 0x10, 0x12, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19,
	0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x7f,
	0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a,
	0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95,
	0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xff,
};

static void
logmsg(struct ll_link *l, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
logmsg(struct ll_link *l, int level, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	if (l->cfg.log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	l->cfg.log(l->cfg.log_ctx, level, "%s: %s",
	    l->cfg.is_agent ? "agent link" : "client link", buf);
}

static const char *
frame_type_name(uint8_t type)
{
	static const char *const names[] = { "HELLO", "HELLO_ACK", "DATA",
	    "ACK", "PROBE_REPORT", "SET_ALPHABET", "ALPHABET_ACK", "RESET",
	    "CLOSE" };

	return type < sizeof(names) / sizeof(names[0]) ? names[type] : "?";
}

/*
 * The frame trace, at debug level: one line per frame sent or received
 * (a raw probe's type is PROBE), with its wire length and the caller's
 * time, so that a session's start can be counted frame by frame.
 */
static void
trace_frame(struct ll_link *l, const char *dir, const struct ll_frame *f,
    size_t wire, uint64_t now)
{
	if (f == NULL)
		logmsg(l, LL_LOG_DEBUG, "%s PROBE wire %zu t %llu", dir, wire,
		    (unsigned long long)now);
	else if (wire == 0)	/* received: the decoder keeps no length */
		logmsg(l, LL_LOG_DEBUG, "%s %s stream %u seq %u ack %u len %u "
		    "t %llu", dir, frame_type_name(f->type), f->stream, f->seq,
		    f->ack, f->len, (unsigned long long)now);
	else
		logmsg(l, LL_LOG_DEBUG, "%s %s stream %u seq %u ack %u len %u "
		    "wire %zu t %llu", dir, frame_type_name(f->type),
		    f->stream, f->seq, f->ack, f->len, wire,
		    (unsigned long long)now);
}

static const char *
state_name(enum ll_link_state s)
{
	switch (s) {
	case LL_LINK_CONNECTING:
		return "connecting";
	case LL_LINK_PROBING:
		return "probing";
	case LL_LINK_UP:
		return "up";
	case LL_LINK_DEAD:
		return "dead";
	}
	return "?";
}

static void
set_state(struct ll_link *l, enum ll_link_state s, int error)
{
	if (l->state == s)
		return;
	if (l->state == LL_LINK_UP && l->arq != NULL) {
		struct ll_arq_stats st;

		ll_arq_stats(l->arq, &st);
		logmsg(l, LL_LOG_INFO, "session %u: sent %llu data frames, "
		    "%llu retransmitted (%llu fast, %llu timeouts, %llu of them "
		    "spurious), received "
		    "%llu frames, %llu duplicates, %llu out of order; "
		    "srtt %u ms, rto %u ms, payload %zu, crc errors %llu; "
		    "wire: %llu frames, %llu bytes out, %llu bytes in",
		    l->session, (unsigned long long)st.data_sent,
		    (unsigned long long)st.retransmits,
		    (unsigned long long)st.fast_retransmits,
		    (unsigned long long)st.timeouts,
		    (unsigned long long)st.spurious,
		    (unsigned long long)st.frames_received,
		    (unsigned long long)st.duplicates,
		    (unsigned long long)st.out_of_order, st.srtt_ms, st.rto_ms,
		    st.payload,
		    (unsigned long long)(l->crc_errors - l->mark_crc_errors),
		    (unsigned long long)(l->frames_sent - l->mark_frames_sent),
		    (unsigned long long)(l->bytes_sent - l->mark_bytes_sent),
		    (unsigned long long)(l->bytes_received -
		    l->mark_bytes_received));
	}
	if (s == LL_LINK_UP) {
		l->mark_frames_sent = l->frames_sent;
		l->mark_bytes_sent = l->bytes_sent;
		l->mark_bytes_received = l->bytes_received;
		l->mark_crc_errors = l->crc_errors;
	}
	if (s == LL_LINK_DEAD) {
		l->error = error;
		logmsg(l, LL_LOG_WARN, "%s -> dead: %s", state_name(l->state),
		    ll_strerror(error));
	} else
		logmsg(l, LL_LOG_INFO, "%s -> %s", state_name(l->state),
		    state_name(s));
	l->state = s;
}

static void
bitmap_set(uint8_t *map, uint8_t v)
{
	map[v / 8] |= 1 << (v % 8);
}

static bool
bitmap_has(const uint8_t *map, uint8_t v)
{
	return (map[v / 8] >> (v % 8)) & 1;
}

/* Queue a control frame; a full queue drops it (the peer retries). */
static void
ctrl_push(struct ll_link *l, uint8_t type, const void *p, size_t n)
{
	struct ctrl *c;

	if (l->ctrl_len == CTRL_MAX || n > CTRL_PAYLOAD)
		return;
	c = &l->ctrl[(l->ctrl_head + l->ctrl_len++) % CTRL_MAX];
	c->type = type;
	c->probe_id = 0;
	c->len = (uint16_t)n;
	if (n > 0)
		memcpy(c->payload, p, n);
}

static void
ctrl_push_probe(struct ll_link *l, uint8_t id)
{
	struct ctrl *c;

	if (l->ctrl_len == CTRL_MAX)
		return;
	c = &l->ctrl[(l->ctrl_head + l->ctrl_len++) % CTRL_MAX];
	c->type = 0xff;
	c->probe_id = id;
	c->len = 0;
}

static size_t
own_max_payload(const struct ll_link *l)
{
	/*
	 * Full-size frames only where the path has been shown transparent
	 * (control bytes in the alphabet) or the user forced 8-bit.
	 */
	if (l->use8 && l->a8.val[0x01] >= 0)
		return LL_FRAME_PAYLOAD_MAX;
	return PAYLOAD_COOKED;
}

static void
arq_tune(struct ll_link *l)
{
	const struct ll_alphabet *a = l->use8 ? &l->a8 : &l->a7;
	size_t max = own_max_payload(l);
	double ratio = (double)ll_radix_coded_len(a, LL_RADIX_GROUP) /
	    LL_RADIX_GROUP;
	double rate = l->cfg.line_rate, at_rate;
	size_t window = 0;
	uint32_t ack_delay = 0;

	if (l->arq == NULL)
		return;
	if (l->peer_max > 0 && l->peer_max < max)
		max = l->peer_max;
	if (rate > 0) {
		at_rate = (rate * FRAME_MS / 1000 - LL_ARQ_OVERHEAD) / ratio;
		if (at_rate < 2 * LL_ARQ_PAYLOAD_MIN)
			at_rate = 2 * LL_ARQ_PAYLOAD_MIN;
		if (at_rate < (double)max)
			max = (size_t)at_rate;
		/* Two frames at least, so that one is sent while one is acked. */
		window = (size_t)(rate * QUEUE_MS / 1000);
		if (window < 2 * ((size_t)((double)max * ratio) +
		    LL_ARQ_OVERHEAD))
			window = 2 * ((size_t)((double)max * ratio) +
			    LL_ARQ_OVERHEAD);
		/*
		 * An ACK may wait about as long as it would take on the line
		 * (43 ms at 9600, 4 at 115200) for a reply to carry it.
		 */
		ack_delay = (uint32_t)(((double)LL_ARQ_ACK_LEN(LL_STREAMS_MAX) *
		    ratio + LL_ARQ_OVERHEAD) * 1000 / rate + 0.5);
		if (ack_delay > ACK_DELAY_MAX_MS)
			ack_delay = ACK_DELAY_MAX_MS;
	}
	ll_arq_set_max_payload(l->arq, max);
	ll_arq_set_coding_ratio(l->arq, ratio);
	ll_arq_set_window_bytes(l->arq, window);
	ll_arq_set_ack_delay(l->arq, ack_delay);
	ll_arq_set_line_rate(l->arq, (uint32_t)rate);
}

static int
new_arq(struct ll_link *l, uint64_t now)
{
	struct ll_arq_config ac = { 0 };
	struct ll_arq_stats st;

	if (l->arq != NULL) {
		ll_arq_stats(l->arq, &st);
		l->old_retransmits += st.retransmits;
		l->old_duplicates += st.duplicates;
	}
	ll_arq_free(l->arq);
	ac.keepalive_ms = l->cfg.keepalive_ms;
	if ((l->arq = ll_arq_new(&ac, now)) == NULL)
		return LL_ERR_NOMEM;
	arq_tune(l);
	return 0;
}

struct ll_link *
ll_link_new(const struct ll_link_config *cfg, uint64_t now)
{
	struct ll_link *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		goto out;
	l->cfg = *cfg;
	if (l->cfg.hello_ms == 0)
		l->cfg.hello_ms = 500;
	if (l->cfg.connect_ms == 0)
		l->cfg.connect_ms = 10000;
	if (l->cfg.keepalive_ms == 0)
		l->cfg.keepalive_ms = 1000;
	if (l->cfg.dead_ms == 0)
		l->cfg.dead_ms = 15000;
	l->dir = cfg->is_agent ? LL_DIR_TO_CLIENT : LL_DIR_TO_AGENT;
	if (cfg->is_agent)
		l->ep.agent = cfg->epoch;
	else
		l->ep.client = cfg->epoch;
	ll_frame_decoder_init(&l->dec);
	ll_alphabet_init_7bit(&l->a7);
	ll_buf_init(&l->hold, LL_FRAME_WIRE_MAX);
	ll_buf_init(&l->enc, LL_FRAME_WIRE_MAX);
	l->t_start = l->last_rx = now;
	l->state = LL_LINK_CONNECTING;
	/* The client says HELLO at once. */
	l->t_hello = now - l->cfg.hello_ms;
out:
	return l;
}

void
ll_link_free(struct ll_link *l)
{
	if (l == NULL)
		return;
	ll_arq_free(l->arq);
	ll_frame_decoder_cleanup(&l->dec);
	ll_buf_cleanup(&l->hold);
	ll_buf_cleanup(&l->enc);
	free(l);
}

static void
console_put(struct ll_link *l, const uint8_t *p, size_t n)
{
	size_t i, drop;

	l->console_bytes += n;
	if (n > CONSOLE_MAX) {
		p += n - CONSOLE_MAX;
		n = CONSOLE_MAX;
	}
	/* Keep the newest text: drop the oldest to make room. */
	if (l->con_len + n > CONSOLE_MAX) {
		drop = l->con_len + n - CONSOLE_MAX;
		l->con_head = (l->con_head + drop) % CONSOLE_MAX;
		l->con_len -= drop;
	}
	for (i = 0; i < n; i++)
		l->console[(l->con_head + l->con_len + i) % CONSOLE_MAX] = p[i];
	l->con_len += n;
}

static void
send_hello(struct ll_link *l, bool resume)
{
	uint8_t p[HELLO_LEN];

	p[0] = 'L';
	p[1] = 'L';
	p[2] = LL_PROTO_VERSION;
	p[3] = LL_PROTO_VERSION;
	ll_poke_u32(p + 4, l->ep.client);
	p[8] = (resume ? HELLO_RESUME : 0) | (l->cfg.ssh ? HELLO_SSH : 0);
	ll_poke_u16(p + 9, LL_FRAME_PAYLOAD_MAX);
	ctrl_push(l, LL_FT_HELLO, p, sizeof(p));
}

static void
send_hello_ack(struct ll_link *l)
{
	uint8_t p[HELLO_ACK_LEN];

	p[0] = 'L';
	p[1] = 'L';
	p[2] = LL_PROTO_VERSION;
	ll_poke_u32(p + 3, l->ep.client);
	ll_poke_u32(p + 7, l->ep.agent);
	ll_poke_u16(p + 11, LL_FRAME_PAYLOAD_MAX);
	ctrl_push(l, LL_FT_HELLO_ACK, p, sizeof(p));
}

static void
send_reset(struct ll_link *l, uint32_t client, uint8_t reason)
{
	uint8_t p[RESET_LEN];

	ll_poke_u32(p, client);
	ll_poke_u32(p + 4, l->ep.agent);
	p[8] = reason;
	ctrl_push(l, LL_FT_RESET, p, sizeof(p));
}

/* Client: the probes are over; pick the alphabet and ask for it. */
static void
probe_decide(struct ll_link *l, bool probe2_ok, const uint8_t *probe2_map)
{
	unsigned v;
	size_t i;

	if (!l->probe1_ok) {
		logmsg(l, LL_LOG_INFO, "path is not 8-bit clean: radix %u",
		    l->a7.n);
		l->stage = PS_NONE;
		set_state(l, LL_LINK_UP, 0);
		return;
	}
	memset(l->want, 0, sizeof(l->want));
	if (probe2_ok) {
		for (v = 0; v < 256; v++)
			bitmap_set(l->want, (uint8_t)v);
		for (i = 0; i < sizeof(probe2_bytes); i++)
			if (!bitmap_has(probe2_map, probe2_bytes[i]))
				l->want[probe2_bytes[i] / 8] &=
				    ~(1 << (probe2_bytes[i] % 8));
	} else
		memcpy(l->want, l->probe1_map, sizeof(l->want));
	l->want_transparent = probe2_ok;
	l->stage = PS_ALPHABET;
	l->tries = 0;
	l->t_probe = 0;		/* send now */
}

static bool
probe_report_ok(const uint8_t *map, uint16_t rlen, const uint8_t *bytes,
    size_t n)
{
	size_t i;

	if (rlen != n)
		return false;
	for (i = 0; i < n; i++)
		if (!bitmap_has(map, bytes[i]))
			return false;
	return true;
}

static void
client_probe_report(struct ll_link *l, const struct ll_frame *f)
{
	const uint8_t *map = f->payload + 4;
	uint16_t rlen;
	bool echo;

	if (f->len != REPORT_LEN) {
		l->format_errors++;
		return;
	}
	rlen = ll_peek_u16(f->payload + 2);
	echo = (f->payload[1] & REPORT_ECHO) != 0 || l->echoes > 0;
	if (f->payload[0] == 1 && l->stage == PS_PROBE1) {
		l->probe1_ok = probe_report_ok(map, rlen, probe1_bytes,
		    sizeof(probe1_bytes));
		memcpy(l->probe1_map, map, BITMAP_LEN);
		/*
		 * Noise damages a probe now and then, a path that strips or
		 * translates bytes damages every one: try again before
		 * concluding anything.
		 */
		if (!l->probe1_ok && !echo && l->tries < PROBE_TRIES) {
			l->t_probe = 0;
			return;
		}
		if (l->probe1_ok && !echo) {
			l->stage = PS_PROBE2;
			l->tries = 0;
			l->t_probe = 0;
			return;
		}
		if (echo)
			logmsg(l, LL_LOG_INFO, "the path echoes: "
			    "keeping control bytes escaped");
		probe_decide(l, false, NULL);
	} else if (f->payload[0] == 2 && l->stage == PS_PROBE2) {
		bool ok = probe_report_ok(map, rlen, probe2_bytes,
		    sizeof(probe2_bytes));

		if (!ok && !echo && l->tries < PROBE_TRIES) {
			l->t_probe = 0;
			return;
		}
		probe_decide(l, rlen == sizeof(probe2_bytes) && !echo, map);
	}
}

static void
client_alphabet_ack(struct ll_link *l, const struct ll_frame *f)
{
	static const uint8_t zero[BITMAP_LEN];

	if (f->len != BITMAP_LEN) {
		l->format_errors++;
		return;
	}
	if (l->stage != PS_ALPHABET)
		return;
	l->stage = PS_NONE;
	if (memcmp(f->payload, zero, BITMAP_LEN) == 0 ||
	    memcmp(f->payload, l->want, BITMAP_LEN) != 0 ||
	    ll_alphabet_init_set(&l->a8, l->want) != 0) {
		logmsg(l, LL_LOG_INFO, "agent keeps 7-bit: radix %u",
		    l->a7.n);
		ll_frame_decoder_set_alphabet(&l->dec, NULL);
	} else {
		l->use8 = true;
		logmsg(l, LL_LOG_INFO, "alphabet: radix %u%s", l->a8.n,
		    l->want_transparent ? " (transparent path)" : "");
	}
	arq_tune(l);
	set_state(l, LL_LINK_UP, 0);
}

/* Client: the epochs are known; go on to probing or straight up. */
static int
client_bound(struct ll_link *l, uint64_t now)
{
	int error;

	l->bound = true;
	l->session = 1;
	ll_frame_decoder_set_epochs(&l->dec, &l->ep);
	if ((error = new_arq(l, now)) != 0)
		return error;
	logmsg(l, LL_LOG_INFO, "session %08x/%08x", l->ep.client,
	    l->ep.agent);
	switch (l->cfg.encoding) {
	case LL_ENC_AUTO:
		l->stage = PS_PROBE1;
		l->tries = 0;
		l->t_probe = 0;
		set_state(l, LL_LINK_PROBING, 0);
		break;
	case LL_ENC_8BIT:
		ll_alphabet_init_8bit(&l->a8);
		ll_alphabet_to_bitmap(&l->a8, l->want);
		l->want_transparent = true;
		l->stage = PS_ALPHABET;
		l->tries = 0;
		l->t_probe = 0;
		set_state(l, LL_LINK_PROBING, 0);
		break;
	case LL_ENC_7BIT:
		logmsg(l, LL_LOG_INFO, "7-bit forced: radix %u", l->a7.n);
		set_state(l, LL_LINK_UP, 0);
		break;
	}
	return 0;
}

static int
client_frame(struct ll_link *l, const struct ll_frame *f, uint64_t now)
{
	const uint8_t *p = f->payload;
	uint32_t agent;

	switch (f->type) {
	case LL_FT_HELLO_ACK:
		if (f->len != HELLO_ACK_LEN || p[0] != 'L' || p[1] != 'L')
			return LL_ERR_FORMAT;
		if (ll_peek_u32(p + 3) != l->ep.client)
			return 0;	/* for another client */
		if (p[2] != LL_PROTO_VERSION) {
			logmsg(l, LL_LOG_ERROR, "agent speaks version %u, "
			    "we speak %u", p[2], LL_PROTO_VERSION);
			l->version_error = LL_ERR_VERSION;
			return 0;
		}
		agent = ll_peek_u32(p + 7);
		if (!l->bound) {
			l->ep.agent = agent;
			l->peer_max = ll_peek_u16(p + 11);
			return client_bound(l, now);
		}
		if (agent != l->ep.agent) {
			logmsg(l, LL_LOG_WARN, "agent restarted (epoch %08x, "
			    "was %08x)", agent, l->ep.agent);
			set_state(l, LL_LINK_DEAD, LL_ERR_RESET);
		}
		return 0;
	case LL_FT_RESET:
		if (f->len != RESET_LEN)
			return LL_ERR_FORMAT;
		if (ll_peek_u32(p) != l->ep.client)
			return 0;
		logmsg(l, LL_LOG_WARN, "agent reset the session: %s",
		    p[8] == RESET_TAKEOVER ? "another client took over" :
		    p[8] == LL_RESET_NEED_SSH ? "it requires SSH" :
		    p[8] == LL_RESET_NO_SSH ? "it runs without SSH" :
		    "unknown session");
		/*
		 * Reasons 3 and 4 say that a session was never started, so
		 * nothing was sent in it; once bound, that is no longer so,
		 * and the reset is reported as any other (reason 0).
		 */
		l->reset_reason = l->bound && (p[8] == LL_RESET_NEED_SSH ||
		    p[8] == LL_RESET_NO_SSH) ? 0 : p[8];
		set_state(l, LL_LINK_DEAD, LL_ERR_RESET);
		return 0;
	case LL_FT_PROBE_REPORT:
		client_probe_report(l, f);
		return 0;
	case LL_FT_ALPHABET_ACK:
		client_alphabet_ack(l, f);
		return 0;
	case LL_FT_CLOSE:
		set_state(l, LL_LINK_DEAD, LL_ERR_CLOSED);
		return 0;
	case LL_FT_DATA:
	case LL_FT_ACK:
		if (l->arq == NULL)
			return 0;
		return ll_arq_input(l->arq, f, now);
	}
	return 0;
}

static void
agent_end_session(struct ll_link *l)
{
	l->ep.client = 0;
	l->bound = false;
	l->use8 = false;
	ll_frame_decoder_set_epochs(&l->dec, &l->ep);
	set_state(l, LL_LINK_CONNECTING, 0);
}

static int
agent_hello(struct ll_link *l, const struct ll_frame *f, uint64_t now)
{
	const uint8_t *p = f->payload;
	uint32_t client;
	int error;

	if (f->len != HELLO_LEN || p[0] != 'L' || p[1] != 'L')
		return LL_ERR_FORMAT;
	if (p[2] > LL_PROTO_VERSION || p[3] < LL_PROTO_VERSION) {
		logmsg(l, LL_LOG_ERROR, "client speaks versions %u..%u, "
		    "we speak %u", p[2], p[3], LL_PROTO_VERSION);
		return 0;
	}
	client = ll_peek_u32(p + 4);
	if (client == 0)
		return LL_ERR_FORMAT;
	if (((p[8] & HELLO_SSH) != 0) != l->cfg.ssh) {
		/* Never fall back: a client that wants SSH gets it or nothing,
		 * and an SSH agent never takes records in the clear. */
		logmsg(l, LL_LOG_WARN, "client %08x %s SSH inside the link; "
		    "refused", client, l->cfg.ssh ? "does not use" : "wants");
		send_reset(l, client, l->cfg.ssh ? LL_RESET_NEED_SSH :
		    LL_RESET_NO_SSH);
		return 0;
	}
	if (l->bound && client == l->ep.client) {
		send_hello_ack(l);
		return 0;
	}
	if (p[8] & HELLO_RESUME) {
		logmsg(l, LL_LOG_WARN, "resume from unknown client %08x: "
		    "reset", client);
		send_reset(l, client, l->bound ? RESET_TAKEOVER :
		    RESET_UNKNOWN);
		return 0;
	}
	if (l->bound)
		logmsg(l, LL_LOG_WARN, "client %08x takes over from %08x",
		    client, l->ep.client);
	l->ep.client = client;
	l->bound = true;
	l->use8 = false;
	l->peer_max = ll_peek_u16(p + 9);
	l->session++;
	ll_frame_decoder_set_epochs(&l->dec, &l->ep);
	ll_frame_decoder_set_alphabet(&l->dec, NULL);
	if ((error = new_arq(l, now)) != 0)
		return error;
	/* A new session state even when we were already up. */
	l->state = LL_LINK_CONNECTING;
	set_state(l, LL_LINK_UP, 0);
	logmsg(l, LL_LOG_INFO, "session %u: %08x/%08x", l->session,
	    l->ep.client, l->ep.agent);
	send_hello_ack(l);
	return 0;
}

static void
agent_set_alphabet(struct ll_link *l, const struct ll_frame *f)
{
	static const uint8_t zero[BITMAP_LEN];
	struct ll_alphabet a;

	if (f->len != BITMAP_LEN) {
		l->format_errors++;
		return;
	}
	if (l->cfg.encoding == LL_ENC_7BIT ||
	    ll_alphabet_init_set(&a, f->payload) != 0) {
		ctrl_push(l, LL_FT_ALPHABET_ACK, zero, BITMAP_LEN);
		return;
	}
	/* The ACK itself still goes out on '7'; see ctrl_encode(). */
	ctrl_push(l, LL_FT_ALPHABET_ACK, f->payload, BITMAP_LEN);
	if (!l->use8 || memcmp(&a, &l->a8, sizeof(a)) != 0) {
		l->a8 = a;
		ll_frame_decoder_set_alphabet(&l->dec, &l->a8);
		logmsg(l, LL_LOG_INFO, "alphabet: radix %u", a.n);
	}
	l->use8 = true;
	arq_tune(l);
}

static void
agent_probe(struct ll_link *l, uint8_t id, const uint8_t *p, size_t n)
{
	const uint8_t *exp;
	size_t en, i;
	uint8_t r[REPORT_LEN];

	if (!l->bound || (id != 1 && id != 2))
		return;
	exp = id == 1 ? probe1_bytes : probe2_bytes;
	en = id == 1 ? sizeof(probe1_bytes) : sizeof(probe2_bytes);
	memset(r, 0, sizeof(r));
	r[0] = id;
	r[1] = l->echoes > 0 ? REPORT_ECHO : 0;
	ll_poke_u16(r + 2, (uint16_t)n);
	if (n == en)
		for (i = 0; i < n; i++)
			if (p[i] == exp[i])
				bitmap_set(r + 4, exp[i]);
	ctrl_push(l, LL_FT_PROBE_REPORT, r, sizeof(r));
}

static int
agent_frame(struct ll_link *l, const struct ll_frame *f, uint64_t now)
{
	switch (f->type) {
	case LL_FT_HELLO:
		return agent_hello(l, f, now);
	case LL_FT_SET_ALPHABET:
		if (l->bound)
			agent_set_alphabet(l, f);
		return 0;
	case LL_FT_CLOSE:
		if (l->bound) {
			logmsg(l, LL_LOG_INFO, "client closed session %u",
			    l->session);
			agent_end_session(l);
		}
		return 0;
	case LL_FT_DATA:
	case LL_FT_ACK:
		if (!l->bound || l->arq == NULL)
			return 0;
		return ll_arq_input(l->arq, f, now);
	}
	return 0;
}

static int
handle_event(struct ll_link *l, const struct ll_frame_event *ev, uint64_t now)
{
	int error;

	switch (ev->kind) {
	case LL_FEV_TEXT:
		console_put(l, ev->text, ev->text_len);
		return 0;
	case LL_FEV_PROBE:
		if (!l->cfg.is_agent) {
			/* Probes only go to the agent: ours came back. */
			l->echoes++;
			return 0;
		}
		agent_probe(l, ev->probe_id, ev->text, ev->text_len);
		return 0;
	case LL_FEV_BAD:
		if (ev->error == LL_ERR_CRC)
			l->crc_errors++;
		else
			l->format_errors++;
		return 0;
	case LL_FEV_FRAME:
		break;
	default:
		return 0;
	}
	if (ev->frame.dir == l->dir) {
		l->echoes++;
		return 0;
	}
	if (l->state == LL_LINK_DEAD)
		return 0;
	l->frames_received++;
	l->last_rx = now;
	trace_frame(l, "rx", &ev->frame, 0, now);
	if (l->cfg.is_agent)
		error = agent_frame(l, &ev->frame, now);
	else
		error = client_frame(l, &ev->frame, now);
	if (error == LL_ERR_FORMAT) {
		l->format_errors++;
		error = 0;
	}
	return error;
}

int
ll_link_input(struct ll_link *l, const uint8_t *p, size_t n, uint64_t now)
{
	size_t used;
	int error;

	l->bytes_received += n;
	if (n > 0 && l->last_byte != 0 && now - l->last_byte >= QUIET_EOL_MS)
		ll_frame_decoder_quiet(&l->dec);
	if (n > 0)
		l->last_byte = now;
	while (n > 0) {
		ll_frame_decoder_feed(&l->dec, p, n, &used, &l->ev);
		p += used;
		n -= used;
		if ((error = handle_event(l, &l->ev, now)) != 0)
			return error;
	}
	/* Text without a line end (a prompt) is handed up at once too. */
	if (ll_frame_decoder_flush(&l->dec, &l->ev) == LL_FEV_TEXT)
		console_put(l, l->ev.text, l->ev.text_len);
	return 0;
}

/* Client timers: connect timeout, hello and probe retries, dead peer. */
static void
client_timers(struct ll_link *l, uint64_t now)
{
	if (l->state == LL_LINK_DEAD)
		return;
	if (l->state == LL_LINK_CONNECTING) {
		if (now - l->t_start >= l->cfg.connect_ms) {
			set_state(l, LL_LINK_DEAD, l->version_error != 0 ?
			    l->version_error : LL_ERR_TIMEOUT);
			return;
		}
		if (now - l->t_hello >= l->cfg.hello_ms) {
			send_hello(l, false);
			l->t_hello = now;
		}
		return;
	}
	if (now - l->last_rx >= l->cfg.dead_ms) {
		set_state(l, LL_LINK_DEAD, LL_ERR_TIMEOUT);
		return;
	}
	if (now - l->last_rx >= l->cfg.dead_ms / 3 &&
	    now - l->t_hello >= l->cfg.hello_ms) {
		send_hello(l, true);
		l->t_hello = now;
	}
	if (l->stage == PS_NONE || (l->t_probe != 0 &&
	    now - l->t_probe < l->cfg.hello_ms))
		return;
	if (l->stage == PS_ALPHABET) {
		/* The agent may answer in the new alphabet: accept it. */
		if (ll_alphabet_init_set(&l->a8, l->want) == 0)
			ll_frame_decoder_set_alphabet(&l->dec, &l->a8);
		ctrl_push(l, LL_FT_SET_ALPHABET, l->want, BITMAP_LEN);
		l->t_probe = now;
		return;
	}
	if (l->tries == PROBE_TRIES) {
		logmsg(l, LL_LOG_INFO, "probe %u: no report", l->stage ==
		    PS_PROBE1 ? 1 : 2);
		if (l->stage == PS_PROBE1)
			l->probe1_ok = false;
		probe_decide(l, false, NULL);
		return;
	}
	ctrl_push_probe(l, l->stage == PS_PROBE1 ? 1 : 2);
	l->tries++;
	l->t_probe = now;
}

static void
timers(struct ll_link *l, uint64_t now)
{
	if (!l->cfg.is_agent)
		client_timers(l, now);
}

static bool
arq_may_send(const struct ll_link *l)
{
	return l->arq != NULL && l->bound && l->state == LL_LINK_UP;
}

/* Encode the next frame into l->hold; false when there is none. */
static bool
next_frame(struct ll_link *l, uint64_t now)
{
	const struct ll_alphabet *a = &l->a7;
	uint8_t tag = LL_FRAME_TAG_7BIT;
	struct ctrl *c;
	struct ll_frame *f = &l->f;
	int error;

	ll_buf_reset(&l->hold);
	if (l->ctrl_len > 0) {
		c = &l->ctrl[l->ctrl_head];
		l->ctrl_head = (l->ctrl_head + 1) % CTRL_MAX;
		l->ctrl_len--;
		l->hold_probe = c->type == 0xff;
		if (c->type == 0xff) {
			error = ll_frame_encode_probe(c->probe_id,
			    c->probe_id == 1 ? probe1_bytes : probe2_bytes,
			    c->probe_id == 1 ? sizeof(probe1_bytes) :
			    sizeof(probe2_bytes), &l->hold);
			return error == 0;
		}
		memset(f, 0, offsetof(struct ll_frame, payload));
		f->type = c->type;
		f->len = c->len;
		memcpy(f->payload, c->payload, c->len);
		/* Handshake frames stay on '7'; everything else may use '8'. */
		if (l->use8 && c->type != LL_FT_ALPHABET_ACK &&
		    !ll_frame_type_is_unbound(c->type)) {
			a = &l->a8;
			tag = LL_FRAME_TAG_8BIT;
		}
	} else if (arq_may_send(l) && ll_arq_next_frame(l->arq, now, f)) {
		l->hold_probe = false;
		if (l->use8) {
			a = &l->a8;
			tag = LL_FRAME_TAG_8BIT;
		}
	} else
		return false;
	f->dir = l->dir;
	error = ll_frame_encode(f, a, tag, &l->ep, &l->hold);
	return error == 0;
}

int
ll_link_output(struct ll_link *l, struct ll_buf *out, size_t limit,
    uint64_t now)
{
	size_t added = 0, n;
	bool empty = ll_buf_avail(out) == 0;
	int error;

	timers(l, now);
	if (limit == 0)
		return 0;
	for (;;) {
		if (ll_buf_avail(&l->hold) == 0 && !next_frame(l, now))
			break;
		n = ll_buf_avail(&l->hold);
		if (added + n > limit && !(added == 0 && empty))
			break;
		if ((error = ll_buf_put(out, ll_buf_ptr(&l->hold), n)) != 0)
			return added > 0 ? (int)added : error;
		ll_buf_reset(&l->hold);
		added += n;
		l->frames_sent++;
		l->bytes_sent += n;
		trace_frame(l, "tx", l->hold_probe ? NULL : &l->f, n, now);
	}
	return (int)added;
}

uint64_t
ll_link_deadline(const struct ll_link *l)
{
	uint64_t dl = UINT64_MAX, t;

	if (l->ctrl_len > 0 || ll_buf_avail(&l->hold) > 0)
		return 0;
	if (l->state == LL_LINK_DEAD)
		return UINT64_MAX;
	if (arq_may_send(l) && (t = ll_arq_deadline(l->arq)) < dl)
		dl = t;
	if (l->cfg.is_agent)
		return dl;
	if (l->state == LL_LINK_CONNECTING) {
		t = l->t_hello + l->cfg.hello_ms;
		if (t > l->t_start + l->cfg.connect_ms)
			t = l->t_start + l->cfg.connect_ms;
		return t < dl ? t : dl;
	}
	if ((t = l->last_rx + l->cfg.dead_ms / 3) < dl) {
		/* Resume hellos are due from here on, each hello_ms. */
		if (t < l->t_hello + l->cfg.hello_ms)
			t = l->t_hello + l->cfg.hello_ms;
		if (t < dl)
			dl = t;
	}
	if (l->last_rx + l->cfg.dead_ms < dl)
		dl = l->last_rx + l->cfg.dead_ms;
	if (l->stage != PS_NONE) {
		t = l->t_probe == 0 ? 0 : l->t_probe + l->cfg.hello_ms;
		if (t < dl)
			dl = t;
	}
	return dl;
}

enum ll_link_state
ll_link_state(const struct ll_link *l)
{
	return l->state;
}

int
ll_link_error(const struct ll_link *l)
{
	return l->error;
}

uint32_t
ll_link_session(const struct ll_link *l)
{
	return l->session;
}

int
ll_link_encode_keepalive(const struct ll_link *l, struct ll_buf *out)
{
	static __thread struct ll_frame f;

	if (l->state != LL_LINK_UP || l->arq == NULL || !l->bound)
		return LL_ERR_AGAIN;
	memset(&f, 0, offsetof(struct ll_frame, payload));
	ll_arq_peek_ack(l->arq, &f);
	f.dir = l->dir;
	return ll_frame_encode(&f, l->use8 ? &l->a8 : &l->a7, l->use8 ?
	    LL_FRAME_TAG_8BIT : LL_FRAME_TAG_7BIT, &l->ep, out);
}

size_t
ll_link_writable(const struct ll_link *l, unsigned stream)
{
	if (l->state != LL_LINK_UP || l->arq == NULL)
		return 0;
	return ll_arq_writable(l->arq, stream);
}

ssize_t
ll_link_write(struct ll_link *l, unsigned stream, const void *p, size_t n)
{
	if (stream >= LL_STREAMS_MAX)
		return LL_ERR_INVAL;
	if (l->state == LL_LINK_DEAD)
		return l->error != 0 ? l->error : LL_ERR_CLOSED;
	if (l->state != LL_LINK_UP || l->arq == NULL)
		return LL_ERR_AGAIN;
	return ll_arq_write(l->arq, stream, p, n);
}

ssize_t
ll_link_read(struct ll_link *l, unsigned stream, void *p, size_t n)
{
	if (stream >= LL_STREAMS_MAX)
		return LL_ERR_INVAL;
	if (l->arq == NULL)
		return 0;
	return ll_arq_read(l->arq, stream, p, n);
}

size_t
ll_link_readable(const struct ll_link *l, unsigned stream)
{
	if (l->arq == NULL)
		return 0;
	return ll_arq_readable(l->arq, stream);
}

bool
ll_link_is_drained(const struct ll_link *l)
{
	return l->arq == NULL || ll_arq_is_drained(l->arq);
}

size_t
ll_link_console(struct ll_link *l, void *p, size_t n)
{
	size_t i;

	if (n > l->con_len)
		n = l->con_len;
	for (i = 0; i < n; i++)
		((uint8_t *)p)[i] = l->console[(l->con_head + i) % CONSOLE_MAX];
	l->con_head = (l->con_head + n) % CONSOLE_MAX;
	l->con_len -= n;
	return n;
}

unsigned
ll_link_reset_reason(const struct ll_link *l)
{
	return l->reset_reason;
}

bool
ll_link_is_ssh(const struct ll_link *l)
{
	return l->cfg.ssh;
}

void
ll_link_close(struct ll_link *l, uint64_t now)
{
	if (l->state == LL_LINK_DEAD)
		return;
	if (l->cfg.is_agent) {
		/*
		 * An agent ends only this session and waits for the next
		 * client, so the CLOSE is encoded now, while the session's
		 * epochs and alphabet still apply, behind any held frame.
		 */
		if (l->bound) {
			struct ll_frame *f = &l->f;

			memset(f, 0, offsetof(struct ll_frame, payload));
			f->type = LL_FT_CLOSE;
			f->dir = l->dir;
			ll_frame_encode(f, l->use8 ? &l->a8 : &l->a7,
			    l->use8 ? LL_FRAME_TAG_8BIT : LL_FRAME_TAG_7BIT,
			    &l->ep, &l->hold);
			logmsg(l, LL_LOG_INFO, "ending session %u", l->session);
			agent_end_session(l);
		}
		return;
	}
	if (l->bound)
		ctrl_push(l, LL_FT_CLOSE, NULL, 0);
	set_state(l, LL_LINK_DEAD, LL_ERR_CLOSED);
}

void
ll_link_restart_connect(struct ll_link *l, uint64_t now, uint32_t connect_ms)
{
	if (l->state != LL_LINK_CONNECTING)
		return;
	l->t_start = now;
	l->cfg.connect_ms = connect_ms != 0 ? connect_ms : 10000;
}

void
ll_link_stats(const struct ll_link *l, struct ll_link_stats *s)
{
	struct ll_arq_stats st;

	memset(s, 0, sizeof(*s));
	s->frames_sent = l->frames_sent;
	s->frames_received = l->frames_received;
	s->crc_errors = l->crc_errors;
	s->format_errors = l->format_errors;
	s->echoes = l->echoes;
	s->console_bytes = l->console_bytes;
	s->bytes_sent = l->bytes_sent;
	s->bytes_received = l->bytes_received;
	s->retransmits = l->old_retransmits;
	s->duplicates = l->old_duplicates;
	s->radix = l->use8 ? l->a8.n : l->a7.n;
	if (l->arq != NULL) {
		ll_arq_stats(l->arq, &st);
		s->retransmits += st.retransmits;
		s->duplicates += st.duplicates;
		s->srtt_ms = st.srtt_ms;
		s->rto_ms = st.rto_ms;
		s->frame_payload = st.payload;
	}
}
