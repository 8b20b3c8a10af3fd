/*
 * inspect: which block devices hold an original OS root.
 *
 * It first runs `mdadm --assemble --scan` and `vgchange -ay` when they
 * exist (as children watched by the event loop, output kept in a memfd), then
 * scans (disks.c) and looks at every filesystem that can hold a Linux root:
 * through its mount point when it is mounted, otherwise through a private
 * read-only probe mount below /run/lifeline.  Nothing on the device may
 * change, so the device itself is made read-only (BLKROSET) for the probe,
 * which stops journal replay and ext4's orphan cleanup even where a mount
 * option would not, and the options ask the filesystem not to recover
 * either.  The files read there belong to the target and are untrusted:
 * every one is opened with openat2(RESOLVE_IN_ROOT) from the mount's
 * directory fd.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libmount.h>

#include "agent.h"
#include "args.h"
#include "child.h"
#include "disks.h"
#include "error.h"
#include "etc-text.h"
#include "log.h"
#include "msg.h"
#include "target.h"

#define INSPECT_FILE_MAX		(1024 * 1024) /* os-release, fstab */
#define INSPECT_FSTAB_MAX		256	/* fstab entries reported */
#define INSPECT_TOOL_MS		(120 * 1000)
#define INSPECT_TOOL_OUT_MAX	2048	/* tail of a tool's output kept */
#define INSPECT_PROBE_BASE	"/run/lifeline"

/* --- inspect: reading the untrusted files ------------------------------ */

