/*
 * lifeline disks: the agent host's block devices as a table, one row per
 * device with its kernel partitions indented below it, and detail lines
 * under a row for what does not fit in a column: a loop device's backing
 * file, the entries of a partition table the kernel made no devices for,
 * md/LVM/LUKS markers, probe errors.  --json prints the agent's result.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "reply.h"

#define DISKS_COLS	9

static const char *
disks_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

/* A size in binary units the way lsblk prints it: 64M, 1.5G. */
static void
disks_size(json_t *v, char *buf, size_t len)
{
	static const char units[] = "BKMGTPE";
	double x = (double)json_integer_value(v);
	int u = 0;

	while (x >= 1024 && u < 6) {
		x /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%.0fB", x);
	else if (x == (double)(long long)x)
		snprintf(buf, len, "%.0f%c", x, units[u]);
	else
		snprintf(buf, len, "%.1f%c", x, units[u]);
}

static void
disks_row(json_t *d, bool last, char cell[DISKS_COLS][512])
{
	json_t *m;
	size_t i;
	int n;

	if (json_object_get(d, "parent") != NULL)
		snprintf(cell[0], 512, "%s%s", last ? "`-" : "|-",
		    disks_str(d, "name"));
	else
		snprintf(cell[0], 512, "%s", disks_str(d, "name"));
	snprintf(cell[1], 512, "%s", disks_str(d, "majmin"));
	disks_size(json_object_get(d, "size"), cell[2], 512);
	snprintf(cell[3], 512, "%d",
	    json_is_true(json_object_get(d, "ro")) ? 1 : 0);
	snprintf(cell[4], 512, "%s", disks_str(d, "type"));
	snprintf(cell[5], 512, "%s", json_object_get(d, "fstype") != NULL ?
	    disks_str(d, "fstype") : disks_str(d, "pttype"));
	snprintf(cell[6], 512, "%s", disks_str(d, "label"));
	snprintf(cell[7], 512, "%s", disks_str(d, "uuid"));
	cell[8][0] = '\0';
	json_array_foreach(json_object_get(d, "mounts"), i, m) {
		n = (int)strlen(cell[8]);
		snprintf(cell[8] + n, (size_t)(512 - n), "%s%s",
		    i > 0 ? "," : "", disks_str(m, "target"));
	}
}

static void
disks_details(json_t *d, const char *indent)
{
	json_t *v, *p;
	size_t i;
	char a[32], b[32];

	if (*disks_str(d, "model") != '\0' || *disks_str(d, "vendor") != '\0')
		printf("%smodel: %s%s%s\n", indent, disks_str(d, "vendor"),
		    *disks_str(d, "vendor") != '\0' ? " " : "",
		    disks_str(d, "model"));
	if (strcmp(disks_str(d, "type"), "loop") == 0) {
		printf("%sbacking file: %s", indent,
		    json_is_string(json_object_get(d, "backing_file")) ?
		    disks_str(d, "backing_file") : "(unknown)");
		if (json_integer_value(json_object_get(d, "loop_offset")) > 0 ||
		    json_integer_value(json_object_get(d,
		    "loop_sizelimit")) > 0)
			printf(" (offset %lld, size limit %lld)",
			    (long long)json_integer_value(json_object_get(d,
			    "loop_offset")),
			    (long long)json_integer_value(json_object_get(d,
			    "loop_sizelimit")));
		printf("\n");
	}
	if (*disks_str(d, "dm_name") != '\0')
		printf("%sdevice mapper name: %s\n", indent,
		    disks_str(d, "dm_name"));
	if (*disks_str(d, "partuuid") != '\0' ||
	    *disks_str(d, "partlabel") != '\0')
		printf("%sPARTUUID %s%s%s\n", indent, disks_str(d, "partuuid"),
		    *disks_str(d, "partlabel") != '\0' ? "  PARTLABEL " : "",
		    disks_str(d, "partlabel"));
	json_array_foreach(json_object_get(d, "markers"), i, v)
		printf("%s%s\n", indent, reply_str(v));
	v = json_object_get(d, "partitions");
	if (json_array_size(v) > 0 &&
	    !json_is_true(json_object_get(d, "kernel_partitions"))) {
		printf("%s%s partition table%s%s, %zu partitions (no kernel "
		    "partition devices):\n", indent, disks_str(d, "pttype"),
		    *disks_str(d, "ptuuid") != '\0' ? " " : "",
		    disks_str(d, "ptuuid"), json_array_size(v));
		json_array_foreach(v, i, p) {
			disks_size(json_object_get(p, "start"), a, sizeof(a));
			disks_size(json_object_get(p, "size"), b, sizeof(b));
			printf("%s  #%lld  start %s  size %s  type "
			    "%s%s%s%s%s\n", indent,
			    (long long)json_integer_value(
			    json_object_get(p, "number")), a, b,
			    disks_str(p, "type"),
			    *disks_str(p, "partuuid") != '\0' ?
			    "  PARTUUID " : "", disks_str(p, "partuuid"),
			    *disks_str(p, "partlabel") != '\0' ?
			    "  PARTLABEL " : "", disks_str(p, "partlabel"));
		}
	}
	if (*disks_str(d, "probe_error") != '\0')
		printf("%sprobe error: %s\n", indent,
		    disks_str(d, "probe_error"));
}

void
disks_print(json_t *res)
{
	static const char *const head[DISKS_COLS] = { "NAME", "MAJ:MIN",
	    "SIZE", "RO", "TYPE", "FSTYPE", "LABEL", "UUID", "MOUNTPOINTS" };
	char cell[DISKS_COLS][512];
	int width[DISKS_COLS];
	json_t *devs = json_object_get(res, "devices"), *d, *next, *u, *v;
	size_t i, j;
	int c;

	for (c = 0; c < DISKS_COLS; c++)
		width[c] = (int)strlen(head[c]);
	json_array_foreach(devs, i, d) {
		next = json_array_get(devs, i + 1);
		disks_row(d, next == NULL ||
		    json_object_get(next, "parent") == NULL, cell);
		for (c = 0; c < DISKS_COLS; c++)
			if ((int)strlen(cell[c]) > width[c])
				width[c] = (int)strlen(cell[c]);
	}
	for (c = 0; c < DISKS_COLS; c++)
		printf("%-*s%s", c == DISKS_COLS - 1 ? 0 : width[c], head[c],
		    c == DISKS_COLS - 1 ? "\n" : " ");
	json_array_foreach(devs, i, d) {
		bool part = json_object_get(d, "parent") != NULL;

		next = json_array_get(devs, i + 1);
		disks_row(d, next == NULL ||
		    json_object_get(next, "parent") == NULL, cell);
		for (c = 0; c < DISKS_COLS; c++) {
			/* numbers right-aligned, text left */
			if (c == 2 || c == 1)
				printf("%*s ", width[c], cell[c]);
			else if (c == DISKS_COLS - 1)
				printf("%s\n", cell[c]);
			else
				printf("%-*s ", width[c], cell[c]);
		}
		disks_details(d, part ? "      " : "    ");
	}
	json_array_foreach(json_object_get(res, "duplicate_uuids"), i, u) {
		printf("duplicate UUID %s (%s) on:", disks_str(u, "uuid"),
		    disks_str(u, "fstype"));
		json_array_foreach(json_object_get(u, "devices"), j, v)
			printf(" %s", reply_str(v));
		printf("\n");
	}
}

static int
cmd_disks(int argc, char **argv)
{
	json_t *res;
	int ch, rc;

	optind = 0;
	while ((ch = cmd_getopt(&cmd_disks_entry, argc, argv)) != -1)
		goto usage;
	if (optind != argc)
		goto usage;
	if ((rc = conn_run("disks", NULL, NULL, &res)) != 0)
		return rc;
	return print_reply(res, disks_print);
usage:
	return cmd_usage_error(&cmd_disks_entry);
}

const struct client_cmd cmd_disks_entry = {
	.name = "disks",
	.summary = "list block devices, filesystems, mounts",
	.run = cmd_disks,
};
