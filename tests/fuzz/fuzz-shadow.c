/*
 * libFuzzer target for the account-file parsers of agent/pw-file.c: the
 * passwd operation's rewrite of etc/shadow, field access, and the etc/passwd
 * lookup of authorize-key.
 *
 * Input: one byte choosing the action, the user name up to "\n", the new
 * hash up to "\n" (used by set), then the file.  Properties checked (abort()
 * on violation):
 *  - a rewrite changes only the user's first line: every byte before it and
 *    after it is identical, the number of lines is the same;
 *  - on that line only the password field (and, for set and clear, the
 *    last-change field) differs, and it holds exactly what the action means
 *    (the hash, "", "!" + old, old without "!", "0");
 *  - an unchanged result means the field already was so;
 *  - a line holding a NUL byte is refused, not cut short at it;
 *  - pw_split and pw_field agree on every field of the line, and a line
 *    holding a NUL byte (which would hide the fields after it) is refused;
 *  - pw_passwd_entry yields a uid and gid only from fields of decimal digits
 *    and an absolute home, exactly those fields' values.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pw-file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TODAY	20000L

static const char good_hash[] = "$6$saltsalt$abcdefghijklmnopqrstuvwxyz";

/* Next "\n"-terminated piece of the input as a string, or NULL. */
static char *
take_line(const uint8_t **d, size_t *n)
{
	const uint8_t *nl = memchr(*d, '\n', *n);
	size_t len;
	char *s;

	if (nl == NULL)
		return NULL;
	len = (size_t)(nl - *d);
	if ((s = strndup((const char *)*d, len)) == NULL || strlen(s) != len) {
		free(s);
		return NULL;
	}
	*d += len + 1;
	*n -= len + 1;
	return s;
}

static size_t
count_nl(const char *p, size_t n)
{
	size_t c = 0;

	while (n-- > 0)
		if (*p++ == '\n')
			c++;
	return c;
}

/* The value field idx of line [ls, le) of b must have, or NULL if any. */
static void
check_field(const char *p, size_t ls, size_t le, int idx, const char *want,
    size_t wlen)
{
	size_t fs, fe;

	if (!pw_field(p, ls, le, idx, &fs, &fe))
		abort();
	if (want != NULL && (fe - fs != wlen || memcmp(p + fs, want, wlen)))
		abort();
}

static void
check_rewrite(const struct pw_buf *in, const char *user, enum pw_action act,
    const char *hash)
{
	struct pw_buf out;
	size_t ls, le, ols, ole, fs, fe, i, tail, flen, wlen;
	char err[256], *want, day[32];
	const char *old;
	bool changed, found;
	long lastchg;
	int rc, idx = act == PW_EXPIRE ? 2 : 1, nf = 0;

	found = pw_find_line(in->p, in->len, user, &ls, &le);
	rc = pw_rewrite(in, user, act, hash, TODAY, &out, &changed, &lastchg,
	    err, sizeof(err));
	if (!found) {
		if (rc != -ENOENT || out.p != NULL)
			abort();
		return;
	}
	/* A NUL byte would cut the new field short: refused. */
	if (memchr(in->p + ls, '\0', le - ls) != NULL && rc != -EINVAL)
		abort();
	if (rc != 0) {
		if (out.p != NULL || changed || err[0] == '\0')
			abort();
		return;
	}
	if (!pw_field(in->p, ls, le, idx, &fs, &fe))
		abort();		/* a short line must have failed */
	/* What the edited field must hold (memcpy: it may hold NUL bytes). */
	flen = fe - fs;
	old = in->p + fs;
	wlen = 0;
	if ((want = malloc(flen + strlen(hash) + 2)) == NULL)
		abort();
	switch (act) {
	case PW_SET:
		wlen = strlen(hash);
		memcpy(want, hash, wlen);
		break;
	case PW_CLEAR:
		break;
	case PW_LOCK:
		if (flen == 0 || old[0] != '!')
			want[wlen++] = '!';
		memcpy(want + wlen, old, flen);
		wlen += flen;
		break;
	case PW_UNLOCK:
		if (flen > 0 && old[0] == '!') {
			memcpy(want, old + 1, flen - 1);
			wlen = flen - 1;
		} else {
			memcpy(want, old, flen);
			wlen = flen;
		}
		break;
	case PW_EXPIRE:
		want[wlen++] = '0';
		break;
	}
	if (!changed) {
		/* Nothing to do: the field already says so. */
		if (out.p != NULL || wlen != flen || memcmp(want, old, flen))
			abort();
		free(want);
		return;
	}
	if (out.p == NULL || out.p[out.len] != '\0')
		abort();
	/* Bytes before the line and after it are untouched. */
	tail = in->len - le;
	if (out.len < ls + tail || memcmp(out.p, in->p, ls) != 0 ||
	    memcmp(out.p + out.len - tail, in->p + le, tail) != 0)
		abort();
	if (count_nl(out.p, out.len) != count_nl(in->p, in->len))
		abort();
	if (!pw_find_line(out.p, out.len, user, &ols, &ole) || ols != ls ||
	    ole != out.len - tail)
		abort();
	check_field(out.p, ols, ole, idx, want, wlen);
	free(want);
	if ((act == PW_SET || act == PW_CLEAR) && lastchg >= 0) {
		snprintf(day, sizeof(day), "%ld", TODAY);
		check_field(out.p, ols, ole, 2, day, strlen(day));
	}
	/* Every other field is the same, and so is their number. */
	for (i = 0; i < 64; i++) {
		size_t a, b, c, d;
		bool hin = pw_field(in->p, ls, le, (int)i, &a, &b);
		bool hout = pw_field(out.p, ols, ole, (int)i, &c, &d);

		if (hin != hout)
			abort();
		if (!hin)
			break;
		nf++;
		if ((int)i == idx || (i == 2 && lastchg > 0))
			continue;
		if (b - a != d - c || memcmp(in->p + a, out.p + c, b - a) != 0)
			abort();
	}
	(void)nf;
	pw_buf_free(&out);
}

