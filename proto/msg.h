/*
 * Message layer: length-prefixed records on a reliable byte stream.
 *
 *   record = u32 body_len | u8 kind | u8 flags | u32 id | body[body_len]
 *
 * Control kinds carry one JSON object (jansson); DATA and EOF carry raw bytes
 * of one channel (flags) of request id; ZDATA carries DATA compressed, and
 * the decoder hands it up as the DATA it stands for (zdata.h).  Kinds are numbered once and never
 * reused.  With the link layer, control records travel on link stream 0 and
 * DATA/EOF on stream 1.
 */
#ifndef LL_MSG_H
#define LL_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"

enum ll_msg_kind {
	LL_MSG_HELLO = 1,	/* JSON: versions, capabilities, peer info */
	LL_MSG_REQUEST = 2,	/* JSON: {"op": NAME, "args": {...}} */
	LL_MSG_REPLY = 3,	/* JSON: operation result */
	LL_MSG_ERROR = 4,	/* JSON: {"code": CODE, "message": TEXT} */
	LL_MSG_EVENT = 5,	/* JSON: progress or job state of request id */
	LL_MSG_CANCEL = 6,	/* JSON: cancel request id */
	LL_MSG_DATA = 7,	/* raw chunk of channel flags of request id */
	LL_MSG_EOF = 8,		/* channel flags of request id is finished */
	LL_MSG_ZDATA = 9,	/* a DATA chunk compressed (zdata.h) */
	LL_MSG_KIND_MAX = 9,
};

enum ll_msg_channel {
	LL_CH_STDIN = 0,
	LL_CH_STDOUT = 1,
	LL_CH_STDERR = 2,
	LL_CH_FILE = 3,
};

/* Stable error codes carried in LL_MSG_ERROR (docs/protocol.md). */
#define LL_EC_BAD_REQUEST	"bad_request"
#define LL_EC_UNKNOWN_OP	"unknown_op"
#define LL_EC_NOT_FOUND		"not_found"
#define LL_EC_PERMISSION	"permission"
#define LL_EC_EXEC_FAILED	"exec_failed"
#define LL_EC_BUSY		"busy"
#define LL_EC_CANCELLED		"cancelled"
#define LL_EC_TOO_BIG		"too_big"
#define LL_EC_INTERNAL		"internal"
#define LL_EC_VERSION		"version"

struct ll_msg {
	uint8_t kind;
	uint8_t flags;
	uint32_t id;
	json_t *json;		/* control kinds; owned, ll_msg_cleanup */
	uint8_t *data;		/* DATA: owned copy */
	size_t data_len;
	bool compressed;	/* DATA that came as a ZDATA record */
};

#define LL_MSG_PROTO_MIN	1	/* oldest protocol version spoken */
#define LL_MSG_ERROR_TEXT_MAX	4096	/* ERROR message text, bytes */

bool ll_msg_kind_is_json(uint8_t kind);
/* True for a valid enum ll_msg_channel value. */
bool ll_msg_channel_is_valid(uint8_t channel);
/*
 * Largest body_len accepted for kind: LL_MSG_JSON_MAX for JSON kinds,
 * LL_DATA_CHUNK_MAX for DATA, ZDATA and EOF, LL_MSG_MAX for unknown kinds (which
 * are skipped).  A buffer fed to ll_msg_get() must be allowed to grow to
 * LL_MSG_HEADER_LEN + LL_MSG_MAX bytes for every record to fit.
 */
size_t ll_msg_body_max(uint8_t kind);
/* Append one JSON record; LL_ERR_TOOBIG over LL_MSG_JSON_MAX. */
int ll_msg_put_json(struct ll_buf *out, uint8_t kind, uint32_t id,
    const json_t *obj);
/* Append one DATA or EOF record (EOF: n == 0). */
int ll_msg_put_data(struct ll_buf *out, uint8_t kind, uint8_t channel,
    uint32_t id, const void *p, size_t n);
/*
 * Take one complete record from in.  LL_ERR_SHORT (nothing consumed) when
 * incomplete; LL_ERR_TOOBIG when the announced length is over its cap,
 * LL_ERR_FORMAT for an unknown kind, bad JSON, a non-object or trailing
 * bytes after the JSON value, a ZDATA body that does not inflate to its
 * announced length (ll_zdata_inflate); a ZDATA record comes out as kind
 * LL_MSG_DATA with compressed set; the bad record is consumed when its length was
 * acceptable, so the stream can go on.
 *
 * Details: m is overwritten (zeroed first); on success the caller owns it
 * and calls ll_msg_cleanup(), on failure it owns nothing, but with
 * LL_ERR_FORMAT (and LL_ERR_NOMEM) m->kind, m->flags and m->id hold the bad
 * record's header, so the answer can carry its id.  LL_ERR_TOOBIG is
 * returned as soon as the 10-byte header is in, with nothing consumed; the
 * stream cannot be resynchronised after it, so the caller must drop the
 * connection.  LL_ERR_FORMAT (record consumed) also covers duplicate keys,
 * nonzero flags on a JSON kind, an invalid channel on DATA/EOF and an EOF
 * with a body; the caller may answer with an ERROR and read on.
 * LL_ERR_NOMEM leaves the record in place.
 */
