/*
 * Telnet option negotiation and IAC framing for a console server's port;
 * the contract is in telnet.h.  A byte-at-a-time state machine, so a read
 * may cut a command, a sub-negotiation or a CR NUL anywhere.
 */
#include "config.h"

#include <string.h>

#include "buf.h"
#include "telnet.h"

enum {
	TN_DATA,	/* plain data */
	TN_CR,		/* a CR seen on a non-BINARY stream: NUL may follow */
	TN_IAC,		/* IAC seen */
	TN_OPT,		/* WILL/WONT/DO/DONT seen, option byte next */
	TN_SB,		/* inside a sub-negotiation */
	TN_SB_IAC,	/* IAC inside a sub-negotiation */
};

static void
queue(struct ll_telnet *tn, const uint8_t *p, size_t n)
{
	if (n > sizeof tn->reply - tn->reply_len) {
		tn->dropped += n;
		return;
	}
	memcpy(tn->reply + tn->reply_len, p, n);
	tn->reply_len += n;
}

static void
queue_cmd(struct ll_telnet *tn, uint8_t cmd, uint8_t opt)
{
	const uint8_t b[3] = { LL_TELNET_IAC, cmd, opt };

	queue(tn, b, sizeof b);
}

static bool
want_us(const struct ll_telnet *tn, uint8_t opt)
{
	return opt == LL_TELNET_OPT_BINARY || opt == LL_TELNET_OPT_SGA ||
	    (opt == LL_TELNET_OPT_COMPORT && tn->baud != 0);
}

static bool
want_them(uint8_t opt)
{
	return opt == LL_TELNET_OPT_BINARY || opt == LL_TELNET_OPT_SGA;
}

/* One RFC 2217 command: IAC SB COM-PORT-OPTION cmd value... IAC SE. */
static void
queue_comport(struct ll_telnet *tn, uint8_t cmd, const uint8_t *v, size_t n)
{
	uint8_t b[4 + 2 * 4 + 2];
	size_t i, o = 0;

	b[o++] = LL_TELNET_IAC;
	b[o++] = LL_TELNET_SB;
	b[o++] = LL_TELNET_OPT_COMPORT;
	b[o++] = cmd;
	for (i = 0; i < n && i < 4; i++) {
		b[o++] = v[i];
		if (v[i] == LL_TELNET_IAC)
			b[o++] = LL_TELNET_IAC;
	}
	b[o++] = LL_TELNET_IAC;
	b[o++] = LL_TELNET_SE;
	queue(tn, b, o);
}

/* The server agreed to COM-PORT-OPTION: set BAUD 8N1. */
static void
set_port(struct ll_telnet *tn)
{
	uint8_t baud[4];
	const uint8_t eight = 8, none = 1, one = 1;

	if (tn->comport_sent)
		return;
	tn->comport_sent = true;
	ll_poke_u32(baud, tn->baud);
	queue_comport(tn, LL_TELNET_CPO_SET_BAUDRATE, baud, 4);
	queue_comport(tn, LL_TELNET_CPO_SET_DATASIZE, &eight, 1);
	queue_comport(tn, LL_TELNET_CPO_SET_PARITY, &none, 1);
	queue_comport(tn, LL_TELNET_CPO_SET_STOPSIZE, &one, 1);
}

void
ll_telnet_init(struct ll_telnet *tn, unsigned baud)
{
	memset(tn, 0, sizeof *tn);
	tn->state = TN_DATA;
	tn->baud = baud;
	queue_cmd(tn, LL_TELNET_WILL, LL_TELNET_OPT_BINARY);
	queue_cmd(tn, LL_TELNET_DO, LL_TELNET_OPT_BINARY);
	queue_cmd(tn, LL_TELNET_WILL, LL_TELNET_OPT_SGA);
	queue_cmd(tn, LL_TELNET_DO, LL_TELNET_OPT_SGA);
	tn->asked_us[LL_TELNET_OPT_BINARY] = true;
	tn->asked_them[LL_TELNET_OPT_BINARY] = true;
	tn->asked_us[LL_TELNET_OPT_SGA] = true;
	tn->asked_them[LL_TELNET_OPT_SGA] = true;
	if (baud != 0) {
		queue_cmd(tn, LL_TELNET_WILL, LL_TELNET_OPT_COMPORT);
		tn->asked_us[LL_TELNET_OPT_COMPORT] = true;
	}
}

/* DO/DONT: about our side. */
static void
on_do(struct ll_telnet *tn, bool yes, uint8_t opt)
{
	bool was = tn->us[opt], asked = tn->asked_us[opt];

	tn->asked_us[opt] = false;
	if (yes) {
		if (!want_us(tn, opt)) {
			queue_cmd(tn, LL_TELNET_WONT, opt);
			return;
		}
		tn->us[opt] = true;
		/* A DO we asked for is the answer; repeat nothing. */
		if (!was && !asked)
			queue_cmd(tn, LL_TELNET_WILL, opt);
		if (opt == LL_TELNET_OPT_COMPORT)
			set_port(tn);
		return;
	}
	tn->us[opt] = false;
	if (was)
		queue_cmd(tn, LL_TELNET_WONT, opt);
}

