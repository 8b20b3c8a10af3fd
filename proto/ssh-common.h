/*
 * SSH engines: each libssh session runs in a thread of its own and talks to
 * the program's poll() loop only through socketpairs, so the loop never
 * blocks in libssh and a session's two byte streams look like any other fd:
 *
 *	cipher side	the SSH protocol bytes (a TCP socket, or a socketpair
 *			whose other end the loop carries on a link stream)
 *	plain side	what the channel carries, in the clear (lifeline
 *			records, or a console's bytes)
 *
 * The helpers here are shared by the client engine (ssh-client.c) and the
 * agent's server engine (agent/ssh-server.c).
 */
#ifndef LL_SSH_COMMON_H
#define LL_SSH_COMMON_H

#include <stddef.h>

#include <libssh/libssh.h>

#define LL_SSH_SUBSYSTEM	"lifeline"
#define LL_SSH_FP_MAX		96	/* "SHA256:" + base64 + NUL, with room */

/*
 * A socketpair with small kernel buffers, so that flow control reaches the
 * producer instead of piling bytes up in the kernel.  fds[0] is for the
 * poll loop (non-blocking, close-on-exec), fds[1] for the engine
 * (close-on-exec).  0 or -errno.
 */
int ll_ssh_socketpair(int fds[2]);

/*
 * Liveness of an SSH peer reached over a network.  After LL_SSH_KEEPALIVE_MS
 * without a byte from the peer the pump asks it for a sign of life (an
 * SSH keepalive request, which every server and client answers); after
 * LL_SSH_STALL_MS without one the session ends with an error, and a write
 * to a peer that has taken nothing for that long fails too.  Inside a
 * console link the link's own timeouts judge the line instead (a slow line
 * may hold a keepalive behind minutes of queued data).
 */
#define LL_SSH_KEEPALIVE_MS	15000
#define LL_SSH_STALL_MS		60000

/*
 * Copy bytes both ways between an open channel and fd until both directions
 * have ended (EOF each way, or the channel closed, or fd hung up); a
 * channel EOF becomes shutdown(fd, SHUT_WR) and EOF on fd becomes a channel
 * EOF.  stall_ms > 0: keepalives, and the end of a peer silent for that
 * long (LL_SSH_STALL_MS over a network); 0: none (a link below judges).
 * 0 on an orderly end, -1 with a message in err otherwise.  Blocking, but
 * no wait is unbounded; runs in the engine's thread.
 */
int ll_ssh_pump(ssh_session s, ssh_channel ch, int fd, int stall_ms,
    char *err, size_t errlen);

/* "SHA256:<base64>" of key into buf (as OpenSSH prints it).  0 or -1. */
int ll_ssh_fingerprint(ssh_key key, char *buf, size_t len);

/* Once per process, before the first engine starts (ssh_init). */
int ll_ssh_global_init(void);

#endif
