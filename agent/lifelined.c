/*
 * lifelined: the rescue agent.
 *
 * It serves the lifeline protocol on a serial port (--serial), on its own
 * tty (--stdio, e.g. started from a console login) or on a socket listener
 * (--listen), and as an SSH server (--listen-ssh).  Everything runs in one
 * poll() loop: signals arrive through a signalfd, each connection is a
 * session (transport + link + messages), and running requests contribute
 * their own fds.
 *
 * Unless --insecure, every session is SSH: on a console the link carries an
 * SSH session (ssh-server.c) whose "lifeline" channel carries the records;
 * on --listen-ssh the records go straight on the channel.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "audit.h"
#include "conf.h"
#include "error.h"
#include "getty.h"
#include "link-pump.h"
#include "job.h"
#include "log.h"
#include "session.h"
#include "ssh-common.h"
#include "ssh-channels.h"
#include "ssh-server.h"
#include "target.h"
#include "watchdog.h"

#define AGENT_POLL_MAX	256
#define AGENT_REOPEN_MS	1000
#define AGENT_ACCEPT_PAUSE_MS	1000

struct agent_options agent_opts;

static LIST_HEAD(, conn) conns = LIST_HEAD_INITIALIZER(conns);

/* A connection whose device vanished waits here to be reopened. */
static struct reopen {
	char spec[300];
	char name[64];
	uint64_t at;
	bool active;
} reopen_slot;

/*
 * A listener, and its back-off after a failed accept: out of file
 * descriptors, accept(2) fails at once while the connection waits in the
 * backlog, and polling on would spin (and log) without end.  So a failure
 * stops the polling for AGENT_ACCEPT_PAUSE_MS, logged once until an accept
 * works again.
 */
struct agent_listener {
	struct ll_listener *l;
	const char *name;		/* its spec, for logs */
	uint64_t resume_at;		/* not polled before then */
	bool failing;			/* the failure was logged */
	unsigned long pauses;		/* since it was logged */
};

static void
usage(FILE *f)
{
	fprintf(f,
"usage: lifelined [--serial DEV[,BAUD] | --stdio | --listen unix:PATH|tcp:[ADDR:]PORT]\n"
"                 [--listen-ssh [ADDR:]PORT] [--host-key FILE]\n"
"                 [--authorized-keys FILE] [--allow OP,...] [--read-only]\n"
"                 [--config FILE] [--insecure] [--encoding auto|7bit|8bit]\n"
"                 [--debug-file FILE] [--target-root DIR] [--getty CMD]\n"
"                 [--compress yes|no] [-v]\n"
"\n"
"  --serial DEV[,BAUD]  serve on a serial port (libserialport; termios for PTYs)\n"
"  --stdio              serve on this process's own tty or stdin/stdout\n"
"  --listen SPEC        accept connections on a unix or tcp socket\n"
"  --listen-ssh [ADDR:]PORT  SSH server; the \"lifeline\" subsystem\n"
"  --host-key FILE      SSH host key (default " SSH_SERVER_KEY_DEFAULT ",\n"
"                       generated when missing)\n"
"  --authorized-keys FILE  keys allowed in (default " SSH_SERVER_AUTHKEYS_DEFAULT ")\n"
"  --allow OP,...       only these operations (default: all)\n"
"  --read-only          refuse every operation that changes something\n"
"  --config FILE        settings file (default " CONF_DEFAULT_PATH ")\n"
"  --insecure           no SSH on the console link: anyone who can write to\n"
"                       it can run commands (labs and tests only)\n"
"  --encoding E         refuse 8-bit coding when E is 7bit\n"
"  --compress no        never compress data records (default yes: when the\n"
"                       client also offers it, compressible data goes as\n"
"                       ZDATA records)\n"
"  --debug-file FILE    append a detailed log to FILE\n"
"  --target-root DIR    act on the original root already mounted at DIR\n"
"  --getty CMD          --serial: hand the line to this getty when a person\n"
"                       presses Enter, serve lifeline again when it exits\n"
"                       (%%t the tty, %%d its path, %%b the baud rate)\n"
"  -v, --verbose        log debug messages\n"
"  -V, --version        print the version\n");
}

static void
agent_link_config(struct ll_link_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->is_agent = true;
	cfg->encoding = (enum ll_encoding)agent_opts.encoding;
	cfg->epoch = ll_link_epoch_draw();
	cfg->log = log_link;
	cfg->ssh = !agent_opts.insecure;
}

