/*
 * Unit tests for authorized_keys matching (agent/authkeys.c).  Keys are
 * generated afresh with libssh into a temporary directory; each case writes
 * an authorized_keys file and checks the verdict, the line, the comment and
 * the reason.  The fingerprint is checked against one computed here with
 * OpenSSL from the base64 text, independently of libssh.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "authkeys.h"

static char dir[] = "/tmp/test-authkeys.XXXXXX";
static char path[sizeof(dir) + 32];

/* The offered keys and their base64 text for authorized_keys lines. */
static ssh_key ed_a, ed_b, ecdsa, rsa;
static char *b64_a, *b64_b, *b64_ecdsa, *b64_rsa;

static void
write_keys(const char *text, mode_t mode)
{
	FILE *fp;

	unlink(path);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void
write_bytes(const char *p, size_t n)
{
	FILE *fp;

	unlink(path);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite(p, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, 0600), 0);
}

/* Write text (printf-style) as the file and check key from peer. */
static int __attribute__((format(printf, 4, 5)))
check(ssh_key key, const char *peer, struct authkeys_result *res,
    const char *fmt, ...)
{
	char *text;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	assert_true(vasprintf(&text, fmt, ap) >= 0);
	va_end(ap);
	write_keys(text, 0600);
	free(text);
	rc = authkeys_check(path, key, peer, res);
	print_message("# line %d %s: %s\n", res->line,
	    res->allowed ? "allowed" : "refused", res->reason);
	return rc;
}

static void
assert_allowed(const struct authkeys_result *res, int line)
{
	assert_true(res->allowed);
	assert_int_equal(res->line, line);
	assert_string_equal(res->reason, "");
}

static void
assert_refused(const struct authkeys_result *res, int line,
    const char *says)
{
	assert_false(res->allowed);
	assert_int_equal(res->line, line);
	if (strstr(res->reason, says) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", res->reason, says);
}

/* SHA256:base64(sha256(blob)) without padding, via OpenSSL. */
static void
expected_fingerprint(const char *b64, char *out, size_t len)
{
	unsigned char blob[4096], md[32], enc[64];
	unsigned int mdlen;
	size_t n = strlen(b64);
	int bloblen;

	bloblen = EVP_DecodeBlock(blob, (const unsigned char *)b64, (int)n);
	assert_true(bloblen > 0);
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	bloblen -= (n > 0 && b64[n - 1] == '=') + (n > 1 && b64[n - 2] == '=');
	assert_int_equal(EVP_Digest(blob, bloblen, md, &mdlen, EVP_sha256(),
	    NULL), 1);
	EVP_EncodeBlock(enc, md, (int)mdlen);
	enc[strcspn((char *)enc, "=")] = '\0';
	snprintf(out, len, "SHA256:%s", enc);
}

static void
test_plain(void **state)
{
	struct authkeys_result res;
	char want[96];

	assert_int_equal(check(ed_a, "192.0.2.1", &res,
	    "ssh-ed25519 %s alice@laptop\n", b64_a), 0);
	assert_allowed(&res, 1);
	assert_string_equal(res.comment, "alice@laptop");
	expected_fingerprint(b64_a, want, sizeof(want));
	assert_string_equal(res.fingerprint, want);

	/* Another key is not let in by it, and still gets its fingerprint. */
	assert_int_equal(check(ed_b, "192.0.2.1", &res,
	    "ssh-ed25519 %s alice@laptop\n", b64_a), 0);
	assert_refused(&res, 0, "the key is not in");
	expected_fingerprint(b64_b, want, sizeof(want));
	assert_string_equal(res.fingerprint, want);

	/* No comment at all, and no final newline. */
	assert_int_equal(check(ed_a, NULL, &res, "ssh-ed25519 %s", b64_a), 0);
	assert_allowed(&res, 1);
	assert_string_equal(res.comment, "");
}

static void
test_key_types(void **state)
{
	struct authkeys_result res;
	char want[96];

	assert_int_equal(check(rsa, "192.0.2.1", &res,
	    "ssh-ed25519 %s a\n"
	    "ecdsa-sha2-nistp256 %s my ecdsa key  \n"
	    "ssh-rsa %s rsa key\n", b64_a, b64_ecdsa, b64_rsa), 0);
	assert_allowed(&res, 3);
	assert_string_equal(res.comment, "rsa key");
	expected_fingerprint(b64_rsa, want, sizeof(want));
	assert_string_equal(res.fingerprint, want);

	assert_int_equal(check(ecdsa, "192.0.2.1", &res,
	    "ssh-ed25519 %s a\n"
	    "ecdsa-sha2-nistp256 %s my ecdsa key  \n"
	    "ssh-rsa %s rsa key\n", b64_a, b64_ecdsa, b64_rsa), 0);
	assert_allowed(&res, 2);
	/* Inner spaces are kept, trailing ones are not. */
	assert_string_equal(res.comment, "my ecdsa key");
}

static void
test_comments_crlf(void **state)
{
	struct authkeys_result res;

	assert_int_equal(check(ed_a, "192.0.2.1", &res,
	    "# a comment ssh-ed25519 %s\r\n"
	    "\r\n"
	    "   \t \n"
	    "    # indented comment\n"
	    "\tssh-ed25519 %s windows\r\n", b64_a, b64_a), 0);
	assert_allowed(&res, 5);
	assert_string_equal(res.comment, "windows");

	/* Only comments: nothing matches, nothing is called malformed. */
	assert_int_equal(check(ed_a, "192.0.2.1", &res,
	    "# ssh-ed25519 %s\n\n", b64_a), 0);
	assert_refused(&res, 0, "the key is not in");
	assert_null(strstr(res.reason, "skipped"));

	/* An empty file. */
	assert_int_equal(check(ed_a, "192.0.2.1", &res, "%s", ""), 0);
	assert_refused(&res, 0, "the key is not in");
}

static void
test_accepted_options(void **state)
{
	static const char *const opts[] = {
		"restrict", "no-pty", "no-port-forwarding",
		"no-agent-forwarding", "no-X11-forwarding", "no-user-rc",
		"no-touch-required", "NO-PTY", "Restrict",
		"restrict,pty,port-forwarding,agent-forwarding,"
		    "x11-forwarding,user-rc",
		"restrict,no-pty,no-user-rc",
	};
	struct authkeys_result res;
	size_t i;

	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		assert_int_equal(check(ed_a, "192.0.2.1", &res,
		    "%s ssh-ed25519 %s c%zu\n", opts[i], b64_a, i), 0);
		assert_allowed(&res, 1);
	}
}

