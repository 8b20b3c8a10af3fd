/*
 * lifeline's known-hosts file (known-hosts.h).
 *
 * Two forms of a spec are made here.  The label is what is written: the
 * spec less its per-connection options, kind kept as the user wrote it, so
 * a person reading the file recognises the path.  The identity is what is
 * compared: the label with every spelling of one console folded together
 * (serial:, tty: and a bare path become "dev:PATH").  Labels are read back
 * with their %XX escapes undone and folded the same way, so lines written
 * by older versions, which filed the spec as given, still match.
 *
 * The file is small and read whole on every check.  Appending is one
 * write(2) with O_APPEND; anything that drops lines writes a new file
 * beside the old one, fsyncs it and renames it over, so a crash leaves the
 * old file or the new one, never half of either.
 */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "known-hosts.h"

#define KH_FORM_MAX	(LL_KH_LABEL_MAX * 2)

/* Copy at most n bytes of s to out (len > 0), NUL-terminated. */
static void
copy_part(char *out, size_t len, const char *s, size_t n)
{
	if (n >= len)
		n = len - 1;
	memcpy(out, s, n);
	out[n] = '\0';
}

/* Length of a serial device argument without its ",BAUD" (all digits). */
static size_t
dev_len(const char *arg)
{
	const char *comma = strrchr(arg, ',');
	const char *p;

	if (comma == NULL || comma[1] == '\0')
		return strlen(arg);
	for (p = comma + 1; *p != '\0'; p++)
		if (!isdigit((unsigned char)*p))
			return strlen(arg);
	return (size_t)(comma - arg);
}

/* exec: words as a shell would see them apart: blank runs become one. */
static void
collapse_blanks(const char *s, char *out, size_t len)
{
	size_t n = 0;
	bool blank = false;

	for (; *s != '\0' && n + 1 < len; s++) {
		if (*s == ' ' || *s == '\t' || *s == '\n') {
			blank = true;
			continue;
		}
		if (blank && n > 0 && n + 2 < len)
			out[n++] = ' ';
		blank = false;
		out[n++] = *s;
	}
	out[n] = '\0';
}

/* ssh://[USER@]HOST[:22]: the default port does not make another console. */
static void
strip_ssh_port(char *s)
{
	size_t n = strlen(s);

	if (n > 3 && strcmp(s + n - 3, ":22") == 0 &&
	    strchr(strstr(s, "//") + 2, ':') == s + n - 3)
		s[n - 3] = '\0';
}

/*
 * The label (ident false) or the identity (ident true) of an unescaped
 * spec, into out.
 */
static void
console_form(const char *spec, bool ident, char *out, size_t len)
{
	char kind[16], rest[KH_FORM_MAX - 17];
	const char *colon, *arg, *q, *at;
	size_t klen;

	if (spec[0] == '/') {
		snprintf(kind, sizeof kind, "serial");
		arg = spec;
	} else if ((colon = strchr(spec, ':')) != NULL &&
	    (klen = (size_t)(colon - spec)) < sizeof kind) {
		copy_part(kind, sizeof kind, spec, klen);
		arg = colon + 1;
	} else {
		snprintf(out, len, "%s", spec);
		return;
	}
	if (strcmp(kind, "serial") == 0 || strcmp(kind, "tty") == 0) {
		copy_part(rest, sizeof rest, arg, dev_len(arg));
		snprintf(out, len, "%s:%s", ident ? "dev" : kind, rest);
	} else if (strcmp(kind, "telnet") == 0 || strcmp(kind, "ipmi") == 0) {
		q = strchr(arg, '?');
		copy_part(rest, sizeof rest, arg, q != NULL ?
		    (size_t)(q - arg) : strlen(arg));
		at = strchr(rest, '@');
		if (ident && kind[0] == 'i' && at != NULL &&
		    strncmp(rest, "//", 2) == 0)
			memmove(rest + 2, at + 1, strlen(at + 1) + 1);
		snprintf(out, len, "%s:%s", kind, rest);
	} else if (strcmp(kind, "exec") == 0) {
		collapse_blanks(arg, rest, sizeof rest);
		snprintf(out, len, "%s:%s", kind, rest);
	} else {
		snprintf(out, len, "%s", spec);
		if (ident && strcmp(kind, "ssh") == 0 &&
		    strncmp(arg, "//", 2) == 0)
			strip_ssh_port(out);
	}
}

