/*
 * authorized_keys-style lines (see ssh-keyline.h).  A line is walked once,
 * left to right; every field is a span of it.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "ssh-keyline.h"

#define KEY_TYPE_NAME_MAX	64

/* Type names sshd(8) lists, so an unsupported one is still a type. */
static const char *const openssh_types[] = {
	"ssh-ed25519", "ssh-rsa", "ssh-dss", "ecdsa-sha2-nistp256",
	"ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
	"sk-ecdsa-sha2-nistp256@openssh.com", "sk-ssh-ed25519@openssh.com",
	NULL
};

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static const char *
skip_blanks(const char *p)
{
	while (is_blank(*p))
		p++;
	return p;
}

static size_t
word_len(const char *p)
{
	return strcspn(p, " \t");
}

bool
ll_key_type_is_openssh(const char *name, size_t len)
{
	size_t i;

	for (i = 0; openssh_types[i] != NULL; i++) {
		if (strlen(openssh_types[i]) == len &&
		    memcmp(openssh_types[i], name, len) == 0)
			return true;
	}
	return false;
}

bool
ll_key_type_is_known(const char *name, size_t len)
{
	char buf[KEY_TYPE_NAME_MAX];

	if (ll_key_type_is_openssh(name, len))
		return true;
	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, name, len);
	buf[len] = '\0';
	return ssh_key_type_from_name(buf) != SSH_KEYTYPE_UNKNOWN;
}

/* The options field at p: its length, or 0 with an unterminated quote. */
static size_t
options_len(const char *p, bool *unterminated)
{
	const char *q = p;
	bool quoted = false;

	for (; *q != '\0' && (quoted || !is_blank(*q)); q++) {
		if (*q == '\\' && q[1] == '"' && quoted)
			q++;
		else if (*q == '"')
			quoted = !quoted;
	}
	*unterminated = quoted;
	return (size_t)(q - p);
}

enum ll_key_line_result
ll_key_line_split(const char *line, struct ll_key_line *kl)
{
	const char *p = skip_blanks(line);
	bool unterminated;
	size_t n;

	memset(kl, 0, sizeof(*kl));
	kl->comment = "";
	if (*p == '\0' || *p == '#')
		return LL_KEY_LINE_SKIP;
	n = word_len(p);
	if (!ll_key_type_is_known(p, n)) {
		kl->opts = p;
		kl->opts_len = options_len(p, &unterminated);
		if (unterminated)
			return LL_KEY_LINE_QUOTE;
		p = skip_blanks(p + kl->opts_len);
	}
	kl->type = p;
	kl->type_len = word_len(p);
	p = skip_blanks(p + kl->type_len);
	kl->b64 = p;
	kl->b64_len = word_len(p);
	p = skip_blanks(p + kl->b64_len);
	if (kl->type_len == 0 || kl->b64_len == 0)
		return LL_KEY_LINE_NOKEY;
	kl->comment = p;
	for (n = strlen(p); n > 0 && is_blank(p[n - 1]); n--)
		;
	kl->comment_len = n;
	return LL_KEY_LINE_OK;
}

enum ssh_keytypes_e
ll_ssh_key_split(const char *line, char *type, size_t tlen, char **b64)
{
	struct ll_key_line kl;
	enum ll_key_line_result rc;
	enum ssh_keytypes_e t;

	*b64 = NULL;
	if (tlen > 0)
		type[0] = '\0';
	rc = ll_key_line_split(line, &kl);
	/* A type without base64 is still named: the caller says what is
	 * missing. */
	if ((rc != LL_KEY_LINE_OK && rc != LL_KEY_LINE_NOKEY) ||
	    kl.type_len == 0 || kl.type_len >= tlen)
		return SSH_KEYTYPE_UNKNOWN;
	memcpy(type, kl.type, kl.type_len);
	type[kl.type_len] = '\0';
	if ((t = ssh_key_type_from_name(type)) == SSH_KEYTYPE_UNKNOWN)
		return t;
	if (kl.b64_len > 0)
		*b64 = strndup(kl.b64, kl.b64_len);
	return t;
}
