/*
 * The audit trail.  Every line starts with "audit: " and is built here from
 * fields that are each quoted and escaped: a client chooses user names, key
 * comments and arguments, so a control character, a quote or a newline
 * from it must not be able to forge or split a line.  Lines go to the agent
 * log (log_at) and, after audit_open(true), to syslog's authpriv facility;
 * the agent log then gets them at debug level only, so syslog does not
 * hold every line twice.
 *
 * Failed authentications are counted in a ring of the last
 * AUDIT_FAIL_BURST failure times: while all of them lie within
 * AUDIT_FAIL_WINDOW_MS of now, the limit holds.  There is one ring per
 * path (console, --listen, --listen-ssh), kept in this file's static state
 * under a mutex: SSH sessions authenticate in their own threads.
 */
#include "config.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "audit.h"
#include "log.h"

#define AUDIT_ARGS_MAX		1024	/* redacted arguments, with "..." */
#define AUDIT_FIELD_MAX		256	/* one escaped field */
#define AUDIT_LINE_MAX		2048

static bool audit_syslog;

static pthread_mutex_t fails_lock = PTHREAD_MUTEX_INITIALIZER;
struct audit_fails {
	uint64_t at[AUDIT_FAIL_BURST];	/* ring of failure times */
	unsigned int n, next;
	bool limited;			/* the limit line was logged */
	unsigned long suppressed;	/* attempts not logged since */
};
static struct audit_fails fails_by_path[AUDIT_PATH_N];

const char *
audit_path_name(enum audit_path path)
{
	switch (path) {
	case AUDIT_PATH_LISTEN:
		return "--listen";
	case AUDIT_PATH_SSH:
		return "--listen-ssh";
	default:
		return "the console";
	}
}

static struct audit_fails *
fails_of(enum audit_path path)
{
	return &fails_by_path[(unsigned)path < AUDIT_PATH_N ? path :
	    AUDIT_PATH_CONSOLE];
}

