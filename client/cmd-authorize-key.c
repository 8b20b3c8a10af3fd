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

#define AUTHKEY_LINES_MAX	64
#define AUTHKEY_LINE_MAX	16384

/* Next token of a key line; double-quoted parts (options) stay inside. */
static size_t
authkey_token(const char *s, size_t *start)
{
	size_t i = *start;
	bool q = false;

	while (s[i] == ' ' || s[i] == '\t')
		i++;
	*start = i;
	while (s[i] != '\0' && (q || (s[i] != ' ' && s[i] != '\t'))) {
		if (s[i] == '"')
			q = !q;
		else if (s[i] == '\\' && q && s[i + 1] != '\0')
			i++;
		i++;
	}
	return i - *start;
}

/* Whether line is "[options] type base64 [comment]" of a valid key. */
static bool
authkey_valid(const char *line, char *why, size_t whylen)
{
	char tok[128], *b64;
	enum ssh_keytypes_e type = SSH_KEYTYPE_UNKNOWN;
	ssh_key key = NULL;
	size_t s = 0, n;
	int i, rc;

	for (i = 0; i < 2 && type == SSH_KEYTYPE_UNKNOWN; i++) {
		n = authkey_token(line, &s);
		if (n == 0 || n >= sizeof(tok))
			break;
		memcpy(tok, line + s, n);
		tok[n] = '\0';
		s += n;
		type = ssh_key_type_from_name(tok);
	}
	if (type == SSH_KEYTYPE_UNKNOWN) {
		snprintf(why, whylen, "no key type libssh knows (like "
		    "ssh-ed25519, ssh-rsa) followed by base64 data");
		return false;
	}
	n = authkey_token(line, &s);
	if (n == 0 || (b64 = strndup(line + s, n)) == NULL) {
		snprintf(why, whylen, "the %s key has no base64 data", tok);
		return false;
	}
	rc = ssh_pki_import_pubkey_base64(b64, type, &key);
	free(b64);
	ssh_key_free(key);
	if (rc != SSH_OK) {
		snprintf(why, whylen, "the base64 data is not a valid %s key",
		    tok);
		return false;
	}
	return true;
}

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
		char *p = line;

		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' ||
		    line[n - 1] == ' ' || line[n - 1] == '\t'))
			line[--n] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		if (strlen(p) != (size_t)(n - (p - line)) ||
		    strlen(p) > AUTHKEY_LINE_MAX) {
			msg_error("authorize-key: %s:%zu: not a text line of at "
			    "most %d bytes", path, lineno, AUTHKEY_LINE_MAX);
			rc = -1;
		} else if (!authkey_valid(p, why, sizeof(why))) {
			msg_error("authorize-key: %s:%zu: not a valid public "
			    "key: %s", path, lineno, why);
			rc = -1;
		} else if (json_array_size(keys) == AUTHKEY_LINES_MAX) {
			msg_error("authorize-key: %s: more than %d keys", path,
			    AUTHKEY_LINES_MAX);
			rc = -1;
		} else if (json_array_append_new(keys, json_string(p)) != 0) {
			msg_error("authorize-key: %s:%zu: the key line is not "
			    "UTF-8 text (its comment?)", path, lineno);
			rc = -1;
		}
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
		msg_warn("%s", json_string_value(v));
}

int
cmd_authorize_key(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ NULL, 0, NULL, 0 }
	};
	json_t *keys, *args, *res;
	const char *user = "root", *path;
	int ch, rc;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "+", longopts, NULL)) != -1)
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
	msg_error("usage: lifeline authorize-key [USER] KEYFILE");
	return EXIT_USAGE;
}