/* A --listen connection no longer waits for its login in the caps. */
static void
agent_login_release(struct conn *c)
{
	if (c->login_counted)
		ssh_server_login_release(c->path, c->limit_peer);
	c->login_counted = false;
}

/*
 * A new client session started on a console link: a fresh SSH engine for
 * it (the previous client's engine ends when the session closes its fds).
 */
static int
agent_tunnel(void *ctx, int *cipher_fd, int *plain_fd)
{
	struct conn *c = ctx;
	char peer[160];
	int fds[2], rc;

	ssh_serving_release(c->ssh);
	c->ssh = NULL;
	/* From here on the engine counts this login in progress. */
	agent_login_release(c);
	if (c->path == AUDIT_PATH_LISTEN)
		c->login_by = ll_now_ms() + SSH_SERVER_AUTH_MS;
	if ((rc = ll_ssh_socketpair(fds)) != 0) {
		log_error("%s: socketpair: %s", c->name, strerror(-rc));
		return LL_ERR_IO;
	}
	if (c->path == AUDIT_PATH_LISTEN)
		snprintf(peer, sizeof(peer), "listen %s (%s)", c->name,
		    c->limit_peer);
	else
		snprintf(peer, sizeof(peer), "console %s", c->name);
	/*
	 * from= is checked against a TCP peer's address; a unix socket and
	 * a console have none, so a key with from= is refused there.
	 */
	if ((rc = ssh_server_start(fds[1], c->path, peer,
	    c->peer_addr[0] != '\0' ? c->peer_addr : NULL, c->limit_peer,
	    plain_fd, &c->ssh)) != 0) {
		close(fds[0]);
		return rc;
	}
	*cipher_fd = fds[0];
	return 0;
}

/*
 * Consoles go first in the list, so that however many network connections
 * there are, a console is always polled.
 */
static void
agent_insert(struct conn *c, bool console)
{
	struct conn *last;

	if (console || LIST_EMPTY(&conns)) {
		LIST_INSERT_HEAD(&conns, c, entry);
		return;
	}
	for (last = LIST_FIRST(&conns); LIST_NEXT(last, entry) != NULL;
	    last = LIST_NEXT(last, entry))
		;
	LIST_INSERT_AFTER(last, c, entry);
}

static struct conn *
agent_add(struct ll_transport *t, const char *name, bool console,
    uint64_t now)
{
	struct ll_link_config cfg;
	struct ll_session *s;
	struct conn *c;

	agent_link_config(&cfg);
	if ((c = malloc(sizeof(*c))) == NULL ||
	    (s = ll_session_new(t, &cfg, now)) == NULL) {
		log_error("out of memory");
		free(c);
		ll_transport_close(t);
		return NULL;
	}
	server_conn_init(c, s, name);
	if (!agent_opts.insecure)
		ll_session_set_tunnel(s, agent_tunnel, c);
	agent_insert(c, console);
	return c;
}

static void
agent_drop(struct conn *c)
{
	agent_login_release(c);
	server_conn_reset(c);
	LIST_REMOVE(c, entry);
	ll_session_free(c->s);
	ssh_serving_release(c->ssh);
	free(c);
}

/* An accept on al failed (err): pause it, say so once. */
static void
agent_accept_failed(struct agent_listener *al, const char *err, uint64_t now)
{
	al->resume_at = now + AGENT_ACCEPT_PAUSE_MS;
	al->pauses++;
	if (al->failing)
		return;
	al->failing = true;
	log_warn("%s: %s; not accepting on %s for %d s at a time until it "
	    "works again (said once)", al->name, err, al->name,
	    AGENT_ACCEPT_PAUSE_MS / 1000);
}

static void
agent_accept_worked(struct agent_listener *al)
{
	if (!al->failing)
		return;
	log_info("accepting on %s again (after %lu pauses)", al->name,
	    al->pauses);
	al->failing = false;
	al->pauses = 0;
}

/*
 * The peer of an accepted socket for the login caps: "unix uid N" on a
 * unix socket (SO_PEERCRED), the numeric address on TCP (*is_inet true).
 * 0 or -1.
 */
