/*
 * The target root: the original OS's root filesystem, mounted by `mount`
 * (or named with --target-root), that passwd, authorize-key, get/put and
 * exec --chroot act on.  It outlives client sessions: the agent keeps it
 * until `umount`.
 *
 * Every path inside it is resolved from one directory fd with
 * openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), never by joining
 * strings, so an absolute or ".." symlink inside the target cannot reach the
 * rescue host's own files.
 */
#ifndef LL_AGENT_TARGET_H
#define LL_AGENT_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define TARGET_MOUNTS_MAX	64

struct target_mount {
	char source[4096];
	char target[4096];	/* absolute path on the rescue host */
	char fstype[64];
	bool is_root;		/* the target root itself */
	bool dev_ro;		/* source made read-only for it (BLKROSET) */
};

struct target {
	int root_fd;		/* -1 when no target root is set */
	char root[4096];	/* where it is mounted on the rescue host */
	struct target_mount mounts[TARGET_MOUNTS_MAX]; /* in mount order */
	int nmounts;
	/* Original roots found by the last inspect, for `mount auto`. */
	char inspected[8][4096];	/* device paths */
	char inspected_os[8][256];	/* their PRETTY_NAME */
	int ninspected;
};

extern struct target agent_target;

void target_init(void);
/* Set (or with path NULL, clear) the target root.  0 or -errno. */
int target_set_root(const char *path);
bool target_has_root(void);
/*
 * Open path (absolute, as seen inside the target) below the target root, or
 * below "/" of the rescue host when rescue_host.  flags/mode as openat(2);
 * O_NOFOLLOW applies to the last component.  Returns an fd or -errno.
 */
int target_open(const char *path, int flags, mode_t mode, bool rescue_host);
/*
 * openat2(2) from dirfd with resolve (RESOLVE_* flags), O_CLOEXEC added,
 * retried while a concurrent rename or mount makes it fail with EAGAIN.
 * An fd or -errno.
 */
int target_openat2(int dirfd, const char *path, int flags, mode_t mode,
    unsigned long long resolve);
/* Open the parent directory of path and return it; *base gets the last
 * component (points into path).  -errno on failure. */
int target_open_parent(const char *path, const char **base, bool rescue_host);
/* The real path of an open fd, from /proc.  0 or -1. */
int target_fd_path(int fd, char *out, size_t len);
/*
 * The real host path of directory path inside the target root (whose real
 * path is root), checked to lie strictly below the root after every symlink
 * was resolved inside it: where a mount on path must go.  0, or -errno
 * (-EXDEV when it would be the root itself or leave it).
 */
int target_real_dir(const char *root, const char *path, char *out,
    size_t len);
/*
 * Record a mount lifeline made (for umount in reverse order); dev_ro when
 * the source device was made read-only for it.  0 or -ENOSPC.
 */
int target_push_mount(const char *source, const char *target,
    const char *fstype, bool is_root, bool dev_ro);

#endif
