/*
 * authorized_keys matching.  The file is read line by line with a fixed
 * buffer, so a line over AUTHKEYS_LINE_MAX is skipped as malformed rather
 * than grown without bound.  Each line is split into options, key type,
 * base64 key and comment by the tokenizer authorize-key and the client
 * share (proto/ssh-keyline.c); the key is decoded by libssh and compared with
 * the offered one.  Only a line whose key matches has its options judged,
 * as sshd does: a line refused for its options does not end the scan, so a
 * later line for the same key without the problem still allows it.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "authkeys.h"
#include "log.h"
#include "ssh-keyline.h"

/* sshd(8): "up to a limit of 8 kilobytes" per line. */
#define AUTHKEYS_LINE_MAX	8192

enum line_verdict {
	LINE_SKIP,		/* blank, comment, or another key */
	LINE_MALFORMED,		/* why says what */
	LINE_REFUSED,		/* the key, but an option refuses it */
	LINE_ALLOWED,
};

/* Options accepted without effect, and the reason for each refused one. */
static const char *const opt_accepted[] = {
	"restrict", "no-pty", "no-port-forwarding", "no-agent-forwarding",
	"no-x11-forwarding", "no-user-rc", "no-touch-required",
	/*
	 * pty and port-forwarding undo a restrict (authkeys_deny); the
	 * others undo it for features lifelined does not offer at all.
	 */
	"pty", "port-forwarding", "agent-forwarding", "x11-forwarding",
	"user-rc",
	NULL
};

static const struct {
	const char *name;
	const char *why;
} opt_refused[] = {
	{ "command", "a forced command cannot be honoured by a lifeline "
	    "session" },
	{ "environment", "lifelined does not set environment variables "
	    "per key" },
	{ "permitopen", "lifelined does not forward ports" },
	{ "permitlisten", "lifelined does not forward ports" },
	{ "principals", "lifelined does not accept certificates" },
	{ "cert-authority", "lifelined does not accept certificates" },
	{ "tunnel", "lifelined does not offer tunnels" },
	{ "verify-required", "lifelined cannot check that the security key "
	    "verified the user" },
};

/* Shell-style match of s against pat with * and ?, ignoring case. */
static bool
wild_match(const char *pat, const char *s)
{
	for (;;) {
		if (*pat == '\0')
			return *s == '\0';
		if (*pat == '*') {
			while (*pat == '*')
				pat++;
			if (*pat == '\0')
				return true;
			for (; *s != '\0'; s++) {
				if (wild_match(pat, s))
					return true;
			}
			return false;
		}
		if (*s == '\0')
			return false;
		if (*pat != '?' && tolower((unsigned char)*pat) !=
		    tolower((unsigned char)*s))
			return false;
		pat++;
		s++;
	}
}

struct addr {
	int family;		/* AF_INET or AF_INET6, 0 when not an address */
	unsigned char a[16];
};

static int
addr_parse(const char *s, struct addr *ad)
{
	static const unsigned char mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};

	memset(ad, 0, sizeof(*ad));
	if (inet_pton(AF_INET, s, ad->a) == 1) {
		ad->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, ad->a) == 1) {
		ad->family = AF_INET6;
		/* A v4-mapped peer is matched as the IPv4 address, as sshd. */
		if (memcmp(ad->a, mapped, sizeof(mapped)) == 0) {
			memmove(ad->a, ad->a + 12, 4);
			memset(ad->a + 4, 0, 12);
			ad->family = AF_INET;
		}
		return 0;
	}
	return -1;
}

/* Does ad lie in the first bits bits of net? */
static bool
addr_in(const struct addr *ad, const struct addr *net, int bits)
{
	int i;

	if (ad->family != net->family)
		return false;
	for (i = 0; bits > 0; i++, bits -= 8) {
		unsigned char mask = bits >= 8 ? 0xff :
		    (unsigned char)(0xff << (8 - bits));

		if ((ad->a[i] & mask) != (net->a[i] & mask))
			return false;
	}
	return true;
}

/*
 * One entry of a from= list (without its '!'): 1 when peer matches it, 0
 * when not, -1 when the entry is not a valid pattern.
 */
