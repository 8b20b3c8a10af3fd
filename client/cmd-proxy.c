/*
 * lifeline proxy: standard input and output carry the bytes of an SSH
 * connection to the agent's own SSH server, inside the link over --via, so
 * that OpenSSH's ssh (and scp, sftp, rsync -e ssh, Ansible) can use it as a
 * ProxyCommand:
 *
 *	ssh -o ProxyCommand='lifeline --via serial:/dev/ttyUSB0,115200 proxy' \
 *	    -o HostKeyAlias=rescue root@rescue
 *
 * The link is brought up as for any command, but instead of starting our
 * own SSH client on link stream 0 (conn.c's tunnel), the stream is joined
 * to a socketpair whose other end this loop copies to and from fds 0 and 1.
 * ssh then speaks SSH end to end with the agent and checks its host key in
 * its own known_hosts; we never see the keys or the plaintext.
 *
 * It ends cleanly when ssh closes our standard input (what was sent is
 * flushed over the link first), and with a message on stderr when the link
 * is cut or the agent goes away.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"
#include "error.h"
#include "link-pump.h"
#include "ssh-common.h"

#define PROXY_BUF	(16 * 1024)
#define PROXY_CLOSE_MS	5000	/* to flush what ssh sent last */

struct proxy {
	int sock;			/* ours; the session has the other end */
	int plain_keep;			/* the unused records side, held open */
	bool started;
	uint8_t in[PROXY_BUF];		/* stdin -> sock */
	size_t in_len, in_off;
	uint8_t out[PROXY_BUF];		/* sock -> stdout */
	size_t out_len, out_off;
	bool stdin_eof;
	bool sock_eof;
};

/* The link session started: link stream 0 <-> our socketpair. */
static int
proxy_tunnel(void *ctx, int *cipher_fd, int *plain_fd)
{
	struct proxy *p = ctx;
	int a[2], b[2];

	if (p->started)
		return LL_ERR_RESET;	/* an SSH stream cannot resume */
	if (ll_ssh_socketpair(a) != 0)
		return LL_ERR_IO;
	if (ll_ssh_socketpair(b) != 0) {
		close(a[0]);
		close(a[1]);
		return LL_ERR_IO;
	}
	p->started = true;
	p->sock = a[1];
	fcntl(p->sock, F_SETFL, fcntl(p->sock, F_GETFL) | O_NONBLOCK);
	p->plain_keep = b[1];
	*cipher_fd = a[0];
	*plain_fd = b[0];
	return 0;
}

static struct ll_session *
proxy_session(struct proxy *p)
{
	return conn_tunnel_session("proxy", "point ssh at the agent's SSH "
	    "listener instead", proxy_tunnel, p);
}

/* Copy what can be copied now.  -1 when stdout failed (ssh is gone). */
static int
proxy_copy(struct proxy *p)
{
	ssize_t n;

	if (!p->stdin_eof && p->in_len == 0) {
		n = read(0, p->in, sizeof(p->in));
		if (n > 0) {
			p->in_len = (size_t)n;
			p->in_off = 0;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR))
			p->stdin_eof = true;
	}
	if (p->in_len > 0 && p->sock >= 0) {
		n = send(p->sock, p->in + p->in_off, p->in_len, MSG_NOSIGNAL);
		if (n > 0) {
			p->in_off += (size_t)n;
			p->in_len -= (size_t)n;
		}
	}
	if (!p->sock_eof && p->out_len == 0 && p->sock >= 0) {
		n = recv(p->sock, p->out, sizeof(p->out), 0);
		if (n > 0) {
			p->out_len = (size_t)n;
			p->out_off = 0;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR))
			p->sock_eof = true;
	}
	if (p->out_len > 0) {
		n = write(1, p->out + p->out_off, p->out_len);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		if (n > 0) {
			p->out_off += (size_t)n;
			p->out_len -= (size_t)n;
		}
	}
	return 0;
}

static int
proxy_pollfds(struct proxy *p, struct pollfd *pfd)
{
	int n = 0;

	if (!p->stdin_eof && p->in_len == 0)
		pfd[n++] = (struct pollfd){ .fd = 0, .events = POLLIN };
	if (p->out_len > 0)
		pfd[n++] = (struct pollfd){ .fd = 1, .events = POLLOUT };
	if (p->sock >= 0)
		pfd[n++] = (struct pollfd){ .fd = p->sock, .events =
		    (p->out_len == 0 ? POLLIN : 0) |
		    (p->in_len > 0 ? POLLOUT : 0) };
	return n;
}

static int
cmd_proxy(int argc, char **argv)
{
	struct pollfd pfd[LL_SESSION_POLLFDS_MAX + 3];
	struct proxy p = { .sock = -1, .plain_keep = -1 };
	struct ll_session *s;
	int n, m, rc, timeout, status = EXIT_OK;
	uint64_t now;

	(void)argv;
	if (argc > 1) {
		msg_error("proxy: takes no arguments (the path is --via)");
		return EXIT_USAGE;
	}
	if (client_opts.via == NULL) {
		msg_error("proxy: no path to the agent: give --via SPEC or set "
		    "LIFELINE_VIA");
		return EXIT_USAGE;
	}
	if (client_opts.insecure) {
		msg_error("proxy: --insecure turns off the agent's SSH server "
		    "inside the link, which proxy carries; drop --insecure");
		return EXIT_USAGE;
	}
	if ((s = proxy_session(&p)) == NULL)
		return EXIT_CONNECT;
	fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
	for (;;) {
		now = ll_now_ms();
		timeout = 1000;
		n = ll_session_pollfds(s, pfd, now, &timeout);
		m = p.started ? proxy_pollfds(&p, pfd + n) : 0;
		if (poll(pfd, (nfds_t)(n + m), timeout) < 0 && errno != EINTR)
			break;
		if (p.started && proxy_copy(&p) != 0)
			break;		/* ssh has gone */
		if ((rc = ll_session_io(s, pfd, ll_now_ms())) != 0) {
			/* Flush what the agent said last to ssh. */
			while (p.out_len > 0 && proxy_copy(&p) == 0)
				;
			if (rc == LL_ERR_CLOSED)
				goto out;	/* the agent ended it */
			msg_error("proxy: %s", ll_session_error_text(s));
			status = p.started ? EXIT_LOST : EXIT_NOAGENT;
			goto out;
		}
		if (conn_interrupted) {
			status = conn_interrupt_status();
			goto out;
		}
		/* ssh closed our stdin and all it sent is on its way. */
		if (p.stdin_eof && p.in_len == 0)
			break;
		if (p.sock_eof && p.out_len == 0)
			break;
	}
	ll_session_close(s, PROXY_CLOSE_MS);
out:
	ll_session_free(s);
	if (p.sock >= 0)
		close(p.sock);
	if (p.plain_keep >= 0)
		close(p.plain_keep);
	return status;
}

const struct client_cmd cmd_proxy_entry = {
	.name = "proxy",
	.summary = "carry an SSH connection to the agent on stdin/stdout (ssh ProxyCommand)",
	.run = cmd_proxy,
};
