/*
 * Every size limit of the protocol, in one place.  Each length read from the
 * wire is compared with its cap here before any allocation.
 */
#ifndef LL_LL_LIMITS_H
#define LL_LL_LIMITS_H

#define LL_PROTO_VERSION	1	/* link and message layer version */

/* Link layer */
#define LL_FRAME_PAYLOAD_MAX	4096	/* payload bytes in one frame */
#define LL_FRAME_HEADER_LEN	8	/* coded header bytes before the payload */
#define LL_FRAME_CRC_LEN	4
#define LL_FRAME_WIRE_MAX	6144	/* marker..LF of the largest frame (7-bit) */
#define LL_CONSOLE_LINE_MAX	1024	/* console text handed up in pieces of this */
#define LL_STREAMS_MAX		4	/* link streams: 0 control, 1 bulk, 2-3 spare */
#define LL_ARQ_WINDOW_MAX	128	/* frames in flight */
#define LL_STREAM_BUF_MAX	(256 * 1024) /* per-stream send/receive buffer */

/* Message layer */
#define LL_MSG_HEADER_LEN	10	/* u32 len, u8 kind, u8 flags, u32 id */
#define LL_MSG_MAX		(1024 * 1024) /* body bytes of one message */
#define LL_MSG_JSON_MAX		(256 * 1024)  /* body of a JSON message */
#define LL_DATA_CHUNK_MAX	(64 * 1024)   /* a raw data chunk */

/* Jobs (the agent's; docs/protocol.md "Jobs", lifelined(8) JOBS) */
#define LL_JOBS_MAX		16	/* jobs at once, running or ended */
#define LL_JOB_CHANNEL_MAX	(4 * 1024 * 1024) /* output kept a channel */
#define LL_JOB_KEEP_MS		(15 * 60 * 1000) /* an ended job, from its end */
#define LL_JOB_STDIN_WINDOW	(256 * 1024) /* stdin bytes sent, not yet taken */

#endif
