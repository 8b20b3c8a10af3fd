/*
 * Unit tests for the authorized_keys line tokenizer (proto/ssh-keyline.c),
 * the one the agent's authorized_keys check, authorize-key and the
 * client's key files share: fields and their spans, sshd's quoting rule
 * for the options field (a blank inside double quotes belongs to it, \"
 * is a quote, nothing else is an escape), blank and comment lines, lines
 * without a key, and ll_ssh_key_split on top of it.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ssh-keyline.h"

#define KEY	"AAAAC3NzaC1lZDI1NTE5AAAAIGJ0rbV3Jm5QvUk1xkB6zLpM2o2L7v0M8jR5o0n6pJ0p"

/* field as a string, for comparisons */
static char *
field(const char *p, size_t n)
{
	static char buf[4][512];
	static int i;
	char *b = buf[i++ % 4];

	assert_true(n < sizeof(buf[0]));
	memcpy(b, p != NULL ? p : "", n);
	b[n] = '\0';
	return b;
}

static void
test_plain(void **state)
{
	struct ll_key_line kl;

	(void)state;
	assert_int_equal(ll_key_line_split("ssh-ed25519 " KEY " me@host", &kl),
	    LL_KEY_LINE_OK);
	assert_null(kl.opts);
	assert_string_equal(field(kl.type, kl.type_len), "ssh-ed25519");
	assert_string_equal(field(kl.b64, kl.b64_len), KEY);
	assert_string_equal(field(kl.comment, kl.comment_len), "me@host");
}

static void
test_blanks(void **state)
{
	struct ll_key_line kl;

	(void)state;
	/* tabs and runs of blanks separate; the comment keeps its inner
	 * blanks and loses the trailing ones */
	assert_int_equal(ll_key_line_split("\t ssh-ed25519\t\t" KEY
	    "   two  words \t ", &kl), LL_KEY_LINE_OK);
	assert_string_equal(field(kl.type, kl.type_len), "ssh-ed25519");
	assert_string_equal(field(kl.b64, kl.b64_len), KEY);
	assert_string_equal(field(kl.comment, kl.comment_len), "two  words");
	assert_int_equal(ll_key_line_split("ssh-ed25519 " KEY, &kl),
	    LL_KEY_LINE_OK);
	assert_int_equal(kl.comment_len, 0);
}

static void
test_options(void **state)
{
	struct ll_key_line kl;

	(void)state;
	assert_int_equal(ll_key_line_split("from=\"10.0.0.1, ::1\",no-pty "
	    "ssh-ed25519 " KEY " c", &kl), LL_KEY_LINE_OK);
	assert_string_equal(field(kl.opts, kl.opts_len),
	    "from=\"10.0.0.1, ::1\",no-pty");
	assert_string_equal(field(kl.type, kl.type_len), "ssh-ed25519");
	assert_string_equal(field(kl.comment, kl.comment_len), "c");
	/* \" inside quotes is a quote, the blank after it still inside */
	assert_int_equal(ll_key_line_split("command=\"echo \\\" x\" "
	    "ssh-rsa " KEY, &kl), LL_KEY_LINE_OK);
	assert_string_equal(field(kl.opts, kl.opts_len),
	    "command=\"echo \\\" x\"");
	assert_string_equal(field(kl.type, kl.type_len), "ssh-rsa");
}

/*
 * sshd's rule: only \" is an escape.  "A=\\" leaves the quote open (the
 * second backslash escapes the quote), so the options run to the end of
 * the line: an unterminated quote, as sshd reads it.
 */
static void
test_backslash_is_no_escape(void **state)
{
	struct ll_key_line kl;
	char type[64], *b64;

	(void)state;
	assert_int_equal(ll_key_line_split("environment=\"A=\\\\\" "
	    "ssh-ed25519 " KEY, &kl), LL_KEY_LINE_QUOTE);
	assert_int_equal(ll_ssh_key_split("environment=\"A=\\\\\" "
	    "ssh-ed25519 " KEY, type, sizeof(type), &b64),
	    SSH_KEYTYPE_UNKNOWN);
	assert_null(b64);
}

static void
test_skip_and_errors(void **state)
{
	struct ll_key_line kl;

	(void)state;
	assert_int_equal(ll_key_line_split("", &kl), LL_KEY_LINE_SKIP);
	assert_int_equal(ll_key_line_split(" \t ", &kl), LL_KEY_LINE_SKIP);
	assert_int_equal(ll_key_line_split("  # ssh-ed25519 " KEY, &kl),
	    LL_KEY_LINE_SKIP);
	assert_int_equal(ll_key_line_split("no-pty,from=\"open ssh-ed25519 "
	    KEY, &kl), LL_KEY_LINE_QUOTE);
	assert_int_equal(ll_key_line_split("ssh-ed25519", &kl),
	    LL_KEY_LINE_NOKEY);
	assert_string_equal(field(kl.type, kl.type_len), "ssh-ed25519");
	assert_int_equal(ll_key_line_split("no-pty", &kl), LL_KEY_LINE_NOKEY);
	assert_int_equal(kl.type_len, 0);
}

/* An OpenSSH type libssh may lack is still the type, not options. */
static void
test_openssh_types(void **state)
{
	struct ll_key_line kl;

	(void)state;
	assert_true(ll_key_type_is_openssh("ssh-dss", 7));
	assert_true(ll_key_type_is_known("ssh-dss", 7));
	assert_false(ll_key_type_is_known("no-pty", 6));
	assert_false(ll_key_type_is_openssh("ssh-ed2551", 10));
	assert_int_equal(ll_key_line_split("ssh-dss AAAA x", &kl),
	    LL_KEY_LINE_OK);
	assert_null(kl.opts);
	assert_string_equal(field(kl.type, kl.type_len), "ssh-dss");
}

static void
test_key_split(void **state)
{
	char type[64], *b64;

	(void)state;
	assert_int_equal(ll_ssh_key_split("restrict ssh-ed25519 " KEY " c",
	    type, sizeof(type), &b64), SSH_KEYTYPE_ED25519);
	assert_string_equal(type, "ssh-ed25519");
	assert_string_equal(b64, KEY);
	free(b64);
	/* a type without base64 is named, *b64 stays NULL */
	assert_int_equal(ll_ssh_key_split("ssh-ed25519", type, sizeof(type),
	    &b64), SSH_KEYTYPE_ED25519);
	assert_null(b64);
	assert_int_equal(ll_ssh_key_split("foo bar baz", type, sizeof(type),
	    &b64), SSH_KEYTYPE_UNKNOWN);
	assert_null(b64);
	/* a type name longer than the caller's buffer is no type */
	assert_int_equal(ll_ssh_key_split("ssh-ed25519 " KEY, type, 5, &b64),
	    SSH_KEYTYPE_UNKNOWN);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_blanks),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_backslash_is_no_escape),
		cmocka_unit_test(test_skip_and_errors),
		cmocka_unit_test(test_openssh_types),
		cmocka_unit_test(test_key_split),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
