/*
 * Unit tests for the audit trail (agent/audit.c): secrets hidden at any
 * depth, long arguments cut, client strings unable to break a line, and the
 * failed-authentication limit driven by a fake clock.  log_at is replaced by
 * a stub that keeps the lines, so the test sees exactly what would be
 * logged (and nothing reaches the system log).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "audit.h"
#include "log.h"

#define KEPT_MAX	64

static char kept[KEPT_MAX][2048];
static int nkept;

void
log_at(int level, const char *func, const char *fmt, ...)
{
	va_list ap;

	assert_int_equal(level, LOG_LVL_INFO);
	assert_true(nkept < KEPT_MAX);
	va_start(ap, fmt);
	vsnprintf(kept[nkept++], sizeof(kept[0]), fmt, ap);
	va_end(ap);
}

static const char *
last(void)
{
	assert_true(nkept > 0);
	return kept[nkept - 1];
}

/* A line is one line of printable ASCII. */
static void
assert_clean(const char *s)
{
	for (; *s != '\0'; s++)
		assert_true(*s >= 0x20 && *s < 0x7f);
}

static void
test_redact_depth(void **state)
{
	json_t *args;
	char *s;

	args = json_pack("{s:s, s:s, s:{s:[{s:s, s:s, s:i}], s:s}, s:[s]}",
	    "user", "bob", "password", "hunter2",
	    "nested", "a", "hash", "$6$salt$x", "Secret", "s3", "n", 7,
	    "new_password", "pw2",
	    "list", "passphrase");
	assert_non_null(args);
	s = audit_redact(args);
	assert_non_null(s);
	assert_string_equal(s, "{\"list\":[\"passphrase\"],\"nested\":{\"a\":"
	    "[{\"Secret\":\"(hidden)\",\"hash\":\"(hidden)\",\"n\":7}],"
	    "\"new_password\":\"(hidden)\"},\"password\":\"(hidden)\","
	    "\"user\":\"bob\"}");
	free(s);
	/* The caller's arguments are left as they were. */
	assert_string_equal(json_string_value(json_object_get(args,
	    "password")), "hunter2");
	json_decref(args);

	/* A secret whose value is an object is hidden whole. */
	args = json_pack("{s:{s:s}}", "secret", "inner", "x");
	s = audit_redact(args);
	assert_string_equal(s, "{\"secret\":\"(hidden)\"}");
	free(s);
	json_decref(args);

	s = audit_redact(NULL);
	assert_string_equal(s, "null");
	free(s);
}

static void
test_redact_truncate(void **state)
{
	char big[5000], *s;
	json_t *args;

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	args = json_pack("{s:s}", "data", big);
	s = audit_redact(args);
	assert_int_equal(strlen(s), 1024);
	assert_memory_equal(s, "{\"data\":\"aaaa", 12);
	assert_string_equal(s + 1021, "...");
	free(s);
	json_decref(args);

	/* 1024 bytes exactly stay whole: {"d":"..."} is 8 + the value. */
	big[1016] = '\0';
	args = json_pack("{s:s}", "d", big);
	s = audit_redact(args);
	assert_int_equal(strlen(s), 1024);
	assert_string_equal(s + 1021, "a\"}");
	free(s);
	json_decref(args);

	/* Control characters and non-ASCII come out escaped. */
	args = json_pack("{s:s}", "x", "a\nb\x1b\x7f\xc3\xa9");
	s = audit_redact(args);
	assert_clean(s);
	assert_string_equal(s, "{\"x\":\"a\\nb\\u001B?\\u00E9\"}");
	free(s);
	json_decref(args);
}

static void
test_lines_escaped(void **state)
{
	json_t *args;

	nkept = 0;
	audit_open(false);
	audit_auth_ok("tcp 192.0.2.1:5555", "ro\"ot\n", "SHA256:abc",
	    "evil\r\naudit: auth ok: fake\x1b[2J\xff");
	assert_int_equal(nkept, 1);
	assert_clean(last());
	assert_string_equal(last(), "audit: auth ok: peer=\"tcp 192.0.2.1:5555\" "
	    "user=\"ro\\\"ot\\x0a\" key=\"SHA256:abc\" comment=\"evil\\x0d\\x0a"
	    "audit: auth ok: fake\\x1b[2J\\xff\"");

	audit_op_refused(NULL, "exec", "read-only");
	assert_string_equal(last(), "audit: op refused: who=- op=\"exec\" "
	    "why=\"read-only\"");

	args = json_pack("{s:s, s:s}", "user", "bob", "hash", "$6$x");
	audit_op_start("SHA256:k", 9, "passwd", args);
	json_decref(args);
	assert_string_equal(last(), "audit: op start: who=\"SHA256:k\" id=9 "
	    "op=\"passwd\" args={\"hash\":\"(hidden)\",\"user\":\"bob\"}");
	audit_op_end("insecure", 9, "passwd", "not_found: no user \"x\"");
	assert_string_equal(last(), "audit: op end: who=\"insecure\" id=9 "
	    "op=\"passwd\" result=\"not_found: no user \\\"x\\\"\"");
}