static void
test_refused_options(void **state)
{
	static const struct {
		const char *opt, *says;
	} cases[] = {
		{ "command=\"/bin/true\"", "option command:" },
		{ "no-pty,COMMAND=\"x\"", "option COMMAND:" },
		{ "environment=\"A=b c\"", "option environment:" },
		{ "permitopen=\"host\"", "is not HOST:PORT" },
		{ "permitopen=\"host:0\"", "is not HOST:PORT" },
		{ "permitopen=\"host:65536\"", "is not HOST:PORT" },
		{ "permitopen=\":22\"", "is not HOST:PORT" },
		{ "permitopen=\"::1:22\"", "is not HOST:PORT" },
		{ "permitopen=\"[::1]22\"", "is not HOST:PORT" },
		{ "permitopen", "permitopen needs a value" },
		{ "permitlisten=\"8080\"", "option permitlisten:" },
		{ "principals=\"alice,bob\"", "option principals:" },
		{ "tunnel=\"1\"", "option tunnel:" },
		{ "cert-authority", "option cert-authority:" },
		{ "verify-required", "option verify-required:" },
		{ "frobnicate", "unknown option frobnicate" },
		{ "restrict,frob=\"1\"", "unknown option frob" },
		/* Syntax of a matching line's options. */
		{ "no-pty=\"yes\"", "no-pty takes no value" },
		{ "from", "from needs a value" },
		{ "from=127.0.0.1", "must be quoted" },
		{ "restrict,", "bad option list" },
		{ ",restrict", "empty option" },
		{ "restrict,,no-pty", "empty option" },
		{ "an-option-name-far-too-long-to-be-real", "unknown option "
		    "an-option-name-far-too-long" },
		{ "command=\"a\"x", "bad option list after command" },
	};
	struct authkeys_result res;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(check(ed_a, "127.0.0.1", &res,
		    "# first\n%s ssh-ed25519 %s refused-key\n", cases[i].opt,
		    b64_a), 0);
		assert_refused(&res, 2, cases[i].says);
		/* The reason names the file and line too. */
		assert_non_null(strstr(res.reason, " line 2: "));
		assert_string_equal(res.comment, "refused-key");
	}
}

