/*
 * Message dispatch for one connection.  HELLO is answered with the agent's
 * own HELLO; a REQUEST is looked up in the operation tables and started;
 * CANCEL reaches the running request.  A request lives on its connection's
 * list until it is done, then the loop frees it.  When the link reports a new
 * client session, every request of the old one is cancelled first, so two
 * clients' work is never mixed; a request whose work is a job (exec) is
 * only freed, and its job runs on for whoever asks for it (job.h).
 *
 * Before an operation starts, the allow-list and read-only mode may refuse
 * it; every request, refused or not, goes to the audit trail with the
 * identity of the key that drives the session.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "audit.h"
#include "error.h"
#include "log.h"
#include "msg.h"
#include "ssh-common.h"
#include "ssh-server.h"

static const struct agent_op *const op_tables[] = {
	op_info_ops,
	op_exec_ops,
	op_disks_ops,
	op_inspect_ops,
	op_mount_ops,
	op_passwd_ops,
	op_authkey_ops,
	op_fsck_ops,
	op_files_ops,
	op_reboot_ops,
	op_jobs_ops,
};

static unsigned long json_nomem;

static void *
server_json_malloc(size_t n)
{
	void *p = malloc(n);

	if (p == NULL)
		json_nomem++;
	return p;
}

void
server_json_init(void)
{
	json_set_alloc_funcs(server_json_malloc, free);
}

unsigned long
server_json_nomem(void)
{
	return json_nomem;
}

const struct agent_op *
server_find_op(const char *name)
{
	size_t t;
	const struct agent_op *op;

	for (t = 0; t < sizeof(op_tables) / sizeof(op_tables[0]); t++) {
		for (op = op_tables[t]; op->name != NULL; op++) {
			if (strcmp(op->name, name) == 0)
				return op;
		}
	}
	return NULL;
}

json_t *
server_caps(void)
{
	json_t *caps = json_array();
	size_t t;
	const struct agent_op *op;

	for (t = 0; t < sizeof(op_tables) / sizeof(op_tables[0]); t++) {
		for (op = op_tables[t]; op->name != NULL; op++)
			json_array_append_new(caps, json_string(op->name));
	}
	return caps;
}

void
server_identity(struct conn *c, char *who, size_t len)
{
	if (c->ssh != NULL)
		ssh_serving_identity(c->ssh, who, len);
	else
		snprintf(who, len, "%s", agent_opts.insecure ? "insecure" : "");
	if (who[0] == '\0')
		snprintf(who, len, "unauthenticated");
}

void
server_conn_init(struct conn *c, struct ll_session *s, const char *name)
{
	memset(c, 0, sizeof(*c));
	c->s = s;
	c->generation = ll_session_generation(s);
	snprintf(c->name, sizeof(c->name), "%s", name);
	LIST_INIT(&c->requests);
}

static void
request_free(struct request *r)
{
	unsigned i;

	LIST_REMOVE(r, entry);
	if (r->op->free != NULL)
		r->op->free(r);
	for (i = 0; i < r->nowned; i++)
		free(r->owned[i]);
	free(r);
}

bool
request_keep(struct request *r, char *p)
{
	if (r->nowned == REQUEST_OWNED_MAX) {
		free(p);
		return false;
	}
	r->owned[r->nowned++] = p;
	return true;
}

void
server_conn_reset(struct conn *c)
{
	struct request *r;

	while ((r = LIST_FIRST(&c->requests)) != NULL) {
		if (!r->done && r->op->cancel != NULL &&
		    !r->op->outlives_session)
			r->op->cancel(r);
		request_free(r);
	}
	c->hello_done = false;
	c->last_id = 0;
}

void
server_reap(struct conn *c)
{
	struct request *r, *next;

	for (r = LIST_FIRST(&c->requests); r != NULL; r = next) {
		next = LIST_NEXT(r, entry);
		if (r->done)
			request_free(r);
	}
}

/*
 * The data records r's session sent while r ran, in the debug log: how
 * much went compressed, and how much plain because it did not shrink (a
 * test reads this; docs/protocol.md, ZDATA).
 */
static void
request_log_zdata(const struct request *r)
{
	struct ll_zdata_stats st;

	ll_session_zdata_stats(r->conn->s, &st);
	if (st.zrecords == r->z0.zrecords && st.precords == r->z0.precords)
		return;
	log_debug("%s: request %u (%s): data sent in %llu ZDATA records "
	    "(%llu bytes as %llu) and %llu plain DATA records (%llu bytes); "
	    "%llu chunks did not shrink", r->conn->name, r->id, r->op->name,
	    (unsigned long long)(st.zrecords - r->z0.zrecords),
	    (unsigned long long)(st.zraw - r->z0.zraw),
	    (unsigned long long)(st.zwire - r->z0.zwire),
	    (unsigned long long)(st.precords - r->z0.precords),
	    (unsigned long long)(st.praw - r->z0.praw),
	    (unsigned long long)(st.misses - r->z0.misses));
}

