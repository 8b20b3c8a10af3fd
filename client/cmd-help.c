/*
 * lifeline help [COMMAND]: the top-level help, or one command's, made from
 * the command entries (cmd.c).  --commands and --options print plain word
 * lists for the shell completion scripts (contrib/completion), so they
 * complete exactly what this binary accepts.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "client.h"

static const struct cmd_option help_options[] = {
	{ "commands", 'c', 0, NULL, "list the command names, one a line" },
	{ "options", 'o', 0, NULL, "list the options of COMMAND (without "
	  "COMMAND: the global options), one a line; those that take an "
	  "argument end in \"=\"" },
	{ "targets", 'T', 0, NULL, "list the named targets of the config "
	  "files, one a line" },
	{ NULL, 0, 0, NULL, NULL }
};

static void
help_list_options(const struct cmd_option *opts, bool with_help)
{
	const struct cmd_option *o;

	for (o = opts; o != NULL && o->help != NULL; o++) {
		if (o->flags & CMD_OPT_HIDDEN)
			continue;
		if (o->flags & CMD_OPT_SHORT)
			printf("-%c%s\n", o->val, o->arg != NULL ? "=" : "");
		if (o->name != NULL)
			printf("--%s%s\n", o->name, o->arg != NULL ? "=" : "");
	}
	if (with_help)
		printf("--help\n");
}

static int
cmd_help_run(int argc, char **argv)
{
	const struct client_cmd *e = NULL;
	bool commands = false, options = false;
	size_t i;
	int ch;

	optind = 0;
	while ((ch = cmd_getopt(&cmd_help_entry, argc, argv)) != -1) {
		switch (ch) {
		case 'c':
			commands = true;
			break;
		case 'o':
			options = true;
			break;
		case 'T':
			return targets_list();
		default:
			return cmd_usage_error(&cmd_help_entry);
		}
	}
	if (argc - optind > 1)
		return cmd_usage_error(&cmd_help_entry);
	if (optind < argc && (e = cmd_find(argv[optind])) == NULL) {
		msg_error("help: no command \"%s\" (lifeline help lists them)",
		    argv[optind]);
		return EXIT_USAGE;
	}
	if (commands) {
		for (i = 0; client_cmds[i] != NULL; i++)
			printf("%s\n", client_cmds[i]->name);
	} else if (options)
		help_list_options(e != NULL ? e->options :
		    client_global_options, e != NULL);
	else
		cmd_help(stdout, e);
	return EXIT_OK;
}

const struct client_cmd cmd_help_entry = {
	.name = "help",
	.operands = "[COMMAND]",
	.summary = "show the help of lifeline or of one COMMAND",
	.options = help_options,
	.flags = CMD_NO_VIA,
	.run = cmd_help_run,
};
