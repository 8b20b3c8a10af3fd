/*
 * Small helpers shared by the unit tests.  A test seeds rnd() with a fixed,
 * printed value so a failing random case reproduces on any libc.
 */
#ifndef LL_TESTUTIL_H
#define LL_TESTUTIL_H

#include <stdint.h>

/* xorshift32: the next value of the sequence in *s (never zero). */
static inline uint32_t
rnd(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

#endif