static int
from_entry_match(const char *pat, const struct addr *pa, const char *ptext)
{
	char net[INET6_ADDRSTRLEN + 1], *end;
	const char *slash;
	struct addr na;
	long bits;
	int maxbits, i;

	if ((slash = strchr(pat, '/')) != NULL) {
		if ((size_t)(slash - pat) >= sizeof(net))
			return -1;
		memcpy(net, pat, slash - pat);
		net[slash - pat] = '\0';
		/* No v4-mapped folding here: the prefix length counts bits. */
		memset(&na, 0, sizeof(na));
		if (inet_pton(AF_INET, net, na.a) == 1)
			na.family = AF_INET;
		else if (inet_pton(AF_INET6, net, na.a) == 1)
			na.family = AF_INET6;
		else
			return -1;
		maxbits = na.family == AF_INET ? 32 : 128;
		bits = strtol(slash + 1, &end, 10);
		if (!isdigit((unsigned char)slash[1]) || *end != '\0' ||
		    bits < 0 || bits > maxbits)
			return -1;
		/* As sshd: host bits set below the mask is an error. */
		for (i = (int)bits; i < maxbits; i++) {
			if (na.a[i / 8] & (0x80 >> (i % 8)))
				return -1;
		}
		return pa->family != 0 && addr_in(pa, &na, (int)bits);
	}
	if (strpbrk(pat, "*?") == NULL && addr_parse(pat, &na) == 0)
		return pa->family != 0 && addr_in(pa, &na,
		    na.family == AF_INET ? 32 : 128);
	return wild_match(pat, ptext);
}

/*
 * from="pattern-list" against the peer: 0 when it lets the peer in, -1 with
 * why when not.  Every entry is checked, so a negated match or a bad entry
 * refuses even after a positive match.
 */
static int
from_check(char *list, const char *peer, char *why, size_t whylen)
{
	char ptext[INET6_ADDRSTRLEN + 1], shown[64], *entry, *rest = list;
	struct addr pa;
	bool matched = false;
	int m;

	if (peer == NULL) {
		snprintf(why, whylen, "from= cannot be checked without a "
		    "peer address (a console or a unix socket)");
		return -1;
	}
	/* Compare the canonical text, so "::0001" in a log matches "::1". */
	if (addr_parse(peer, &pa) == 0)
		inet_ntop(pa.family, pa.a, ptext, sizeof(ptext));
	else
		log_printable(ptext, sizeof(ptext), peer);
	/* strsep, not strtok: an empty entry is an error, not skipped. */
	while ((entry = strsep(&rest, ",")) != NULL) {
		bool neg = entry[0] == '!';
		const char *pat = entry + neg;

		log_printable(shown, sizeof(shown), pat);
		if (*pat == '\0' || (m = from_entry_match(pat, &pa,
		    ptext)) < 0) {
			snprintf(why, whylen, "from= has a bad pattern \"%s\"",
			    shown);
			return -1;
		}
		if (m && neg) {
			snprintf(why, whylen, "from= excludes %s (\"!%s\")", ptext,
			    shown);
			return -1;
		}
		if (m)
			matched = true;
	}
	if (!matched) {
		snprintf(why, whylen, "%s is not in from=", ptext);
		return -1;
	}
	return 0;
}

/* expiry-time="YYYYMMDD[HHMM[SS]][Z]": local time unless Z, as sshd. */
static int
expiry_check(const char *v, char *why, size_t whylen)
{
	struct tm tm;
	size_t n = strspn(v, "0123456789");
	bool utc = v[n] == 'Z' && v[n + 1] == '\0';
	char shown[32];
	time_t t;
	int f[7] = { 0 }, i;

	log_printable(shown, sizeof(shown), v);
	if ((n != 8 && n != 12 && n != 14) || (v[n] != '\0' && !utc))
		goto bad;
	/* year (4 digits), then month, day, hour, minute, second. */
	for (i = 0; i < 4; i++)
		f[0] = f[0] * 10 + (v[i] - '0');
	for (i = 4; i < (int)n; i += 2)
		f[(i - 2) / 2] = (v[i] - '0') * 10 + (v[i + 1] - '0');
	if (f[0] < 1970 || f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 ||
	    f[3] > 23 || f[4] > 59 || f[5] > 60)
		goto bad;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = f[0] - 1900;
	tm.tm_mon = f[1] - 1;
	tm.tm_mday = f[2];
	tm.tm_hour = f[3];
	tm.tm_min = f[4];
	tm.tm_sec = f[5];
	tm.tm_isdst = -1;
	if ((t = utc ? timegm(&tm) : mktime(&tm)) == (time_t)-1)
		goto bad;
	if (time(NULL) > t) {
		snprintf(why, whylen, "the key expired (expiry-time=\"%s\")", shown);
		return -1;
	}
	return 0;
bad:
	snprintf(why, whylen, "expiry-time=\"%s\" is not YYYYMMDD[HHMM[SS]][Z]",
	    shown);
	return -1;
}

