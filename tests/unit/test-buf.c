/*
 * Unit tests for the checked byte buffer (proto/buf.c) and the error strings
 * (proto/error.c).  Besides fixed cases, a randomized property test applies
 * thousands of random operations to a buffer and to a plain reference array
 * side by side, checking after every step that the contents agree, that a
 * failed operation changed nothing, and that cap never exceeds max.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "error.h"
#include "testutil.h"

#define FUZZ_SEED	0x5eedb0f1U
#define FUZZ_STEPS	20000
#define FUZZ_MAX	4096

static void
test_put_get_be(void **state)
{
	struct ll_buf	b;
	uint8_t		u8;
	uint16_t	u16;
	uint32_t	u32;
	uint64_t	u64;
	static const uint8_t want[] = {
		0xab, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef,
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 'h', 'i',
	};

	ll_buf_init(&b, 64);
	assert_int_equal(ll_buf_put_u8(&b, 0xab), 0);
	assert_int_equal(ll_buf_put_u16(&b, 0x1234), 0);
	assert_int_equal(ll_buf_put_u32(&b, 0xdeadbeef), 0);
	assert_int_equal(ll_buf_put_u64(&b, 0x0102030405060708ULL), 0);
	assert_int_equal(ll_buf_put(&b, "hi", 2), 0);
	assert_int_equal(ll_buf_avail(&b), sizeof want);
	assert_memory_equal(ll_buf_ptr(&b), want, sizeof want);

	assert_int_equal(ll_buf_peek_u32(&b, 3, &u32), 0);
	assert_int_equal(u32, 0xdeadbeef);
	assert_int_equal(ll_buf_get_u8(&b, &u8), 0);
	assert_int_equal(u8, 0xab);
	assert_int_equal(ll_buf_get_u16(&b, &u16), 0);
	assert_int_equal(u16, 0x1234);
	assert_int_equal(ll_buf_get_u32(&b, &u32), 0);
	assert_int_equal(u32, 0xdeadbeef);
	assert_int_equal(ll_buf_get_u64(&b, &u64), 0);
	assert_true(u64 == 0x0102030405060708ULL);
	assert_int_equal(ll_buf_avail(&b), 2);
	ll_buf_cleanup(&b);
	ll_buf_cleanup(&b);	/* safe twice */
	assert_null(b.d);
}

static void
test_failed_get_unchanged(void **state)
{
	struct ll_buf	b;
	uint32_t	u32 = 7;
	uint64_t	u64 = 7;
	uint8_t		x[4];

	ll_buf_init(&b, 16);
	assert_int_equal(ll_buf_put(&b, "abc", 3), 0);
	assert_int_equal(ll_buf_get_u32(&b, &u32), LL_ERR_SHORT);
	assert_int_equal(u32, 7);
	assert_int_equal(ll_buf_get_u64(&b, &u64), LL_ERR_SHORT);
	assert_int_equal(ll_buf_get(&b, x, 4), LL_ERR_SHORT);
	assert_int_equal(ll_buf_consume(&b, 4), LL_ERR_SHORT);
	assert_int_equal(ll_buf_peek_u32(&b, 0, &u32), LL_ERR_SHORT);
	assert_int_equal(ll_buf_peek_u32(&b, SIZE_MAX, &u32), LL_ERR_SHORT);
	assert_int_equal(ll_buf_avail(&b), 3);
	assert_memory_equal(ll_buf_ptr(&b), "abc", 3);
	ll_buf_cleanup(&b);
}

static void
test_hard_max(void **state)
{
	struct ll_buf	 b;
	uint8_t		 big[1000], *p;

	memset(big, 'x', sizeof big);
	ll_buf_init(&b, 1000);
	assert_int_equal(ll_buf_put(&b, big, 999), 0);
	assert_int_equal(ll_buf_put_u16(&b, 1), LL_ERR_TOOBIG);
	assert_int_equal(ll_buf_avail(&b), 999);
	assert_int_equal(ll_buf_put_u8(&b, 'y'), 0);
	assert_int_equal(ll_buf_put_u8(&b, 'z'), LL_ERR_TOOBIG);
	assert_true(b.cap <= b.max);
	/* Consumed space at the front is reusable: compaction, not growth. */
	assert_int_equal(ll_buf_consume(&b, 500), 0);
	assert_int_equal(ll_buf_put(&b, big, 500), 0);
	assert_int_equal(ll_buf_avail(&b), 1000);
	assert_int_equal(ll_buf_reserve(&b, 1, &p), LL_ERR_TOOBIG);
	assert_int_equal(ll_buf_put(&b, big, SIZE_MAX), LL_ERR_TOOBIG);
	assert_int_equal(ll_buf_reserve(&b, SIZE_MAX, &p), LL_ERR_TOOBIG);
	assert_true(b.cap <= 1000);
	ll_buf_cleanup(&b);

	ll_buf_init(&b, 0);
	assert_int_equal(ll_buf_put_u8(&b, 1), LL_ERR_TOOBIG);
	assert_int_equal(ll_buf_put(&b, NULL, 0), 0);
	assert_int_equal(ll_buf_avail(&b), 0);
	ll_buf_cleanup(&b);
}