/* permitopen= destinations come back, and only those may be reached. */
static void
test_permitopen(void **state)
{
	struct authkeys_result res;

	assert_int_equal(check(ed_a, "127.0.0.1", &res,
	    "permitopen=\"127.0.0.1:8080\",PermitOpen=\"[::1]:*\","
	    "permitopen=\"Db.Example:5432\" ssh-ed25519 %s k\n", b64_a), 0);
	assert_allowed(&res, 1);
	assert_int_equal(res.npermitopen, 3);
	assert_true(authkeys_permits_open(&res, "127.0.0.1", 8080));
	assert_false(authkeys_permits_open(&res, "127.0.0.1", 8081));
	assert_false(authkeys_permits_open(&res, "localhost", 8080));
	assert_true(authkeys_permits_open(&res, "::1", 1));
	assert_true(authkeys_permits_open(&res, "::1", 65535));
	assert_true(authkeys_permits_open(&res, "db.example", 5432));
	assert_false(authkeys_permits_open(&res, "db.example", 22));

	/* No permitopen=: anywhere (no-port-forwarding is res.deny's). */
	assert_int_equal(check(ed_a, "127.0.0.1", &res,
	    "no-port-forwarding ssh-ed25519 %s k\n", b64_a), 0);
	assert_allowed(&res, 1);
	assert_int_equal(res.npermitopen, 0);
	assert_true(res.deny & AUTHKEYS_DENY_FORWARD);
	assert_true(authkeys_permits_open(&res, "192.0.2.1", 22));

	/* A later allowing line's list, not the refused line's. */
	assert_int_equal(check(ed_a, "127.0.0.1", &res,
	    "permitopen=\"a:1\",frob ssh-ed25519 %s k\n"
	    "permitopen=\"b:2\" ssh-ed25519 %s k\n", b64_a, b64_a), 0);
	assert_allowed(&res, 2);
	assert_int_equal(res.npermitopen, 1);
	assert_string_equal(res.permitopen[0].host, "b");
	(void)state;
}

static void
test_quoted_values(void **state)
{
	struct authkeys_result res;

	/* Spaces, commas and \" inside a value do not end it. */
	assert_int_equal(check(ed_a, "127.0.0.1", &res,
	    "no-pty,command=\"echo \\\"a, b\\\" c\",restrict ssh-ed25519 %s k\n",
	    b64_a), 0);
	assert_refused(&res, 1, "option command:");
	assert_string_equal(res.comment, "k");

	/* from= with a quoted list keeps its commas inside the value. */
	assert_int_equal(check(ed_a, "127.0.0.1", &res,
	    "from=\"10.0.0.1,127.0.0.1\",no-pty ssh-ed25519 %s k\n", b64_a),
	    0);
	assert_allowed(&res, 1);

	/* An unterminated quote makes the line malformed. */
	assert_int_equal(check(ed_a, "127.0.0.1", &res,
	    "command=\"oops ssh-ed25519 %s k\n", b64_a), 0);
	assert_refused(&res, 0, "line 1 skipped: unterminated quote");
}

/* A refused line does not end the scan; the first refusal is reported. */
static void
test_later_line(void **state)
{
	struct authkeys_result res;

	assert_int_equal(check(ed_a, "127.0.0.1", &res,
	    "command=\"backup\" ssh-ed25519 %s one\n"
	    "ssh-ed25519 %s other\n"
	    "no-pty ssh-ed25519 %s two\n", b64_a, b64_b, b64_a), 0);
	assert_allowed(&res, 3);
	assert_string_equal(res.comment, "two");

	assert_int_equal(check(ed_a, "127.0.0.1", &res,
	    "command=\"backup\" ssh-ed25519 %s one\n"
	    "from=\"10.0.0.0/8\" ssh-ed25519 %s two\n", b64_a, b64_a), 0);
	assert_refused(&res, 1, "option command:");
	assert_string_equal(res.comment, "one");
}

/* A from= pattern against a peer address: allowed, or refused saying so. */
struct from_case {
	const char *from, *peer;
	bool ok;
	const char *says;
};

static void
from_cases(const struct from_case *cases, size_t n)
{
	struct authkeys_result res;
	size_t i;

	for (i = 0; i < n; i++) {
		print_message("# from=\"%s\" peer %s\n", cases[i].from,
		    cases[i].peer);
		assert_int_equal(check(ed_a, cases[i].peer, &res,
		    "from=\"%s\" ssh-ed25519 %s k\n", cases[i].from, b64_a),
		    0);
		if (cases[i].ok)
			assert_allowed(&res, 1);
		else
			assert_refused(&res, 1, cases[i].says);
	}
}

