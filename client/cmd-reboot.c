/*
 * lifeline reboot --yes: the agent syncs, unmounts everything lifeline
 * mounted and reboots the rescue host about a second after its reply.
 * Without --yes nothing is sent: the usage message says what it would do.
 * Mounts that would not come down are reported; the reboot goes on.
 * While a job runs the agent refuses and names it, unless --force.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "client.h"

static void
reboot_print(json_t *res)
{
	json_t *v, *e;
	size_t i;

	v = json_object_get(res, "unmounted");
	for (i = 0; i < json_array_size(v); i++)
		printf("unmounted %s\n", json_string_value(json_array_get(v,
		    i)));
	v = json_object_get(res, "failed");
	for (i = 0; i < json_array_size(v); i++) {
		e = json_array_get(v, i);
		msg_warn("could not unmount %s: %s%s",
		    json_string_value(json_object_get(e, "target")),
		    json_string_value(json_object_get(e, "error")),
		    json_is_true(json_object_get(e, "remounted_ro")) ?
		    " (remounted read-only)" : "");
	}
	printf("the rescue host reboots in about a second; the link will "
	    "drop until its agent is back\n");
}

static const struct cmd_option reboot_options[] = {
	{ "yes", 'y', CMD_OPT_SHORT, NULL, "really reboot (without it nothing "
	  "is sent)" },
	{ "force", 'f', 0, NULL, "reboot even while jobs run" },
	{ NULL, 0, 0, NULL, NULL }
};

static int
cmd_reboot(int argc, char **argv)
{
	json_t *res;
	bool yes = false, force = false;
	json_t *args;
	int ch, rc;

	optind = 0;
	while ((ch = cmd_getopt(&cmd_reboot_entry, argc, argv)) != -1) {
		switch (ch) {
		case 'y':
			yes = true;
			break;
		case 'f':
			force = true;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc)
		goto usage;
	if (!yes) {
		msg_error("reboot: this syncs the disks, unmounts everything "
		    "lifeline mounted and reboots the rescue host (the "
		    "agent's machine), which ends the link; nothing was done. "
		    "To go ahead: lifeline reboot --yes");
		return EXIT_USAGE;
	}
	args = json_pack("{s:b}", "force", force);
	rc = conn_run("reboot", args, NULL, &res);
	json_decref(args);
	if (rc != 0)
		return rc;
	return print_reply(res, reboot_print);
usage:
	return cmd_usage_error(&cmd_reboot_entry);
}

const struct client_cmd cmd_reboot_entry = {
	.name = "reboot",
	.summary = "sync, unmount, reboot the rescue host",
	.options = reboot_options,
	.run = cmd_reboot,
};
