/*
 * Unit tests for the target's text files as inspect reads them
 * (agent/etc-text.c): fstab's octal escapes undone once each, fstab lines
 * split into fields (comments, blanks, CR, missing fields), and
 * os-release's shell-like quoting.  The fuzz targets check properties on
 * random input; these pin the exact results of the cases a real fstab or
 * os-release has.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "etc-text.h"

static void
unescaped(const char *in, const char *want)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s", in);
	etc_fstab_unescape(buf);
	assert_string_equal(buf, want);
}

static void
test_fstab_unescape(void **state)
{
	(void)state;
	unescaped("/mnt/my\\040disk", "/mnt/my disk");
	unescaped("a\\011b\\012c", "a\tb\nc");
	unescaped("back\\134slash", "back\\slash");
	/* once: the backslash an escape made starts no new escape */
	unescaped("\\134040", "\\040");
	unescaped("\\134\\134", "\\\\");
	/* not an escape: too few digits, a digit past 7, a first digit past 3 */
	unescaped("\\04", "\\04");
	unescaped("\\048", "\\048");
	unescaped("\\400", "\\400");
	unescaped("end\\", "end\\");
	unescaped("", "");
	/* \000 is a NUL byte: the field ends there */
	unescaped("a\\000b", "a");
}

static void
test_fstab_fields(void **state)
{
	char line[256], *f[6];

	(void)state;
	snprintf(line, sizeof(line), "UUID=1234 /  ext4 errors=remount-ro 0 1");
	assert_int_equal(etc_fstab_fields(line, f), 6);
	assert_string_equal(f[0], "UUID=1234");
	assert_string_equal(f[1], "/");
	assert_string_equal(f[2], "ext4");
	assert_string_equal(f[3], "errors=remount-ro");
	assert_string_equal(f[4], "0");
	assert_string_equal(f[5], "1");

	/* tabs, a CR line end, escapes in the first four fields only */
	snprintf(line, sizeof(line),
	    "/dev/sdb1\t/srv/my\\040data\tauto\tdefaults\\054ro\t0\t2\\040\r");
	assert_int_equal(etc_fstab_fields(line, f), 6);
	assert_string_equal(f[1], "/srv/my data");
	assert_string_equal(f[3], "defaults,ro");
	assert_string_equal(f[5], "2\\040");

	/* fewer fields: the rest NULL */
	snprintf(line, sizeof(line), "  /dev/sda2 none swap");
	assert_int_equal(etc_fstab_fields(line, f), 3);
	assert_string_equal(f[2], "swap");
	assert_null(f[3]);
	assert_null(f[5]);

	/* a comment after the fields ends them */
	snprintf(line, sizeof(line), "/dev/sda1 /boot vfat # the ESP");
	assert_int_equal(etc_fstab_fields(line, f), 3);

	/* blank and comment lines have none */
	snprintf(line, sizeof(line), "   \t ");
	assert_int_equal(etc_fstab_fields(line, f), 0);
	assert_null(f[0]);
	snprintf(line, sizeof(line), "# /dev/sda3 / ext4 defaults 0 1");
	assert_int_equal(etc_fstab_fields(line, f), 0);

	/* more than six: the seventh and later are not looked at */
	snprintf(line, sizeof(line), "a b c d e f g h");
	assert_int_equal(etc_fstab_fields(line, f), 6);
	assert_string_equal(f[5], "f");
}

static const char *
os_value(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void
test_os_release(void **state)
{
	char text[] =
	    "# comment\n"
	    "NAME=\"Debian GNU/Linux\"\n"
	    "PRETTY_NAME='Debian \"quoted\" 12'\n"
	    "VERSION_ID=\"12\"\n"
	    "ID=debian\n"
	    "ID_LIKE=\"a \\\"b\\\" \\$c \\\\d\"\n"
	    "HOME_URL=\"https://www.debian.org/\"\n"
	    "ID=last\n";
	json_t *o;

	(void)state;
	o = etc_os_release_parse(text);
	assert_non_null(o);
	assert_string_equal(os_value(o, "NAME"), "Debian GNU/Linux");
	assert_string_equal(os_value(o, "PRETTY_NAME"), "Debian \"quoted\" 12");
	assert_string_equal(os_value(o, "VERSION_ID"), "12");
	/* a key given twice keeps the last value */
	assert_string_equal(os_value(o, "ID"), "last");
	assert_string_equal(os_value(o, "ID_LIKE"), "a \"b\" $c \\d");
	/* only the keys inspect reports */
	assert_null(json_object_get(o, "HOME_URL"));
	json_decref(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fstab_unescape),
		cmocka_unit_test(test_fstab_fields),
		cmocka_unit_test(test_os_release),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