static void
test_from_ipv4(void **state)
{
	static const struct from_case cases[] = {
		{ "192.0.2.1", "192.0.2.1", true, NULL },
		{ "192.0.2.1", "192.0.2.2", false, "192.0.2.2 is not in from=" },
		{ "192.0.2.*", "192.0.2.77", true, NULL },
		{ "192.0.?.1", "192.0.2.1", true, NULL },
		{ "192.0.?.1", "192.0.22.1", false, "not in from=" },
		{ "*", "203.0.113.5", true, NULL },
		{ "192.0.2.0/24", "192.0.2.200", true, NULL },
		{ "192.0.2.0/24", "192.0.3.1", false, "not in from=" },
		{ "10.0.0.0/8,192.0.2.0/24", "192.0.2.9", true, NULL },
		{ "0.0.0.0/0", "198.51.100.1", true, NULL },
		{ "192.0.2.1/32", "192.0.2.1", true, NULL },
		{ "!192.0.2.5,192.0.2.0/24", "192.0.2.5", false,
		    "from= excludes 192.0.2.5" },
		{ "!192.0.2.5,192.0.2.0/24", "192.0.2.6", true, NULL },
		/* A negation refuses even when it comes after a match. */
		{ "192.0.2.0/24,!192.0.2.5", "192.0.2.5", false, "excludes" },
		{ "192.0.2.0/24,!192.0.2.0/28", "192.0.2.3", false,
		    "excludes" },
		{ "!10.0.0.0/8", "192.0.2.1", false, "not in from=" },
		/* Bad entries refuse the line, wherever they are. */
		{ "192.0.2.1/24", "192.0.2.1", false, "bad pattern" },
		{ "192.0.2.0/33", "192.0.2.1", false, "bad pattern" },
		{ "192.0.2.0/", "192.0.2.1", false, "bad pattern" },
		{ "192.0.2.0/x", "192.0.2.1", false, "bad pattern" },
		{ "192.0.2.1,bogus/8", "192.0.2.1", false, "bad pattern" },
		{ "192.0.2.1,!", "192.0.2.1", false, "bad pattern" },
		{ "192.0.2.1,,10.0.0.1", "192.0.2.1", false, "bad pattern" },
		{ "", "192.0.2.1", false, "bad pattern" },
		/* A v4-mapped IPv6 peer is its IPv4 address. */
		{ "192.0.2.0/24", "::ffff:192.0.2.7", true, NULL },
		{ "192.0.2.7", "::ffff:192.0.2.7", true, NULL },
	};

	from_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_from_ipv6(void **state)
{
	static const struct from_case cases[] = {
		{ "::1", "::1", true, NULL },
		{ "0:0::1", "::1", true, NULL },
		{ "::1", "0000::0001", true, NULL },
		{ "::2", "::1", false, "::1 is not in from=" },
		{ "2001:db8::/32", "2001:db8:1::5", true, NULL },
		{ "2001:db8::/32", "2001:db9::1", false, "not in from=" },
		{ "2001:DB8::/32", "2001:db8::1", true, NULL },
		{ "2001:db8:0:1::/64", "2001:db8:0:1:ffff::1", true, NULL },
		{ "2001:db8:0:1::/64", "2001:db8:0:2::1", false, "not in" },
		{ "!2001:db8::1,2001:db8::/32", "2001:db8::1", false,
		    "from= excludes 2001:db8::1" },
		{ "!2001:db8::1,2001:db8::/32", "2001:db8::2", true, NULL },
		{ "2001:db8::*", "2001:db8::42", true, NULL },
		{ "2001:db8::1/64", "2001:db8::1", false, "bad pattern" },
		{ "2001:db8::/129", "2001:db8::1", false, "bad pattern" },
		{ "::/0", "fe80::1", true, NULL },
		/* An IPv4 block does not match an IPv6 peer, nor back. */
		{ "0.0.0.0/0", "2001:db8::1", false, "not in from=" },
		{ "::/0", "192.0.2.1", false, "not in from=" },
	};

	from_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_from_console(void **state)
{
	struct authkeys_result res;

	assert_int_equal(check(ed_a, NULL, &res,
	    "from=\"*\" ssh-ed25519 %s k\n", b64_a), 0);
	assert_refused(&res, 1, "from= cannot be checked without a peer "
	    "address (a console or a unix socket)");
	/* Without from= a console login is fine. */
	assert_int_equal(check(ed_a, NULL, &res,
	    "from=\"*\" ssh-ed25519 %s k\nrestrict ssh-ed25519 %s k2\n",
	    b64_a, b64_a), 0);
	assert_allowed(&res, 2);
}

static void
test_expiry(void **state)
{
	static const struct {
		const char *when;
		bool ok;
		const char *says;
	} cases[] = {
		{ "20000101", false, "the key expired" },
		{ "200001011200", false, "the key expired" },
		{ "20000101120030Z", false, "the key expired" },
		{ "29991231", true, NULL },
		{ "299912312359", true, NULL },
		{ "29991231235959", true, NULL },
		{ "29991231Z", true, NULL },
		{ "2999", false, "not YYYYMMDD" },
		{ "2999123", false, "not YYYYMMDD" },
		{ "29991331", false, "not YYYYMMDD" },
		{ "29991200", false, "not YYYYMMDD" },
		{ "299912312460", false, "not YYYYMMDD" },
		{ "29991231X", false, "not YYYYMMDD" },
		{ "", false, "not YYYYMMDD" },
	};
	struct authkeys_result res;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(check(ed_a, "192.0.2.1", &res,
		    "restrict,expiry-time=\"%s\" ssh-ed25519 %s k\n",
		    cases[i].when, b64_a), 0);
		if (cases[i].ok)
			assert_allowed(&res, 1);
		else
			assert_refused(&res, 1, cases[i].says);
	}
}

static void
test_malformed(void **state)
{
	static const struct {
		const char *line, *says;
	} cases[] = {
		{ "ssh-ed25519\n", "no key on the line" },
		{ "ssh-ed25519   \n", "no key on the line" },
		{ "restrict\n", "no key on the line" },
		{ "ssh-ed25519 !!!notbase64!!! c\n", "cannot be decoded" },
		{ "ssh-ed25519 AAAA c\n", "cannot be decoded" },
		{ "ssh-foo AAAAC3NzaC1lZDI1NTE5 c\n", "unknown key type" },
		{ "restrict ssh-foo AAAA c\n", "unknown key type" },
	};
	struct authkeys_result res;
	char *bad;
	size_t i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* A malformed line is skipped; a good one after it works. */
		assert_int_equal(check(ed_a, "192.0.2.1", &res,
		    "%sssh-ed25519 %s k\n", cases[i].line, b64_a), 0);
		assert_allowed(&res, 2);
		assert_int_equal(check(ed_a, "192.0.2.1", &res, "%s",
		    cases[i].line), 0);
		assert_refused(&res, 0, "line 1 skipped: ");
		assert_non_null(strstr(res.reason, cases[i].says));
	}

	/* The ed25519 blob declared as RSA is not the RSA key it claims. */
	assert_int_equal(check(ed_a, "192.0.2.1", &res,
	    "ssh-rsa %s k\n", b64_a), 0);
	assert_refused(&res, 0, "line 1 skipped: the ssh-rsa key cannot");

	/* Only the first malformed line is named. */
	assert_int_equal(check(ed_b, "192.0.2.1", &res,
	    "ssh-ed25519 %s a\nssh-ed25519\nbogus\n", b64_a), 0);
	assert_refused(&res, 0, "line 2 skipped");

	/* A control character in a bad type name is not copied as is. */
	assert_int_equal(check(ed_a, "192.0.2.1", &res,
	    "restrict ssh-\033[2J AAAA\n"), 0);
	assert_refused(&res, 0, "unknown key type \"ssh-?[2J\"");

	/* A NUL byte inside a line: that line is skipped, the next read. */
	n = strlen(b64_a) + 16;
	assert_non_null(bad = malloc(2 * n + 1));
	snprintf(bad, 2 * n + 1, "ssh-ed25519 %s k\nssh-ed25519 %s k\n",
	    b64_a, b64_a);
	bad[20] = '\0';
	write_bytes(bad, strlen(bad + 21) + 21);
	free(bad);
	assert_int_equal(authkeys_check(path, ed_a, NULL, &res), 0);
	assert_allowed(&res, 2);
	bad = NULL;
}

