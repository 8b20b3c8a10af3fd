/*
 * Parsing and editing the target's account files in memory: see
 * pw-file.h.  Lines are found by byte offsets, never by copying and
 * re-joining, so an edit can only touch the bytes of one field; every
 * count and number read from a file is checked before it is used.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "pw-file.h"

void
pw_buf_free(struct pw_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = 0;
}


/*
 * The line of user in a colon-separated file: [*ls, *le) without its line
 * end ("\n" or "\r\n").  The first match wins, as getspnam() does.
 */
bool
pw_find_line(const char *p, size_t len, const char *user, size_t *ls,
    size_t *le)
{
	size_t ulen = strlen(user), s = 0, e;

	while (s < len) {
		const char *nl = memchr(p + s, '\n', len - s);

		e = nl != NULL ? (size_t)(nl - p) : len;
		if (e - s > ulen && memcmp(p + s, user, ulen) == 0 &&
		    p[s + ulen] == ':') {
			*ls = s;
			*le = e;
			if (e > s && p[e - 1] == '\r')
				(*le)--;
			return true;
		}
		s = e + 1;
	}
	return false;
}

/* Field idx (0-based) of the line [ls, le).  False when the line is short. */
bool
pw_field(const char *p, size_t ls, size_t le, int idx, size_t *fs,
    size_t *fe)
{
	size_t i = ls;

	while (idx > 0) {
		const char *c = memchr(p + i, ':', le - i);

		if (c == NULL)
			return false;
		i = (size_t)(c - p) + 1;
		idx--;
	}
	*fs = i;
	{
		const char *c = memchr(p + i, ':', le - i);

		*fe = c != NULL ? (size_t)(c - p) : le;
	}
	return true;
}

/* Field idx of user's line as a new string, or NULL. */
char *
pw_user_field(const struct pw_buf *b, const char *user, int idx)
{
	size_t ls, le, fs, fe;

	if (b->p == NULL || !pw_find_line(b->p, b->len, user, &ls, &le) ||
	    !pw_field(b->p, ls, le, idx, &fs, &fe) ||
	    memchr(b->p + fs, '\0', fe - fs) != NULL)
		return NULL;
	return strndup(b->p + fs, fe - fs);
}


/* The method prefix of a shadow password field ("$y$", "des"), or "". */
const char *
pw_method_of(const char *h, size_t n)
{
	const char *const prefixes[] = {
		"$y$", "$gy$", "$7$", "$2b$", "$2a$", "$2y$", "$6$", "$5$",
		"$1$", "$sha1$", "$md5", NULL
	};
	size_t i;

	while (n > 0 && *h == '!') {
		h++;
		n--;
	}
	for (i = 0; prefixes[i] != NULL; i++) {
		size_t pl = strlen(prefixes[i]);

		if (n > pl && strncmp(h, prefixes[i], pl) == 0)
			return prefixes[i];
	}
	if (n == 13 && strspn(h, "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz") == 13)
		return "des";
	return "";
}

/* What a password field means. */
const char *
pw_state_of(const char *h, size_t n)
{
	if (n == 0)
		return "empty";
	if (h[0] == '!')
		return "locked";
	if (*pw_method_of(h, n) == '\0')
		return "disabled";
	return "hash";
}

/* The form of a finished hash: a known method, crypt's alphabet. */
bool
pw_hash_is_valid(const char *h)
{
	size_t n = strlen(h);

	if (n == 0 || n > PW_HASH_MAX)
		return false;
	if (strspn(h, "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz$=,") != n)
		return false;
	return *pw_method_of(h, n) != '\0';
}


/*
 * in with field idx of the line [ls, le) replaced by value, into *out
 * (malloc'd, NUL-terminated); *changed when that differs.  An unchanged
 * field leaves *out NULL.  0, -EINVAL when the line has too few fields, or
 * -ENOMEM.
 */
int
pw_edit_field(const struct pw_buf *in, size_t ls, size_t le, int idx,
    const char *value, struct pw_buf *out, bool *changed)
{
	size_t fs, fe, vlen = strlen(value);

	out->p = NULL;
	out->len = 0;
	*changed = false;
	if (!pw_field(in->p, ls, le, idx, &fs, &fe))
		return -EINVAL;
	if (vlen == fe - fs && memcmp(value, in->p + fs, vlen) == 0)
		return 0;
	out->len = fs + vlen + (in->len - fe);
	if ((out->p = malloc(out->len + 1)) == NULL)
		return -ENOMEM;
	memcpy(out->p, in->p, fs);
	memcpy(out->p + fs, value, vlen);
	memcpy(out->p + fs + vlen, in->p + fe, in->len - fe);
	out->p[out->len] = '\0';
	*changed = true;
	return 0;
}


