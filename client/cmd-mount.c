/*
 * lifeline mount: mount the original root on the rescue host (the agent's
 * target root), optionally with the target's own fstab below it and the
 * bind mounts a chroot needs.  Prints what was mounted and what was
 * skipped; warnings (an fstab entry that failed) go to stderr and do not
 * make the command fail.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "msg.h"
#include "reply.h"

static void
mount_print(json_t *res)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(res, "mounted"), i, v) {
		const char *opts = json_string_value(json_object_get(v,
		    "options"));

		printf("mounted %s on %s (%s%s%s)\n",
		    reply_str(json_object_get(v, "source")),
		    reply_str(json_object_get(v, "target")),
		    reply_str(json_object_get(v, "fstype")),
		    opts != NULL && opts[0] != '\0' ? ", " : "",
		    opts != NULL ? opts : "");
	}
	json_array_foreach(json_object_get(res, "skipped"), i, v)
		printf("skipped %s %s: %s\n",
		    reply_str(json_object_get(v, "source")),
		    reply_str(json_object_get(v, "mountpoint")),
		    reply_str(json_object_get(v, "reason")));
	json_array_foreach(json_object_get(res, "warnings"), i, v)
		msg_warn("%s", reply_str(v));
	if (json_is_string(v = json_object_get(res, "target_root")))
		printf("target root is %s\n", reply_str(v));
}

static const struct cmd_option mount_options[] = {
	{ "options", 'o', CMD_OPT_SHORT, "OPTS", "mount options, as mount -o "
	  "takes them" },
	{ "type", 't', CMD_OPT_SHORT, "TYPE", "the filesystem type (default: "
	  "what libblkid finds)" },
	{ "ro", 'r', CMD_OPT_SHORT, NULL, "mount read-only" },
	{ "fstab", 'f', 0, NULL, "also mount the target's own /etc/fstab "
	  "entries below it" },
	{ "chroot", 'c', 0, NULL, "bind /dev, /proc, /sys and /run into it, "
	  "for exec --chroot" },
	{ NULL, 0, 0, NULL, NULL }
};

static int
cmd_mount(int argc, char **argv)
{
	json_t *args, *res, *v = NULL;
	int ch, rc;

	args = json_object();
	optind = 0;
	while ((ch = cmd_getopt(&cmd_mount_entry, argc, argv)) != -1) {
		switch (ch) {
		case 'o':
			if ((v = arg_text("mount", "-o", optarg)) == NULL)
				goto bad;
			json_object_set_new(args, "options", v);
			break;
		case 't':
			if ((v = arg_text("mount", "-t", optarg)) == NULL)
				goto bad;
			json_object_set_new(args, "fstype", v);
			break;
		case 'r':
			json_object_set_new(args, "ro", json_true());
			break;
		case 'f':
			json_object_set_new(args, "fstab", json_true());
			break;
		case 'c':
			json_object_set_new(args, "chroot", json_true());
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind > 2)
		goto usage;
	/* a device and a mount point: any bytes ("..._base64") */
	if ((optind < argc &&
	    ll_msg_set_bytes(args, "source", argv[optind]) != 0) ||
	    (optind + 1 < argc &&
	    ll_msg_set_bytes(args, "target", argv[optind + 1]) != 0)) {
		json_decref(args);
		msg_error("mount: out of memory");
		return EXIT_FAILED;
	}
	rc = conn_run("mount", args, NULL, &res);
	json_decref(args);
	if (rc != 0)
		return rc;
	return print_reply(res, mount_print);
bad:
	json_decref(args);
	return EXIT_USAGE;
usage:
	json_decref(args);
	return cmd_usage_error(&cmd_mount_entry);
}

const struct client_cmd cmd_mount_entry = {
	.name = "mount",
	.operands = "[SOURCE] [TARGET]",
	.summary = "mount the original root (SOURCE: auto, a device, UUID=, LABEL=, PARTUUID=)",
	.help = "TARGET defaults to /mnt/lifeline.  The mount becomes the target root "
	    "that passwd, authorize-key, get, put and exec --chroot act on.",
	.options = mount_options,
	.run = cmd_mount,
};
