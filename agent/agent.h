/*
 * lifelined internals.  One event loop (lifelined.c) owns every fd: the
 * listener, each connection's session, and the fds of running requests.
 * server.c turns messages into requests and dispatches them through the
 * operation table; each op-*.c file implements one group of operations and
 * registers them in that table.
 */
#ifndef LL_AGENT_H
#define LL_AGENT_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <jansson.h>

#include "audit.h"
#include "session.h"

struct request;
struct conn;

/*
 * An operation.  start() validates args and either answers at once (reply or
 * error sent, returns 0 with r->done set) or starts work and returns 0; a
 * nonzero return means the request was not started and an error was already
 * sent.  Operations that keep running provide pollfds()/io() (fds to watch),
 * child() (a child process of theirs ended), cancel() and free().
 */
struct agent_op {
	const char *name;
	bool writes;			/* changes something (for read-only mode) */
	/* Its work is a job: the session's end frees the request without
	 * cancelling it, and the job runs on (job.h). */
	bool outlives_session;
	/* A boolean argument that, when true, makes a writing operation
	 * read-only ("ro" for mount, "dry_run" for fsck); or NULL. */
	const char *readonly_arg;
	int (*start)(struct request *r, json_t *args);
	int (*pollfds)(struct request *r, struct pollfd *pfd, int max,
	    int *timeout_ms);
	void (*io)(struct request *r, uint64_t now);
	bool (*child)(struct request *r, pid_t pid, int status);
	/* Bytes the client sent for this request (uploads), and their end. */
	void (*data)(struct request *r, uint8_t channel, const uint8_t *p,
	    size_t n);
	void (*eof)(struct request *r, uint8_t channel);
	void (*cancel)(struct request *r);
	void (*free)(struct request *r);
};

#define REQUEST_OWNED_MAX	4

struct request {
	uint32_t id;
	const struct agent_op *op;
	struct conn *conn;
	void *state;
	bool done;
	/* Argument values decoded for this request (args.c), freed with it. */
	char *owned[REQUEST_OWNED_MAX];
	unsigned nowned;
	unsigned long nomem0;	/* server_json_nomem() when it started */
	struct ll_zdata_stats z0; /* the session's data records at its start */
	LIST_ENTRY(request) entry;
};

struct ssh_serving;

struct conn {
	struct ll_session *s;
	struct ssh_serving *ssh;	/* its SSH engine, NULL when insecure */
	uint32_t generation;
	char name[64];
	bool hello_done;
	/* The highest request id of this client session: ids must increase,
	 * so an id is never reused (docs/protocol.md). */
	uint32_t last_id;
	bool stdio;			/* the agent's own tty: exit when it ends */
	bool reopen;			/* a serial device: reopen when it vanishes */
	enum audit_path path;		/* console or --listen: its limits */
	char limit_peer[64];		/* --listen: "unix uid N" or the address */
	char peer_addr[64];		/* --listen tcp: the address, for from= */
	bool login_counted;		/* holds a login-in-progress slot */
	uint64_t login_by;		/* --listen: log in by then, or be closed */
	LIST_HEAD(, request) requests;
	LIST_ENTRY(conn) entry;
};

struct agent_options {
	const char *serial;
	bool stdio;
	const char *listen;
	const char *listen_ssh;		/* --listen-ssh [ADDR:]PORT */
	const char *host_key;		/* --host-key FILE */
	const char *authorized_keys;	/* --authorized-keys FILE */
	const char **allow;		/* allowed operations; NULL: all */
	bool read_only;			/* refuse operations that write */
	bool insecure;
	int encoding;
	int verbose;
	const char *debug_file;
	const char *console_name;	/* what info reports as the console */
	const char *target_root;	/* --target-root */
	const char *config;		/* --config FILE */
	const char *getty;		/* --getty CMD: shares --serial */
	bool no_compress;		/* --compress no: no "zdata" in HELLO */
};

extern struct agent_options agent_opts;

/* server.c */
/*
 * Count jansson's failed allocations (json_set_alloc_funcs): a value that
 * could not be made is simply missing from its object or array, so a reply
 * built while one failed may lack a part and is sent as ERROR internal.
 */
void server_json_init(void);
unsigned long server_json_nomem(void);
void server_conn_init(struct conn *c, struct ll_session *s, const char *name);
void server_handle(struct conn *c, uint64_t now);
/* A new client session on c's link: end the old one's requests at once,
 * before anything of theirs can be sent into the new session. */
void server_sync_generation(struct conn *c);
/* Cancel and free its requests (jobs are freed, not cancelled). */
void server_conn_reset(struct conn *c);
void request_finish(struct request *r);	/* mark done; freed by the loop */
void server_reap(struct conn *c);	/* free done requests */
const struct agent_op *server_find_op(const char *name);
/* Who drives c, for the audit trail: the key's SHA256 fingerprint, or
 * "insecure" / "unauthenticated" before a key is known. */
void server_identity(struct conn *c, char *who, size_t len);
json_t *server_caps(void);		/* names of every operation */
/*
 * What an operation sends for its request goes through these, never
 * straight to r->conn->s: each checks what the session accepted.  A record
 * the session refused, or a NULL json (a json_pack or another builder that
 * failed), ends r with ERROR internal (or too_big) and returns -1; nothing
 * is dropped in silence and no empty object stands in for a result.  On a
 * request that is already done they send nothing and return -1.
 */
/* End r with a REPLY of result (stolen). */
int request_reply(struct request *r, json_t *result);
/*
 * REPLY with result (stolen) but keep r running until request_finish():
 * reboot's, which must outlive its reply until the reply has left.
 */
int request_reply_early(struct request *r, json_t *result);
/* An EVENT ev (stolen). */
int request_event(struct request *r, json_t *ev);
/* DATA on channel: all n bytes are queued (check request_room() first). */
int request_data(struct request *r, uint8_t channel, const void *p, size_t n);
/* EOF on channel. */
int request_eof(struct request *r, uint8_t channel);
/* Bulk bytes the session takes now (0 once r is done): read a producer
 * only when there is room, so memory stays bounded. */
size_t request_room(const struct request *r);
/* Everything sent so far has reached the peer (nothing queued or unacked). */
bool request_is_drained(const struct request *r);
/* Let r own p (malloc'd) until it is freed; false (p freed) when full. */
bool request_keep(struct request *r, char *p);
int request_error(struct request *r, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Operation tables, one per op-*.c file; server.c lists them.  Adding an
 * operation group is one file and one line there.
 */
extern const struct agent_op op_info_ops[];
extern const struct agent_op op_exec_ops[];
extern const struct agent_op op_disks_ops[];
extern const struct agent_op op_inspect_ops[];
extern const struct agent_op op_mount_ops[];
extern const struct agent_op op_passwd_ops[];
extern const struct agent_op op_authkey_ops[];
extern const struct agent_op op_fsck_ops[];
extern const struct agent_op op_files_ops[];
extern const struct agent_op op_reboot_ops[];
extern const struct agent_op op_jobs_ops[];

#endif
