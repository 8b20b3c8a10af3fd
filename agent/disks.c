/*
 * The block device scan (see disks.h).  Sizes and names come from sysfs,
 * what a device holds from libblkid's low-level probe of its /dev node,
 * where it is mounted from libmount.  Every list is capped before it is
 * allocated (DISKS_MAX devices, DISKS_PARTS_MAX table entries each).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <blkid.h>
#include <libmount.h>

#include "agent.h"
#include "disks.h"
#include "error.h"
#include "ll-limits.h"
#include "log.h"
#include "msg.h"

#define DISKS_PARTS_MAX		256	/* table entries per disk */

/* --- sysfs ------------------------------------------------------------ */

/* One line of a sysfs attribute, trimmed; false when absent. */
static bool
disks_sysfs(int dirfd, const char *rel, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	buf[0] = '\0';
	if ((fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0) {
		buf[0] = '\0';
		return false;
	}
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return true;
}

static uint64_t
disks_sysfs_u64(int dirfd, const char *rel)
{
	char buf[64];

	if (!disks_sysfs(dirfd, rel, buf, sizeof(buf)))
		return 0;
	return strtoull(buf, NULL, 10);
}

static void
disks_trim_copy(char *dst, size_t len, const char *src)
{
	size_t n;

	while (*src == ' ')
		src++;
	snprintf(dst, len, "%s", src);
	n = strlen(dst);
	while (n > 0 && dst[n - 1] == ' ')
		dst[--n] = '\0';
}

/* --- libblkid ---------------------------------------------------------- */

static void
disks_value(blkid_probe pr, const char *name, char *dst, size_t len)
{
	const char *v = NULL;

	dst[0] = '\0';
	if (blkid_probe_lookup_value(pr, name, &v, NULL) == 0 && v != NULL)
		snprintf(dst, len, "%s", v);
}

static void
disks_probe(struct disks_dev *d)
{
	blkid_partlist ls;
	blkid_probe pr;
	int rc, i, n;

	if (!d->have_node) {
		snprintf(d->probe_err, sizeof(d->probe_err),
		    "%s is missing or not this device", d->path);
		return;
	}
	/* blkid opens the device read-only; nothing is written. */
	if ((pr = blkid_new_probe_from_filename(d->path)) == NULL) {
		snprintf(d->probe_err, sizeof(d->probe_err), "cannot open "
		    "%s: %s", d->path, strerror(errno));
		return;
	}
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE |
	    BLKID_SUBLKS_UUID | BLKID_SUBLKS_LABEL | BLKID_SUBLKS_VERSION |
	    BLKID_SUBLKS_USAGE);
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);
	rc = blkid_do_safeprobe(pr);
	if (rc == -2)
		snprintf(d->probe_err, sizeof(d->probe_err), "several "
		    "signatures found (ambivalent result); use wipefs to see "
		    "them");
	else if (rc < 0)
		snprintf(d->probe_err, sizeof(d->probe_err), "probe failed");
	if (rc == 0) {
		disks_value(pr, "TYPE", d->fstype, sizeof(d->fstype));
		disks_value(pr, "UUID", d->uuid, sizeof(d->uuid));
		disks_value(pr, "LABEL", d->label, sizeof(d->label));
		disks_value(pr, "VERSION", d->version, sizeof(d->version));
		disks_value(pr, "USAGE", d->usage, sizeof(d->usage));
		disks_value(pr, "PTTYPE", d->pttype, sizeof(d->pttype));
		disks_value(pr, "PTUUID", d->ptuuid, sizeof(d->ptuuid));
		disks_value(pr, "PART_ENTRY_UUID", d->partuuid,
		    sizeof(d->partuuid));
		disks_value(pr, "PART_ENTRY_NAME", d->partlabel,
		    sizeof(d->partlabel));
	}
	/*
	 * The table's own entries, also when the kernel made no partition
	 * devices for it (as for loop devices without partition scanning).
	 */
	if (d->pttype[0] != '\0' && (ls = blkid_probe_get_partitions(pr)) !=
	    NULL && (n = blkid_partlist_numof_partitions(ls)) > 0) {
		if (n > DISKS_PARTS_MAX)
			n = DISKS_PARTS_MAX;
		d->parts = calloc((size_t)n, sizeof(*d->parts));
		for (i = 0; d->parts != NULL && i < n; i++) {
			blkid_partition p = blkid_partlist_get_partition(ls, i);
			struct disks_part *q = &d->parts[d->nparts];
			const char *s;

			if (p == NULL)
				continue;
			q->number = blkid_partition_get_partno(p);
			q->start = (uint64_t)blkid_partition_get_start(p) * 512;
			q->size = (uint64_t)blkid_partition_get_size(p) * 512;
			if ((s = blkid_partition_get_type_string(p)) != NULL)
				snprintf(q->type, sizeof(q->type), "%s", s);
			else
				snprintf(q->type, sizeof(q->type), "0x%x",
				    (unsigned)blkid_partition_get_type(p));
			if ((s = blkid_partition_get_uuid(p)) != NULL)
				snprintf(q->uuid, sizeof(q->uuid), "%s", s);
			if ((s = blkid_partition_get_name(p)) != NULL)
				snprintf(q->name, sizeof(q->name), "%s", s);
			d->nparts++;
		}
	}
	blkid_free_probe(pr);
}

