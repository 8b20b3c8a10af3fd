/*
 * The client's side of a session: open the --via transport, bring the link
 * up, exchange HELLO messages, then run requests one at a time, pumping the
 * session from a poll() loop while streamed data and events go to the
 * caller's handlers.  conn_run() wraps the whole of it for the commands that
 * make one request per session.
 *
 * Unless --insecure, the link carries an SSH session (ssh-client.c, tunnel
 * mode) and the records travel on its "lifeline" channel; the agent's host
 * key is checked against lifeline's known-hosts file.  On lifeline+ssh://
 * and lifeline+exec: paths the records go directly on the transport, which
 * is an SSH channel already.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "job-ask.h"
#include "error.h"
#include "link-pump.h"
#include "msg.h"
#include "ssh-client.h"
#include "ssh-common.h"


volatile int conn_interrupted;
volatile int conn_signal;
static struct ll_transport *preset_transport;
static bool conn_closing;	/* in conn_close: the link ends by our will */

void
conn_preset_transport(struct ll_transport *t)
{
	preset_transport = t;
}

int
conn_set_error(struct conn *c, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	c->err_exit = code;
	return code;
}

/* EXIT_* for a session that ended; the SSH engine's reason when it has one. */
static int
conn_session_failed(struct conn *c, int rc, bool was_up)
{
	struct ll_transport *t;
	int code = EXIT_LOST;
	bool silent = was_up && rc == LL_ERR_TIMEOUT &&
	    ll_session_link(c->s) != NULL;
	char why[1024];

	if (!was_up)
		code = rc == LL_ERR_TIMEOUT ? EXIT_NOAGENT : EXIT_CONNECT;
	/*
	 * A direct path (lifeline+ssh://, lifeline+exec:) says itself why it
	 * closed: the SSH engine's reason (a peer gone silent), the child's
	 * exit status.
	 */
	t = ll_session_transport(c->s);
	if (was_up && rc == LL_ERR_CLOSED && ll_transport_is_direct(t) &&
	    t->err[0] != '\0')
		return conn_set_error(c, code, "%s", t->err);
	if (c->ssh != NULL) {
		why[0] = '\0';
		switch (ll_ssh_client_state(c->ssh, why, sizeof(why))) {
		case LL_SSH_FAILED:
			if (silent)
				break;
			return conn_set_error(c, EXIT_CONNECT, "%s: %s",
			    client_opts.via, why);
		case LL_SSH_ENDED:
			if (why[0] != '\0' && !silent)
				return conn_set_error(c, code, "%s: %s",
				    client_opts.via, why);
			break;
		default:
			break;
		}
	}
	/* A link that worked and went silent: lost, not "no agent". */
	if (silent)
		return conn_set_error(c, code, "%s: the link to the agent was "
		    "lost: nothing came from it for %.0f s", client_opts.via,
		    (double)(ll_now_ms() - c->heard_ms) / 1000.0);
	if (was_up && ll_session_link(c->s) != NULL)
		return conn_set_error(c, code, "the link to the agent was lost: "
		    "%s", ll_session_error_text(c->s));
	return conn_set_error(c, code, "%s", ll_session_error_text(c->s));
}

const char *
conn_known_hosts(void)
{
	static char path[4096];
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");

	if (client_opts.known_hosts != NULL)
		return client_opts.known_hosts;
	if (xdg != NULL && xdg[0] == '/')
		snprintf(path, sizeof(path), "%s/lifeline/known_hosts", xdg);
	else
		snprintf(path, sizeof(path), "%s/.config/lifeline/known_hosts",
		    home != NULL ? home : "");
	return path;
}

/* The SSH options every mode shares, from the command line. */
static void
conn_ssh_config(struct ll_ssh_client_config *cfg, enum ll_ssh_mode mode)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = mode;
	cfg->identity = client_opts.identity;
	cfg->no_pty = client_opts.no_pty;
	cfg->accept_new = client_opts.accept_new_host_key;
	cfg->interactive = isatty(0) && isatty(2);
	cfg->verbose = client_opts.verbose;
}

