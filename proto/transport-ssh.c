/*
 * The SSH transports:
 *
 *   ssh://[USER@]HOST[:PORT]            a console gateway: the bytes of a
 *                                       shell channel (with a pty unless
 *                                       --no-pty) are the console
 *   lifeline+ssh://[USER@]HOST[:PORT]   the agent's own SSH listener: the
 *                                       "lifeline" subsystem carries the
 *                                       records themselves (no link layer;
 *                                       t->direct)
 *
 * HOST may be "[v6addr]".  Opening starts a client engine (ssh-client.h)
 * with the options the program gave ll_transport_ssh_defaults() and waits
 * until its channel is open, the engine's message becoming the open error
 * (host key refused, authentication failed, ...).  From then on the
 * transport is the plain side of the engine: one non-blocking socket, read
 * and written like any other; EOF on it means the SSH session ended, and
 * the engine's reason, if any, becomes the error text.  Closing closes the
 * plain side and frees the engine (which ends the SSH session).
 *
 * Of the defaults, the gateway kind takes identity, no_pty, accept_new,
 * interactive and verbose; the listener kind also takes the pin, since
 * there the SSH host key is the agent's.  Neither takes known_hosts: that
 * option names lifeline's own file of agent keys, in another format than
 * OpenSSH's known_hosts, which both kinds use.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "ssh-client.h"
#include "transport.h"
#include "transport-priv.h"

#define LL_TP_SSH_WAIT_MS	30000

struct ssh_priv {
	struct ll_ssh_client *c;
};

static struct ll_ssh_client_config defaults;
static char *def_identity, *def_pin;

static void
replace_string(char **slot, const char *s)
{
	free(*slot);
	*slot = s != NULL ? strdup(s) : NULL;
}

void
ll_transport_ssh_defaults(const struct ll_ssh_client_config *cfg)
{
	replace_string(&def_identity, cfg->identity);
	replace_string(&def_pin, cfg->pin);
	defaults = *cfg;
	defaults.identity = def_identity;
	defaults.pin = def_pin;
	defaults.host = defaults.user = defaults.label = NULL;
	defaults.known_hosts = NULL;
}

static ssize_t
ssh_read(struct ll_transport *t, void *p, size_t n)
{
	struct ssh_priv *sp = t->priv;
	char err[sizeof t->err];
	ssize_t r;

	r = ll_tp_fd_read(t, t->rfd, p, n, t->spec);
	if (r == LL_ERR_CLOSED) {
		ll_ssh_client_state(sp->c, err, sizeof err);
		ll_tp_seterr(t, "%s: %s", t->spec, err[0] != '\0' ? err :
		    "the SSH channel closed");
	}
	return r;
}

static ssize_t
ssh_write(struct ll_transport *t, const void *p, size_t n)
{
	return ll_tp_fd_write(t, t->wfd, p, n, t->spec, true);
}

static void
ssh_close(struct ll_transport *t)
{
	struct ssh_priv *sp = t->priv;

	if (t->rfd != -1)
		close(t->rfd);
	t->rfd = t->wfd = -1;
	if (sp != NULL) {
		ll_ssh_client_free(sp->c);
		free(sp);
	}
	t->priv = NULL;
}

static const struct ll_transport_ops ssh_ops = {
	.name = "ssh",
	.read = ssh_read,
	.write = ssh_write,
	.reopen = NULL,
	.close = ssh_close,
};

/*
 * Split "//[USER@]HOST[:PORT]".  0, or -1 with the reason in t->err.
 */
static int
parse_target(struct ll_transport *t, const char *arg, char *user,
    size_t ulen, char *host, size_t hlen, unsigned *port)
{
	const char *at, *h, *he, *p = NULL;
	char *end;
	unsigned long v;

	*port = 0;
	user[0] = '\0';
	if (strncmp(arg, "//", 2) != 0)
		goto bad;
	arg += 2;
	if ((at = strchr(arg, '@')) != NULL) {
		if (at == arg || (size_t)(at - arg) >= ulen)
			goto bad;
		memcpy(user, arg, at - arg);
		user[at - arg] = '\0';
		arg = at + 1;
	}
	if (*arg == '[') {
		h = arg + 1;
		if ((he = strchr(h, ']')) == NULL)
			goto bad;
		if (he[1] == ':')
			p = he + 2;
		else if (he[1] != '\0')
			goto bad;
	} else {
		h = arg;
		he = strchr(h, ':');
		if (he != NULL && strchr(he + 1, ':') != NULL)
			he = NULL;	/* a bare IPv6 address, no port */
		if (he != NULL)
			p = he + 1;
		else
			he = h + strlen(h);
	}
	if (he == h || (size_t)(he - h) >= hlen)
		goto bad;
	memcpy(host, h, he - h);
	host[he - h] = '\0';
	if (strpbrk(host, "/@ \t") != NULL)
		goto bad;
	if (p != NULL) {
		errno = 0;
		v = strtoul(p, &end, 10);
		if (*p < '0' || *p > '9' || *end != '\0' || errno != 0 ||
		    v == 0 || v > 65535)
			goto bad;
		*port = (unsigned)v;
	}
	return 0;
bad:
	ll_tp_seterr(t, "bad transport spec '%s': expected "
	    "%s://[USER@]HOST[:PORT] (an IPv6 address in brackets)", t->spec,
	    strncmp(t->spec, "lifeline+", 9) == 0 ? "lifeline+ssh" : "ssh");
	return -1;
}

int
ll_tp_ssh_open(struct ll_transport *t, const char *kind, const char *arg)
{
	struct ll_ssh_client_config cfg = defaults;
	struct ssh_priv *sp = NULL;
	struct ll_ssh_client *c = NULL;
	char user[128], host[256], err[sizeof t->err];
	unsigned port;
	int pfd = -1, r;

	if (parse_target(t, arg, user, sizeof user, host, sizeof host,
	    &port) != 0)
		return LL_ERR_INVAL;
	cfg.host = host;
	cfg.port = port;
	cfg.user = user[0] != '\0' ? user : NULL;
	if (strcmp(kind, "ssh") == 0) {
		cfg.mode = LL_SSH_GATEWAY;
		cfg.pin = NULL;
	} else
		cfg.mode = LL_SSH_LISTENER;
	if ((sp = calloc(1, sizeof *sp)) == NULL) {
		ll_tp_seterr(t, "%s: out of memory", t->spec);
		return LL_ERR_NOMEM;
	}
	if (ll_ssh_client_start(&cfg, -1, &pfd, &c, err, sizeof err) != 0) {
		ll_tp_seterr(t, "%s: %s", t->spec, err);
		r = LL_ERR_IO;
		goto fail;
	}
	if (ll_ssh_client_wait(c, LL_TP_SSH_WAIT_MS, err, sizeof err) != 0) {
		ll_tp_seterr(t, "%s", err);
		r = ll_ssh_client_state(c, NULL, 0) == LL_SSH_FAILED ?
		    LL_ERR_IO : LL_ERR_TIMEOUT;
		goto fail;
	}
	sp->c = c;
	t->priv = sp;
	t->ops = &ssh_ops;
	t->direct = cfg.mode == LL_SSH_LISTENER;
	t->rfd = t->wfd = pfd;
	t->baud = 0;
	return 0;
fail:
	if (pfd != -1)
		close(pfd);
	ll_ssh_client_free(c);
	free(sp);
	return r;
}
