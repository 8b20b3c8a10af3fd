/*
 * Shared by `lifeline get` and `lifeline put` (defined in xfer.c): the
 * progress bar, remote path checks, requests that reconnect after a lost
 * link, and the transfer summary.
 */
#ifndef LL_CLIENT_XFER_H
#define LL_CLIENT_XFER_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "client.h"
#include "digest.h"

#define XFER_PART_SUFFIX	".lifeline-part"
#define XFER_CHUNK		(64 * 1024)

struct xfer_progress {
	bool on;		/* stderr is a terminal and not --json */
	char name[64];		/* a copy: callers' strings are short-lived */
	uint64_t total, done, first;
	uint64_t t0, last;
};

/* A transfer of one command: counts and the --json file list. */
struct xfer {
	struct conn c;
	bool rescue_host;
	bool is_root;		/* get: apply owners */
	json_t *files;		/* --json: one object per entry */
	uint64_t bytes;		/* file bytes that crossed the line */
	uint64_t nfiles;
};

void xfer_progress_start(struct xfer_progress *p, const char *name,
    uint64_t total, uint64_t done);
void xfer_progress_update(struct xfer_progress *p, uint64_t done);
void xfer_progress_end(struct xfer_progress *p);


/*
 * Check and normalise a remote path: absolute, trailing slashes and "//"
 * removed.  0, or -1 with a message printed.
 */
int xfer_remote_path(const char *cmd, const char *in, char *out, size_t len);
/* Last component of a normalised path ("" for "/"). */
const char *xfer_base(const char *path);
/* "%s/%s" of a directory and a name into out: 0 or -1 when too long. */
int xfer_join(char *out, size_t len, const char *dir, const char *name);

/*
 * {"path": path, "rescue_host": ...} for a request about path, the path as
 * a byte string ("path" or "path_base64": names need not be UTF-8).  NULL,
 * with a message printed, when out of memory.
 */
json_t *xfer_args(struct xfer *x, const char *cmd, const char *path);
/*
 * The link was lost during what ("get /etc/passwd: the link was lost
 * after 1048576 bytes"): reconnect within --reconnect (conn_reconnect).
 * 0 when x->c is open again; else EXIT_LOST with the loss's message left
 * in x->c.err, and x->c closed: the command must stop.
 */
int xfer_reconnect(struct xfer *x, const char *what);
/*
 * conn_call for a request that may simply be sent again (file-stat,
 * file-list, put-begin, put-entry): after a lost link it reconnects and
 * sends it again.
 */
int xfer_call(struct xfer *x, const char *op, json_t *args,
    const struct call_handlers *h, json_t **reply);
/* file-stat of path: 0 with *entry (decref), or an EXIT_* code. */
int xfer_stat(struct xfer *x, const char *path, json_t **entry);
/* Record one entry in the summary (and count it). */
void xfer_record(struct xfer *x, const char *type, const char *remote,
    const char *local, uint64_t size, uint64_t offset, uint64_t bytes,
    const char *sha256);
/* Print the --json summary or a human one-line summary. */
void xfer_summary(struct xfer *x, const char *verb, uint64_t t0);

#endif
