/*
 * The link: one session over a lossy byte path.  It owns the frame codec,
 * the hello/probe handshake that picks the encoding, and the ARQ that turns
 * frames into several reliable, flow-controlled byte streams.
 *
 * Like the ARQ below it, the link does no I/O and reads no clock: the caller
 * feeds received bytes with ll_link_input(), asks for bytes to send with
 * ll_link_output(), and calls again no later than ll_link_deadline().  All
 * times are milliseconds on one monotonic clock chosen by the caller.
 *
 * Client: ll_link_new() starts sending HELLO; the state goes CONNECTING ->
 * PROBING (unless the encoding is forced) -> UP.  Agent: waits in CONNECTING
 * for a HELLO; a HELLO with a new client epoch starts a new session (the
 * session counter grows; the caller drops what it knew of the old one).
 * DEAD is final; ll_link_error() says why (LL_ERR_TIMEOUT: no answer,
 * LL_ERR_RESET: agent restarted or another client took over, LL_ERR_CLOSED).
 */
#ifndef LL_LINK_H
#define LL_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "frame.h"

enum ll_encoding {
	LL_ENC_AUTO = 0,	/* probe the path, use the widest safe set */
	LL_ENC_7BIT,		/* printable only (R = 93), no probing */
	LL_ENC_8BIT,		/* every byte but LL_ALPHABET_NEVER, no probing */
};

enum ll_link_state {
	LL_LINK_CONNECTING,
	LL_LINK_PROBING,
	LL_LINK_UP,
	LL_LINK_DEAD,
};

enum { LL_LOG_ERROR, LL_LOG_WARN, LL_LOG_INFO, LL_LOG_DEBUG };
typedef void ll_log_fn(void *ctx, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

struct ll_link_config {
	bool is_agent;
	enum ll_encoding encoding;
	uint32_t epoch;		/* random, nonzero; the caller draws it */
	uint32_t hello_ms;	/* HELLO/probe retry interval (default 500) */
	uint32_t connect_ms;	/* client gives up connecting after (10000) */
	uint32_t keepalive_ms;	/* idle ACK interval (1000) */
	uint32_t dead_ms;	/* peer silent this long: DEAD (15000) */
	uint32_t line_rate;	/* bytes/s if known (pacing), 0 = unknown */
	bool ssh;		/* link stream 0 carries SSH (not --insecure) */
	ll_log_fn *log;		/* may be NULL */
	void *log_ctx;
};

/* Why the agent sent RESET (ll_link_reset_reason), as on the wire. */
enum {
	LL_RESET_TAKEOVER = 1,	/* another client took over */
	LL_RESET_UNKNOWN = 2,	/* resume of a session the agent does not know */
	LL_RESET_NEED_SSH = 3,	/* the agent requires SSH inside the link */
	LL_RESET_NO_SSH = 4,	/* the agent runs --insecure, without SSH */
};

struct ll_link_stats {
	uint64_t frames_sent, frames_received, retransmits, crc_errors,
	    format_errors, echoes, duplicates, console_bytes;
	uint64_t bytes_sent, bytes_received;	/* wire bytes */
	uint32_t srtt_ms, rto_ms;
	uint16_t radix;				/* current alphabet size */
	size_t frame_payload;			/* current frame payload size */
};

struct ll_link;

/* NULL on allocation failure. */
struct ll_link *ll_link_new(const struct ll_link_config *cfg, uint64_t now);
void ll_link_free(struct ll_link *l);	/* NULL is fine */

/* Bytes that arrived from the path. */
int ll_link_input(struct ll_link *l, const uint8_t *p, size_t n, uint64_t now);
/*
 * Append at most limit bytes of wire data to out (whole frames only; a frame
 * larger than limit is sent alone when out is empty).  Returns bytes added.
 */
int ll_link_output(struct ll_link *l, struct ll_buf *out, size_t limit,
    uint64_t now);
/* Next time the link needs ll_link_output(); UINT64_MAX if none. */
uint64_t ll_link_deadline(const struct ll_link *l);

enum ll_link_state ll_link_state(const struct ll_link *l);
/*
 * Append to out the keepalive frame ll_link_output would send now (an ACK
 * of what has been received), encoded for the line, changing nothing: a
 * watchdog thread repeats it while the loop that owns the link is held up.
 * LL_ERR_AGAIN when no session is up.
 */
int ll_link_encode_keepalive(const struct ll_link *l, struct ll_buf *out);
int ll_link_error(const struct ll_link *l);
uint32_t ll_link_session(const struct ll_link *l); /* grows per new session */

/* Stream I/O; streams 0..LL_STREAMS_MAX-1.  Valid while UP. */
size_t ll_link_writable(const struct ll_link *l, unsigned stream);
ssize_t ll_link_write(struct ll_link *l, unsigned stream, const void *p,
    size_t n);		/* bytes queued (may be fewer than n), or LL_ERR_* */
ssize_t ll_link_read(struct ll_link *l, unsigned stream, void *p, size_t n);
size_t ll_link_readable(const struct ll_link *l, unsigned stream);
/* true when every queued byte of every stream has been acknowledged */
bool ll_link_is_drained(const struct ll_link *l);

/*
 * Console text received between frames, in arrival order.  Returns bytes
 * copied (0 when none).
 */
size_t ll_link_console(struct ll_link *l, void *p, size_t n);

/*
 * Send CLOSE.  A client link goes DEAD (LL_ERR_CLOSED); an agent link ends
 * the current session and waits for the next client (CONNECTING).
 */
void ll_link_close(struct ll_link *l, uint64_t now);
/* The reason of the RESET that ended a client's link, 0 if none. */
unsigned ll_link_reset_reason(const struct ll_link *l);
/* Does this link carry SSH on stream 0 (its HELLO says so)? */
bool ll_link_is_ssh(const struct ll_link *l);
void ll_link_stats(const struct ll_link *l, struct ll_link_stats *s);
/*
 * A client still connecting gives up connect_ms after now instead (the path
 * has just shown it is there: an exec: child's first output).
 */
void ll_link_restart_connect(struct ll_link *l, uint64_t now,
    uint32_t connect_ms);

#endif
