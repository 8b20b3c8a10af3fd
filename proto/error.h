/*
 * Error codes shared by every proto/ module.  Functions return 0 (or a
 * non-negative count) on success and one of these negative values on failure.
 * ll_strerror() turns a code into a short English phrase; it never returns
 * NULL.  Foreign errors (errno, libserialport, ...) are mapped at the boundary.
 */
#ifndef LL_ERROR_H
#define LL_ERROR_H

enum {
	LL_OK = 0,
	LL_ERR_NOMEM = -1,	/* allocation failed */
	LL_ERR_TOOBIG = -2,	/* a length exceeds its cap */
	LL_ERR_SHORT = -3,	/* not enough bytes (yet) */
	LL_ERR_CRC = -4,	/* checksum mismatch */
	LL_ERR_FORMAT = -5,	/* malformed encoding */
	LL_ERR_VERSION = -6,	/* unsupported protocol version */
	LL_ERR_IO = -7,		/* transport I/O failure (see errno) */
	LL_ERR_TIMEOUT = -8,	/* peer did not answer in time */
	LL_ERR_CLOSED = -9,	/* the other end closed the connection */
	LL_ERR_EPOCH = -10,	/* frame or hello from another session */
	LL_ERR_INVAL = -11,	/* invalid argument */
	LL_ERR_AGAIN = -12,	/* would block; try again later */
	LL_ERR_TRAILING = -13,	/* bytes left over after a complete decode */
	LL_ERR_RESET = -14,	/* peer restarted or reset the session */
	LL_ERR_NOTFOUND = -15,	/* no such device, host or file */
	LL_ERR_BUSY = -16,	/* resource locked by another user */
};

const char *ll_strerror(int err);

#endif