void
request_finish(struct request *r)
{
	if (!r->done)
		request_log_zdata(r);
	r->done = true;
}

/*
 * Send r's REPLY of result (stolen), then end r (finish) or let it run on.
 * Never an empty or partial success: a result that could not be built (out
 * of memory, a string jansson refused) is an error.
 */
static int
request_send_reply(struct request *r, json_t *result, bool finish)
{
	int err;
	char who[LL_SSH_FP_MAX];

	if (r->done) {
		json_decref(result);
		return -1;
	}
	if (result == NULL)
		return request_error(r, LL_EC_INTERNAL, "the agent could not "
		    "build the reply of %s (out of memory or text that is "
		    "not UTF-8)", r->op->name);
	if (json_nomem != r->nomem0) {
		json_decref(result);
		return request_error(r, LL_EC_INTERNAL, "the agent ran out of "
		    "memory while building the reply of %s: it would be "
		    "incomplete", r->op->name);
	}
	err = ll_session_send_json(r->conn->s, LL_MSG_REPLY, r->id, result);
	json_decref(result);
	if (err != 0)
		return request_error(r, err == LL_ERR_TOOBIG ? LL_EC_TOO_BIG :
		    LL_EC_INTERNAL, "the reply of %s could not be sent: %s",
		    r->op->name, ll_strerror(err));
	server_identity(r->conn, who, sizeof(who));
	audit_op_end(who, r->id, r->op->name, "ok");
	if (finish)
		request_finish(r);
	return err;
}

int
request_reply(struct request *r, json_t *result)
{
	return request_send_reply(r, result, true);
}

int
request_reply_early(struct request *r, json_t *result)
{
	return request_send_reply(r, result, false);
}

int
request_event(struct request *r, json_t *ev)
{
	int err;

	if (r->done) {
		json_decref(ev);
		return -1;
	}
	if (ev == NULL || json_nomem != r->nomem0) {
		json_decref(ev);
		request_error(r, LL_EC_INTERNAL, "the agent could not build an "
		    "EVENT of %s (out of memory or text that is not UTF-8)",
		    r->op->name);
		return -1;
	}
	err = ll_session_send_json(r->conn->s, LL_MSG_EVENT, r->id, ev);
	json_decref(ev);
	if (err != 0) {
		request_error(r, LL_EC_INTERNAL, "an EVENT of %s could not be "
		    "sent: %s", r->op->name, ll_strerror(err));
		return -1;
	}
	return 0;
}

int
request_data(struct request *r, uint8_t channel, const void *p, size_t n)
{
	int err;

	if (r->done)
		return -1;
	if ((err = ll_session_send_data(r->conn->s, channel, r->id, p,
	    n)) != 0) {
		request_error(r, LL_EC_INTERNAL, "%zu bytes of %s's output on "
		    "channel %u could not be queued: %s", n, r->op->name,
		    (unsigned)channel, ll_strerror(err));
		return -1;
	}
	return 0;
}

int
request_eof(struct request *r, uint8_t channel)
{
	int err;

	if (r->done)
		return -1;
	if ((err = ll_session_send_eof(r->conn->s, channel, r->id)) != 0) {
		request_error(r, LL_EC_INTERNAL, "the end of %s's output on "
		    "channel %u could not be queued: %s", r->op->name,
		    (unsigned)channel, ll_strerror(err));
		return -1;
	}
	return 0;
}

size_t
request_room(const struct request *r)
{
	return r->done ? 0 : ll_session_room(r->conn->s);
}

bool
request_is_drained(const struct request *r)
{
	return ll_session_is_drained(r->conn->s);
}

int
request_error(struct request *r, const char *code, const char *fmt, ...)
{
	char text[512], result[600], who[LL_SSH_FP_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (r->done) {
		/* one answer per request: this one came too late */
		log_warn("%s: request %u (%s) already ended; not sent: %s: %s",
		    r->conn->name, r->id, r->op->name, code, text);
		return -1;
	}
	snprintf(result, sizeof(result), "%s: %s", code, text);
	server_identity(r->conn, who, sizeof(who));
	audit_op_end(who, r->id, r->op->name, result);
	request_finish(r);
	return ll_session_send_error(r->conn->s, r->id, code, "%s", text);
}

static struct request *
server_find_request(struct conn *c, uint32_t id)
{
	struct request *r;

	LIST_FOREACH(r, &c->requests, entry) {
		if (r->id == id && !r->done)
			return r;
	}
	return NULL;
}

/* Whether a HELLO body's "caps" lists cap. */
static bool
server_hello_has(const json_t *hello, const char *cap)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(hello, "caps"), i, v) {
		if (json_is_string(v) && strcmp(json_string_value(v), cap) == 0)
			return true;
	}
	return false;
}

