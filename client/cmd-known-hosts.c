/*
 * lifeline known-hosts: what lifeline's known-hosts file holds, and
 * --remove to forget a console's key (as ssh-keygen -R forgets a host's),
 * or an agent's key wherever it was filed (NAME a fingerprint).  The file
 * is proto/known-hosts.c's; this only shows it.  Without NAME the console
 * is the current path (--via, -t NAME, LIFELINE_VIA), so after a rescue
 * host made a new key, `lifeline -t web7 known-hosts --remove` is enough.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "known-hosts.h"

static const struct cmd_option known_hosts_options[] = {
	{ "remove", 'R', CMD_OPT_SHORT, NULL, "forget the keys filed for "
	  "NAME's console, or the key NAME (SHA256:...) wherever it is "
	  "filed" },
	{ NULL, 0, 0, NULL, NULL }
};

struct kh_show {
	const char *name;	/* only this console's lines, or NULL */
	const char *file;
	const char *verb;	/* "" or "removed " */
	json_t *list;		/* --json: the entries */
	int n;
};

static void
kh_show_entry(void *ctx, const struct ll_kh_entry *e)
{
	struct kh_show *s = ctx;

	if (s->name != NULL && !ll_kh_same_console(s->name, e->label) &&
	    !ll_kh_fp_equal(s->name, e->fp))
		return;
	s->n++;
	if (s->list != NULL)
		json_array_append_new(s->list, json_pack("{s:i, s:s, s:s}",
		    "line", (int)e->line, "label", e->label, "fingerprint",
		    e->fp));
	else
		printf("%s%s:%u: %s %s\n", s->verb, s->file, e->line,
		    e->label, e->fp);
}

static int
known_hosts_list(const char *file, const char *name)
{
	struct kh_show s = { name, file, "", NULL, 0 };
	char err[1024];

	if (client_opts.json)
		s.list = json_array();
	if (ll_kh_foreach(file, kh_show_entry, &s, err, sizeof(err)) != 0) {
		msg_error("known-hosts: %s", err);
		json_decref(s.list);
		return EXIT_FAILED;
	}
	if (s.list != NULL)
		print_json(json_pack("{s:s, s:o}", "file", file, "entries",
		    s.list));
	return EXIT_OK;
}

static int
known_hosts_remove(const char *file, const char *name)
{
	struct kh_show s = { NULL, file, "removed ", NULL, 0 };
	char err[1024];
	int n;

	if (client_opts.json)
		s.list = json_array();
	if ((n = ll_kh_remove(file, name, kh_show_entry, &s, err,
	    sizeof(err))) < 0) {
		msg_error("known-hosts --remove: %s", err);
		json_decref(s.list);
		return EXIT_FAILED;
	}
	if (n == 0) {
		json_decref(s.list);
		msg_error("known-hosts --remove: nothing is filed for %s in %s",
		    name, file);
		return EXIT_FAILED;
	}
	if (s.list != NULL)
		print_json(json_pack("{s:s, s:o}", "file", file, "removed",
		    s.list));
	return EXIT_OK;
}

static int
cmd_known_hosts(int argc, char **argv)
{
	const char *name;
	bool remove = false;
	int ch;

	optind = 0;
	while ((ch = cmd_getopt(&cmd_known_hosts_entry, argc, argv)) != -1) {
		if (ch != 'R')
			return cmd_usage_error(&cmd_known_hosts_entry);
		remove = true;
	}
	if (argc - optind > 1)
		return cmd_usage_error(&cmd_known_hosts_entry);
	name = optind < argc ? argv[optind] : NULL;
	if (!remove)
		return known_hosts_list(conn_known_hosts(), name);
	if (name == NULL && (name = client_opts.via) == NULL) {
		msg_error("known-hosts --remove: which console?  Give NAME "
		    "(a path as --via takes it, or SHA256:...), --via or -t");
		return EXIT_USAGE;
	}
	if (name[0] == '\0') {
		msg_error("known-hosts --remove: NAME is empty");
		return EXIT_USAGE;
	}
	return known_hosts_remove(conn_known_hosts(), name);
}

const struct client_cmd cmd_known_hosts_entry = {
	.name = "known-hosts",
	.operands = "[NAME]",
	.summary = "list or remove the agents' host keys lifeline knows",
	.help = "NAME is a path as --via takes it (any spelling of the same "
	    "console: serial:, tty: or a bare device, with or without a baud) "
	    "or a key's SHA256: fingerprint; with --remove and no NAME, the "
	    "current path (--via, -t or LIFELINE_VIA).  The file is "
	    "--known-hosts, else ~/.config/lifeline/known_hosts.",
	.options = known_hosts_options,
	.flags = CMD_NO_VIA,
	.run = cmd_known_hosts,
};
