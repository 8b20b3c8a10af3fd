/*
 * Agent replies as the client shows them to a person.  A reply carries
 * text from the server being rescued (filesystem labels, os-release names,
 * fstab lines, tool output), which may be compromised, and from the agent,
 * which may be an impostor: a string must not be able to drive the
 * operator's terminal (escape sequences, carriage returns that overwrite a
 * line), and a value of the wrong JSON type must not reach printf as NULL.
 * tests/fuzz/fuzz-reply.c drives these functions with hostile replies.
 */
#ifndef LL_CLIENT_REPLY_H
#define LL_CLIENT_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/*
 * Replace, in every string inside v (in place), each control character
 * (C0 but newline and tab, DEL, C1 such as U+009B CSI) with '?'.
 * print_reply() does this before a human printer runs.
 */
void reply_clean(json_t *v);
/* Whether s[0, n) holds no character reply_clean replaces. */
bool reply_text_is_clean(const char *s, size_t n);
/* The string value of v, or "" when v is not a string. */
const char *reply_str(json_t *v);

/*
 * Whether the name n (len bytes, as decoded from an entry of the agent's
 * file-list reply, "name" or "name_base64") can be created in the local
 * destination directory as one entry: not empty, ".", "..", and without
 * '/' or a NUL byte.  get refuses the reply otherwise.
 */
bool xfer_name_is_safe(const char *n, size_t len);

/* The human printers of disks and inspect. */
void disks_print(json_t *res);
void inspect_print(json_t *res);

#endif
