/*
 * What lifeline attach and its deploy step (deploy.c) share: the console as
 * attach reads it (text cleaned of escape sequences, the echo of our last
 * line set apart) and the typing and reading helpers.
 */
#ifndef LL_CLIENT_ATTACH_H
#define LL_CLIENT_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transport.h"

#define ATTACH_TEXT_MAX		4096	/* console text kept, cleaned */
#define ATTACH_LINE_MAX		1024	/* a line we type */
#define ATTACH_PASSWORD_MAX	512
#define ATTACH_TIMEOUT_MS	30000	/* --login-timeout default */
#define ATTACH_SETTLE_MS	200	/* quiet after a prompt: it is complete */
#define ATTACH_SILENT_MS	2000	/* quiet after the wake: maybe an agent */
#define ATTACH_WAKES		2	/* CRs for a console that says other things */
/* --deploy expects a shell: a blank console that echoes (a terminal) gets
 * this many CRs, 2 s apart, before it is taken for an agent's (a loaded
 * gateway took 4 s) */
#define ATTACH_DEPLOY_WAKES	5
#define ATTACH_EXEC_QUIET_MS	500	/* quiet after exec: the agent is up */
#define ATTACH_EXEC_MAX_MS	3000
#define ATTACH_SHOW_MAX		160	/* console text quoted in messages */

enum attach_prompt { PROMPT_NONE, PROMPT_LOGIN, PROMPT_PASSWORD, PROMPT_SHELL };
enum attach_state { ST_WAKE, ST_USER, ST_PASSWORD, ST_EXEC };
/* Where the cleaner is in an escape sequence. */
enum attach_esc { ESC_NONE, ESC_ESC, ESC_CSI, ESC_STR, ESC_STR_ESC, ESC_NF };

struct attach {
	struct ll_transport *t;
	const char *user;
	char agent_cmd[ATTACH_LINE_MAX];
	char password[ATTACH_PASSWORD_MAX];
	bool have_password;
	/* What the console said since our last line, cleaned. */
	char text[ATTACH_TEXT_MAX + 1];
	size_t len;
	enum attach_esc esc;
	char echo[ATTACH_LINE_MAX];	/* our last line, as its echo reads */
	bool line_start;		/* raw: the next byte starts a line */
	bool marker;			/* raw: the last byte was a '|' there */
	bool frame_seen;		/* raw: "|7" or "|8" starting a line */
	uint64_t last_rx, last_tx;
	char said[ATTACH_SHOW_MAX * 4 + 8];	/* for a later hint */
	bool deploy;			/* --deploy */
	const char *bundle;		/* --bundle FILE, or NULL */
};

/* All of p to the console.  0, or EXIT_CONNECT with a message. */
int attach_write(struct attach *a, const char *p, size_t n);
/* Type line and a CR; a secret is not expected back as an echo. */
int attach_type(struct attach *a, const char *line, bool secret);
/* Console bytes into the text, as a reader of the screen would see them. */
void attach_feed(struct attach *a, const uint8_t *p, size_t n);
/* Wait up to ms for the console and take what it said.  0 or LL_ERR_*. */
int attach_read(struct attach *a, int ms);
/* Forget what the console said so far. */
void attach_clear(struct attach *a);
/* The console's text since our last line, without that line's echo. */
const char *attach_screen(const struct attach *a);
/* s for a message, on one line, the password scrubbed. */
void attach_show(const struct attach *a, const char *s, char *out, size_t len);

/*
 * At a shell prompt with --deploy: run an agent of this version there,
 * bringing one through the console when the host has none (deploy.c).
 * 0 when the transport is ready for the lifeline hello (the deployed
 * agent's host key then pinned in client_opts), DEPLOY_INSTALLED when an
 * installed agent of this version should be started the usual way; else an
 * EXIT_* code with the message printed.
 */
#define DEPLOY_INSTALLED	(-1)
int deploy_at_prompt(struct attach *a);

#endif