static void
test_long_lines(void **state)
{
	struct authkeys_result res;
	char *opts;
	size_t n, i;

	/* A line of 9000 bytes is skipped whole; the next one is read. */
	assert_non_null(opts = malloc(9001));
	memset(opts, 'x', 9000);
	opts[9000] = '\0';
	assert_int_equal(check(ed_a, "192.0.2.1", &res,
	    "%s\nssh-ed25519 %s k\n", opts, b64_a), 0);
	assert_allowed(&res, 2);
	assert_int_equal(check(ed_a, "192.0.2.1", &res, "%s\n", opts), 0);
	assert_refused(&res, 0, "line 1 skipped: longer than 8192 bytes");

	/*
	 * A matching line of exactly 8192 bytes (CR not counted) is read, one
	 * of 8193 is not: long options, then a comment filling up the rest.
	 */
	for (n = 0; n < 4000; n += 9)
		memcpy(opts + n, "restrict,", 9);
	memcpy(opts + n, "no-pty", 6);
	n += 6;
	/* opts, " ssh-ed25519 ", key, " ", comment */
	i = 8192 - (n + 13 + strlen(b64_a) + 1);
	memset(opts + n, 'c', i + 1);
	opts[n + i + 1] = '\0';
	opts[n] = '\0';
	assert_int_equal(check(ed_a, "192.0.2.1", &res,
	    "%s ssh-ed25519 %s %s\r\n", opts, b64_a, opts + n + 1), 0);
	assert_allowed(&res, 1);
	assert_int_equal(check(ed_a, "192.0.2.1", &res,
	    "%s ssh-ed25519 %s c%s\r\n", opts, b64_a, opts + n + 1), 0);
	assert_refused(&res, 0, "line 1 skipped: longer than 8192");
	assert_int_equal(check(ed_a, "192.0.2.1", &res,
	    "%s ssh-ed25519 %s %s\n", opts, b64_a, opts + n + 1), 0);
	assert_allowed(&res, 1);

	/* A comment longer than the result's buffer is cut, not overrun. */
	memset(opts, 'c', 500);
	opts[500] = '\0';
	assert_int_equal(check(ed_a, "192.0.2.1", &res,
	    "ssh-ed25519 %s %s\n", b64_a, opts), 0);
	assert_allowed(&res, 1);
	assert_int_equal(strlen(res.comment), sizeof(res.comment) - 1);
	free(opts);
}

