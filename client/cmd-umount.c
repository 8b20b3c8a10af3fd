/*
 * lifeline umount: take down what lifeline mounted, newest first: all of
 * it, or one mount and everything lifeline mounted below it.  A busy mount
 * stops it with the agent's message; what is left stays recorded.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>

#include "client.h"

int
cmd_umount(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ NULL, 0, NULL, 0 }
	};
	struct conn c;
	json_t *args, *res = NULL, *v;
	size_t i;
	int ch, rc;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "+", longopts, NULL)) != -1)
		goto usage;
	if (argc - optind > 1)
		goto usage;
	args = json_object();
	if (optind < argc)
		json_object_set_new(args, "target", json_string(argv[optind]));
	if ((rc = conn_open(&c)) != 0 ||
	    (rc = conn_call(&c, "umount", args, NULL, &res)) != 0) {
		msg_error("%s", c.err);
		json_decref(args);
		conn_close(&c);
		return rc;
	}
	json_decref(args);
	conn_close(&c);
	if (client_opts.json) {
		print_json(res);
		return EXIT_OK;
	}
	json_array_foreach(json_object_get(res, "warnings"), i, v)
		msg_warn("%s", json_string_value(v));
	json_array_foreach(json_object_get(res, "unmounted"), i, v)
		printf("unmounted %s\n", json_string_value(v));
	if (json_array_size(json_object_get(res, "unmounted")) == 0)
		printf("nothing to unmount\n");
	json_decref(res);
	return EXIT_OK;
usage:
	msg_error("usage: lifeline umount [TARGET]");
	return EXIT_USAGE;
}
