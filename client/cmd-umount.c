/*
 * lifeline umount: take down what lifeline mounted, newest first: all of
 * it, or one mount and everything lifeline mounted below it.  A busy mount
 * stops it with the agent's message; what is left stays recorded.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>

#include "client.h"
#include "msg.h"
#include "reply.h"

static void
umount_print(json_t *res)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(res, "warnings"), i, v)
		msg_warn("%s", reply_str(v));
	json_array_foreach(json_object_get(res, "unmounted"), i, v)
		printf("unmounted %s\n", reply_str(v));
	if (json_array_size(json_object_get(res, "unmounted")) == 0)
		printf("nothing to unmount\n");
}

static int
cmd_umount(int argc, char **argv)
{
	json_t *args, *res;
	int ch, rc;

	optind = 0;
	while ((ch = cmd_getopt(&cmd_umount_entry, argc, argv)) != -1)
		goto usage;
	if (argc - optind > 1)
		goto usage;
	args = json_object();
	/* a path: any bytes ("target_base64") */
	if (args == NULL || (optind < argc &&
	    ll_msg_set_bytes(args, "target", argv[optind]) != 0)) {
		json_decref(args);
		msg_error("umount: out of memory");
		return EXIT_FAILED;
	}
	rc = conn_run("umount", args, NULL, &res);
	json_decref(args);
	if (rc != 0)
		return rc;
	return print_reply(res, umount_print);
usage:
	return cmd_usage_error(&cmd_umount_entry);
}

const struct client_cmd cmd_umount_entry = {
	.name = "umount",
	.operands = "[TARGET]",
	.summary = "unmount what lifeline mounted (all, or TARGET and below)",
	.run = cmd_umount,
};