static void
check_split(const struct pw_buf *in, const char *user)
{
	char *copy = NULL, *f[9], *g;
	size_t ls, le, fs, fe;
	int i, rc;

	rc = pw_split(in, user, &copy, f);
	if (!pw_find_line(in->p, in->len, user, &ls, &le)) {
		if (rc != -1 || copy != NULL)
			abort();
		return;
	}
	/* A NUL byte would hide the fields after it: refused. */
	if (memchr(in->p + ls, '\0', le - ls) != NULL) {
		if (rc != -EINVAL || copy != NULL)
			abort();
		return;
	}
	if (rc != 0)
		abort();
	if (!pw_find_line(in->p, in->len, user, &ls, &le) ||
	    strcmp(f[0], user) != 0)
		abort();
	for (i = 0; i < 8; i++) {
		bool has = pw_field(in->p, ls, le, i, &fs, &fe);

		if (has != (f[i] != NULL))
			abort();
		if (!has)
			break;
		if (strlen(f[i]) > fe - fs ||
		    strncmp(f[i], in->p + fs, fe - fs) != 0)
			abort();
		g = pw_user_field(in, user, i);
		if (g == NULL || strcmp(g, f[i]) != 0)
			abort();
		free(g);
	}
	free(copy);
}

static bool
is_decimal_id(const char *s)
{
	return *s != '\0' && strspn(s, "0123456789") == strlen(s) &&
	    strlen(s) <= 10 && strtoul(s, NULL, 10) < 0xffffffffUL;
}

static void
check_passwd_entry(const struct pw_buf *in, const char *user)
{
	char home[256], err[400], *copy = NULL, *f[9];
	uid_t uid;
	gid_t gid;
	int rc;

	rc = pw_passwd_entry(in, user, &uid, &gid, home, sizeof(home), err,
	    sizeof(err));
	if (pw_split(in, user, &copy, f) != 0) {
		/* no line: -ENOENT; a NUL byte in it: -EINVAL */
		if (rc == 0 || err[0] == '\0')
			abort();
		return;
	}
	if (rc == 0) {
		if (f[5] == NULL || !is_decimal_id(f[2]) ||
		    !is_decimal_id(f[3]) || uid != strtoul(f[2], NULL, 10) ||
		    gid != strtoul(f[3], NULL, 10) || home[0] != '/' ||
		    strcmp(home, f[5]) != 0)
			abort();
	} else if (rc != -EINVAL || err[0] == '\0')
		abort();
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pw_buf in;
	enum pw_action act;
	char *user = NULL, *hash = NULL;

	if (size < 1)
		return 0;
	act = (enum pw_action)(data[0] % 5);
	data++;
	size--;
	if ((user = take_line(&data, &size)) == NULL ||
	    (hash = take_line(&data, &size)) == NULL)
		goto out;
	/* The agent only takes valid names and finished hashes. */
	if (user[0] == '\0' || strchr(user, ':') != NULL)
		goto out;
	if (!pw_hash_is_valid(hash)) {
		free(hash);
		hash = strdup(good_hash);
	}
	if (strpbrk(hash, ":\n") != NULL)
		abort();
	if ((in.p = malloc(size + 1)) == NULL)
		goto out;
	memcpy(in.p, data, size);
	in.p[size] = '\0';
	in.len = size;
	check_rewrite(&in, user, act, hash);
	check_split(&in, user);
	check_passwd_entry(&in, user);
	pw_buf_free(&in);
out:
	free(user);
	free(hash);
	return 0;
}
