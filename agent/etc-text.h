/*
 * Text files of the target that inspect reads (etc/os-release, etc/fstab),
 * parsed in memory.  The target may be compromised, so the text is hostile:
 * every function works in place on a NUL-terminated copy and never grows
 * it, and text that is not UTF-8 becomes a JSON string with '?' for its
 * odd bytes (ll_msg_text).  tests/fuzz/fuzz-etc.c and
 * fuzz-fstab.c drive these same functions.
 */
#ifndef LL_AGENT_ETC_TEXT_H
#define LL_AGENT_ETC_TEXT_H

#include <jansson.h>

#define ETC_VALUE_MAX	1024	/* bytes of an os-release value kept */

/*
 * The KEY=value lines of an os-release(5) text (modified in place) that
 * inspect reports (PRETTY_NAME, NAME, VERSION_ID, VERSION, ID, ID_LIKE,
 * VERSION_CODENAME), quoting undone as the shell would: '...' literally,
 * "..." with backslash escapes.  A key given twice keeps the last value;
 * bytes that are not UTF-8 show as '?'.  A new object.
 */
json_t *etc_os_release_parse(char *text);

/* fstab's octal escapes (\040 for a space, \134 for a backslash) undone in
 * place, each once: what an escape produced is never read again. */
void etc_fstab_unescape(char *s);

/*
 * Split one fstab line (modified in place) into at most six fields, the
 * first four unescaped; f[n..5] are set to NULL.  Returns the number of
 * fields, 0 for a blank or comment line.
 */
int etc_fstab_fields(char *line, char *f[6]);

#endif