/* --- the scan ---------------------------------------------------------- */

static int
disks_name_cmp(const void *a, const void *b)
{
	return strverscmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the entries of dirfd accepted by keep(). */
static char **
disks_names(int dirfd, bool (*keep)(int, const char *), size_t *count)
{
	char **v = NULL, **nv;
	size_t n = 0;
	struct dirent *e;
	DIR *dir;
	int fd;

	*count = 0;
	if ((fd = dup(dirfd)) < 0 || (dir = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while ((e = readdir(dir)) != NULL && n < DISKS_MAX) {
		if (e->d_name[0] == '.' || !keep(dirfd, e->d_name))
			continue;
		if ((nv = realloc(v, (n + 1) * sizeof(*v))) == NULL)
			break;
		v = nv;
		if ((v[n] = strdup(e->d_name)) == NULL)
			break;
		n++;
	}
	closedir(dir);
	if (n > 0)
		qsort(v, n, sizeof(*v), disks_name_cmp);
	*count = n;
	return v;
}

static void
disks_names_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static bool
disks_keep_disk(int dirfd, const char *name)
{
	(void)dirfd;
	/* RAM disks are the rescue system's own, never a target. */
	return strncmp(name, "ram", 3) != 0;
}

static bool
disks_keep_part(int dirfd, const char *name)
{
	char rel[300];
	struct stat st;

	snprintf(rel, sizeof(rel), "%s/partition", name);
	return fstatat(dirfd, rel, &st, 0) == 0;
}

/* Fill one device from its sysfs directory; false to leave it out. */
static bool
disks_fill(struct disks_dev *d, int fd, const char *name, const char *parent)
{
	char buf[4096], *p;
	unsigned maj, min;
	struct stat st;

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	/* sysfs spells the / of a /dev path as ! (cciss!c0d0) */
	snprintf(d->path, sizeof(d->path), "/dev/%s", name);
	for (p = d->path; *p != '\0'; p++)
		if (*p == '!')
			*p = '/';
	if (!disks_sysfs(fd, "dev", buf, sizeof(buf)) ||
	    sscanf(buf, "%u:%u", &maj, &min) != 2)
		return false;
	d->devno = makedev(maj, min);
	d->size = disks_sysfs_u64(fd, "size") * 512;
	if (d->size == 0)
		return false;	/* a detached loop, an empty drive */
	d->ro = disks_sysfs_u64(fd, "ro") != 0;
	if (parent != NULL) {
		d->kind = "part";
		snprintf(d->parent, sizeof(d->parent), "%s", parent);
		d->partno = (int)disks_sysfs_u64(fd, "partition");
		d->start = disks_sysfs_u64(fd, "start") * 512;
	} else if (strncmp(name, "loop", 4) == 0) {
		d->kind = "loop";
		if (disks_sysfs(fd, "loop/backing_file", buf, sizeof(buf)))
			d->backing = strdup(buf);
		d->loop_offset = disks_sysfs_u64(fd, "loop/offset");
		d->loop_sizelimit = disks_sysfs_u64(fd, "loop/sizelimit");
	} else if (strncmp(name, "md", 2) == 0) {
		d->kind = "md";
		disks_sysfs(fd, "md/level", d->md_level, sizeof(d->md_level));
	} else if (strncmp(name, "dm-", 3) == 0) {
		d->kind = "dm";
		disks_sysfs(fd, "dm/name", d->dm_name, sizeof(d->dm_name));
	} else {
		d->kind = "disk";
	}
	if (parent == NULL) {
		d->removable = disks_sysfs_u64(fd, "removable") != 0;
		if (disks_sysfs(fd, "device/model", buf, sizeof(buf)))
			disks_trim_copy(d->model, sizeof(d->model), buf);
		if (disks_sysfs(fd, "device/vendor", buf, sizeof(buf)))
			disks_trim_copy(d->vendor, sizeof(d->vendor), buf);
	}
	d->have_node = stat(d->path, &st) == 0 && S_ISBLK(st.st_mode) &&
	    st.st_rdev == d->devno;
	return true;
}

void
disks_free(struct disks_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].backing);
		free(l->v[i].parts);
		free(l->v[i].mountpoint);
		json_decref(l->v[i].mounts);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Where each device is mounted, from the mount table, by device number. */
static void
disks_mounts(struct disks_list *l)
{
	struct libmnt_table *tb;
	struct libmnt_iter *itr;
	struct libmnt_fs *fs;
	size_t i;

	for (i = 0; i < l->n; i++)
		l->v[i].mounts = json_array();
	if ((tb = mnt_new_table_from_file("/proc/self/mountinfo")) == NULL)
		return;
	if ((itr = mnt_new_iter(MNT_ITER_FORWARD)) == NULL) {
		mnt_unref_table(tb);
		return;
	}
	while (mnt_table_next_fs(tb, itr, &fs) == 0) {
		const char *src = mnt_fs_get_srcpath(fs);
		const char *target = mnt_fs_get_target(fs);
		const char *root = mnt_fs_get_root(fs);
		dev_t devno = mnt_fs_get_devno(fs), rdev = 0;
		struct stat st;

		/*
		 * btrfs shows an anonymous device number: its source path
		 * names the block device instead.
		 */
		if (src != NULL && strncmp(src, "/dev/", 5) == 0 &&
		    stat(src, &st) == 0 && S_ISBLK(st.st_mode))
			rdev = st.st_rdev;
		for (i = 0; i < l->n; i++) {
			struct disks_dev *d = &l->v[i];
			json_t *m;

			if (d->devno != devno && d->devno != rdev)
				continue;
			m = json_object();
			json_object_set_new(m, "target",
			    ll_msg_text(target != NULL ? target : ""));
			json_object_set_new(m, "fs_root",
			    ll_msg_text(root != NULL ? root : "/"));
			json_object_set_new(m, "options", json_string(
			    mnt_fs_get_options(fs) != NULL ?
			    mnt_fs_get_options(fs) : ""));
			json_array_append_new(d->mounts, m);
			if (target != NULL && strcmp(target, "/") == 0)
				d->rescue_root = true;
			if (d->mountpoint == NULL && target != NULL &&
			    (root == NULL || strcmp(root, "/") == 0))
				d->mountpoint = strdup(target);
		}
	}
	mnt_free_iter(itr);
	mnt_unref_table(tb);
}

static int
disks_add(struct disks_list *l, int fd, const char *name, const char *parent)
{
	struct disks_dev *nv;

	if (l->n == DISKS_MAX)
		return -1;
	if ((nv = realloc(l->v, (l->n + 1) * sizeof(*nv))) == NULL)
		return -1;
	l->v = nv;
	if (!disks_fill(&l->v[l->n], fd, name, parent)) {
		free(l->v[l->n].backing);
		return 0;
	}
	disks_probe(&l->v[l->n]);
	l->n++;
	return 0;
}

/* Every block device, probed, with its mounts.  0 or -errno. */
int
disks_scan(struct disks_list *l)
{
	char **disks, **parts;
	size_t nd, np, i, j, k;
	int sysfd, fd, pfd;

	memset(l, 0, sizeof(*l));
	sysfd = open("/sys/block", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sysfd < 0)
		return -errno;
	disks = disks_names(sysfd, disks_keep_disk, &nd);
	for (i = 0; i < nd; i++) {
		fd = openat(sysfd, disks[i], O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC);
		if (fd < 0)
			continue;
		k = l->n;
		if (disks_add(l, fd, disks[i], NULL) == 0 && l->n > k) {
			parts = disks_names(fd, disks_keep_part, &np);
			for (j = 0; j < np; j++) {
				pfd = openat(fd, parts[j], O_RDONLY |
				    O_DIRECTORY | O_CLOEXEC);
				if (pfd < 0)
					continue;
				disks_add(l, pfd, parts[j], disks[i]);
				close(pfd);
			}
			disks_names_free(parts, np);
			l->v[k].kparts = l->n > k + 1;
		}
		close(fd);
	}
	disks_names_free(disks, nd);
	close(sysfd);
	disks_mounts(l);
	return 0;
}

const char *
disks_marker(const char *fstype)
{
	if (strcmp(fstype, "linux_raid_member") == 0)
		return "md member";
	if (strcmp(fstype, "LVM2_member") == 0)
		return "LVM PV";
	if (strcmp(fstype, "crypto_LUKS") == 0)
		return "LUKS";
	return NULL;
}

void
disks_set_str(json_t *o, const char *key, const char *v)
{
	if (v != NULL && v[0] != '\0')
		json_object_set_new(o, key, ll_msg_text(v));
}

/* UUIDs that more than one device carries. */
json_t *
disks_duplicates(const struct disks_list *l)
{
	json_t *dups = json_array(), *devs, *o;
	size_t i, j;
	bool seen;

	for (i = 0; i < l->n; i++) {
		if (l->v[i].uuid[0] == '\0')
			continue;
		seen = false;
		for (j = 0; j < i && !seen; j++)
			seen = strcmp(l->v[j].uuid, l->v[i].uuid) == 0;
		if (seen)
			continue;
		devs = json_array();
		json_array_append_new(devs, ll_msg_text(l->v[i].path));
		for (j = i + 1; j < l->n; j++)
			if (strcmp(l->v[j].uuid, l->v[i].uuid) == 0)
				json_array_append_new(devs,
				    ll_msg_text(l->v[j].path));
		if (json_array_size(devs) < 2) {
			json_decref(devs);
			continue;
		}
		o = json_object();
		json_object_set_new(o, "uuid", ll_msg_text(l->v[i].uuid));
		json_object_set_new(o, "fstype", ll_msg_text(l->v[i].fstype));
		json_object_set_new(o, "devices", devs);
		json_array_append_new(dups, o);
	}
	return dups;
}

/* Reply, or say so when the result is too large for one message. */
int
disks_reply(struct request *r, json_t *res)
{
	size_t n = json_dumpb(res, NULL, 0, JSON_COMPACT);

	if (n > LL_MSG_JSON_MAX) {
		json_decref(res);
		return request_error(r, LL_EC_TOO_BIG, "the result is %zu "
		    "bytes, more than the %d a message carries", n,
		    LL_MSG_JSON_MAX);
	}
	return request_reply(r, res);
}
