/*
 * The keepalive watchdog.  The agent runs every operation on its one loop,
 * and some of them block it: libblkid reading every disk to resolve
 * LABEL=, a read from a disk that is failing or throttled, a slow mount.
 * While the loop is held up no frame goes out, and after the link's dead
 * time (15 s) the client gives the session up: the operator loses the
 * answer of a fsck or a get that the agent then finishes anyway.
 *
 * So before the loop runs a connection's operations it leaves here the
 * keepalive frame its link would send now (an ACK of what has arrived,
 * ll_link_encode_keepalive) and the fd the frame goes to, and this thread
 * writes that frame once a second for as long as the loop has been away
 * more than two seconds.  A repeated ACK changes nothing at the client but
 * the time it last heard the agent; frames the client sends meanwhile wait
 * in the tty and are answered when the loop is back.  The frame is only
 * armed when everything the link gave out is written (no frame of the
 * loop's own is cut by ours), the loop writes to that fd only after
 * disarming, and arming and writing take the one lock: the two never
 * write at the same time.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "watchdog.h"

#define WATCHDOG_FRAME_MAX	256	/* an ACK frame is about 45 bytes */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	bool armed;
	int fd;
	char name[64];
	uint8_t frame[WATCHDOG_FRAME_MAX];
	size_t len;
	uint64_t since, last;	/* armed at; last frame written at */
	unsigned sent;
} wd;

static void *
watchdog_main(void *arg)
{
	struct timespec ts = { 0, 250 * 1000000L };

	(void)arg;
	for (;;) {
		uint64_t now;

		nanosleep(&ts, NULL);
		now = ll_now_ms();
		pthread_mutex_lock(&lock);
		if (wd.armed && now - wd.since >= WATCHDOG_AFTER_MS &&
		    (wd.last == 0 || now - wd.last >= WATCHDOG_EVERY_MS)) {
			/* all or nothing: a cut frame would only be noise */
			ssize_t w = write(wd.fd, wd.frame, wd.len);

			if (w == (ssize_t)wd.len) {
				wd.sent++;
				wd.last = now;
			} else if (w > 0) {
				wd.armed = false;	/* the line is not ours */
			}
		}
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

int
watchdog_start(void)
{
	pthread_t t;
	int e;

	if ((e = pthread_create(&t, NULL, watchdog_main, NULL)) != 0) {
		log_warn("no keepalive watchdog (%s): a blocking operation "
		    "longer than the link's dead time loses its session",
		    strerror(e));
		return -1;
	}
	/* by name in ps -L and /proc/PID/task/N/comm */
	pthread_setname_np(t, "ll-watchdog");
	pthread_detach(t);
	return 0;
}

void
watchdog_arm(const char *name, int fd, const void *frame, size_t n,
    uint64_t now)
{
	if (n > sizeof(wd.frame))
		return;
	pthread_mutex_lock(&lock);
	wd.fd = fd;
	snprintf(wd.name, sizeof(wd.name), "%s", name);
	memcpy(wd.frame, frame, n);
	wd.len = n;
	wd.since = now;
	wd.last = 0;
	wd.sent = 0;
	wd.armed = true;
	pthread_mutex_unlock(&lock);

}

void
watchdog_disarm(uint64_t now)
{
	unsigned sent;
	uint64_t since;
	char name[sizeof(wd.name)];

	pthread_mutex_lock(&lock);
	sent = wd.armed ? wd.sent : 0;
	since = wd.since;
	snprintf(name, sizeof(name), "%s", wd.name);
	wd.armed = false;
	pthread_mutex_unlock(&lock);
	if (sent > 0)
		log_info("%s: an operation held the loop for %.1f s; the "
		    "watchdog kept the link alive with %u keepalive%s", name,
		    (double)(now - since) / 1000.0, sent, sent == 1 ? "" : "s");
}