static bool
needs_escape(unsigned char c)
{
	return c <= 0x20 || c == 0x7f || c == '%';
}

int
ll_kh_label(const char *spec, char *buf, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	char form[KH_FORM_MAX];
	const unsigned char *p;
	size_t n = 0;

	console_form(spec, false, form, sizeof form);
	for (p = (const unsigned char *)form; *p != '\0'; p++) {
		if (n + (needs_escape(*p) ? 3 : 1) >= len)
			return -1;
		if (needs_escape(*p)) {
			buf[n++] = '%';
			buf[n++] = hex[*p >> 4];
			buf[n++] = hex[*p & 15];
		} else
			buf[n++] = (char)*p;
	}
	if (n == 0 || n >= len)
		return -1;
	buf[n] = '\0';
	return 0;
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A label's %XX undone (a lone '%' stays: older lines were not escaped). */
static void
unescape(const char *s, char *out, size_t len)
{
	size_t n = 0;
	int hi, lo;

	for (; *s != '\0' && n + 1 < len; s++) {
		if (s[0] == '%' && (hi = hex_value(s[1])) >= 0 &&
		    (lo = hex_value(s[2])) >= 0 && (hi | lo) != 0) {
			out[n++] = (char)(hi << 4 | lo);
			s += 2;
		} else
			out[n++] = *s;
	}
	out[n] = '\0';
}

/* What a label as filed is compared by: its escapes undone, folded. */
static void
label_identity(const char *label, char *out, size_t len)
{
	char plain[KH_FORM_MAX];

	unescape(label, plain, sizeof plain);
	console_form(plain, true, out, len);
}

bool
ll_kh_same_console(const char *spec, const char *label)
{
	char ia[KH_FORM_MAX], ib[KH_FORM_MAX];

	console_form(spec, true, ia, sizeof ia);
	label_identity(label, ib, sizeof ib);
	return strcmp(ia, ib) == 0;
}

bool
ll_kh_fp_equal(const char *a, const char *b)
{
	size_t na, nb;

	if (strncmp(a, "SHA256:", 7) == 0)
		a += 7;
	if (strncmp(b, "SHA256:", 7) == 0)
		b += 7;
	na = strlen(a);
	nb = strlen(b);
	while (na > 0 && a[na - 1] == '=')
		na--;
	while (nb > 0 && b[nb - 1] == '=')
		nb--;
	return na > 0 && na == nb && strncmp(a, b, na) == 0;
}

/*
 * One line into e: "LABEL FP [anything]".  false for blank lines, comments
 * and lines without two words (kept as they are, never matched).
 */
static bool
parse_line(const char *line, unsigned lineno, struct ll_kh_entry *e)
{
	const char *p = line, *w;
	size_t n;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '#' || *p == '\0' || *p == '\n' || *p == '\r')
		return false;
	w = p;
	n = strcspn(p, " \t\r\n");
	if (n >= sizeof e->label)
		return false;
	copy_part(e->label, sizeof e->label, w, n);
	p += n;
	p += strspn(p, " \t");
	n = strcspn(p, " \t\r\n");
	if (n == 0 || n >= sizeof e->fp)
		return false;
	copy_part(e->fp, sizeof e->fp, p, n);
	e->line = lineno;
	return true;
}

/*
 * Read path line by line: fn(ctx, line, entry or NULL) for each.  A missing
 * file has no lines.  0, or -1 with err.
 */
static int
kh_read(const char *path, void (*fn)(void *ctx, const char *line,
    const struct ll_kh_entry *e), void *ctx, char *err, size_t errlen)
{
	struct ll_kh_entry e;
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	FILE *fh;
	int rc = 0;

	if ((fh = fopen(path, "re")) == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot read %s: %s", path,
		    strerror(errno));
		return -1;
	}
	while (getline(&line, &cap, fh) != -1) {
		lineno++;
		fn(ctx, line, parse_line(line, lineno, &e) ? &e : NULL);
	}
	if (ferror(fh)) {
		snprintf(err, errlen, "cannot read %s: %s", path,
		    strerror(errno));
		rc = -1;
	}
	free(line);
	fclose(fh);
	return rc;
}

