/*
 * The target's sshd_config, read for the passwd operation's list of what
 * may still block a login: see sshd-conf.h.  The first value of a keyword
 * wins, as in sshd; AllowUsers and DenyUsers accumulate.  Every file read
 * counts against SSHD_CONF_FILES_MAX, so n files that each include "*"
 * cost at most that many reads rather than n to the power of the depth.
 */
#include "config.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sshd-conf.h"

struct sshd_run {
	struct sshd_conf *e;
	const struct sshd_conf_io *io;
	const char *user;
};

static void sshd_conf_file(struct sshd_run *run, const char *path,
    int depth);

static int
sshd_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Include: each pattern relative to /etc/ssh, globbing the last part. */
static void
sshd_conf_include(struct sshd_run *run, const char *pat, int depth)
{
	char full[4096], dir[4096], sub[8192];
	const char *base;
	char **names = NULL;
	size_t n = 0, i;

	if (pat[0] == '/')
		snprintf(full, sizeof(full), "%s", pat);
	else
		snprintf(full, sizeof(full), "/etc/ssh/%s", pat);
	if (strpbrk(full, "*?[") == NULL) {
		sshd_conf_file(run, full, depth + 1);
		return;
	}
	base = strrchr(full, '/') + 1;
	snprintf(dir, sizeof(dir), "%.*s", (int)(base - full), full);
	if (strpbrk(dir, "*?[") != NULL ||
	    run->io->list(run->io->ctx, dir, base, &names, &n,
	    SSHD_CONF_GLOB_MAX) != 0)
		return;
	/* sshd processes glob(3) results in sorted order */
	qsort(names, n, sizeof(*names), sshd_name_cmp);
	for (i = 0; i < n; i++) {
		snprintf(sub, sizeof(sub), "%s%s", dir, names[i]);
		if (!run->e->stop)
			sshd_conf_file(run, sub, depth + 1);
		free(names[i]);
	}
	free(names);
}

/* Whether user matches an AllowUsers/DenyUsers pattern (USER[@HOST]). */
static bool
sshd_user_matches(const char *pat, const char *user)
{
	char p[256];
	char *at;

	snprintf(p, sizeof(p), "%s", pat);
	if ((at = strchr(p, '@')) != NULL)
		*at = '\0';
	return fnmatch(p, user, 0) == 0;
}

/* One keyword line with its first value v; s holds the rest. */
static void
sshd_conf_keyword(struct sshd_run *run, const char *kw, char *v, char *s,
    const char *src)
{
	struct sshd_conf *e = run->e;

	if (strcasecmp(kw, "PermitRootLogin") == 0 && e->prl[0] == '\0') {
		snprintf(e->prl, sizeof(e->prl), "%s", v);
		snprintf(e->prl_src, sizeof(e->prl_src), "%s", src);
	} else if (strcasecmp(kw, "PasswordAuthentication") == 0 &&
	    e->pa[0] == '\0') {
		snprintf(e->pa, sizeof(e->pa), "%s", v);
		snprintf(e->pa_src, sizeof(e->pa_src), "%s", src);
	} else if (strcasecmp(kw, "PermitEmptyPasswords") == 0 &&
	    e->pea[0] == '\0') {
		snprintf(e->pea, sizeof(e->pea), "%s", v);
	} else if (strcasecmp(kw, "AllowUsers") == 0) {
		if (!e->allow_seen)
			snprintf(e->allow_src, sizeof(e->allow_src), "%s",
			    src);
		e->allow_seen = true;
		for (; v != NULL; v = pw_token(&s))
			if (sshd_user_matches(v, run->user))
				e->allowed = true;
	} else if (strcasecmp(kw, "DenyUsers") == 0) {
		for (; v != NULL; v = pw_token(&s)) {
			if (sshd_user_matches(v, run->user) && !e->denied) {
				e->denied = true;
				snprintf(e->deny_src, sizeof(e->deny_src),
				    "%s", src);
			}
		}
	}
}

static void
sshd_conf_file(struct sshd_run *run, const char *path, int depth)
{
	struct sshd_conf *e = run->e;
	struct pw_buf b;
	char *line, *next, *kw, *v, *s;
	char src[300];
	int lineno = 0;

	if (depth > SSHD_CONF_DEPTH_MAX || e->stop ||
	    e->files >= SSHD_CONF_FILES_MAX)
		return;
	e->files++;
	if (run->io->read(run->io->ctx, path, &b) != 0)
		return;
	for (line = b.p; line != NULL && !e->stop; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		lineno++;
		line[strcspn(line, "\r")] = '\0';
		s = line;
		if ((kw = pw_token(&s)) == NULL || kw[0] == '#')
			continue;
		snprintf(src, sizeof(src), "%s:%d", path + 1, lineno);
		if (strcasecmp(kw, "Match") == 0) {
			e->stop = true;
			break;
		}
		if (strcasecmp(kw, "Include") == 0) {
			while ((v = pw_token(&s)) != NULL && !e->stop)
				sshd_conf_include(run, v, depth);
			continue;
		}
		if ((v = pw_token(&s)) != NULL)
			sshd_conf_keyword(run, kw, v, s, src);
	}
	pw_buf_free(&b);
}

void
sshd_conf_read(struct sshd_conf *e, const struct sshd_conf_io *io,
    const char *path, const char *user)
{
	struct sshd_run run = { e, io, user };

	memset(e, 0, sizeof(*e));
	sshd_conf_file(&run, path, 0);
}
