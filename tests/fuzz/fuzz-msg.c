/*
 * libFuzzer target for the message layer decoder.
 *
 * The input is taken as a stream of records.  Each record is decoded until
 * the stream runs short or a length is refused (a record with bad content is
 * consumed, so decoding goes on past it).  Every decoded record is checked
 * against the format's invariants and re-encoded: a JSON record must encode
 * and decode again to an equal value, and its encoding must be a fixed point
 * (encoding the re-decoded value gives the same bytes); a DATA or EOF record
 * must re-encode to exactly the bytes it was read from.  A ZDATA record
 * (handed up as DATA with compressed set) must have announced exactly the
 * length it gave, and its data must go through our own compressor and back
 * unchanged.  Any mismatch aborts.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "ll-limits.h"
#include "msg.h"
#include "zdata.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_BUF_MAX	(LL_MSG_HEADER_LEN + LL_MSG_MAX)

static void
check_json(const struct ll_msg *m)
{
	struct ll_buf	 a, b;
	struct ll_msg	 m2;
	int		 r;

	ll_buf_init(&a, FUZZ_BUF_MAX);
	ll_buf_init(&b, FUZZ_BUF_MAX);
	r = ll_msg_put_json(&a, m->kind, m->id, m->json);
	/* The canonical form may be longer than the input: skip those. */
	if (r == LL_ERR_TOOBIG)
		goto out;
	if (r != 0)
		abort();
	if (ll_msg_get(&a, &m2) != 0 || ll_buf_avail(&a) != 0)
		abort();
	if (m2.kind != m->kind || m2.id != m->id || m2.flags != 0 ||
	    !json_equal(m2.json, m->json))
		abort();
	/* Encode the re-decoded value: the canonical bytes must not move. */
	if (ll_msg_put_json(&b, m2.kind, m2.id, m2.json) != 0)
		abort();
	ll_buf_reset(&a);
	if (ll_msg_put_json(&a, m->kind, m->id, m->json) != 0 ||
	    ll_buf_avail(&a) != ll_buf_avail(&b) ||
	    memcmp(ll_buf_ptr(&a), ll_buf_ptr(&b), ll_buf_avail(&a)) != 0)
		abort();
	ll_msg_cleanup(&m2);
out:
	ll_buf_cleanup(&a);
	ll_buf_cleanup(&b);
}

/* A ZDATA record at rec (n bytes) decoded to m. */
static void
check_zdata(const struct ll_msg *m, const uint8_t *rec, size_t n)
{
	struct ll_zdata	*z;
	struct ll_buf	 a;
	struct ll_msg	 m2;

	if (n < LL_MSG_HEADER_LEN + 5 || rec[4] != LL_MSG_ZDATA ||
	    rec[5] != m->flags || ll_peek_u32(rec + 6) != m->id ||
	    ll_peek_u32(rec + LL_MSG_HEADER_LEN) != m->data_len ||
	    m->data_len == 0 || m->data == NULL)
		abort();
	if ((z = ll_zdata_new(LL_ZDATA_LEVEL_SLOW)) == NULL)
		abort();
	ll_buf_init(&a, FUZZ_BUF_MAX);
	if (ll_zdata_put(z, &a, m->flags, m->id, m->data, m->data_len) < 0 ||
	    ll_msg_get(&a, &m2) != 0 || ll_buf_avail(&a) != 0 ||
	    m2.kind != LL_MSG_DATA || m2.flags != m->flags ||
	    m2.id != m->id || m2.data_len != m->data_len ||
	    memcmp(m2.data, m->data, m->data_len) != 0)
		abort();
	ll_msg_cleanup(&m2);
	ll_buf_cleanup(&a);
	ll_zdata_free(z);
}

static void
check_data(const struct ll_msg *m, const uint8_t *rec, size_t n)
{
	struct ll_buf	 a;

	if (m->compressed) {
		check_zdata(m, rec, n);
		return;
	}

	if (!ll_msg_channel_is_valid(m->flags) ||
	    m->data_len > LL_DATA_CHUNK_MAX ||
	    (m->kind == LL_MSG_EOF && m->data_len != 0) ||
	    (m->data_len > 0) != (m->data != NULL))
		abort();
	ll_buf_init(&a, FUZZ_BUF_MAX);
	if (ll_msg_put_data(&a, m->kind, m->flags, m->id, m->data,
	    m->data_len) != 0)
		abort();
	if (ll_buf_avail(&a) != n || memcmp(ll_buf_ptr(&a), rec, n) != 0)
		abort();
	ll_buf_cleanup(&a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct ll_buf	 in;
	struct ll_msg	 m;
	const uint8_t	*rec;
	size_t		 before;
	int		 r;

	ll_buf_wrap(&in, d, n);
	for (;;) {
		before = ll_buf_avail(&in);
		rec = ll_buf_ptr(&in);
		r = ll_msg_get(&in, &m);
		if (r == LL_ERR_FORMAT) {
			/* Consumed: at least a header, so this terminates. */
			if (ll_buf_avail(&in) + LL_MSG_HEADER_LEN > before)
				abort();
			continue;
		}
		if (r != 0) {
			if (ll_buf_avail(&in) != before)
				abort();
			if (r != LL_ERR_SHORT && r != LL_ERR_TOOBIG)
				abort();
			break;
		}
		if (m.kind == 0 || m.kind > LL_MSG_KIND_MAX)
			abort();
		if (ll_msg_kind_is_json(m.kind)) {
			if (!json_is_object(m.json) || m.flags != 0 ||
			    m.data != NULL)
				abort();
			check_json(&m);
		} else {
			if (m.json != NULL)
				abort();
			check_data(&m, rec, before - ll_buf_avail(&in));
		}
		ll_msg_cleanup(&m);
	}
	ll_buf_cleanup(&in);
	return (0);
}
