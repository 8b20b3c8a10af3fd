/*
 * lifelined: the rescue agent.
 *
 * It serves the lifeline protocol on a serial port (--serial), on its own
 * tty (--stdio, e.g. started from a console login) or on a socket listener
 * (--listen).  Everything runs in one poll() loop: signals arrive through a
 * signalfd, each connection is a session (transport + link + messages), and
 * running requests contribute their own fds.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "error.h"
#include "log.h"
#include "session.h"
#include "target.h"

#define AGENT_POLL_MAX	64
#define AGENT_REOPEN_MS	1000

struct agent_options agent_opts;

static LIST_HEAD(, conn) conns = LIST_HEAD_INITIALIZER(conns);

/* A connection whose device vanished waits here to be reopened. */
static struct reopen {
	char spec[300];
	char name[64];
	uint64_t at;
	bool active;
} reopen_slot;

static void
usage(FILE *f)
{
	fprintf(f,
"usage: lifelined (--serial DEV[,BAUD] | --stdio | --listen unix:PATH|tcp:[ADDR:]PORT)\n"
"                 [--insecure] [--encoding auto|7bit|8bit] [--debug-file FILE]\n"
"                 [--target-root DIR] [-v]\n"
"\n"
"  --serial DEV[,BAUD]  serve on a serial port (libserialport; termios for PTYs)\n"
"  --stdio              serve on this process's own tty or stdin/stdout\n"
"  --listen SPEC        accept connections on a unix or tcp socket\n"
"  --insecure           accept unauthenticated sessions (required for now)\n"
"  --encoding E         refuse 8-bit coding when E is 7bit\n"
"  --debug-file FILE    append a detailed log to FILE\n"
"  --target-root DIR    act on the original root already mounted at DIR\n"
"  -v, --verbose        log debug messages\n"
"  -V, --version        print the version\n");
}

static uint32_t
agent_epoch(void)
{
	uint32_t e = 0;

	while (e == 0) {
		if (getrandom(&e, sizeof(e), 0) != sizeof(e))
			e = (uint32_t)getpid() ^ (uint32_t)ll_now_ms();
	}
	return e;
}

static void
agent_link_config(struct ll_link_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->is_agent = true;
	cfg->encoding = (enum ll_encoding)agent_opts.encoding;
	cfg->epoch = agent_epoch();
	cfg->log = log_link;
}

static struct conn *
agent_add(struct ll_transport *t, const char *name, uint64_t now)
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
	LIST_INSERT_HEAD(&conns, c, entry);
	return c;
}

static void
agent_drop(struct conn *c)
{
	server_conn_reset(c);
	LIST_REMOVE(c, entry);
	ll_session_free(c->s);
	free(c);
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
	if ((c = agent_add(t, name, now)) == NULL)
		return LL_ERR_NOMEM;
	c->reopen = agent_opts.serial != NULL;
	c->stdio = agent_opts.stdio;
	log_info("serving on %s", name);
	return 0;
}

static void
agent_children(void)
{
	struct conn *c;
	struct request *r;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		bool claimed = false;

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
	}
}