/* WILL/WONT: about their side. */
static void
on_will(struct ll_telnet *tn, bool yes, uint8_t opt)
{
	bool was = tn->them[opt], asked = tn->asked_them[opt];

	tn->asked_them[opt] = false;
	if (yes) {
		if (!want_them(opt)) {
			queue_cmd(tn, LL_TELNET_DONT, opt);
			return;
		}
		tn->them[opt] = true;
		if (!was && !asked)
			queue_cmd(tn, LL_TELNET_DO, opt);
		return;
	}
	tn->them[opt] = false;
	if (was)
		queue_cmd(tn, LL_TELNET_DONT, opt);
}

static void
on_option(struct ll_telnet *tn, uint8_t cmd, uint8_t opt)
{
	switch (cmd) {
	case LL_TELNET_DO:
		on_do(tn, true, opt);
		break;
	case LL_TELNET_DONT:
		on_do(tn, false, opt);
		break;
	case LL_TELNET_WILL:
		on_will(tn, true, opt);
		break;
	default:
		on_will(tn, false, opt);
		break;
	}
}

/* A whole sub-negotiation: only the server's SET-BAUDRATE answer matters. */
static void
on_sb(struct ll_telnet *tn)
{
	const uint8_t *b = tn->sb;

	if (tn->sb_len == 6 && b[0] == LL_TELNET_OPT_COMPORT &&
	    b[1] == LL_TELNET_CPO_SET_BAUDRATE + LL_TELNET_CPO_SERVER_OFFSET)
		tn->baud_acked = ll_peek_u32(b + 2);
}

static void
sb_put(struct ll_telnet *tn, uint8_t c)
{
	if (tn->sb_len < sizeof tn->sb)
		tn->sb[tn->sb_len++] = c;
}

size_t
ll_telnet_decode(struct ll_telnet *tn, const uint8_t *in, size_t n,
    uint8_t *data)
{
	size_t i, o = 0;
	uint8_t c;

	for (i = 0; i < n; i++) {
		c = in[i];
		switch (tn->state) {
		case TN_CR:
			tn->state = TN_DATA;
			if (c == 0)
				break;
			/* FALLTHROUGH */
		case TN_DATA:
			if (c == LL_TELNET_IAC) {
				tn->state = TN_IAC;
				break;
			}
			data[o++] = c;
			if (c == '\r' && !tn->them[LL_TELNET_OPT_BINARY])
				tn->state = TN_CR;
			break;
		case TN_IAC:
			tn->state = TN_DATA;
			if (c == LL_TELNET_IAC)
				data[o++] = c;
			else if (c >= LL_TELNET_WILL && c <= LL_TELNET_DONT) {
				tn->cmd = c;
				tn->state = TN_OPT;
			} else if (c == LL_TELNET_SB) {
				tn->sb_len = 0;
				tn->state = TN_SB;
			}
			/* NOP, GA, AYT...: nothing for a console link. */
			break;
		case TN_OPT:
			tn->state = TN_DATA;
			on_option(tn, tn->cmd, c);
			break;
		case TN_SB:
			if (c == LL_TELNET_IAC)
				tn->state = TN_SB_IAC;
			else
				sb_put(tn, c);
			break;
		case TN_SB_IAC:
			if (c == LL_TELNET_IAC) {
				sb_put(tn, c);
				tn->state = TN_SB;
			} else {
				/* SE, or a broken one: either way it ends. */
				if (c == LL_TELNET_SE)
					on_sb(tn);
				tn->state = TN_DATA;
			}
			break;
		}
	}
	return o;
}

size_t
ll_telnet_encode_byte(const struct ll_telnet *tn, uint8_t c, uint8_t out[2])
{
	out[0] = c;
	if (c == LL_TELNET_IAC) {
		out[1] = LL_TELNET_IAC;
		return 2;
	}
	if (c == '\r' && !tn->us[LL_TELNET_OPT_BINARY]) {
		out[1] = 0;
		return 2;
	}
	return 1;
}

void
ll_telnet_reply_sent(struct ll_telnet *tn, size_t n)
{
	if (n >= tn->reply_len) {
		tn->reply_len = 0;
		return;
	}
	memmove(tn->reply, tn->reply + n, tn->reply_len - n);
	tn->reply_len -= n;
}

bool
ll_telnet_is_settled(const struct ll_telnet *tn)
{
	if (tn->asked_us[LL_TELNET_OPT_BINARY] ||
	    tn->asked_them[LL_TELNET_OPT_BINARY])
		return false;
	if (tn->baud == 0)
		return true;
	if (tn->asked_us[LL_TELNET_OPT_COMPORT])
		return false;
	/* COM-PORT-OPTION answered: refused, or wait for the baud. */
	return !tn->us[LL_TELNET_OPT_COMPORT] || tn->baud_acked != 0;
}