static int
agent_limit_peer(int fd, char *out, size_t len, bool *is_inet)
{
	struct sockaddr_storage sa;
	socklen_t salen = sizeof(sa), crlen;
	struct ucred cr;

	if (getsockname(fd, (struct sockaddr *)&sa, &salen) != 0)
		return -1;
	if (sa.ss_family == AF_UNIX) {
		crlen = sizeof(cr);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) != 0)
			return -1;
		snprintf(out, len, "unix uid %u", (unsigned)cr.uid);
		*is_inet = false;
		return 0;
	}
	*is_inet = true;
	salen = sizeof(sa);
	if (getpeername(fd, (struct sockaddr *)&sa, &salen) != 0 ||
	    getnameinfo((struct sockaddr *)&sa, salen, out, (socklen_t)len,
	    NULL, 0, NI_NUMERICHOST) != 0)
		return -1;
	return 0;
}

/*
 * Connections on --listen: the link protocol with SSH inside, as on a
 * console, but from the network, so with the network's limits: the
 * failure limit of --listen, a slot among the logins in progress from
 * accept until the SSH engine takes over (agent_tunnel), and
 * SSH_SERVER_AUTH_MS to log in (agent_check_logins).
 */
static void
agent_accept_listen(struct agent_listener *al, uint64_t now)
{
	char err[512], lp[64];
	struct ll_transport *t;
	struct conn *c;
	bool inet;
	int rc;

	while ((rc = ll_listener_accept(al->l, &t, err, sizeof(err))) == 0) {
		agent_accept_worked(al);
		if (agent_limit_peer(t->rfd, lp, sizeof(lp), &inet) != 0) {
			log_warn("%s: cannot tell who connected: %s", t->spec,
			    strerror(errno));
			ll_transport_close(t);
			continue;
		}
		if (!agent_opts.insecure) {
			if (!audit_auth_allowed(AUDIT_PATH_LISTEN, now)) {
				log_warn("%s (%s): too many failed "
				    "authentications on --listen; refused",
				    t->spec, lp);
				ll_transport_close(t);
				continue;
			}
			if (!ssh_server_login_take(AUDIT_PATH_LISTEN, lp,
			    t->spec)) {
				ll_transport_close(t);
				continue;
			}
		}
		log_info("connection on %s (%s)", al->name, lp);
		if ((c = agent_add(t, t->spec, false, now)) == NULL) {
			if (!agent_opts.insecure)
				ssh_server_login_release(AUDIT_PATH_LISTEN, lp);
			continue;
		}
		c->path = AUDIT_PATH_LISTEN;
		snprintf(c->limit_peer, sizeof(c->limit_peer), "%s", lp);
		snprintf(c->peer_addr, sizeof(c->peer_addr), "%s",
		    inet ? lp : "");
		/* With --insecure nobody logs in: nothing to wait for. */
		c->login_counted = !agent_opts.insecure;
		c->login_by = agent_opts.insecure ? 0 : now +
		    SSH_SERVER_AUTH_MS;
	}
	if (rc != LL_ERR_AGAIN)
		agent_accept_failed(al, err, now);
}

/*
 * --listen connections that did not log in within SSH_SERVER_AUTH_MS of
 * their accept (or of their last client session's start) are closed; one
 * that logged in waits no more.
 */
static void
agent_check_logins(uint64_t now)
{
	struct conn *c, *cnext;
	char fp[LL_SSH_FP_MAX];

	for (c = LIST_FIRST(&conns); c != NULL; c = cnext) {
		cnext = LIST_NEXT(c, entry);
		if (c->login_by == 0)
			continue;
		fp[0] = '\0';
		if (c->ssh != NULL)
			ssh_serving_identity(c->ssh, fp, sizeof(fp));
		if (fp[0] != '\0')
			c->login_by = 0;
		else if (now >= c->login_by) {
			log_info("%s (%s): no login within %d s; closed",
			    c->name, c->limit_peer, SSH_SERVER_AUTH_MS / 1000);
			agent_drop(c);
		}
	}
}

/* Poll al unless it is pausing; then wake for the pause's end. */
static int
agent_listener_pollfd(struct agent_listener *al, struct pollfd *pfd,
    uint64_t now, int *timeout)
{
	int ms;

	if (al->l == NULL)
		return 0;
	if (now < al->resume_at) {
		ms = (int)(al->resume_at - now);
		if (*timeout < 0 || ms < *timeout)
			*timeout = ms;
		return 0;
	}
	pfd->fd = ll_listener_fd(al->l);
	pfd->events = POLLIN;
	return 1;
}

