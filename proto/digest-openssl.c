/*
 * The SHA-256 backend of the installed programs: OpenSSL's libcrypto, which
 * they link anyway (libssh's OpenSSL flavour).  digest.h says why there are
 * two.
 *
 * It uses libcrypto's SHA256_Init/Update/Final rather than EVP: the first
 * EVP_sha256() fetch loads and initialises the default provider, whose
 * algorithm tables and code pages cost the agent about 2 MB of resident
 * memory on an --insecure get (RSS 8.5 MB against 6.6 MB; tests/bench/
 * compress.sh prints it), while the low-level functions run the same
 * assembly with a 112-byte context and nothing else.  OpenSSL 3 marks them
 * deprecated (in favour of EVP, for pluggable providers, which a plain
 * SHA-256 does not need), so the deprecation warning is silenced here only.
 */
#include "config.h"

#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "digest.h"

struct ll_digest {
	SHA256_CTX sha;
};

struct ll_digest *
ll_digest_new(void)
{
	struct ll_digest *ctx = calloc(1, sizeof(*ctx));

	if (ctx == NULL)
		return NULL;
	if (ll_digest_reset(ctx) != 0) {
		ll_digest_free(ctx);
		return NULL;
	}
	return ctx;
}

void
ll_digest_free(struct ll_digest *ctx)
{
	free(ctx);
}

int
ll_digest_reset(struct ll_digest *ctx)
{
	return SHA256_Init(&ctx->sha) == 1 ? 0 : -1;
}

int
ll_digest_update(struct ll_digest *ctx, const void *p, size_t len)
{
	return SHA256_Update(&ctx->sha, p, len) == 1 ? 0 : -1;
}

int
ll_digest_peek(struct ll_digest *ctx, unsigned char out[LL_DIGEST_LEN])
{
	SHA256_CTX copy;
	int rc;

	/* Finish a copy: the caller's context keeps hashing. */
	memcpy(&copy, &ctx->sha, sizeof(copy));
	rc = SHA256_Final(out, &copy) == 1 ? 0 : -1;
	return rc;
}