/*
 * Judge the options field of a matching line: 0 to allow, -1 with why to
 * refuse.  Names are case-insensitive; a value is always "quoted", with \"
 * standing for a quote inside it.
 */
/* What an accepted option denies (no-*, restrict) or grants back. */
static void
options_deny(const char *name, unsigned *deny, unsigned *grant)
{
	if (strcasecmp(name, "restrict") == 0)
		*deny |= AUTHKEYS_DENY_RESTRICT;
	else if (strcasecmp(name, "no-pty") == 0)
		*deny |= AUTHKEYS_DENY_PTY;
	else if (strcasecmp(name, "no-port-forwarding") == 0)
		*deny |= AUTHKEYS_DENY_FORWARD;
	else if (strcasecmp(name, "pty") == 0)
		*grant |= AUTHKEYS_DENY_PTY;
	else if (strcasecmp(name, "port-forwarding") == 0)
		*grant |= AUTHKEYS_DENY_FORWARD;
}

static int
options_check(const char *opts, const char *peer, unsigned *deny, char *why,
    size_t whylen)
{
	unsigned denied = 0, granted = 0;
	char name[32], shown[32], *val = NULL;
	const char *p = opts, *start;
	bool has_val;
	size_t n, i, vn;
	int rc = -1;

	if ((val = malloc(strlen(opts) + 1)) == NULL) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	while (*p != '\0') {
		start = p;
		n = strcspn(p, ",=");
		log_printable(shown, sizeof(shown), start);
		shown[n < sizeof(shown) ? n : sizeof(shown) - 1] = '\0';
		if (n == 0) {
			snprintf(why, whylen, "empty option in the list");
			goto out;
		}
		if (n >= sizeof(name)) {
			snprintf(why, whylen, "unknown option %s", shown);
			goto out;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		p += n;
		has_val = *p == '=';
		vn = 0;
		if (has_val) {
			if (*++p != '"') {
				snprintf(why, whylen, "the value of %s= must be "
				    "quoted", shown);
				goto out;
			}
			for (p++; *p != '"'; p++) {
				if (*p == '\0') {
					snprintf(why, whylen, "unterminated quote "
					    "in %s=", shown);
					goto out;
				}
				if (p[0] == '\\' && p[1] == '"')
					p++;
				val[vn++] = *p;
			}
			p++;
		}
		val[vn] = '\0';
		if (*p == ',' && p[1] != '\0')
			p++;
		else if (*p != '\0') {
			snprintf(why, whylen, "bad option list after %s", shown);
			goto out;
		}

		for (i = 0; opt_accepted[i] != NULL; i++) {
			if (strcasecmp(name, opt_accepted[i]) == 0)
				break;
		}
		if (opt_accepted[i] != NULL) {
			if (has_val) {
				snprintf(why, whylen, "option %s takes no value",
				    shown);
				goto out;
			}
			options_deny(name, &denied, &granted);
			continue;
		}
		for (i = 0; i < sizeof(opt_refused) / sizeof(opt_refused[0]);
		    i++) {
			if (strcasecmp(name, opt_refused[i].name) == 0) {
				snprintf(why, whylen, "option %s: %s", shown,
				    opt_refused[i].why);
				goto out;
			}
		}
		if (strcasecmp(name, "from") == 0 ||
		    strcasecmp(name, "expiry-time") == 0) {
			if (!has_val) {
				snprintf(why, whylen, "option %s needs a value",
				    shown);
				goto out;
			}
			if (tolower((unsigned char)name[0]) == 'f' ?
			    from_check(val, peer, why, whylen) != 0 :
			    expiry_check(val, why, whylen) != 0)
				goto out;
			continue;
		}
		snprintf(why, whylen, "unknown option %s", shown);
		goto out;
	}
	/* restrict denies both unless granted back; a no-* always does. */
	if (denied & AUTHKEYS_DENY_RESTRICT)
		denied |= (AUTHKEYS_DENY_PTY | AUTHKEYS_DENY_FORWARD) & ~granted;
	*deny = denied & ~AUTHKEYS_DENY_RESTRICT;
	rc = 0;
out:
	free(val);
	return rc;
}

/* The span p..p+n of the line as a C string, in place (line is ours). */
static char *
span_cut(const char *p, size_t n)
{
	char *w = (char *)p;

	w[n] = '\0';
	return w;
}

/*
 * Split one line (modified in place: each field is cut where it ends) and
 * judge it for key.  comment receives the line's comment when the key
 * matches.
 */
static enum line_verdict
line_check(char *line, ssh_key key, const char *peer, char *comment,
    size_t clen, unsigned *deny, char *why, size_t whylen)
{
	struct ll_key_line kl;
	enum ssh_keytypes_e type;
	char *opts = NULL, *tname, *b64, shown[48];
	ssh_key lk = NULL;
	enum line_verdict v = LINE_MALFORMED;

	switch (ll_key_line_split(line, &kl)) {
	case LL_KEY_LINE_SKIP:
		return LINE_SKIP;
	case LL_KEY_LINE_QUOTE:
		snprintf(why, whylen, "unterminated quote in the options");
		return LINE_MALFORMED;
	case LL_KEY_LINE_NOKEY:
		snprintf(why, whylen, "no key on the line");
		return LINE_MALFORMED;
	case LL_KEY_LINE_OK:
		break;
	}
	/* Every field ends at a blank or the line's end: cut them there. */
	if (kl.opts != NULL)
		opts = span_cut(kl.opts, kl.opts_len);
	tname = span_cut(kl.type, kl.type_len);
	b64 = span_cut(kl.b64, kl.b64_len);
	log_printable(shown, sizeof(shown), tname);
	if ((type = ssh_key_type_from_name(tname)) == SSH_KEYTYPE_UNKNOWN) {
		snprintf(why, whylen, ll_key_type_is_openssh(kl.type,
		    kl.type_len) ? "key type %s is not supported" :
		    "unknown key type \"%s\"", shown);
		return LINE_MALFORMED;
	}
	if (ssh_pki_import_pubkey_base64(b64, type, &lk) != SSH_OK ||
	    ssh_key_type(lk) != type) {
		snprintf(why, whylen, "the %s key cannot be decoded", shown);
		goto out;
	}
	if (ssh_key_cmp(lk, key, SSH_KEY_CMP_PUBLIC) != 0) {
		v = LINE_SKIP;
		goto out;
	}
	snprintf(comment, clen, "%.*s", (int)kl.comment_len, kl.comment);
	*deny = 0;
	if (opts != NULL && options_check(opts, peer, deny, why, whylen) != 0)
		v = LINE_REFUSED;
	else
		v = LINE_ALLOWED;
out:
	ssh_key_free(lk);
	return v;
}

static void
fingerprint(ssh_key key, char *out, size_t len)
{
	unsigned char *hash = NULL;
	size_t hlen = 0;
	char *fp = NULL;

	snprintf(out, len, "(unknown key)");
	if (key == NULL || ssh_get_publickey_hash(key,
	    SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) != 0)
		return;
	if ((fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash,
	    hlen)) != NULL)
		snprintf(out, len, "%s", fp);
	ssh_string_free_char(fp);
	ssh_clean_pubkey_hash(&hash);
}

