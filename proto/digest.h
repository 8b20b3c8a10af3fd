/*
 * SHA-256 as get/put use it to verify transfers end to end: a running
 * context, the hash of a file's first bytes (for resuming), and the hex form
 * carried in JSON.  Shared by both programs so both sides hash exactly the
 * same way.
 *
 * The context is opaque because the hash comes from one of two well-kept
 * libraries: OpenSSL's EVP (digest-openssl.c, the installed programs) or
 * libgcrypt (digest-gcrypt.c, the portable agent of the deploy bundle, whose
 * libssh is the gcrypt flavour: OpenSSL 3's static libcrypto would add
 * 1 MB of xz to every deploy).
 */
#ifndef LL_DIGEST_H
#define LL_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LL_DIGEST_HEX_LEN	64	/* hex characters of a SHA-256 */
#define LL_DIGEST_LEN		32	/* bytes of a SHA-256 */

struct ll_digest;

/* A fresh SHA-256 context (ll_digest_free it), or NULL. */
struct ll_digest *ll_digest_new(void);
void ll_digest_free(struct ll_digest *ctx);
/* Start over, as if new: 0 or -1. */
int ll_digest_reset(struct ll_digest *ctx);
/* Hash len more bytes: 0 or -1. */
int ll_digest_update(struct ll_digest *ctx, const void *p, size_t len);
/* The digest of what ctx has seen so far; ctx goes on.  0 or -1. */
int ll_digest_peek(struct ll_digest *ctx, unsigned char out[LL_DIGEST_LEN]);

/* Feed the first len bytes of fd (pread, from offset 0) into ctx:
 * 0, or -1 when the file is shorter or a read fails. */
int ll_digest_prefix(int fd, uint64_t len, struct ll_digest *ctx);
/* The hex digest of what ctx has seen so far; ctx goes on.  0 or -1. */
int ll_digest_hex(struct ll_digest *ctx, char out[LL_DIGEST_HEX_LEN + 1]);
/* true for 64 lower-case hex characters */
bool ll_digest_is_hex(const char *s);

/*
 * The stem get and put build their helper names from (".STEM.lifeline-part",
 * ".STEM.lifeline-bakt", "STEM.lifeline-bak"): the name itself when it is at
 * most LL_NAME_STEM_MAX bytes, else its first LL_NAME_STEM_KEEP bytes, "~"
 * and the first 16 hex digits of the SHA-256 of the whole name, so that a
 * 255-byte name has helpers too, and two long names with one prefix do not
 * share them.  0, or -1 (out of memory).
 */
#define LL_NAME_STEM_MAX	235	/* NAME_MAX less the longest suffix */
#define LL_NAME_STEM_KEEP	200
int ll_digest_name_stem(const char *name, char out[LL_NAME_STEM_MAX + 1]);

#endif