static void
test_reserve_commit(void **state)
{
	struct ll_buf	 b;
	uint8_t		*p;

	ll_buf_init(&b, 100);
	assert_int_equal(ll_buf_reserve(&b, 10, &p), 0);
	memcpy(p, "0123456789", 10);
	assert_int_equal(ll_buf_commit(&b, 4), 0);
	assert_int_equal(ll_buf_avail(&b), 4);
	assert_memory_equal(ll_buf_ptr(&b), "0123", 4);
	/* Committing past the allocation is refused. */
	assert_int_equal(ll_buf_commit(&b, b.cap - b.len + 1), LL_ERR_INVAL);
	assert_int_equal(ll_buf_avail(&b), 4);
	ll_buf_reset(&b);
	assert_int_equal(ll_buf_avail(&b), 0);
	assert_non_null(b.d);		/* reset keeps storage */
	ll_buf_cleanup(&b);
}

static void
test_wrap(void **state)
{
	static const uint8_t	 mem[] = { 0x00, 0x10, 0xca, 0xfe, 0xba, 0xbe };
	struct ll_buf		 b;
	uint16_t		 u16;
	uint32_t		 u32;
	uint8_t			*p;

	ll_buf_wrap(&b, mem, sizeof mem);
	assert_int_equal(ll_buf_avail(&b), 6);
	assert_int_equal(ll_buf_put_u8(&b, 1), LL_ERR_TOOBIG);
	assert_int_equal(ll_buf_reserve(&b, 1, &p), LL_ERR_TOOBIG);
	assert_int_equal(ll_buf_get_u16(&b, &u16), 0);
	assert_int_equal(u16, 0x0010);
	ll_buf_compact(&b);		/* must not write caller memory */
	assert_int_equal(ll_buf_get_u32(&b, &u32), 0);
	assert_int_equal(u32, 0xcafebabe);
	assert_int_equal(ll_buf_get_u8(&b, NULL), LL_ERR_SHORT);
	ll_buf_cleanup(&b);		/* frees nothing */
	assert_int_equal(mem[2], 0xca);
}

static void
test_strerror(void **state)
{
	int	e;

	for (e = 0; e >= LL_ERR_BUSY; e--) {
		assert_non_null(ll_strerror(e));
		assert_string_not_equal(ll_strerror(e), "unknown error");
	}
	assert_string_equal(ll_strerror(LL_ERR_CRC), "checksum mismatch");
	assert_string_equal(ll_strerror(-1000), "unknown error");
	assert_string_equal(ll_strerror(5), "unknown error");
}

/* Contents of b must equal ref[0..rlen), and the fields must be sane. */
static void
check_model(const struct ll_buf *b, const uint8_t *ref, size_t rlen)
{
	assert_true(b->off <= b->len);
	assert_true(b->len <= b->cap);
	assert_true(b->cap <= b->max);
	assert_int_equal(ll_buf_avail(b), rlen);
	if (rlen > 0)
		assert_memory_equal(ll_buf_ptr(b), ref, rlen);
}

