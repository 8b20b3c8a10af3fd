/*
 * Selective-repeat ARQ with per-stream flow control: a pure state machine.
 *
 * The ARQ does no I/O and reads no clock.  Frames that arrived go in with
 * ll_arq_input(); frames to send come out of ll_arq_next_frame(), one at a
 * time, until it returns 0; the caller calls again no later than
 * ll_arq_deadline().  Times are milliseconds on the caller's monotonic clock.
 *
 * DATA frames of all streams share one 16-bit sequence space (serial-number
 * arithmetic, wraps).  At most `window` frames are unacknowledged.  Every
 * frame's ack field is the next sequence number expected from the peer; ACK
 * frames add a 32-bit SACK bitmap and per-stream credit limits:
 *
 *   ACK payload = u32 sack | u8 count | count * (u8 stream, u32 limit)
 *
 * Bit i of sack set: sequence ack + 1 + i has been received.  limit is the
 * absolute stream byte offset (mod 2^32) up to which the peer may send; it
 * starts at LL_STREAM_BUF_MAX for every stream.  See docs/protocol.md,
 * "Link layer", 4. ARQ.
 *
 * The ARQ fills in type, stream, seq, ack, len and payload of the frames it
 * produces; the caller sets dir and encodes them.
 */
#ifndef LL_ARQ_H
#define LL_ARQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "frame.h"
#include "ll-limits.h"

#define LL_ARQ_WINDOW_DEFAULT	64
#define LL_ARQ_SACK_BITS	32
#define LL_ARQ_PAYLOAD_MIN	128	/* adaptive frame size floor */
#define LL_ARQ_OVERHEAD		16	/* frame wire bytes besides payload */
#define LL_ARQ_ACK_LEN(n)	(5 + 5 * (n))	/* ACK payload with n credits */

/* Zero fields take the default given in brackets. */
struct ll_arq_config {
	unsigned window;	/* in flight, <= LL_ARQ_WINDOW_MAX [64] */
	size_t max_payload;	/* DATA payload cap [LL_FRAME_PAYLOAD_MAX] */
	uint32_t rto_init_ms;	/* RTO before the first sample [1000] */
	uint32_t rto_min_ms;	/* [100] */
	uint32_t rto_max_ms;	/* [10000] */
	uint32_t keepalive_ms;	/* ACK after this long without sending [1000] */
	double coding_ratio;	/* wire bytes per payload byte [1.0] */
	bool fixed_payload;	/* do not adapt the frame size to loss */
	/*
	 * Wire bytes of DATA in flight (sent, neither acked nor taken for
	 * lost) at most, besides the frame count; 0: no such cap [0].  With
	 * it the path's queue stays bounded even when the line is slower
	 * than the rate the sender paces to.
	 */
	size_t window_bytes;
	/*
	 * How long the ACK of a DATA frame received in order may wait for a
	 * DATA frame of ours to carry it (ms); 0: at once [0].  Gaps,
	 * duplicates and every second frame are acked at once regardless.
	 */
	uint32_t ack_delay_ms;
	/*
	 * The line's rate in bytes/s when known, else 0 [0]: a frame's
	 * retransmit timer and round-trip sample then start when it has
	 * left (after the frames before it and its own wire time), not when
	 * it was handed out.
	 */
	uint32_t line_rate;
};

struct ll_arq_stats {
	uint64_t frames_sent;		/* DATA + ACK frames produced */
	uint64_t data_sent;		/* DATA frames, first transmissions */
	uint64_t acks_sent;
	uint64_t retransmits;		/* DATA retransmissions, all causes */
	uint64_t fast_retransmits;	/* ... of which triggered by SACK */
	uint64_t timeouts;		/* ... of which triggered by the RTO */
	uint64_t spurious;		/* timeouts whose frame was only late */
	uint64_t frames_received;	/* DATA + ACK frames accepted */
	uint64_t duplicates;		/* DATA already received: dropped */
	uint64_t out_of_order;		/* DATA held for in-order delivery */
	uint64_t stale;			/* DATA outside the receive window */
	uint64_t bad;			/* malformed frames rejected */
	uint64_t bytes_sent, bytes_received;	/* stream payload bytes */
	uint32_t srtt_ms, rttvar_ms, rto_ms;	/* rto_ms includes backoff */
	unsigned inflight;		/* unacknowledged DATA frames */
	size_t inflight_bytes;		/* ... their wire bytes still in the path */
	size_t payload;			/* payload size for new frames */
	double loss;			/* estimated per-wire-byte error rate */
	size_t buffered;		/* bytes held in all stream buffers */
	size_t held;			/* bytes in out-of-order frames */
};

