/*
 * The agent's SSH server engine (see proto/ssh-common.h): libssh in a
 * thread per client, public-key authentication against authorized_keys, and
 * one channel that must ask for the "lifeline" subsystem; that channel's
 * bytes reach the poll loop, in the clear, on a socketpair.
 *
 * The same engine serves the TCP listener (--listen-ssh; the cipher side is
 * the accepted socket) and SSH inside the link (the cipher side is a
 * socketpair whose other end the session carries on link stream 0).
 */
#ifndef LL_SSH_SERVER_H
#define LL_SSH_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "audit.h"

#define SSH_SERVER_KEY_DEFAULT	"/etc/lifeline/ssh_host_ed25519_key"
#define SSH_SERVER_AUTHKEYS_DEFAULT "/root/.ssh/authorized_keys"

struct ssh_serving;

/*
 * Load the host key (agent_opts.host_key or the default), generating an
 * ed25519 key (mode 0600, directory 0700) when the file does not exist.  A
 * key file that others can read is refused.  0, or -1 with err.
 */
int ssh_server_init(char *err, size_t errlen);
/*
 * The host key as "SHA256:FINGERPRINT TYPE BASE64" (empty before
 * ssh_server_init): printed on a console, a reader can check that the
 * fingerprint and the key it names agree, so noise cannot pass unseen.
 */
const char *ssh_server_host_key_text(void);
void ssh_server_shutdown(void);

/*
 * Serve SSH on cipher_fd, which the engine owns from now on (also when this
 * fails).  path says where the connection came from: on the network paths
 * (--listen, --listen-ssh) the path's failure limit, its cap on logins in
 * progress (limit_peer: the peer's address, or "unix uid N") and the short
 * login window apply; the console has none of them.  peer names the client
 * in logs ("tcp 192.0.2.1:5555", "console /dev/ttyS1"); peer_addr is its
 * address for from= options, NULL when there is none to check.  0 with
 * *plain_fd (the loop's end, non-blocking) and *out, or a negative LL_ERR_*
 * (refused by the rate limit or the pending cap, or no resources), already
 * logged.
 */
int ssh_server_start(int cipher_fd, enum audit_path path, const char *peer,
    const char *peer_addr, const char *limit_peer, int *plain_fd,
    struct ssh_serving **out);

/*
 * A login in progress from limit_peer on network path, counted against the
 * caps (SSH_SERVER_PENDING_MAX in all, SSH_SERVER_PENDING_PER_PEER from
 * one peer): false, logged with who, when there is no room.  For the time
 * before ssh_server_start, which counts its own; release it once.
 */
/* The login window of the network paths (20 s; a console gets 120 s). */
#define SSH_SERVER_AUTH_MS	20000

bool ssh_server_login_take(enum audit_path path, const char *limit_peer,
    const char *who);
void ssh_server_login_release(enum audit_path path, const char *limit_peer);

/* The authenticated key's fingerprint, "" until authentication succeeded. */
void ssh_serving_identity(struct ssh_serving *ss, char *fp, size_t len);

/* The loop is done with ss (it has closed its plain fd); NULL is fine. */
void ssh_serving_release(struct ssh_serving *ss);

#endif