/* Next whitespace-separated token of *s (quotes removed), or NULL. */
char *
pw_token(char **s)
{
	char *p = *s, *t;

	while (*p == ' ' || *p == '\t' || *p == '=')
		p++;
	if (*p == '\0')
		return NULL;
	if (*p == '"') {
		t = ++p;
		while (*p != '\0' && *p != '"')
			p++;
	} else {
		t = p;
		while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '=')
			p++;
	}
	if (*p != '\0')
		*p++ = '\0';
	*s = p;
	return t;
}


/* The fields of user's shadow line (a copy) split at ':'. */
int
pw_split(const struct pw_buf *b, const char *user, char **copy,
    char *f[9])
{
	size_t ls, le;
	char *p;
	int n = 0;

	memset(f, 0, 9 * sizeof(*f));
	*copy = NULL;
	if (!pw_find_line(b->p, b->len, user, &ls, &le))
		return -1;
	/* A NUL would end the copy early and hide the fields after it. */
	if (memchr(b->p + ls, '\0', le - ls) != NULL)
		return -EINVAL;
	if ((*copy = strndup(b->p + ls, le - ls)) == NULL)
		return -ENOMEM;
	for (p = *copy; n < 9; n++) {
		f[n] = p;
		/* the ninth keeps the rest of the line, colons and all */
		if (n == 8 || (p = strchr(p, ':')) == NULL)
			break;
		*p++ = '\0';
	}
	return 0;
}


/* The new value of the changed field, into field[size].  0 or -errno. */
static int
pw_new_field(enum pw_action action, const char *hash, const char *old,
    size_t flen, char *field, size_t size, const char *user, char *err,
    size_t errlen)
{
	switch (action) {
	case PW_SET:
		if (strlen(hash) >= size)
			return -E2BIG;
		snprintf(field, size, "%s", hash);
		break;
	case PW_CLEAR:
		field[0] = '\0';
		break;
	case PW_LOCK:
		if (flen > 0 && old[0] == '!')
			return 1;
		if (flen + 2 > size) {
			snprintf(err, errlen, "the password field of %s is "
			    "too long to lock", user);
			return -E2BIG;
		}
		field[0] = '!';
		memcpy(field + 1, old, flen);
		field[flen + 1] = '\0';
		break;
	case PW_UNLOCK:
		if (flen == 0 || old[0] != '!')
			return 1;
		if (flen == 1) {
			snprintf(err, errlen, "unlocking %s would leave an "
			    "empty password: set one with --password or "
			    "--stdin instead", user);
			return -EINVAL;
		}
		if (flen > size) {
			snprintf(err, errlen, "the password field of %s is "
			    "too long", user);
			return -E2BIG;
		}
		memcpy(field, old + 1, flen - 1);
		field[flen - 1] = '\0';
		break;
	case PW_EXPIRE:
		snprintf(field, size, "0");
		break;
	}
	return 0;
}

