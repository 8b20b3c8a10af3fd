/*
 * os-release and fstab text of the target, parsed in place: see
 * etc-text.h.  Both parsers only ever shrink the text (unquoting and
 * unescaping write at or behind the read position), so no length from the
 * file is trusted for an allocation.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "etc-text.h"
#include "msg.h"

/* KEY=value lines of os-release(5), shell-style quoting undone. */
json_t *
etc_os_release_parse(char *text)
{
	static const char *const keys[] = { "PRETTY_NAME", "NAME",
	    "VERSION_ID", "VERSION", "ID", "ID_LIKE", "VERSION_CODENAME",
	    NULL };
	json_t *o = json_object();
	char *line, *save = NULL, *v, *w, *val, q;
	int k;

	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		line[strcspn(line, "\r")] = '\0';
		if ((v = strchr(line, '=')) == NULL)
			continue;
		*v++ = '\0';
		for (k = 0; keys[k] != NULL; k++)
			if (strcmp(line, keys[k]) == 0)
				break;
		if (keys[k] == NULL)
			continue;
		q = (*v == '"' || *v == '\'') ? *v++ : '\0';
		val = v;
		for (w = v; *v != '\0' && *v != q; v++) {
			if (q == '"' && *v == '\\' && v[1] != '\0')
				v++;
			*w++ = *v;
		}
		*w = '\0';
		/* untrusted text: bytes that are not UTF-8 show '?' */
		if ((w = strndup(val, ETC_VALUE_MAX)) != NULL) {
			json_t *s = ll_msg_text(w);

			free(w);
			if (s != NULL)
				json_object_set_new(o, keys[k], s);
		}
	}
	return o;
}

/* fstab's octal escapes (\040 for a space) undone in place. */
void
etc_fstab_unescape(char *s)
{
	char *w = s;

	for (; *s != '\0'; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
			    (s[3] - '0'));
			s += 3;
		} else
			*w++ = *s;
	}
	*w = '\0';
}

int
etc_fstab_fields(char *line, char *f[6])
{
	char *s = line;
	int n, i;

	for (n = 0; n < 6; n++) {
		s += strspn(s, " \t\r");
		if (*s == '\0' || *s == '#')
			break;
		f[n] = s;
		s += strcspn(s, " \t\r");
		if (*s != '\0')
			*s++ = '\0';
	}
	for (i = n; i < 6; i++)
		f[i] = NULL;
	for (i = 0; i < n && i < 4; i++)
		etc_fstab_unescape(f[i]);
	return n;
}
