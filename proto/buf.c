/*
 * Checked byte buffer.  Data lives in d[off..len); writes go to d[len..cap)
 * and reads advance off.  Storage grows by doubling (from a small first
 * size) but never past max, and space freed at the front by reads is
 * reclaimed by moving the unread bytes down before growing.  Every check is
 * made before anything is touched, so a failed call leaves the buffer as it
 * was; realloc() keeps the old block on failure, which makes growth safe to
 * attempt before compaction.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"

#define LL_BUF_MIN_ALLOC	256

void
ll_buf_init(struct ll_buf *b, size_t max)
{
	memset(b, 0, sizeof *b);
	b->max = max;
}

void
ll_buf_wrap(struct ll_buf *b, const void *p, size_t n)
{
	memset(b, 0, sizeof *b);
	/* The view never writes through d: every put or reserve fails first. */
	b->d = (uint8_t *)(uintptr_t)p;
	b->len = b->cap = b->max = n;
	b->wrapped = true;
}

void
ll_buf_cleanup(struct ll_buf *b)
{
	size_t	max = b->wrapped ? 0 : b->max;

	if (!b->wrapped)
		free(b->d);
	memset(b, 0, sizeof *b);
	b->max = max;
}

void
ll_buf_reset(struct ll_buf *b)
{
	b->off = b->len = 0;
}

size_t
ll_buf_avail(const struct ll_buf *b)
{
	return b->len - b->off;
}

const uint8_t *
ll_buf_ptr(const struct ll_buf *b)
{
	if (b->d == NULL)
		return (const uint8_t *)"";
	return b->d + b->off;
}

int
ll_buf_consume(struct ll_buf *b, size_t n)
{
	if (n > b->len - b->off)
		return LL_ERR_SHORT;
	b->off += n;
	/* An emptied buffer restarts at the front: cheap, avoids memmoves. */
	if (b->off == b->len && !b->wrapped)
		b->off = b->len = 0;
	return 0;
}

void
ll_buf_compact(struct ll_buf *b)
{
	if (b->wrapped || b->off == 0)
		return;
	memmove(b->d, b->d + b->off, b->len - b->off);
	b->len -= b->off;
	b->off = 0;
}

int
ll_buf_reserve(struct ll_buf *b, size_t n, uint8_t **p)
{
	size_t	 need, ncap;
	uint8_t	*nd;

	if (b->wrapped)
		return LL_ERR_TOOBIG;
	if (n <= b->cap - b->len)
		goto out_ok;
	need = b->len - b->off;
	if (n > b->max || need > b->max - n)
		return LL_ERR_TOOBIG;
	need += n;
	if (need > b->cap) {
		ncap = b->cap < LL_BUF_MIN_ALLOC ? LL_BUF_MIN_ALLOC : b->cap;
		while (ncap < need && ncap <= b->max / 2)
			ncap *= 2;
		if (ncap < need || ncap > b->max)
			ncap = b->max;
		if ((nd = realloc(b->d, ncap)) == NULL)
			return LL_ERR_NOMEM;
		b->d = nd;
		b->cap = ncap;
	}
	ll_buf_compact(b);
out_ok:
	if (p != NULL)
		*p = b->d + b->len;
	return 0;
}

int
ll_buf_commit(struct ll_buf *b, size_t n)
{
	if (b->wrapped || n > b->cap - b->len)
		return LL_ERR_INVAL;
	b->len += n;
	return 0;
}

int
ll_buf_put(struct ll_buf *b, const void *p, size_t n)
{
	uint8_t	*w;
	int	 r;

	if (n == 0)
		return 0;
	if ((r = ll_buf_reserve(b, n, &w)) != 0)
		return r;
	memcpy(w, p, n);
	b->len += n;
	return 0;
}

int
ll_buf_put_u8(struct ll_buf *b, uint8_t v)
{
	return ll_buf_put(b, &v, 1);
}

int
ll_buf_put_u16(struct ll_buf *b, uint16_t v)
{
	uint8_t	w[2];

	ll_poke_u16(w, v);
	return ll_buf_put(b, w, sizeof w);
}

int
ll_buf_put_u32(struct ll_buf *b, uint32_t v)
{
	uint8_t	w[4];

	ll_poke_u32(w, v);
	return ll_buf_put(b, w, sizeof w);
}

int
ll_buf_put_u64(struct ll_buf *b, uint64_t v)
{
	uint8_t	w[8];
	int	i;

	for (i = 0; i < 8; i++)
		w[i] = v >> (56 - 8 * i);
	return ll_buf_put(b, w, sizeof w);
}

int
ll_buf_get(struct ll_buf *b, void *p, size_t n)
{
	if (n > b->len - b->off)
		return LL_ERR_SHORT;
	if (n > 0 && p != NULL)
		memcpy(p, b->d + b->off, n);
	return ll_buf_consume(b, n);
}

static uint64_t
ll_buf_be(const uint8_t *s, size_t n)
{
	uint64_t	v = 0;
	size_t		i;

	for (i = 0; i < n; i++)
		v = (v << 8) | s[i];
	return v;
}

int
ll_buf_get_u8(struct ll_buf *b, uint8_t *v)
{
	if (b->len - b->off < 1)
		return LL_ERR_SHORT;
	if (v != NULL)
		*v = b->d[b->off];
	return ll_buf_consume(b, 1);
}

int
ll_buf_get_u16(struct ll_buf *b, uint16_t *v)
{
	if (b->len - b->off < 2)
		return LL_ERR_SHORT;
	if (v != NULL)
		*v = (uint16_t)ll_buf_be(b->d + b->off, 2);
	return ll_buf_consume(b, 2);
}

int
ll_buf_get_u32(struct ll_buf *b, uint32_t *v)
{
	if (b->len - b->off < 4)
		return LL_ERR_SHORT;
	if (v != NULL)
		*v = (uint32_t)ll_buf_be(b->d + b->off, 4);
	return ll_buf_consume(b, 4);
}

int
ll_buf_get_u64(struct ll_buf *b, uint64_t *v)
{
	if (b->len - b->off < 8)
		return LL_ERR_SHORT;
	if (v != NULL)
		*v = ll_buf_be(b->d + b->off, 8);
	return ll_buf_consume(b, 8);
}

int
ll_buf_peek_u32(const struct ll_buf *b, size_t at, uint32_t *v)
{
	size_t	avail = b->len - b->off;

	if (at > avail || avail - at < 4)
		return LL_ERR_SHORT;
	if (v != NULL)
		*v = (uint32_t)ll_buf_be(b->d + b->off + at, 4);
	return 0;
}