static void
test_file_problems(void **state)
{
	struct authkeys_result res;
	char other[sizeof(dir) + 32];
	int rc;

	snprintf(other, sizeof(other), "%s/missing", dir);
	rc = authkeys_check(other, ed_a, "192.0.2.1", &res);
	assert_int_equal(rc, -ENOENT);
	assert_false(res.allowed);
	assert_non_null(strstr(res.reason, "cannot open"));
	assert_non_null(strstr(res.reason, "No such file"));
	assert_true(strncmp(res.fingerprint, "SHA256:", 7) == 0);

	assert_int_equal(authkeys_check(dir, ed_a, NULL, &res), -EISDIR);
	assert_non_null(strstr(res.reason, "not a regular file"));

	/* A FIFO: refused at once, not waited on. */
	snprintf(other, sizeof(other), "%s/fifo", dir);
	assert_int_equal(mkfifo(other, 0600), 0);
	assert_int_equal(authkeys_check(other, ed_a, NULL, &res), -EINVAL);
	assert_non_null(strstr(res.reason, "not a regular file"));
	unlink(other);

	/* Writable by others than root: refused as sshd would. */
	assert_int_equal(check(ed_a, NULL, &res, "ssh-ed25519 %s k\n", b64_a),
	    0);
	assert_int_equal(chmod(path, 0620), 0);
	assert_int_equal(authkeys_check(path, ed_a, NULL, &res), -EPERM);
	assert_false(res.allowed);
	assert_non_null(strstr(res.reason, "writable by others"));
	assert_int_equal(chmod(path, 0602), 0);
	assert_int_equal(authkeys_check(path, ed_a, NULL, &res), -EPERM);

	/* A symlink to a good file is fine. */
	assert_int_equal(chmod(path, 0644), 0);
	snprintf(other, sizeof(other), "%s/link", dir);
	assert_int_equal(symlink(path, other), 0);
	assert_int_equal(authkeys_check(other, ed_a, NULL, &res), 0);
	assert_allowed(&res, 1);
	unlink(other);

	/* No key offered. */
	assert_int_equal(authkeys_check(path, NULL, NULL, &res), 0);
	assert_false(res.allowed);
}

