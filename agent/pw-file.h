/*
 * The target's colon-separated account files (etc/shadow, etc/passwd,
 * etc/group) and etc/login.defs, parsed from bytes in memory.  These files
 * come from the server being rescued, which may be compromised, and are read
 * by the agent as root: nothing here trusts a length, a field count or a
 * number in them.  No I/O happens here, so the passwd operation and the
 * fuzz target (tests/fuzz/fuzz-shadow.c) run the same code.
 *
 * The edit functions change one field of one line and copy every other byte
 * as it was, line ends ("\n" or "\r\n") included.
 */
#ifndef LL_AGENT_PW_FILE_H
#define LL_AGENT_PW_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#define PW_HASH_MAX		512

/* A file read whole (p NUL-terminated after len bytes when read). */
struct pw_buf {
	char *p;
	size_t len;
};

enum pw_action { PW_SET, PW_CLEAR, PW_LOCK, PW_UNLOCK, PW_EXPIRE };

void pw_buf_free(struct pw_buf *b);

/*
 * The first line of user ("user:...") in p[0, len): [*ls, *le) without its
 * line end.  False when there is none.
 */
bool pw_find_line(const char *p, size_t len, const char *user, size_t *ls,
    size_t *le);
/* Field idx (0-based) of the line [ls, le): [*fs, *fe).  False when short. */
bool pw_field(const char *p, size_t ls, size_t le, int idx, size_t *fs,
    size_t *fe);
/* Field idx of user's line as a new string, or NULL (also when the field
 * holds a NUL byte). */
char *pw_user_field(const struct pw_buf *b, const char *user, int idx);
/*
 * User's line copied to *copy (malloc'd, the caller frees it) and split at
 * ':' into f[0..8] (NULL past the last field; the ninth holds the rest).
 * 0; -1 when user has no line; -EINVAL when the line holds a NUL byte
 * (which would hide the fields after it); -ENOMEM.  *copy is NULL unless 0.
 */
int pw_split(const struct pw_buf *b, const char *user, char **copy,
    char *f[9]);

/* The method prefix of a shadow password field ("$y$", "des"), or "". */
const char *pw_method_of(const char *h, size_t n);
/* What a password field means: "empty", "locked", "disabled" or "hash". */
const char *pw_state_of(const char *h, size_t n);
/* A finished hash: a known method, crypt's alphabet (so no ':' or '\n'). */
bool pw_hash_is_valid(const char *h);

/*
 * in with field idx of the line [ls, le) replaced by value, into *out
 * (malloc'd, NUL-terminated); *changed when that differs.  An unchanged
 * field leaves out->p NULL.  0, -EINVAL when the line has too few fields,
 * or -ENOMEM.
 */
int pw_edit_field(const struct pw_buf *in, size_t ls, size_t le, int idx,
    const char *value, struct pw_buf *out, bool *changed);

/*
 * The passwd operation's change to etc/shadow contents in: action on user's
 * line (hash only for PW_SET, checked with pw_hash_is_valid by the caller).
 * A new or cleared password is dated today (days since 1970, field 3) when
 * the line has that field, as passwd(1) does.  *out gets the new contents
 * (malloc'd; out->p NULL when nothing changed), *changed whether they
 * differ, *lastchg the last-change day written (-1 none).
 *
 * Returns 0, or with err saying what is wrong: -ENOENT (no line of user),
 * -EINVAL (the line has too few fields or holds a NUL byte, or unlocking
 * would leave the password empty),
 * -E2BIG (the field is too long), -ENOMEM.
 */
int pw_rewrite(const struct pw_buf *in, const char *user,
    enum pw_action action, const char *hash, long today, struct pw_buf *out,
    bool *changed, long *lastchg, char *err, size_t errlen);

/* Next whitespace- or '='-separated token of *s (quotes removed), or NULL. */
char *pw_token(char **s);

/*
 * The hash-method settings of a login.defs text (modified in place): an
 * object of the keys lifeline uses, the last setting of each winning as
 * getdef() reads them.  Values are strings shorter than 64 bytes.
 */
json_t *pw_login_defs_parse(char *text);

/*
 * uid, gid and home of user from etc/passwd contents b.  0; -ENOENT when
 * user has no line; -EINVAL with err set when the line is malformed (a NUL
 * byte, fewer than six fields, a uid or gid that is not a decimal number below
 * 2^32 - 1, a home that is not an absolute path).
 */
int pw_passwd_entry(const struct pw_buf *b, const char *user, uid_t *uid,
    gid_t *gid, char *home, size_t homelen, char *err, size_t errlen);

#endif
