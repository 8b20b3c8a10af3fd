/*
 * The SHA-256 backend of the installed programs: OpenSSL's EVP, which they
 * link anyway (libssh's OpenSSL flavour).  digest.h says why there are two.
 */
#include "config.h"

#include <stdlib.h>

#include <openssl/evp.h>

#include "digest.h"

struct ll_digest {
	EVP_MD_CTX *md;
};

struct ll_digest *
ll_digest_new(void)
{
	struct ll_digest *ctx = calloc(1, sizeof(*ctx));

	if (ctx == NULL)
		return NULL;
	if ((ctx->md = EVP_MD_CTX_new()) == NULL ||
	    ll_digest_reset(ctx) != 0) {
		ll_digest_free(ctx);
		return NULL;
	}
	return ctx;
}

void
ll_digest_free(struct ll_digest *ctx)
{
	if (ctx == NULL)
		return;
	EVP_MD_CTX_free(ctx->md);
	free(ctx);
}

int
ll_digest_reset(struct ll_digest *ctx)
{
	return EVP_DigestInit_ex(ctx->md, EVP_sha256(), NULL) == 1 ? 0 : -1;
}

int
ll_digest_update(struct ll_digest *ctx, const void *p, size_t len)
{
	return EVP_DigestUpdate(ctx->md, p, len) == 1 ? 0 : -1;
}

int
ll_digest_peek(struct ll_digest *ctx, unsigned char out[LL_DIGEST_LEN])
{
	EVP_MD_CTX *copy = EVP_MD_CTX_new();
	unsigned n = 0;
	int rc = -1;

	/* Finish a copy: the caller's context keeps hashing. */
	if (copy != NULL && EVP_MD_CTX_copy_ex(copy, ctx->md) == 1 &&
	    EVP_DigestFinal_ex(copy, out, &n) == 1 && n == LL_DIGEST_LEN)
		rc = 0;
	EVP_MD_CTX_free(copy);
	return rc;
}