static void
test_random_ops(void **state)
{
	struct ll_buf	 b;
	uint8_t		*ref, tmp[300], got[300], *p;
	size_t		 rlen = 0, n, i, k;
	uint32_t	 seed = FUZZ_SEED, u32, w;
	uint64_t	 v, u64;
	uint16_t	 u16;
	uint8_t		 u8;
	int		 step, r, ok;
	unsigned long	 fails = 0, full = 0;

	print_message("# random ops seed 0x%08x, %d steps\n", seed, FUZZ_STEPS);
	ref = malloc(FUZZ_MAX);
	assert_non_null(ref);
	ll_buf_init(&b, FUZZ_MAX);
	for (step = 0; step < FUZZ_STEPS; step++) {
		n = rnd(&seed) % 300;
		for (i = 0; i < n; i++)
			tmp[i] = (uint8_t)rnd(&seed);
		switch (rnd(&seed) % 11) {
		case 0:		/* put n bytes */
			ok = rlen + n <= FUZZ_MAX;
			r = ll_buf_put(&b, tmp, n);
			assert_int_equal(r, ok ? 0 : LL_ERR_TOOBIG);
			if (ok) {
				memcpy(ref + rlen, tmp, n);
				rlen += n;
			} else
				full++;
			break;
		case 1:		/* put an integer of random width */
			k = (size_t)1 << (rnd(&seed) % 4);
			v = (uint64_t)rnd(&seed) << 32 | rnd(&seed);
			ok = rlen + k <= FUZZ_MAX;
			switch (k) {
			case 1: r = ll_buf_put_u8(&b, (uint8_t)v); break;
			case 2: r = ll_buf_put_u16(&b, (uint16_t)v); break;
			case 4: r = ll_buf_put_u32(&b, (uint32_t)v); break;
			default: r = ll_buf_put_u64(&b, v); break;
			}
			assert_int_equal(r, ok ? 0 : LL_ERR_TOOBIG);
			if (ok) {
				for (i = 0; i < k; i++)
					ref[rlen + i] = v >> (8 * (k - 1 - i));
				rlen += k;
			}
			break;
		case 2:		/* get n bytes */
			n /= 2;	/* drift upwards so the cap gets hit */
			ok = n <= rlen;
			memset(got, 0xee, sizeof got);
			r = ll_buf_get(&b, got, n);
			assert_int_equal(r, ok ? 0 : LL_ERR_SHORT);
			if (ok) {
				if (n > 0)
					assert_memory_equal(got, ref, n);
				memmove(ref, ref + n, rlen - n);
				rlen -= n;
			}
			break;
		case 3:		/* get an integer of random width */
			k = (size_t)1 << (rnd(&seed) % 4);
			ok = k <= rlen;
			for (v = 0, i = 0; ok && i < k; i++)
				v = v << 8 | ref[i];
			switch (k) {
			case 1:
				r = ll_buf_get_u8(&b, &u8);
				u64 = u8;
				break;
			case 2:
				r = ll_buf_get_u16(&b, &u16);
				u64 = u16;
				break;
			case 4:
				r = ll_buf_get_u32(&b, &u32);
				u64 = u32;
				break;
			default:
				r = ll_buf_get_u64(&b, &u64);
				break;
			}
			assert_int_equal(r, ok ? 0 : LL_ERR_SHORT);
			if (ok) {
				assert_true(u64 == v);
				memmove(ref, ref + k, rlen - k);
				rlen -= k;
			}
			break;
		case 4:		/* consume */
			n /= 2;
			ok = n <= rlen;
			r = ll_buf_consume(&b, n);
			assert_int_equal(r, ok ? 0 : LL_ERR_SHORT);
			if (ok) {
				memmove(ref, ref + n, rlen - n);
				rlen -= n;
			}
			break;
		case 5:		/* reserve n, commit a part */
			ok = rlen + n <= FUZZ_MAX;
			r = ll_buf_reserve(&b, n, &p);
			assert_int_equal(r, ok ? 0 : LL_ERR_TOOBIG);
			if (ok) {
				assert_true(b.cap - b.len >= n);
				k = n == 0 ? 0 : rnd(&seed) % (n + 1);
				memcpy(p, tmp, k);
				assert_int_equal(ll_buf_commit(&b, k), 0);
				memcpy(ref + rlen, tmp, k);
				rlen += k;
			}
			break;
		case 6:
			r = 0;
			ll_buf_compact(&b);
			assert_int_equal(b.off, 0);
			break;
		case 7:		/* peek */
			k = rnd(&seed) % (rlen + 8);
			ok = k + 4 <= rlen;
			r = ll_buf_peek_u32(&b, k, &u32);
			assert_int_equal(r, ok ? 0 : LL_ERR_SHORT);
			if (ok) {
				w = (uint32_t)ref[k] << 24 | ref[k + 1] << 16 |
				    ref[k + 2] << 8 | ref[k + 3];
				assert_int_equal(u32, w);
			}
			break;
		case 8:		/* commit without a matching reserve */
			k = b.cap - b.len + 1 + n;
			assert_int_equal(ll_buf_commit(&b, k), LL_ERR_INVAL);
			r = LL_ERR_INVAL;
			break;
		case 9:
			if (rnd(&seed) % 64 == 0) {
				ll_buf_reset(&b);
				rlen = 0;
			}
			r = 0;
			break;
		default:	/* a put that must fail */
			k = FUZZ_MAX - rlen + 1 + n;
			r = ll_buf_put(&b, tmp, k > sizeof tmp ? 0 : k);
			if (k <= sizeof tmp)
				assert_int_equal(r, LL_ERR_TOOBIG);
			r = ll_buf_put(&b, tmp, SIZE_MAX - n);
			assert_int_equal(r, LL_ERR_TOOBIG);
			break;
		}
		if (r != 0)
			fails++;
		check_model(&b, ref, rlen);
	}
	print_message("# %lu failed ops, %lu puts over max, final avail %zu\n",
	    fails, full, rlen);
	assert_true(full > 50);
	/* Both outcomes must have been exercised. */
	assert_true(fails > 1000);
	assert_true(fails < FUZZ_STEPS - 1000);
	ll_buf_cleanup(&b);
	free(ref);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_be),
		cmocka_unit_test(test_failed_get_unchanged),
		cmocka_unit_test(test_hard_max),
		cmocka_unit_test(test_reserve_commit),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_random_ops),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
