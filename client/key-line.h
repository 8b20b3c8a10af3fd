/*
 * Public key lines as authorize-key reads them from the operator's key
 * file: "[options] type base64 [comment]", validated with libssh before
 * anything is sent.  The file crosses a trust line (it may come from
 * anyone who mailed the operator a key), so a line is taken whole or the
 * command fails naming it: never cut, never silently dropped.
 * tests/fuzz/fuzz-keytext.c drives these functions.
 */
#ifndef LL_CLIENT_KEY_LINE_H
#define LL_CLIENT_KEY_LINE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define KEY_LINES_MAX	64		/* keys in one file */
#define KEY_LINE_MAX	16384		/* bytes of one line */

/* Whether line is "[options] type base64 [comment]" of a key libssh can
 * decode; why says what is wrong when not. */
bool key_line_is_valid(const char *line, char *why, size_t whylen);

/*
 * One line of a key file, n bytes as read (line end included; modified in
 * place): trimmed, skipped when blank or a # comment, else checked (text
 * without NUL bytes, valid UTF-8, at most KEY_LINE_MAX bytes, a valid key,
 * at most KEY_LINES_MAX keys in all) and appended to keys as a string.
 * 0, or -1 with why ("not a valid public key: ...").
 */
int key_line_take(char *line, size_t n, json_t *keys, char *why,
    size_t whylen);

#endif
