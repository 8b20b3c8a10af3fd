/*
 * Client output: messages on stderr prefixed with the program name, JSON on
 * stdout for --json, and console text (kernel messages and other bytes
 * between frames) on stderr with -v.
 *
 * A command's remote output (exec, fsck) goes through a struct stream_out:
 * its call handlers write DATA for the remote stdout and stderr to ours as
 * it arrives, or with --json collect it to be printed with the result, and
 * note each channel's EOF so the call waits for output that trails the
 * REPLY.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "client.h"
#include "reply.h"
#include "msg.h"

#define STREAM_OUT_JSON_MAX	(16 * 1024 * 1024)

/* For --json on failure: whether a result went out, the first error. */
static bool json_printed;
static char first_error[1024];
static char first_code[32];

static void
msg_v(const char *prefix, const char *fmt, va_list ap)
{
	va_list ap2;

	if (prefix[0] == '\0' && first_error[0] == '\0') {
		va_copy(ap2, ap);
		vsnprintf(first_error, sizeof(first_error), fmt, ap2);
		va_end(ap2);
	}
	fprintf(stderr, "lifeline: %s", prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void
output_error_code(const char *code)
{
	if (first_code[0] == '\0')
		snprintf(first_code, sizeof(first_code), "%s", code);
}

void
output_error_code_forget(void)
{
	first_code[0] = '\0';
}

/* The error code of a failure that has no agent code: from its status. */
static const char *
output_status_code(int status)
{
	switch (status) {
	case EXIT_FAILED:	return "failed";
	case EXIT_USAGE:	return "usage";
	case EXIT_CONNECT:	return "connect";
	case EXIT_NOAGENT:	return "no_agent";
	case EXIT_LOST:		return "link_lost";
	case EXIT_PROTOCOL:	return "protocol";
	case EXIT_TIMEOUT:	return "timeout";
	case EXIT_EXEC_OWN:	return "failed";
	default:		return status > 128 ? "interrupted" : "failed";
	}
}

void
output_json_failure(int status)
{
	json_t *o;

	if (!client_opts.json || status == EXIT_OK || json_printed)
		return;
	o = json_pack("{s:{s:s, s:s}, s:i}", "error", "code",
	    first_code[0] != '\0' ? first_code : output_status_code(status),
	    "message", first_error[0] != '\0' ? first_error :
	    "failed (see stderr)", "exit_status", status);
	if (o == NULL)	/* the message was not UTF-8 */
		o = json_pack("{s:{s:s, s:s}, s:i}", "error", "code",
		    output_status_code(status), "message", "failed (see "
		    "stderr)", "exit_status", status);
	if (o != NULL)
		print_json(o);
}

void
msg_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_v("warning: ", fmt, ap);
	va_end(ap);
}

void
msg_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_v("", fmt, ap);
	va_end(ap);
}

void
msg_verbose(const char *fmt, ...)
{
	va_list ap;

	if (client_opts.verbose == 0)
		return;
	va_start(ap, fmt);
	msg_v("", fmt, ap);
	va_end(ap);
}

void
print_json(json_t *obj)
{
	json_printed = true;
	json_dumpf(obj, stdout, JSON_COMPACT | JSON_SORT_KEYS);
	fputc('\n', stdout);
	fflush(stdout);
	json_decref(obj);
}

int
print_reply(json_t *res, void (*human)(json_t *res))
{
	if (client_opts.json) {
		print_json(res);
		return EXIT_OK;
	}
	/* what the agent sent must not drive the terminal */
	reply_clean(res);
	human(res);
	json_decref(res);
	return EXIT_OK;
}

/* Console text: shown as it came, control bytes made visible. */
void
console_text(void *ctx, const uint8_t *p, size_t n)
{
	size_t i;

	(void)ctx;
	for (i = 0; i < n; i++) {
		uint8_t b = p[i];

		if (b == '\n' || b == '\t' || (b >= 0x20 && b < 0x7f))
			fputc(b, stderr);
		else if (b != '\r')
			fprintf(stderr, "\\x%02x", b);
	}
	fflush(stderr);
}

void
stream_out_init(struct stream_out *o, bool collect)
{
	memset(o, 0, sizeof(*o));
	o->collect = collect;
}

void
stream_out_cleanup(struct stream_out *o, const char *failed)
{
	if (failed != NULL && o->write_failed)
		msg_error("%s", failed);
	free(o->buf[LL_CH_STDOUT]);
	free(o->buf[LL_CH_STDERR]);
	o->buf[LL_CH_STDOUT] = o->buf[LL_CH_STDERR] = NULL;
}

int
out_write_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd pfd = { fd, POLLOUT, 0 };

			poll(&pfd, 1, 1000);
			continue;
		}
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

void
stream_out_write(struct stream_out *o, int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0 && !o->write_failed) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			o->write_failed = true;
			break;
		}
		p += w;
		n -= (size_t)w;
	}
}

void
stream_out_data(void *ctx, uint8_t ch, const uint8_t *p, size_t n)
{
	struct stream_out *o = ctx;
	char *nb;

	if (ch != LL_CH_STDOUT && ch != LL_CH_STDERR)
		return;
	o->received[ch] += n;
	if (o->collect) {
		/* Past the cap, or out of memory, the rest is dropped. */
		if (o->len[ch] + n > STREAM_OUT_JSON_MAX)
			return;
		if ((nb = realloc(o->buf[ch], o->len[ch] + n + 1)) == NULL)
			return;
		memcpy(nb + o->len[ch], p, n);
		o->buf[ch] = nb;
		o->len[ch] += n;
		return;
	}
	if (o->before_write != NULL)
		o->before_write(o);
	stream_out_write(o, ch == LL_CH_STDERR ? 2 : 1, p, n);
}

void
stream_out_eof(void *ctx, uint8_t ch)
{
	struct stream_out *o = ctx;

	if (ch < 3)
		o->eof[ch] = true;
}

bool
stream_out_complete(void *ctx)
{
	struct stream_out *o = ctx;

	return o->eof[LL_CH_STDOUT] && o->eof[LL_CH_STDERR];
}

/* obj[key] for output bytes: a string when UTF-8, else key_base64 or null. */
static void
stream_out_json_one(json_t *obj, const char *key, const char *p, size_t n,
    bool base64)
{
	json_t *s = json_stringn(p != NULL ? p : "", n);
	unsigned char *b;
	char k64[32];

	if (s != NULL || !base64) {
		json_object_set_new(obj, key, s != NULL ? s : json_null());
		return;
	}
	if ((b = malloc(4 * ((n + 2) / 3) + 1)) == NULL)
		return;
	EVP_EncodeBlock(b, (const unsigned char *)p, (int)n);
	snprintf(k64, sizeof(k64), "%s_base64", key);
	json_object_set_new(obj, k64, json_string((char *)b));
	free(b);
}

void
stream_out_json(json_t *obj, const struct stream_out *o, bool base64)
{
	stream_out_json_one(obj, "stdout", o->buf[LL_CH_STDOUT],
	    o->len[LL_CH_STDOUT], base64);
	stream_out_json_one(obj, "stderr", o->buf[LL_CH_STDERR],
	    o->len[LL_CH_STDERR], base64);
}

json_t *
arg_text(const char *cmd, const char *what, const char *s)
{
	json_t *v = json_string(s);

	if (v == NULL)
		msg_error("%s: %s \"%s\" is not UTF-8 text (or out of "
		    "memory): it cannot be sent", cmd, what, s);
	return v;
}