/* A connection on --listen-ssh: SSH on the socket, records on the channel. */
static void
agent_accept_ssh(struct agent_listener *al, uint64_t now)
{
	struct sockaddr_storage sa;
	socklen_t salen;
	char host[64], port[16], peer[96], spec[32], err[512];
	struct ll_transport *t;
	struct ssh_serving *ss;
	struct ll_session *s;
	struct conn *c;
	int fd, plain, rc;

	while ((rc = ll_listener_accept(al->l, &t, err, sizeof(err))) == 0) {
		agent_accept_worked(al);
		fd = fcntl(t->rfd, F_DUPFD_CLOEXEC, 0);
		ll_transport_close(t);
		if (fd < 0) {
			snprintf(err, sizeof(err), "dup: %s", strerror(errno));
			rc = LL_ERR_IO;
			break;
		}
		salen = sizeof(sa);
		if (getpeername(fd, (struct sockaddr *)&sa, &salen) != 0 ||
		    getnameinfo((struct sockaddr *)&sa, salen, host,
		    sizeof(host), port, sizeof(port),
		    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
			/* No address, nothing to check from= against. */
			close(fd);
			continue;
		}
		snprintf(peer, sizeof(peer), "tcp %s port %s", host, port);
		if (ssh_server_start(fd, AUDIT_PATH_SSH, peer, host, host,
		    &plain, &ss) != 0)
			continue;	/* it said why */
		snprintf(spec, sizeof(spec), "fd:%d,%d", plain, plain);
		if (ll_transport_open(spec, &t, err, sizeof(err)) != 0) {
			log_error("%s: %s", peer, err);
			close(plain);
			ssh_serving_release(ss);
			continue;
		}
		if ((c = malloc(sizeof(*c))) == NULL ||
		    (s = ll_session_new_direct(t)) == NULL) {
			log_error("%s: out of memory", peer);
			free(c);
			ll_transport_close(t);	/* ends the engine */
			ssh_serving_release(ss);
			continue;
		}
		snprintf(t->spec, sizeof(t->spec), "ssh %s:%s", host, port);
		server_conn_init(c, s, peer);
		c->ssh = ss;
		agent_insert(c, false);
		log_info("connection on %s from %s", agent_opts.listen_ssh,
		    peer);
	}
	if (rc != LL_ERR_AGAIN)
		agent_accept_failed(al, err, now);
}

static int
agent_open_device(const char *spec, const char *name, uint64_t now)
{
	char err[512];
	struct ll_transport *t;
	struct conn *c;
	int rc;

	if ((rc = ll_transport_open(spec, &t, err, sizeof(err))) != 0) {
		log_error("%s", err);
		return rc;
	}
	if (t->err[0] != '\0')
		log_info("%s", t->err);
	if ((c = agent_add(t, name, true, now)) == NULL)
		return LL_ERR_NOMEM;
	c->reopen = agent_opts.serial != NULL;
	c->stdio = agent_opts.stdio;
	if (agent_opts.getty != NULL && agent_opts.serial != NULL)
		getty_watch(c);
	log_info("serving on %s", name);
	return 0;
}

/* The --serial device's transport spec, for reopening it. */
static char agent_serial_spec[300];

/* Open name (spec) again as soon as the loop comes round. */
static void
agent_reopen_now(const char *spec, const char *name)
{
	snprintf(reopen_slot.spec, sizeof(reopen_slot.spec), "%s", spec);
	snprintf(reopen_slot.name, sizeof(reopen_slot.name), "%s", name);
	reopen_slot.at = ll_now_ms();
	reopen_slot.active = true;
}

/*
 * A person pressed Enter on the console c serves: close it and run the
 * getty there (getty.h); when it cannot start, serve on.
 */
static void
agent_to_getty(struct conn *c, uint64_t now)
{
	agent_drop(c);
	if (getty_start(now) != 0)
		agent_reopen_now(agent_serial_spec, agent_opts.serial);
}

static void
agent_children(void)
{
	struct conn *c;
	struct request *r;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		bool claimed = job_reaped(pid, status);

		if (!claimed && getty_reaped(pid, status)) {
			agent_reopen_now(agent_serial_spec, agent_opts.serial);
			continue;
		}
		LIST_FOREACH(c, &conns, entry) {
			LIST_FOREACH(r, &c->requests, entry) {
				if (r->op->child != NULL &&
				    r->op->child(r, pid, status)) {
					claimed = true;
					break;
				}
			}
			if (claimed)
				break;
		}
		if (!claimed)	/* maybe an SSH channel's child */
			ssh_chans_reaped(pid, status);
	}
}

