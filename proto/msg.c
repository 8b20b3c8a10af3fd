/*
 * Message layer codec.
 *
 * A record is a 10-byte header (u32 body_len, u8 kind, u8 flags, u32 id, all
 * big-endian) followed by body_len bytes of body.  Encoding appends a whole
 * record to an ll_buf or nothing: room for the record is reserved first, so
 * the puts that follow cannot fail half way.  Decoding peeks at the header,
 * checks the kind and the announced length against the cap for that kind
 * before waiting for (or allocating) the body, and only then takes the
 * record.  A record whose length is acceptable but whose content is bad is
 * consumed and reported as LL_ERR_FORMAT, so the stream stays in step; an
 * oversized length cannot be skipped safely (the peer may be confused about
 * framing), so it is reported as LL_ERR_TOOBIG with nothing consumed and the
 * caller drops the connection.
 *
 * JSON bodies are written by jansson in compact form with sorted keys, so an
 * encoding is a function of the value alone.  They are read back strictly:
 * exactly one object, no byte before or after it, no duplicate key.
 *
 * Byte strings that may not be UTF-8 (file names) travel as "key" when they
 * are UTF-8 and as "key_base64" otherwise: jansson refuses other strings,
 * and a name that silently became "?" or vanished would copy the wrong file
 * or none.  Base64 is OpenSSL's; the decoder is strict (alphabet, padding
 * only at the end, length a multiple of 4).
 */

#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "error.h"
#include "ll-limits.h"
#include "msg.h"
#include "zdata.h"

#define LL_MSG_JSON_ENC_FLAGS	(JSON_COMPACT | JSON_SORT_KEYS)

bool
ll_msg_kind_is_json(uint8_t kind)
{
	return (kind >= LL_MSG_HELLO && kind <= LL_MSG_CANCEL);
}

bool
ll_msg_channel_is_valid(uint8_t channel)
{
	return (channel <= LL_CH_FILE);
}

size_t
ll_msg_body_max(uint8_t kind)
{
	if (ll_msg_kind_is_json(kind))
		return (LL_MSG_JSON_MAX);
	if (kind == LL_MSG_DATA || kind == LL_MSG_EOF || kind == LL_MSG_ZDATA)
		return (LL_DATA_CHUNK_MAX);
	/* Unknown kinds: a later revision's record, skippable up to this. */
	return (LL_MSG_MAX);
}

/*
 * Append header and body.  Reserving the whole record first means the puts
 * below find room and cannot fail, so out gets all of the record or none.
 */
static int
msg_put(struct ll_buf *out, uint8_t kind, uint8_t flags, uint32_t id,
    const void *body, size_t n)
{
	uint8_t	*p;
	int	 r;

	if (n > UINT32_MAX - LL_MSG_HEADER_LEN)
		return (LL_ERR_TOOBIG);
	if ((r = ll_buf_reserve(out, LL_MSG_HEADER_LEN + n, &p)) != 0)
		return (r);
	if ((r = ll_buf_put_u32(out, (uint32_t)n)) != 0 ||
	    (r = ll_buf_put_u8(out, kind)) != 0 ||
	    (r = ll_buf_put_u8(out, flags)) != 0 ||
	    (r = ll_buf_put_u32(out, id)) != 0)
		return (r);
	if (n > 0 && (r = ll_buf_put(out, body, n)) != 0)
		return (r);
	return (0);
}

int
ll_msg_put_json(struct ll_buf *out, uint8_t kind, uint32_t id,
    const json_t *obj)
{
	char	*s = NULL;
	size_t	 n;
	int	 r;

	if (!ll_msg_kind_is_json(kind) || !json_is_object(obj)) {
		r = LL_ERR_INVAL;
		goto out;
	}
	/*
	 * json_dumpb would let us size first, but the cap is far below what
	 * json_dumps can allocate, so encode and then check.
	 */
	if ((s = json_dumps(obj, LL_MSG_JSON_ENC_FLAGS)) == NULL) {
		r = LL_ERR_NOMEM;
		goto out;
	}
	n = strlen(s);
	if (n > LL_MSG_JSON_MAX) {
		r = LL_ERR_TOOBIG;
		goto out;
	}
	r = msg_put(out, kind, 0, id, s, n);
out:
	free(s);
	return (r);
}

