/*
 * lifeline authorize-key: add SSH public keys to a target user's
 * authorized_keys.
 *
 * KEYFILE (or - for stdin) holds one or more public key lines; blank lines
 * and # comments are skipped.  Every key is validated here with libssh
 * before anything is sent, so a malformed file is an error naming its line
 * and nothing changes.  The agent validates again, finds the user in the
 * target's etc/passwd and reports, per key, "added" or "already present".
 *
 * A private key given by mistake (as ssh-copy-id -i takes one) never
 * leaves the machine: its KEYFILE.pub is read instead, or, without one,
 * its public half is derived here with libssh, and lifeline says which.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* Does path start like an OpenSSH or PEM private key file? */
static bool
authkey_is_private(const char *path)
{
	char head[128];
	size_t n;
	FILE *f;

	if (strcmp(path, "-") == 0 || (f = fopen(path, "re")) == NULL)
		return false;
	n = fread(head, 1, sizeof(head) - 1, f);
	fclose(f);
	head[n] = '\0';
	return strncmp(head, "-----BEGIN ", 11) == 0 &&
	    strstr(head, "PRIVATE KEY-----") != NULL;
}

/* The public half of the private key at path, as a key line. */
static int
authkey_derive(const char *path, json_t *keys)
{
	ssh_key priv = NULL, pub = NULL;
	char *b64 = NULL, *line = NULL;
	const char *base = strrchr(path, '/');
	int rc = -1;

	if (ssh_pki_import_privkey_file(path, NULL, NULL, NULL, &priv) !=
	    SSH_OK || ssh_pki_export_privkey_to_pubkey(priv, &pub) != SSH_OK) {
		msg_error("authorize-key: %s is a private key, and there is no "
		    "%s.pub beside it to send instead; its public half cannot "
		    "be read either (protected by a passphrase?): give the "
		    "public key file", path, path);
		goto out;
	}
	if (ssh_pki_export_pubkey_base64(pub, &b64) != SSH_OK ||
	    asprintf(&line, "%s %s %s", ssh_key_type_to_char(
	    ssh_key_type(pub)), b64, base != NULL ? base + 1 : path) < 0) {
		msg_error("authorize-key: out of memory");
		line = NULL;
		goto out;
	}
	json_array_append_new(keys, json_string(line));
	msg_warn("authorize-key: %s is a private key: sending its public "
	    "half (there is no %s.pub)", path, path);
	rc = 0;
out:
	free(line);
	ssh_string_free_char(b64);
	ssh_key_free(pub);
	ssh_key_free(priv);
	return rc;
}

/*
 * The keys of KEYFILE: its lines, or for a private key those of its .pub
 * (or its derived public half).  0, or -1 with a message.
 */
static int
authkey_keys(const char *path, json_t *keys)
{
	char *pub;
	int rc;

	if (!authkey_is_private(path))
		return authkey_read(path, keys);
	if (asprintf(&pub, "%s.pub", path) < 0) {
		msg_error("authorize-key: out of memory");
		return -1;
	}
	if (access(pub, F_OK) != 0) {
		free(pub);
		return authkey_derive(path, keys);
	}
	msg_warn("authorize-key: %s is a private key: sending %s instead, as "
	    "ssh-copy-id does", path, pub);
	rc = authkey_read(pub, keys);
	free(pub);
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
	if (authkey_keys(path, keys) != 0) {
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
	.help = "USER defaults to root; KEYFILE - reads stdin.  A private key "
	    "file is never sent: its KEYFILE.pub is, as ssh-copy-id does (or "
	    "its public half, when there is no .pub).",
	.run = cmd_authorize_key,
};
