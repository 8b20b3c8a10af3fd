/*
 * Unit tests for editing the target's etc/shadow in memory
 * (agent/pw-file.c): one field of one user's line changes and every other
 * byte stays, CRLF line ends and a last line without an end included; set,
 * clear, lock, unlock and expire with the last-change day written as
 * passwd(1) writes it; the refusals (no such user, too few fields, a NUL
 * byte, unlocking to an empty password) change nothing.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pw-file.h"

#define TODAY	20000L
#define HASH	"$y$j9T$abcdefghijklmnop$ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abc"

/* action on user in text; the result (or NULL when unchanged) and rc */
static char *
rewrite(const char *text, size_t len, const char *user,
    enum pw_action action, const char *hash, int *rc, long *lastchg)
{
	struct pw_buf in = { (char *)text, len }, out;
	char err[256], *s;
	bool changed;

	*rc = pw_rewrite(&in, user, action, hash, TODAY, &out, &changed,
	    lastchg, err, sizeof(err));
	if (*rc != 0 || !changed) {
		assert_null(out.p);
		return NULL;
	}
	assert_int_equal(strlen(out.p), out.len);
	s = strdup(out.p);
	free(out.p);
	return s;
}

static void
test_edit_field(void **state)
{
	const char text[] = "root:x:1:2\nbob:old:3:4\r\ncarol:c:5";
	struct pw_buf in = { (char *)text, sizeof(text) - 1 }, out;
	size_t ls, le;
	bool changed;

	(void)state;
	assert_true(pw_find_line(in.p, in.len, "bob", &ls, &le));
	assert_int_equal(pw_edit_field(&in, ls, le, 1, "new", &out,
	    &changed), 0);
	assert_true(changed);
	assert_string_equal(out.p, "root:x:1:2\nbob:new:3:4\r\ncarol:c:5");
	free(out.p);
	/* the same value: nothing made */
	assert_int_equal(pw_edit_field(&in, ls, le, 1, "old", &out,
	    &changed), 0);
	assert_false(changed);
	assert_null(out.p);
	/* the last field, an empty value, on the last line without \n */
	assert_true(pw_find_line(in.p, in.len, "carol", &ls, &le));
	assert_int_equal(pw_edit_field(&in, ls, le, 2, "", &out, &changed), 0);
	assert_string_equal(out.p, "root:x:1:2\nbob:old:3:4\r\ncarol:c:");
	free(out.p);
	/* a field past the line's last */
	assert_int_equal(pw_edit_field(&in, ls, le, 3, "x", &out, &changed),
	    -EINVAL);
	assert_null(out.p);
}

static void
test_find_line(void **state)
{
	const char text[] = "rootx:a:\nroot:b:\n  bob:c:\nbob:d:";
	size_t ls, le;

	(void)state;
	/* a name is the whole first field, not a prefix of it */
	assert_true(pw_find_line(text, sizeof(text) - 1, "root", &ls, &le));
	assert_int_equal(ls, 9);
	assert_int_equal(le, 16);
	assert_true(pw_find_line(text, sizeof(text) - 1, "bob", &ls, &le));
	assert_memory_equal(text + ls, "bob:d:", le - ls);
	assert_false(pw_find_line(text, sizeof(text) - 1, "ro", &ls, &le));
}

static void
test_set_and_clear(void **state)
{
	const char text[] = "root:*:19000:0:99999:7:::\r\nbob:old:19000:0:99999:7:::\n";
	char *s;
	long day;
	int rc;

	(void)state;
	s = rewrite(text, sizeof(text) - 1, "bob", PW_SET, HASH, &rc, &day);
	assert_int_equal(rc, 0);
	assert_string_equal(s, "root:*:19000:0:99999:7:::\r\nbob:" HASH
	    ":20000:0:99999:7:::\n");
	assert_int_equal(day, TODAY);
	free(s);
	s = rewrite(text, sizeof(text) - 1, "root", PW_CLEAR, NULL, &rc, &day);
	assert_int_equal(rc, 0);
	assert_string_equal(s, "root::20000:0:99999:7:::\r\nbob:old:19000:0:"
	    "99999:7:::\n");
	free(s);
	/* a line without aging fields: the password alone, no date */
	s = rewrite("bob:old\n", 8, "bob", PW_SET, HASH, &rc, &day);
	assert_int_equal(rc, 0);
	assert_string_equal(s, "bob:" HASH "\n");
	assert_int_equal(day, -1);
	free(s);
}