int
ll_msg_put_data(struct ll_buf *out, uint8_t kind, uint8_t channel,
    uint32_t id, const void *p, size_t n)
{
	if (kind != LL_MSG_DATA && kind != LL_MSG_EOF)
		return (LL_ERR_INVAL);
	if (!ll_msg_channel_is_valid(channel))
		return (LL_ERR_INVAL);
	if (kind == LL_MSG_EOF && n != 0)
		return (LL_ERR_INVAL);
	if (n > LL_DATA_CHUNK_MAX)
		return (LL_ERR_TOOBIG);
	if (n > 0 && p == NULL)
		return (LL_ERR_INVAL);
	return (msg_put(out, kind, channel, id, p, n));
}

/*
 * Parse a JSON body: one object and nothing else.  jansson's own end check
 * allows trailing whitespace, so it is disabled and the end position is
 * compared with the body length instead.
 */
static json_t *
msg_parse_json(const uint8_t *body, size_t n)
{
	json_error_t	 err;
	json_t		*v;

	if (n == 0 || body[0] != '{')
		return (NULL);
	v = json_loadb((const char *)body, n,
	    JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK, &err);
	if (v == NULL)
		return (NULL);
	if (!json_is_object(v) || err.position < 0 ||
	    (size_t)err.position != n) {
		json_decref(v);
		return (NULL);
	}
	return (v);
}

int
ll_msg_get(struct ll_buf *in, struct ll_msg *m)
{
	const uint8_t	*p;
	uint32_t	 len, id;
	uint8_t		 kind, flags;
	size_t		 total;
	int		 r;

	memset(m, 0, sizeof *m);

	if (ll_buf_avail(in) < LL_MSG_HEADER_LEN)
		return (LL_ERR_SHORT);
	if ((r = ll_buf_peek_u32(in, 0, &len)) != 0 ||
	    (r = ll_buf_peek_u32(in, 6, &id)) != 0)
		return (r);
	p = ll_buf_ptr(in);
	kind = p[4];
	flags = p[5];

	/* The cap is known from the header alone: refuse before waiting. */
	if (len > ll_msg_body_max(kind))
		return (LL_ERR_TOOBIG);
	total = LL_MSG_HEADER_LEN + (size_t)len;
	if (ll_buf_avail(in) < total)
		return (LL_ERR_SHORT);
	p = ll_buf_ptr(in) + LL_MSG_HEADER_LEN;

	/* From here on the record is consumed whatever its content. */
	if (kind == 0 || kind > LL_MSG_KIND_MAX) {
		r = LL_ERR_FORMAT;
		goto out;
	}
	if (ll_msg_kind_is_json(kind)) {
		if (flags != 0) {
			r = LL_ERR_FORMAT;
			goto out;
		}
		if ((m->json = msg_parse_json(p, len)) == NULL) {
			r = LL_ERR_FORMAT;
			goto out;
		}
	} else {
		if (!ll_msg_channel_is_valid(flags) ||
		    (kind == LL_MSG_EOF && len != 0)) {
			r = LL_ERR_FORMAT;
			goto out;
		}
		if (kind == LL_MSG_ZDATA) {
			r = ll_zdata_inflate(p, len, &m->data, &m->data_len);
			if (r == LL_ERR_NOMEM)
				total = 0;	/* left in place for a retry */
			if (r != 0)
				goto out;
			m->compressed = true;
			kind = LL_MSG_DATA;
			goto out;
		}
		if (len > 0 && (m->data = malloc(len)) == NULL) {
			/* Leave the record in place for a retry. */
			total = 0;
			r = LL_ERR_NOMEM;
			goto out;
		}
		if (len > 0)
			memcpy(m->data, p, len);
		m->data_len = len;
	}
	r = 0;
out:
	/*
	 * The header was read whatever the body held: its kind, flags and id
	 * go to the caller also with LL_ERR_FORMAT, so that the answer can
	 * name the request the bad record belongs to.
	 */
	m->kind = kind;
	m->flags = flags;
	m->id = id;
	if (ll_buf_consume(in, total) != 0) {
		/* Cannot happen: avail was checked above. */
		ll_msg_cleanup(m);
		return (LL_ERR_INVAL);
	}
	return (r);
}

