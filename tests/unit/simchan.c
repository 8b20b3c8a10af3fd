/*
 * Simulated channel: a transmit queue drained at the line rate into a list
 * of in-flight chunks sorted by arrival time.  A chunk is what departs in one
 * advance() step (byte mode) or one packet (packet mode); damage is applied
 * as bytes depart.  See simchan.h.
 */
#include <stdlib.h>
#include <string.h>

#include "simchan.h"

struct chunk {
	struct chunk *next;
	uint64_t at;		/* arrival time */
	size_t len, off;
	size_t wire;		/* packet mode: wire bytes */
	uint8_t data[];
};

struct simchan {
	struct simchan_config cfg;
	uint64_t rng;
	uint64_t t;
	double credit;
	uint8_t *q;		/* byte mode transmit queue */
	size_t qlen, qcap;
	struct chunk *pq, *pq_tail;	/* packet mode transmit queue */
	size_t pq_bytes;
	struct chunk *fl;	/* in flight, by arrival time */
	unsigned drop_next;
	struct simchan_stats st;
};

uint64_t
simchan_rand(struct simchan *c)
{
	/* splitmix64 */
	uint64_t z = (c->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

double
simchan_uniform(struct simchan *c)
{
	return (simchan_rand(c) >> 11) * (1.0 / 9007199254740992.0);
}

struct simchan *
simchan_new(const struct simchan_config *cfg)
{
	struct simchan *c = calloc(1, sizeof(*c));

	if (c == NULL)
		abort();
	c->cfg = *cfg;
	c->rng = cfg->seed;
	return c;
}

void
simchan_free(struct simchan *c)
{
	struct chunk *k;

	if (c == NULL)
		return;
	while ((k = c->fl) != NULL) {
		c->fl = k->next;
		free(k);
	}
	while ((k = c->pq) != NULL) {
		c->pq = k->next;
		free(k);
	}
	free(c->q);
	free(c);
}

struct simchan_config *
simchan_config(struct simchan *c)
{
	return &c->cfg;
}

size_t
simchan_queued(const struct simchan *c)
{
	return c->qlen + c->pq_bytes;
}

static double
byte_error(const struct simchan *c)
{
	double ok = 1;
	int i;

	for (i = 0; i < 8; i++)
		ok *= 1 - c->cfg.ber;
	return 1 - ok;
}

static void
fly(struct simchan *c, struct chunk *k, uint64_t now)
{
	struct chunk **pp;

	k->at = now + c->cfg.latency_ms;
	if (c->cfg.reorder > 0 && simchan_uniform(c) < c->cfg.reorder) {
		k->at += c->cfg.reorder_ms;
		c->st.reorders++;
	}
	for (pp = &c->fl; *pp != NULL && (*pp)->at <= k->at; pp = &(*pp)->next)
		;
	k->next = *pp;
	*pp = k;
	if (c->cfg.dup > 0 && simchan_uniform(c) < c->cfg.dup) {
		struct chunk *d = malloc(sizeof(*d) + k->len);

		if (d == NULL)
			abort();
		memcpy(d, k, sizeof(*d) + k->len);
		d->next = k->next;
		k->next = d;
		c->st.dups++;
	}
}

static void
depart_bytes(struct simchan *c, size_t n, uint64_t now)
{
	struct chunk *k = malloc(sizeof(*k) + n);
	double pe = byte_error(c);
	size_t i, out = 0;
	uint8_t b;

	if (k == NULL)
		abort();
	memset(k, 0, sizeof(*k));
	for (i = 0; i < n; i++) {
		b = c->q[i];
		if (c->cfg.cut)
			continue;
		if (c->cfg.strip8)
			b &= 0x7f;
		if (pe > 0 && simchan_uniform(c) < pe) {
			b ^= 1 << (simchan_rand(c) % 8);
			c->st.flips++;
		}
		if (c->cfg.drop > 0 && simchan_uniform(c) < c->cfg.drop) {
			c->st.drops++;
			continue;
		}
		k->data[out++] = b;
	}
	memmove(c->q, c->q + n, c->qlen - n);
	c->qlen -= n;
	c->st.bytes_out += out;
	if (out == 0) {
		free(k);
		return;
	}
	k->len = out;
	fly(c, k, now);
}

static void
depart_pkt(struct simchan *c, uint64_t now)
{
	struct chunk *k = c->pq;
	double ok = 1, q = byte_error(c) + c->cfg.drop;
	size_t i;

	c->pq = k->next;
	if (c->pq == NULL)
		c->pq_tail = NULL;
	c->pq_bytes -= k->wire;
	for (i = 0; i < k->wire && q > 0; i++)
		ok *= 1 - q;
	if (c->cfg.cut || c->drop_next > 0 || simchan_uniform(c) >= ok) {
		if (c->drop_next > 0)
			c->drop_next--;
		c->st.pkts_lost++;
		free(k);
		return;
	}
	c->st.bytes_out += k->wire;
	fly(c, k, now);
}

void
simchan_advance(struct simchan *c, uint64_t now)
{
	size_t n;

	if (now <= c->t)
		return;
	/* An idle line banks no time. */
	if (simchan_queued(c) == 0)
		c->credit = 0;
	c->credit += c->cfg.rate * (double)(now - c->t);
	c->t = now;
	if (c->qlen > 0) {
		n = (size_t)c->credit;
		if (n > c->qlen)
			n = c->qlen;
		c->credit -= (double)n;
		if (n > 0)
			depart_bytes(c, n, now);
	}
	while (c->pq != NULL && c->credit >= (double)c->pq->wire) {
		c->credit -= (double)c->pq->wire;
		depart_pkt(c, now);
	}
}

static void
q_reserve(struct simchan *c, size_t n)
{
	if (c->qlen + n <= c->qcap)
		return;
	c->qcap = (c->qlen + n) * 2;
	if ((c->q = realloc(c->q, c->qcap)) == NULL)
		abort();
}

void
simchan_write(struct simchan *c, const void *p, size_t n)
{
	q_reserve(c, n);
	memcpy(c->q + c->qlen, p, n);
	c->qlen += n;
	c->st.bytes_in += n;
}

void
simchan_inject(struct simchan *c, const void *p, size_t n)
{
	q_reserve(c, n);
	memmove(c->q + n, c->q, c->qlen);
	memcpy(c->q, p, n);
	c->qlen += n;
	c->st.bytes_in += n;
}

size_t
simchan_read(struct simchan *c, uint64_t now, void *p, size_t n)
{
	struct chunk *k;
	size_t got = 0, m;

	simchan_advance(c, now);
	while (got < n && (k = c->fl) != NULL && k->at <= now) {
		m = k->len - k->off;
		if (m > n - got)
			m = n - got;
		memcpy((uint8_t *)p + got, k->data + k->off, m);
		got += m;
		k->off += m;
		if (k->off == k->len) {
			c->fl = k->next;
			free(k);
		}
	}
	return got;
}

void
simchan_send_pkt(struct simchan *c, const void *p, size_t n, size_t wire)
{
	struct chunk *k = malloc(sizeof(*k) + n);

	if (k == NULL)
		abort();
	memset(k, 0, sizeof(*k));
	memcpy(k->data, p, n);
	k->len = n;
	k->wire = wire;
	if (c->pq_tail != NULL)
		c->pq_tail->next = k;
	else
		c->pq = k;
	c->pq_tail = k;
	c->pq_bytes += wire;
	c->st.bytes_in += wire;
}

size_t
simchan_recv_pkt(struct simchan *c, uint64_t now, void *p, size_t n)
{
	struct chunk *k;
	size_t len;

	simchan_advance(c, now);
	if ((k = c->fl) == NULL || k->at > now)
		return 0;
	c->fl = k->next;
	len = k->len < n ? k->len : n;
	memcpy(p, k->data, len);
	free(k);
	return len;
}

void
simchan_drop_next(struct simchan *c, unsigned count)
{
	c->drop_next = count;
}

void
simchan_stats(const struct simchan *c, struct simchan_stats *s)
{
	*s = c->st;
}
