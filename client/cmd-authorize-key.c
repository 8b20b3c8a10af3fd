/*
 * lifeline authorize-key: add SSH public keys to a target user's
 * authorized_keys.
 *
 * KEYFILE (or - for stdin) holds one or more public key lines; blank lines
 * and # comments are skipped.  Every key is validated here with libssh
 * before anything is sent, so a malformed file is an error naming its line
 * and nothing changes.  The agent validates again, finds the user in the
 * target's etc/passwd and reports, per key, "added" or "already present".
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libssh/libssh.h>

#include "client.h"
#include "reply.h"
#include "key-line.h"

/* The key lines of path, validated, into keys.  0, or -1 with a message. */
static int
authkey_read(const char *path, json_t *keys)
{
	char *line = NULL, why[256];
	size_t cap = 0, lineno = 0;
	ssize_t n;
	FILE *f;
	int rc = 0;

	f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	if (f == NULL) {
		msg_error("authorize-key: cannot read %s: %s", path,
		    strerror(errno));
		return -1;
	}
	while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if ((rc = key_line_take(line, (size_t)n, keys, why,
		    sizeof(why))) != 0)
			msg_error("authorize-key: %s:%zu: %s", path, lineno,
			    why);
	}
	if (rc == 0 && ferror(f)) {
		msg_error("authorize-key: cannot read %s: %s", path,
		    strerror(errno));
		rc = -1;
	}
	if (rc == 0 && json_array_size(keys) == 0) {
		msg_error("authorize-key: %s holds no public key", path);
		rc = -1;
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return rc;
}

static void
authkey_print(json_t *res)
{
	json_t *v;
	const char *fp;
	size_t i;

	json_array_foreach(json_object_get(res, "keys"), i, v) {
		fp = json_string_value(json_object_get(v, "fingerprint"));
		printf("%s %s: %s\n", json_string_value(json_object_get(v,
		    "type")), fp != NULL ? fp : "", json_string_value(
		    json_object_get(v, "status")));
	}
	printf("%s (owner uid %lld, gid %lld)%s\n", json_string_value(
	    json_object_get(res, "file")),
	    (long long)json_integer_value(json_object_get(res, "uid")),
	    (long long)json_integer_value(json_object_get(res, "gid")),
	    json_is_true(json_object_get(res, "created_ssh_dir")) ?
	    "; .ssh was created" : "");
	json_array_foreach(json_object_get(res, "warnings"), i, v)
		msg_warn("%s", reply_str(v));
}

static int
cmd_authorize_key(int argc, char **argv)
{
	json_t *keys, *args, *res;
	const char *user = "root", *path;
	int ch, rc;

	optind = 0;
	while ((ch = cmd_getopt(&cmd_authorize_key_entry, argc, argv)) != -1)
		goto usage;
	if (argc - optind == 2)
		user = argv[optind++];
	if (argc - optind != 1)
		goto usage;
	path = argv[optind];
	keys = json_array();
	if (authkey_read(path, keys) != 0) {
		json_decref(keys);
		return EXIT_FAILED;
	}
	args = json_pack("{s:s, s:o}", "user", user, "keys", keys);
	rc = conn_run("authorize-key", args, NULL, &res);
	json_decref(args);
	if (rc != 0)
		return rc;
	return print_reply(res, authkey_print);
usage:
	return cmd_usage_error(&cmd_authorize_key_entry);
}

const struct client_cmd cmd_authorize_key_entry = {
	.name = "authorize-key",
	.operands = "[USER] KEYFILE",
	.summary = "add SSH public keys to a target user's authorized_keys",
	.help = "USER defaults to root; KEYFILE - reads stdin.",
	.run = cmd_authorize_key,
};