int
ll_msg_peek_partial_data(const struct ll_buf *in, struct ll_msg *m)
{
	const uint8_t	*p;
	uint32_t	 len, id;
	size_t		 have;

	memset(m, 0, sizeof *m);
	if (ll_buf_avail(in) < LL_MSG_HEADER_LEN ||
	    ll_buf_peek_u32(in, 0, &len) != 0 ||
	    ll_buf_peek_u32(in, 6, &id) != 0)
		return (0);
	p = ll_buf_ptr(in);
	/* Only a well-formed DATA header whose body is still arriving. */
	if (p[4] != LL_MSG_DATA || !ll_msg_channel_is_valid(p[5]) ||
	    len > LL_DATA_CHUNK_MAX)
		return (0);
	have = ll_buf_avail(in) - LL_MSG_HEADER_LEN;
	if (have >= len)
		return (0);
	if (have > 0 && (m->data = malloc(have)) == NULL)
		return (LL_ERR_NOMEM);
	if (have > 0)
		memcpy(m->data, p + LL_MSG_HEADER_LEN, have);
	m->data_len = have;
	m->kind = LL_MSG_DATA;
	m->flags = p[5];
	m->id = id;
	return (1);
}

void
ll_msg_cleanup(struct ll_msg *m)
{
	if (m == NULL)
		return;
	json_decref(m->json);
	free(m->data);
	memset(m, 0, sizeof *m);
}

/* key + LL_MSG_BYTES_SUFFIX into out; false when it does not fit. */
static bool
msg_bytes_key(char *out, size_t len, const char *key)
{
	int n = snprintf(out, len, "%s%s", key, LL_MSG_BYTES_SUFFIX);

	return n > 0 && (size_t)n < len;
}

int
ll_msg_set_bytes(json_t *obj, const char *key, const char *s)
{
	char	 k64[128];
	json_t	*v;
	char	*b = NULL;
	size_t	 n;
	int	 r;

	if (!json_is_object(obj) || s == NULL ||
	    !msg_bytes_key(k64, sizeof(k64), key))
		return (LL_ERR_INVAL);
	/* Only one of the two keys, whatever obj held before. */
	json_object_del(obj, key);
	json_object_del(obj, k64);
	if ((v = json_string(s)) != NULL)
		return (json_object_set_new(obj, key, v) == 0 ? 0 :
		    LL_ERR_NOMEM);
	n = strlen(s);
	if (n > (INT32_MAX / 4) * 3 - 3)
		return (LL_ERR_TOOBIG);
	if ((b = malloc(4 * ((n + 2) / 3) + 1)) == NULL)
		return (LL_ERR_NOMEM);
	EVP_EncodeBlock((unsigned char *)b, (const unsigned char *)s, (int)n);
	r = json_object_set_new(obj, k64, json_string(b)) == 0 ? 0 :
	    LL_ERR_NOMEM;
	free(b);
	return (r);
}

/* Strict base64: the alphabet, '=' only as the last one or two of 4k. */
static bool
msg_base64_is_valid(const char *s, size_t n, size_t *pad)
{
	size_t	i;

	*pad = 0;
	if (n % 4 != 0)
		return (false);
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '=' && i + 2 >= n && (i + 1 == n || s[i + 1] == '=')) {
			(*pad)++;
			continue;
		}
		if (*pad > 0 || !((c >= 'A' && c <= 'Z') ||
		    (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '+' || c == '/'))
			return (false);
	}
	return (true);
}

