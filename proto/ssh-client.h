/*
 * The client's SSH engine (see ssh-common.h): connects, checks the server's
 * host key, authenticates with ssh-agent then ~/.ssh/id_* (and --identity),
 * opens one session channel, and then copies it to a plain-side fd.
 *
 * Three uses:
 *   gateway   ssh://[USER@]HOST[:PORT]: a serial-over-SSH console gateway;
 *             a shell channel (with a pty unless no_pty) whose bytes are the
 *             console; known_hosts is OpenSSH's (~/.ssh/known_hosts).
 *   listener  lifeline+ssh://[USER@]HOST[:PORT]: the agent's own SSH
 *             listener; the "lifeline" subsystem; OpenSSH's known_hosts.
 *   tunnel    SSH inside the link: cipher_fd is one end of a socketpair the
 *             poll loop carries on a link stream; the "lifeline" subsystem
 *             (or, with `shell`, a login shell on a pty: lifeline shell);
 *             the host key is checked against lifeline's own known-hosts
 *             file (known-hosts.h) for the console `label` (the --via
 *             spec) names, or against pin.
 */
#ifndef LL_SSH_CLIENT_H
#define LL_SSH_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

enum ll_ssh_mode { LL_SSH_GATEWAY, LL_SSH_LISTENER, LL_SSH_TUNNEL };

enum ll_ssh_state {
	LL_SSH_CONNECTING,	/* handshake, host key, authentication */
	LL_SSH_ASKING,		/* waiting for the user to answer a question */
	LL_SSH_READY,		/* channel open: the plain side carries data */
	LL_SSH_FAILED,		/* never got ready: see the error text */
	LL_SSH_ENDED,		/* was ready, and the channel has ended */
};

struct ll_ssh_client_config {
	enum ll_ssh_mode mode;
	const char *host;		/* gateway, listener */
	unsigned port;			/* 0: 22 */
	const char *user;		/* NULL: $USER (tunnel: "root") */
	const char *identity;		/* an extra private key file, or NULL */
	bool no_pty;			/* gateway: no pty request */
	bool accept_new;		/* unknown host key: accept, do not ask */
	bool interactive;		/* may ask on /dev/tty */
	const char *known_hosts;	/* tunnel: lifeline's file; NULL: default */
	const char *label;		/* tunnel: the --via spec (its console) */
	const char *pin;		/* "SHA256:..." the key must have */
	int verbose;
	/* tunnel: a shell instead of the lifeline subsystem */
	bool shell;
	const char *term;		/* its pty's TERM; NULL: no pty */
	int cols, rows;			/* the pty's size */
};

struct ll_ssh_client;

/*
 * Start the engine thread.  cipher_fd (tunnel mode) is owned by the engine
 * from then on; other modes pass -1 and the engine connects to host:port.
 * *plain_fd is the loop's end of the plain side (non-blocking; the caller
 * owns and closes it).  0, or -1 with err.
 */
int ll_ssh_client_start(const struct ll_ssh_client_config *cfg, int cipher_fd,
    int *plain_fd, struct ll_ssh_client **out, char *err, size_t errlen);

/* Current state; for FAILED or ENDED with a fault, the reason in err. */
enum ll_ssh_state ll_ssh_client_state(struct ll_ssh_client *c, char *err,
    size_t errlen);

/* Block until READY (0) or FAILED (-1, reason in err), at most timeout_ms
 * counted while CONNECTING (time spent ASKING does not count). */
int ll_ssh_client_wait(struct ll_ssh_client *c, int timeout_ms, char *err,
    size_t errlen);

/*
 * shell: tell the remote pty its new size (window-change), from any
 * thread.  0, or -1 when the engine is not serving a shell.
 */
int ll_ssh_client_resize(struct ll_ssh_client *c, int cols, int rows);

/*
 * shell, once ENDED: the remote shell's exit status (0-255), or -1 with
 * the name of the signal that ended it in sig ("TERM"), or -2 when the
 * server sent neither.
 */
int ll_ssh_client_exit(struct ll_ssh_client *c, char *sig, size_t siglen);

/*
 * The server's host key fingerprint and how it was checked ("pinned with
 * --host-key-fingerprint", "known: FILE:LINE", ...); "" until checked, and
 * how stays "" for keys OpenSSH's known_hosts vouched for.
 */
void ll_ssh_client_host_key(struct ll_ssh_client *c, char *fp, size_t fplen,
    char *how, size_t howlen);

/* End the session, join the thread, free.  NULL is fine. */
void ll_ssh_client_free(struct ll_ssh_client *c);

/*
 * The operator's public key as an authorized_keys line ("TYPE BASE64
 * COMMENT"): identity's .pub (or the public half of identity), else the
 * first of ~/.ssh/id_{ed25519,ecdsa,rsa}.pub.  0, or -1 with err.
 */
int ll_ssh_client_pubkey(const char *identity, char *line, size_t len,
    char *err, size_t errlen);

/*
 * File fp as the agent key for label's console in lifeline's known-hosts
 * file at path, replacing any key filed for that console before
 * (ll_kh_set()).  0, or -1 with err.
 */
int ll_ssh_known_hosts_set(const char *path, const char *label,
    const char *fp, char *err, size_t errlen);

/*
 * 0 when fp ("SHA256:...") is the fingerprint of the public key TYPE
 * BASE64, else -1: a host key read off a noisy console is taken only when
 * the two agree.
 */
int ll_ssh_key_text_check(const char *fp, const char *type, const char *b64);

/*
 * Options for the ssh:// and lifeline+ssh:// transports (the client sets
 * them from its command line before opening --via).
 */
void ll_transport_ssh_defaults(const struct ll_ssh_client_config *cfg);

#endif
