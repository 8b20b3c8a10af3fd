/*
 * Read a small file whole and replace one atomically (see safe-file.h).
 *
 * A replacement is made in the same directory as the file, so the rename is
 * atomic: the temp file is created O_EXCL | O_NOFOLLOW under a random name
 * (never an existing entry, never through a symlink planted there), gets
 * its owner before its mode (so set-id bits survive chown), then the xattrs,
 * then the bytes, and is fsynced and closed before the rename.  The
 * directory is fsynced after it so the new entry itself is durable.  What a
 * killed run left is recognised by that name pattern and removed by
 * sf_remove_stale(), under the caller's lock.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "log.h"
#include "safe-file.h"

#define SF_SELINUX	"security.selinux"

int
sf_read_fd(int fd, size_t max, char **buf, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *p, *np;
	ssize_t r;
	int rc;

	*buf = NULL;
	*len = 0;
	if ((p = malloc(cap + 1)) == NULL)
		return -ENOMEM;
	for (;;) {
		if (n == cap) {
			if (cap >= max) {
				rc = -EFBIG;
				goto fail;
			}
			cap = cap * 2 > max ? max : cap * 2;
			if ((np = realloc(p, cap + 1)) == NULL) {
				rc = -ENOMEM;
				goto fail;
			}
			p = np;
		}
		r = read(fd, p + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	p[n] = '\0';
	*buf = p;
	*len = n;
	return 0;
fail:
	free(p);
	return rc;
}

int
sf_temp_name(const char *name, char *tmp, size_t tmplen)
{
	static const char az[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char rnd[SF_TEMP_RANDOM];
	size_t i;
	int n;

	n = snprintf(tmp, tmplen, ".%s.lifeline-", name);
	if (n < 0 || (size_t)n + sizeof(rnd) >= tmplen)
		return -ENAMETOOLONG;
	/* Only unpredictable, not secret: O_EXCL catches a collision. */
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		for (i = 0; i < sizeof(rnd); i++)
			rnd[i] = (unsigned char)(rand() ^ getpid());
	}
	for (i = 0; i < sizeof(rnd); i++)
		tmp[n++] = az[rnd[i] % (sizeof(az) - 1)];
	tmp[n] = '\0';
	return 0;
}

int
sf_copy_label(int from, int fd)
{
	char label[1024];
	ssize_t n;

	n = fgetxattr(from, SF_SELINUX, label, sizeof(label));
	if (n <= 0)
		return 0;
	return fsetxattr(fd, SF_SELINUX, label, (size_t)n, 0) == 0 ? 0 :
	    -errno;
}

/*
 * Copy every xattr of from to to (security.selinux included).  A source
 * filesystem without xattrs has none to copy.  On failure which holds the
 * name of the xattr that failed ("" when listing them failed).
 */
