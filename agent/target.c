/*
 * Target root state and confined path resolution (see target.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "target.h"

static struct {
	int root_fd;		/* -1 when no target root is set */
	char root[4096];	/* where it is mounted on the rescue host */
	struct target_mount mounts[TARGET_MOUNTS_MAX]; /* in mount order */
	int nmounts;
	char inspected[TARGET_INSPECTED_MAX][4096];	/* device paths */
	char inspected_os[TARGET_INSPECTED_MAX][256];	/* their PRETTY_NAME */
	int ninspected;
} agent_target;	/* zero (.bss: 0.5 MB), root_fd set by target_init */

/*
 * Reset by the counts, not by clearing the whole: the table is 0.5 MB of
 * .bss, already zero, and a memset would make every page of it resident
 * (the agent's RSS, issue 14) for slots that are only read below a count.
 */
void
target_init(void)
{
	agent_target.root_fd = -1;
	agent_target.root[0] = '\0';
	agent_target.nmounts = 0;
	agent_target.ninspected = 0;
}

bool
target_has_root(void)
{
	return agent_target.root_fd >= 0;
}

const char *
target_root_path(void)
{
	return agent_target.root_fd >= 0 ? agent_target.root : NULL;
}

int
target_root_fd(void)
{
	return agent_target.root_fd;
}

int
target_set_root(const char *path)
{
	int fd;

	if (path == NULL) {
		if (agent_target.root_fd >= 0)
			close(agent_target.root_fd);
		agent_target.root_fd = -1;
		agent_target.root[0] = '\0';
		return 0;
	}
	if (path[0] != '/' || strlen(path) >= sizeof(agent_target.root))
		return -EINVAL;
	fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (agent_target.root_fd >= 0)
		close(agent_target.root_fd);
	agent_target.root_fd = fd;
	snprintf(agent_target.root, sizeof(agent_target.root), "%s", path);
	return 0;
}

/*
 * openat2 with RESOLVE_IN_ROOT fails with EAGAIN when a rename or a mount
 * anywhere on the machine raced with its resolving a ".." (it cannot then
 * be sure the ".." stayed inside); openat2(2) leaves the retry to the
 * caller.  A rescue host mounts and unmounts while the agent works, its own
 * mounts included, so an open through ".." would fail now and then for no
 * reason of its own (the fstab fuzz target found it while other tests
 * mounted).  Each try is a fresh, fully checked resolution.
 */
#define OPENAT2_TRIES	64

int
target_openat2(int dirfd, const char *path, int flags, mode_t mode,
    unsigned long long resolve)
{
	struct open_how how;
	long fd;
	int tries = 0;

	memset(&how, 0, sizeof(how));
	how.flags = (unsigned long long)(flags | O_CLOEXEC);
	if (flags & O_CREAT)
		how.mode = mode;
	how.resolve = resolve;
	do
		fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	while (fd < 0 && errno == EAGAIN && ++tries < OPENAT2_TRIES);
	return fd < 0 ? -errno : (int)fd;
}

int
target_open(const char *path, int flags, mode_t mode, bool rescue_host)
{
	int root = rescue_host ? AT_FDCWD : agent_target.root_fd;
	const char *rel = path;

	if (path == NULL || path[0] != '/')
		return -EINVAL;
	if (rescue_host)
		return target_openat2(AT_FDCWD, path, flags, mode,
		    RESOLVE_NO_MAGICLINKS);
	if (root < 0)
		return -ENOTCONN;
	while (*rel == '/')
		rel++;
	if (*rel == '\0')
		rel = ".";
	return target_openat2(root, rel, flags, mode,
	    RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

int
target_open_parent(const char *path, const char **base, bool rescue_host)
{
	char dir[4096];
	const char *slash;
	size_t n;

	if (path == NULL || path[0] != '/' || strlen(path) >= sizeof(dir))
		return -EINVAL;
	slash = strrchr(path, '/');
	*base = slash + 1;
	if (**base == '\0' || strcmp(*base, ".") == 0 ||
	    strcmp(*base, "..") == 0)
		return -EINVAL;
	n = (size_t)(slash - path);
	if (n == 0)
		n = 1;
	memcpy(dir, path, n);
	dir[n] = '\0';
	return target_open(dir, O_PATH | O_DIRECTORY, 0, rescue_host);
}

int
target_push_mount(const char *source, const char *target, const char *fstype,
    bool is_root, bool dev_ro)
{
	struct target_mount *m;

	if (agent_target.nmounts == TARGET_MOUNTS_MAX)
		return -ENOSPC;
	m = &agent_target.mounts[agent_target.nmounts++];
	snprintf(m->source, sizeof(m->source), "%s", source);
	snprintf(m->target, sizeof(m->target), "%s", target);
	snprintf(m->fstype, sizeof(m->fstype), "%s", fstype != NULL ?
	    fstype : "");
	m->is_root = is_root;
	m->dev_ro = dev_ro;
	return 0;
}

int
target_mount_count(void)
{
	return agent_target.nmounts;
}

const struct target_mount *
target_mount_at(int i)
{
	return i >= 0 && i < agent_target.nmounts ? &agent_target.mounts[i] :
	    NULL;
}

bool
target_mounts_full(void)
{
	return agent_target.nmounts == TARGET_MOUNTS_MAX;
}

void
target_forget_mount(int i)
{
	if (i < 0 || i >= agent_target.nmounts)
		return;
	memmove(&agent_target.mounts[i], &agent_target.mounts[i + 1],
	    (size_t)(agent_target.nmounts - i - 1) *
	    sizeof(agent_target.mounts[0]));
	agent_target.nmounts--;
}

void
target_inspected_clear(void)
{
	agent_target.ninspected = 0;
}

bool
target_inspected_add(const char *device, const char *os)
{
	int n = agent_target.ninspected;

	if (n == TARGET_INSPECTED_MAX)
		return false;
	snprintf(agent_target.inspected[n], sizeof(agent_target.inspected[n]),
	    "%s", device);
	snprintf(agent_target.inspected_os[n],
	    sizeof(agent_target.inspected_os[n]), "%s", os);
	agent_target.ninspected = n + 1;
	return true;
}

int
target_inspected_count(void)
{
	return agent_target.ninspected;
}

const char *
target_inspected_device(int i)
{
	return i >= 0 && i < agent_target.ninspected ?
	    agent_target.inspected[i] : NULL;
}

const char *
target_inspected_os(int i)
{
	return i >= 0 && i < agent_target.ninspected ?
	    agent_target.inspected_os[i] : NULL;
}
/* The real path of an open fd, from /proc.  0 or -1. */
int
target_fd_path(int fd, char *out, size_t len)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, out, len - 1);
	if (n < 0 || (size_t)n >= len - 1)
		return -1;
	out[n] = '\0';
	return 0;
}

/*
 * The real host path of directory path inside the target root, checked to
 * lie strictly below the root after every symlink was resolved inside it.
 * 0, or -errno (-EXDEV when it would leave the root).
 */
int
target_real_dir(const char *root, const char *path, char *out,
    size_t len)
{
	size_t rl = strlen(root);
	int fd, rc = 0;

	fd = target_open(path, O_PATH | O_DIRECTORY, 0, false);
	if (fd < 0)
		return fd;
	if (target_fd_path(fd, out, len) != 0)
		rc = -ENAMETOOLONG;
	else if (strncmp(out, root, rl) != 0 || out[rl] != '/' ||
	    out[rl + 1] == '\0')
		rc = -EXDEV;
	close(fd);
	return rc;
}