struct kh_find {
	char id[KH_FORM_MAX];		/* the console looked for */
	const char *fp;
	enum ll_kh_match m;
	struct ll_kh_entry e;
	bool moved;			/* e holds the first line of the key */
};

static void
find_line(void *ctx, const char *line, const struct ll_kh_entry *e)
{
	struct kh_find *f = ctx;
	char id[KH_FORM_MAX];
	bool same_key;

	(void)line;
	if (e == NULL || f->m == LL_KH_KNOWN)
		return;
	label_identity(e->label, id, sizeof id);
	same_key = ll_kh_fp_equal(e->fp, f->fp);
	if (strcmp(id, f->id) == 0) {
		if (same_key) {
			f->m = LL_KH_KNOWN;
			f->e = *e;
		} else if (!f->moved) {
			f->m = LL_KH_CHANGED;
			f->e = *e;
		}
	} else if (same_key && !f->moved) {
		f->m = LL_KH_MOVED;
		f->e = *e;
		f->moved = true;
	}
}

int
ll_kh_lookup(const char *path, const char *spec, const char *fp,
    enum ll_kh_match *m, struct ll_kh_entry *e, char *err, size_t errlen)
{
	struct kh_find f;

	memset(&f, 0, sizeof f);
	console_form(spec, true, f.id, sizeof f.id);
	f.fp = fp;
	f.m = LL_KH_UNKNOWN;
	if (kh_read(path, find_line, &f, err, errlen) != 0)
		return -1;
	*m = f.m;
	*e = f.e;
	return 0;
}