static int
agent_loop(int sigfd, struct ll_listener *lsn)
{
	struct pollfd pfd[AGENT_POLL_MAX];
	struct conn *c, *cnext;
	struct request *r;
	uint64_t now;
	int n, timeout, rc;

	for (;;) {
		n = 0;
		timeout = -1;
		now = ll_now_ms();
		pfd[n].fd = sigfd;
		pfd[n++].events = POLLIN;
		if (lsn != NULL) {
			pfd[n].fd = ll_listener_fd(lsn);
			pfd[n++].events = POLLIN;
		}
		LIST_FOREACH(c, &conns, entry) {
			if (n + 2 > AGENT_POLL_MAX)
				break;
			n += ll_session_pollfds(c->s, &pfd[n], now, &timeout);
			LIST_FOREACH(r, &c->requests, entry) {
				if (r->done || r->op->pollfds == NULL)
					continue;
				n += r->op->pollfds(r, &pfd[n],
				    AGENT_POLL_MAX - n, &timeout);
			}
		}
		if (reopen_slot.active) {
			int ms = reopen_slot.at > now ?
			    (int)(reopen_slot.at - now) : 0;

			if (timeout < 0 || ms < timeout)
				timeout = ms;
		}
		if (poll(pfd, (nfds_t)n, timeout) < 0 && errno != EINTR) {
			log_error("poll: %s", strerror(errno));
			return 1;
		}
		now = ll_now_ms();

		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGCHLD)
					agent_children();
				else {
					log_info("signal %u: exiting",
					    si.ssi_signo);
					return 0;
				}
			}
		}
		if (lsn != NULL) {
			struct ll_transport *t;
			char err[512];

			while ((rc = ll_listener_accept(lsn, &t, err,
			    sizeof(err))) == 0) {
				log_info("connection on %s", agent_opts.listen);
				agent_add(t, agent_opts.listen, now);
			}
			if (rc != LL_ERR_AGAIN)
				log_warn("%s", err);
		}
		if (reopen_slot.active && now >= reopen_slot.at) {
			if (agent_open_device(reopen_slot.spec,
			    reopen_slot.name, now) == 0)
				reopen_slot.active = false;
			else
				reopen_slot.at = now + AGENT_REOPEN_MS;
		}

		for (c = LIST_FIRST(&conns); c != NULL; c = cnext) {
			cnext = LIST_NEXT(c, entry);
			rc = ll_session_io(c->s, NULL, now);
			if (rc == 0) {
				server_handle(c, now);
				LIST_FOREACH(r, &c->requests, entry) {
					if (!r->done && r->op->io != NULL)
						r->op->io(r, now);
				}
				server_reap(c);
				rc = ll_session_io(c->s, NULL, now);
			}
			if (rc == 0)
				continue;
			log_info("%s: %s", c->name,
			    ll_session_error_text(c->s));
			if (c->stdio) {
				agent_drop(c);
				return 0;
			}
			if (c->reopen) {
				snprintf(reopen_slot.spec,
				    sizeof(reopen_slot.spec), "%s",
				    ll_session_transport(c->s)->spec);
				snprintf(reopen_slot.name,
				    sizeof(reopen_slot.name), "%s", c->name);
				reopen_slot.at = now + AGENT_REOPEN_MS;
				reopen_slot.active = true;
				log_warn("%s is gone; trying to reopen it every "
				    "second", c->name);
			}
			agent_drop(c);
		}
	}
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "serial", required_argument, NULL, 's' },
		{ "stdio", no_argument, NULL, 'i' },
		{ "listen", required_argument, NULL, 'l' },
		{ "insecure", no_argument, NULL, 'k' },
		{ "encoding", required_argument, NULL, 'e' },
		{ "debug-file", required_argument, NULL, 'd' },
		{ "target-root", required_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct ll_listener *lsn = NULL;
	char spec[300], err[512];
	sigset_t mask;
	int ch, modes = 0, sigfd, rc = 1;
	uint64_t now;

	while ((ch = getopt_long(argc, argv, "vVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			agent_opts.serial = optarg;
			modes++;
			break;
		case 'i':
			agent_opts.stdio = true;
			modes++;
			break;
		case 'l':
			agent_opts.listen = optarg;
			modes++;
			break;
		case 'k':
			agent_opts.insecure = true;
			break;
		case 'e':
			if (strcmp(optarg, "auto") == 0)
				agent_opts.encoding = LL_ENC_AUTO;
			else if (strcmp(optarg, "7bit") == 0)
				agent_opts.encoding = LL_ENC_7BIT;
			else if (strcmp(optarg, "8bit") == 0)
				agent_opts.encoding = LL_ENC_8BIT;
			else {
				fprintf(stderr, "lifelined: --encoding must be "
				    "auto, 7bit or 8bit, not \"%s\"\n", optarg);
				return 2;
			}
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
	if (optind != argc || modes != 1) {
		fprintf(stderr, "lifelined: give exactly one of --serial, "
		    "--stdio, --listen\n");
		usage(stderr);
		return 2;
	}
	if (!agent_opts.insecure) {
		fprintf(stderr, "lifelined: authenticated sessions (SSH inside "
		    "the link) are not available yet; start with --insecure to "
		    "accept unauthenticated sessions\n");
		return 2;
	}
	log_open("lifelined", agent_opts.debug_file, true, agent_opts.verbose);
	target_init();
	if (agent_opts.target_root != NULL &&
	    (rc = target_set_root(agent_opts.target_root)) != 0) {
		log_error("--target-root %s: %s", agent_opts.target_root,
		    strerror(-rc));
		return 2;
	}
	rc = 1;
	log_warn("running with --insecure: sessions are NOT authenticated; "
	    "anyone who can write to the console can run commands as root");

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		log_error("signalfd: %s", strerror(errno));
		return 1;
	}

	now = ll_now_ms();
	if (agent_opts.serial != NULL) {
		snprintf(spec, sizeof(spec), "serial:%s", agent_opts.serial);
		if (agent_open_device(spec, agent_opts.serial, now) != 0)
			goto out;
	} else if (agent_opts.stdio) {
		const char *tty = ttyname(0);

		/* From now on stderr may be the link itself. */
		log_stderr(false);
		if (agent_open_device("stdio", tty != NULL ? tty : "stdio",
		    now) != 0)
			goto out;
	} else {
		if (ll_listener_open(agent_opts.listen, &lsn, err,
		    sizeof(err)) != 0) {
			log_error("%s", err);
			goto out;
		}
		log_info("listening on %s", agent_opts.listen);
	}
	rc = agent_loop(sigfd, lsn);
out:
	while (!LIST_EMPTY(&conns)) {
		/* Tell a connected client we are going, rather than vanish. */
		ll_session_close(LIST_FIRST(&conns)->s, 300);
		agent_drop(LIST_FIRST(&conns));
	}
	if (lsn != NULL)
		ll_listener_close(lsn);
	close(sigfd);
	log_close();
	return rc;
}
