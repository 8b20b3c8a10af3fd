/*
 * Agent logging.  Syslog gets everything at info and above (debug too with
 * -v); the debug file, when given, gets every line with a timestamp, and
 * alone the link's frame trace (its debug level: a line per frame would
 * flood syslog).  Logging
 * to stderr is switched off once stderr may be the link (--stdio), because a
 * log line written there could land in the middle of a frame.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static FILE *debug_fp;
static bool use_stderr;
static int max_level = LOG_LVL_INFO;

void
log_open(const char *ident, const char *debug_file, bool to_stderr,
    int verbosity)
{
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	use_stderr = to_stderr;
	max_level = verbosity > 0 ? LOG_LVL_DEBUG : LOG_LVL_INFO;
	if (debug_file != NULL) {
		debug_fp = fopen(debug_file, "ae");
		if (debug_fp != NULL)
			setvbuf(debug_fp, NULL, _IOLBF, 0);
		else
			fprintf(stderr, "lifelined: cannot open %s: %m\n",
			    debug_file);
	}
}

void
log_stderr(bool on)
{
	use_stderr = on;
}

void
log_printable(char *dst, size_t len, const char *src)
{
	size_t i;

	if (len == 0)
		return;
	for (i = 0; i < len - 1 && src != NULL && src[i] != '\0'; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
}

void
log_close(void)
{
	if (debug_fp != NULL)
		fclose(debug_fp);
	debug_fp = NULL;
	closelog();
}

/* A line for the debug file only (open). */
static void
log_file(int level, const char *func, const char *fmt, va_list ap)
{
	static const char *name[] = { "error", "warning", "info", "debug" };
	char msg[512];
	struct timespec ts;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(debug_fp, "%lld.%03ld %s %s: %s\n", (long long)ts.tv_sec,
	    ts.tv_nsec / 1000000, name[level], func, msg);
}

static void
log_vat(int level, const char *func, const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	static const char *name[] = { "error", "warning", "info", "debug" };
	char msg[2048];	/* room for an audit line with its arguments */

	if (level > max_level && debug_fp == NULL)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (level <= max_level) {
		syslog(prio[level], "%s", msg);
		if (use_stderr)
			fprintf(stderr, "lifelined: %s%s%s\n",
			    level <= LOG_LVL_WARN ? name[level] : "",
			    level <= LOG_LVL_WARN ? ": " : "", msg);
	}
	if (debug_fp != NULL) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		fprintf(debug_fp, "%lld.%03ld %s %s: %s\n",
		    (long long)ts.tv_sec, ts.tv_nsec / 1000000, name[level],
		    func, msg);
	}
}

void
log_at(int level, const char *func, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vat(level, func, fmt, ap);
	va_end(ap);
}

void
log_link(void *ctx, int level, const char *fmt, ...)
{
	va_list ap;

	(void)ctx;
	if (level >= LOG_LVL_DEBUG && debug_fp == NULL)
		return;
	va_start(ap, fmt);
	if (level >= LOG_LVL_DEBUG)
		log_file(LOG_LVL_DEBUG, "link", fmt, ap);
	else
		log_vat(level, "link", fmt, ap);
	va_end(ap);
}
