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

#define TARGET_INSPECTED_MAX	8

/*
 * The state lives in target.c and changes only through these calls: the
 * operations (mount, umount, reboot, inspect, exec) read and record, they
 * never edit it.
 */
void target_init(void);
/* Set (or with path NULL, clear) the target root.  0 or -errno. */
int target_set_root(const char *path);
bool target_has_root(void);
/* Where the target root is mounted on the rescue host; NULL when none. */
const char *target_root_path(void);
/* Its directory fd (exec --chroot enters it), or -1 when none. */
int target_root_fd(void);
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
/* The mounts recorded, in mount order: how many, and the i-th. */
int target_mount_count(void);
const struct target_mount *target_mount_at(int i);
bool target_mounts_full(void);
/* Forget mount i (it is gone); the later ones move down one place. */
void target_forget_mount(int i);

/*
 * The original roots the last inspect found, for `mount auto`: cleared
 * when an inspect starts, then added one by one (false once
 * TARGET_INSPECTED_MAX are held: the rest are not kept).
 */
void target_inspected_clear(void);
bool target_inspected_add(const char *device, const char *os);
int target_inspected_count(void);
const char *target_inspected_device(int i);
const char *target_inspected_os(int i);

#endif