/* Lower *timeout (-1: none) to the ms until at. */
static void
agent_wake_at(uint64_t at, uint64_t now, int *timeout)
{
	int ms = at > now ? (int)(at - now) : 0;

	if (*timeout < 0 || ms < *timeout)
		*timeout = ms;
}

/* The poll set of one round (the signalfd first) and its timeout. */
static int
agent_poll_set(struct pollfd *pfd, int sigfd, struct agent_listener *al,
    struct agent_listener *sl, uint64_t now, int *timeout)
{
	struct conn *c;
	struct request *r;
	int n = 0;

	pfd[n].fd = sigfd;
	pfd[n++].events = POLLIN;
	n += agent_listener_pollfd(al, &pfd[n], now, timeout);
	n += agent_listener_pollfd(sl, &pfd[n], now, timeout);
	LIST_FOREACH(c, &conns, entry) {
		if (c->login_by != 0)
			agent_wake_at(c->login_by, now, timeout);
	}
	/* Jobs first: they run whether or not a session is left. */
	n += job_pollfds(&pfd[n], AGENT_POLL_MAX - n - LL_SESSION_POLLFDS_MAX,
	    timeout);
	LIST_FOREACH(c, &conns, entry) {
		if (n + LL_SESSION_POLLFDS_MAX > AGENT_POLL_MAX)
			break;
		n += ll_session_pollfds(c->s, &pfd[n], now, timeout);
		LIST_FOREACH(r, &c->requests, entry) {
			if (r->done || r->op->pollfds == NULL)
				continue;
			n += r->op->pollfds(r, &pfd[n], AGENT_POLL_MAX - n,
			    timeout);
		}
	}
	if (reopen_slot.active)
		agent_wake_at(reopen_slot.at, now, timeout);
	return n;
}

/* Signals that came: children are reaped; false once one says exit. */
static bool
agent_signals(int sigfd)
{
	struct signalfd_siginfo si;

	while (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo != SIGCHLD) {
			log_info("signal %u: exiting", si.ssi_signo);
			return false;
		}
		agent_children();
	}
	return true;
}

/* New connections, login deadlines, and a vanished device to reopen. */
static void
agent_timers(struct agent_listener *al, struct agent_listener *sl,
    uint64_t now)
{
	if (al->l != NULL && now >= al->resume_at)
		agent_accept_listen(al, now);
	if (sl->l != NULL && now >= sl->resume_at)
		agent_accept_ssh(sl, now);
	agent_check_logins(now);
	if (reopen_slot.active && now >= reopen_slot.at) {
		if (agent_open_device(reopen_slot.spec, reopen_slot.name,
		    now) == 0)
			reopen_slot.active = false;
		else
			reopen_slot.at = now + AGENT_REOPEN_MS;
	}
}

/*
 * Leave the watchdog (watchdog.c) c's keepalive frame while its operations
 * run: only for a link on a byte path we write to ourselves (a serial
 * device, a tty, pipes) whose output is all written.
 */
static void
agent_watchdog_arm(struct conn *c, uint64_t now)
{
	static struct ll_buf f;
	static bool f_init;
	struct ll_link *l = ll_session_link(c->s);
	struct ll_transport *t = ll_session_transport(c->s);
	const char *kind = t->ops->name;

	if (l == NULL || !ll_session_output_idle(c->s) ||
	    (strcmp(kind, "serial") != 0 && strcmp(kind, "tty") != 0 &&
	    strcmp(kind, "fd") != 0 && strcmp(kind, "stdio") != 0))
		return;
	if (!f_init) {
		ll_buf_init(&f, 256);	/* an ACK frame is about 45 bytes */
		f_init = true;
	}
	ll_buf_reset(&f);
	if (ll_link_encode_keepalive(l, &f) == 0)
		watchdog_arm(c->name, t->wfd, ll_buf_ptr(&f), ll_buf_avail(&f),
		    now);
}

