/*
 * Telnet (RFC 854) as a console server speaks it (ser2net's telnet mode,
 * most terminal servers): a pure state machine over buffers, no I/O.
 *
 * The client asks for BINARY (RFC 856) and SUPPRESS-GO-AHEAD (RFC 858) both
 * ways, refuses every other option (ECHO included: an echo would only send
 * our frames back), and answers a request only when it changes an option's
 * state, so two peers never loop.  With a baud rate given it also offers
 * COM-PORT-OPTION (RFC 2217) and, once the server agrees, sets the port to
 * BAUD 8N1; the server's answer is kept in ll_telnet.baud_acked.
 *
 * Data: 0xFF (IAC) is doubled on the way out and undoubled on the way in;
 * while a direction is not BINARY, CR travels as CR NUL (RFC 854's NVT rule)
 * and an incoming CR NUL is CR again.  Commands and sub-negotiations are
 * removed from the data wherever a read cuts them.  Replies the parser makes
 * wait in ll_telnet.reply until the transport sends them.
 */
#ifndef LL_TELNET_H
#define LL_TELNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LL_TELNET_IAC		255
#define LL_TELNET_DONT		254
#define LL_TELNET_DO		253
#define LL_TELNET_WONT		252
#define LL_TELNET_WILL		251
#define LL_TELNET_SB		250
#define LL_TELNET_SE		240
#define LL_TELNET_OPT_BINARY	0
#define LL_TELNET_OPT_ECHO	1
#define LL_TELNET_OPT_SGA	3
#define LL_TELNET_OPT_COMPORT	44
/* RFC 2217 client-to-server commands; the server answers with +100. */
#define LL_TELNET_CPO_SET_BAUDRATE	1
#define LL_TELNET_CPO_SET_DATASIZE	2
#define LL_TELNET_CPO_SET_PARITY	3
#define LL_TELNET_CPO_SET_STOPSIZE	4
#define LL_TELNET_CPO_SERVER_OFFSET	100

#define LL_TELNET_SB_MAX	64	/* longer sub-negotiations are cut */
#define LL_TELNET_REPLY_MAX	512	/* queued replies; more are dropped */

struct ll_telnet {
	int state;			/* parser state (telnet.c) */
	uint8_t cmd;			/* WILL/WONT/DO/DONT being read */
	uint8_t sb[LL_TELNET_SB_MAX];	/* sub-negotiation being read */
	size_t sb_len;
	bool us[256];			/* options enabled on our side */
	bool them[256];			/* options enabled on theirs */
	bool asked_us[256];		/* our WILL awaits an answer */
	bool asked_them[256];		/* our DO awaits an answer */
	unsigned baud;			/* to set with RFC 2217, 0 none */
	unsigned baud_acked;		/* the server's answer, 0 none yet */
	bool comport_sent;		/* our SET-BAUDRATE is out */
	uint8_t reply[LL_TELNET_REPLY_MAX];
	size_t reply_len;
	unsigned long dropped;		/* reply bytes that did not fit */
};

/* Start a client; queues the opening requests in tn->reply. */
void ll_telnet_init(struct ll_telnet *tn, unsigned baud);

/*
 * Parse n received bytes: the data in them goes to data (room for n bytes),
 * its length is returned; replies are queued in tn->reply.
 */
size_t ll_telnet_decode(struct ll_telnet *tn, const uint8_t *in, size_t n,
    uint8_t *data);

/*
 * The bytes that carry data byte c (IAC doubled, CR NUL while our side is
 * not BINARY): 1 or 2 of them in out, their count returned.
 */
size_t ll_telnet_encode_byte(const struct ll_telnet *tn, uint8_t c,
    uint8_t out[2]);

/* Drop the first n bytes of tn->reply (they were sent). */
void ll_telnet_reply_sent(struct ll_telnet *tn, size_t n);

/*
 * True once negotiation has settled: BINARY answered both ways and, when a
 * baud was asked for, COM-PORT-OPTION refused or the baud answered.
 */
bool ll_telnet_is_settled(const struct ll_telnet *tn);

#endif