/*
 * One directory on the way to authorized_keys, as sshd's StrictModes
 * wants: owned by root or us, not writable by group or others.  The one
 * exception is a directory with the sticky bit (/tmp): there others cannot
 * rename or remove entries they do not own, and the entry below it is
 * checked in turn.  0, or -EPERM (-errno) with why.
 */
static int
keys_dir_check(const char *dir, const char *path, char *why, size_t whylen)
{
	struct stat st;

	if (stat(dir, &st) != 0) {
		snprintf(why, whylen, "cannot stat %s (on the way to %s): %s",
		    dir, path, strerror(errno));
		return -errno;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(why, whylen, "directory %s (on the way to %s) is "
		    "owned by uid %ju, not root: refusing it", dir, path,
		    (uintmax_t)st.st_uid);
		return -EPERM;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 &&
	    (st.st_mode & S_ISVTX) == 0) {
		snprintf(why, whylen, "directory %s (on the way to %s) is "
		    "writable by group or others: refusing it", dir, path);
		return -EPERM;
	}
	return 0;
}

/*
 * StrictModes for every directory path goes through: the name is resolved
 * here component by component, following symlinks the way the kernel does,
 * and each directory a name is looked up in is checked (keys_dir_check).
 * So a symlink counts with its own directory and with every directory of
 * its target: a symlinked authorized_keys in a 0777 directory is refused
 * (someone could replace the link), and so is a link into one.  On success
 * *st is the file it resolves to, for the caller to compare with what it
 * opened.  0, or a negative errno with why.
 */
