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

#endif