int ll_msg_get(struct ll_buf *in, struct ll_msg *m);
void ll_msg_cleanup(struct ll_msg *m);
/*
 * The part received so far of a DATA record that is still arriving: when in
 * starts with a DATA header (valid channel, length within its cap) and not
 * all of its body is there, 1 with m holding its channel, id and a copy of
 * the body bytes received (data_len may be 0; ll_msg_cleanup it); 0 when in
 * does not start so; LL_ERR_NOMEM.  Nothing is consumed: this is for a
 * reader about to abandon the stream (an interrupted download keeps every
 * byte that arrived).
 */
int ll_msg_peek_partial_data(const struct ll_buf *in, struct ll_msg *m);

/*
 * Byte strings in JSON bodies (file names, paths, link targets), which need
 * not be UTF-8 while JSON strings must be.  A value that is valid UTF-8 goes
 * as today, "key": "text"; any other goes as "key_base64": base64 (RFC 4648,
 * with padding) of the raw bytes, and "key" is absent.  Never both.
 *
 * ll_msg_set_bytes: set key (or key_base64) of obj to the NUL-terminated s.
 * 0, LL_ERR_INVAL (obj not an object, key too long) or LL_ERR_NOMEM.
 *
 * ll_msg_get_bytes: read key or key_base64 of obj into *out, a new
 * NUL-terminated copy (the caller frees it), *len its length (without the
 * NUL; the bytes may hold a NUL, so check len when that matters).
 * LL_ERR_NOTFOUND when neither is there (or key is null), LL_ERR_FORMAT when
 * both are, when either is not a string, or when key_base64 is not strict
 * base64; LL_ERR_NOMEM.  *out is NULL on every failure.
 */
#define LL_MSG_BYTES_SUFFIX	"_base64"
/*
 * A JSON string of text for humans that may not be UTF-8 (a warning, a
 * label, a mount point in a report): as json_string(), but when s is not
 * UTF-8 its non-ASCII bytes become '?' rather than the value being lost.
 * NULL only for a NULL s or out of memory.
 */
json_t *ll_msg_text(const char *s);
/* ll_msg_text() of a printf-formatted text. */
json_t *ll_msg_textf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
int ll_msg_set_bytes(json_t *obj, const char *key, const char *s);
int ll_msg_get_bytes(const json_t *obj, const char *key, char **out,
    size_t *len);

/* Helpers for building control messages. */
/*
 * New {"code": code, "message": text} (text cut at LL_MSG_ERROR_TEXT_MAX
 * bytes; if it is not UTF-8 its non-ASCII bytes become '?').  NULL when out
 * of memory.  The caller owns the reference.
 */
json_t *ll_msg_error_new(const char *code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Append an ERROR record for request id built as ll_msg_error_new(). */
int ll_msg_put_error(struct ll_buf *out, uint32_t id, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/*
 * New HELLO body {"caps": [...], "proto": {"max": LL_PROTO_VERSION, "min":
 * LL_MSG_PROTO_MIN}, "role": role, "software": software}.  role is "client"
 * or "agent"; caps, an array of strings, is borrowed (not stolen); NULL
 * means [].  NULL on bad arguments or out of memory.
 */
json_t *ll_msg_hello_new(const char *role, const char *software,
    json_t *caps);
/*
 * HELLO capability of a client that needs no list of the agent's
 * operations: the agent's HELLO then lists only its features (it is a
 * third of the bytes, 0.25 s less at 9600 baud; docs/protocol.md).
 */
#define LL_BRIEF_HELLO_CAP	"brief-hello"
/*
 * Check the peer's HELLO body and pick the highest protocol version both
 * speak into *version.  LL_ERR_FORMAT for a malformed hello (role not
 * "client"/"agent", proto.min/max missing or min < 1 or max < min, software
 * or caps of the wrong type), LL_ERR_VERSION when the ranges do not meet;
 * either way err (if errlen > 0) receives a human message such as "agent
 * speaks protocol 2..3, this client 1..1".
 */
int ll_msg_hello_check(const json_t *hello, int *version, char *err,
    size_t errlen);

#endif