void
conn_warn_insecure(void)
{
	static bool warned;

	/* once a process (passwd opens two sessions), and once a script:
	 * run says it and sets LIFELINE_INSECURE_WARNED for its lines */
	if (warned || getenv("LIFELINE_INSECURE_WARNED") != NULL)
		return;
	warned = true;
	msg_warn("--insecure: this session is not authenticated");
}

int
conn_transport_status(const char *err)
{
	/* proto's transports say so of every spec they cannot parse */
	return strncmp(err, "bad transport spec", 18) == 0 ? EXIT_USAGE :
	    EXIT_CONNECT;
}

int
conn_open_transport(struct ll_transport **t, char *err, size_t errlen)
{
	struct ll_ssh_client_config cfg;

	conn_ssh_config(&cfg, LL_SSH_GATEWAY);
	/* Only lifeline+ssh:// uses it: there the host key is the agent's. */
	cfg.pin = client_opts.host_key_fingerprint;
	ll_transport_ssh_defaults(&cfg);
	return via_open(t, err, errlen);
}

void
conn_tunnel_config(struct ll_ssh_client_config *cfg)
{
	conn_ssh_config(cfg, LL_SSH_TUNNEL);
	cfg->user = "root";
	cfg->known_hosts = conn_known_hosts();
	cfg->label = client_opts.via;
	cfg->pin = client_opts.host_key_fingerprint;
}

/* The link session started: an SSH client engine for it (session.h). */
static int
conn_tunnel(void *ctx, int *cipher_fd, int *plain_fd)
{
	struct conn *c = ctx;
	struct ll_ssh_client_config cfg;
	char err[512];
	int fds[2];

	if (c->ssh != NULL)
		return LL_ERR_RESET;	/* one link session per client */
	if (ll_ssh_socketpair(fds) != 0)
		return LL_ERR_IO;
	conn_tunnel_config(&cfg);
	if (ll_ssh_client_start(&cfg, fds[1], plain_fd, &c->ssh, err,
	    sizeof(err)) != 0) {
		msg_error("%s", err);
		close(fds[0]);
		return LL_ERR_IO;
	}
	*cipher_fd = fds[0];
	return 0;
}

void
client_link_log(void *ctx, int level, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	/* -v trouble, -vv the link's story, -vvv its frame trace */
	if (client_opts.verbose < (level <= LL_LOG_WARN ? 1 :
	    level == LL_LOG_INFO ? 2 : 3))
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* our own close ends the link: not news (-v is for trouble) */
	if (conn_closing && strstr(text, " -> dead") != NULL)
		return;
	msg_verbose("%s: %s", ctx != NULL ? (const char *)ctx : "link", text);
}

/* When the agent's frames last came: how long a lost link was silent. */
static void
conn_note_heard(struct conn *c, uint64_t now)
{
	struct ll_link_stats st;

	if (ll_session_link(c->s) == NULL)
		return;
	ll_link_stats(ll_session_link(c->s), &st);
	if (st.frames_received != c->heard_frames || c->heard_ms == 0) {
		c->heard_frames = st.frames_received;
		c->heard_ms = now;
	}
}

/*
 * One round of poll + I/O, woken early too when wake_fd (-1: none) is
 * readable.  Returns 0 or the session's error.
 */
static int
conn_pump_fd(struct conn *c, int max_wait_ms, int wake_fd)
{
	struct pollfd pfd[LL_SESSION_POLLFDS_MAX + 1];
	uint64_t now = ll_now_ms();
	int timeout = max_wait_ms, n;

	n = ll_session_pollfds(c->s, pfd, now, &timeout);
	if (wake_fd >= 0) {
		pfd[n].fd = wake_fd;
		pfd[n].events = POLLIN;
		pfd[n++].revents = 0;
	}
	if (poll(pfd, (nfds_t)n, timeout) < 0 && errno != EINTR)
		return LL_ERR_IO;
	now = ll_now_ms();
	n = ll_session_io(c->s, pfd, now);
	conn_note_heard(c, now);
	return n;
}