static void
test_long_field(void **state)
{
	char big[3000];

	memset(big, '\n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	nkept = 0;
	audit_auth_ok("console /dev/ttyS0", big, big, big);
	assert_int_equal(nkept, 1);
	assert_clean(last());
	assert_true(strlen(last()) < 1100);
	assert_non_null(strstr(last(), "\\x0a...\""));
}

/*
 * The limit, with a fake clock.  Each rate test starts far beyond the
 * previous one's times, so the state left behind has expired.
 */
static void
test_rate_limit(void **state)
{
	const uint64_t t = 1000000;
	int i;

	nkept = 0;
	assert_true(audit_auth_allowed(AUDIT_PATH_SSH, t));
	for (i = 0; i < AUDIT_FAIL_BURST; i++) {
		assert_true(audit_auth_allowed(AUDIT_PATH_SSH, t + i));
		audit_auth_failed(AUDIT_PATH_SSH, "tcp 192.0.2.9:1", "root", "SHA256:x",
		    "not in authorized_keys", t + i);
	}
	/* Every failure logged, then one line for the limit. */
	assert_int_equal(nkept, AUDIT_FAIL_BURST + 1);
	assert_non_null(strstr(kept[0], "auth failed: "));
	assert_non_null(strstr(last(), "auth limit: 5 failures within 60 s on --listen-ssh"));

	assert_false(audit_auth_allowed(AUDIT_PATH_SSH, t + 10));
	assert_false(audit_auth_allowed(AUDIT_PATH_SSH, t + 20));
	/* An attempt that was already running fails: counted, not logged. */
	audit_auth_failed(AUDIT_PATH_SSH, "tcp 192.0.2.9:2", "root", "SHA256:x", "bad", t + 30);
	assert_int_equal(nkept, AUDIT_FAIL_BURST + 1);

	/*
	 * The last five failures are t+1..t+4 and t+30: the oldest leaves
	 * the window at t+1+60000.
	 */
	assert_false(audit_auth_allowed(AUDIT_PATH_SSH, t + 1 + AUDIT_FAIL_WINDOW_MS - 1));
	assert_int_equal(nkept, AUDIT_FAIL_BURST + 1);
	assert_true(audit_auth_allowed(AUDIT_PATH_SSH, t + 1 + AUDIT_FAIL_WINDOW_MS));
	assert_int_equal(nkept, AUDIT_FAIL_BURST + 2);
	assert_string_equal(last(), "audit: auth limit over on --listen-ssh: 4 "
	    "attempts were refused or failed without a line of their own");

	/*
	 * A window slides: one more failure now leaves two (t+30 and this)
	 * within the last minute, logged and not limited.
	 */
	audit_auth_failed(AUDIT_PATH_SSH, "p", "u", "k", "w", t + 2 + AUDIT_FAIL_WINDOW_MS);
	assert_int_equal(nkept, AUDIT_FAIL_BURST + 3);
	assert_non_null(strstr(last(), "auth failed: "));
	assert_true(audit_auth_allowed(AUDIT_PATH_SSH, t + 3 + AUDIT_FAIL_WINDOW_MS));
}

static void
test_rate_spread(void **state)
{
	const uint64_t t = 100000000;
	int i;

	/* A failure every 15 s: never five within a minute. */
	nkept = 0;
	for (i = 0; i < 40; i++) {
		assert_true(audit_auth_allowed(AUDIT_PATH_SSH, t + i * 15001));
		audit_auth_failed(AUDIT_PATH_SSH, "p", "u", "k", "w", t + i * 15001);
	}
	assert_int_equal(nkept, 40);
	/* But five in a burst are limited, whatever came before. */
	for (i = 0; i < AUDIT_FAIL_BURST; i++)
		audit_auth_failed(AUDIT_PATH_SSH, "p", "u", "k", "w", t + 40 * 15001 + i);
	assert_false(audit_auth_allowed(AUDIT_PATH_SSH, t + 40 * 15001 + 10));
	/* A clock that went back does not lift the limit. */
	assert_false(audit_auth_allowed(AUDIT_PATH_SSH, t));
}

/*
 * Each path has its own count: failures on the console do not refuse
 * logins on --listen-ssh or --listen, and the other way round.
 */
static void
test_rate_paths(void **state)
{
	const uint64_t t = 300000000;
	int i;

	nkept = 0;
	for (i = 0; i < AUDIT_FAIL_BURST; i++)
		audit_auth_failed(AUDIT_PATH_CONSOLE, "console /dev/ttyS0",
		    "root", "k", "w", t + i);
	assert_non_null(strstr(last(), "auth limit: 5 failures within 60 s "
	    "on the console"));
	assert_false(audit_auth_allowed(AUDIT_PATH_CONSOLE, t + 10));
	assert_true(audit_auth_allowed(AUDIT_PATH_SSH, t + 10));
	assert_true(audit_auth_allowed(AUDIT_PATH_LISTEN, t + 10));
	for (i = 0; i < AUDIT_FAIL_BURST; i++)
		audit_auth_failed(AUDIT_PATH_SSH, "tcp 192.0.2.9:1", "root",
		    "k", "w", t + 20 + i);
	assert_false(audit_auth_allowed(AUDIT_PATH_SSH, t + 30));
	assert_true(audit_auth_allowed(AUDIT_PATH_LISTEN, t + 30));
	/* the console's window ends on its own clock */
	assert_true(audit_auth_allowed(AUDIT_PATH_CONSOLE,
	    t + 1 + AUDIT_FAIL_WINDOW_MS));
	assert_false(audit_auth_allowed(AUDIT_PATH_SSH,
	    t + 1 + AUDIT_FAIL_WINDOW_MS));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redact_depth),
		cmocka_unit_test(test_redact_truncate),
		cmocka_unit_test(test_lines_escaped),
		cmocka_unit_test(test_long_field),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_rate_spread),
		cmocka_unit_test(test_rate_paths),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
