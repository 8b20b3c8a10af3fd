/*
 * The block devices the rescue host sees, as disks and inspect both need
 * them.  One scan (disks_scan): the names in /sys/block and each disk's
 * partition subdirectories give the devices, their sizes, models and
 * device numbers; a low-level libblkid probe of each /dev node (opened
 * read-only) adds the filesystem or partition table it holds, including
 * the partitions of a table the kernel made no devices for (loop devices
 * here); libmount's reading of /proc/self/mountinfo, matched by device
 * number, says where each one is mounted.
 */
#ifndef LL_AGENT_DISKS_H
#define LL_AGENT_DISKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

struct request;

#define DISKS_MAX		1024	/* block devices in one scan */

struct disks_part {
	int number;
	uint64_t start, size;		/* bytes */
	char type[64], uuid[64], name[128];
};

struct disks_dev {
	char name[64];
	char path[96];
	const char *kind;		/* disk, part, loop, md, dm */
	char parent[64];		/* a partition's disk */
	dev_t devno;
	uint64_t size, start;		/* bytes */
	int partno;
	bool ro, removable, rescue_root, have_node;
	bool kparts;		/* the kernel made partition devices */
	char model[128], vendor[64];
	char *backing;			/* loop */
	uint64_t loop_offset, loop_sizelimit;
	char dm_name[128], md_level[32];
	/* libblkid */
	char fstype[32], uuid[64], label[256], version[32], usage[32];
	char pttype[32], ptuuid[64], partuuid[64], partlabel[128];
	struct disks_part *parts;
	int nparts;
	char probe_err[160];
	/* libmount */
	json_t *mounts;
	char *mountpoint;		/* a mount of the filesystem's root */
};

struct disks_list {
	struct disks_dev *v;
	size_t n;
};

/* Scan every block device into l (disks_free it).  0, or -errno when
 * /sys/block cannot be read. */
int disks_scan(struct disks_list *l);
void disks_free(struct disks_list *l);
/* What an fstype says the device is a member of ("md member", "LVM PV",
 * "LUKS"), or NULL. */
const char *disks_marker(const char *fstype);
/* Set o's key to v when v is not empty. */
void disks_set_str(json_t *o, const char *key, const char *v);
/* UUIDs that more than one device of l carries, with the devices. */
json_t *disks_duplicates(const struct disks_list *l);
/* Reply res (stolen), or ERROR too_big when it would not fit a message. */
int disks_reply(struct request *r, json_t *res);

#endif
