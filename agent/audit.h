/*
 * The audit trail, to syslog (LOG_AUTHPRIV) and the agent log: who
 * authenticated with which key, every operation with its arguments and its
 * result.  Secrets never reach it: argument fields named password, hash,
 * passphrase or secret are replaced by "(hidden)".
 *
 * Failed authentications are rate-limited: after AUDIT_FAIL_BURST failures
 * within AUDIT_FAIL_WINDOW_MS, new attempts are refused (and not logged one
 * by one) until the window has passed; one line then says how many were
 * suppressed.  Each path a login can come by (enum audit_path) has its own
 * count, so that failures on one (someone who can write to the console)
 * never refuse logins on another (--listen-ssh), and the other way round;
 * within a path the limit is one for all peers.  Times are milliseconds on
 * the caller's monotonic clock.  The functions may be called from several
 * threads at once.
 *
 * Every line starts with "audit: "; client-chosen strings in it are quoted
 * with control characters, quotes and non-ASCII bytes escaped, so a line is
 * always one line.  NULL strings are shown as "-".
 */
#ifndef LL_AUDIT_H
#define LL_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#define AUDIT_FAIL_BURST	5
#define AUDIT_FAIL_WINDOW_MS	60000

/* Where a login comes from: each has its own failure count. */
enum audit_path {
	AUDIT_PATH_CONSOLE,	/* --serial, --stdio */
	AUDIT_PATH_LISTEN,	/* --listen unix:/tcp: */
	AUDIT_PATH_SSH,		/* --listen-ssh */
	AUDIT_PATH_N
};

/* The option that opened path, for messages ("--listen-ssh"). */
const char *audit_path_name(enum audit_path path);

/*
 * use_syslog: lines also go to syslog as LOG_AUTHPRIV | LOG_NOTICE (and to
 * the agent log at debug level only); otherwise to the agent log at info.
 */
void audit_open(bool use_syslog);

/* peer: "tcp 192.0.2.1:5555" or "console /dev/ttyS1"; fp: SHA256:...  */
void audit_auth_ok(const char *peer, const char *user, const char *fp,
    const char *comment);
void audit_auth_failed(enum audit_path path, const char *peer,
    const char *user, const char *fp, const char *why, uint64_t now);
/*
 * Ask before each attempt on path: false while its failures are over the
 * limit, and the caller then refuses the attempt without calling
 * audit_auth_failed (the refusal is counted here).
 */
bool audit_auth_allowed(enum audit_path path, uint64_t now);

/* who: the session's key fingerprint, or "insecure" */
void audit_op_start(const char *who, uint32_t id, const char *op,
    const json_t *args);
/* result: "ok", or the error code and message */
void audit_op_end(const char *who, uint32_t id, const char *op,
    const char *result);
/* A refused operation (allow-list, read-only). */
void audit_op_refused(const char *who, const char *op, const char *why);

/*
 * args with secrets hidden, as one compact ASCII JSON text of at most 1024
 * bytes (longer ones end in "..."), caller frees; NULL when out of memory.
 * A field is secret when its name is password, hash, passphrase or secret,
 * or contains password, passphrase or secret (any case), at any depth.
 */
char *audit_redact(const json_t *args);

#endif