static int
keys_path_check(const char *path, struct stat *st, char *why, size_t whylen)
{
	char cur[PATH_MAX], rest[PATH_MAX * 2], next[PATH_MAX * 2];
	char target[PATH_MAX], comp[NAME_MAX + 1], *slash;
	size_t len;
	ssize_t n;
	int links = 0, rc;

	if (path[0] == '/')
		snprintf(cur, sizeof(cur), "/");
	else if (getcwd(cur, sizeof(cur)) == NULL) {
		snprintf(why, whylen, "getcwd: %s", strerror(errno));
		return -errno;
	}
	if (snprintf(rest, sizeof(rest), "%s", path) >= (int)sizeof(rest))
		return -ENAMETOOLONG;
	if ((rc = keys_dir_check(cur, path, why, whylen)) != 0)
		return rc;
	for (;;) {
		char *p = rest;

		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		len = (slash = strchr(p, '/')) != NULL ? (size_t)(slash - p) :
		    strlen(p);
		if (len > NAME_MAX)
			return -ENAMETOOLONG;
		memcpy(comp, p, len);
		comp[len] = '\0';
		memmove(rest, p + len, strlen(p + len) + 1);
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			/* cur holds no symlinks: ".." is its parent */
			if ((slash = strrchr(cur, '/')) != NULL)
				slash[slash == cur ? 1 : 0] = '\0';
			continue;
		}
		if (snprintf(next, sizeof(next), "%s%s%s", cur,
		    strcmp(cur, "/") == 0 ? "" : "/", comp) >= PATH_MAX)
			return -ENAMETOOLONG;
		if (lstat(next, st) != 0) {
			snprintf(why, whylen, "cannot stat %.200s: %s", next,
			    strerror(errno));
			return -errno;
		}
		if (S_ISLNK(st->st_mode)) {
			if (++links > 40)
				return -ELOOP;
			n = readlink(next, target, sizeof(target) - 1);
			if (n < 0 || n == (ssize_t)sizeof(target) - 1)
				return n < 0 ? -errno : -ENAMETOOLONG;
			target[n] = '\0';
			/* rest becomes the target, then what was left */
			len = strlen(target);
			if (len + 1 + strlen(rest) >= sizeof(rest))
				return -ENAMETOOLONG;
			memmove(rest + len + 1, rest, strlen(rest) + 1);
			memcpy(rest, target, len);
			rest[len] = '/';
			if (target[0] == '/')
				snprintf(cur, sizeof(cur), "/");
			continue;
		}
		memcpy(cur, next, strlen(next) + 1);	/* < PATH_MAX */
		/* the file itself: open_keys checks it */
		if (rest[strspn(rest, "/")] == '\0')
			break;
		if ((rc = keys_dir_check(cur, path, why, whylen)) != 0)
			return rc;
	}
	return 0;
}

/*
 * Open path for reading: a regular file (a symlink to one is fine), not
 * writable by group or others and owned by root or us, in directories that
 * pass keys_path_check, as sshd's StrictModes wants.  O_NONBLOCK keeps a
 * FIFO from hanging the open.
 */
