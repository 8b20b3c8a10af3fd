/*
 * authorized_keys-style lines, "[options] type base64 [comment]": the one
 * tokenizer behind the agent's authorized_keys check (agent/authkeys.c),
 * authorize-key (agent/op-authkey.c) and the client's key files
 * (client/key-line.c), so all three read a line as sshd(8) does.
 *
 * Fields are separated by blanks (space, tab).  The first word is the key
 * type when it names one (an OpenSSH type name, or one libssh knows);
 * otherwise it is the options field, which runs to the first blank outside
 * double quotes, \" standing for a quote (sshd's own rule).  The base64
 * word follows the type; the comment is the rest of the line, without its
 * trailing blanks.  Nothing is decoded or allocated: the fields point into
 * the line.
 */
#ifndef LL_SSH_KEYLINE_H
#define LL_SSH_KEYLINE_H

#include <stdbool.h>
#include <stddef.h>

#include <libssh/libssh.h>

struct ll_key_line {
	const char *opts;	/* NULL when the line has no options field */
	size_t opts_len;
	const char *type;
	size_t type_len;
	const char *b64;
	size_t b64_len;
	const char *comment;	/* "" when none */
	size_t comment_len;
};

enum ll_key_line_result {
	LL_KEY_LINE_OK = 0,
	LL_KEY_LINE_SKIP,	/* blank, or a # comment */
	LL_KEY_LINE_QUOTE,	/* the options have an unterminated quote */
	LL_KEY_LINE_NOKEY,	/* no type and base64 word after the options */
};

/* Split line (NUL-terminated, no line end) into kl. */
enum ll_key_line_result ll_key_line_split(const char *line,
    struct ll_key_line *kl);
/* Whether name (len bytes) is a key type: OpenSSH's or libssh's. */
bool ll_key_type_is_known(const char *name, size_t len);
/* The type's name as OpenSSH lists it, whether or not libssh can use it. */
bool ll_key_type_is_openssh(const char *name, size_t len);

/*
 * The type libssh knows (its name copied to type, tlen bytes) and the base64
 * word (*b64, malloc'd; NULL when the line has none) of a key line.
 * SSH_KEYTYPE_UNKNOWN when the line has no type libssh can use.
 */
enum ssh_keytypes_e ll_ssh_key_split(const char *line, char *type,
    size_t tlen, char **b64);

#endif
