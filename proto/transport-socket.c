/*
 * The unix:PATH and tcp:HOST:PORT transports, and the listener.
 *
 * Clients resolve with getaddrinfo() (IPv4 and IPv6; "[v6addr]:port" works),
 * connect non-blocking and wait up to LL_TP_CONNECT_TIMEOUT_MS for each
 * address, and report failures naming the address ("connect
 * unix:/x: No such file or directory").  Writes use send(MSG_NOSIGNAL), so a
 * closed peer is LL_ERR_CLOSED, never SIGPIPE.  TCP sockets get TCP_NODELAY:
 * the link sends small frames and wants them out now.
 *
 * Listeners: unix:PATH binds with mode 0600; an existing socket file is
 * removed only when connecting to it is refused (nobody listens: a stale file
 * from a crash), never when someone answers (LL_ERR_BUSY) and never when the
 * path is not a socket.  tcp:[ADDR:]PORT binds with SO_REUSEADDR (ADDR
 * defaults to all IPv4 and IPv6 addresses through the wildcard "::" falling
 * back to "0.0.0.0"; PORT 0 picks a free port, see getsockname() on
 * ll_listener_fd()).  Accepted connections are non-blocking transports.
 * Closing a unix listener unlinks its path.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "transport.h"
#include "transport-priv.h"

#define LL_TP_CONNECT_TIMEOUT_MS 10000

struct ll_listener {
	int	fd;
	bool	is_unix;
	char	path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static ssize_t
sock_read(struct ll_transport *t, void *p, size_t n)
{
	return ll_tp_fd_read(t, t->rfd, p, n, t->spec);
}

static ssize_t
sock_write(struct ll_transport *t, const void *p, size_t n)
{
	return ll_tp_fd_write(t, t->wfd, p, n, t->spec, true);
}

static void
sock_close(struct ll_transport *t)
{
	if (t->rfd != -1)
		close(t->rfd);
	t->rfd = t->wfd = -1;
}

static const struct ll_transport_ops sock_ops = {
	.name = "socket",
	.read = sock_read,
	.write = sock_write,
	.reopen = NULL,
	.close = sock_close,
};

static int
unix_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	if (*path == '\0' || strlen(path) >= sizeof sun->sun_path)
		return -1;
	memcpy(sun->sun_path, path, strlen(path));
	return 0;
}

/* Connect fd, waiting at most timeout_ms; 0 or an errno. */
static int
connect_wait(int fd, const struct sockaddr *sa, socklen_t len, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	socklen_t elen = sizeof(int);
	int e, r;

	if (connect(fd, sa, len) == 0)
		return 0;
	if (errno != EINPROGRESS && errno != EAGAIN)
		return errno;
	do
		r = poll(&pfd, 1, timeout_ms);
	while (r == -1 && errno == EINTR);
	if (r == 0)
		return ETIMEDOUT;
	if (r == -1)
		return errno;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) == -1)
		return errno;
	return e;
}

static void
set_nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/*
 * Split "HOST:PORT" or "[V6]:PORT" (host optional when allow_nohost: "PORT"
 * alone).  Returns 0 or -1.
 */
static int
split_hostport(const char *arg, char *host, size_t hlen, char *port,
    size_t plen, bool allow_nohost)
{
	const char *colon, *hs, *he;

	if (arg[0] == '[') {
		hs = arg + 1;
		if ((he = strchr(hs, ']')) == NULL || he[1] != ':')
			return -1;
		colon = he + 1;
	} else if ((colon = strrchr(arg, ':')) == NULL) {
		if (!allow_nohost)
			return -1;
		host[0] = '\0';
		hs = he = colon = NULL;
		if (strlen(arg) >= plen || *arg == '\0')
			return -1;
		snprintf(port, plen, "%s", arg);
		return 0;
	} else {
		hs = arg;
		he = colon;
	}
	if ((size_t)(he - hs) >= hlen || strlen(colon + 1) >= plen ||
	    colon[1] == '\0')
		return -1;
	if (he == hs && !allow_nohost)
		return -1;
	memcpy(host, hs, he - hs);
	host[he - hs] = '\0';
	snprintf(port, plen, "%s", colon + 1);
	return 0;
}

static int
open_unix(struct ll_transport *t, const char *path)
{
	struct sockaddr_un sun;
	int fd, e;

	if (unix_addr(path, &sun) == -1) {
		ll_tp_seterr(t, "bad transport spec '%s': socket path empty "
		    "or too long", t->spec);
		return LL_ERR_INVAL;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		ll_tp_seterr(t, "socket %s: %s", t->spec, strerror(errno));
		return LL_ERR_IO;
	}
	if ((e = connect_wait(fd, (struct sockaddr *)&sun, sizeof sun,
	    LL_TP_CONNECT_TIMEOUT_MS)) != 0) {
		close(fd);
		ll_tp_seterr(t, "connect %s: %s", t->spec, strerror(e));
		return ll_tp_errno_code(e);
	}
	t->rfd = t->wfd = fd;
	return 0;
}

