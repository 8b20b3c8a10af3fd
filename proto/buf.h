/*
 * Checked byte buffer: the only way proto/ encodes or decodes bytes.
 *
 * A buffer holds bytes [off, len) of storage d[0..cap).  Writes append at len;
 * reads consume from off.  Every operation returns 0 or a negative LL_ERR_*
 * code; on failure the buffer is unchanged (a failed get consumes nothing, a
 * failed put appends nothing).  Growth never exceeds max: a put that would is
 * LL_ERR_TOOBIG.  Integers are big-endian on the wire.
 *
 * Storage is owned by the buffer: ll_buf_init() with max, ll_buf_cleanup()
 * frees it (safe twice).  ll_buf_wrap() makes a read-only view over caller
 * memory (cap = len, puts fail with LL_ERR_TOOBIG, cleanup frees nothing).
 */
#ifndef LL_BUF_H
#define LL_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ll_buf {
	uint8_t *d;
	size_t off;	/* first unread byte */
	size_t len;	/* end of data */
	size_t cap;	/* allocated */
	size_t max;	/* hard cap on cap */
	bool wrapped;	/* storage belongs to the caller */
};

void ll_buf_init(struct ll_buf *b, size_t max);
void ll_buf_wrap(struct ll_buf *b, const void *p, size_t n);
void ll_buf_cleanup(struct ll_buf *b);
void ll_buf_reset(struct ll_buf *b);		/* drop all data, keep storage */

size_t ll_buf_avail(const struct ll_buf *b);	/* unread bytes */
const uint8_t *ll_buf_ptr(const struct ll_buf *b); /* first unread byte */
int ll_buf_consume(struct ll_buf *b, size_t n);	/* skip n unread bytes */
void ll_buf_compact(struct ll_buf *b);		/* move unread data to front */
/*
 * Make room for n more bytes (may move the unread data); *p receives where
 * to write, then commit up to n of them, with no other call on b between.
 */
int ll_buf_reserve(struct ll_buf *b, size_t n, uint8_t **p);
int ll_buf_commit(struct ll_buf *b, size_t n);

int ll_buf_put(struct ll_buf *b, const void *p, size_t n);
int ll_buf_put_u8(struct ll_buf *b, uint8_t v);
int ll_buf_put_u16(struct ll_buf *b, uint16_t v);
int ll_buf_put_u32(struct ll_buf *b, uint32_t v);
int ll_buf_put_u64(struct ll_buf *b, uint64_t v);

int ll_buf_get(struct ll_buf *b, void *p, size_t n);
int ll_buf_get_u8(struct ll_buf *b, uint8_t *v);
int ll_buf_get_u16(struct ll_buf *b, uint16_t *v);
int ll_buf_get_u32(struct ll_buf *b, uint32_t *v);
int ll_buf_get_u64(struct ll_buf *b, uint64_t *v);
/* Peek without consuming. */
int ll_buf_peek_u32(const struct ll_buf *b, size_t at, uint32_t *v);

/*
 * Big-endian integers at p, for fixed-layout fields whose length the
 * caller has already checked (a frame's header and CRC, a link control
 * payload, an ARQ ack): the one place their byte order is written out.
 * Everything of variable length goes through the checked calls above.
 */
static inline uint16_t
ll_peek_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
ll_peek_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static inline void
ll_poke_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
ll_poke_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#endif
