/*
 * mount and umount: set up the target root (the original OS's root
 * filesystem) and take it down again.
 *
 * mount validates everything first (the source resolves to a block device
 * with a filesystem libblkid recognizes, the mount point is an absolute,
 * empty, unmounted directory), then mounts it with a libmount context and
 * makes it the target root.  XFS gets "nouuid", since a rescue system booted
 * from a copy of the same image carries the same UUID.  Whatever type the
 * client names, the options that keep a read-only agent from writing
 * (noload, norecovery) follow the type libblkid finds, and such an agent
 * also makes the device read-only until umount.  With fstab, the
 * target's own etc/fstab (read through the confined target_open) is mounted
 * below it in file order; with chroot, the rescue host's /dev, /proc, /sys
 * and /run are bound into it as slaves, so nothing done inside propagates
 * back.  Every mount point below the root is opened inside the target with
 * openat2(RESOLVE_IN_ROOT) and its real path checked to lie below the root,
 * so a symlink in the target cannot aim a mount at the rescue host's own
 * directories.  What fails below the root is a warning in the reply; the
 * root mount itself either succeeds or leaves nothing behind.
 *
 * Every mount made is recorded in target.c, which outlives client
 * sessions.  umount takes the recorded mounts down in reverse order, each
 * after whatever is mounted below it that lifeline did not record (the
 * submounts a recursive bind brings along).  A busy mount stops the walk
 * with an error naming it; it and everything before it stay recorded,
 * nothing is detached lazily.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <blkid.h>
#include <libmount.h>

#include "agent.h"
#include "args.h"
#include "log.h"
#include "msg.h"
#include "target.h"

#define MOUNT_DEFAULT_TARGET	"/mnt/lifeline"
#define MOUNT_ERR_MAX		512

/* What one mount request did, for the reply. */
struct mount_run {
	const char *root;	/* the target root's real path */
	bool ro;
	json_t *mounted;	/* [{source, target, fstype, options}] */
	json_t *skipped;	/* [{source, mountpoint, reason}] */
	json_t *warnings;	/* [string] */
};