void
audit_open(bool use_syslog)
{
	/* The same identity as log_open, so either may come first. */
	if (use_syslog)
		openlog("lifelined", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	audit_syslog = use_syslog;
}

static void __attribute__((format(printf, 1, 2)))
audit_line(const char *fmt, ...)
{
	char line[AUDIT_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (audit_syslog) {
		syslog(LOG_AUTHPRIV | LOG_NOTICE, "audit: %s", line);
		log_at(LOG_LVL_DEBUG, "audit", "audit: %s", line);
	} else
		log_at(LOG_LVL_INFO, "audit", "audit: %s", line);
}

/*
 * s as a quoted field in buf: '"' and '\' escaped with '\', bytes outside
 * printable ASCII as \xHH, cut with "..." beyond AUDIT_FIELD_MAX.  NULL
 * becomes a bare "-".  Returns buf.
 */
static const char *
field(char *buf, size_t len, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	unsigned char c;

	if (s == NULL) {
		snprintf(buf, len, "-");
		return buf;
	}
	buf[o++] = '"';
	for (; *s != '\0'; s++) {
		/* Leave room for the longest escape, "...", '"' and NUL. */
		if (o + 4 + 3 + 2 > len) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		} else
			buf[o++] = (char)c;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

void
audit_auth_ok(const char *peer, const char *user, const char *fp,
    const char *comment)
{
	char f1[AUDIT_FIELD_MAX], f2[AUDIT_FIELD_MAX], f3[AUDIT_FIELD_MAX],
	    f4[AUDIT_FIELD_MAX];

	audit_line("auth ok: peer=%s user=%s key=%s comment=%s",
	    field(f1, sizeof(f1), peer), field(f2, sizeof(f2), user),
	    field(f3, sizeof(f3), fp), field(f4, sizeof(f4), comment));
}

/* Are the last AUDIT_FAIL_BURST failures all within the window? */
static bool
over_limit(const struct audit_fails *f, uint64_t now)
{
	uint64_t oldest;

	if (f->n < AUDIT_FAIL_BURST)
		return false;
	oldest = f->at[f->next];
	/* A clock that went back counts as within the window. */
	return now < oldest || now - oldest < AUDIT_FAIL_WINDOW_MS;
}

/* When a limit has just run out, say how many attempts it swallowed. */
static void
limit_over(enum audit_path path, uint64_t now)
{
	struct audit_fails *f = fails_of(path);

	if (!f->limited || over_limit(f, now))
		return;
	audit_line("auth limit over on %s: %lu attempts were refused or "
	    "failed without a line of their own", audit_path_name(path),
	    f->suppressed);
	f->limited = false;
	f->suppressed = 0;
}

void
audit_auth_failed(enum audit_path path, const char *peer, const char *user,
    const char *fp, const char *why, uint64_t now)
{
	char f1[AUDIT_FIELD_MAX], f2[AUDIT_FIELD_MAX], f3[AUDIT_FIELD_MAX],
	    f4[AUDIT_FIELD_MAX];
	struct audit_fails *f = fails_of(path);

	pthread_mutex_lock(&fails_lock);
	limit_over(path, now);
	/* An attempt already under way when the limit began. */
	if (f->limited && over_limit(f, now))
		f->suppressed++;
	else
		audit_line("auth failed: peer=%s user=%s key=%s why=%s",
		    field(f1, sizeof(f1), peer), field(f2, sizeof(f2), user),
		    field(f3, sizeof(f3), fp), field(f4, sizeof(f4), why));
	f->at[f->next] = now;
	f->next = (f->next + 1) % AUDIT_FAIL_BURST;
	if (f->n < AUDIT_FAIL_BURST)
		f->n++;
	if (!f->limited && over_limit(f, now)) {
		f->limited = true;
		f->suppressed = 0;
		audit_line("auth limit: %d failures within %d s on %s; "
		    "refusing new attempts there for a while",
		    AUDIT_FAIL_BURST, AUDIT_FAIL_WINDOW_MS / 1000,
		    audit_path_name(path));
	}
	pthread_mutex_unlock(&fails_lock);
}

bool
audit_auth_allowed(enum audit_path path, uint64_t now)
{
	struct audit_fails *f = fails_of(path);
	bool ok;

	pthread_mutex_lock(&fails_lock);
	if ((ok = !over_limit(f, now)))
		limit_over(path, now);
	else
		f->suppressed++;
	pthread_mutex_unlock(&fails_lock);
	return ok;
}

static bool
name_is_secret(const char *key)
{
	static const char *const exact[] = {
		"password", "hash", "passphrase", "secret"
	};
	char low[64];
	size_t i;

	for (i = 0; i < sizeof(exact) / sizeof(exact[0]); i++) {
		if (strcasecmp(key, exact[i]) == 0)
			return true;
	}
	/* new_password, client_secret and the like are secrets too. */
	for (i = 0; i < sizeof(low) - 1 && key[i] != '\0'; i++)
		low[i] = (char)tolower((unsigned char)key[i]);
	low[i] = '\0';
	return strstr(low, "password") != NULL ||
	    strstr(low, "passphrase") != NULL || strstr(low, "secret") != NULL;
}

/* Replace every secret field's value in v, at any depth. */
static void
hide(json_t *v)
{
	void *it;
	size_t i;

	if (json_is_object(v)) {
		for (it = json_object_iter(v); it != NULL;
		    it = json_object_iter_next(v, it)) {
			if (name_is_secret(json_object_iter_key(it)))
				json_object_iter_set_new(v, it,
				    json_string("(hidden)"));
			else
				hide(json_object_iter_value(it));
		}
	} else if (json_is_array(v)) {
		for (i = 0; i < json_array_size(v); i++)
			hide(json_array_get(v, i));
	}
}

char *
audit_redact(const json_t *args)
{
	json_t *copy;
	char *s, *p;

	if (args == NULL)
		return strdup("null");
	if ((copy = json_deep_copy(args)) == NULL)
		return NULL;
	hide(copy);
	s = json_dumps(copy, JSON_COMPACT | JSON_ENSURE_ASCII |
	    JSON_SORT_KEYS | JSON_ENCODE_ANY);
	json_decref(copy);
	if (s == NULL)
		return NULL;
	/* JSON escapes control characters but DEL; keep the line clean. */
	for (p = s; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			*p = '?';
	}
	if (strlen(s) > AUDIT_ARGS_MAX)
		memcpy(s + AUDIT_ARGS_MAX - 3, "...", 4);
	return s;
}

void
audit_op_start(const char *who, uint32_t id, const char *op,
    const json_t *args)
{
	char f1[AUDIT_FIELD_MAX], f2[AUDIT_FIELD_MAX], *a;

	a = audit_redact(args);
	audit_line("op start: who=%s id=%u op=%s args=%s",
	    field(f1, sizeof(f1), who), id, field(f2, sizeof(f2), op),
	    a != NULL ? a : "(out of memory)");
	free(a);
}

void
audit_op_end(const char *who, uint32_t id, const char *op, const char *result)
{
	char f1[AUDIT_FIELD_MAX], f2[AUDIT_FIELD_MAX], f3[AUDIT_FIELD_MAX];

	audit_line("op end: who=%s id=%u op=%s result=%s",
	    field(f1, sizeof(f1), who), id, field(f2, sizeof(f2), op),
	    field(f3, sizeof(f3), result));
}

void
audit_op_refused(const char *who, const char *op, const char *why)
{
	char f1[AUDIT_FIELD_MAX], f2[AUDIT_FIELD_MAX], f3[AUDIT_FIELD_MAX];

	audit_line("op refused: who=%s op=%s why=%s",
	    field(f1, sizeof(f1), who), field(f2, sizeof(f2), op),
	    field(f3, sizeof(f3), why));
}
