/*
 * A simulated one-way channel in virtual time, for the ARQ and link tests.
 *
 * Bytes (or whole packets) written at the sending end wait in a transmit
 * queue, leave it at the line rate, suffer bit errors, byte drops,
 * duplication and reordering (per departing chunk), and come out at the
 * receiving end `latency_ms` later.  Time only moves when the caller passes
 * a later `now`.  The PRNG is seeded, so every run is reproducible.
 *
 * Byte mode: simchan_write() / simchan_read().  Packet mode (ARQ tests):
 * simchan_send_pkt() / simchan_recv_pkt(); a packet is lost when any of its
 * `wire` bytes would have been hit by an error or a drop.
 */
#ifndef SIMCHAN_H
#define SIMCHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct simchan_config {
	double rate;		/* bytes per ms (11.52 = 115200 baud 8N1) */
	uint32_t latency_ms;
	double ber;		/* per-bit error probability */
	double drop;		/* per-byte drop probability */
	double dup;		/* per-chunk duplication probability */
	double reorder;		/* per-chunk probability to arrive late */
	uint32_t reorder_ms;	/* how late */
	bool strip8;		/* clear the 8th bit of every byte */
	bool cut;		/* lose everything (a dead line) */
	uint64_t seed;
};

struct simchan_stats {
	uint64_t bytes_in, bytes_out, flips, drops, dups, reorders, pkts_lost;
};

struct simchan;

struct simchan *simchan_new(const struct simchan_config *cfg);
void simchan_free(struct simchan *c);
struct simchan_config *simchan_config(struct simchan *c); /* change live */

/* Bytes waiting to go on the wire. */
size_t simchan_queued(const struct simchan *c);
/* Move time forward: bytes leave the queue at the line rate. */
void simchan_advance(struct simchan *c, uint64_t now);

void simchan_write(struct simchan *c, const void *p, size_t n);
/* Put bytes on the wire ahead of the queue (a kernel message). */
void simchan_inject(struct simchan *c, const void *p, size_t n);
/* Bytes that have arrived by now; returns count. */
size_t simchan_read(struct simchan *c, uint64_t now, void *p, size_t n);

void simchan_send_pkt(struct simchan *c, const void *p, size_t n,
    size_t wire);
/* One arrived packet into p (size n); returns its length, 0 when none. */
size_t simchan_recv_pkt(struct simchan *c, uint64_t now, void *p, size_t n);
/* Drop the next packet that departs (deterministic loss for tests). */
void simchan_drop_next(struct simchan *c, unsigned count);

/* The channel's PRNG, for tests that want reproducible randomness. */
uint64_t simchan_rand(struct simchan *c);
double simchan_uniform(struct simchan *c);
void simchan_stats(const struct simchan *c, struct simchan_stats *s);

#endif
