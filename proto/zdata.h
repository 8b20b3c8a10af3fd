/*
 * ZDATA: compressed data records, negotiated in HELLO (cap "zdata").
 *
 *   ZDATA record = header (kind 9, flags channel, id) | u32 raw_len |
 *                  raw deflate stream (RFC 1951) of exactly raw_len bytes
 *
 * A ZDATA record stands for the DATA record of the same channel and id whose
 * body is the raw_len bytes; each record is compressed on its own (the
 * compressor is reset for every record), so records can be dropped, skipped
 * or interleaved between requests without any state shared between them.
 *
 * The sender (ll_zdata_put) is adaptive: a chunk whose record would not be
 * at most 97% of the plain one goes as a plain DATA record, and after such
 * a miss that channel skips trying for 64 KiB, then 128 KiB, ... up to
 * 1 MiB of data, so random data costs neither line time nor much CPU.
 *
 * Memory: the compressor is zlib's deflate with a 32 KiB window
 * (windowBits 15) and memLevel 7, about 192 KiB once it has run; the
 * decompressor (ll_zdata_inflate) lives for one record, about 7 KiB (zlib
 * needs no window when a record inflates in one call).
 */
#ifndef LL_ZDATA_H
#define LL_ZDATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define LL_ZDATA_CAP		"zdata"	/* HELLO capability */
#define LL_ZDATA_WBITS		15	/* deflate window: 32 KiB */
#define LL_ZDATA_MEMLEVEL	7	/* deflate hash: 64 KiB */
#define LL_ZDATA_LEVEL_SLOW	6	/* level on lines up to 1 MB/s */
#define LL_ZDATA_LEVEL_FAST	1	/* level on fast or unknown paths */
#define LL_ZDATA_SLOW_RATE	(1000 * 1000) /* bytes/s: slow up to this */
#define LL_ZDATA_MIN		64	/* shorter chunks are not tried */
#define LL_ZDATA_PERCENT	97	/* a ZDATA record at most this % of DATA */
#define LL_ZDATA_SKIP_MAX	(1024 * 1024) /* bytes not tried after misses */

struct ll_zdata;

/* Counters of what ll_zdata_put sent (raw = before compression). */
struct ll_zdata_stats {
	uint64_t zrecords;	/* ZDATA records */
	uint64_t zraw;		/* their raw bytes */
	uint64_t zwire;		/* their record bytes (header included) */
	uint64_t precords;	/* plain DATA records */
	uint64_t praw;		/* their bytes */
	uint64_t tried;		/* chunks given to deflate */
	uint64_t misses;	/* of those, sent plain: they did not shrink */
	/* Received (ll_session_zdata_stats fills these; ll_zdata_stats 0). */
	uint64_t rx_zrecords;	/* DATA that came as ZDATA */
	uint64_t rx_precords;	/* DATA that came plain */
};

/* A compressor at level (1..9), or NULL out of memory or bad level. */
struct ll_zdata *ll_zdata_new(int level);
void ll_zdata_free(struct ll_zdata *z);
/* Level for a line of rate bytes/s (0 unknown). */
int ll_zdata_level_for_rate(unsigned rate);
/*
 * Append to out one record for the n bytes at p (n <= LL_DATA_CHUNK_MAX)
 * of channel of request id: ZDATA when it pays (1), else plain DATA (0);
 * or a negative LL_ERR_* with nothing appended.
 */
int ll_zdata_put(struct ll_zdata *z, struct ll_buf *out, uint8_t channel,
    uint32_t id, const void *p, size_t n);
void ll_zdata_stats(const struct ll_zdata *z, struct ll_zdata_stats *st);

/*
 * Decode a ZDATA body (u32 raw_len | deflate): *out a new buffer of
 * *out_len = raw_len bytes (the caller frees it).  LL_ERR_FORMAT when
 * raw_len is 0 or over LL_DATA_CHUNK_MAX, the stream is not valid deflate,
 * does not end exactly at the body's end or does not give raw_len bytes;
 * LL_ERR_NOMEM.  *out is NULL on failure.
 */
int ll_zdata_inflate(const uint8_t *body, size_t len, uint8_t **out,
    size_t *out_len);

#endif