/* One connection's round: its link, its messages, its requests.  0, or
 * the session's LL_ERR_* once it is over. */
static int
agent_serve(struct conn *c, uint64_t now)
{
	struct request *r;
	int rc;

	if ((rc = ll_session_io(c->s, NULL, now)) != 0)
		return rc;
	server_sync_generation(c);
	agent_watchdog_arm(c, now);
	server_handle(c, now);
	LIST_FOREACH(r, &c->requests, entry) {
		if (!r->done && r->op->io != NULL)
			r->op->io(r, now);
	}
	server_reap(c);
	watchdog_disarm(ll_now_ms());
	rc = ll_session_io(c->s, NULL, now);
	/* Before any request's output can reach a new client: see
	 * server.c. */
	if (rc == 0)
		server_sync_generation(c);
	return rc;
}

/*
 * c's session is over: drop it; a serial device is reopened every second
 * until it is back.  False when the agent should exit (its own tty ended).
 */
static bool
agent_conn_lost(struct conn *c, uint64_t now)
{
	log_info("%s: %s", c->name, ll_session_error_text(c->s));
	if (c->stdio) {
		agent_drop(c);
		return false;
	}
	if (c->reopen) {
		snprintf(reopen_slot.spec, sizeof(reopen_slot.spec), "%s",
		    ll_session_transport(c->s)->spec);
		snprintf(reopen_slot.name, sizeof(reopen_slot.name), "%s",
		    c->name);
		reopen_slot.at = now + AGENT_REOPEN_MS;
		reopen_slot.active = true;
		log_warn("%s is gone; trying to reopen it every second",
		    c->name);
	}
	agent_drop(c);
	return true;
}

/*
 * The one event loop: poll every fd (signals, listeners, jobs, sessions,
 * requests), then act on what is ready.  Returns the exit status.
 */
static int
agent_loop(int sigfd, struct ll_listener *lsn, struct ll_listener *sshlsn)
{
	struct agent_listener al = { .l = lsn, .name = agent_opts.listen };
	struct agent_listener sl = { .l = sshlsn, .name = agent_opts.listen_ssh };
	struct pollfd pfd[AGENT_POLL_MAX];
	struct conn *c, *cnext;
	uint64_t now;
	int n, timeout;

	for (;;) {
		timeout = -1;
		now = ll_now_ms();
		n = agent_poll_set(pfd, sigfd, &al, &sl, now, &timeout);
		if (poll(pfd, (nfds_t)n, timeout) < 0 && errno != EINTR) {
			log_error("poll: %s", strerror(errno));
			return 1;
		}
		now = ll_now_ms();
		if ((pfd[0].revents & POLLIN) && !agent_signals(sigfd))
			return 0;
		agent_timers(&al, &sl, now);
		/* Before the requests, which send what the jobs read. */
		job_io(now);
		for (c = LIST_FIRST(&conns); c != NULL; c = cnext) {
			cnext = LIST_NEXT(c, entry);
			if (agent_serve(c, now) != 0) {
				if (!agent_conn_lost(c, now))
					return 0;
			} else if (getty_is_due(c))
				agent_to_getty(c, now);
		}
	}
}

/* --encoding: auto, 7bit or 8bit; -1 for anything else. */
static int
agent_encoding(const char *s)
{
	if (strcmp(s, "auto") == 0)
		return LL_ENC_AUTO;
	if (strcmp(s, "7bit") == 0)
		return LL_ENC_7BIT;
	if (strcmp(s, "8bit") == 0)
		return LL_ENC_8BIT;
	return -1;
}