static void
mount_warn(struct mount_run *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
mount_warn(struct mount_run *m, const char *fmt, ...)
{
	char text[MOUNT_ERR_MAX * 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_warn("%s", text);
	json_array_append_new(m->warnings, ll_msg_text(text));
}

/* The filesystem type libblkid finds on dev, or "" (buf). */
static const char *
mount_probe_type(const char *dev, char *buf, size_t len)
{
	blkid_probe pr;
	const char *v = NULL;

	buf[0] = '\0';
	if ((pr = blkid_new_probe_from_filename(dev)) == NULL)
		return buf;
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
	if (blkid_do_safeprobe(pr) == 0 &&
	    blkid_probe_lookup_value(pr, "TYPE", &v, NULL) == 0 && v != NULL)
		snprintf(buf, len, "%s", v);
	blkid_free_probe(pr);
	return buf;
}

/*
 * The type to mount dev as (type), and what libblkid finds on it (probed,
 * "" when nothing).  Every decision that keeps a mount from writing is taken
 * from probed, never from the client's string: a client that names "auto" or
 * another type must not get a plain "ro" mount that replays the journal.
 * "auto" or no type means the probed one.  A read-only agent mounts only as
 * the probed type; otherwise the given type is used (the ext4 driver for an
 * ext3, say).  0, or -1 with the reason in why.
 */
static int
mount_choose_type(const char *dev, const char *given, char *type,
    size_t len, char *probed, size_t plen, char *why, size_t wlen)
{
	mount_probe_type(dev, probed, plen);
	if (given == NULL || strcmp(given, "auto") == 0) {
		if (probed[0] == '\0') {
			snprintf(why, wlen, "%s holds no filesystem libblkid "
			    "recognizes", dev);
			return -1;
		}
		snprintf(type, len, "%s", probed);
		return 0;
	}
	if (agent_opts.read_only && strcmp(given, probed) != 0) {
		snprintf(why, wlen, "type \"%s\" asked, but %s holds %s: a "
		    "read-only agent mounts a filesystem only as the type "
		    "libblkid finds (leave out the type)", given, dev,
		    probed[0] != '\0' ? probed : "no filesystem libblkid "
		    "recognizes");
		return -1;
	}
	snprintf(type, len, "%s", given);
	return 0;
}

/*
 * Mount options for a filesystem: the given ones, "ro" when asked, and
 * "nouuid" for XFS (the rescue system may carry the same UUID).  An agent in
 * read-only mode also keeps the journal from being replayed ("noload" for
 * ext3/4, "norecovery" for XFS), since a plain "ro" mount still writes it.
 * fs is the probed type when there is one (see mount_choose_type).
 */
static void
mount_options(char *out, size_t len, const char *given, bool ro,
    const char *fs)
{
	out[0] = '\0';
	if (given != NULL && given[0] != '\0')
		snprintf(out, len, "%s", given);
	if (ro)
		snprintf(out + strlen(out), len - strlen(out), "%sro",
		    out[0] != '\0' ? "," : "");
	if (strcmp(fs, "xfs") == 0 &&
	    (given == NULL || strstr(given, "nouuid") == NULL))
		snprintf(out + strlen(out), len - strlen(out), "%snouuid",
		    out[0] != '\0' ? "," : "");
	if (ro && agent_opts.read_only) {
		const char *keep = strcmp(fs, "xfs") == 0 ? "norecovery" :
		    strcmp(fs, "ext3") == 0 || strcmp(fs, "ext4") == 0 ?
		    "noload" : NULL;

		if (keep != NULL)
			snprintf(out + strlen(out), len - strlen(out), "%s%s",
			    out[0] != '\0' ? "," : "", keep);
	}
}

/*
 * A read-only agent makes the device itself read-only (BLKROSET) for as
 * long as it is mounted, as inspect does for its probe mounts: that is what
 * really keeps a filesystem from writing (ext4 cleans up orphans on a "ro"
 * mount, a driver may not know "noload").  A device someone else uses is
 * refused, since the flag would make their writes fail: an exclusive open
 * fails while it is mounted anywhere or held by md, device-mapper or fsck.
 * *set tells whether the flag was ours to set (then mount_dev_writable
 * takes it off again).  0, or -1 with the reason in why.
 */
static int
mount_dev_readonly(const char *dev, bool *set, char *why, size_t wlen)
{
	int fd, ro = 0, one = 1;

	*set = false;
	if ((fd = open(dev, O_RDONLY | O_EXCL | O_CLOEXEC)) < 0) {
		snprintf(why, wlen, errno == EBUSY ? "%s is in use (mounted "
		    "elsewhere, or held by md, device-mapper or fsck): a "
		    "read-only agent does not mount it" : "%s: %s", dev,
		    strerror(errno));
		return -1;
	}
	if (ioctl(fd, BLKROGET, &ro) != 0 || (ro == 0 &&
	    ioctl(fd, BLKROSET, &one) != 0)) {
		snprintf(why, wlen, "cannot make %s read-only: %s", dev,
		    strerror(errno));
		close(fd);
		return -1;
	}
	*set = ro == 0;
	close(fd);
	return 0;
}

/* Undo mount_dev_readonly's flag. */
static void
mount_dev_writable(const char *dev)
{
	int fd, zero = 0;

	if ((fd = open(dev, O_RDONLY | O_CLOEXEC)) < 0 ||
	    ioctl(fd, BLKROSET, &zero) != 0)
		log_warn("%s: cannot make it writable again: %s", dev,
		    strerror(errno));
	if (fd >= 0)
		close(fd);
}

/*
 * libmount's message (err) prefixed with what failed, unless it names the
 * mount point already.
 */
static void
mount_err_prefix(char *err, size_t len, const char *what, const char *source,
    const char *target)
{
	char msg[MOUNT_ERR_MAX];

	snprintf(msg, sizeof(msg), "%s", err[0] != '\0' ? err : "failed");
	if (strstr(msg, target) != NULL)
		return;
	snprintf(err, len, "%s %.120s%s%.160s: %.200s", what,
	    source != NULL ? source : "", source != NULL ? " on " : "",
	    target, msg);
}

/*
 * One mount through a libmount context.  Helpers (/sbin/mount.TYPE) are
 * not run and the rescue host's fstab is not consulted: what is mounted is
 * exactly what was asked.  0, or -1 with libmount's message in err.
 */
static int
mount_one(const char *source, const char *target, const char *fstype,
    const char *options, char *err, size_t errlen)
{
	struct libmnt_context *cxt;
	int rc, ex;

	if ((cxt = mnt_new_context()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	mnt_context_disable_helpers(cxt, 1);
	mnt_context_set_optsmode(cxt, MNT_OMODE_IGNORE);
	mnt_context_set_source(cxt, source);
	mnt_context_set_target(cxt, target);
	if (fstype != NULL && fstype[0] != '\0')
		mnt_context_set_fstype(cxt, fstype);
	if (options != NULL && options[0] != '\0')
		mnt_context_set_options(cxt, options);
	rc = mnt_context_mount(cxt);
	err[0] = '\0';
	ex = mnt_context_get_excode(cxt, rc, err, errlen);
	mnt_free_context(cxt);
	if (ex == MNT_EX_SUCCESS)
		return 0;
	mount_err_prefix(err, errlen, "cannot mount", source, target);
	return -1;
}

/* Unmount target (a libmount umount context).  0 or -1, message in err. */
static int
umount_one(const char *target, char *err, size_t errlen)
{
	struct libmnt_context *cxt;
	int rc, ex;

	if ((cxt = mnt_new_context()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	mnt_context_disable_helpers(cxt, 1);
	mnt_context_set_optsmode(cxt, MNT_OMODE_IGNORE);
	mnt_context_set_target(cxt, target);
	rc = mnt_context_umount(cxt);
	err[0] = '\0';
	ex = mnt_context_get_excode(cxt, rc, err, errlen);
	mnt_free_context(cxt);
	if (ex == MNT_EX_SUCCESS)
		return 0;
	mount_err_prefix(err, errlen, "cannot unmount", NULL, target);
	return -1;
}

/* Is something mounted exactly at path (a canonical path)? */
static bool
mount_is_mountpoint(const char *path)
{
	struct libmnt_table *tb;
	bool found;

	if ((tb = mnt_new_table_from_file("/proc/self/mountinfo")) == NULL)
		return false;
	found = mnt_table_find_target(tb, path, MNT_ITER_BACKWARD) != NULL;
	mnt_unref_table(tb);
	return found;
}

static void
mount_record(struct mount_run *m, const char *source, const char *target,
    const char *fstype, const char *options, bool is_root, bool dev_ro)
{
	json_t *o;

	if (target_push_mount(source, target, fstype, is_root, dev_ro) != 0)
		mount_warn(m, "%s: lifeline's list of mounts is full; take it "
		    "down yourself", target);
	/* from the target's fstab: text that may not be UTF-8 */
	o = json_pack("{s:o, s:o, s:o, s:o}", "source", ll_msg_text(source),
	    "target", ll_msg_text(target), "fstype", ll_msg_text(fstype !=
	    NULL ? fstype : ""), "options", ll_msg_text(options != NULL ?
	    options : ""));
	json_array_append_new(m->mounted, o);
}

static void
mount_skip(struct mount_run *m, const char *source, const char *mp,
    const char *reason)
{
	json_array_append_new(m->skipped, json_pack("{s:o, s:o, s:o}",
	    "source", ll_msg_text(source != NULL ? source : ""), "mountpoint",
	    ll_msg_text(mp != NULL ? mp : ""), "reason", ll_msg_text(reason)));
}

/* Why an fstab entry is not mounted below the root, or NULL to mount it. */
static const char *
fstab_skip_reason(struct libmnt_fs *fs)
{
	const char *tgt = mnt_fs_get_target(fs);
	const char *type = mnt_fs_get_fstype(fs);

	if (mnt_fs_is_swaparea(fs) || (type != NULL &&
	    strcmp(type, "swap") == 0))
		return "swap";
	if (tgt == NULL || strcmp(tgt, "none") == 0 || tgt[0] != '/')
		return "no mount point";
	if (strcmp(tgt, "/") == 0)
		return "the root itself";
	if (mnt_fs_get_option(fs, "noauto", NULL, NULL) == 0)
		return "noauto";
	if (mnt_fs_get_option(fs, "bind", NULL, NULL) == 0 ||
	    mnt_fs_get_option(fs, "rbind", NULL, NULL) == 0)
		return "bind mount";
	if (mnt_fs_is_netfs(fs) || (type != NULL &&
	    (strcmp(type, "sshfs") == 0 || strncmp(type, "fuse", 4) == 0 ||
	    strcmp(type, "smbfs") == 0 || strcmp(type, "9p") == 0 ||
	    strcmp(type, "virtiofs") == 0)))
		return "network filesystem";
	if (mnt_fs_is_pseudofs(fs) || (type != NULL &&
	    (strcmp(type, "tmpfs") == 0 || strcmp(type, "none") == 0)))
		return "virtual filesystem";
	return NULL;
}

/* An fstab source (path or TAG=value) as a /dev path, or NULL (why set). */
static char *
fstab_device(struct libmnt_fs *fs, char *why, size_t len)
{
	const char *src = mnt_fs_get_source(fs), *tn, *tv;
	char *dev = NULL;
	struct stat st;

	if (mnt_fs_get_tag(fs, &tn, &tv) == 0) {
		if ((dev = blkid_evaluate_tag(tn, tv, NULL)) == NULL)
			snprintf(why, len, "no block device has %s=%.300s",
			    tn, tv);
	} else if (src == NULL || src[0] != '/') {
		snprintf(why, len, "source \"%s\" is not a device",
		    src != NULL ? src : "");
	} else if ((dev = realpath(src, NULL)) == NULL)
		snprintf(why, len, "%s: %s", src, strerror(errno));
	if (dev != NULL && (stat(dev, &st) != 0 || !S_ISBLK(st.st_mode))) {
		snprintf(why, len, "%s is not a block device", dev);
		free(dev);
		dev = NULL;
	}
	return dev;
}

static int
fstab_errcb(struct libmnt_table *tb, const char *filename, int line)
{
	struct mount_run *m = mnt_table_get_userdata(tb);

	mount_warn(m, "%s line %d: cannot parse it, skipped", filename, line);
	return 1;
}

/* The target's own fstab, mounted below the root in file order. */
static void
mount_fstab(struct mount_run *m)
{
	struct libmnt_table *tb = NULL;
	struct libmnt_iter *itr = NULL;
	struct libmnt_fs *fs;
	FILE *f = NULL;
	int fd;

	if ((fd = target_open("/etc/fstab", O_RDONLY, 0, false)) < 0) {
		mount_warn(m, "the target's /etc/fstab: %s", strerror(-fd));
		return;
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		close(fd);
		mount_warn(m, "the target's /etc/fstab: %s", strerror(errno));
		return;
	}
	tb = mnt_new_table();
	itr = mnt_new_iter(MNT_ITER_FORWARD);
	if (tb == NULL || itr == NULL) {
		mount_warn(m, "out of memory reading the target's /etc/fstab");
		goto out;
	}
	mnt_table_set_userdata(tb, m);
	mnt_table_set_parser_errcb(tb, fstab_errcb);
	if (mnt_table_parse_stream(tb, f, "/etc/fstab") != 0) {
		mount_warn(m, "the target's /etc/fstab cannot be read");
		goto out;
	}
	while (mnt_table_next_fs(tb, itr, &fs) == 0) {
		const char *mp = mnt_fs_get_target(fs);
		const char *src = mnt_fs_get_source(fs);
		const char *type = mnt_fs_get_fstype(fs), *reason;
		char why[MOUNT_ERR_MAX], real[PATH_MAX], probed[64];
		char mtype[64], opts[2048], *dev;
		bool dev_ro = false;
		int rc;

		if ((reason = fstab_skip_reason(fs)) != NULL) {
			mount_skip(m, src, mp, reason);
			continue;
		}
		if ((dev = fstab_device(fs, why, sizeof(why))) == NULL) {
			mount_warn(m, "fstab %s: %s; not mounted", mp, why);
			mount_skip(m, src, mp, why);
			continue;
		}
		rc = target_real_dir(m->root, mp, real, sizeof(real));
		if (rc != 0) {
			snprintf(why, sizeof(why), "mount point %s: %s", mp,
			    rc == -EXDEV ? "leads outside the target root" :
			    strerror(-rc));
			mount_warn(m, "fstab %s: %s; not mounted", mp, why);
			mount_skip(m, src, mp, why);
			free(dev);
			continue;
		}
		if (mount_choose_type(dev, type, mtype, sizeof(mtype), probed,
		    sizeof(probed), why, sizeof(why)) != 0 ||
		    (agent_opts.read_only && mount_dev_readonly(dev, &dev_ro,
		    why, sizeof(why)) != 0)) {
			mount_warn(m, "fstab %s: %s; not mounted", mp, why);
			mount_skip(m, src, mp, why);
			free(dev);
			continue;
		}
		mount_options(opts, sizeof(opts), mnt_fs_get_options(fs),
		    m->ro, probed[0] != '\0' ? probed : mtype);
		if (target_mounts_full()) {
			mount_warn(m, "fstab %s: lifeline's list of mounts is "
			    "full; not mounted", mp);
		} else if (mount_one(dev, real, mtype, opts, why,
		    sizeof(why)) != 0) {
			mount_warn(m, "fstab %s: %s", mp, why);
			mount_skip(m, src, mp, why);
		} else {
			log_info("mounted %s (fstab %s) on %s", dev, mp, real);
			mount_record(m, dev, real, mtype, opts, false, dev_ro);
			dev_ro = false;
		}
		if (dev_ro)
			mount_dev_writable(dev);
		free(dev);
	}
out:
	mnt_free_iter(itr);
	mnt_unref_table(tb);
	fclose(f);
}

/*
 * The rescue host's /dev, /proc, /sys and /run bound into the target for a
 * chroot.  /dev and /sys recursively (pts, shm, cgroups, efivars come
 * along); all as slaves, so an unmount inside never reaches the host's.
 */
static void
mount_chroot(struct mount_run *m)
{
	static const struct {
		const char *dir, *opts;
	} binds[] = {
		{ "/dev", "rbind,rslave" },
		{ "/proc", "bind,slave" },
		{ "/sys", "rbind,rslave" },
		{ "/run", "bind,slave" },
	};
	char real[PATH_MAX], why[MOUNT_ERR_MAX];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(binds) / sizeof(binds[0]); i++) {
		rc = target_real_dir(m->root, binds[i].dir, real,
		    sizeof(real));
		if (rc != 0) {
			mount_warn(m, "chroot: %s in the target %s; not bound",
			    binds[i].dir, rc == -EXDEV ? "leads outside the "
			    "target root" : strerror(-rc));
			continue;
		}
		if (mount_is_mountpoint(real)) {
			mount_warn(m, "chroot: %s is already mounted", real);
			continue;
		}
		if (target_mounts_full()) {
			mount_warn(m, "chroot: lifeline's list of mounts is "
			    "full; %s not bound", binds[i].dir);
			continue;
		}
		if (mount_one(binds[i].dir, real, NULL, binds[i].opts, why,
		    sizeof(why)) != 0) {
			mount_warn(m, "chroot: %s", why);
			continue;
		}
		log_info("bound %s on %s", binds[i].dir, real);
		mount_record(m, binds[i].dir, real, "bind", binds[i].opts,
		    false, false);
	}
}

/*
 * Options that would make the request something else than mounting a
 * filesystem (a bind, a move, a remount of whatever is there, a propagation
 * change).  0, or -1 with the error sent.
 */
static int
mount_options_forbidden(struct request *r, const char *options)
{
	static const char *const bad[] = {
		"bind", "rbind", "move", "remount", "shared", "rshared",
		"slave", "rslave", "private", "rprivate", "unbindable",
		"runbindable", NULL
	};
	char *name, *value;
	size_t nsz, vsz, i;
	char *next = (char *)options;

	while (mnt_optstr_next_option(&next, &name, &nsz, &value,
	    &vsz) == 0) {
		for (i = 0; bad[i] != NULL; i++) {
			if (strlen(bad[i]) != nsz ||
			    strncmp(name, bad[i], nsz) != 0)
				continue;
			request_error(r, LL_EC_BAD_REQUEST, "mount option "
			    "\"%s\" is not allowed here", bad[i]);
			return -1;
		}
	}
	return 0;
}

/* SOURCE "auto": the one root the last inspect found. */
static int
mount_auto_source(struct request *r, char *out, size_t len)
{
	char list[4096] = "";
	int i, n = target_inspected_count();

	if (n == 0) {
		request_error(r, LL_EC_NOT_FOUND, "no inspected root: run "
		    "`lifeline inspect` first");
		return -1;
	}
	if (n > 1) {
		for (i = 0; i < n; i++)
			snprintf(list + strlen(list), sizeof(list) -
			    strlen(list), "%s%s (%s)", i > 0 ? ", " : "",
			    target_inspected_device(i),
			    target_inspected_os(i)[0] != '\0' ?
			    target_inspected_os(i) : "unknown OS");
		request_error(r, LL_EC_BAD_REQUEST, "several original roots "
		    "were found: %s; name one as SOURCE", list);
		return -1;
	}
	snprintf(out, len, "%s", target_inspected_device(0));
	return 0;
}

/* Is the directory empty?  0 yes, 1 no, -errno. */
static int
mount_dir_is_empty(const char *path)
{
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if ((d = opendir(path)) == NULL)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0) {
			rc = 1;
			break;
		}
	}
	closedir(d);
	return rc;
}

/*
 * Check the mount point and find its canonical path (out).  A missing one
 * is fine: *missing tells the caller to create it.
 */
static int
mount_check_target(struct request *r, const char *target, char *out,
    size_t len, bool *missing)
{
	struct stat st;
	char *real;
	int rc;

	*missing = false;
	if (strlen(target) >= len) {
		request_error(r, LL_EC_BAD_REQUEST, "target path too long");
		return -1;
	}
	if (lstat(target, &st) != 0) {
		if (errno != ENOENT) {
			request_error(r, LL_EC_BAD_REQUEST, "target %s: %s",
			    target, strerror(errno));
			return -1;
		}
		*missing = true;
		snprintf(out, len, "%s", target);
		return 0;
	}
	if ((real = realpath(target, NULL)) == NULL ||
	    stat(real, &st) != 0 || !S_ISDIR(st.st_mode)) {
		request_error(r, LL_EC_BAD_REQUEST, "target %s is not a "
		    "directory", target);
		free(real);
		return -1;
	}
	snprintf(out, len, "%s", real);
	free(real);
	if (strcmp(out, "/") == 0) {
		request_error(r, LL_EC_BAD_REQUEST, "target cannot be /");
		return -1;
	}
	if (mount_is_mountpoint(out)) {
		request_error(r, LL_EC_BUSY, "something is already mounted on "
		    "target %s", out);
		return -1;
	}
	if ((rc = mount_dir_is_empty(out)) != 0) {
		request_error(r, LL_EC_BAD_REQUEST, rc > 0 ? "target %s is "
		    "not an empty directory" : "target %s cannot be read",
		    out);
		return -1;
	}
	return 0;
}

/*
 * Create path and its missing parents (0755), remembering in *made the
 * outermost directory created, so a failed mount can remove them again.
 */
static int
mount_mkdirs(const char *path, char *made, size_t len)
{
	char buf[PATH_MAX];
	char *p;

	made[0] = '\0';
	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		if (p[-1] != '/') {
			char c = *p;

			*p = '\0';
			if (mkdir(buf, 0755) == 0) {
				if (made[0] == '\0')
					snprintf(made, len, "%s", buf);
			} else if (errno != EEXIST)
				return -errno;
			*p = c;
		}
		if (*p == '\0')
			break;
	}
	return 0;
}

/* Undo mount_mkdirs: remove path and its parents up to and with made. */
static void
mount_rmdirs(const char *path, const char *made)
{
	char buf[PATH_MAX];
	char *slash;

	if (made[0] == '\0')
		return;
	snprintf(buf, sizeof(buf), "%s", path);
	while (strlen(buf) >= strlen(made)) {
		rmdir(buf);
		if ((slash = strrchr(buf, '/')) == NULL || slash == buf)
			break;
		*slash = '\0';
	}
}

/*
 * A created target through a symlinked parent: the canonical path, which is
 * what mountinfo will show and what umount looks for.  0 or -1 (errno).
 */
static int
mount_canonical(char *path, size_t len)
{
	char *real;

	if ((real = realpath(path, NULL)) == NULL)
		return -1;
	snprintf(path, len, "%s", real);
	free(real);
	return 0;
}

static json_t *
mount_run_reply(struct mount_run *m)
{
	json_t *res = json_object();

	json_object_set_new(res, "target_root", target_has_root() ?
	    ll_msg_text(target_root_path()) : json_null());
	json_object_set_new(res, "read_only", json_boolean(m->ro));
	json_object_set(res, "mounted", m->mounted);
	json_object_set(res, "skipped", m->skipped);
	json_object_set(res, "warnings", m->warnings);
	return res;
}

static int
op_mount_start(struct request *r, json_t *args)
{
	struct mount_run m;
	const char *source, *target, *options, *fstype;
	char dev[PATH_MAX], real[PATH_MAX], made[PATH_MAX], root[PATH_MAX];
	char mkpath[PATH_MAX];
	char probed[64], mtype[64], opts[2048], err[MOUNT_ERR_MAX];
	bool ro, fstab, chroot, missing, dev_ro = false, extend = false;
	int rc;

	memset(&m, 0, sizeof(m));
	/* source and target are byte strings, like every path */
	if (arg_bytes(r, args, "source", false, PATH_MAX - 1, &source) != 0 ||
	    arg_path(r, args, "target", false, &target) != 0 ||
	    arg_options(r, args, "options", &options) != 0 ||
	    arg_fstype(r, args, "fstype", false, &fstype) != 0 ||
	    arg_bool(r, args, "ro", &ro) != 0 ||
	    arg_bool(r, args, "fstab", &fstab) != 0 ||
	    arg_bool(r, args, "chroot", &chroot) != 0)
		return -1;
	if (options != NULL && mount_options_forbidden(r, options) != 0)
		return -1;
	/*
	 * With a root already in place, only `mount --fstab` / `--chroot`
	 * without a SOURCE is meaningful: they add to that root.
	 */
	if (target_has_root()) {
		if (source != NULL || target != NULL || (!fstab && !chroot)) {
			request_error(r, LL_EC_BUSY, "a target root is already "
			    "mounted at %s: run `lifeline umount` first",
			    target_root_path());
			return -1;
		}
		extend = true;
	} else {
		if (source == NULL || strcmp(source, "auto") == 0) {
			if (mount_auto_source(r, dev, sizeof(dev)) != 0)
				return -1;
		} else if (arg_device(r, args, "source", dev, sizeof(dev),
		    NULL) != 0)
			return -1;
		if (target == NULL)
			target = MOUNT_DEFAULT_TARGET;
		if (mount_check_target(r, target, real, sizeof(real),
		    &missing) != 0)
			return -1;
		if (mount_choose_type(dev, fstype, mtype, sizeof(mtype),
		    probed, sizeof(probed), err, sizeof(err)) != 0) {
			request_error(r, LL_EC_BAD_REQUEST, "%s", err);
			return -1;
		}
		fstype = mtype;
		mount_options(opts, sizeof(opts), options, ro,
		    probed[0] != '\0' ? probed : mtype);
		if (agent_opts.read_only && mount_dev_readonly(dev, &dev_ro,
		    err, sizeof(err)) != 0) {
			request_error(r, LL_EC_BUSY, "%s", err);
			return -1;
		}
		made[0] = '\0';
		if (missing && (rc = mount_mkdirs(real, made,
		    sizeof(made))) != 0) {
			mount_rmdirs(real, made);
			if (dev_ro)
				mount_dev_writable(dev);
			request_error(r, LL_EC_PERMISSION, "cannot create "
			    "target %s: %s", real, strerror(-rc));
			return -1;
		}
		/* rmdir goes by the path the directories were made as */
		snprintf(mkpath, sizeof(mkpath), "%s", real);
		if (missing && mount_canonical(real, sizeof(real)) != 0) {
			mount_rmdirs(mkpath, made);
			if (dev_ro)
				mount_dev_writable(dev);
			request_error(r, LL_EC_BAD_REQUEST, "target %s: %s",
			    real, strerror(errno));
			return -1;
		}
		if (mount_one(dev, real, fstype, opts, err, sizeof(err)) != 0) {
			mount_rmdirs(mkpath, made);
			if (dev_ro)
				mount_dev_writable(dev);
			request_error(r, LL_EC_EXEC_FAILED, "%s", err);
			return -1;
		}
		if ((rc = target_set_root(real)) != 0) {
			/* cannot happen for a fresh mount; undo it anyway */
			umount_one(real, err, sizeof(err));
			mount_rmdirs(mkpath, made);
			if (dev_ro)
				mount_dev_writable(dev);
			request_error(r, LL_EC_INTERNAL, "%s: %s", real,
			    strerror(-rc));
			return -1;
		}
		log_info("mounted %s (%s, %s) on %s as the target root", dev,
		    fstype, opts[0] != '\0' ? opts : "defaults", real);
	}
	m.ro = ro;
	m.mounted = json_array();
	m.skipped = json_array();
	m.warnings = json_array();
	if (target_fd_path(target_root_fd(), root, sizeof(root)) != 0)
		snprintf(root, sizeof(root), "%s", target_root_path());
	m.root = root;
	if (!extend)
		mount_record(&m, dev, real, fstype, opts, true, dev_ro);
	if (fstab)
		mount_fstab(&m);
	if (chroot)
		mount_chroot(&m);
	rc = request_reply(r, mount_run_reply(&m));
	json_decref(m.mounted);
	json_decref(m.skipped);
	json_decref(m.warnings);
	return rc;
}

/* Forget recorded mount i; the target root goes with its root mount. */
static void
umount_forget(int i)
{
	if (target_mount_at(i)->is_root)
		target_set_root(NULL);
	target_forget_mount(i);
}

static bool
path_is_below(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && path[n] == '/';
}

/*
 * Unmount what is mounted below dir that lifeline did not record (what a
 * recursive bind brought along), newest first.  0 or -1 (err set).
 */
static int
umount_below(const char *dir, int *count, char *err, size_t errlen)
{
	struct libmnt_table *tb;
	struct libmnt_iter *itr;
	struct libmnt_fs *fs;
	int rc = 0;

	if ((tb = mnt_new_table_from_file("/proc/self/mountinfo")) == NULL)
		return 0;
	if ((itr = mnt_new_iter(MNT_ITER_BACKWARD)) == NULL) {
		mnt_unref_table(tb);
		return 0;
	}
	while (mnt_table_next_fs(tb, itr, &fs) == 0) {
		const char *t = mnt_fs_get_target(fs);

		if (t == NULL || !path_is_below(t, dir))
			continue;
		if (umount_one(t, err, errlen) != 0) {
			rc = -1;
			break;
		}
		(*count)++;
	}
	mnt_free_iter(itr);
	mnt_unref_table(tb);
	return rc;
}

static int
op_umount_start(struct request *r, json_t *args)
{
	const char *target;
	char want[PATH_MAX], err[MOUNT_ERR_MAX], *real;
	json_t *done, *warnings, *res;
	int i, below = 0, left;

	if (arg_path(r, args, "target", false, &target) != 0)
		return -1;
	want[0] = '\0';
	if (target != NULL) {
		/* The recorded paths are canonical. */
		if ((real = realpath(target, NULL)) != NULL) {
			snprintf(want, sizeof(want), "%s", real);
			free(real);
		} else
			snprintf(want, sizeof(want), "%s", target);
		for (i = 0; i < target_mount_count(); i++) {
			if (strcmp(target_mount_at(i)->target, want) == 0)
				break;
		}
		if (i == target_mount_count()) {
			request_error(r, LL_EC_NOT_FOUND, "%s is not a mount "
			    "lifeline made%s", target, target_mount_count() ==
			    0 ? " (lifeline has mounted nothing)" : "");
			return -1;
		}
	}
	done = json_array();
	warnings = json_array();
	for (i = target_mount_count() - 1; i >= 0; i--) {
		const struct target_mount *tm = target_mount_at(i);

		if (want[0] != '\0' && strcmp(tm->target, want) != 0 &&
		    !path_is_below(tm->target, want))
			continue;
		if (!mount_is_mountpoint(tm->target)) {
			char w[PATH_MAX + 64];

			snprintf(w, sizeof(w), "%s was no longer mounted",
			    tm->target);
			json_array_append_new(warnings, ll_msg_text(w));
			json_array_append_new(done, ll_msg_text(tm->target));
			if (tm->dev_ro)
				mount_dev_writable(tm->source);
			umount_forget(i);
			continue;
		}
		if (umount_below(tm->target, &below, err, sizeof(err)) != 0)
			goto busy;
		/* The agent's own root fd would keep the root mount busy. */
		if (tm->is_root && target_has_root())
			target_set_root(NULL);
		if (umount_one(tm->target, err, sizeof(err)) != 0) {
			if (tm->is_root)
				target_set_root(tm->target);
			goto busy;
		}
		log_info("unmounted %s", tm->target);
		if (tm->dev_ro)
			mount_dev_writable(tm->source);
		json_array_append_new(done, ll_msg_text(tm->target));
		umount_forget(i);
	}
	res = json_object();
	json_object_set_new(res, "unmounted", done);
	json_object_set_new(res, "submounts", json_integer(below));
	json_object_set_new(res, "warnings", warnings);
	json_object_set_new(res, "target_root", target_has_root() ?
	    ll_msg_text(target_root_path()) : json_null());
	return request_reply(r, res);
busy:
	left = target_mount_count();
	log_warn("%s", err);
	request_error(r, LL_EC_BUSY, "%s%s; %zu unmounted before it, %d "
	    "still mounted and recorded (nothing was detached lazily): run "
	    "`lifeline umount` again once it is free", err,
	    strstr(err, "busy") != NULL ? " (a process uses it: its cwd, an "
	    "open file or a mount below it)" : "", json_array_size(done),
	    left);
	json_decref(done);
	json_decref(warnings);
	return -1;
}

const struct agent_op op_mount_ops[] = {
	{ .name = "mount", .writes = true, .readonly_arg = "ro",
	  .start = op_mount_start },
	/* Taking down lifeline's own mounts leaves the disks as they were. */
	{ .name = "umount", .start = op_umount_start },
	{ .name = NULL }
};
