/*
 * The keepalive watchdog: a thread that speaks for the loop while an
 * operation holds it up (see watchdog.c).
 */
#ifndef LL_AGENT_WATCHDOG_H
#define LL_AGENT_WATCHDOG_H

#include <stddef.h>
#include <stdint.h>

/* After this long away from the loop, the thread starts to send. */
#define WATCHDOG_AFTER_MS	2000
/* And then one frame this often: well within the link's dead time. */
#define WATCHDOG_EVERY_MS	1000

/* Start the thread; -1 with a message logged when it cannot be. */
int watchdog_start(void);
/*
 * The loop is about to run a connection's operations: while it is away,
 * frame (n bytes) may be written to fd (a tty or pipe of a link whose
 * output is all written).  Copied.
 */
void watchdog_arm(const char *name, int fd, const void *frame, size_t n,
    uint64_t now);
/* The loop is back: the thread writes no more; logs what it sent. */
void watchdog_disarm(uint64_t now);

#endif
