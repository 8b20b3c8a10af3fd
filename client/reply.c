/*
 * Cleaning agent replies before a person sees them: see reply.h.  The
 * strings are valid UTF-8 (jansson checks), so a C1 control is always the
 * two bytes C2 80..C2 9F; everything else is kept byte for byte.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "reply.h"

/* Length of the control character at s (n bytes left), or 0. */
static size_t
reply_control_len(const unsigned char *s, size_t n)
{
	if ((s[0] < 0x20 && s[0] != '\n' && s[0] != '\t') || s[0] == 0x7f)
		return 1;
	if (s[0] == 0xc2 && n > 1 && s[1] >= 0x80 && s[1] <= 0x9f)
		return 2;
	return 0;
}

bool
reply_text_is_clean(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (reply_control_len((const unsigned char *)s + i, n - i) != 0)
			return false;
	return true;
}

static void
reply_clean_string(json_t *v)
{
	const char *s = json_string_value(v);
	size_t n = json_string_length(v), i, k, o = 0;
	char *t;

	if (reply_text_is_clean(s, n) || (t = malloc(n + 1)) == NULL)
		return;
	for (i = 0; i < n; i += k) {
		k = reply_control_len((const unsigned char *)s + i, n - i);
		if (k != 0)
			t[o++] = '?';
		else {
			t[o++] = s[i];
			k = 1;
		}
	}
	json_string_setn_nocheck(v, t, o);
	free(t);
}

void
reply_clean(json_t *v)
{
	const char *k;
	json_t *e;
	size_t i;

	if (json_is_string(v))
		reply_clean_string(v);
	else if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			reply_clean(e);
	} else if (json_is_object(v)) {
		json_object_foreach(v, k, e)
			reply_clean(e);
	}
}

const char *
reply_str(json_t *v)
{
	const char *s = json_string_value(v);

	return s != NULL ? s : "";
}

bool
xfer_name_is_safe(const char *n, size_t len)
{
	return len > 0 && strlen(n) == len && strchr(n, '/') == NULL &&
	    strcmp(n, ".") != 0 && strcmp(n, "..") != 0;
}
