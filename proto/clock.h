/*
 * The one clock of both programs and the deploy stage: CLOCK_MONOTONIC in
 * milliseconds, which never jumps with the wall clock.  The state machines
 * (link, ARQ) read no clock; their callers pass them this one.  It is an
 * inline function in a header so that every layer (transports at the
 * bottom included) and the stage, which is built from a handful of proto/
 * files alone, share the one definition without another object file.
 */
#ifndef LL_CLOCK_H
#define LL_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t
ll_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#endif