/* Copy path's bytes to a new file to (0600). */
static int
link_or_copy(const char *from, const char *to)
{
	char buf[4096];
	FILE *in, *out;
	size_t n;
	int rc = 0;

	if ((in = fopen(from, "r")) == NULL)
		return -1;
	if ((out = fopen(to, "w")) == NULL) {
		fclose(in);
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			rc = -1;
	fclose(in);
	if (fclose(out) != 0 || chmod(to, 0600) != 0)
		rc = -1;
	return rc;
}

/*
 * StrictModes for the directories up to /, symlinks included: a file, or a
 * symlink to a good file, in a 0777 directory is refused, and so is a link
 * into such a directory; a sticky one (like /tmp) and a symlinked safe
 * directory are fine.
 */
static void
test_dir_modes(void **state)
{
	struct authkeys_result res;
	char open[sizeof(dir) + 32], file[sizeof(dir) + 64];
	char link[sizeof(dir) + 64], sdir[sizeof(dir) + 32];
	int rc;

	assert_int_equal(check(ed_a, NULL, &res, "ssh-ed25519 %s k\n",
	    b64_a), 0);
	assert_allowed(&res, 1);
	snprintf(open, sizeof(open), "%s/open", dir);
	assert_int_equal(mkdir(open, 0700), 0);
	assert_int_equal(chmod(open, 0777), 0);

	/* The case: a symlink to a good file, in a 0777 directory. */
	snprintf(link, sizeof(link), "%s/authorized_keys", open);
	assert_int_equal(symlink(path, link), 0);
	rc = authkeys_check(link, ed_a, NULL, &res);
	print_message("# %s\n", res.reason);
	assert_int_equal(rc, -EPERM);
	assert_false(res.allowed);
	assert_non_null(strstr(res.reason, "writable by group or others"));
	assert_non_null(strstr(res.reason, open));
	unlink(link);

	/* A regular file there. */
	snprintf(file, sizeof(file), "%s/keys", open);
	assert_int_equal(link_or_copy(path, file), 0);
	assert_int_equal(authkeys_check(file, ed_a, NULL, &res), -EPERM);

	/* A symlink in a safe directory that leads into the open one. */
	snprintf(link, sizeof(link), "%s/via", dir);
	assert_int_equal(symlink(file, link), 0);
	assert_int_equal(authkeys_check(link, ed_a, NULL, &res), -EPERM);
	unlink(link);
	/* ... or through it, with ".." */
	snprintf(link, sizeof(link), "%s/open/../authorized_keys", dir);
	assert_int_equal(authkeys_check(link, ed_a, NULL, &res), -EPERM);

	/* Group-writable is refused too; sticky and world-writable is not. */
	assert_int_equal(chmod(open, 0770), 0);
	assert_int_equal(authkeys_check(file, ed_a, NULL, &res), -EPERM);
	assert_int_equal(chmod(open, 01777), 0);
	assert_int_equal(authkeys_check(file, ed_a, NULL, &res), 0);
	assert_allowed(&res, 1);

	/* A symlinked safe directory. */
	assert_int_equal(chmod(open, 0755), 0);
	snprintf(sdir, sizeof(sdir), "%s/dirlink", dir);
	assert_int_equal(symlink("open", sdir), 0);
	snprintf(link, sizeof(link), "%s/keys", sdir);
	assert_int_equal(authkeys_check(link, ed_a, NULL, &res), 0);
	assert_allowed(&res, 1);

	/* A directory owned by someone else (needs root to set up). */
	if (geteuid() == 0) {
		assert_int_equal(chown(open, 1000, 1000), 0);
		assert_int_equal(authkeys_check(file, ed_a, NULL, &res),
		    -EPERM);
		assert_non_null(strstr(res.reason, "owned by uid 1000"));
		assert_int_equal(chown(open, 0, 0), 0);
	}
	unlink(sdir);
	unlink(file);
	rmdir(open);
}

/* Append a big-endian length-prefixed string to p; returns the end. */
static unsigned char *
put_string(unsigned char *p, const void *s, size_t n)
{
	*p++ = (unsigned char)(n >> 24);
	*p++ = (unsigned char)(n >> 16);
	*p++ = (unsigned char)(n >> 8);
	*p++ = (unsigned char)n;
	memcpy(p, s, n);
	return p + n;
}

/*
 * A security-key line.  It cannot be generated without a token, so the
 * blob is built by hand (type, 32-byte public key, application).  libssh
 * may or may not decode it: either way the line must not let an ordinary
 * key in, and when libssh does decode it, the same key must match it.
 */
static void
test_security_key(void **state)
{
	static const char type[] = "sk-ssh-ed25519@openssh.com";
	unsigned char blob[128], pub[32], *p, b64[200];
	struct authkeys_result res;
	ssh_key sk = NULL;
	size_t i;

	for (i = 0; i < sizeof(pub); i++)
		pub[i] = (unsigned char)(i * 7 + 1);
	p = put_string(blob, type, strlen(type));
	p = put_string(p, pub, sizeof(pub));
	p = put_string(p, "ssh:", 4);
	EVP_EncodeBlock(b64, blob, (int)(p - blob));

	assert_int_equal(check(ed_a, "192.0.2.1", &res,
	    "no-touch-required %s %s token\nssh-ed25519 %s k\n", type,
	    (char *)b64, b64_a), 0);
	assert_allowed(&res, 2);

	if (ssh_pki_import_pubkey_base64((char *)b64,
	    SSH_KEYTYPE_SK_ED25519, &sk) == SSH_OK) {
		print_message("# libssh decodes sk-ssh-ed25519 keys\n");
		assert_int_equal(check(sk, "192.0.2.1", &res,
		    "no-touch-required %s %s token\n", type, (char *)b64), 0);
		assert_allowed(&res, 1);
		assert_string_equal(res.comment, "token");
		assert_int_equal(check(sk, "192.0.2.1", &res,
		    "verify-required %s %s token\n", type, (char *)b64), 0);
		assert_refused(&res, 1, "verify-required");
		ssh_key_free(sk);
	} else {
		print_message("# libssh cannot decode sk-ssh-ed25519 keys\n");
		assert_int_equal(check(ed_a, "192.0.2.1", &res, "%s %s token\n",
		    type, (char *)b64), 0);
		assert_refused(&res, 0, "line 1 skipped");
	}
}

static int
make_key(enum ssh_keytypes_e type, int bits, const char *name, ssh_key *pub,
    char **b64)
{
	char file[sizeof(dir) + 32];
	ssh_key priv = NULL, tmp = NULL;
	int rc = -1;

	/* Through a .pub file in the scratch directory, as a user has it. */
	snprintf(file, sizeof(file), "%s/%s.pub", dir, name);
	if (ssh_pki_generate(type, bits, &priv) != SSH_OK ||
	    ssh_pki_export_privkey_to_pubkey(priv, &tmp) != SSH_OK ||
	    ssh_pki_export_pubkey_file(tmp, file) != SSH_OK ||
	    ssh_pki_import_pubkey_file(file, pub) != SSH_OK ||
	    ssh_pki_export_pubkey_base64(*pub, b64) != SSH_OK)
		goto out;
	rc = 0;
out:
	unlink(file);
	ssh_key_free(tmp);
	ssh_key_free(priv);
	return rc;
}

static int
setup(void **state)
{
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/authorized_keys", dir);
	if (make_key(SSH_KEYTYPE_ED25519, 0, "a", &ed_a, &b64_a) != 0 ||
	    make_key(SSH_KEYTYPE_ED25519, 0, "b", &ed_b, &b64_b) != 0 ||
	    make_key(SSH_KEYTYPE_ECDSA_P256, 256, "ecdsa", &ecdsa,
	    &b64_ecdsa) != 0 ||
	    make_key(SSH_KEYTYPE_RSA, 2048, "rsa", &rsa, &b64_rsa) != 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	ssh_key_free(ed_a);
	ssh_key_free(ed_b);
	ssh_key_free(ecdsa);
	ssh_key_free(rsa);
	ssh_string_free_char(b64_a);
	ssh_string_free_char(b64_b);
	ssh_string_free_char(b64_ecdsa);
	ssh_string_free_char(b64_rsa);
	unlink(path);
	return rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_key_types),
		cmocka_unit_test(test_comments_crlf),
		cmocka_unit_test(test_accepted_options),
		cmocka_unit_test(test_refused_options),
		cmocka_unit_test(test_permitopen),
		cmocka_unit_test(test_quoted_values),
		cmocka_unit_test(test_later_line),
		cmocka_unit_test(test_from_ipv4),
		cmocka_unit_test(test_from_ipv6),
		cmocka_unit_test(test_from_console),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_file_problems),
		cmocka_unit_test(test_dir_modes),
		cmocka_unit_test(test_security_key),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, setup, teardown);
}
