/*
 * Key-file lines for authorize-key: see key-line.h.  Tokens are split as
 * sshd splits an authorized_keys line (blanks inside double quotes belong
 * to the options); the key itself is decoded by libssh.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libssh/libssh.h>

#include "key-line.h"
#include "ssh-keyline.h"

/* Whether line is "[options] type base64 [comment]" of a valid key. */
bool
key_line_is_valid(const char *line, char *why, size_t whylen)
{
	char tok[128], *b64;
	enum ssh_keytypes_e type;
	ssh_key key = NULL;
	int rc;

	type = ll_ssh_key_split(line, tok, sizeof(tok), &b64);
	if (type == SSH_KEYTYPE_UNKNOWN) {
		snprintf(why, whylen, "no key type libssh knows (like "
		    "ssh-ed25519, ssh-rsa) followed by base64 data");
		return false;
	}
	if (b64 == NULL) {
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

int
key_line_take(char *line, size_t n, json_t *keys, char *why, size_t whylen)
{
	char *p = line;
	json_t *s;

	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' ||
	    line[n - 1] == ' ' || line[n - 1] == '\t'))
		line[--n] = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' && strlen(line) == n)
		return 0;
	if (*p == '#')
		return 0;
	if (strlen(p) != n - (size_t)(p - line) || strlen(p) > KEY_LINE_MAX) {
		snprintf(why, whylen, "not a text line of at most %d bytes",
		    KEY_LINE_MAX);
		return -1;
	}
	if (!key_line_is_valid(p, why, whylen)) {
		char reason[256];

		snprintf(reason, sizeof(reason), "%s", why);
		snprintf(why, whylen, "not a valid public key: %s", reason);
		return -1;
	}
	/* jansson takes UTF-8 only: a comment in Latin-1 must not make the
	 * key vanish without a word. */
	if ((s = json_string(p)) == NULL) {
		snprintf(why, whylen, "the key line is not UTF-8 text (its "
		    "comment?)");
		return -1;
	}
	if (json_array_size(keys) == KEY_LINES_MAX) {
		json_decref(s);
		snprintf(why, whylen, "more than %d keys", KEY_LINES_MAX);
		return -1;
	}
	json_array_append_new(keys, s);
	return 0;
}
