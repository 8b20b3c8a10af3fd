/*
 * lifeline exec: run a command on the agent's host.  The remote stdout and
 * stderr stream to ours as they arrive; the remote exit status becomes ours
 * (128 + N for death by signal N, as a shell reports it).  With --json the
 * output is collected instead and printed in one object at the end.  With
 * --chroot the command runs chrooted into the target root.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "client.h"
#include "msg.h"

#define EXEC_JSON_MAX	(16 * 1024 * 1024)

struct exec_ctx {
	bool eof[3];
	bool write_failed;
	char *buf[3];		/* --json: collected output */
	size_t len[3];
};

static void
exec_data(void *ctx, uint8_t ch, const uint8_t *p, size_t n)
{
	struct exec_ctx *x = ctx;
	int fd = ch == LL_CH_STDERR ? 2 : 1;

	if (ch != LL_CH_STDOUT && ch != LL_CH_STDERR)
		return;
	if (client_opts.json) {
		char *nb;

		if (x->len[ch] + n > EXEC_JSON_MAX)
			return;
		if ((nb = realloc(x->buf[ch], x->len[ch] + n + 1)) == NULL)
			return;
		memcpy(nb + x->len[ch], p, n);
		x->buf[ch] = nb;
		x->len[ch] += n;
		return;
	}
	while (n > 0 && !x->write_failed) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			x->write_failed = true;
			break;
		}
		p += w;
		n -= (size_t)w;
	}
}

static void
exec_eof(void *ctx, uint8_t ch)
{
	struct exec_ctx *x = ctx;

	if (ch < 3)
		x->eof[ch] = true;
}

static bool
exec_complete(void *ctx)
{
	struct exec_ctx *x = ctx;

	return x->eof[LL_CH_STDOUT] && x->eof[LL_CH_STDERR];
}

/* A JSON value for output bytes: a string when UTF-8, else base64. */
static void
exec_json_output(json_t *obj, const char *key, const char *p, size_t n)
{
	json_t *s = json_stringn(p != NULL ? p : "", n);
	char k64[32];

	if (s != NULL) {
		json_object_set_new(obj, key, s);
		return;
	}
	{
		size_t cap = 4 * ((n + 2) / 3) + 1;
		unsigned char *b = malloc(cap);

		if (b == NULL)
			return;
		EVP_EncodeBlock(b, (const unsigned char *)p, (int)n);
		snprintf(k64, sizeof(k64), "%s_base64", key);
		json_object_set_new(obj, k64, json_string((char *)b));
		free(b);
	}
}

int
cmd_exec(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "cwd", required_argument, NULL, 'C' },
		{ "chroot", no_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 }
	};
	struct call_handlers h = { .data = exec_data, .eof = exec_eof,
	    .complete = exec_complete };
	struct exec_ctx x;
	struct conn c;
	json_t *args, *jargv, *res = NULL, *v;
	const char *cwd = NULL;
	bool chroot_target = false;
	double timeout = 0;
	char *end;
	int ch, rc, i;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "+t:C:", longopts, NULL)) != -1) {
		switch (ch) {
		case 't':
			timeout = strtod(optarg, &end);
			if (*end != '\0' || timeout <= 0) {
				msg_error("exec: --timeout needs seconds, not "
				    "\"%s\"", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'C':
			cwd = optarg;
			break;
		case 'R':
			chroot_target = true;
			break;
		default:
			goto usage;
		}
	}
	if (optind >= argc)
		goto usage;
	memset(&x, 0, sizeof(x));
	h.ctx = &x;
	jargv = json_array();
	for (i = optind; i < argc; i++)
		json_array_append_new(jargv, json_string(argv[i]));
	args = json_pack("{s:o}", "argv", jargv);
	if (cwd != NULL)
		json_object_set_new(args, "cwd", json_string(cwd));
	if (chroot_target)
		json_object_set_new(args, "chroot", json_true());
	if (timeout > 0)
		json_object_set_new(args, "timeout_ms",
		    json_integer((json_int_t)(timeout * 1000)));
	if ((rc = conn_open(&c)) != 0 ||
	    (rc = conn_call(&c, "exec", args, &h, &res)) != 0) {
		msg_error("%s", c.err);
		json_decref(args);
		conn_close(&c);
		free(x.buf[1]);
		free(x.buf[2]);
		/* exec's own status space is the remote one: ours is 255 */
		return EXIT_EXEC_OWN;
	}
	json_decref(args);
	conn_close(&c);
	rc = EXIT_EXEC_OWN;
	if (json_is_integer(v = json_object_get(res, "exit_status")))
		rc = (int)json_integer_value(v);
	else if (json_is_integer(v = json_object_get(res, "signal"))) {
		rc = 128 + (int)json_integer_value(v);
		if (!client_opts.json)
			msg_error("the remote command was killed by signal "
			    "%lld (%s)%s", (long long)json_integer_value(v),
			    strsignal((int)json_integer_value(v)),
			    json_is_true(json_object_get(res, "timed_out")) ?
			    " after its timeout" : "");
	}
	if (client_opts.json) {
		exec_json_output(res, "stdout", x.buf[1], x.len[1]);
		exec_json_output(res, "stderr", x.buf[2], x.len[2]);
		print_json(res);
	} else {
		json_decref(res);
	}
	free(x.buf[1]);
	free(x.buf[2]);
	if (x.write_failed)
		msg_error("exec: writing the command's output failed");
	return rc;
usage:
	msg_error("usage: lifeline exec [--timeout SECONDS] [--cwd DIR] "
	    "[--chroot] -- COMMAND [ARG...]");
	return EXIT_USAGE;
}