/* The command line into agent_opts: -1 to go on, else the exit status. */
static int
agent_parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "serial", required_argument, NULL, 's' },
		{ "stdio", no_argument, NULL, 'i' },
		{ "listen", required_argument, NULL, 'l' },
		{ "insecure", no_argument, NULL, 'k' },
		{ "encoding", required_argument, NULL, 'e' },
		{ "debug-file", required_argument, NULL, 'd' },
		{ "target-root", required_argument, NULL, 'r' },
		{ "listen-ssh", required_argument, NULL, 'S' },
		{ "host-key", required_argument, NULL, 'H' },
		{ "authorized-keys", required_argument, NULL, 'A' },
		{ "allow", required_argument, NULL, 'a' },
		{ "read-only", no_argument, NULL, 'R' },
		{ "config", required_argument, NULL, 'c' },
		{ "getty", required_argument, NULL, 'G' },
		{ "compress", required_argument, NULL, 'z' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char err[512];
	int ch;

	while ((ch = getopt_long(argc, argv, "vVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			agent_opts.serial = optarg;
			break;
		case 'i':
			agent_opts.stdio = true;
			break;
		case 'l':
			agent_opts.listen = optarg;
			break;
		case 'S':
			agent_opts.listen_ssh = optarg;
			break;
		case 'H':
			agent_opts.host_key = optarg;
			break;
		case 'A':
			agent_opts.authorized_keys = optarg;
			break;
		case 'a':
			if (conf_parse_allow(optarg, &agent_opts.allow, err,
			    sizeof(err)) != 0) {
				fprintf(stderr, "lifelined: --allow: %s\n", err);
				return 2;
			}
			break;
		case 'R':
			agent_opts.read_only = true;
			break;
		case 'c':
			agent_opts.config = optarg;
			break;
		case 'G':
			agent_opts.getty = optarg;
			break;
		case 'k':
			agent_opts.insecure = true;
			break;
		case 'e':
			if ((agent_opts.encoding = agent_encoding(optarg)) < 0) {
				fprintf(stderr, "lifelined: --encoding must be "
				    "auto, 7bit or 8bit, not \"%s\"\n", optarg);
				return 2;
			}
			break;
		case 'z':
			if (strcmp(optarg, "yes") != 0 &&
			    strcmp(optarg, "no") != 0) {
				fprintf(stderr, "lifelined: --compress must be "
				    "yes or no, not \"%s\"\n", optarg);
				return 2;
			}
			agent_opts.no_compress = strcmp(optarg, "no") == 0;
			break;
		case 'd':
			agent_opts.debug_file = optarg;
			break;
		case 'r':
			agent_opts.target_root = optarg;
			break;
		case 'v':
			agent_opts.verbose++;
			break;
		case 'V':
			printf("lifelined %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	return -1;
}

/* The settings file over the defaults, then: exactly one console path or
 * listener (and/or --listen-ssh).  -1 to go on, else the exit status. */
static int
agent_configure(int *modes)
{
	char err[512];
	bool getty_cli = agent_opts.getty != NULL;

	if (conf_load(agent_opts.config != NULL ? agent_opts.config :
	    CONF_DEFAULT_PATH, agent_opts.config != NULL, &agent_opts, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "lifelined: %s\n", err);
		return 2;
	}
	*modes = (agent_opts.serial != NULL) + agent_opts.stdio +
	    (agent_opts.listen != NULL);
	if (*modes > 1 || (*modes == 0 && agent_opts.listen_ssh == NULL)) {
		fprintf(stderr, "lifelined: give one of --serial, --stdio, "
		    "--listen, and/or --listen-ssh\n");
		usage(stderr);
		return 2;
	}
	/* The file's getty is for the serial console, whatever else runs. */
	if (agent_opts.getty != NULL && agent_opts.serial == NULL &&
	    !getty_cli)
		agent_opts.getty = NULL;
	if (agent_opts.getty != NULL &&
	    getty_check(agent_opts.getty, err, sizeof(err)) != 0) {
		fprintf(stderr, "lifelined: %s\n", err);
		return 2;
	}
	return -1;
}

/* Logs, audit, the SSH server, the target root: -1, or the exit status. */
static int
agent_setup(int modes)
{
	char err[512];
	int rc;

	log_open("lifelined", agent_opts.debug_file, true, agent_opts.verbose);
	audit_open(true);
	if ((!agent_opts.insecure || agent_opts.listen_ssh != NULL) &&
	    ssh_server_init(err, sizeof(err)) != 0) {
		log_error("%s", err);
		return 1;
	}
	target_init();
	if (agent_opts.target_root != NULL &&
	    (rc = target_set_root(agent_opts.target_root)) != 0) {
		log_error("--target-root %s: %s", agent_opts.target_root,
		    strerror(-rc));
		return 2;
	}
	if (agent_opts.insecure && modes > 0)
		log_warn("running with --insecure: sessions on %s are NOT "
		    "authenticated; anyone who can write to it can run "
		    "commands as root", agent_opts.serial != NULL ?
		    agent_opts.serial : agent_opts.stdio ? "this tty" :
		    agent_opts.listen);
	if (agent_opts.read_only)
		log_info("read-only: operations that change anything are "
		    "refused");
	return -1;
}

/* SIGCHLD and the exit signals, blocked and read from a signalfd. */
static int
agent_signalfd(void)
{
	sigset_t mask;
	int sigfd;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		log_error("signalfd: %s", strerror(errno));
	return sigfd;
}

/* --stdio: this process's own tty is the link. */
static int
agent_open_stdio(uint64_t now)
{
	const char *tty = ttyname(0);

	/*
	 * Whoever reads this console (attach --deploy) pins the host key from
	 * it.  The line may be noisy: three copies, each with the key itself,
	 * so a reader can check one.
	 */
	if (!agent_opts.insecure && ssh_server_host_key_text()[0] != '\0')
		for (int i = 0; i < 3; i++)
			fprintf(stderr, "lifelined: host key for this "
			    "console: %s\r\n", ssh_server_host_key_text());
	/* From now on stderr may be the link itself. */
	log_stderr(false);
	return agent_open_device("stdio", tty != NULL ? tty : "stdio", now);
}

/* What the agent serves on: the console path or listener, and the SSH
 * listener.  0, or -1 (logged). */
static int
agent_open_paths(struct ll_listener **lsn, struct ll_listener **sshlsn)
{
	char spec[300], err[512];
	uint64_t now = ll_now_ms();

	if (agent_opts.serial != NULL) {
		snprintf(spec, sizeof(spec), "serial:%s", agent_opts.serial);
		snprintf(agent_serial_spec, sizeof(agent_serial_spec), "%s",
		    spec);
		if (agent_open_device(spec, agent_opts.serial, now) != 0)
			return -1;
	} else if (agent_opts.stdio) {
		if (agent_open_stdio(now) != 0)
			return -1;
	} else if (agent_opts.listen != NULL) {
		if (ll_listener_open(agent_opts.listen, lsn, err,
		    sizeof(err)) != 0) {
			log_error("%s", err);
			return -1;
		}
		log_info("listening on %s", agent_opts.listen);
	}
	if (agent_opts.listen_ssh != NULL) {
		snprintf(spec, sizeof(spec), "tcp:%s", agent_opts.listen_ssh);
		if (ll_listener_open(spec, sshlsn, err, sizeof(err)) != 0) {
			log_error("--listen-ssh: %s", err);
			return -1;
		}
		log_info("SSH listener on %s (subsystem \"%s\")",
		    agent_opts.listen_ssh, LL_SSH_SUBSYSTEM);
	}
	return 0;
}

/* The agent's end: jobs, then sessions (told), listeners, the rest. */
static void
agent_shutdown(int sigfd, struct ll_listener *lsn, struct ll_listener *sshlsn)
{
	/* First, while the agent has time: see job_shutdown(). */
	job_shutdown();
	getty_stop();
	while (!LIST_EMPTY(&conns)) {
		/* Tell a connected client we are going, rather than vanish. */
		ll_session_close(LIST_FIRST(&conns)->s, 300);
		agent_drop(LIST_FIRST(&conns));
	}
	if (lsn != NULL)
		ll_listener_close(lsn);
	if (sshlsn != NULL)
		ll_listener_close(sshlsn);
	ssh_server_shutdown();
	close(sigfd);
	log_close();
}

int
main(int argc, char **argv)
{
	struct ll_listener *lsn = NULL, *sshlsn = NULL;
	int modes, sigfd, rc;

	server_json_init();	/* before anything allocates a JSON value */
	if ((rc = agent_parse_args(argc, argv)) >= 0 ||
	    (rc = agent_configure(&modes)) >= 0 ||
	    (rc = agent_setup(modes)) >= 0)
		return rc;
	if ((sigfd = agent_signalfd()) < 0)
		return 1;
	/* after the signals are blocked: the thread must not take them */
	if (agent_opts.serial != NULL || agent_opts.stdio)
		watchdog_start();
	rc = 1;
	if (agent_open_paths(&lsn, &sshlsn) == 0)
		rc = agent_loop(sigfd, lsn, sshlsn);
	agent_shutdown(sigfd, lsn, sshlsn);
	return rc;
}