static void
test_lock_unlock_expire(void **state)
{
	const char text[] = "bob:$6$s$h:19000:0:99999:7:::\n";
	const char locked[] = "bob:!$6$s$h:19000:0:99999:7:::\n";
	char *s;
	long day;
	int rc;

	(void)state;
	s = rewrite(text, sizeof(text) - 1, "bob", PW_LOCK, NULL, &rc, &day);
	assert_int_equal(rc, 0);
	assert_string_equal(s, locked);
	/* the date stays: locking is no new password */
	assert_int_equal(day, -1);
	free(s);
	/* already locked, already unlocked: unchanged */
	assert_null(rewrite(locked, sizeof(locked) - 1, "bob", PW_LOCK, NULL,
	    &rc, &day));
	assert_int_equal(rc, 0);
	assert_null(rewrite(text, sizeof(text) - 1, "bob", PW_UNLOCK, NULL,
	    &rc, &day));
	assert_int_equal(rc, 0);
	s = rewrite(locked, sizeof(locked) - 1, "bob", PW_UNLOCK, NULL, &rc,
	    &day);
	assert_string_equal(s, text);
	free(s);
	/* expire: the last-change day becomes 0 */
	s = rewrite(text, sizeof(text) - 1, "bob", PW_EXPIRE, NULL, &rc, &day);
	assert_string_equal(s, "bob:$6$s$h:0:0:99999:7:::\n");
	assert_int_equal(day, 0);
	free(s);
}

static void
test_refusals(void **state)
{
	const char nul[] = "bob:a\0b:1:2\n";
	long day;
	int rc;

	(void)state;
	assert_null(rewrite("root:x:1\n", 9, "bob", PW_CLEAR, NULL, &rc,
	    &day));
	assert_int_equal(rc, -ENOENT);
	/* expire writes field 2, which this line lacks */
	assert_null(rewrite("bob:x\n", 6, "bob", PW_EXPIRE, NULL, &rc, &day));
	assert_int_equal(rc, -EINVAL);
	/* a NUL byte would hide what follows it */
	assert_null(rewrite(nul, sizeof(nul) - 1, "bob", PW_LOCK, NULL, &rc,
	    &day));
	assert_int_equal(rc, -EINVAL);
	/* unlocking "!" would leave no password at all */
	assert_null(rewrite("bob:!:1:2\n", 10, "bob", PW_UNLOCK, NULL, &rc,
	    &day));
	assert_int_equal(rc, -EINVAL);
}

static void
test_split(void **state)
{
	const char text[] = "bob:h:1:2:3:4:5:6:7:extra:more\n";
	struct pw_buf b = { (char *)text, sizeof(text) - 1 };
	char *copy, *f[9];

	(void)state;
	assert_int_equal(pw_split(&b, "bob", &copy, f), 0);
	assert_string_equal(f[0], "bob");
	assert_string_equal(f[1], "h");
	assert_string_equal(f[7], "6");
	/* the ninth holds the rest */
	assert_string_equal(f[8], "7:extra:more");
	free(copy);
	assert_int_equal(pw_split(&b, "alice", &copy, f), -1);
	assert_null(copy);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edit_field),
		cmocka_unit_test(test_find_line),
		cmocka_unit_test(test_set_and_clear),
		cmocka_unit_test(test_lock_unlock_expire),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_split),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
