/*
 * Client output: messages on stderr prefixed with the program name, JSON on
 * stdout for --json, and console text (kernel messages and other bytes
 * between frames) on stderr with -v.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "client.h"

static void
msg_v(const char *prefix, const char *fmt, va_list ap)
{
	fprintf(stderr, "lifeline: %s", prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
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
	json_dumpf(obj, stdout, JSON_COMPACT | JSON_SORT_KEYS);
	fputc('\n', stdout);
	fflush(stdout);
	json_decref(obj);
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
