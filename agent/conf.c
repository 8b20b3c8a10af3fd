/*
 * The configuration file.  Every line is split into words (a word may be
 * "quoted", with \" and \\ inside), the first word naming the setting.  The
 * whole file is parsed into a scratch copy first and applied to the options
 * only when every line is good, so a bad file changes nothing.  Settings
 * the command line already gave are left alone; the strings of settings
 * that were applied stay allocated for the life of the process.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "link.h"

#define CONF_LINE_MAX	4096
#define CONF_WORDS_MAX	64

enum conf_kind { CONF_STRING, CONF_ALLOW, CONF_BOOL, CONF_ENCODING };

enum conf_name {
	C_SERIAL, C_LISTEN, C_LISTEN_SSH, C_HOST_KEY, C_AUTHORIZED_KEYS,
	C_DEBUG_FILE, C_TARGET_ROOT, C_ALLOW, C_READ_ONLY, C_ENCODING, C_GETTY,
	C_MAX
};

static const struct {
	const char *name;
	enum conf_kind kind;
} conf_table[C_MAX] = {
	[C_SERIAL] = { "serial", CONF_STRING },
	[C_LISTEN] = { "listen", CONF_STRING },
	[C_LISTEN_SSH] = { "listen-ssh", CONF_STRING },
	[C_HOST_KEY] = { "host-key", CONF_STRING },
	[C_AUTHORIZED_KEYS] = { "authorized-keys", CONF_STRING },
	[C_DEBUG_FILE] = { "debug-file", CONF_STRING },
	[C_TARGET_ROOT] = { "target-root", CONF_STRING },
	[C_ALLOW] = { "allow", CONF_ALLOW },
	[C_READ_ONLY] = { "read-only", CONF_BOOL },
	[C_ENCODING] = { "encoding", CONF_ENCODING },
	[C_GETTY] = { "getty", CONF_STRING },
};

/* What the file said: the value of each setting and its line. */
struct conf_file {
	int line[C_MAX];	/* 0: not given */
	char *str[C_MAX];
	const char **allow;
	bool boolean;
	int encoding;
};

/* The SSH channel kinds an allow-list names beside the operations
 * (ssh-channels.c checks them by these names), or NULL. */
static const char *
conf_channel_name(const char *name)
{
	static const char *const names[] = { "shell", "sftp", "forward",
	    NULL };
	int i;

	for (i = 0; names[i] != NULL; i++) {
		if (strcmp(names[i], name) == 0)
			return names[i];
	}
	return NULL;
}

int
conf_parse_allow(const char *list, const char ***out, char *err,
    size_t errlen)
{
	const struct agent_op *op;
	const char **names = NULL, *p = list, *alt;
	char name[64], shown[64];
	size_t n, count = 0, max, i;

	/* There are at most as many names as separators + 1. */
	max = 1;
	for (i = 0; list[i] != '\0'; i++)
		max += list[i] == ',' || list[i] == ' ' || list[i] == '\t';
	if ((names = calloc(max + 1, sizeof(*names))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (;;) {
		p += strspn(p, ", \t");
		if (*p == '\0')
			break;
		n = strcspn(p, ", \t");
		log_printable(shown, sizeof(shown), p);
		shown[n < sizeof(shown) ? n : sizeof(shown) - 1] = '\0';
		op = NULL;
		if (n < sizeof(name)) {
			memcpy(name, p, n);
			name[n] = '\0';
			op = server_find_op(name);
		}
		if (op == NULL && n < sizeof(name) &&
		    (alt = conf_channel_name(name)) != NULL) {
			/* An SSH channel kind: shell, sftp, forward. */
			for (i = 0; i < count && strcmp(names[i], alt) != 0; i++)
				;
			if (i == count)
				names[count++] = alt;
			p += n;
			continue;
		}
		if (op == NULL) {
			snprintf(err, errlen, "unknown operation \"%s\"", shown);
			free(names);
			return -1;
		}
		for (i = 0; i < count && strcmp(names[i], op->name) != 0; i++)
			;
		/* The table's own string lives as long as the process. */
		if (i == count)
			names[count++] = op->name;
		p += n;
	}
	if (count == 0) {
		snprintf(err, errlen, "the allow-list names no operation");
		free(names);
		return -1;
	}
	*out = names;
	return 0;
}

static int
parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "1" };
	static const char *const no[] = { "no", "false", "0" };
	size_t i;

	for (i = 0; i < 3; i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/*
 * Split line (modified in place) into words; a '#' outside quotes ends it.
 * Returns the number of words, or -1 with why.
 */
static int
split_words(char *line, char **w, int max, const char **why)
{
	char *p = line, *q;
	int n = 0;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '#')
			return n;
		if (n == max) {
			*why = "too many words";
			return -1;
		}
		w[n++] = q = p;
		if (*p == '"') {
			/* Unquote in place: the text only shrinks. */
			for (p++; *p != '"'; p++) {
				if (*p == '\0') {
					*why = "unterminated quote";
					return -1;
				}
				if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
					p++;
				*q++ = *p;
			}
			p++;
			if (*p != '\0' && *p != ' ' && *p != '\t' &&
			    *p != '#') {
				*why = "text right after a closing quote";
				return -1;
			}
		} else {
			while (*p != '\0' && *p != ' ' && *p != '\t') {
				if (*p == '"') {
					*why = "a quote inside a word";
					return -1;
				}
				q++, p++;
			}
		}
		/* q never passes p: terminating at q keeps what follows. */
		if (*p == '#') {
			*q = '\0';
			return n;
		}
		if (*p != '\0')
			p++;
		*q = '\0';
	}
}

