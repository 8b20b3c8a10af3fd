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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libssh/libssh.h>

#define LL_SSH_SUBSYSTEM	"lifeline"
#define LL_SSH_FP_MAX		96	/* "SHA256:" + base64 + NUL, with room */

/*
 * The algorithms of an SSH session inside the link: one of each, the
 * cheapest strong ones, so that each KEXINIT is a few dozen bytes instead
 * of a kilobyte (at 9600 baud every byte of the handshake is a millisecond
 * the user waits).  lifeline's client offers only these in tunnel mode; the
 * agent's in-link server (console and --listen, which lifeline proxy also
 * reaches with OpenSSH's ssh, whose defaults contain all three) offers only
 * these too.  The agent's --listen-ssh keeps libssh's defaults.
 *
 *   kex     curve25519-sha256 (RFC 8731): one 32-byte key each way.
 *   host    ssh-ed25519: the agent's host key is ed25519 (generated so);
 *           its signature is 64 bytes.
 *   cipher  chacha20-poly1305@openssh.com: an AEAD, so no separate MAC
 *           (the MAC lists must name something; an AEAD ignores them, and
 *           no non-AEAD cipher is offered for them to apply to); its
 *           4-byte length is encrypted and its padding unit 8 bytes, where
 *           aes-gcm pads to 16 and sends the length in the clear; constant
 *           time without AES instructions, which small rescue boards lack.
 *   zip     none offered (libssh offers zlib@openssh.com after none by
 *           default, never chosen by these peers): the compression of
 *           issue 14 goes where that work decides, and sets it here.
 *   sigs    server-sig-algs: the user key signatures libssh verifies
 *           (no certificate types: lifelined accepts none), so that the
 *           EXT_INFO is short; the same set as before is accepted.
 */
#define LL_SSH_LINK_KEX		"curve25519-sha256"
#define LL_SSH_LINK_HOSTKEY	"ssh-ed25519"
#define LL_SSH_LINK_CIPHER	"chacha20-poly1305@openssh.com"
#define LL_SSH_LINK_MAC		"hmac-sha2-256"
#define LL_SSH_LINK_SIGS	"ssh-ed25519,ecdsa-sha2-nistp256," \
	"ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com," \
	"sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256,ssh-rsa"

/*
 * Narrow an SSH session (client or server, before its key exchange) to the
 * in-link algorithms above; the host key list is set for a client only (a
 * server offers what its key is).  SSH_OK or SSH_ERROR (libssh's error in
 * the session).
 */
int ll_ssh_link_algorithms(ssh_session s, bool server);

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
 * The same liveness for an engine that runs its own loop (the agent's SSH
 * channels): start it once the session is up, call check whenever the
 * loop is about to wait.  It counts the peer's packets through libssh's
 * counters (so stop it before the struct goes away), asks for a sign of
 * life after LL_SSH_KEEPALIVE_MS of silence, and says when the peer has
 * been silent for stall_ms.
 */
struct ll_ssh_liveness {
	struct ssh_counter_struct rx;	/* packets in, counted by libssh */
	uint64_t rx_seen;		/* rx.in_packets at rx_at */
	uint64_t rx_at;			/* when a packet last came in */
	uint64_t ka_at;			/* when we last asked */
	int stall_ms;
};

void ll_ssh_liveness_start(struct ll_ssh_liveness *l, ssh_session s,
    int stall_ms);
/*
 * 0, with *wait_ms lowered to when to call again at the latest; -1 when
 * the peer has been silent for stall_ms (stall_ms 0: never).
 */
int ll_ssh_liveness_check(struct ll_ssh_liveness *l, ssh_session s,
    int *wait_ms);
void ll_ssh_liveness_stop(struct ll_ssh_liveness *l, ssh_session s);

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

/*
 * ll_ssh_pump with a control fd: when fd is readable, ready(arg, s, ch)
 * runs in the engine's thread (it must read fd, or the pump spins).  For
 * what another thread asks of the channel while the pump runs, such as a
 * terminal's window-change.  fd -1: none.
 *
 * check (may be NULL) runs after every wait, in the engine's thread, with
 * the session non-blocking: -1 (and a message in err) ends the pump with
 * that error.  For the answer to a channel request sent without waiting.
 */
struct ll_ssh_pump_ctl {
	int fd;
	void (*ready)(void *arg, ssh_session s, ssh_channel ch);
	void *arg;
	int (*check)(void *arg, ssh_session s, ssh_channel ch, char *err,
	    size_t errlen);
};

int ll_ssh_pump_ctl(ssh_session s, ssh_channel ch, int fd, int stall_ms,
    const struct ll_ssh_pump_ctl *ctl, char *err, size_t errlen);

/* "SHA256:<base64>" of key into buf (as OpenSSH prints it).  0 or -1. */
int ll_ssh_fingerprint(ssh_key key, char *buf, size_t len);

/* Once per process, before the first engine starts (ssh_init). */
int ll_ssh_global_init(void);

#endif
