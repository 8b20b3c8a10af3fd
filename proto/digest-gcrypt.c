/*
 * The SHA-256 backend of the deploy bundle's portable agent: libgcrypt,
 * which its libssh (the gcrypt flavour) brings anyway, so that OpenSSL's
 * libcrypto is not in the bundle at all (digest.h says why).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <gcrypt.h>

#include "digest.h"

struct ll_digest {
	gcry_md_hd_t md;
};

struct ll_digest *
ll_digest_new(void)
{
	struct ll_digest *ctx;

	/* libssh initialises libgcrypt too; a second check is harmless and
	 * makes this usable before the first SSH session. */
	if (gcry_check_version(NULL) == NULL)
		return NULL;
	if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
		return NULL;
	if (gcry_md_open(&ctx->md, GCRY_MD_SHA256, 0) != 0) {
		free(ctx);
		return NULL;
	}
	return ctx;
}

void
ll_digest_free(struct ll_digest *ctx)
{
	if (ctx == NULL)
		return;
	gcry_md_close(ctx->md);
	free(ctx);
}

int
ll_digest_reset(struct ll_digest *ctx)
{
	gcry_md_reset(ctx->md);
	return 0;
}

int
ll_digest_update(struct ll_digest *ctx, const void *p, size_t len)
{
	gcry_md_write(ctx->md, p, len);
	return 0;
}

int
ll_digest_peek(struct ll_digest *ctx, unsigned char out[LL_DIGEST_LEN])
{
	gcry_md_hd_t copy;
	const unsigned char *d;
	int rc = -1;

	/* Finish a copy: the caller's context keeps hashing. */
	if (gcry_md_copy(&copy, ctx->md) != 0)
		return -1;
	if ((d = gcry_md_read(copy, GCRY_MD_SHA256)) != NULL) {
		memcpy(out, d, LL_DIGEST_LEN);
		rc = 0;
	}
	gcry_md_close(copy);
	return rc;
}