int
pw_rewrite(const struct pw_buf *in, const char *user, enum pw_action action,
    const char *hash, long today, struct pw_buf *out, bool *changed,
    long *lastchg, char *err, size_t errlen)
{
	char field[PW_HASH_MAX + 64], day[32];
	struct pw_buf cur, aged;
	size_t ls, le, fs, fe;
	bool dated;
	int idx = action == PW_EXPIRE ? 2 : 1, rc;

	field[0] = '\0';

	out->p = NULL;
	out->len = 0;
	*changed = false;
	*lastchg = -1;
	if (!pw_find_line(in->p, in->len, user, &ls, &le)) {
		snprintf(err, errlen, "no line of %s", user);
		return -ENOENT;
	}
	/* The new field is built as a string: a NUL would cut it short. */
	if (memchr(in->p + ls, '\0', le - ls) != NULL) {
		snprintf(err, errlen, "the etc/shadow line of %s holds a NUL "
		    "byte: repair the file by hand", user);
		return -EINVAL;
	}
	if (!pw_field(in->p, ls, le, idx, &fs, &fe)) {
		snprintf(err, errlen, "the etc/shadow line of %s has too few "
		    "fields", user);
		return -EINVAL;
	}
	rc = pw_new_field(action, hash, in->p + fs, fe - fs, field,
	    sizeof(field), user, err, errlen);
	if (rc == 1)
		return 0;		/* already so */
	if (rc == 0)
		rc = pw_edit_field(in, ls, le, idx, field, out, changed);
	explicit_bzero(field, sizeof(field));
	if (rc != 0)
		goto fail;
	if (action == PW_EXPIRE)
		*lastchg = 0;
	if (action != PW_SET && action != PW_CLEAR)
		return 0;
	/*
	 * A new (or no) password starts its age today, as passwd(1) does:
	 * an old date could expire it at once under a maximum age.  Day 0
	 * itself would mean "change at the next login", so it stays empty.
	 */
	*lastchg = today;
	if (today > 0)
		snprintf(day, sizeof(day), "%ld", today);
	else
		day[0] = '\0';
	cur = *changed ? *out : *in;
	if (!pw_find_line(cur.p, cur.len, user, &ls, &le) ||
	    (rc = pw_edit_field(&cur, ls, le, 2, day, &aged, &dated)) ==
	    -EINVAL) {
		/* a line without aging fields: nothing to date */
		*lastchg = -1;
		return 0;
	}
	if (rc != 0)
		goto fail;
	if (dated) {
		if (*changed) {
			explicit_bzero(out->p, out->len);
			pw_buf_free(out);
		}
		*out = aged;
		*changed = true;
	}
	return 0;
fail:
	if (out->p != NULL)
		explicit_bzero(out->p, out->len);
	pw_buf_free(out);
	*changed = false;
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	return rc;
}

json_t *
pw_login_defs_parse(char *text)
{
	static const char *const keys[] = {
		"ENCRYPT_METHOD", "YESCRYPT_COST_FACTOR",
		"SHA_CRYPT_MIN_ROUNDS", "SHA_CRYPT_MAX_ROUNDS",
		"BCRYPT_MIN_ROUNDS", "BCRYPT_MAX_ROUNDS", "MD5_CRYPT_ENAB",
		NULL
	};
	json_t *o = json_object();
	char *line, *next, *s, *k, *v;
	int i;

	for (line = text; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		line[strcspn(line, "\r")] = '\0';
		s = line;
		if ((k = pw_token(&s)) == NULL || k[0] == '#' ||
		    (v = pw_token(&s)) == NULL)
			continue;
		for (i = 0; keys[i] != NULL; i++) {
			/* the last setting wins, as getdef() reads it */
			if (strcmp(k, keys[i]) == 0 && strlen(v) < 64)
				json_object_set_new(o, k, ll_msg_text(v));
		}
	}
	return o;
}

/* A uid or gid field: decimal digits only, below (id_t)-1. */
static bool
pw_id_parse(const char *s, unsigned long *out)
{
	unsigned long v = 0;

	if (*s == '\0' || strspn(s, "0123456789") != strlen(s) ||
	    strlen(s) > 10)
		return false;
	for (; *s != '\0'; s++)
		v = v * 10 + (unsigned long)(*s - '0');
	if (v >= 0xffffffffUL)
		return false;
	*out = v;
	return true;
}

int
pw_passwd_entry(const struct pw_buf *b, const char *user, uid_t *uid,
    gid_t *gid, char *home, size_t homelen, char *err, size_t errlen)
{
	unsigned long u, g;
	char *copy = NULL, *f[9];
	int rc = -EINVAL, split;

	if ((split = pw_split(b, user, &copy, f)) == -1) {
		snprintf(err, errlen, "no user %s in the target's etc/passwd",
		    user);
		return -ENOENT;
	}
	if (split != 0)
		snprintf(err, errlen, "the target's etc/passwd line of %s %s",
		    user, split == -ENOMEM ? "cannot be copied: out of memory" :
		    "holds a NUL byte");
	else if (f[5] == NULL)
		snprintf(err, errlen, "the target's etc/passwd line of %s is "
		    "malformed", user);
	else if (!pw_id_parse(f[2], &u) || !pw_id_parse(f[3], &g))
		snprintf(err, errlen, "the target's etc/passwd line of %s has "
		    "a uid or gid that is not a number (\"%.32s\", \"%.32s\")",
		    user, f[2], f[3]);
	else if (f[5][0] != '/' || strlen(f[5]) >= homelen)
		snprintf(err, errlen, "the home directory of %s (\"%.200s\") "
		    "is not an absolute path", user, f[5]);
	else {
		*uid = (uid_t)u;
		*gid = (gid_t)g;
		snprintf(home, homelen, "%s", f[5]);
		rc = 0;
	}
	free(copy);
	return rc;
}
