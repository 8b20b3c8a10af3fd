/*
 * SHA-256 helpers for transfers (see digest.h), on top of whichever backend
 * is linked (digest-openssl.c or digest-gcrypt.c).  Prefix hashing reads
 * with pread in fixed chunks, so memory stays bounded whatever the file
 * size.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"

#define DIGEST_CHUNK	(64 * 1024)

int
ll_digest_prefix(int fd, uint64_t len, struct ll_digest *ctx)
{
	unsigned char buf[DIGEST_CHUNK];
	uint64_t at = 0;

	while (at < len) {
		size_t want = len - at > sizeof(buf) ? sizeof(buf) :
		    (size_t)(len - at);
		ssize_t n = pread(fd, buf, want, (off_t)at);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		if (ll_digest_update(ctx, buf, (size_t)n) != 0)
			return -1;
		at += (uint64_t)n;
	}
	return 0;
}

int
ll_digest_hex(struct ll_digest *ctx, char out[LL_DIGEST_HEX_LEN + 1])
{
	unsigned char d[LL_DIGEST_LEN];
	unsigned i;

	out[0] = '\0';
	if (ctx == NULL || ll_digest_peek(ctx, d) != 0)
		return -1;
	for (i = 0; i < LL_DIGEST_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
	return 0;
}

bool
ll_digest_is_hex(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != LL_DIGEST_HEX_LEN)
		return false;
	for (i = 0; i < LL_DIGEST_HEX_LEN; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

int
ll_digest_name_stem(const char *name, char out[LL_NAME_STEM_MAX + 1])
{
	char hex[LL_DIGEST_HEX_LEN + 1];
	size_t n = strlen(name);
	struct ll_digest *md;
	int rc = -1;

	if (n <= LL_NAME_STEM_MAX) {
		memcpy(out, name, n + 1);
		return 0;
	}
	if ((md = ll_digest_new()) == NULL)
		return -1;
	if (ll_digest_update(md, name, n) == 0 && ll_digest_hex(md, hex) == 0) {
		snprintf(out, LL_NAME_STEM_MAX + 1, "%.*s~%.16s",
		    LL_NAME_STEM_KEEP, name, hex);
		rc = 0;
	}
	ll_digest_free(md);
	return rc;
}
