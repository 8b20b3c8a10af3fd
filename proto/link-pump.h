/*
 * A link on a byte path, pumped: poll the path, feed what arrived to the
 * link, write what the link has to send (paced to a known line rate), and
 * wake for the link's next deadline.
 *
 * The session layer has its own pump, woven with records and the SSH
 * engine.  This one is for programs that use the link's streams as plain
 * byte pipes: the deploy's first stage (built alone, with no libc beyond
 * what the link needs) and the client's side of the deploy.  The path is
 * two fds to poll and a read and a write function, so a stage on a tty and
 * a client on any transport share it.
 */
#ifndef LL_LINK_PUMP_H
#define LL_LINK_PUMP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "clock.h"
#include "link.h"

struct ll_link_pump {
	struct ll_link *link;
	int rfd, wfd;
	/* >0 bytes, LL_ERR_AGAIN for nothing now, 0 or LL_ERR_* at the end */
	ssize_t (*read)(void *ctx, void *p, size_t n);
	/* >= 0 bytes taken (0: would block), or LL_ERR_* */
	ssize_t (*write)(void *ctx, const void *p, size_t n);
	void *ctx;
	unsigned rate;		/* bytes/s to pace to; 0: as fast as taken */
	/* the pump's own */
	struct ll_buf wire;
	double tokens;
	uint64_t token_time;
};

/* Caller fills link..rate; the rest starts here. */
void ll_link_pump_init(struct ll_link_pump *p);
void ll_link_pump_cleanup(struct ll_link_pump *p);

/*
 * One round: wait at most max_wait_ms (less when the link has a deadline),
 * then read, feed, and write.  0, or the path's LL_ERR_* (LL_ERR_CLOSED at
 * its end).  The link's own state says whether it is up or dead.
 */
int ll_link_pump_run(struct ll_link_pump *p, int max_wait_ms);

/*
 * A link's session epoch (struct ll_link_config): random and nonzero, so a
 * restarted peer or a second client is told apart (getrandom; should it
 * fail, the pid and the clock).
 */
uint32_t ll_link_epoch_draw(void);

#endif
