/*
 * Unit tests for SHA-256 (proto/digest.c) over each backend: this file is
 * built twice, with OpenSSL's (digest-openssl.c, the installed programs)
 * and with libgcrypt's (digest-gcrypt.c, the deploy bundle's agent), so
 * that both sides of a get/put hash exactly alike.  Known answers from
 * FIPS 180-2; a peek leaves the context going; reset starts over; a
 * prefix of a file hashes like the same bytes fed directly, and a file
 * shorter than the prefix asked for is an error.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "digest.h"

#define SHA_EMPTY \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA_ABC \
	"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA_ABCDBCDE \
	"248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
#define ABCDBCDE "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"

static void
test_known_answers(void **state)
{
	struct ll_digest *d = ll_digest_new();
	char hex[LL_DIGEST_HEX_LEN + 1];

	(void)state;
	assert_non_null(d);
	assert_int_equal(ll_digest_hex(d, hex), 0);
	assert_string_equal(hex, SHA_EMPTY);
	/* the peek went on a copy: the context still hashes */
	assert_int_equal(ll_digest_update(d, "ab", 2), 0);
	assert_int_equal(ll_digest_update(d, "c", 1), 0);
	assert_int_equal(ll_digest_hex(d, hex), 0);
	assert_string_equal(hex, SHA_ABC);
	assert_int_equal(ll_digest_reset(d), 0);
	assert_int_equal(ll_digest_update(d, ABCDBCDE, strlen(ABCDBCDE)), 0);
	assert_int_equal(ll_digest_hex(d, hex), 0);
	assert_string_equal(hex, SHA_ABCDBCDE);
	assert_true(ll_digest_is_hex(hex));
	ll_digest_free(d);
	ll_digest_free(NULL);
}

static void
test_prefix(void **state)
{
	char path[] = "/tmp/test-digest.XXXXXX", a[65], b[65];
	struct ll_digest *d1 = ll_digest_new(), *d2 = ll_digest_new();
	static unsigned char data[200000];
	size_t i;
	int fd;

	(void)state;
	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7 + i / 251);
	assert_true((fd = mkstemp(path)) >= 0);
	unlink(path);
	assert_int_equal(write(fd, data, sizeof(data)), (ssize_t)sizeof(data));
	/* more than one read chunk, not a multiple of it */
	assert_int_equal(ll_digest_prefix(fd, 150001, d1), 0);
	assert_int_equal(ll_digest_update(d2, data, 150001), 0);
	assert_int_equal(ll_digest_hex(d1, a), 0);
	assert_int_equal(ll_digest_hex(d2, b), 0);
	assert_string_equal(a, b);
	assert_int_equal(ll_digest_prefix(fd, sizeof(data) + 1, d1), -1);
	close(fd);
	ll_digest_free(d1);
	ll_digest_free(d2);
}

static void
test_is_hex(void **state)
{
	(void)state;
	assert_true(ll_digest_is_hex(SHA_ABC));
	assert_false(ll_digest_is_hex(NULL));
	assert_false(ll_digest_is_hex("ba7816bf"));
	assert_false(ll_digest_is_hex(
	    "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answers),
		cmocka_unit_test(test_prefix),
		cmocka_unit_test(test_is_hex),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
