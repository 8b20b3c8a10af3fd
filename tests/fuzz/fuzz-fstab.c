/*
 * libFuzzer target for the target's etc/fstab: the field splitting and
 * octal unescaping of inspect (agent/etc-text.c), libmount's parser as
 * mount --fstab uses it, and the resolution of every mount point inside the
 * target root (target_real_dir in agent/target.c) in a scratch root made at
 * start-up that holds the symlinks an attacker would plant: "..", absolute,
 * into /proc/self/root (a magic link), and through a subdirectory out of
 * the root.
 *
 * Properties checked (abort() on violation):
 *  - fields: at most six, those past the last NULL, none empty unless an
 *    escape made it so, none holding a raw blank; unescaping is done once:
 *    escaping a field again and unescaping that gives the field back;
 *  - a mount point resolves to a real directory strictly below the root,
 *    or fails; -EXDEV ("leads outside") only ever for the root itself,
 *    since openat2(RESOLVE_IN_ROOT) never leaves it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmount.h>

#include "etc-text.h"
#include "scratch.h"
#include "target.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[PATH_MAX];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	scratch_make("fstab");
	scratch_mk("outside", NULL);
	scratch_mk("root", NULL);
	scratch_mk("root/mnt", NULL);
	scratch_mk("root/home", NULL);
	scratch_mk("root/home/u", NULL);
	scratch_mk("root/etc", NULL);
	scratch_mk("root/up", "../..");
	scratch_mk("root/abs", "/");
	scratch_mk("root/etc2", "/etc");
	scratch_mk("root/mnt/loop", "../mnt");
	scratch_mk("root/magic", "/proc/self/root");
	scratch_mk("root/home/u/esc", "../../../outside");
	scratch_mk("root/self", ".");
	scratch_path(root, sizeof(root), "root");
	if (target_set_root(root) != 0)
		abort();
	return 0;
}

/* A mount point must resolve strictly below the root, or fail. */
static void
check_mountpoint(const char *mp)
{
	char out[PATH_MAX], real[PATH_MAX];
	size_t rl = strlen(root);
	struct stat st;
	int rc, fd;

	rc = target_real_dir(root, mp, out, sizeof(out));
	if (rc == -EXDEV) {
		/* Only the root itself: never a place outside it. */
		if ((fd = target_open(mp, O_PATH | O_DIRECTORY, 0, false)) < 0 ||
		    target_fd_path(fd, out, sizeof(out)) != 0 ||
		    strcmp(out, root) != 0)
			abort();
		close(fd);
		return;
	}
	if (rc != 0)
		return;
	if (strncmp(out, root, rl) != 0 || out[rl] != '/' ||
	    out[rl + 1] == '\0')
		abort();
	if (stat(out, &st) != 0 || !S_ISDIR(st.st_mode) ||
	    realpath(out, real) == NULL || strcmp(real, out) != 0)
		abort();
}

/* fstab's escape, as libmount's mangle writes it. */
static void
escape(const char *s, char *out)
{
	for (; *s != '\0'; s++) {
		if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\\')
			out += sprintf(out, "\\%03o", (unsigned char)*s);
		else
			*out++ = *s;
	}
	*out = '\0';
}

static void
check_line(const char *line)
{
	char *copy, *f[6], *esc;
	size_t len = strlen(line);
	int n, i;

	if ((copy = strdup(line)) == NULL || (esc = malloc(4 * len + 1)) == NULL)
		abort();
	n = etc_fstab_fields(copy, f);
	if (n < 0 || n > 6)
		abort();
	for (i = 0; i < 6; i++) {
		if ((i < n) != (f[i] != NULL))
			abort();
		if (i >= n)
			continue;
		if (f[i] < copy || f[i] > copy + len)
			abort();
		if (i >= 4 && (f[i][0] == '\0' || strpbrk(f[i], " \t\r")))
			abort();
		if (i < 4) {
			char *again;

			escape(f[i], esc);
			if ((again = strdup(esc)) == NULL)
				abort();
			etc_fstab_unescape(again);
			if (strcmp(again, f[i]) != 0)
				abort();
			free(again);
		}
	}
	if (n >= 2 && f[1][0] == '/')
		check_mountpoint(f[1]);
	free(esc);
	free(copy);
}

static int
parse_err(struct libmnt_table *tb, const char *file, int line)
{
	(void)tb;
	(void)file;
	(void)line;
	return 1;
}

static void
check_libmount(const uint8_t *data, size_t size)
{
	struct libmnt_table *tb;
	struct libmnt_iter *itr;
	struct libmnt_fs *fs;
	const char *mp;
	FILE *f;

	if (size == 0 || (f = fmemopen((void *)data, size, "r")) == NULL)
		return;
	tb = mnt_new_table();
	itr = mnt_new_iter(MNT_ITER_FORWARD);
	if (tb == NULL || itr == NULL)
		abort();
	mnt_table_set_parser_errcb(tb, parse_err);
	if (mnt_table_parse_stream(tb, f, "/etc/fstab") == 0) {
		while (mnt_table_next_fs(tb, itr, &fs) == 0)
			if ((mp = mnt_fs_get_target(fs)) != NULL &&
			    mp[0] == '/')
				check_mountpoint(mp);
	}
	mnt_free_iter(itr);
	mnt_unref_table(tb);
	fclose(f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *line, *save = NULL;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		check_line(line);
	free(text);
	check_libmount(data, size);
	return 0;
}
