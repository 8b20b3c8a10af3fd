/*
 * zlib's crc32() for the first stage, from liblzma, which the stage links
 * anyway to unpack the agent: the frame code (proto/frame.c) asks zlib for
 * the CRC-32, and zlib's own tables would be 13 KB more typed into the
 * console.  Both compute the same CRC-32 (IEEE 802.3, reflected,
 * 0xEDB88320), continued from a previous value, 0 to start.
 */
#include <lzma.h>
#include <zlib.h>

uLong
crc32(uLong crc, const Bytef *buf, uInt len)
{
	if (buf == Z_NULL)
		return 0;
	return lzma_crc32(buf, len, (uint32_t)crc);
}