static int
sf_copy_xattrs(int from, int to, char *which, size_t wlen)
{
	char *names = NULL, *val = NULL, *n;
	ssize_t len, vlen;
	int rc = 0;

	which[0] = '\0';
	len = flistxattr(from, NULL, 0);
	if (len <= 0)
		return len < 0 && errno != ENOTSUP ? -errno : 0;
	if ((names = malloc((size_t)len)) == NULL)
		return -ENOMEM;
	if ((len = flistxattr(from, names, (size_t)len)) < 0) {
		rc = -errno;
		goto out;
	}
	for (n = names; n < names + len; n += strlen(n) + 1) {
		snprintf(which, wlen, "%s", n);
		if ((vlen = fgetxattr(from, n, NULL, 0)) < 0) {
			rc = -errno;
			goto out;
		}
		free(val);
		if ((val = malloc((size_t)vlen + 1)) == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		if ((vlen = fgetxattr(from, n, val, (size_t)vlen)) < 0 ||
		    fsetxattr(to, n, val, (size_t)vlen, 0) != 0) {
			rc = -errno;
			goto out;
		}
	}
	which[0] = '\0';
out:
	free(names);
	free(val);
	return rc;
}

static int
sf_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
sf_write_temp(int dirfd, const char *name, const void *data, size_t len,
    const struct sf_like *like, char *tmp, size_t tmplen,
    struct sf_fail *fail)
{
	struct sf_fail ignored;
	struct stat st;
	int fd = -1, rc, tries;

	if (fail == NULL)
		fail = &ignored;
	fail->step = SF_STEP_CREATE;
	fail->xattr[0] = '\0';
	for (tries = 0; tries < 16; tries++) {
		if ((rc = sf_temp_name(name, tmp, tmplen)) != 0)
			return rc;
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0)
		return -errno;

	fail->step = SF_STEP_OWNER;
	if (like->fd >= 0) {
		if (fstat(like->fd, &st) != 0) {
			rc = -errno;
			goto fail;
		}
	} else {
		st.st_uid = like->uid;
		st.st_gid = like->gid;
		st.st_mode = like->mode;
	}
	/* chown first: it clears set-id bits that fchmod then sets */
	if (fchown(fd, st.st_uid, st.st_gid) != 0 ||
	    fchmod(fd, st.st_mode & 07777) != 0) {
		rc = -errno;
		goto fail;
	}

	fail->step = SF_STEP_XATTR;
	if (like->fd >= 0)
		rc = sf_copy_xattrs(like->fd, fd, fail->xattr,
		    sizeof(fail->xattr));
	else if (like->label_fd >= 0)
		rc = sf_copy_label(like->label_fd, fd);
	else
		rc = 0;
	if (rc != 0)
		goto fail;

	fail->step = SF_STEP_WRITE;
	if ((rc = sf_write_all(fd, data, len)) != 0)
		goto fail;
	if (fsync(fd) != 0) {
		rc = -errno;
		goto fail;
	}
	rc = close(fd) != 0 ? -errno : 0;
	fd = -1;
	if (rc != 0)
		goto fail;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlinkat(dirfd, tmp, 0);
	return rc;
}

int
sf_replace(int dirfd, const char *name, const void *data, size_t len,
    const struct sf_like *like, struct sf_fail *fail)
{
	char tmp[SF_TEMP_MAX];
	int rc;

	if ((rc = sf_write_temp(dirfd, name, data, len, like, tmp,
	    sizeof(tmp), fail)) != 0)
		return rc;
	if (renameat(dirfd, tmp, dirfd, name) != 0) {
		rc = -errno;
		unlinkat(dirfd, tmp, 0);
		if (fail != NULL)
			fail->step = SF_STEP_RENAME;
		return rc;
	}
	/* name is replaced: a lost fsync only risks the old file after a
	 * crash, which the caller can no longer undo */
	if ((rc = sf_sync_dir(dirfd)) != 0)
		log_warn("fsync of the directory of %s: %s", name,
		    strerror(-rc));
	return 0;
}

int
sf_sync_dir(int dirfd)
{
	int fd, rc = 0;

	if (fsync(dirfd) == 0)
		return 0;
	if (errno != EBADF)
		return -errno;
	/* an O_PATH fd (target_open_parent()) cannot be synced itself */
	if ((fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0)
		return -errno;
	if (fsync(fd) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

int
sf_remove_stale(int dirfd, const char *name)
{
	char prefix[SF_TEMP_MAX];
	struct dirent *de;
	struct stat sb;
	size_t plen, i;
	DIR *d;
	int fd, n = 0;

	if (snprintf(prefix, sizeof(prefix), ".%s.lifeline-", name) >=
	    (int)sizeof(prefix))
		return 0;
	plen = strlen(prefix);
	if ((fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, plen) != 0 ||
		    strlen(de->d_name) != plen + SF_TEMP_RANDOM)
			continue;
		for (i = plen; i < plen + SF_TEMP_RANDOM; i++) {
			if (!isalnum((unsigned char)de->d_name[i]))
				break;
		}
		/* only what sf_write_temp makes: a regular file */
		if (i < plen + SF_TEMP_RANDOM || fstatat(dirfd, de->d_name,
		    &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode))
			continue;
		if (unlinkat(dirfd, de->d_name, 0) == 0) {
			log_info("removed %s, a temp file a stopped run left "
			    "for %s", de->d_name, name);
			n++;
		} else
			log_warn("cannot remove the stale temp file %s: %s",
			    de->d_name, strerror(errno));
	}
	closedir(d);
	return n;
}
