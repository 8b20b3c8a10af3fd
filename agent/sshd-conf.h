/*
 * What the target's sshd_config says about a user's password login:
 * PermitRootLogin, PasswordAuthentication, PermitEmptyPasswords,
 * AllowUsers and DenyUsers, following Include (globs, relative to
 * /etc/ssh, in sorted order) as sshd does, and stopping at the first Match
 * block, whose conditions are not evaluated.
 *
 * The files are the target's, so hostile: files are read through the
 * caller's functions (the agent confines them to the target root, the fuzz
 * target serves them from memory), Include nests at most
 * SSHD_CONF_DEPTH_MAX deep and at most SSHD_CONF_FILES_MAX files are read
 * in all, so a config that includes itself cannot make the agent read
 * without end.
 */
#ifndef LL_AGENT_SSHD_CONF_H
#define LL_AGENT_SSHD_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "pw-file.h"

#define SSHD_CONF_DEPTH_MAX	8
#define SSHD_CONF_FILES_MAX	64	/* files read in all */
#define SSHD_CONF_GLOB_MAX	256	/* names one Include glob takes */

struct sshd_conf_io {
	/* Read the file at path into *b (malloc'd, NUL-terminated): 0 or
	 * -errno (not a regular file, too large, missing). */
	int (*read)(void *ctx, const char *path, struct pw_buf *b);
	/* The names in directory dir (ending in '/') matching the glob base,
	 * at most max of them, malloc'd: *n of them in *names.  0 or -errno. */
	int (*list)(void *ctx, const char *dir, const char *base,
	    char ***names, size_t *n, size_t max);
	void *ctx;
};

struct sshd_conf {
	char prl[64], prl_src[300];	/* PermitRootLogin, "file:line" */
	char pa[64], pa_src[300];	/* PasswordAuthentication */
	char pea[64];			/* PermitEmptyPasswords */
	bool allow_seen, allowed, denied;
	char deny_src[300], allow_src[300];
	bool stop;			/* a Match block: the rest is conditional */
	int files;			/* files read */
};

/*
 * Read the configuration at path (absolute, as seen in the target) for
 * user into *e (zeroed first).  Unreadable files are skipped, as sshd
 * skips a missing Include.
 */
void sshd_conf_read(struct sshd_conf *e, const struct sshd_conf_io *io,
    const char *path, const char *user);

#endif