static int
open_tcp(struct ll_transport *t, const char *arg)
{
	struct addrinfo hints, *res = NULL, *ai;
	char host[256], port[32];
	int fd = -1, e = 0, r;

	if (split_hostport(arg, host, sizeof host, port, sizeof port,
	    false) == -1) {
		ll_tp_seterr(t, "bad transport spec '%s': expected "
		    "tcp:HOST:PORT", t->spec);
		r = LL_ERR_INVAL;
		goto out;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	if ((r = getaddrinfo(host, port, &hints, &res)) != 0) {
		ll_tp_seterr(t, "resolve %s: %s", t->spec, gai_strerror(r));
		r = r == EAI_MEMORY ? LL_ERR_NOMEM : LL_ERR_NOTFOUND;
		res = NULL;
		goto out;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1) {
			e = errno;
			continue;
		}
		if ((e = connect_wait(fd, ai->ai_addr, ai->ai_addrlen,
		    LL_TP_CONNECT_TIMEOUT_MS)) == 0)
			break;
		close(fd);
		fd = -1;
	}
	if (fd == -1) {
		ll_tp_seterr(t, "connect %s: %s", t->spec, strerror(e));
		r = ll_tp_errno_code(e);
		goto out;
	}
	set_nodelay(fd);
	t->rfd = t->wfd = fd;
	r = 0;
out:
	if (res != NULL)
		freeaddrinfo(res);
	return r;
}

int
ll_tp_socket_open(struct ll_transport *t, const char *kind, const char *arg)
{
	int r;

	if (strcmp(kind, "unix") == 0)
		r = open_unix(t, arg);
	else
		r = open_tcp(t, arg);
	if (r == 0)
		t->ops = &sock_ops;
	return r;
}

/* Listener. */

