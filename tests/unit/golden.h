/*
 * Record-level helpers of the message tests (test-msg, test-zdata).
 *
 * Golden files: tests/data/NAME, read from $top_srcdir
 * or $srcdir when set, else from the source tree this file was compiled
 * from (a test run by hand from anywhere).  For cmocka tests: a file that
 * cannot be read fails the test.
 */
#ifndef LL_GOLDEN_H
#define LL_GOLDEN_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* NAME's bytes (malloc'd, one spare byte) and their count in *lenp. */
static uint8_t *
read_golden(const char *name, size_t *lenp)
{
	static const char	 tail[] = "tests/unit/golden.h";
	char			 path[4200], top[4096];
	const char		*env;
	size_t			 n, flen;
	uint8_t			*d;
	FILE			*f;
	long			 sz;

	if ((env = getenv("top_srcdir")) == NULL)
		env = getenv("srcdir");
	if (env != NULL)
		snprintf(top, sizeof top, "%s/", env);
	else {
		flen = strlen(__FILE__);
		assert_true(flen >= sizeof tail - 1);
		n = flen - (sizeof tail - 1);
		assert_string_equal(&__FILE__[n], tail);
		assert_true(n < sizeof top);
		memcpy(top, __FILE__, n);
		top[n] = '\0';
	}
	if ((size_t)snprintf(path, sizeof path, "%stests/data/%s", top,
	    name) >= sizeof path)
		fail_msg("path too long");
	if ((f = fopen(path, "rb")) == NULL)
		fail_msg("cannot open golden file %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	sz = ftell(f);
	assert_true(sz >= 0 && sz < 65536);
	rewind(f);
	d = malloc((size_t)sz + 1);
	assert_non_null(d);
	assert_int_equal(fread(d, 1, (size_t)sz, f), (size_t)sz);
	fclose(f);
	*lenp = (size_t)sz;
	return (d);
}

/* Append a raw record (header LEN, KIND, FLAGS, ID, then N bytes of
 * BODY), bypassing the encoder's checks. */
static void
put_raw(struct ll_buf *b, uint32_t len, uint8_t kind, uint8_t flags,
    uint32_t id, const void *body, size_t n)
{
	assert_int_equal(ll_buf_put_u32(b, len), 0);
	assert_int_equal(ll_buf_put_u8(b, kind), 0);
	assert_int_equal(ll_buf_put_u8(b, flags), 0);
	assert_int_equal(ll_buf_put_u32(b, id), 0);
	if (n > 0)
		assert_int_equal(ll_buf_put(b, body, n), 0);
}

#endif
