/*
 * SHA-256 as get/put use it to verify transfers end to end (OpenSSL's EVP):
 * a running context, the hash of a file's first bytes (for resuming), and
 * the hex form carried in JSON.  Shared by both programs so both sides hash
 * exactly the same way.
 */
#ifndef LL_DIGEST_H
#define LL_DIGEST_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>

#define LL_DIGEST_HEX_LEN	64	/* hex characters of a SHA-256 */

/* A fresh SHA-256 context (EVP_MD_CTX_free it), or NULL. */
EVP_MD_CTX *ll_digest_new(void);
/* Feed the first len bytes of fd (pread, from offset 0) into ctx:
 * 0, or -1 when the file is shorter or a read fails. */
int ll_digest_prefix(int fd, uint64_t len, EVP_MD_CTX *ctx);
/* The hex digest of what ctx has seen so far; ctx goes on.  0 or -1. */
int ll_digest_hex(EVP_MD_CTX *ctx, char out[LL_DIGEST_HEX_LEN + 1]);
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
