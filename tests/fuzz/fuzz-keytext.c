/*
 * libFuzzer target for the client's key validation: the key-file lines of
 * authorize-key (client/key-line.c) and the host-key text attach --deploy
 * reads off a console (ll_ssh_key_text_check in proto/ssh-client.c, given
 * "FP TYPE BASE64" split as deploy.c splits it).  Each input line goes to
 * both.
 *
 * Properties checked (abort() on violation):
 *  - a key line is either taken whole (appended, equal to the line without
 *    its surrounding blanks, a key libssh decodes), skipped (blank or a
 *    comment) or refused with a reason; never cut, never dropped silently;
 *  - a console host key is accepted only when its base64 decodes to a key
 *    whose fingerprint is exactly the one given; given the fingerprint of
 *    a known key, only that very key is accepted.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libssh/libssh.h>

#include "key-line.h"
#include "ssh-client.h"
#include "ssh-common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char known_b64[] =
    "AAAAC3NzaC1lZDI1NTE5AAAAILMfyZmI/p3/a8hP8RDVasr1BKn7jqJETHB66aqZpYLb";
static ssh_key known;
static char known_fp[LL_SSH_FP_MAX];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (ssh_pki_import_pubkey_base64(known_b64, SSH_KEYTYPE_ED25519,
	    &known) != SSH_OK ||
	    ll_ssh_fingerprint(known, known_fp, sizeof(known_fp)) != 0)
		abort();
	return 0;
}

static bool
is_blank_or_comment(const char *line, size_t n)
{
	size_t i = 0;

	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i < n && line[i] == '#')
		return true;
	for (; i < n; i++)
		if (strchr(" \t\r\n", line[i]) == NULL)
			return false;
	return true;
}

static void
check_key_line(const char *raw, size_t n, json_t *keys)
{
	char *line, why[256];
	size_t before = json_array_size(keys), s = 0, e = n;
	int rc;

	if ((line = malloc(n + 1)) == NULL)
		abort();
	memcpy(line, raw, n);
	line[n] = '\0';
	why[0] = '\0';
	rc = key_line_take(line, n, keys, why, sizeof(why));
	if (rc != 0) {
		if (why[0] == '\0' || json_array_size(keys) != before)
			abort();
		free(line);
		return;
	}
	if (is_blank_or_comment(raw, n)) {
		if (json_array_size(keys) != before)
			abort();
		free(line);
		return;
	}
	/* Taken whole: the line without the blanks around it. */
	while (s < n && (raw[s] == ' ' || raw[s] == '\t'))
		s++;
	while (e > s && strchr(" \t\r\n", raw[e - 1]) != NULL)
		e--;
	if (json_array_size(keys) != before + 1)
		abort();
	{
		json_t *k = json_array_get(keys, before);

		if (json_string_length(k) != e - s ||
		    memcmp(json_string_value(k), raw + s, e - s) != 0 ||
		    !key_line_is_valid(json_string_value(k), why, sizeof(why)))
			abort();
	}
	free(line);
}

static void
check_host_key(const char *raw, size_t n)
{
	char *line, f[96], type[64], b64[600], got[LL_SSH_FP_MAX];
	ssh_key key = NULL;

	if ((line = strndup(raw, n)) == NULL)
		abort();
	if (sscanf(line, "%95s %63s %599s", f, type, b64) == 3 &&
	    ll_ssh_key_text_check(f, type, b64) == 0) {
		if (ssh_pki_import_pubkey_base64(b64,
		    ssh_key_type_from_name(type), &key) != SSH_OK ||
		    ll_ssh_fingerprint(key, got, sizeof(got)) != 0 ||
		    strcmp(got, f) != 0)
			abort();
		if (strcmp(f, known_fp) == 0 &&
		    ssh_key_cmp(key, known, SSH_KEY_CMP_PUBLIC) != 0)
			abort();
		ssh_key_free(key);
	}
	free(line);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *nl;
	json_t *keys = json_array();
	size_t n;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl != NULL ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		check_key_line(p, n, keys);
		check_host_key(p, n);
		p += n;
	}
	json_decref(keys);
	return 0;
}