static void
lseterr(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
lseterr(char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errbuf == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Make way for binding a unix socket at path: remove a stale socket nobody
 * listens on.  0, or an LL_ERR_* with errbuf set.
 */
static int
clear_stale(const char *spec, const struct sockaddr_un *sun, char *errbuf,
    size_t errlen)
{
	struct stat st;
	int fd, e;

	if (lstat(sun->sun_path, &st) == -1)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		lseterr(errbuf, errlen, "listen %s: %s exists and is not a "
		    "socket", spec, sun->sun_path);
		return LL_ERR_BUSY;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		lseterr(errbuf, errlen, "socket %s: %s", spec,
		    strerror(errno));
		return LL_ERR_IO;
	}
	e = connect_wait(fd, (const struct sockaddr *)sun, sizeof *sun, 1000);
	close(fd);
	if (e == 0 || e == EAGAIN || e == ETIMEDOUT) {
		lseterr(errbuf, errlen, "listen %s: another process is "
		    "listening on %s", spec, sun->sun_path);
		return LL_ERR_BUSY;
	}
	if (e == ECONNREFUSED && unlink(sun->sun_path) == -1 &&
	    errno != ENOENT) {
		lseterr(errbuf, errlen, "listen %s: remove stale %s: %s",
		    spec, sun->sun_path, strerror(errno));
		return LL_ERR_IO;
	}
	return 0;
}

static int
listen_unix(struct ll_listener *l, const char *spec, const char *path,
    char *errbuf, size_t errlen)
{
	struct sockaddr_un sun;
	int r;

	if (unix_addr(path, &sun) == -1) {
		lseterr(errbuf, errlen, "bad listen spec '%s': socket path "
		    "empty or too long", spec);
		return LL_ERR_INVAL;
	}
	if ((r = clear_stale(spec, &sun, errbuf, errlen)) != 0)
		return r;
	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd == -1) {
		lseterr(errbuf, errlen, "socket %s: %s", spec,
		    strerror(errno));
		return LL_ERR_IO;
	}
	if (bind(l->fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		r = errno;
		lseterr(errbuf, errlen, "bind %s: %s", spec, strerror(r));
		return ll_tp_errno_code(r);
	}
	l->is_unix = true;
	snprintf(l->path, sizeof l->path, "%s", path);
	/* Before listen(): nobody can connect yet, so no window is open. */
	if (chmod(path, 0600) == -1 || listen(l->fd, 8) == -1) {
		r = errno;
		lseterr(errbuf, errlen, "listen %s: %s", spec, strerror(r));
		return LL_ERR_IO;
	}
	return 0;
}

static int
listen_tcp(struct ll_listener *l, const char *spec, const char *arg,
    char *errbuf, size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	char host[256], port[32];
	int one = 1, e = 0, r;

	if (split_hostport(arg, host, sizeof host, port, sizeof port,
	    true) == -1) {
		lseterr(errbuf, errlen, "bad listen spec '%s': expected "
		    "tcp:[ADDR:]PORT", spec);
		r = LL_ERR_INVAL;
		goto out;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	/* The IPv6 wildcard also takes IPv4 (when bindv6only is off). */
	if ((r = getaddrinfo(host[0] != '\0' ? host : NULL, port, &hints,
	    &res)) != 0) {
		lseterr(errbuf, errlen, "resolve %s: %s", spec,
		    gai_strerror(r));
		r = LL_ERR_NOTFOUND;
		res = NULL;
		goto out;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next)
		if (host[0] == '\0' && ai->ai_family == AF_INET6)
			break;
	if (ai == NULL)
		ai = res;
	for (; ai != NULL; ai = ai->ai_next) {
		l->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (l->fd == -1) {
			e = errno;
			continue;
		}
		setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(l->fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(l->fd, 8) == 0)
			break;
		e = errno;
		close(l->fd);
		l->fd = -1;
	}
	if (l->fd == -1) {
		lseterr(errbuf, errlen, "listen %s: %s", spec, strerror(e));
		r = ll_tp_errno_code(e);
		goto out;
	}
	r = 0;
out:
	if (res != NULL)
		freeaddrinfo(res);
	return r;
}

int
ll_listener_open(const char *spec, struct ll_listener **out, char *errbuf,
    size_t errlen)
{
	struct ll_listener *l = NULL;
	int r;

	*out = NULL;
	lseterr(errbuf, errlen, "%s", "");
	if ((l = calloc(1, sizeof *l)) == NULL) {
		lseterr(errbuf, errlen, "%s: out of memory", spec);
		r = LL_ERR_NOMEM;
		goto out;
	}
	l->fd = -1;
	if (strncmp(spec, "unix:", 5) == 0)
		r = listen_unix(l, spec, spec + 5, errbuf, errlen);
	else if (strncmp(spec, "tcp:", 4) == 0)
		r = listen_tcp(l, spec, spec + 4, errbuf, errlen);
	else {
		lseterr(errbuf, errlen, "bad listen spec '%s': expected "
		    "unix:PATH or tcp:[ADDR:]PORT", spec);
		r = LL_ERR_INVAL;
	}
	if (r != 0) {
		ll_listener_close(l);
		l = NULL;
		goto out;
	}
	*out = l;
out:
	return r;
}

int
ll_listener_fd(const struct ll_listener *l)
{
	return l->fd;
}

int
ll_listener_accept(struct ll_listener *l, struct ll_transport **out,
    char *errbuf, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t slen = sizeof ss;
	struct ll_transport *t = NULL;
	char host[128], serv[16];
	int fd = -1, r;

	*out = NULL;
	fd = accept4(l->fd, (struct sockaddr *)&ss, &slen,
	    SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1) {
		if (errno == EAGAIN || errno == EINTR ||
		    errno == ECONNABORTED) {
			r = LL_ERR_AGAIN;
			goto out;
		}
		lseterr(errbuf, errlen, "accept: %s", strerror(errno));
		r = LL_ERR_IO;
		goto out;
	}
	if ((t = calloc(1, sizeof *t)) == NULL) {
		lseterr(errbuf, errlen, "accept: out of memory");
		r = LL_ERR_NOMEM;
		goto out;
	}
	if (l->is_unix)
		snprintf(t->spec, sizeof t->spec, "unix:%s", l->path);
	else {
		set_nodelay(fd);
		if (getnameinfo((struct sockaddr *)&ss, slen, host,
		    sizeof host, serv, sizeof serv,
		    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
			snprintf(t->spec, sizeof t->spec, "tcp:?");
		else if (strchr(host, ':') != NULL)
			snprintf(t->spec, sizeof t->spec, "tcp:[%s]:%s", host,
			    serv);
		else
			snprintf(t->spec, sizeof t->spec, "tcp:%s:%s", host,
			    serv);
	}
	t->ops = &sock_ops;
	t->rfd = t->wfd = fd;
	fd = -1;
	*out = t;
	t = NULL;
	r = 0;
out:
	if (fd != -1)
		close(fd);
	free(t);
	return r;
}

void
ll_listener_close(struct ll_listener *l)
{
	if (l == NULL)
		return;
	if (l->fd != -1)
		close(l->fd);
	if (l->is_unix)
		unlink(l->path);
	free(l);
}