static int
conn_pump(struct conn *c, int max_wait_ms)
{
	return conn_pump_fd(c, max_wait_ms, -1);
}

/*
 * Our HELLO (docs/protocol.md): "brief-hello" (we do not look at the
 * agent's list of operations: a missing one answers unknown_op), and
 * "zdata" unless --compress no.
 */
static json_t *
conn_hello_new(void)
{
	json_t *caps, *hello;

	if ((caps = json_array()) == NULL)
		return NULL;
	json_array_append_new(caps, json_string(LL_BRIEF_HELLO_CAP));
	if (!client_opts.no_compress)
		json_array_append_new(caps, json_string(LL_ZDATA_CAP));
	hello = ll_msg_hello_new("client", PACKAGE_STRING, caps);
	json_decref(caps);
	return hello;
}

/* Whether the agent's HELLO lists cap. */
static bool
conn_agent_has(const struct conn *c, const char *cap)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(c->agent_hello, "caps"), i, v) {
		if (json_is_string(v) && strcmp(json_string_value(v), cap) == 0)
			return true;
	}
	return false;
}

/*
 * The agent's HELLO (or its refusal, an ERROR with id 0) in m: 0 when the
 * session may go on, else EXIT_* with the message in c->err.
 */
static int
conn_take_hello(struct conn *c, const struct ll_msg *m)
{
	char err[256];
	int version;

	if (m->kind == LL_MSG_ERROR) {
		const char *text = json_string_value(json_object_get(m->json,
		    "message"));

		return conn_set_error(c, EXIT_PROTOCOL, "the agent refused the "
		    "session: %s", text != NULL ? text : "?");
	}
	if (ll_msg_hello_check(m->json, &version, err, sizeof(err)) != 0)
		return conn_set_error(c, EXIT_PROTOCOL, "%s", err);
	c->agent_hello = json_incref(m->json);
	c->hello_pending = false;
	if (!client_opts.no_compress && conn_agent_has(c, LL_ZDATA_CAP) &&
	    ll_session_set_compress(c->s, true) != 0)
		return conn_set_error(c, EXIT_FAILED, "out of memory");
	msg_verbose("data compression: %s", ll_session_compresses(c->s) ?
	    "on" : client_opts.no_compress ? "off (--compress no)" :
	    "off (the agent does not offer it)");
	return 0;
}

/* Whether m is what conn_take_hello takes while the HELLO is pending. */
static bool
conn_is_hello(const struct conn *c, const struct ll_msg *m)
{
	return c->hello_pending && m->id == 0 && (m->kind == LL_MSG_HELLO ||
	    m->kind == LL_MSG_ERROR);
}

/*
 * While the agent's HELLO is pending, a failure is the session's start
 * failing (SSH refused us, no agent): 0, or EXIT_* as conn_open says it.
 */
static int
conn_start_failed(struct conn *c, int pump_rc)
{
	char err[1024];

	if (pump_rc != 0)
		return conn_session_failed(c, pump_rc, c->ssh == NULL);
	if (c->ssh != NULL && ll_ssh_client_state(c->ssh, err,
	    sizeof(err)) == LL_SSH_FAILED)
		return conn_set_error(c, EXIT_CONNECT, "%s: %s",
		    client_opts.via, err);
	return 0;
}

static int conn_start(struct conn *c, bool wait_hello);

int
conn_open(struct conn *c)
{
	return conn_start(c, true);
}

int
conn_open_early(struct conn *c)
{
	return conn_start(c, false);
}

