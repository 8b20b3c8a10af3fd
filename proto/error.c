/*
 * Error strings.  A table indexed by the negated code keeps ll_strerror()
 * in step with error.h; a code outside the table gets a fixed fallback, so
 * the result is never NULL and never points at mutable storage.
 */
#include <stddef.h>

#include "error.h"

static const char *const ll_errors[] = {
	[0] = "success",
	[-LL_ERR_NOMEM] = "out of memory",
	[-LL_ERR_TOOBIG] = "length exceeds limit",
	[-LL_ERR_SHORT] = "not enough data",
	[-LL_ERR_CRC] = "checksum mismatch",
	[-LL_ERR_FORMAT] = "malformed data",
	[-LL_ERR_VERSION] = "unsupported protocol version",
	[-LL_ERR_IO] = "input/output error",
	[-LL_ERR_TIMEOUT] = "timed out",
	[-LL_ERR_CLOSED] = "connection closed",
	[-LL_ERR_EPOCH] = "message from another session",
	[-LL_ERR_INVAL] = "invalid argument",
	[-LL_ERR_AGAIN] = "try again",
	[-LL_ERR_TRAILING] = "trailing data after message",
	[-LL_ERR_RESET] = "session reset by peer",
	[-LL_ERR_NOTFOUND] = "not found",
	[-LL_ERR_BUSY] = "resource busy",
};

const char *
ll_strerror(int err)
{
	size_t	i;

	if (err > 0)
		return "unknown error";
	i = (size_t)-(long)err;
	if (i >= sizeof ll_errors / sizeof ll_errors[0] || ll_errors[i] == NULL)
		return "unknown error";
	return ll_errors[i];
}