/* mkdir -p of path's directory, new directories 0700. */
static int
mkdirs_for(const char *path)
{
	char dir[4096], *p;

	if (strlen(path) >= sizeof dir) {
		errno = ENAMETOOLONG;
		return -1;
	}
	snprintf(dir, sizeof dir, "%s", path);
	if ((p = strrchr(dir, '/')) == NULL || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

/* "LABEL FP\n" for spec into buf.  0, or -1 with err. */
static int
entry_line(const char *spec, const char *fp, char *buf, size_t len,
    char *err, size_t errlen)
{
	char label[LL_KH_LABEL_MAX];

	if (spec == NULL || ll_kh_label(spec, label, sizeof label) != 0) {
		snprintf(err, errlen, "cannot file a host key for the path "
		    "'%.100s': empty or too long", spec != NULL ? spec : "");
		return -1;
	}
	if (strncmp(fp, "SHA256:", 7) != 0 || strcspn(fp, " \t\r\n") !=
	    strlen(fp) || (size_t)snprintf(buf, len, "%s %s\n", label, fp) >=
	    len) {
		snprintf(err, errlen, "cannot file '%.100s' as a host key: "
		    "not a SHA256: fingerprint", fp);
		return -1;
	}
	return 0;
}

int
ll_kh_add(const char *path, const char *spec, const char *fp, char *err,
    size_t errlen)
{
	char line[LL_KH_LABEL_MAX + LL_KH_FP_MAX + 4];
	size_t n;
	int fd, e;

	if (entry_line(spec, fp, line, sizeof line, err, errlen) != 0)
		return -1;
	n = strlen(line);
	if (mkdirs_for(path) == -1 ||
	    (fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0600)) == -1) {
		snprintf(err, errlen, "cannot write %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (write(fd, line, n) != (ssize_t)n || fsync(fd) == -1) {
		e = errno;
		close(fd);
		snprintf(err, errlen, "cannot write %s: %s", path,
		    strerror(e));
		return -1;
	}
	close(fd);
	return 0;
}

/* Rewriting: which lines go, and what they were. */
struct kh_drop {
	FILE *out;
	char id[KH_FORM_MAX];	/* drop this console's lines (as a spec */
	char id2[KH_FORM_MAX];	/* or as a label), or */
	const char *fp;		/* this key's lines */
	void (*fn)(void *ctx, const struct ll_kh_entry *e);
	void *ctx;
	int dropped;
};

static void
copy_or_drop(void *ctx, const char *line, const struct ll_kh_entry *e)
{
	struct kh_drop *d = ctx;
	char id[KH_FORM_MAX];
	bool drop = false;

	if (e != NULL && d->fp != NULL)
		drop = ll_kh_fp_equal(e->fp, d->fp);
	else if (e != NULL) {
		label_identity(e->label, id, sizeof id);
		drop = strcmp(id, d->id) == 0 || strcmp(id, d->id2) == 0;
	}
	if (!drop) {
		fputs(line, d->out);
		if (line[0] != '\0' && line[strlen(line) - 1] != '\n')
			fputc('\n', d->out);
		return;
	}
	d->dropped++;
	if (d->fn != NULL)
		d->fn(d->ctx, e);
}

/*
 * Write path anew without d's lines, then append (may be NULL).  The file
 * is left alone when nothing would change.  0, or -1 with err.
 */
static int
kh_rewrite(const char *path, struct kh_drop *d, const char *append,
    char *err, size_t errlen)
{
	char tmp[4096 + 16];
	int fd;

	if ((size_t)snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >=
	    sizeof tmp || mkdirs_for(path) == -1 || (fd = mkstemp(tmp)) ==
	    -1) {
		snprintf(err, errlen, "cannot write beside %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if ((d->out = fdopen(fd, "w")) == NULL) {
		snprintf(err, errlen, "cannot write %s: %s", tmp,
		    strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (kh_read(path, copy_or_drop, d, err, errlen) != 0)
		goto fail;
	if (d->dropped == 0 && append == NULL) {
		fclose(d->out);
		unlink(tmp);
		return 0;
	}
	if (append != NULL)
		fputs(append, d->out);
	if (fflush(d->out) != 0 || fsync(fileno(d->out)) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", tmp,
		    strerror(errno));
		goto fail;
	}
	fclose(d->out);
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "cannot replace %s: %s", path,
		    strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
fail:
	fclose(d->out);
	unlink(tmp);
	return -1;
}

int
ll_kh_set(const char *path, const char *spec, const char *fp, char *err,
    size_t errlen)
{
	char line[LL_KH_LABEL_MAX + LL_KH_FP_MAX + 4];
	struct kh_drop d;

	if (entry_line(spec, fp, line, sizeof line, err, errlen) != 0)
		return -1;
	memset(&d, 0, sizeof d);
	console_form(spec, true, d.id, sizeof d.id);
	snprintf(d.id2, sizeof d.id2, "%s", d.id);
	return kh_rewrite(path, &d, line, err, errlen);
}

int
ll_kh_remove(const char *path, const char *name,
    void (*fn)(void *ctx, const struct ll_kh_entry *e), void *ctx, char *err,
    size_t errlen)
{
	struct kh_drop d;

	memset(&d, 0, sizeof d);
	if (strncmp(name, "SHA256:", 7) == 0)
		d.fp = name;
	else {
		console_form(name, true, d.id, sizeof d.id);
		label_identity(name, d.id2, sizeof d.id2);
	}
	d.fn = fn;
	d.ctx = ctx;
	if (kh_rewrite(path, &d, NULL, err, errlen) != 0)
		return -1;
	return d.dropped;
}

struct kh_each {
	void (*fn)(void *ctx, const struct ll_kh_entry *e);
	void *ctx;
};

static void
each_line(void *ctx, const char *line, const struct ll_kh_entry *e)
{
	struct kh_each *x = ctx;

	(void)line;
	if (e != NULL)
		x->fn(x->ctx, e);
}

int
ll_kh_foreach(const char *path,
    void (*fn)(void *ctx, const struct ll_kh_entry *e), void *ctx, char *err,
    size_t errlen)
{
	struct kh_each x = { fn, ctx };

	return kh_read(path, each_line, &x, err, errlen);
}
