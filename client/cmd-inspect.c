/*
 * lifeline inspect [DEVICE...]: find the original OS roots on the agent's
 * host.  The agent assembles md arrays and activates LVM when it has the
 * tools, then looks at every filesystem that can hold a Linux root (or only
 * the devices named here) read-only.  Printed: what the tools did or that
 * they are missing, then each root with its OS name and version and its
 * fstab with the device each source resolves to, then what was not a root
 * and why, and filesystem UUIDs that more than one device carries.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "reply.h"

static const char *
inspect_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

/* "/dev/loop1 (ext4, LABEL=x, UUID=y)" */
static void
inspect_dev(json_t *o)
{
	printf("%s (%s", inspect_str(o, "device"),
	    *inspect_str(o, "fstype") != '\0' ? inspect_str(o, "fstype") :
	    "no filesystem");
	if (*inspect_str(o, "label") != '\0')
		printf(", LABEL=%s", inspect_str(o, "label"));
	if (*inspect_str(o, "uuid") != '\0')
		printf(", UUID=%s", inspect_str(o, "uuid"));
	printf(")");
}

static void
inspect_tools(json_t *res)
{
	json_t *t, *v;
	size_t i, j;
	const char *out, *nl;

	json_array_foreach(json_object_get(res, "tools"), i, t) {
		if (!json_is_true(json_object_get(t, "ran"))) {
			printf("note: %s\n", inspect_str(t, "message"));
			continue;
		}
		printf("ran: %s", inspect_str(t, "path"));
		json_array_foreach(json_object_get(t, "argv"), j, v)
			if (j > 0)
				printf(" %s", reply_str(v));
		if (json_is_integer(v = json_object_get(t, "exit_status")))
			printf(": exit status %lld",
			    (long long)json_integer_value(v));
		else if (json_is_integer(v = json_object_get(t, "signal")))
			printf(": killed by signal %lld%s",
			    (long long)json_integer_value(v),
			    json_is_true(json_object_get(t, "timed_out")) ?
			    " (timed out)" : "");
		/* the last line says what it did */
		out = inspect_str(t, "output");
		while (*out != '\0') {
			nl = out + strcspn(out, "\n");
			if (*nl == '\n' && nl[1] != '\0') {
				out = nl + 1;
				continue;
			}
			printf(": %.*s", (int)(nl - out), out);
			break;
		}
		printf("\n");
	}
}

static void
inspect_fstab(json_t *fstab)
{
	json_t *e, *devs, *v;
	size_t i, j;
	int w[4] = { 0, 0, 0, 0 }, k;
	static const char *const keys[] = { "source", "mountpoint", "type",
	    "options" };

	json_array_foreach(fstab, i, e)
		for (k = 0; k < 4; k++)
			if ((int)strlen(inspect_str(e, keys[k])) > w[k])
				w[k] = (int)strlen(inspect_str(e, keys[k]));
	json_array_foreach(fstab, i, e) {
		printf("  %-6s  ", i == 0 ? "fstab" : "");
		for (k = 0; k < 4; k++)
			printf("%-*s  ", w[k], inspect_str(e, keys[k]));
		devs = json_object_get(e, "devices");
		if (json_is_array(devs)) {
			if (json_array_size(devs) == 0)
				printf("-> not found here");
			else
				printf("->");
			json_array_foreach(devs, j, v)
				printf(" %s", reply_str(v));
			if (json_array_size(devs) > 1)
				printf(" (ambiguous)");
		}
		if (json_object_get(e, "error") != NULL)
			printf(" [%s]", inspect_str(e, "error"));
		printf("\n");
	}
}

void
inspect_print(json_t *res)
{
	json_t *roots = json_object_get(res, "roots"), *o, *os, *u, *v;
	size_t i, j;

	inspect_tools(res);
	json_array_foreach(roots, i, o) {
		os = json_object_get(o, "os");
		printf("OS root on ");
		inspect_dev(o);
		printf("\n");
		if (os != NULL) {
			printf("  %-6s  %s", "os", *inspect_str(os,
			    "PRETTY_NAME") != '\0' ? inspect_str(os,
			    "PRETTY_NAME") : inspect_str(os, "NAME"));
			if (*inspect_str(os, "ID") != '\0')
				printf("  (ID %s", inspect_str(os, "ID"));
			if (*inspect_str(os, "VERSION_ID") != '\0')
				printf("%sVERSION_ID %s", *inspect_str(os,
				    "ID") != '\0' ? ", " : "  (",
				    inspect_str(os, "VERSION_ID"));
			if (*inspect_str(os, "ID") != '\0' ||
			    *inspect_str(os, "VERSION_ID") != '\0')
				printf(")");
			printf("\n");
		} else {
			printf("  %-6s  unknown (etc/os-release: %s)\n", "os",
			    inspect_str(o, "os_release_error"));
		}
		printf("  %-6s  %s\n", "seen", strcmp(inspect_str(o, "via"),
		    "mounted") == 0 ? inspect_str(o, "mountpoint") :
		    "through a read-only probe mount, now unmounted");
		if (json_array_size(json_object_get(o, "fstab")) > 0)
			inspect_fstab(json_object_get(o, "fstab"));
		else
			printf("  %-6s  %s\n", "fstab", json_is_true(
			    json_object_get(o, "has_fstab")) ?
			    "(no entries)" : "(none)");
	}
	json_array_foreach(json_object_get(res, "others"), i, o) {
		if (json_object_get(o, "error") != NULL) {
			printf("error: ");
			inspect_dev(o);
			printf(": %s\n", inspect_str(o, "error"));
		} else if (json_object_get(o, "skipped") != NULL) {
			printf("skipped: ");
			inspect_dev(o);
			printf(": %s\n", inspect_str(o, "skipped"));
		} else {
			printf("no OS: ");
			inspect_dev(o);
			printf(": no etc/os-release, nor etc/fstab with "
			    "etc/shadow\n");
		}
	}
	json_array_foreach(json_object_get(res, "duplicate_uuids"), i, u) {
		printf("warning: duplicate UUID %s (%s) on:",
		    inspect_str(u, "uuid"), inspect_str(u, "fstype"));
		json_array_foreach(json_object_get(u, "devices"), j, v)
			printf(" %s", reply_str(v));
		printf("\n");
	}
	if (json_array_size(roots) == 0)
		printf("no OS root found\n");
	else if (json_array_size(roots) > 1)
		printf("%zu OS roots found: `mount auto` needs one, name the "
		    "device instead\n", json_array_size(roots));
}

static int
cmd_inspect(int argc, char **argv)
{
	json_t *res, *args, *devs;
	int ch, rc, i;

	optind = 0;
	while ((ch = cmd_getopt(&cmd_inspect_entry, argc, argv)) != -1)
		goto usage;
	args = json_object();
	if (optind < argc) {
		devs = json_array();
		for (i = optind; i < argc; i++) {
			json_t *d = arg_text("inspect", "device", argv[i]);

			if (d == NULL || json_array_append_new(devs, d) != 0) {
				json_decref(devs);
				json_decref(args);
				return EXIT_USAGE;
			}
		}
		json_object_set_new(args, "devices", devs);
	}
	rc = conn_run("inspect", args, NULL, &res);
	json_decref(args);
	if (rc != 0)
		return rc;
	return print_reply(res, inspect_print);
usage:
	return cmd_usage_error(&cmd_inspect_entry);
}

const struct client_cmd cmd_inspect_entry = {
	.name = "inspect",
	.operands = "[DEVICE...]",
	.summary = "find the original OS roots (on every disk, or on DEVICE...)",
	.run = cmd_inspect,
};
