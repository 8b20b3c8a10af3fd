/*
 * The plain link pump (link-pump.h).  Pacing is a token bucket of 150 ms:
 * at a known line rate the link never queues more than that in the path,
 * so its RTT estimate stays the line's and not the buffer's.  (At 50 ms a
 * pump that a busy machine did not schedule for longer left the line idle:
 * the deploy's transfer used 86-89% of a noisy line at 115200, 89-91%
 * with 150 ms, on a machine with a load of 4 to 8.)
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <sys/random.h>
#include <unistd.h>

#include "error.h"
#include "link-pump.h"
#include "ll-limits.h"

#define PUMP_BURST_MS	150
#define PUMP_ROUNDS	16	/* reads or writes in one round */

uint32_t
ll_link_epoch_draw(void)
{
	uint32_t e = 0;

	while (e == 0) {
		if (getrandom(&e, sizeof(e), 0) != sizeof(e))
			e = (uint32_t)getpid() ^ (uint32_t)ll_now_ms();
	}
	return e;
}

void
ll_link_pump_init(struct ll_link_pump *p)
{
	ll_buf_init(&p->wire, 4 * LL_FRAME_WIRE_MAX);
	p->tokens = 0;
	p->token_time = ll_now_ms();
}

void
ll_link_pump_cleanup(struct ll_link_pump *p)
{
	ll_buf_cleanup(&p->wire);
}

/* Bytes the line has room for now; unlimited without a rate. */
static size_t
pump_budget(struct ll_link_pump *p, uint64_t now)
{
	double depth;

	if (p->rate == 0)
		return 4 * LL_FRAME_WIRE_MAX;
	depth = (double)p->rate * PUMP_BURST_MS / 1000.0;
	p->tokens += (double)p->rate * (double)(now - p->token_time) / 1000.0;
	p->token_time = now;
	if (p->tokens > depth)
		p->tokens = depth;
	return p->tokens > 0 ? (size_t)p->tokens : 0;
}

static int
pump_write(struct ll_link_pump *p, uint64_t now)
{
	int rounds;
	ssize_t w;

	for (rounds = 0; rounds < PUMP_ROUNDS; rounds++) {
		if (ll_buf_avail(&p->wire) == 0) {
			size_t budget = pump_budget(p, now);

			ll_buf_reset(&p->wire);
			if (budget == 0 ||
			    ll_link_output(p->link, &p->wire, budget, now) <= 0)
				break;
			if (p->rate != 0)
				p->tokens -= (double)ll_buf_avail(&p->wire);
		}
		w = p->write(p->ctx, ll_buf_ptr(&p->wire),
		    ll_buf_avail(&p->wire));
		if (w < 0)
			return (int)w;
		if (w == 0)
			break;
		ll_buf_consume(&p->wire, (size_t)w);
	}
	return 0;
}

int
ll_link_pump_run(struct ll_link_pump *p, int max_wait_ms)
{
	struct pollfd pfd[2];
	uint8_t in[4096];
	uint64_t now = ll_now_ms(), deadline;
	int n = 0, rc, rounds, timeout = max_wait_ms;
	ssize_t r;

	deadline = ll_link_deadline(p->link);
	if (deadline != UINT64_MAX) {
		/* Out of tokens: wake when the line has room for a frame. */
		if (p->rate != 0 && p->tokens < 64)
			deadline = deadline > now + 5 ? deadline : now + 5;
		if (deadline <= now)
			timeout = 0;
		else if (deadline - now < (uint64_t)timeout)
			timeout = (int)(deadline - now);
	}
	pfd[n].fd = p->rfd;
	pfd[n].events = POLLIN;
	pfd[n++].revents = 0;
	if (ll_buf_avail(&p->wire) > 0) {
		if (p->wfd == p->rfd)
			pfd[0].events |= POLLOUT;
		else {
			pfd[n].fd = p->wfd;
			pfd[n].events = POLLOUT;
			pfd[n++].revents = 0;
		}
	}
	if (poll(pfd, (nfds_t)n, timeout) < 0 && errno != EINTR)
		return LL_ERR_IO;
	now = ll_now_ms();
	for (rounds = 0; rounds < PUMP_ROUNDS; rounds++) {
		r = p->read(p->ctx, in, sizeof(in));
		if (r == LL_ERR_AGAIN)
			break;
		if (r <= 0)
			return r == 0 ? LL_ERR_CLOSED : (int)r;
		ll_link_input(p->link, in, (size_t)r, now);
	}
	if ((rc = pump_write(p, now)) != 0)
		return rc;
	return 0;
}