static void
server_hello(struct conn *c, const struct ll_msg *m)
{
	char err[256];
	json_t *hello, *caps;
	int version;

	if (ll_msg_hello_check(m->json, &version, err, sizeof(err)) != 0) {
		log_warn("%s: %s", c->name, err);
		ll_session_send_error(c->s, 0, LL_EC_VERSION, "%s", err);
		return;
	}
	/* the operations, unless the client said it needs no list of them */
	if (server_hello_has(m->json, LL_BRIEF_HELLO_CAP)) {
		caps = json_array();
		json_array_append_new(caps, json_string(LL_BRIEF_HELLO_CAP));
	} else
		caps = server_caps();
	if (!agent_opts.no_compress)
		json_array_append_new(caps, json_string(LL_ZDATA_CAP));
	hello = ll_msg_hello_new("agent", PACKAGE_STRING, caps);
	json_decref(caps);
	/* Compress only what a client that said it takes ZDATA receives. */
	if (ll_session_set_compress(c->s, !agent_opts.no_compress &&
	    server_hello_has(m->json, LL_ZDATA_CAP)) != 0)
		log_warn("%s: no memory to compress data: sent plain",
		    c->name);
	if (agent_opts.insecure)
		json_object_set_new(hello, "insecure", json_true());
	ll_session_send_json(c->s, LL_MSG_HELLO, 0, hello);
	json_decref(hello);
	c->hello_done = true;
	log_info("%s: client session started (protocol %d%s)", c->name,
	    version, ll_session_compresses(c->s) ? ", data compressed" : "");
}

/* Refuse op by the allow-list or read-only mode: true when refused. */
static bool
server_refuse(struct conn *c, uint32_t id, const struct agent_op *op,
    json_t *args)
{
	char who[LL_SSH_FP_MAX], why[160];
	const char **a;

	why[0] = '\0';
	if (agent_opts.allow != NULL) {
		for (a = agent_opts.allow; *a != NULL; a++) {
			if (strcmp(*a, op->name) == 0)
				break;
		}
		if (*a == NULL)
			snprintf(why, sizeof(why), "\"%s\" is not in this "
			    "agent's allow-list", op->name);
	}
	if (why[0] == '\0' && agent_opts.read_only && op->writes &&
	    !(op->readonly_arg != NULL && json_is_true(json_object_get(args,
	    op->readonly_arg))))
		snprintf(why, sizeof(why), "the agent is read-only and \"%s\" "
		    "changes things%s", op->name, op->readonly_arg == NULL ?
		    "" : " (its read-only form is allowed: mount --ro, "
		    "fsck -n)");
	if (why[0] == '\0')
		return false;
	server_identity(c, who, sizeof(who));
	audit_op_refused(who, op->name, why);
	ll_session_send_error(c->s, id, LL_EC_PERMISSION, "%s", why);
	return true;
}

static void
server_request(struct conn *c, const struct ll_msg *m)
{
	const struct agent_op *op;
	struct request *r;
	json_t *args;
	const char *name;
	char who[LL_SSH_FP_MAX];

	if (!c->hello_done) {
		ll_session_send_error(c->s, m->id, LL_EC_BAD_REQUEST,
		    "request before hello");
		return;
	}
	if (m->id == 0) {
		ll_session_send_error(c->s, 0, LL_EC_BAD_REQUEST,
		    "a request needs a nonzero id (id 0 is the session's)");
		return;
	}
	if (m->id <= c->last_id) {
		ll_session_send_error(c->s, m->id, LL_EC_BAD_REQUEST,
		    "request id %u was already used in this session: ids must "
		    "increase (the last one was %u)", m->id, c->last_id);
		return;
	}
	c->last_id = m->id;
	name = json_string_value(json_object_get(m->json, "op"));
	args = json_object_get(m->json, "args");
	if (name == NULL || (args != NULL && !json_is_object(args))) {
		ll_session_send_error(c->s, m->id, LL_EC_BAD_REQUEST,
		    "a request needs \"op\" (string) and \"args\" (object)");
		return;
	}
	if ((op = server_find_op(name)) == NULL) {
		ll_session_send_error(c->s, m->id, LL_EC_UNKNOWN_OP,
		    "unknown operation \"%s\"", name);
		return;
	}
	if (server_refuse(c, m->id, op, args))
		return;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		ll_session_send_error(c->s, m->id, LL_EC_INTERNAL,
		    "out of memory");
		return;
	}
	r->id = m->id;
	r->op = op;
	r->conn = c;
	r->nomem0 = json_nomem;
	ll_session_zdata_stats(c->s, &r->z0);
	LIST_INSERT_HEAD(&c->requests, r, entry);
	server_identity(c, who, sizeof(who));
	audit_op_start(who, r->id, op->name, args);
	args = args != NULL ? json_incref(args) : json_object();
	if (op->start(r, args) != 0)
		request_finish(r);
	json_decref(args);
}