static FILE *
open_keys(const char *path, int *err, char *why, size_t whylen)
{
	struct stat st, ps;
	FILE *fp;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) < 0) {
		*err = -errno;
		snprintf(why, whylen, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0) {
		*err = -errno;
		snprintf(why, whylen, "cannot stat %s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		*err = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		snprintf(why, whylen, "%s is not a regular file", path);
		goto fail;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 ||
	    (st.st_uid != 0 && st.st_uid != geteuid())) {
		*err = -EPERM;
		snprintf(why, whylen, "%s is writable by others than its owner, or "
		    "not owned by root: refusing it", path);
		goto fail;
	}
	/* The directories, and that they lead to the file opened. */
	if ((*err = keys_path_check(path, &ps, why, whylen)) != 0) {
		if (*err != -EPERM && why[0] == '\0')
			snprintf(why, whylen, "cannot check the directories of "
			    "%s: %s", path, strerror(-*err));
		goto fail;
	}
	if (ps.st_dev != st.st_dev || ps.st_ino != st.st_ino) {
		*err = -EAGAIN;
		snprintf(why, whylen, "%s changed while it was checked", path);
		goto fail;
	}
	if (fcntl(fd, F_SETFL, O_RDONLY) != 0 ||
	    (fp = fdopen(fd, "r")) == NULL) {
		*err = -errno;
		snprintf(why, whylen, "cannot read %s: %s", path, strerror(errno));
		goto fail;
	}
	return fp;
fail:
	close(fd);
	return NULL;
}

/*
 * Read one line into buf without its '\n' and return its length, or
 * (size_t)-1 at the end of the file.  A line that does not fit is read to
 * its end and dropped: the length returned is then size, more than any
 * line kept.  NUL bytes are kept, so the caller can see them.
 */
static size_t
read_line(FILE *fp, char *buf, size_t size)
{
	size_t n = 0;
	int c;

	while ((c = getc(fp)) != EOF && c != '\n') {
		if (n < size - 1)
			buf[n] = (char)c;
		if (n < size)
			n++;
	}
	if (c == EOF && n == 0)
		return (size_t)-1;
	buf[n < size ? n : size - 1] = '\0';
	return n;
}

int
authkeys_check(const char *path, ssh_key key, const char *peer,
    struct authkeys_result *res)
{
	char *buf = NULL, why[200], first_bad[200] = "";
	size_t size = AUTHKEYS_LINE_MAX + 2, n;	/* + '\r' + NUL */
	bool refused = false;
	FILE *fp = NULL;
	int lineno = 0, bad_line = 0, err = 0;
	unsigned deny = 0;

	memset(res, 0, sizeof(*res));
	fingerprint(key, res->fingerprint, sizeof(res->fingerprint));
	if (key == NULL) {
		snprintf(res->reason, sizeof(res->reason), "no key offered");
		return 0;
	}
	if ((fp = open_keys(path, &err, res->reason,
	    sizeof(res->reason))) == NULL)
		return err;
	if ((buf = malloc(size)) == NULL) {
		err = -ENOMEM;
		snprintf(res->reason, sizeof(res->reason), "out of memory");
		goto out;
	}
	while ((n = read_line(fp, buf, size)) != (size_t)-1) {
		enum line_verdict v;
		char comment[sizeof(res->comment)] = "";

		lineno++;
		if (n > 0 && n < size && buf[n - 1] == '\r')
			buf[--n] = '\0';
		if (n > AUTHKEYS_LINE_MAX) {
			v = LINE_MALFORMED;
			snprintf(why, sizeof(why), "longer than %d bytes",
			    AUTHKEYS_LINE_MAX);
		} else if (strlen(buf) != n) {
			v = LINE_MALFORMED;
			snprintf(why, sizeof(why), "a NUL byte in the line");
		} else
			v = line_check(buf, key, peer, comment,
			    sizeof(comment), &deny, why, sizeof(why));
		if (v == LINE_MALFORMED && bad_line == 0) {
			bad_line = lineno;
			snprintf(first_bad, sizeof(first_bad), "%s", why);
		}
		if (v == LINE_REFUSED && !refused) {
			refused = true;
			res->line = lineno;
			snprintf(res->comment, sizeof(res->comment), "%s",
			    comment);
			snprintf(res->reason, sizeof(res->reason),
			    "%s line %d: %s", path, lineno, why);
		}
		if (v == LINE_ALLOWED) {
			res->allowed = true;
			res->deny = deny;
			res->line = lineno;
			snprintf(res->comment, sizeof(res->comment), "%s",
			    comment);
			res->reason[0] = '\0';
			goto out;
		}
	}
	if (ferror(fp)) {
		err = -EIO;
		snprintf(res->reason, sizeof(res->reason), "error reading %s",
		    path);
		res->line = 0;
		res->comment[0] = '\0';
		goto out;
	}
	if (!refused) {
		if (bad_line != 0)
			snprintf(res->reason, sizeof(res->reason),
			    "the key is not in %s (line %d skipped: %s)",
			    path, bad_line, first_bad);
		else
			snprintf(res->reason, sizeof(res->reason),
			    "the key is not in %s", path);
	}
out:
	free(buf);
	fclose(fp);
	return err;
}
