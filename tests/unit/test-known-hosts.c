/*
 * Unit tests for lifeline's known-hosts file (proto/known-hosts.c): the
 * label a --via spec is filed under, which spellings are one console, the
 * four answers of a lookup (and the line each names), appending, replacing
 * a console's lines, removing by console or by key, and a randomized
 * property: any exec: spec, blanks and '%' included, is filed as one word
 * that reads back as the same console.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "known-hosts.h"

#define SEED	0x6b6e6f77U
#define FP_A	"SHA256:AAAAaaaaAAAAaaaaAAAAaaaaAAAAaaaaAAAAaaaaAAA"
#define FP_B	"SHA256:BBBBbbbbBBBBbbbbBBBBbbbbBBBBbbbbBBBBbbbbBBB"
#define FP_C	"SHA256:CCCCccccCCCCccccCCCCccccCCCCccccCCCCccccCCC"

static char dir[64], path[128];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/test-kh.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof path, "%s/sub/known_hosts", dir);
	return 0;
}

static int
teardown(void **state)
{
	char p[160];

	(void)state;
	unlink(path);
	snprintf(p, sizeof p, "%s/sub", dir);
	rmdir(p);
	rmdir(dir);
	return 0;
}

static void
write_file(const char *text)
{
	char p[160];
	FILE *f;

	snprintf(p, sizeof p, "%s/sub", dir);
	mkdir(p, 0700);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

static char *
read_file(void)
{
	static char buf[4096];
	FILE *f;
	size_t n;

	assert_non_null(f = fopen(path, "r"));
	n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void
label_is(const char *spec, const char *want)
{
	char got[LL_KH_LABEL_MAX];

	assert_int_equal(ll_kh_label(spec, got, sizeof got), 0);
	assert_string_equal(got, want);
}

static void
test_label(void **state)
{
	char small[8];

	(void)state;
	label_is("tty:/dev/ttyS0,4000000", "tty:/dev/ttyS0");
	label_is("serial:/dev/ttyUSB0", "serial:/dev/ttyUSB0");
	label_is("serial:/dev/odd,name", "serial:/dev/odd,name");
	label_is("telnet://cs:7001?baud=9600", "telnet://cs:7001");
	label_is("ipmi://admin@bmc:623?cipher=17&password-file=/p",
	    "ipmi://admin@bmc:623");
	label_is("exec:ipmitool  -I lanplus\tsol activate",
	    "exec:ipmitool%20-I%20lanplus%20sol%20activate");
	label_is("unix:/run/a%b", "unix:/run/a%25b");
	label_is("ssh://sos@gw.example.net", "ssh://sos@gw.example.net");
	assert_int_equal(ll_kh_label("tty:/dev/ttyS0", small, sizeof small),
	    -1);
	assert_int_equal(ll_kh_label("", small, sizeof small), -1);
}

static void
test_same_console(void **state)
{
	(void)state;
	assert_true(ll_kh_same_console("tty:/dev/X,4000000", "tty:/dev/X"));
	assert_true(ll_kh_same_console("serial:/dev/X,115200", "tty:/dev/X"));
	assert_true(ll_kh_same_console("/dev/X", "serial:/dev/X"));
	assert_true(ll_kh_same_console("ipmi://a@bmc?cipher=3",
	    "ipmi://bmc"));
	assert_true(ll_kh_same_console("ssh://u@h:22", "ssh://u@h"));
	assert_true(ll_kh_same_console("exec:a   b", "exec:a%20%20b"));
	assert_true(ll_kh_same_console("telnet://cs:7001?baud=9600",
	    "telnet://cs:7001"));
	assert_false(ll_kh_same_console("tty:/dev/X", "tty:/dev/Y"));
	assert_false(ll_kh_same_console("ssh://u@h", "ssh://v@h"));
	assert_false(ll_kh_same_console("ssh://u@h:2222", "ssh://u@h"));
	assert_false(ll_kh_same_console("tcp:h:1", "tcp:h:2"));
}

static void
test_fp_equal(void **state)
{
	(void)state;
	assert_true(ll_kh_fp_equal(FP_A, FP_A + 7));
	assert_true(ll_kh_fp_equal(FP_A "=", FP_A));
	assert_false(ll_kh_fp_equal(FP_A, FP_B));
	assert_false(ll_kh_fp_equal("SHA256:", "="));
}

static void
lookup_is(const char *spec, const char *fp, enum ll_kh_match want,
    unsigned line)
{
	struct ll_kh_entry e;
	enum ll_kh_match m;
	char err[256];

	assert_int_equal(ll_kh_lookup(path, spec, fp, &m, &e, err,
	    sizeof err), 0);
	assert_int_equal(m, want);
	if (want != LL_KH_UNKNOWN)
		assert_int_equal(e.line, line);
}

static void
test_lookup(void **state)
{
	(void)state;
	/* A missing file knows nothing. */
	lookup_is("tty:/dev/ttyUSB0", FP_A, LL_KH_UNKNOWN, 0);
	write_file("# comment\n"
	    "tty:/dev/ttyUSB0,4000000 " FP_A "\n"
	    "\n"
	    "broken-line-without-key\n"
	    "serial:/dev/ttyS1 " FP_B " comment\n"
	    "serial:/dev/ttyS1 " FP_C "\n");
	/* an old line with the baud is the same console */
	lookup_is("tty:/dev/ttyUSB0", FP_A, LL_KH_KNOWN, 2);
	lookup_is("serial:/dev/ttyUSB0,115200", FP_A, LL_KH_KNOWN, 2);
	/* the adapter came back as ttyUSB1: found by its key */
	lookup_is("tty:/dev/ttyUSB1", FP_A, LL_KH_MOVED, 2);
	/* another known agent answering on a known console: moved */
	lookup_is("tty:/dev/ttyUSB0", FP_B, LL_KH_MOVED, 5);
	/* an unknown key on a known console: changed, its last line */
	lookup_is("tty:/dev/ttyS1", "SHA256:zzzz", LL_KH_CHANGED, 6);
	lookup_is("tty:/dev/ttyS1", FP_C, LL_KH_KNOWN, 6);
	lookup_is("tty:/dev/ttyS9", "SHA256:zzzz", LL_KH_UNKNOWN, 0);
}

