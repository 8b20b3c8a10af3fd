/*
 * A session: one transport, the link over it, and the message layer on the
 * link's streams.  This is where the pure state machines meet real I/O; both
 * programs drive a session from their own poll() loop:
 *
 *	n = ll_session_pollfds(s, pfd, now, &timeout);	 add to the poll set
 *	poll(...);
 *	ll_session_io(s, pfd, now);			 read, feed, write
 *	while (ll_session_recv(s, &m) == 1) ...		 handle messages
 *
 * Control records go on link stream 0, DATA and EOF on stream 1 (with
 * --insecure); with SSH inside the link, stream 0 carries the SSH session
 * and every record goes, in order, through the engine's channel
 * (ll_session_set_tunnel); without a link, directly on an SSH channel
 * (ll_session_new_direct).  Sending
 * queues the record; ll_session_room() says how much bulk data may be queued
 * now, so a producer (a child's stdout) is only read when there is room and
 * memory stays bounded.  When the transport's line rate is known, output is
 * paced to it so frames wait in the ARQ (where control goes first) instead
 * of in a kernel buffer.
 */
#ifndef LL_SESSION_H
#define LL_SESSION_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "clock.h"
#include "link.h"
#include "msg.h"
#include "transport.h"
#include "zdata.h"

struct ll_session;

typedef void ll_console_fn(void *ctx, const uint8_t *p, size_t n);

/* Most fds ll_session_pollfds() fills. */
#define LL_SESSION_POLLFDS_MAX	4

/*
 * Take ownership of t (closed by ll_session_free).  cfg is copied; when
 * cfg->line_rate is 0 the transport's rate is used.  NULL on no memory.
 */
struct ll_session *ll_session_new(struct ll_transport *t,
    const struct ll_link_config *cfg, uint64_t now);
void ll_session_free(struct ll_session *s);

/*
 * A session without a link: records go directly on t, which is already
 * reliable and authenticated (the plain side of an SSH channel).  The
 * session counts as up from the start; its generation never changes.
 */
struct ll_session *ll_session_new_direct(struct ll_transport *t);

/*
 * SSH inside the link.  Once set, link stream 0 carries the bytes of an SSH
 * engine (ssh-common.h) instead of records, and records go through the
 * engine's plain side.  Each time a link session starts (the client's one,
 * or every new client on an agent's link), fn is called for a fresh pair of
 * fds: *cipher_fd, whose bytes the session carries on the link, and
 * *plain_fd, where records go; both non-blocking and owned by the session
 * from then on (the previous pair is closed, which ends that engine).  fn
 * returns 0, or a negative LL_ERR_* that ends the link session.
 */
typedef int ll_tunnel_fn(void *ctx, int *cipher_fd, int *plain_fd);
void ll_session_set_tunnel(struct ll_session *s, ll_tunnel_fn *fn, void *ctx);

void ll_session_set_console(struct ll_session *s, ll_console_fn *fn,
    void *ctx);

/* Fill up to LL_SESSION_POLLFDS_MAX pollfds; lower *timeout_ms (if >= 0) to the next deadline. */
int ll_session_pollfds(struct ll_session *s, struct pollfd *pfd, uint64_t now,
    int *timeout_ms);
/*
 * Do the I/O the poll results allow (pfd as filled by ll_session_pollfds,
 * or NULL to just try), advance the link.  Returns 0, or a negative LL_ERR_*
 * when the session is over: LL_ERR_CLOSED (transport EOF or peer CLOSE),
 * LL_ERR_TIMEOUT, LL_ERR_RESET, LL_ERR_IO; ll_session_error_text() then
 * says it in words.
 */
int ll_session_io(struct ll_session *s, const struct pollfd *pfd,
    uint64_t now);
const char *ll_session_error_text(const struct ll_session *s);

bool ll_session_is_up(const struct ll_session *s);
/* Changes each time the agent side accepts a new client session. */
uint32_t ll_session_generation(const struct ll_session *s);
struct ll_link *ll_session_link(struct ll_session *s);
struct ll_transport *ll_session_transport(struct ll_session *s);
/* Whether every frame the link has given out is written to the transport. */
bool ll_session_output_idle(const struct ll_session *s);

/*
 * Next complete message: 1 and *m filled (ll_msg_cleanup it), 0 when none,
 * or a negative LL_ERR_* for a record that could not be decoded (a format
 * error is consumed; LL_ERR_TOOBIG means the stream is lost).
 */
int ll_session_recv(struct ll_session *s, struct ll_msg *m);
/*
 * Before abandoning a session whose ll_session_recv() has nothing complete
 * left: the bytes so far of a DATA record still arriving, as
 * ll_msg_peek_partial_data() (1 with *m, 0 when none).  Nothing is consumed.
 */
int ll_session_peek_partial(struct ll_session *s, struct ll_msg *m);

int ll_session_send_json(struct ll_session *s, uint8_t kind, uint32_t id,
    const json_t *obj);
int ll_session_send_error(struct ll_session *s, uint32_t id, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int ll_session_send_data(struct ll_session *s, uint8_t channel, uint32_t id,
    const void *p, size_t n);
int ll_session_send_eof(struct ll_session *s, uint8_t channel, uint32_t id);
/*
 * Send DATA compressed (ZDATA records, zdata.h) from now on, or not: turn
 * it on only when both HELLOs listed LL_ZDATA_CAP.  The level follows the
 * line rate (6 up to 1 MB/s, else 1).  An agent's link turns it off by
 * itself when a new client session starts.  0 or LL_ERR_NOMEM.  Receiving
 * ZDATA needs nothing: ll_session_recv() hands it up as DATA.
 */
int ll_session_set_compress(struct ll_session *s, bool on);
bool ll_session_compresses(const struct ll_session *s);
/* What the compressor sent so far (all zero before it was first on). */
void ll_session_zdata_stats(const struct ll_session *s,
    struct ll_zdata_stats *st);
/* Bulk bytes that may be queued now without exceeding the bound; 0 until
 * at least a quarter of a data chunk is free. */
size_t ll_session_room(const struct ll_session *s);
/* true when nothing is queued or unacknowledged */
bool ll_session_is_drained(const struct ll_session *s);
/* Orderly end: flush (up to timeout_ms), send CLOSE, flush that. */
void ll_session_close(struct ll_session *s, int timeout_ms);


#endif
