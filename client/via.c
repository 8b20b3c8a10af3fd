/*
 * Opening the --via path with what console paths need beyond a spec: the
 * exec: options (--ready, --ready-timeout, --exec-quit) handed to the proto
 * library, and the one decision the library cannot take itself: a BMC that
 * still holds the SOL payload of another session (usually an earlier client
 * that was killed, since a BMC frees it only when told) is made to let go
 * only with --take-over or after a yes typed on a terminal, because the
 * other session may be a person at the console.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "error.h"
#include "transport.h"

int
via_unescape(const char *s, char **out)
{
	char *o, *d;
	unsigned v;
	int k;

	if ((o = d = malloc(strlen(s) + 1)) == NULL) {
		msg_error("--exec-quit: out of memory");
		return -1;
	}
	while (*s != '\0') {
		if (*s != '\\') {
			*d++ = *s++;
			continue;
		}
		switch (s[1]) {
		case 'r': *d++ = '\r'; s += 2; break;
		case 'n': *d++ = '\n'; s += 2; break;
		case 't': *d++ = '\t'; s += 2; break;
		case '\\': *d++ = '\\'; s += 2; break;
		case 'x':
			if (sscanf(s + 2, "%2x%n", &v, &k) == 1 && k == 2 &&
			    v != 0) {
				*d++ = (char)v;
				s += 4;
				break;
			}
			/* FALLTHROUGH */
		default:
			msg_error("--exec-quit: bad escape at \"%.4s\" (\\r, "
			    "\\n, \\t, \\\\ or \\xHH, not \\x00)", s);
			free(o);
			return -1;
		}
	}
	*d = '\0';
	if (o[0] == '\0') {
		msg_error("--exec-quit needs a string to send");
		free(o);
		return -1;
	}
	*out = o;
	return 0;
}

/* Ask on the terminal; only "y" or "yes" agree. */
static bool
ask_take_over(const char *why)
{
	char line[16];
	ssize_t n;
	int fd;

	if (!isatty(STDERR_FILENO) || (fd = open("/dev/tty", O_RDWR |
	    O_CLOEXEC)) == -1)
		return false;
	fprintf(stderr, "lifeline: %s\nlifeline: deactivate that session "
	    "and take the console over? [y/N] ", why);
	fflush(stderr);
	n = read(fd, line, sizeof line - 1);
	close(fd);
	if (n <= 0)
		return false;
	line[n] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	return strcmp(line, "y") == 0 || strcmp(line, "Y") == 0 ||
	    strcmp(line, "yes") == 0;
}

int
via_open(struct ll_transport **t, char *err, size_t errlen)
{
	struct ll_exec_options eo;
	char why[512];
	int r;

	memset(&eo, 0, sizeof eo);
	eo.ready = client_opts.ready;
	eo.ready_ms = client_opts.ready_ms;
	eo.quit = client_opts.exec_quit;
	ll_transport_exec_defaults(&eo);
	r = ll_transport_open(client_opts.via, t, err, errlen);
	if (r != LL_ERR_BUSY || !ll_transport_is_ipmi(client_opts.via))
		return r;
	if (!client_opts.take_over && !ask_take_over(err))
		return r;
	msg_warn("%s: deactivating the SOL session that holds the payload",
	    client_opts.via);
	if (ll_transport_ipmi_deactivate(client_opts.via, why,
	    sizeof why) != 0) {
		snprintf(err, errlen, "%s", why);
		return LL_ERR_IO;
	}
	return ll_transport_open(client_opts.via, t, err, errlen);
}
