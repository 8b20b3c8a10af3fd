/*
 * libFuzzer target for the sshd_config reader (agent/sshd-conf.c), with
 * Include, served from a file system in memory made from the input:
 * the input up to the first line "%%PATH" is /etc/ssh/sshd_config, and each
 * "%%PATH" line starts another file (at most 16).  The first byte picks the
 * user ("root" when even, "alice" when odd).
 *
 * Properties checked (abort() on violation):
 *  - at most SSHD_CONF_FILES_MAX files are read, whatever includes what
 *    (a config including itself, or n files each including "*", must not
 *    cost n^depth reads);
 *  - every "file:line" the result cites names a file that was read and a
 *    line that exists in it;
 *  - a value found has its source, and it is text of a file that was
 *    read, without a line end;
 *  - listing is only asked for directories, and only files the listing or
 *    an Include named are read.
 */
#define _GNU_SOURCE
#include <fnmatch.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sshd-conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define VFS_MAX		16
/* The cap sshd-conf.h promises, written out so that the check does not
 * move with the constant. */
#define READS_MAX	64

struct vfs {
	char *path[VFS_MAX];
	const char *text[VFS_MAX];
	size_t len[VFS_MAX];
	bool read[VFS_MAX];
	int n;
	int reads;
};

static int
vfs_find(struct vfs *v, const char *path)
{
	int i;

	for (i = 0; i < v->n; i++)
		if (strcmp(v->path[i], path) == 0)
			return i;
	return -1;
}

static int
vfs_read(void *ctx, const char *path, struct pw_buf *b)
{
	struct vfs *v = ctx;
	int i;

	v->reads++;
	if (path[0] != '/')
		abort();
	if ((i = vfs_find(v, path)) < 0)
		return -2;
	v->read[i] = true;
	if ((b->p = malloc(v->len[i] + 1)) == NULL)
		return -12;
	memcpy(b->p, v->text[i], v->len[i]);
	b->p[v->len[i]] = '\0';
	b->len = v->len[i];
	return 0;
}

static int
vfs_list(void *ctx, const char *dir, const char *base, char ***names,
    size_t *n, size_t max)
{
	struct vfs *v = ctx;
	size_t dl = strlen(dir);
	int i;

	if (dl == 0 || dir[0] != '/' || dir[dl - 1] != '/')
		abort();
	*names = calloc(VFS_MAX, sizeof(**names));
	*n = 0;
	if (*names == NULL)
		return -12;
	for (i = 0; i < v->n && *n < max; i++) {
		const char *name = v->path[i] + dl;

		if (strncmp(v->path[i], dir, dl) != 0 || *name == '\0' ||
		    strchr(name, '/') != NULL ||
		    fnmatch(base, name, FNM_PERIOD) != 0)
			continue;
		(*names)[(*n)++] = strdup(name);
		if ((*names)[*n - 1] == NULL)
			(*n)--;
	}
	return 0;
}

/* Split the input into files. */
static void
vfs_load(struct vfs *v, const char *d, size_t size)
{
	const char *p = d, *end = d + size, *next, *nl;

	v->path[0] = strdup("/etc/ssh/sshd_config");
	v->n = 1;
	for (;;) {
		/* the next "\n%%" ends this file */
		for (next = p; next < end; next++)
			if (next + 3 <= end && next[0] == '\n' &&
			    next[1] == '%' && next[2] == '%')
				break;
		v->text[v->n - 1] = p;
		v->len[v->n - 1] = (size_t)((next < end ? next + 1 : end) - p);
		if (next >= end || v->n == VFS_MAX)
			break;
		p = next + 3;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		v->path[v->n] = strndup(p, (size_t)(nl - p));
		if (v->path[v->n] == NULL)
			break;
		v->n++;
		p = nl + 1;
	}
}

/* A "file:line" source must name a line of a file that was read. */
static void
check_src(struct vfs *v, const char *src)
{
	char path[400];
	const char *colon = strrchr(src, ':');
	long line, lines = 1;
	size_t k;
	int i;

	/* A path too long for the source text was cut: skip those. */
	if (src[0] == '\0' || strlen(src) >= 299)
		return;
	if (colon == NULL)
		abort();
	snprintf(path, sizeof(path), "/%.*s", (int)(colon - src), src);
	line = strtol(colon + 1, NULL, 10);
	if ((i = vfs_find(v, path)) < 0 || !v->read[i])
		abort();
	for (k = 0; k < v->len[i]; k++)
		if (v->text[i][k] == '\n')
			lines++;
	if (line < 1 || line > lines)
		abort();
}

static void
check_value(struct vfs *v, const char *val, const char *src, size_t size)
{
	size_t n = strnlen(val, size);
	int i;

	if (n == size)
		abort();
	if (n == 0)
		return;
	if (src != NULL && src[0] == '\0')
		abort();
	if (strpbrk(val, "\r\n") != NULL)
		abort();
	for (i = 0; i < v->n; i++)
		if (v->read[i] && memmem(v->text[i], v->len[i], val, n) != NULL)
			return;
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct sshd_conf_io io = { vfs_read, vfs_list, NULL };
	struct sshd_conf_io vio = io;
	struct sshd_conf e;
	struct vfs v;
	const char *user;
	int i;

	if (size < 1)
		return 0;
	memset(&v, 0, sizeof(v));
	user = data[0] % 2 == 0 ? "root" : "alice";
	vfs_load(&v, (const char *)data + 1, size - 1);
	vio.ctx = &v;
	sshd_conf_read(&e, &vio, "/etc/ssh/sshd_config", user);
	if (v.reads > READS_MAX || e.files > READS_MAX ||
	    v.reads != e.files)
		abort();
	check_value(&v, e.prl, e.prl_src, sizeof(e.prl));
	check_value(&v, e.pa, e.pa_src, sizeof(e.pa));
	check_value(&v, e.pea, NULL, sizeof(e.pea));
	check_src(&v, e.prl_src);
	check_src(&v, e.pa_src);
	check_src(&v, e.allow_src);
	check_src(&v, e.deny_src);
	if (e.denied && e.deny_src[0] == '\0')
		abort();
	if (e.allowed && !e.allow_seen)
		abort();
	for (i = 0; i < v.n; i++)
		free(v.path[i]);
	return 0;
}
