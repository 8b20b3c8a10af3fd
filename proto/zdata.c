/*
 * ZDATA records (zdata.h): zlib's raw deflate, one record at a time.
 *
 * Sending deflates straight into the output queue: room for the header and
 * the largest body worth sending (LL_ZDATA_PERCENT of the plain record) is
 * reserved, deflate is given exactly that room, and when it cannot finish
 * in it the chunk goes as plain DATA instead, without ever having compressed
 * more than that bound.  Receiving inflates into a buffer of the announced
 * length, which is capped before anything is allocated.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "error.h"
#include "ll-limits.h"
#include "msg.h"
#include "zdata.h"

#define ZDATA_CHANNELS	(LL_CH_FILE + 1)

struct zdata_channel {
	uint32_t id;		/* request the counters below are for */
	unsigned misses;	/* chunks in a row that did not shrink */
	uint64_t skip;		/* bytes still to send without trying */
};

struct ll_zdata {
	z_stream zs;
	struct zdata_channel ch[ZDATA_CHANNELS];
	struct ll_zdata_stats st;
};

struct ll_zdata *
ll_zdata_new(int level)
{
	struct ll_zdata *z;

	if (level < 1 || level > 9 || (z = calloc(1, sizeof(*z))) == NULL)
		return NULL;
	/* Negative windowBits: raw deflate, no zlib header or Adler-32 (the
	 * link's CRC or SSH's MAC already covers the record). */
	if (deflateInit2(&z->zs, level, Z_DEFLATED, -LL_ZDATA_WBITS,
	    LL_ZDATA_MEMLEVEL, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(z);
		return NULL;
	}
	return z;
}

void
ll_zdata_free(struct ll_zdata *z)
{
	if (z == NULL)
		return;
	deflateEnd(&z->zs);
	free(z);
}

int
ll_zdata_level_for_rate(unsigned rate)
{
	return rate != 0 && rate <= LL_ZDATA_SLOW_RATE ? LL_ZDATA_LEVEL_SLOW :
	    LL_ZDATA_LEVEL_FAST;
}

void
ll_zdata_stats(const struct ll_zdata *z, struct ll_zdata_stats *st)
{
	if (z == NULL)
		memset(st, 0, sizeof(*st));
	else
		*st = z->st;
}

/* Whether to try deflate on n more bytes of ch for request id. */
static bool
zdata_should_try(struct ll_zdata *z, uint8_t channel, uint32_t id, size_t n)
{
	struct zdata_channel *c = &z->ch[channel];

	if (c->id != id) {
		/* A new request: its data owes nothing to the last one's. */
		memset(c, 0, sizeof(*c));
		c->id = id;
	}
	if (c->skip > 0) {
		c->skip = c->skip > n ? c->skip - n : 0;
		return false;
	}
	return n >= LL_ZDATA_MIN;
}

/* Deflate did not shrink a chunk of ch: skip a growing stretch. */
static void
zdata_missed(struct ll_zdata *z, uint8_t channel)
{
	struct zdata_channel *c = &z->ch[channel];
	uint64_t skip = (uint64_t)LL_DATA_CHUNK_MAX << (c->misses < 8 ?
	    c->misses : 8);

	c->misses++;
	c->skip = skip < LL_ZDATA_SKIP_MAX ? skip : LL_ZDATA_SKIP_MAX;
	z->st.misses++;
}

/*
 * Deflate n bytes at p into the body at w (room: the u32 and cap bytes
 * after it).  The record length, or 0 when it does not fit in cap.
 */
static size_t
zdata_deflate(struct ll_zdata *z, uint8_t *w, size_t cap, const void *p,
    size_t n)
{
	size_t out;
	int r;

	if (deflateReset(&z->zs) != Z_OK)
		return 0;
	z->zs.next_in = (Bytef *)(uintptr_t)p;
	z->zs.avail_in = (uInt)n;
	z->zs.next_out = w + LL_MSG_HEADER_LEN + 4;
	z->zs.avail_out = (uInt)cap;
	r = deflate(&z->zs, Z_FINISH);
	out = cap - z->zs.avail_out;
	z->zs.next_in = z->zs.next_out = NULL;
	if (r != Z_STREAM_END)
		return 0;		/* out of room: it does not pay */
	return LL_MSG_HEADER_LEN + 4 + out;
}

int
ll_zdata_put(struct ll_zdata *z, struct ll_buf *out, uint8_t channel,
    uint32_t id, const void *p, size_t n)
{
	size_t plain = LL_MSG_HEADER_LEN + n, limit, rec;
	uint8_t *w;
	int r;

	if (!ll_msg_channel_is_valid(channel) || n > LL_DATA_CHUNK_MAX ||
	    (n > 0 && p == NULL))
		return LL_ERR_INVAL;
	limit = plain * LL_ZDATA_PERCENT / 100;
	if (zdata_should_try(z, channel, id, n) &&
	    limit > LL_MSG_HEADER_LEN + 4) {
		if ((r = ll_buf_reserve(out, limit, &w)) != 0)
			return r;
		z->st.tried++;
		rec = zdata_deflate(z, w, limit - LL_MSG_HEADER_LEN - 4, p, n);
		if (rec > 0) {
			/* The header as msg.c writes it (docs/protocol.md). */
			ll_poke_u32(w, (uint32_t)(rec - LL_MSG_HEADER_LEN));
			w[4] = LL_MSG_ZDATA;
			w[5] = channel;
			ll_poke_u32(w + 6, id);
			ll_poke_u32(w + LL_MSG_HEADER_LEN, (uint32_t)n);
			if ((r = ll_buf_commit(out, rec)) != 0)
				return r;
			z->ch[channel].misses = 0;
			z->st.zrecords++;
			z->st.zraw += n;
			z->st.zwire += rec;
			return 1;
		}
		zdata_missed(z, channel);
	}
	if ((r = ll_msg_put_data(out, LL_MSG_DATA, channel, id, p, n)) != 0)
		return r;
	z->st.precords++;
	z->st.praw += n;
	return 0;
}

int
ll_zdata_inflate(const uint8_t *body, size_t len, uint8_t **out,
    size_t *out_len)
{
	z_stream zs;
	uint8_t *buf = NULL;
	uint32_t raw;
	int r, zr;

	*out = NULL;
	*out_len = 0;
	if (len < 5 || len > LL_DATA_CHUNK_MAX)
		return LL_ERR_FORMAT;
	raw = ll_peek_u32(body);
	/* The cap comes before the allocation (and bounds a "zip bomb"). */
	if (raw == 0 || raw > LL_DATA_CHUNK_MAX)
		return LL_ERR_FORMAT;
	if ((buf = malloc(raw)) == NULL)
		return LL_ERR_NOMEM;
	memset(&zs, 0, sizeof(zs));
	if ((zr = inflateInit2(&zs, -LL_ZDATA_WBITS)) != Z_OK) {
		r = zr == Z_MEM_ERROR ? LL_ERR_NOMEM : LL_ERR_FORMAT;
		goto out;
	}
	zs.next_in = (Bytef *)(uintptr_t)(body + 4);
	zs.avail_in = (uInt)(len - 4);
	zs.next_out = buf;
	zs.avail_out = raw;
	zr = inflate(&zs, Z_FINISH);
	/* Exactly raw bytes, the final block ending at the body's end. */
	if (zr == Z_STREAM_END && zs.avail_in == 0 && zs.avail_out == 0)
		r = 0;
	else
		r = zr == Z_MEM_ERROR ? LL_ERR_NOMEM : LL_ERR_FORMAT;
	inflateEnd(&zs);
out:
	if (r != 0) {
		free(buf);
		return r;
	}
	*out = buf;
	*out_len = raw;
	return 0;
}
