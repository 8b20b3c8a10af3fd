/*
 * Small files of the target read whole and replaced atomically: passwd's
 * etc/shadow, authorize-key's authorized_keys.
 *
 * Everything works on a directory fd and a single name in it, with *at()
 * calls that never follow a symlink in the last component; the caller opens
 * the directory (target_open(), target_open_parent()) and checks the file
 * it replaces.  A new file is written to a temp file ".NAME.lifeline-XXXXXXXX"
 * beside NAME, with the metadata of the file it replaces, fsynced, and only
 * then renamed over NAME, so a crash leaves the old file or the new one,
 * never a truncated one.  Functions return 0 or -errno.
 */
#ifndef LL_AGENT_SAFE_FILE_H
#define LL_AGENT_SAFE_FILE_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

/* Room for a temp name (a name in a directory). */
#define SF_TEMP_MAX	(NAME_MAX + 1)
/* Random letters and digits at the end of a temp name. */
#define SF_TEMP_RANDOM	8

/* Whose metadata a new file gets. */
struct sf_like {
	int fd;		/* an open file: its owner, mode and every xattr */
	/* With fd -1 instead: */
	mode_t mode;
	uid_t uid;
	gid_t gid;
	int label_fd;	/* its security.selinux label, when >= 0 */
};

/* The step of sf_write_temp()/sf_replace() that failed, for a message. */
enum sf_step {
	SF_STEP_CREATE,		/* creating the temp file */
	SF_STEP_OWNER,		/* its owner and mode */
	SF_STEP_XATTR,		/* copying an xattr (or the label) */
	SF_STEP_WRITE,		/* writing, fsync, close */
	SF_STEP_RENAME		/* renaming it over NAME */
};

struct sf_fail {
	enum sf_step step;
	char xattr[256];	/* SF_STEP_XATTR: its name ("" if unknown) */
};

/*
 * Read the open file fd whole, at most max bytes (-EFBIG beyond).  On
 * success *buf is malloc'd (the caller frees it), NUL-terminated after *len
 * bytes; on failure *buf is NULL and *len 0.
 */
int sf_read_fd(int fd, size_t max, char **buf, size_t *len);

/*
 * A fresh temp name for name, ".NAME.lifeline-" and 8 random letters, in
 * tmp (SF_TEMP_MAX bytes).  -ENAMETOOLONG when it does not fit.
 */
int sf_temp_name(const char *name, char *tmp, size_t tmplen);

/* Give fd the security.selinux label of from, when from has one. */
int sf_copy_label(int from, int fd);

/*
 * Create a temp file for name in dirfd (see sf_temp_name()) holding data,
 * with the metadata of like, and fsync it.  Its name is left in tmp, also
 * on failure (for a message); a failed temp file is removed.  fail, when
 * not NULL, says which step failed.
 */
int sf_write_temp(int dirfd, const char *name, const void *data, size_t len,
    const struct sf_like *like, char *tmp, size_t tmplen,
    struct sf_fail *fail);

/*
 * Replace name in dirfd with data: sf_write_temp(), rename over name, then
 * fsync dirfd.  Once the rename is done it returns 0: a failed directory
 * fsync is only logged.  On failure name is untouched and no temp file is
 * left.
 */
int sf_replace(int dirfd, const char *name, const void *data, size_t len,
    const struct sf_like *like, struct sf_fail *fail);

/*
 * Remove the temp files for name in dirfd that a killed run left behind:
 * regular files named ".NAME.lifeline-" and SF_TEMP_RANDOM letters or
 * digits, as sf_temp_name() makes them.  Only under the lock that
 * serialises the writers of name, so that no run's live temp file goes.
 * Each is logged.  Returns how many were removed, or -errno when the
 * directory cannot be read.
 */
int sf_remove_stale(int dirfd, const char *name);

/* fsync the directory dirfd (an O_PATH fd too). */
int sf_sync_dir(int dirfd);

#endif