static int
inspect_openat2(int dirfd, const char *path, int flags)
{
	/* openat2 refuses O_PATH with any flag it ignores (O_NOCTTY) */
	if ((flags & O_PATH) == 0)
		flags |= O_NOCTTY;
	return target_openat2(dirfd, path, flags, 0,
	    RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

/* A regular file inside root, read whole (bounded); NULL when missing. */
static char *
inspect_read_file(int rootfd, const char *path, char *why, size_t whylen)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	ssize_t n;
	int fd;

	why[0] = '\0';
	/* O_NONBLOCK: a FIFO planted there must not hang the agent */
	if ((fd = inspect_openat2(rootfd, path, O_RDONLY | O_NONBLOCK)) < 0) {
		snprintf(why, whylen, "%s", strerror(-fd));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "not a regular file");
		goto out;
	}
	if (st.st_size > INSPECT_FILE_MAX) {
		snprintf(why, whylen, "larger than %d bytes", INSPECT_FILE_MAX);
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		goto out;
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
out:
	close(fd);
	return buf;
}

static bool
inspect_is_file(int rootfd, const char *path)
{
	struct stat st;
	int fd;
	bool ok;

	if ((fd = inspect_openat2(rootfd, path, O_PATH)) < 0)
		return false;
	ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	close(fd);
	return ok;
}

/* Which device of the scan an fstab source names, when one does. */
static json_t *
inspect_resolve(const struct disks_list *l, const char *spec,
    const char **how)
{
	static const struct {
		const char *tag, *link;
	} tags[] = {
		{ "UUID=", "/dev/disk/by-uuid/" },
		{ "LABEL=", "/dev/disk/by-label/" },
		{ "PARTUUID=", "/dev/disk/by-partuuid/" },
		{ "PARTLABEL=", "/dev/disk/by-partlabel/" },
	};
	json_t *found = json_array();
	const char *val = NULL;
	char want[300];
	struct stat st;
	size_t i, t;
	int k;

	*how = NULL;
	for (t = 0; t < sizeof(tags) / sizeof(tags[0]); t++) {
		size_t n = strlen(tags[t].tag), m = strlen(tags[t].link);

		if (strncasecmp(spec, tags[t].tag, n) == 0)
			val = spec + n;
		else if (strncmp(spec, tags[t].link, m) == 0)
			val = spec + m;
		if (val != NULL)
			break;
	}
	if (val != NULL) {
		snprintf(want, sizeof(want), "%s", val);
		if (want[0] == '"' && want[strlen(want) - 1] == '"' &&
		    strlen(want) >= 2) {
			memmove(want, want + 1, strlen(want));
			want[strlen(want) - 1] = '\0';
		}
		*how = tags[t].tag;
		for (i = 0; i < l->n; i++) {
			const struct disks_dev *d = &l->v[i];
			const char *have = t == 0 ? d->uuid : t == 1 ?
			    d->label : t == 2 ? d->partuuid : d->partlabel;

			if (t < 2 ? strcmp(have, want) == 0 :
			    strcasecmp(have, want) == 0)
				json_array_append_new(found,
				    ll_msg_text(d->path));
			/* an entry of a table with no kernel devices */
			for (k = 0; t >= 2 && k < d->nparts; k++) {
				const char *pv = t == 2 ? d->parts[k].uuid :
				    d->parts[k].name;
				char desc[200];

				if (strcasecmp(pv, want) != 0 || d->kparts)
					continue;
				snprintf(desc, sizeof(desc), "%s partition %d "
				    "(no device node)", d->path,
				    d->parts[k].number);
				json_array_append_new(found,
				    ll_msg_text(desc));
			}
		}
		return found;
	}
	if (strncmp(spec, "/dev/", 5) == 0) {
		/* a path of the target's naming: valid here only if it
		 * names the same device, which is all we can say */
		*how = "path";
		if (stat(spec, &st) == 0 && S_ISBLK(st.st_mode)) {
			for (i = 0; i < l->n; i++)
				if (l->v[i].devno == st.st_rdev)
					json_array_append_new(found,
					    ll_msg_text(l->v[i].path));
		}
		return found;
	}
	json_decref(found);
	return NULL;		/* not a device: a file, tmpfs, a share */
}

static json_t *
inspect_fstab(const struct disks_list *l, char *text)
{
	json_t *a = json_array(), *e, *found;
	char *line, *save = NULL, *f[6];
	const char *how;
	int n, k, count = 0;

	for (line = strtok_r(text, "\n", &save); line != NULL &&
	    count < INSPECT_FSTAB_MAX; line = strtok_r(NULL, "\n", &save)) {
		if ((n = etc_fstab_fields(line, f)) == 0)
			continue;
		e = json_object();
		if (n < 3) {
			json_object_set_new(e, "error", json_string(
			    "fewer than three fields"));
		}
		json_object_set_new(e, "source", ll_msg_text(f[0]));
		if (f[1] != NULL)
			json_object_set_new(e, "mountpoint", ll_msg_text(f[1]));
		if (f[2] != NULL)
			json_object_set_new(e, "type", ll_msg_text(f[2]));
		json_object_set_new(e, "options",
		    ll_msg_text(f[3] != NULL ? f[3] : "defaults"));
		if (f[5] != NULL)
			json_object_set_new(e, "passno",
			    json_integer(atoi(f[5])));
		/* fields that are not UTF-8 show '?' for their odd bytes */
		for (k = 0; k < 4; k++) {
			json_t *u = f[k] != NULL ? json_string(f[k]) : NULL;

			if (f[k] != NULL && u == NULL) {
				json_object_set_new(e, "error",
				    json_string("not UTF-8"));
				break;
			}
			json_decref(u);
		}
		found = inspect_resolve(l, f[0], &how);
		if (found != NULL) {
			json_object_set_new(e, "resolved_by", ll_msg_text(how));
			json_object_set_new(e, "devices", found);
		}
		json_array_append_new(a, e);
		count++;
	}
	return a;
}

/*
 * Look at a mounted filesystem (rootfd, its directory) as a possible OS
 * root; fills o.  Returns true when it is one.
 */
static bool
inspect_examine(const struct disks_list *l, int rootfd, json_t *o)
{
	char why[128], *text;
	json_t *os = NULL;
	bool has_os, has_fstab, has_shadow;

	text = inspect_read_file(rootfd, "etc/os-release", why, sizeof(why));
	if (text == NULL && strcmp(why, strerror(ENOENT)) == 0)
		text = inspect_read_file(rootfd, "usr/lib/os-release", why,
		    sizeof(why));
	has_os = text != NULL;
	if (text != NULL) {
		os = etc_os_release_parse(text);
		free(text);
		json_object_set_new(o, "os", os);
	} else {
		json_object_set_new(o, "os_release_error", ll_msg_text(why));
	}
	has_fstab = inspect_is_file(rootfd, "etc/fstab");
	has_shadow = inspect_is_file(rootfd, "etc/shadow");
	json_object_set_new(o, "has_os_release", json_boolean(has_os));
	json_object_set_new(o, "has_fstab", json_boolean(has_fstab));
	json_object_set_new(o, "has_shadow", json_boolean(has_shadow));
	if (has_fstab &&
	    (text = inspect_read_file(rootfd, "etc/fstab", why, sizeof(why))) !=
	    NULL) {
		json_object_set_new(o, "fstab", inspect_fstab(l, text));
		free(text);
	}
	return has_os || (has_fstab && has_shadow);
}

/* --- inspect: probe mounts --------------------------------------------- */

static const char *
inspect_root_options(const char *fstype)
{
	/* nodev/nosuid/noexec: nothing on an untrusted fs acts here */
	if (strcmp(fstype, "ext3") == 0 || strcmp(fstype, "ext4") == 0)
		return "ro,nodev,nosuid,noexec,noload";
	if (strcmp(fstype, "ext2") == 0)
		return "ro,nodev,nosuid,noexec";
	if (strcmp(fstype, "xfs") == 0)
		return "ro,nodev,nosuid,noexec,norecovery,nouuid";
	if (strcmp(fstype, "btrfs") == 0)
		return "ro,nodev,nosuid,noexec,rescue=nologreplay";
	return NULL;
}

struct inspect_probe_mount {
	char dir[64];
	int blkfd;		/* kept to put the ro flag back */
	bool set_ro, mounted;
};

static void
inspect_unprobe(struct inspect_probe_mount *pm, json_t *o)
{
	int zero = 0, i, rc = 0;

	if (pm->mounted) {
		for (i = 0; i < 5; i++) {
			if ((rc = umount2(pm->dir, UMOUNT_NOFOLLOW)) == 0 ||
			    errno != EBUSY)
				break;
			usleep(100 * 1000);
		}
		if (rc != 0) {
			/* still busy: detach it so no probe mount stays */
			umount2(pm->dir, MNT_DETACH | UMOUNT_NOFOLLOW);
			json_object_set_new(o, "probe_umount",
			    json_string("busy: detached lazily"));
		}
		pm->mounted = false;
	}
	if (pm->dir[0] != '\0') {
		if (rmdir(pm->dir) != 0)
			log_warn("rmdir %s: %s", pm->dir, strerror(errno));
		pm->dir[0] = '\0';
		/* empty again unless `mount` keeps something there */
		rmdir(INSPECT_PROBE_BASE);
	}
	if (pm->blkfd >= 0) {
		if (pm->set_ro && ioctl(pm->blkfd, BLKROSET, &zero) != 0)
			log_warn("BLKROSET 0: %s", strerror(errno));
		close(pm->blkfd);
		pm->blkfd = -1;
	}
}

/*
 * Mount d read-only at a fresh /run/lifeline/probe-XXXXXX; returns the
 * directory's fd or -1 with the reason in err.  inspect_unprobe undoes it.
 */
static int
inspect_probe_mount(const struct disks_dev *d, struct inspect_probe_mount *pm,
    const char *opts, char *err, size_t errlen)
{
	struct libmnt_context *cxt = NULL;
	struct stat sd, sb;
	char buf[256];
	int one = 1, ro = 0, rc, fd = -1;

	memset(pm, 0, sizeof(*pm));
	pm->blkfd = -1;
	if (mkdir(INSPECT_PROBE_BASE, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "mkdir %s: %s", INSPECT_PROBE_BASE,
		    strerror(errno));
		return -1;
	}
	snprintf(pm->dir, sizeof(pm->dir), INSPECT_PROBE_BASE "/probe-XXXXXX");
	if (mkdtemp(pm->dir) == NULL) {
		snprintf(err, errlen, "mkdtemp %s: %s", pm->dir,
		    strerror(errno));
		pm->dir[0] = '\0';
		return -1;
	}
	/*
	 * A read-only device is what really keeps the filesystem from
	 * writing: ext4 cleans up orphans even on a ro mount otherwise.
	 */
	/*
	 * Nobody may be using the device: a read-only flag under someone
	 * else's writable mount or running fsck would make their writes
	 * fail.  An exclusive open fails while it is mounted (in any mount
	 * namespace) or held by md, device-mapper or fsck.
	 */
	if ((fd = open(d->path, O_RDONLY | O_EXCL | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, errno == EBUSY ? "%s is in use (mounted "
		    "elsewhere, or held by md, device-mapper or fsck): not "
		    "probed" : "%s: %s", d->path, strerror(errno));
		return -1;
	}
	close(fd);
	fd = -1;
	if ((pm->blkfd = open(d->path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: %s", d->path, strerror(errno));
		return -1;
	}
	if (ioctl(pm->blkfd, BLKROGET, &ro) != 0 || (ro == 0 &&
	    ioctl(pm->blkfd, BLKROSET, &one) != 0)) {
		snprintf(err, errlen, "cannot make %s read-only: %s", d->path,
		    strerror(errno));
		return -1;
	}
	pm->set_ro = ro == 0;
	if ((cxt = mnt_new_context()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	mnt_context_disable_helpers(cxt, 1);
	mnt_context_disable_mtab(cxt, 1);
	mnt_context_set_source(cxt, d->path);
	mnt_context_set_target(cxt, pm->dir);
	mnt_context_set_fstype(cxt, d->fstype);
	mnt_context_set_options(cxt, opts);
	rc = mnt_context_mount(cxt);
	if (rc != 0 || mnt_context_get_status(cxt) != 1) {
		buf[0] = '\0';
		mnt_context_get_excode(cxt, rc, buf, sizeof(buf));
		snprintf(err, errlen, "mount -o %s %s: %s", opts, d->path,
		    buf[0] != '\0' ? buf : strerror(rc < 0 ? -rc : EIO));
		/* mounted after all (a later step failed)? then undo it */
		if (stat(pm->dir, &sd) == 0 && stat(INSPECT_PROBE_BASE, &sb) ==
		    0 && sd.st_dev != sb.st_dev)
			pm->mounted = true;
		mnt_free_context(cxt);
		return -1;
	}
	pm->mounted = true;
	mnt_free_context(cxt);
	if ((fd = open(pm->dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: %s", pm->dir, strerror(errno));
		return -1;
	}
	return fd;
}

/* --- inspect: the request ---------------------------------------------- */

enum { INSPECT_MDADM, INSPECT_VGCHANGE, INSPECT_PROBE };

struct inspect_state {
	struct child child;	/* first: child_op_reaped() takes the state */
	int phase;
	bool killed, cancelled;
	int outfd;		/* memfd with the tool's output */
	uint64_t deadline;
	json_t *tools, *notes;
	dev_t *only;		/* devices asked for, or NULL for all */
	size_t nonly;
};

static const struct {
	const char *name;
	const char *argv[4];
	const char *missing;
} inspect_tools[] = {
	{ "mdadm", { "mdadm", "--assemble", "--scan", NULL },
	  "mdadm not found: md arrays were not assembled" },
	{ "vgchange", { "vgchange", "-ay", NULL },
	  "vgchange not found: LVM volumes were not activated" },
};

/*
 * Run a tool (looked up in the children's clean PATH, where
 * child_find_program() found it), its output captured in a new memfd.
 * 0, or -1 with why in err.
 */
static int
inspect_spawn(struct inspect_state *st, const char *const *argv, char *err,
    size_t errlen)
{
	struct child_opts opts = { .output = CHILD_CAPTURE, .root_fd = -1 };

	if ((st->outfd = memfd_create("inspect-tool", MFD_CLOEXEC)) < 0) {
		snprintf(err, errlen, "memfd_create: %s", strerror(errno));
		return -1;
	}
	opts.capture_fd = st->outfd;
	child_init(&st->child);
	if (child_spawn(&st->child, (char *const *)argv, &opts, err,
	    errlen) != NULL)
		return -1;
	st->killed = false;
	st->deadline = ll_now_ms() + INSPECT_TOOL_MS;
	return 0;
}

/* The tool that ended: its status and the tail of its output. */
static void
inspect_tool_done(struct inspect_state *st)
{
	char buf[INSPECT_TOOL_OUT_MAX + 1];
	json_t *t = json_array_get(st->tools, json_array_size(st->tools) - 1);
	off_t end;
	ssize_t n;

	if (WIFEXITED(st->child.status))
		json_object_set_new(t, "exit_status",
		    json_integer(WEXITSTATUS(st->child.status)));
	else if (WIFSIGNALED(st->child.status))
		json_object_set_new(t, "signal",
		    json_integer(WTERMSIG(st->child.status)));
	if (st->killed)
		json_object_set_new(t, "timed_out", json_true());
	end = lseek(st->outfd, 0, SEEK_END);
	if (end > INSPECT_TOOL_OUT_MAX)
		lseek(st->outfd, end - INSPECT_TOOL_OUT_MAX, SEEK_SET);
	else
		lseek(st->outfd, 0, SEEK_SET);
	n = read(st->outfd, buf, INSPECT_TOOL_OUT_MAX);
	buf[n > 0 ? n : 0] = '\0';
	{
		json_t *s = ll_msg_text(buf);

		json_object_set_new(t, "output", s != NULL ? s :
		    json_string("(not UTF-8)"));
	}
	close(st->outfd);
	st->outfd = -1;
	child_init(&st->child);	/* no tool runs now */
}

static int inspect_probe(struct request *r);

/* Start the next tool, or probe when none is left.  0, or -1 when done. */
static int
inspect_next(struct request *r)
{
	struct inspect_state *st = r->state;
	char path[PATH_MAX], err[PATH_MAX + 128];
	json_t *t;

	while (st->phase < INSPECT_PROBE) {
		const char *name = inspect_tools[st->phase].name;
		json_t *argv = json_array();
		int i;

		for (i = 0; inspect_tools[st->phase].argv[i] != NULL; i++)
			json_array_append_new(argv, json_string(
			    inspect_tools[st->phase].argv[i]));
		t = json_pack("{s:s,s:o}", "tool", name, "argv", argv);
		json_array_append_new(st->tools, t);
		if (!child_find_program(name, path, sizeof(path))) {
			json_object_set_new(t, "ran", json_false());
			json_object_set_new(t, "message", json_string(
			    inspect_tools[st->phase].missing));
			json_array_append_new(st->notes, json_string(
			    inspect_tools[st->phase].missing));
			st->phase++;
			continue;
		}
		json_object_set_new(t, "ran", json_true());
		json_object_set_new(t, "path", ll_msg_text(path));
		if (inspect_spawn(st, inspect_tools[st->phase].argv, err,
		    sizeof(err)) != 0) {
			json_object_set_new(t, "ran", json_false());
			json_object_set_new(t, "message", ll_msg_text(err));
			if (st->outfd >= 0) {
				close(st->outfd);
				st->outfd = -1;
			}
			st->phase++;
			continue;
		}
		log_info("%s: request %u: running %s (pid %d)", r->conn->name,
		    r->id, path, (int)st->child.pid);
		return 0;
	}
	inspect_probe(r);
	return -1;
}

static bool
inspect_root_capable(const char *fstype)
{
	return inspect_root_options(fstype) != NULL;
}

static bool
inspect_wanted(const struct inspect_state *st, const struct disks_dev *d)
{
	size_t i;

	if (st->only == NULL)
		return true;
	for (i = 0; i < st->nonly; i++)
		if (st->only[i] == d->devno)
			return true;
	return false;
}

/* One device: its verdict in o; true when it holds an OS root. */
static bool
inspect_device(const struct disks_list *l, const struct disks_dev *d,
    json_t *o)
{
	struct inspect_probe_mount pm;
	char err[512];
	const char *opts;
	bool is_root = false;
	int fd;

	json_object_set_new(o, "device", ll_msg_text(d->path));
	disks_set_str(o, "fstype", d->fstype);
	disks_set_str(o, "uuid", d->uuid);
	disks_set_str(o, "label", d->label);
	if (d->rescue_root) {
		json_object_set_new(o, "skipped", json_string(
		    "the rescue host's own root filesystem"));
		return false;
	}
	if (d->fstype[0] == '\0') {
		json_object_set_new(o, "skipped", json_string(
		    d->pttype[0] != '\0' ? "a partition table, no filesystem" :
		    "no filesystem found"));
		return false;
	}
	if (disks_marker(d->fstype) != NULL) {
		json_object_set_new(o, "skipped", json_string(
		    "a member of an md array, LVM or LUKS"));
		return false;
	}
	if (!inspect_root_capable(d->fstype)) {
		char why[96];

		snprintf(why, sizeof(why), "%s cannot hold a Linux root",
		    d->fstype);
		json_object_set_new(o, "skipped", ll_msg_text(why));
		return false;
	}
	if (d->mountpoint == NULL && json_array_size(d->mounts) > 0) {
		/* a bind mount of a subtree: the filesystem is in use, and
		 * a probe would share its superblock */
		json_object_set_new(o, "skipped", json_string("only a subtree "
		    "of it is mounted here: not probed"));
		return false;
	}
	if (d->mountpoint != NULL) {
		/* mounted already: look through it, change nothing */
		json_object_set_new(o, "via", json_string("mounted"));
		json_object_set_new(o, "mountpoint",
		    ll_msg_text(d->mountpoint));
		fd = open(d->mountpoint, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			snprintf(err, sizeof(err), "%s: %s", d->mountpoint,
			    strerror(errno));
			json_object_set_new(o, "error", ll_msg_text(err));
			return false;
		}
		is_root = inspect_examine(l, fd, o);
		close(fd);
		return is_root;
	}
	opts = inspect_root_options(d->fstype);
	json_object_set_new(o, "via", json_string("probe mount"));
	json_object_set_new(o, "mount_options", ll_msg_text(opts));
	fd = inspect_probe_mount(d, &pm, opts, err, sizeof(err));
	if (fd < 0 && strcmp(d->fstype, "btrfs") == 0 && pm.blkfd >= 0 &&
	    !pm.mounted) {
		/* kernels before 5.9 know only the old option name */
		inspect_unprobe(&pm, o);
		opts = "ro,nodev,nosuid,noexec,nologreplay";
		json_object_set_new(o, "mount_options", ll_msg_text(opts));
		fd = inspect_probe_mount(d, &pm, opts, err, sizeof(err));
	}
	if (fd < 0)
		json_object_set_new(o, "error", ll_msg_text(err));
	else {
		is_root = inspect_examine(l, fd, o);
		close(fd);
	}
	inspect_unprobe(&pm, o);
	return is_root;
}

static int
inspect_probe(struct request *r)
{
	struct inspect_state *st = r->state;
	struct disks_list l;
	json_t *res, *roots, *others, *o, *os;
	const char *name;
	size_t i;
	int rc;

	if ((rc = disks_scan(&l)) != 0)
		return request_error(r, LL_EC_INTERNAL, "/sys/block: %s",
		    strerror(-rc));
	roots = json_array();
	others = json_array();
	target_inspected_clear();
	for (i = 0; i < l.n; i++) {
		const struct disks_dev *d = &l.v[i];

		if (!inspect_wanted(st, d))
			continue;
		/* without a filter, what has no filesystem is not news */
		if (st->only == NULL && d->fstype[0] == '\0' &&
		    !d->rescue_root)
			continue;
		o = json_object();
		if (!inspect_device(&l, d, o)) {
			json_array_append_new(others, o);
			continue;
		}
		json_array_append_new(roots, o);
		os = json_object_get(o, "os");
		name = json_string_value(json_object_get(os, "PRETTY_NAME"));
		if (name == NULL)
			name = json_string_value(json_object_get(os, "NAME"));
		target_inspected_add(d->path, name != NULL ? name :
		    "unknown Linux");
	}
	res = json_object();
	json_object_set_new(res, "tools", json_incref(st->tools));
	json_object_set_new(res, "notes", json_incref(st->notes));
	json_object_set_new(res, "roots", roots);
	json_object_set_new(res, "others", others);
	json_object_set_new(res, "duplicate_uuids", disks_duplicates(&l));
	disks_free(&l);
	return disks_reply(r, res);
}

static void
inspect_state_free(struct inspect_state *st)
{
	if (st == NULL)
		return;
	/* the client went away: the tool does not outlive it */
	child_cleanup(&st->child, 0);
	if (st->outfd >= 0)
		close(st->outfd);
	json_decref(st->tools);
	json_decref(st->notes);
	free(st->only);
	free(st);
}

static int
op_inspect_start(struct request *r, json_t *args)
{
	struct inspect_state *st;
	json_t *devs, *v, *one;
	char path[PATH_MAX];
	dev_t rdev;
	size_t i;

	devs = json_object_get(args, "devices");
	if (devs != NULL && !json_is_array(devs)) {
		request_error(r, LL_EC_BAD_REQUEST, "argument \"devices\" must "
		    "be an array of device paths or UUID=, LABEL= specs");
		return -1;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		request_error(r, LL_EC_INTERNAL, "out of memory");
		return -1;
	}
	st->outfd = -1;
	child_init(&st->child);
	st->tools = json_array();
	st->notes = json_array();
	if (devs != NULL && json_array_size(devs) > 0) {
		if (json_array_size(devs) > DISKS_MAX ||
		    (st->only = calloc(json_array_size(devs),
		    sizeof(*st->only))) == NULL) {
			request_error(r, LL_EC_BAD_REQUEST, "too many devices");
			inspect_state_free(st);
			return -1;
		}
		json_array_foreach(devs, i, v) {
			one = json_pack("{s:O}", "devices", v);
			if (arg_device(r, one, "devices", path, sizeof(path),
			    &rdev) != 0) {
				json_decref(one);
				inspect_state_free(st);
				return -1;
			}
			json_decref(one);
			st->only[st->nonly++] = rdev;
		}
	}
	r->state = st;
	inspect_next(r);
	return 0;
}

static int
op_inspect_pollfds(struct request *r, struct pollfd *pfd, int max,
    int *timeout_ms)
{
	struct inspect_state *st = r->state;
	uint64_t now = ll_now_ms();
	int ms;

	(void)pfd;
	(void)max;
	if (st == NULL || st->child.pid <= 0 || st->child.exited ||
	    st->killed)
		return 0;
	ms = st->deadline > now ? (int)(st->deadline - now) : 0;
	if (*timeout_ms < 0 || ms < *timeout_ms)
		*timeout_ms = ms;
	return 0;
}

static void
op_inspect_io(struct request *r, uint64_t now)
{
	struct inspect_state *st = r->state;

	if (r->done || st == NULL || st->child.pid <= 0)
		return;
	if (!st->child.exited) {
		if (!st->killed && now >= st->deadline) {
			log_warn("%s: request %u: pid %d timed out",
			    r->conn->name, r->id, (int)st->child.pid);
			child_signal(&st->child, SIGKILL);
			st->killed = true;
		}
		return;
	}
	inspect_tool_done(st);
	if (st->cancelled) {
		request_error(r, LL_EC_CANCELLED, "cancelled while %s ran",
		    inspect_tools[st->phase].name);
		return;
	}
	st->phase++;
	inspect_next(r);
}

static void
op_inspect_cancel(struct request *r)
{
	struct inspect_state *st = r->state;

	if (st == NULL || st->child.pid <= 0 || st->child.exited)
		return;
	st->cancelled = true;
	child_signal(&st->child, SIGTERM);
}

static void
op_inspect_free(struct request *r)
{
	inspect_state_free(r->state);
	r->state = NULL;
}

const struct agent_op op_inspect_ops[] = {
	/*
	 * inspect changes nothing on any device, but assembling md arrays
	 * and activating LVM changes the rescue host's state.
	 */
	{ .name = "inspect", .writes = true, .start = op_inspect_start,
	  .pollfds = op_inspect_pollfds, .io = op_inspect_io,
	  .child = child_op_reaped, .cancel = op_inspect_cancel,
	  .free = op_inspect_free },
	{ .name = NULL }
};