int
ll_msg_get_bytes(const json_t *obj, const char *key, char **out,
    size_t *len)
{
	char		 k64[128];
	json_t		*v, *v64;
	const char	*s;
	size_t		 n, pad;
	int		 dn;

	*out = NULL;
	*len = 0;
	if (!msg_bytes_key(k64, sizeof(k64), key))
		return (LL_ERR_INVAL);
	v = json_object_get(obj, key);
	v64 = json_object_get(obj, k64);
	if (json_is_null(v))
		v = NULL;
	if (json_is_null(v64))
		v64 = NULL;
	if (v == NULL && v64 == NULL)
		return (LL_ERR_NOTFOUND);
	if ((v != NULL && v64 != NULL) || !json_is_string(v != NULL ? v : v64))
		return (LL_ERR_FORMAT);
	if (v != NULL) {
		n = json_string_length(v);
		if ((*out = malloc(n + 1)) == NULL)
			return (LL_ERR_NOMEM);
		memcpy(*out, json_string_value(v), n + 1);
		*len = n;
		return (0);
	}
	s = json_string_value(v64);
	n = json_string_length(v64);
	if (n > INT32_MAX || !msg_base64_is_valid(s, n, &pad))
		return (LL_ERR_FORMAT);
	if ((*out = malloc(n / 4 * 3 + 1)) == NULL)
		return (LL_ERR_NOMEM);
	dn = EVP_DecodeBlock((unsigned char *)*out, (const unsigned char *)s,
	    (int)n);
	if (dn < 0 || (size_t)dn < pad) {
		free(*out);
		*out = NULL;
		return (LL_ERR_FORMAT);
	}
	/* DecodeBlock counts the padding as zero bytes: drop them. */
	*len = (size_t)dn - pad;
	(*out)[*len] = '\0';
	return (0);
}

/*
 * Make a JSON string from text that may not be UTF-8 (file names, tool
 * output): if jansson refuses it, replace every non-ASCII byte and retry.
 */
static json_t *
msg_string(char *s)
{
	json_t	*v;
	char	*c;

	if ((v = json_string(s)) != NULL)
		return (v);
	for (c = s; *c != '\0'; c++) {
		if ((unsigned char)*c >= 0x80)
			*c = '?';
	}
	return (json_string(s));
}

json_t *
ll_msg_text(const char *s)
{
	json_t	*v;
	char	*copy;

	if (s == NULL)
		return (NULL);
	if ((v = json_string(s)) != NULL)
		return (v);
	if ((copy = strdup(s)) == NULL)
		return (NULL);
	v = msg_string(copy);
	free(copy);
	return (v);
}

/*
 * A JSON string from printf-style arguments, cut at max bytes (when max is
 * not 0), made with msg_string: NULL when out of memory.
 */