/* What the rules of docs/protocol.md ask of a record of this kind. */
static const char *
server_bad_record_why(uint8_t kind, int rc)
{
	if (rc != LL_ERR_FORMAT)
		return ll_strerror(rc);
	if (ll_msg_kind_is_json(kind))
		return "flags must be 0 and the body exactly one JSON object "
		    "(UTF-8, no duplicate keys, no \\u0000)";
	if (kind == LL_MSG_ZDATA)
		return "the channel must be 0 to 3, and the body a u32 length "
		    "(1..65536) and a raw deflate stream of exactly that many "
		    "bytes";
	if (kind == LL_MSG_DATA || kind == LL_MSG_EOF)
		return "the channel must be 0 to 3, and an EOF has no body";
	return "this agent does not know the kind: skipped";
}

/*
 * A record that could not be decoded (rc) but whose header was read (m's
 * kind and id).  The answer carries the record's id when that ends exactly
 * one request: a running request of that id is ended by it (its input is
 * broken), and a new id (a malformed REQUEST) is used up by it.  An id 0, an
 * id of a request that already ended, or a kind this agent does not know (a
 * newer peer's, skipped) get their ERROR on id 0, naming the id, so that no
 * request ever sees two ending records.
 */
static void
server_bad_record(struct conn *c, const struct ll_msg *m, int rc)
{
	struct request *r;
	bool known = m->kind >= LL_MSG_HELLO && m->kind <= LL_MSG_KIND_MAX;

	const char *why = server_bad_record_why(m->kind, rc);

	if (known && m->id != 0 && (r = server_find_request(c, m->id)) !=
	    NULL) {
		if (r->op->cancel != NULL)
			r->op->cancel(r);
		request_error(r, LL_EC_BAD_REQUEST, "malformed record (kind "
		    "%u) for request %u: %s; the request is ended", m->kind,
		    m->id, why);
		return;
	}
	if (known && m->id > c->last_id) {
		c->last_id = m->id;
		ll_session_send_error(c->s, m->id, LL_EC_BAD_REQUEST,
		    "malformed record (kind %u): %s", m->kind, why);
		return;
	}
	ll_session_send_error(c->s, 0, LL_EC_BAD_REQUEST, "%s record (kind "
	    "%u, id %u): %s", known ? "malformed" : "unknown", m->kind, m->id,
	    why);
}

void
server_sync_generation(struct conn *c)
{
	if (ll_session_generation(c->s) == c->generation)
		return;
	log_info("%s: new client session; ending the previous one's "
	    "requests", c->name);
	server_conn_reset(c);
	c->generation = ll_session_generation(c->s);
}

void
server_handle(struct conn *c, uint64_t now)
{
	struct ll_msg m;
	struct request *r;
	int rc;

	(void)now;
	server_sync_generation(c);
	while ((rc = ll_session_recv(c->s, &m)) != 0) {
		if (rc < 0) {
			log_warn("%s: bad message: %s", c->name,
			    ll_strerror(rc));
			if (rc == LL_ERR_TOOBIG) {
				/* The session ended the link session. */
				server_conn_reset(c);
				break;
			}
			server_bad_record(c, &m, rc);
			continue;
		}
		switch (m.kind) {
		case LL_MSG_HELLO:
			server_hello(c, &m);
			break;
		case LL_MSG_REQUEST:
			server_request(c, &m);
			break;
		case LL_MSG_CANCEL:
			if ((r = server_find_request(c, m.id)) != NULL &&
			    r->op->cancel != NULL) {
				log_info("%s: request %u cancelled", c->name,
				    m.id);
				r->op->cancel(r);
			}
			break;
		case LL_MSG_DATA:
		case LL_MSG_EOF:
			r = server_find_request(c, m.id);
			if (r == NULL)
				break;
			if (m.kind == LL_MSG_DATA && r->op->data != NULL)
				r->op->data(r, m.flags, m.data, m.data_len);
			else if (m.kind == LL_MSG_EOF && r->op->eof != NULL)
				r->op->eof(r, m.flags);
			break;
		default:
			log_debug("%s: ignoring message kind %u", c->name,
			    m.kind);
			break;
		}
		ll_msg_cleanup(&m);
	}
}
