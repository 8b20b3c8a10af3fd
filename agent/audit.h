/*
 * The audit trail, to syslog (LOG_AUTHPRIV) and the agent log: who
 * authenticated with which key, every operation with its arguments and its
 * result.  Secrets never reach it: argument fields named password, hash,
 * passphrase or secret are replaced by "(hidden)".
 *
 * Failed authentications are rate-limited: after AUDIT_FAIL_BURST failures
 * within AUDIT_FAIL_WINDOW_MS, new attempts are refused (and not logged one
 * by one) until the window has passed; one line then says how many were
 * suppressed.
 */
#ifndef LL_AUDIT_H
#define LL_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#define AUDIT_FAIL_BURST	5
#define AUDIT_FAIL_WINDOW_MS	60000

void audit_open(bool use_syslog);	/* openlog when use_syslog */

/* peer: "tcp 192.0.2.1:5555" or "console /dev/ttyS1"; fp: SHA256:...  */
void audit_auth_ok(const char *peer, const char *user, const char *fp,
    const char *comment);
void audit_auth_failed(const char *peer, const char *user, const char *fp,
    const char *why, uint64_t now);
/* false while failures are over the limit: refuse the attempt. */
bool audit_auth_allowed(uint64_t now);

/* who: the session's key fingerprint, or "insecure" */
void audit_op_start(const char *who, uint32_t id, const char *op,
    const json_t *args);
/* result: "ok", or the error code and message */
void audit_op_end(const char *who, uint32_t id, const char *op,
    const char *result);
/* A refused operation (allow-list, read-only). */
void audit_op_refused(const char *who, const char *op, const char *why);

/* args with secrets hidden, as one JSON text (caller frees). */
char *audit_redact(const json_t *args);

#endif