struct ll_arq;

/* NULL on allocation failure or an invalid config (window too large). */
struct ll_arq *ll_arq_new(const struct ll_arq_config *cfg, uint64_t now);
void ll_arq_free(struct ll_arq *arq);	/* NULL is fine */

/*
 * A DATA or ACK frame from the peer (other types: LL_ERR_INVAL).  Returns 0,
 * or LL_ERR_FORMAT for a malformed frame (stream out of range, ACK payload
 * length not exact), which is then ignored entirely, or LL_ERR_NOMEM.
 * Duplicates and stale frames are counted and return 0.
 */
int ll_arq_input(struct ll_arq *arq, const struct ll_frame *f, uint64_t now);

/*
 * Produce the next frame to send into *out: a pending ACK first, then
 * retransmissions, then new data (stream 0 first, then round-robin).
 * Returns 1 when *out holds a frame, 0 when there is nothing to send now.
 * The frame counts as sent at now.
 */
int ll_arq_next_frame(struct ll_arq *arq, uint64_t now, struct ll_frame *out);
/*
 * The ACK frame of the receiver's state now (cumulative ack, SACK bits,
 * every stream's limit), built without changing anything: what a keepalive
 * repeated from outside the ARQ's owner says (agent/watchdog.c).
 */
void ll_arq_peek_ack(const struct ll_arq *arq, struct ll_frame *out);
/* Next time ll_arq_next_frame() has work; 0 when now; UINT64_MAX never. */
uint64_t ll_arq_deadline(const struct ll_arq *arq);
/* Ask for an ACK in the next output (e.g. a keepalive or after a resume). */
void ll_arq_request_ack(struct ll_arq *arq);

/* Stream I/O, streams 0..LL_STREAMS_MAX-1 (LL_ERR_INVAL otherwise). */
size_t ll_arq_writable(const struct ll_arq *arq, unsigned stream);
/* Bytes accepted (0 when the send buffer is full), or LL_ERR_*. */
ssize_t ll_arq_write(struct ll_arq *arq, unsigned stream, const void *p,
    size_t n);
size_t ll_arq_readable(const struct ll_arq *arq, unsigned stream);
/* Bytes copied (0 when none), or LL_ERR_INVAL. */
ssize_t ll_arq_read(struct ll_arq *arq, unsigned stream, void *p, size_t n);
/* true when every written byte of every stream has been acknowledged */
bool ll_arq_is_drained(const struct ll_arq *arq);

/* Cap the payload of new frames (1..LL_FRAME_PAYLOAD_MAX). */
void ll_arq_set_max_payload(struct ll_arq *arq, size_t n);
/* The line rate in bytes/s (0: unknown); see ll_arq_config. */
void ll_arq_set_line_rate(struct ll_arq *arq, uint32_t bytes_per_s);
/* The ACK delay in ms (0: none); see ll_arq_config. */
void ll_arq_set_ack_delay(struct ll_arq *arq, uint32_t ms);
/* The cap on wire bytes in flight (0: none); see ll_arq_config. */
void ll_arq_set_window_bytes(struct ll_arq *arq, size_t n);
/* Wire bytes per payload byte of the current encoding (>= 1). */
void ll_arq_set_coding_ratio(struct ll_arq *arq, double ratio);
void ll_arq_stats(const struct ll_arq *arq, struct ll_arq_stats *s);

#endif
