/*
 * disks: every block device the rescue host sees (the scan is disks.c's),
 * as JSON: sizes, models, partition tables, filesystems, md/LVM/LUKS
 * membership and mounts.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "agent.h"
#include "disks.h"
#include "error.h"
#include "msg.h"

static json_t *
disks_dev_json(const struct disks_dev *d)
{
	json_t *o = json_object(), *a, *p;
	char buf[32];
	const char *mk;
	int i;

	json_object_set_new(o, "name", ll_msg_text(d->name));
	json_object_set_new(o, "path", ll_msg_text(d->path));
	json_object_set_new(o, "type", ll_msg_text(d->kind));
	snprintf(buf, sizeof(buf), "%u:%u", major(d->devno), minor(d->devno));
	json_object_set_new(o, "majmin", ll_msg_text(buf));
	json_object_set_new(o, "size", json_integer((json_int_t)d->size));
	json_object_set_new(o, "ro", json_boolean(d->ro));
	if (strcmp(d->kind, "part") != 0)
		json_object_set_new(o, "removable", json_boolean(d->removable));
	disks_set_str(o, "model", d->model);
	disks_set_str(o, "vendor", d->vendor);
	if (d->parent[0] != '\0') {
		json_object_set_new(o, "parent", ll_msg_text(d->parent));
		json_object_set_new(o, "partno", json_integer(d->partno));
		json_object_set_new(o, "start",
		    json_integer((json_int_t)d->start));
	}
	if (strcmp(d->kind, "loop") == 0) {
		json_object_set_new(o, "backing_file", d->backing != NULL ?
		    ll_msg_text(d->backing) : json_null());
		json_object_set_new(o, "loop_offset",
		    json_integer((json_int_t)d->loop_offset));
		json_object_set_new(o, "loop_sizelimit",
		    json_integer((json_int_t)d->loop_sizelimit));
	}
	disks_set_str(o, "dm_name", d->dm_name);
	disks_set_str(o, "md_level", d->md_level);
	disks_set_str(o, "fstype", d->fstype);
	disks_set_str(o, "uuid", d->uuid);
	disks_set_str(o, "label", d->label);
	disks_set_str(o, "version", d->version);
	disks_set_str(o, "usage", d->usage);
	disks_set_str(o, "pttype", d->pttype);
	disks_set_str(o, "ptuuid", d->ptuuid);
	disks_set_str(o, "partuuid", d->partuuid);
	disks_set_str(o, "partlabel", d->partlabel);
	if (d->nparts > 0) {
		a = json_array();
		for (i = 0; i < d->nparts; i++) {
			const struct disks_part *q = &d->parts[i];

			p = json_object();
			json_object_set_new(p, "number",
			    json_integer(q->number));
			json_object_set_new(p, "start",
			    json_integer((json_int_t)q->start));
			json_object_set_new(p, "size",
			    json_integer((json_int_t)q->size));
			disks_set_str(p, "type", q->type);
			disks_set_str(p, "partuuid", q->uuid);
			disks_set_str(p, "partlabel", q->name);
			json_array_append_new(a, p);
		}
		json_object_set_new(o, "partitions", a);
		json_object_set_new(o, "kernel_partitions",
		    json_boolean(d->kparts));
	}
	a = json_array();
	if ((mk = disks_marker(d->fstype)) != NULL)
		json_array_append_new(a, ll_msg_text(mk));
	json_object_set_new(o, "markers", a);
	json_object_set_new(o, "mounted",
	    json_boolean(json_array_size(d->mounts) > 0));
	json_object_set(o, "mounts", d->mounts);
	if (d->rescue_root)
		json_object_set_new(o, "rescue_root", json_true());
	disks_set_str(o, "probe_error", d->probe_err);
	return o;
}

static int
op_disks(struct request *r, json_t *args)
{
	struct disks_list l;
	json_t *res, *devs;
	size_t i;
	int rc;

	(void)args;
	if ((rc = disks_scan(&l)) != 0)
		return request_error(r, LL_EC_INTERNAL, "/sys/block: %s",
		    strerror(-rc));
	res = json_object();
	devs = json_array();
	for (i = 0; i < l.n; i++)
		json_array_append_new(devs, disks_dev_json(&l.v[i]));
	json_object_set_new(res, "devices", devs);
	json_object_set_new(res, "duplicate_uuids", disks_duplicates(&l));
	disks_free(&l);
	return disks_reply(r, res);
}

const struct agent_op op_disks_ops[] = {
	{ .name = "disks", .start = op_disks },
	{ .name = NULL }
};