static void
test_add_set(void **state)
{
	struct stat st;
	char err[256];

	(void)state;
	assert_int_equal(ll_kh_add(path, "exec:con  -f web7", FP_A, err,
	    sizeof err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_string_equal(read_file(), "exec:con%20-f%20web7 " FP_A "\n");
	lookup_is("exec:con -f  web7", FP_A, LL_KH_KNOWN, 1);
	assert_int_equal(ll_kh_add(path, "tty:/dev/x,9600", FP_B, err,
	    sizeof err), 0);
	assert_int_equal(ll_kh_add(path, "serial:/dev/x", FP_C, err,
	    sizeof err), 0);
	/* set replaces that console's lines only */
	assert_int_equal(ll_kh_set(path, "tty:/dev/x", FP_A, err,
	    sizeof err), 0);
	assert_string_equal(read_file(), "exec:con%20-f%20web7 " FP_A "\n"
	    "tty:/dev/x " FP_A "\n");
	/* a fingerprint that is not one is refused, nothing written */
	assert_int_equal(ll_kh_add(path, "tty:/dev/y", "SHA256:a b", err,
	    sizeof err), -1);
	assert_non_null(strstr(err, "not a SHA256: fingerprint"));
	assert_int_equal(ll_kh_add(path, "", FP_A, err, sizeof err), -1);
	assert_non_null(strstr(err, "empty or too long"));
}

struct seen {
	unsigned lines[8];
	int n;
};

static void
note(void *ctx, const struct ll_kh_entry *e)
{
	struct seen *s = ctx;

	if (s->n < 8)
		s->lines[s->n++] = e->line;
}

static void
test_remove(void **state)
{
	static const char text[] = "# keep me\n"
	    "tty:/dev/ttyUSB0,115200 " FP_A "\n"
	    "tty:/dev/ttyUSB1 " FP_A "\n"
	    "serial:/dev/ttyUSB0 " FP_B "\n"
	    "unix:/s " FP_C "\n";
	struct seen s = { { 0 }, 0 };
	struct stat before, after;
	char err[256];

	(void)state;
	write_file(text);
	/* by console: every spelling of it */
	assert_int_equal(ll_kh_remove(path, "/dev/ttyUSB0", note, &s, err,
	    sizeof err), 2);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.lines[0], 2);
	assert_int_equal(s.lines[1], 4);
	assert_string_equal(read_file(), "# keep me\n"
	    "tty:/dev/ttyUSB1 " FP_A "\n"
	    "unix:/s " FP_C "\n");
	/* by key */
	assert_int_equal(ll_kh_remove(path, FP_C, NULL, NULL, err,
	    sizeof err), 1);
	assert_string_equal(read_file(), "# keep me\n"
	    "tty:/dev/ttyUSB1 " FP_A "\n");
	/* nothing to remove: the file is not touched */
	assert_int_equal(stat(path, &before), 0);
	assert_int_equal(ll_kh_remove(path, "tty:/dev/none", NULL, NULL, err,
	    sizeof err), 0);
	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	/* foreach sees the entries, not the comment */
	s.n = 0;
	assert_int_equal(ll_kh_foreach(path, note, &s, err, sizeof err), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.lines[0], 2);
}

/* Any exec: command is filed as one word naming the same console. */
static void
test_random_labels(void **state)
{
	char spec[200], label[LL_KH_LABEL_MAX];
	int i, j, n;

	(void)state;
	srandom(SEED);
	for (i = 0; i < 2000; i++) {
		n = 5 + (int)(random() % 150);
		memcpy(spec, "exec:", 5);
		for (j = 5; j < n; j++)
			spec[j] = (char)(1 + random() % 126);
		spec[n] = '\0';
		assert_int_equal(ll_kh_label(spec, label, sizeof label), 0);
		assert_int_equal(strcspn(label, " \t\r\n\x7f"), strlen(label));
		assert_true(ll_kh_same_console(spec, label));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_label),
		cmocka_unit_test(test_same_console),
		cmocka_unit_test(test_fp_equal),
		cmocka_unit_test_setup_teardown(test_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
		cmocka_unit_test(test_random_labels),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