static json_t *
msg_vtextf(size_t max, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static json_t *
msg_vtextf(size_t max, const char *fmt, va_list ap)
{
	json_t	*v;
	char	*s;

	if (vasprintf(&s, fmt, ap) < 0)
		return (NULL);
	if (max > 0 && strlen(s) > max)
		s[max] = '\0';
	v = msg_string(s);
	free(s);
	return (v);
}

json_t *
ll_msg_textf(const char *fmt, ...)
{
	json_t	*v;
	va_list	 ap;

	va_start(ap, fmt);
	v = msg_vtextf(0, fmt, ap);
	va_end(ap);
	return (v);
}

static json_t *
msg_error_vnew(const char *code, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static json_t *
msg_error_vnew(const char *code, const char *fmt, va_list ap)
{
	json_t	*obj, *msg;

	/* A message is for humans: keep it well inside one record. */
	if ((msg = msg_vtextf(LL_MSG_ERROR_TEXT_MAX, fmt, ap)) == NULL)
		return (NULL);
	if ((obj = json_object()) != NULL &&
	    (json_object_set_new(obj, "code", json_string(code)) != 0 ||
	    json_object_set(obj, "message", msg) != 0)) {
		json_decref(obj);
		obj = NULL;
	}
	json_decref(msg);
	return (obj);
}

json_t *
ll_msg_error_new(const char *code, const char *fmt, ...)
{
	json_t	*obj;
	va_list	 ap;

	va_start(ap, fmt);
	obj = msg_error_vnew(code, fmt, ap);
	va_end(ap);
	return (obj);
}

int
ll_msg_put_error(struct ll_buf *out, uint32_t id, const char *code,
    const char *fmt, ...)
{
	json_t	*obj;
	va_list	 ap;
	int	 r;

	va_start(ap, fmt);
	obj = msg_error_vnew(code, fmt, ap);
	va_end(ap);
	if (obj == NULL) {
		r = LL_ERR_NOMEM;
		goto out;
	}
	r = ll_msg_put_json(out, LL_MSG_ERROR, id, obj);
out:
	json_decref(obj);
	return (r);
}

json_t *
ll_msg_hello_new(const char *role, const char *software, json_t *caps)
{
	json_t	*obj = NULL;
	size_t	 i;

	if (role == NULL || software == NULL ||
	    (strcmp(role, "client") != 0 && strcmp(role, "agent") != 0))
		goto out;
	if (caps != NULL) {
		if (!json_is_array(caps))
			goto out;
		for (i = 0; i < json_array_size(caps); i++) {
			if (!json_is_string(json_array_get(caps, i)))
				goto out;
		}
	}
	obj = json_pack("{s:{s:i,s:i},s:s,s:s,s:O?}",
	    "proto", "min", LL_MSG_PROTO_MIN, "max", LL_PROTO_VERSION,
	    "role", role, "software", software, "caps", caps);
	if (obj == NULL)
		goto out;
	/* O? packs NULL as null; the wire says an empty list instead. */
	if (caps == NULL &&
	    json_object_set_new(obj, "caps", json_array()) != 0) {
		json_decref(obj);
		obj = NULL;
	}
out:
	return (obj);
}

static int
msg_hello_fail(int r, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
msg_hello_fail(int r, char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return (r);
}

int
ll_msg_hello_check(const json_t *hello, int *version, char *err,
    size_t errlen)
{
	json_t		*proto, *jmin, *jmax, *jrole, *jcaps, *jsw;
	const char	*role, *me;
	json_int_t	 min, max, best;
	size_t		 i;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (!json_is_object(hello))
		return (msg_hello_fail(LL_ERR_FORMAT, err, errlen,
		    "hello is not an object"));
	jrole = json_object_get(hello, "role");
	if (!json_is_string(jrole))
		return (msg_hello_fail(LL_ERR_FORMAT, err, errlen,
		    "hello without a role"));
	role = json_string_value(jrole);
	if (strcmp(role, "client") == 0)
		me = "agent";
	else if (strcmp(role, "agent") == 0)
		me = "client";
	else
		return (msg_hello_fail(LL_ERR_FORMAT, err, errlen,
		    "hello with unknown role"));
	jsw = json_object_get(hello, "software");
	if (jsw != NULL && !json_is_string(jsw))
		return (msg_hello_fail(LL_ERR_FORMAT, err, errlen,
		    "hello software is not a string"));
	jcaps = json_object_get(hello, "caps");
	if (jcaps != NULL) {
		if (!json_is_array(jcaps))
			return (msg_hello_fail(LL_ERR_FORMAT, err, errlen,
			    "hello caps is not a list"));
		for (i = 0; i < json_array_size(jcaps); i++) {
			if (!json_is_string(json_array_get(jcaps, i)))
				return (msg_hello_fail(LL_ERR_FORMAT, err,
				    errlen, "hello caps holds a non-string"));
		}
	}
	proto = json_object_get(hello, "proto");
	jmin = json_object_get(proto, "min");
	jmax = json_object_get(proto, "max");
	if (!json_is_object(proto) || !json_is_integer(jmin) ||
	    !json_is_integer(jmax))
		return (msg_hello_fail(LL_ERR_FORMAT, err, errlen,
		    "hello without protocol versions"));
	min = json_integer_value(jmin);
	max = json_integer_value(jmax);
	if (min < 1 || max < min)
		return (msg_hello_fail(LL_ERR_FORMAT, err, errlen,
		    "hello with bad protocol range %lld..%lld",
		    (long long)min, (long long)max));

	best = max < LL_PROTO_VERSION ? max : LL_PROTO_VERSION;
	if (best < min || best < LL_MSG_PROTO_MIN)
		return (msg_hello_fail(LL_ERR_VERSION, err, errlen,
		    "%s speaks protocol %lld..%lld, this %s %d..%d", role,
		    (long long)min, (long long)max, me, LL_MSG_PROTO_MIN,
		    LL_PROTO_VERSION));
	if (version != NULL)
		*version = (int)best;
	return (0);
}
