/*
 * authorized_keys, as OpenSSH's sshd(8) documents the format: one key per
 * line, optionally preceded by comma-separated options.  libssh has no
 * parser for it, so this is lifelined's own; keys themselves are decoded by
 * libssh (ssh_pki_import_pubkey_base64) and compared with ssh_key_cmp.
 *
 * Options lifelined can honour are honoured (from= against the peer's
 * address, expiry-time=; restrict, no-pty and no-port-forwarding, undone by
 * pty and port-forwarding, come back in res->deny, and permitopen= in
 * res->permitopen, for the SSH channels to enforce); options that only
 * restrict what lifelined never offers are accepted (no-agent-forwarding,
 * no-X11-forwarding, no-user-rc, no-touch-required), and so are
 * agent-forwarding, X11-forwarding and user-rc, which undo restrict for
 * those same features; every other option (command, environment,
 * permitlisten, principals, tunnel, cert-authority, verify-required,
 * unknown ones) makes the line refuse the key, with the reason: a command=
 * key must not get a full lifeline session.
 */
#ifndef LL_AUTHKEYS_H
#define LL_AUTHKEYS_H

#include <stdbool.h>
#include <stddef.h>

#include <libssh/libssh.h>

/* What an allowed key may not do (restrict, no-pty, no-port-forwarding). */
#define AUTHKEYS_DENY_PTY	0x1u	/* pty-req, and so a shell's pty */
#define AUTHKEYS_DENY_FORWARD	0x2u	/* direct-tcpip (ssh -L) */
#define AUTHKEYS_DENY_RESTRICT	0x4u	/* internal: restrict was given */

/* permitopen="host:port" options kept per line (sshd has no limit). */
#define AUTHKEYS_PERMITOPEN_MAX	16

/* One permitopen= destination: a literal host (no brackets), a port. */
struct authkeys_permit {
	char host[256];
	int port;			/* 0: "*", any port */
};

struct authkeys_result {
	bool allowed;
	unsigned deny;			/* AUTHKEYS_DENY_* of the allowing line */
	int npermitopen;		/* 0: ssh -L may reach anywhere */
	struct authkeys_permit permitopen[AUTHKEYS_PERMITOPEN_MAX];
	int line;			/* matching line, 0 when none */
	char fingerprint[96];		/* SHA256:... of the offered key */
	char comment[128];		/* the matching line's comment */
	char reason[256];		/* why refused (or "" when allowed) */
};

/*
 * Is key authorized by the file at path?  peer is the client's address
 * ("192.0.2.1" or "::1") on TCP (--listen-ssh, --listen tcp:), NULL on a
 * console or a unix socket, where a from= option cannot be checked and so
 * refuses the line.  The file is read afresh each call, so an added key
 * works without a restart.
 *
 * Returns 0 with *res filled (allowed or not, and why), or a negative errno
 * when the file cannot be read (res->reason says so): -ENOENT and the like
 * from open, -EISDIR or -EINVAL for a directory or another non-regular
 * file, -EPERM for a file, or a directory on the way to it up to /,
 * writable by group or others or owned by neither root nor us (as sshd's
 * StrictModes; a sticky directory such as /tmp is accepted), -EIO on a
 * read error.  A symlink to a good file is fine when the directory holding
 * it and those of its target pass too.  res->fingerprint is filled in every case.
 *
 * Malformed lines (bad syntax, an unknown or undecodable key, more than
 * 8192 bytes) are skipped; res->reason mentions the first one when no line
 * matched.  When the key matches only refused lines, res->line and
 * res->reason name the first of them.  Option names are case-insensitive;
 * expiry-time is local time unless it ends in Z; from= compares addresses
 * (v4-mapped IPv6 as IPv4), CIDR blocks, and * ? patterns against the
 * address text, and any matching !negation or bad entry refuses.
 */
int authkeys_check(const char *path, ssh_key key, const char *peer,
    struct authkeys_result *res);

/*
 * May the key of res open a direct-tcpip channel (ssh -L, ssh -W) to
 * host:port?  true when its line had no permitopen= option, or one naming
 * that host literally (no name lookup, as sshd; case does not matter) with
 * that port or "*".  no-port-forwarding is res->deny's business, not this.
 */
bool authkeys_permits_open(const struct authkeys_result *res,
    const char *host, int port);

#endif