/* One line: 0, or -1 with the message (without "PATH:LINE: ") in err. */
static int
conf_line(char *line, int lineno, struct conf_file *cf, char *err,
    size_t errlen)
{
	char *w[CONF_WORDS_MAX], shown[64], *joined;
	const char *why;
	size_t len;
	int n, i, c;

	if ((n = split_words(line, w, CONF_WORDS_MAX, &why)) < 0) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	if (n == 0)
		return 0;
	log_printable(shown, sizeof(shown), w[0]);
	if (strcmp(w[0], "insecure") == 0) {
		snprintf(err, errlen, "insecure can only be given on the command "
		    "line (--insecure)");
		return -1;
	}
	for (c = 0; c < C_MAX && strcmp(conf_table[c].name, w[0]) != 0; c++)
		;
	if (c == C_MAX) {
		snprintf(err, errlen, "unknown setting \"%s\"", shown);
		return -1;
	}
	if (cf->line[c] != 0) {
		snprintf(err, errlen, "%s given twice (first on line %d)", shown,
		    cf->line[c]);
		return -1;
	}
	if (n == 1 || w[1][0] == '\0') {
		snprintf(err, errlen, "%s needs a value", shown);
		return -1;
	}
	if (n > 2 && conf_table[c].kind != CONF_ALLOW) {
		snprintf(err, errlen, "%s takes one value (quote it if it contains "
		    "spaces)", shown);
		return -1;
	}
	switch (conf_table[c].kind) {
	case CONF_STRING:
		if ((cf->str[c] = strdup(w[1])) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		break;
	case CONF_ALLOW:
		/* Words may be separated by spaces too: join them. */
		for (len = 0, i = 1; i < n; i++)
			len += strlen(w[i]) + 1;
		if ((joined = malloc(len)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		joined[0] = '\0';
		for (i = 1; i < n; i++) {
			strcat(joined, w[i]);
			if (i + 1 < n)
				strcat(joined, ",");
		}
		i = conf_parse_allow(joined, &cf->allow, shown, sizeof(shown));
		free(joined);
		if (i != 0) {
			snprintf(err, errlen, "allow: %s", shown);
			return -1;
		}
		break;
	case CONF_BOOL:
		if (parse_bool(w[1], &cf->boolean) != 0) {
			log_printable(shown, sizeof(shown), w[1]);
			snprintf(err, errlen, "%s must be yes or no, not \"%s\"",
			    conf_table[c].name, shown);
			return -1;
		}
		break;
	case CONF_ENCODING:
		if (strcmp(w[1], "auto") == 0)
			cf->encoding = LL_ENC_AUTO;
		else if (strcmp(w[1], "7bit") == 0)
			cf->encoding = LL_ENC_7BIT;
		else if (strcmp(w[1], "8bit") == 0)
			cf->encoding = LL_ENC_8BIT;
		else {
			log_printable(shown, sizeof(shown), w[1]);
			snprintf(err, errlen, "encoding must be auto, 7bit or 8bit, "
			    "not \"%s\"", shown);
			return -1;
		}
		break;
	}
	cf->line[c] = lineno;
	return 0;
}

/* Take a string setting of the file when the option is still unset. */
static void
take(struct conf_file *cf, enum conf_name c, const char **field)
{
	if (cf->line[c] != 0 && *field == NULL) {
		*field = cf->str[c];
		cf->str[c] = NULL;
	}
}

/*
 * Open path as sshd's StrictModes would accept it: a regular file, not
 * writable by group or others, and owned by root when we are root.
 * Returns the stream, or NULL with errno set (0 when err says why).
 */
static FILE *
conf_open(const char *path, char *err, size_t errlen)
{
	struct stat st;
	FILE *fp;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) < 0)
		return NULL;
	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto fail;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		snprintf(err, errlen, "%s: writable by group or others, refusing "
		    "it (as sshd's StrictModes would); chmod go-w it", path);
		goto fail;
	}
	if (geteuid() == 0 && st.st_uid != 0) {
		snprintf(err, errlen, "%s: not owned by root, refusing it (as "
		    "sshd's StrictModes would)", path);
		goto fail;
	}
	if (fcntl(fd, F_SETFL, O_RDONLY) != 0 ||
	    (fp = fdopen(fd, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	return fp;
fail:
	close(fd);
	errno = 0;
	return NULL;
}

int
conf_load(const char *path, bool must_exist, struct agent_options *o,
    char *err, size_t errlen)
{
	struct conf_file cf;
	char *line = NULL, msg[256];
	size_t cap = 0;
	ssize_t n;
	FILE *fp;
	int lineno = 0, rc = -1, c;

	memset(&cf, 0, sizeof(cf));
	if ((fp = conf_open(path, err, errlen)) == NULL) {
		if (errno == ENOENT && !must_exist)
			return 0;
		if (errno != 0)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &cap, fp)) >= 0) {
		lineno++;
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		if (n > CONF_LINE_MAX) {
			snprintf(err, errlen, "%s:%d: line longer than %d bytes",
			    path, lineno, CONF_LINE_MAX);
			goto out;
		}
		if (strlen(line) != (size_t)n) {
			snprintf(err, errlen, "%s:%d: NUL byte in the line", path,
			    lineno);
			goto out;
		}
		if (conf_line(line, lineno, &cf, msg, sizeof(msg)) != 0) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
			goto out;
		}
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: read error", path);
		goto out;
	}
	if (cf.line[C_SERIAL] != 0 && cf.line[C_LISTEN] != 0) {
		c = cf.line[C_SERIAL] > cf.line[C_LISTEN] ? C_SERIAL : C_LISTEN;
		snprintf(err, errlen, "%s:%d: give only one of serial and listen",
		    path, cf.line[c]);
		goto out;
	}

	/*
	 * The file is good: apply it under the command line.  serial and
	 * listen choose the one console transport, so when the command line
	 * chose one (--stdio included) the file's choice is dropped whole.
	 */
	if (o->serial == NULL && !o->stdio && o->listen == NULL) {
		take(&cf, C_SERIAL, &o->serial);
		take(&cf, C_LISTEN, &o->listen);
	}
	take(&cf, C_LISTEN_SSH, &o->listen_ssh);
	take(&cf, C_HOST_KEY, &o->host_key);
	take(&cf, C_AUTHORIZED_KEYS, &o->authorized_keys);
	take(&cf, C_DEBUG_FILE, &o->debug_file);
	take(&cf, C_TARGET_ROOT, &o->target_root);
	take(&cf, C_GETTY, &o->getty);
	if (cf.line[C_ALLOW] != 0 && o->allow == NULL) {
		o->allow = cf.allow;
		cf.allow = NULL;
	}
	if (cf.line[C_READ_ONLY] != 0 && !o->read_only)
		o->read_only = cf.boolean;
	if (cf.line[C_ENCODING] != 0 && o->encoding == LL_ENC_AUTO)
		o->encoding = cf.encoding;
	rc = 0;
out:
	for (c = 0; c < C_MAX; c++)
		free(cf.str[c]);
	free(cf.allow);
	free(line);
	fclose(fp);
	return rc;
}
