/*
 * libFuzzer target for lifelined's authorized_keys reader (agent/
 * authkeys.c) as the SSH server calls it: the input is written to a file in
 * a private directory (authkeys_check reads files, and checks their modes)
 * and checked against a fixed ed25519 key, from a peer the first byte picks
 * (a console, where from= cannot be checked, or one of four addresses).
 *
 * Properties checked (abort() on violation):
 *  - an allowed key names a line that exists and holds the key's base64
 *    (its key material), with an empty reason; a refusal has a reason;
 *  - the allowing line's options (outside quotes) hold no option that must
 *    refuse (command, environment, permitopen, ..., unknown names), and no
 *    from= on a console;
 *  - the fingerprint is always that of the key offered.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "authkeys.h"
#include "scratch.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char key_b64[] =
    "AAAAC3NzaC1lZDI1NTE5AAAAILMfyZmI/p3/a8hP8RDVasr1BKn7jqJETHB66aqZpYLb";
static const char key_fp[] = "SHA256:RL8beR/8Mixa3Kc2gCNQtjxgcmJq9rq4sIMR4ybDses";
static const char *const peers[] = {
	NULL, "192.0.2.1", "::1", "::ffff:10.1.2.3", "2001:db8::5"
};
static char path[4096];
static ssh_key key;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (ssh_pki_import_pubkey_base64(key_b64, SSH_KEYTYPE_ED25519,
	    &key) != SSH_OK)
		abort();
	scratch_make("authkeys");
	scratch_path(path, sizeof(path), "authorized_keys");
	return 0;
}

/* Line no (1-based) of the input as a string, or NULL. */
static char *
nth_line(const char *d, size_t size, int no)
{
	const char *p = d, *end = d + size, *nl;

	for (;;) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (--no == 0)
			return strndup(p, nl != NULL ? (size_t)(nl - p) :
			    (size_t)(end - p));
		if (nl == NULL)
			return NULL;
		p = nl + 1;
	}
}

/* The names of the options of line (the first word, when not a key type),
 * quoted parts removed, each checked against what may allow a key. */
static void
check_options(char *line, const char *peer)
{
	static const char *const ok[] = { "restrict", "no-pty",
	    "no-port-forwarding", "no-agent-forwarding", "no-x11-forwarding",
	    "no-user-rc", "no-touch-required", "pty", "port-forwarding",
	    "agent-forwarding", "x11-forwarding", "user-rc", "from",
	    "expiry-time", NULL };
	char *p = line, *w, *name, *save = NULL;
	bool q = false;
	int i;

	while (*p == ' ' || *p == '\t')
		p++;
	if (strncmp(p, "ssh-", 4) == 0 || strncmp(p, "ecdsa-", 6) == 0 ||
	    strncmp(p, "sk-", 3) == 0)
		return;
	/* Drop the quoted parts: what is left is names, = and commas. */
	for (w = p; *p != '\0' && (q || (*p != ' ' && *p != '\t')); p++) {
		if (q && p[0] == '\\' && p[1] == '"')
			p++;
		else if (*p == '"')
			q = !q;
		else if (!q)
			*w++ = *p;
	}
	*w = '\0';
	w = line + strspn(line, " \t");
	for (name = strtok_r(w, ",", &save); name != NULL;
	    name = strtok_r(NULL, ",", &save)) {
		name[strcspn(name, "=")] = '\0';
		for (i = 0; ok[i] != NULL; i++)
			if (strcasecmp(name, ok[i]) == 0)
				break;
		if (ok[i] == NULL)
			abort();
		if (peer == NULL && strcasecmp(name, "from") == 0)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct authkeys_result res;
	const char *peer;
	char *line;
	int fd, rc;

	if (size < 1)
		return 0;
	peer = peers[data[0] % 5];
	data++;
	size--;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0 ||
	    write(fd, data, size) != (ssize_t)size || close(fd) != 0)
		abort();
	rc = authkeys_check(path, key, peer, &res);
	if (rc != 0 || strcmp(res.fingerprint, key_fp) != 0)
		abort();
	if (!res.allowed) {
		if (res.reason[0] == '\0')
			abort();
		return 0;
	}
	if (res.line < 1 || res.reason[0] != '\0' ||
	    (line = nth_line((const char *)data, size, res.line)) == NULL)
		abort();
	/* The key material: bytes 21 to 50 of the blob, base64 from 28 on.
	 * (libssh ignores the type name inside the blob, bytes 4 to 14, so a
	 * line whose name there is damaged still holds this very key.) */
	if (strstr(line, key_b64 + 28) == NULL)
		abort();
	check_options(line, peer);
	free(line);
	return 0;
}