static int
conn_start(struct conn *c, bool wait_hello)
{
	struct ll_link_config cfg;
	struct ll_transport *t;
	struct ll_msg m;
	char err[1024];
	json_t *hello;
	int rc;

	memset(c, 0, sizeof(*c));
	if (client_opts.via == NULL)
		return conn_set_error(c, EXIT_USAGE, "no path to the agent: give "
		    "--via SPEC or set LIFELINE_VIA");
	if (preset_transport != NULL) {
		t = preset_transport;
		preset_transport = NULL;
	} else if (conn_open_transport(&t, err, sizeof(err)) != 0)
		return conn_set_error(c, conn_transport_status(err), "%s", err);
	if (t->err[0] != '\0')
		msg_verbose("%s", t->err);
	if (ll_transport_is_direct(t)) {
		if ((c->s = ll_session_new_direct(t)) == NULL) {
			ll_transport_close(t);
			return conn_set_error(c, EXIT_FAILED, "out of memory");
		}
		goto hello;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.is_agent = false;
	cfg.encoding = (enum ll_encoding)client_opts.encoding;
	cfg.epoch = ll_link_epoch_draw();
	cfg.connect_ms = (uint32_t)client_opts.timeout_ms;
	/* exec: the timeout starts at the child's first output (below);
	 * until then --ready-timeout bounds the wait. */
	if (t->connect_from_output)
		cfg.connect_ms = client_opts.ready_ms != 0 ?
		    client_opts.ready_ms : 60000;
	cfg.line_rate = client_opts.baud / 10;
	cfg.log = client_link_log;
	cfg.ssh = !client_opts.insecure;
	if ((c->s = ll_session_new(t, &cfg, ll_now_ms())) == NULL) {
		ll_transport_close(t);
		return conn_set_error(c, EXIT_FAILED, "out of memory");
	}
	if (client_opts.verbose > 0)
		ll_session_set_console(c->s, console_text, NULL);
	if (client_opts.insecure)
		conn_warn_insecure();
	else
		ll_session_set_tunnel(c->s, conn_tunnel, c);

	while (!ll_session_is_up(c->s)) {
		if ((rc = conn_pump(c, 1000)) != 0)
			return conn_session_failed(c, rc, false);
		/* exec: the timeout counts from the child's first output. */
		if (t->connect_from_output && t->rx_first_ms != 0) {
			ll_link_restart_connect(ll_session_link(c->s),
			    t->rx_first_ms, (uint32_t)client_opts.timeout_ms);
			t->connect_from_output = false;
		}
		if (conn_interrupted)
			return conn_set_error(c, EXIT_NOAGENT, "interrupted while "
			    "connecting to %s", client_opts.via);
	}
	{
		struct ll_link_stats st;

		ll_link_stats(ll_session_link(c->s), &st);
		msg_verbose("link up on %s: alphabet of %u symbols, frames of "
		    "up to %zu bytes", client_opts.via, st.radix,
		    st.frame_payload);
	}
hello:
	hello = conn_hello_new();
	rc = ll_session_send_json(c->s, LL_MSG_HELLO, 0, hello);
	json_decref(hello);
	if (rc != 0)
		return conn_set_error(c, EXIT_FAILED, "hello: %s", ll_strerror(rc));
	c->hello_pending = true;
	while (wait_hello && c->hello_pending) {
		if ((rc = conn_start_failed(c, conn_pump(c, 1000))) != 0)
			return rc;
		if (conn_interrupted)
			return conn_set_error(c, EXIT_NOAGENT, "interrupted while "
			    "connecting to %s", client_opts.via);
		rc = ll_session_recv(c->s, &m);
		if (rc < 0)
			return conn_set_error(c, EXIT_PROTOCOL, "bad message from "
			    "the agent: %s", ll_strerror(rc));
		if (rc == 0)
			continue;
		rc = conn_is_hello(c, &m) ? conn_take_hello(c, &m) : 0;
		ll_msg_cleanup(&m);
		if (rc != 0)
			return rc;
	}
	return 0;
}

void
conn_close(struct conn *c)
{
	if (c->s != NULL && client_opts.verbose > 0 &&
	    ll_session_link(c->s) != NULL) {
		struct ll_link_stats st;

		ll_link_stats(ll_session_link(c->s), &st);
		msg_verbose("link: %llu frames sent (%llu retransmitted), %llu "
		    "received, %llu CRC errors, %llu duplicates, %llu echoes; "
		    "srtt %u ms, rto %u ms, frame payload %zu, alphabet %u; "
		    "wire bytes %llu out, %llu in",
		    (unsigned long long)st.frames_sent,
		    (unsigned long long)st.retransmits,
		    (unsigned long long)st.frames_received,
		    (unsigned long long)st.crc_errors,
		    (unsigned long long)st.duplicates,
		    (unsigned long long)st.echoes, st.srtt_ms, st.rto_ms,
		    st.frame_payload, st.radix,
		    (unsigned long long)st.bytes_sent,
		    (unsigned long long)st.bytes_received);
	}
	if (c->s != NULL && client_opts.verbose > 0 &&
	    ll_session_compresses(c->s)) {
		struct ll_zdata_stats z;

		ll_session_zdata_stats(c->s, &z);
		msg_verbose("compression: sent %llu ZDATA records (%llu bytes "
		    "as %llu) and %llu plain DATA records (%llu bytes); "
		    "received %llu ZDATA and %llu plain DATA records",
		    (unsigned long long)z.zrecords,
		    (unsigned long long)z.zraw, (unsigned long long)z.zwire,
		    (unsigned long long)z.precords,
		    (unsigned long long)z.praw,
		    (unsigned long long)z.rx_zrecords,
		    (unsigned long long)z.rx_precords);
	}
	if (c->s != NULL) {
		/* after Ctrl-C, the user waits: the CANCEL and CLOSE go first */
		conn_closing = true;
		ll_session_close(c->s, conn_interrupted ? 1000 : 3000);
		ll_session_free(c->s);
		conn_closing = false;
	}
	ll_ssh_client_free(c->ssh);
	c->ssh = NULL;
	json_decref(c->agent_hello);
	c->s = NULL;
	c->agent_hello = NULL;
}

/* Ask the agent to cancel request id (the send does not take the body). */
static void
conn_cancel(struct conn *c, uint32_t id)
{
	json_t *body = json_object();

	if (body != NULL)
		ll_session_send_json(c->s, LL_MSG_CANCEL, id, body);
	json_decref(body);
}

int
conn_interrupt_status(void)
{
	return 128 + (conn_signal != 0 ? conn_signal : SIGINT);
}

/*
 * Stopping without waiting for the agent: hand the handler what already
 * arrived (the complete messages, then the received part of a DATA record
 * still arriving).
 */
static void
conn_drain(struct conn *c, uint32_t id, const struct call_handlers *h)
{
	struct ll_msg m;
	int rc;

	/* Bytes already in the kernel's buffers count as arrived too. */
	conn_pump(c, 0);
	while ((rc = ll_session_recv(c->s, &m)) > 0) {
		if (m.id == id && m.kind == LL_MSG_DATA && h->data != NULL)
			h->data(h->ctx, m.flags, m.data, m.data_len);
		/* in order: a get's start event tells where its data goes */
		if (m.id == id && m.kind == LL_MSG_EVENT && h->event != NULL)
			h->event(h->ctx, m.json);
		ll_msg_cleanup(&m);
	}
	if (rc == 0 && ll_session_peek_partial(c->s, &m) > 0) {
		if (m.id == id && h->data != NULL && m.data_len > 0)
			h->data(h->ctx, m.flags, m.data, m.data_len);
		ll_msg_cleanup(&m);
	}
}

/*
 * A download interrupted: the cancel is on its way; keep what arrived and
 * stop without waiting for the agent.
 */
static int
conn_stop_interrupted(struct conn *c, const char *op, uint32_t id,
    const struct call_handlers *h)
{
	conn_drain(c, id, h);
	return conn_set_error(c, conn_interrupt_status(), "%s: interrupted",
	    op);
}

/*
 * An interrupt while a job is waited for (h->ask): true while the answer
 * to its question is awaited, and then nothing else is done about the
 * interrupt; *rc set (non-zero) when the call is to stop at once.
 */
static bool
conn_ask(struct conn *c, uint32_t id, const struct call_handlers *h,
    bool *settled, int *rc)
{
	*rc = 0;
	if (h == NULL || h->ask == NULL || *settled)
		return false;
	switch (job_ask_interrupt(h->ask, c, id)) {
	case CONN_INT_ASKING:
		return true;
	case CONN_INT_DETACH:
		/* The session's end frees the request; the job runs on. */
		conn_drain(c, id, h);
		*rc = c->err_exit;
		return true;
	default:
		*settled = true;
		return false;
	}
}

/* args' string field key, or dflt. */
static const char *
conn_arg(json_t *args, const char *key, const char *dflt)
{
	const char *v = json_string_value(json_object_get(args, key));

	return v != NULL ? v : dflt;
}

/*
 * The link died after op was sent and before its answer: the agent may
 * have done it.  Append what may have happened and the command that shows
 * it; ops that change nothing need no hint.
 */
static void
conn_lost_hint(struct conn *c, const char *op, json_t *args)
{
	const char *path = conn_arg(args, "path", "?");
	const char *in = json_is_true(json_object_get(args, "rescue_host")) ?
	    "" : "--chroot ";
	char hint[512];

	if (strcmp(op, "passwd") == 0)
		snprintf(hint, sizeof(hint), "the change to %s's password may "
		    "have been applied: `lifeline exec --chroot -- passwd -S "
		    "%s` shows the account's state and last change",
		    conn_arg(args, "user", "root"),
		    conn_arg(args, "user", "root"));
	else if (strcmp(op, "authorize-key") == 0)
		snprintf(hint, sizeof(hint), "the key may have been added for "
		    "%s: running the same command again is safe (a key "
		    "already there is reported, not added twice)",
		    conn_arg(args, "user", "root"));
	else if (strcmp(op, "put") == 0)
		snprintf(hint, sizeof(hint), "%s may have been replaced: "
		    "`lifeline exec %s-- sha256sum %s` shows what is there "
		    "now", path, in, path);
	else if (strcmp(op, "put-entry") == 0)
		snprintf(hint, sizeof(hint), "%s may have been created or "
		    "changed: `lifeline exec %s-- ls -ld %s` shows it", path,
		    in, path);
	else if (strcmp(op, "mount") == 0)
		snprintf(hint, sizeof(hint), "the mount may have been made: "
		    "`lifeline disks` shows the mount points");
	else if (strcmp(op, "umount") == 0)
		snprintf(hint, sizeof(hint), "the unmount may have been done: "
		    "`lifeline disks` shows what is still mounted");
	else if (strcmp(op, "fsck") == 0)
		snprintf(hint, sizeof(hint), "the checker may still be running "
		    "on %s and changing it: `lifeline exec -- pgrep -a fsck` "
		    "shows whether it runs", conn_arg(args, "device", "?"));
	else if (strcmp(op, "reboot") == 0)
		snprintf(hint, sizeof(hint), "the rescue host may be "
		    "rebooting: `lifeline info` shows its uptime once its "
		    "agent is back");
	else if (strcmp(op, "exec") == 0)
		snprintf(hint, sizeof(hint), "the command may still be running "
		    "on the agent's host: `lifeline exec -- ps -ef` shows "
		    "what runs there");
	else
		return;
	snprintf(c->err + strlen(c->err), sizeof(c->err) - strlen(c->err),
	    "; %s was sent and no answer came: %s", op, hint);
}

int
conn_call(struct conn *c, const char *op, json_t *args,
    const struct call_handlers *h, json_t **reply)
{
	struct ll_msg m;
	json_t *req;
	uint32_t id = ++c->next_id;
	bool cancelled = false, replied = false, settled = false, asking;
	int rc, result = -1, more = 0, wait, fd;

	if (reply != NULL)
		*reply = NULL;
	c->err_code[0] = '\0';
	/* "o" takes the reference: a borrowed args gets one of its own. */
	req = json_pack("{s:s, s:o}", "op", op, "args",
	    args != NULL ? json_incref(args) : json_object());
	rc = ll_session_send_json(c->s, LL_MSG_REQUEST, id, req);
	json_decref(req);
	if (rc != 0)
		return conn_set_error(c, EXIT_FAILED, "%s: cannot send the request: "
		    "%s", op, ll_strerror(rc));
	while (result < 0 || (replied && h != NULL && h->complete != NULL &&
	    !h->complete(h->ctx))) {
		asking = conn_interrupted && !cancelled && !replied &&
		    conn_ask(c, id, h, &settled, &rc);
		if (asking && rc != 0)
			return rc;
		if (conn_interrupted && !cancelled && !replied && !asking) {
			conn_cancel(c, id);
			cancelled = true;
			if (h != NULL && h->stop_on_interrupt)
				return conn_stop_interrupted(c, op, id, h);
			if (!settled)	/* else the question's answer said it */
				msg_warn("interrupted: asking the agent to "
				    "cancel %s", op);
		}
		if (conn_interrupted > 1 && !asking)
			return conn_set_error(c, conn_interrupt_status(),
			    "%s: interrupted", op);
		more = 0;
		if (h != NULL && h->produce != NULL && !replied && result < 0 &&
		    (more = h->produce(h->ctx, c->s, id)) < 0) {
			if (!cancelled)
				conn_cancel(c, id);
			return c->err_exit != 0 ? c->err_exit : EXIT_FAILED;
		}
		/*
		 * An upload that has more to send must not sleep while the
		 * session has room for it: the bytes queued may all have gone
		 * out already, and then no fd will wake us.  Without room,
		 * the queue is not empty and its POLLOUT wakes us.
		 */
		wait = more > 0 && ll_session_room(c->s) > 0 ? 0 : 1000;
		if (c->call_deadline_ms != 0 && result < 0) {
			uint64_t now = ll_now_ms();

			if (now >= c->call_deadline_ms)
				return conn_set_error(c, EXIT_TIMEOUT, "%s: no "
				    "answer in time", op);
			if (c->call_deadline_ms - now < (uint64_t)wait)
				wait = (int)(c->call_deadline_ms - now);
		}
		fd = -1;
		if (asking)
			fd = job_ask_wake_fd(h->ask);
		else if (h != NULL && h->wake_fd != NULL && !replied &&
		    result < 0)
			fd = h->wake_fd(h->ctx, c->s);
		rc = conn_pump_fd(c, wait, fd);
		/* our HELLO unanswered: the session's start failed */
		if (c->hello_pending && (rc = conn_start_failed(c, rc)) != 0)
			return rc;
		if (rc != 0) {
			conn_session_failed(c, rc, true);
			if (!replied && result < 0)
				conn_lost_hint(c, op, args);
			return c->err_exit;
		}
		while ((rc = ll_session_recv(c->s, &m)) != 0) {
			if (rc < 0)
				return conn_set_error(c, EXIT_PROTOCOL, "bad message "
				    "from the agent: %s", ll_strerror(rc));
			if (conn_is_hello(c, &m)) {
				rc = conn_take_hello(c, &m);
				ll_msg_cleanup(&m);
				if (rc != 0)
					return rc;
				continue;
			}
			if (m.id != id) {
				ll_msg_cleanup(&m);
				continue;
			}
			switch (m.kind) {
			case LL_MSG_DATA:
				if (h != NULL && h->data != NULL)
					h->data(h->ctx, m.flags, m.data,
					    m.data_len);
				break;
			case LL_MSG_EOF:
				if (h != NULL && h->eof != NULL)
					h->eof(h->ctx, m.flags);
				break;
			case LL_MSG_EVENT:
				if (h != NULL && h->event != NULL)
					h->event(h->ctx, m.json);
				break;
			case LL_MSG_REPLY:
				if (reply != NULL && !replied)
					*reply = json_incref(m.json);
				replied = true;
				result = 0;
				break;
			case LL_MSG_ERROR: {
				const char *code = json_string_value(
				    json_object_get(m.json, "code"));
				const char *text = json_string_value(
				    json_object_get(m.json, "message"));

				snprintf(c->err_code, sizeof(c->err_code), "%s",
				    code != NULL ? code : "?");
				output_error_code(c->err_code);
				/* the cancel we asked for: the signal's status.
				 * The message is the agent's, without the
				 * operation's internal name (file-stat, ...). */
				result = conn_set_error(c, cancelled && code != NULL &&
				    strcmp(code, LL_EC_CANCELLED) == 0 ?
				    conn_interrupt_status() : EXIT_FAILED, "%s",
				    text != NULL ? text : "the agent said it failed");
				break;
			}
			default:
				break;
			}
			ll_msg_cleanup(&m);
		}
	}
	return result;
}

/* Sleep ms, waking early on an interrupt: false when interrupted. */
static bool
conn_sleep(int ms)
{
	while (ms > 0 && !conn_interrupted) {
		poll(NULL, 0, ms < 100 ? ms : 100);
		ms -= 100;
	}
	return !conn_interrupted;
}

int
conn_reconnect(struct conn *c, const char *what)
{
	uint64_t t0 = ll_now_ms(), deadline;
	int delay = CONN_RECONNECT_FIRST_MS;

	conn_close(c);
	if (client_opts.reconnect_ms <= 0 || conn_interrupted)
		return EXIT_LOST;
	msg_warn("%s: reconnecting for up to %d s (Ctrl-C stops trying)",
	    what, client_opts.reconnect_ms / 1000);
	deadline = t0 + (uint64_t)client_opts.reconnect_ms;
	while (ll_now_ms() < deadline) {
		if (!conn_sleep(delay))
			break;
		if (delay < CONN_RECONNECT_MAX_MS)
			delay *= 2;
		if (conn_open(c) == 0) {
			msg_verbose("reconnected after %.1f s",
			    (double)(ll_now_ms() - t0) / 1000);
			return 0;
		}
		msg_verbose("reconnecting: %s", c->err);
		conn_close(c);
	}
	if (conn_interrupted)
		msg_error("stopped trying to reconnect (interrupted)");
	else
		msg_error("no agent answered for %d s: gave up reconnecting",
		    client_opts.reconnect_ms / 1000);
	return EXIT_LOST;
}

int
conn_run(const char *op, json_t *args, const struct call_handlers *h,
    json_t **reply)
{
	struct conn c;
	int rc;

	if (reply != NULL)
		*reply = NULL;
	if ((rc = conn_open_early(&c)) != 0 ||
	    (rc = conn_call(&c, op, args, h, reply)) != 0) {
		msg_error("%s", c.err);
		/* A link lost after the REPLY still fails the command. */
		if (reply != NULL) {
			json_decref(*reply);
			*reply = NULL;
		}
	}
	/* After the message: with -v the link's statistics follow it. */
	conn_close(&c);
	return rc;
}

struct ll_session *
conn_tunnel_session(const char *cmd, const char *direct_hint,
    ll_tunnel_fn *fn, void *ctx)
{
	struct ll_link_config cfg;
	struct ll_transport *t;
	struct ll_session *s;
	char err[512];

	if (conn_open_transport(&t, err, sizeof(err)) != 0) {
		msg_error("%s", err);
		return NULL;
	}
	if (ll_transport_is_direct(t)) {
		msg_error("%s: %s is an SSH channel already, not a console "
		    "path; %s", cmd, client_opts.via, direct_hint);
		ll_transport_close(t);
		return NULL;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.encoding = (enum ll_encoding)client_opts.encoding;
	cfg.epoch = ll_link_epoch_draw();
	cfg.connect_ms = (uint32_t)client_opts.timeout_ms;
	cfg.line_rate = client_opts.baud / 10;
	cfg.log = client_link_log;
	cfg.ssh = true;
	if ((s = ll_session_new(t, &cfg, ll_now_ms())) == NULL) {
		ll_transport_close(t);
		msg_error("out of memory");
		return NULL;
	}
	/* No console handler: kernel messages never reach the tunnel. */
	ll_session_set_tunnel(s, fn, ctx);
	return s;
}
