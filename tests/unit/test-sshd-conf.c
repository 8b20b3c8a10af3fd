/*
 * Unit tests for the reading of the target's sshd_config
 * (agent/sshd-conf.c), which passwd uses to say what may still block a
 * login.  The module does no I/O of its own: the agent hands it readers
 * confined to the target root, and here (as in tests/fuzz/fuzz-sshd.c) a
 * table of files in memory stands for the target's /etc/ssh.
 *
 * Checked: the first value of a keyword wins, as in sshd; Include, relative
 * to /etc/ssh, globbed in sorted order, at its place in the file (so a
 * drop-in read before the main file's own line wins, as on Debian);
 * "Keyword=value", any case, CRLF lines, comments; a Match block stops the
 * reading; AllowUsers and DenyUsers patterns for the user, with the
 * file:line they come from; a configuration that includes itself stops at
 * SSHD_CONF_FILES_MAX files; a missing file is skipped.
 */
#include "config.h"

#include <errno.h>
#include <fnmatch.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sshd-conf.h"

struct file {
	const char *path, *text;
};

/* The files of one case; reads counts the reads asked for. */
struct files {
	const struct file *f;
	int reads;
};

static int
mem_read(void *ctx, const char *path, struct pw_buf *b)
{
	struct files *fs = ctx;
	const struct file *f;

	fs->reads++;
	for (f = fs->f; f->path != NULL; f++) {
		if (strcmp(f->path, path) != 0)
			continue;
		b->len = strlen(f->text);
		if ((b->p = strdup(f->text)) == NULL)
			return -ENOMEM;
		return 0;
	}
	return -ENOENT;
}

static int
mem_list(void *ctx, const char *dir, const char *base, char ***names,
    size_t *n, size_t max)
{
	struct files *fs = ctx;
	const struct file *f;
	size_t dl = strlen(dir);

	*n = 0;
	if ((*names = calloc(max, sizeof(**names))) == NULL)
		return -ENOMEM;
	/* in table order, which the cases give unsorted */
	for (f = fs->f; f->path != NULL && *n < max; f++) {
		if (strncmp(f->path, dir, dl) != 0 ||
		    strchr(f->path + dl, '/') != NULL ||
		    fnmatch(base, f->path + dl, FNM_PERIOD) != 0)
			continue;
		(*names)[(*n)++] = strdup(f->path + dl);
	}
	return 0;
}

static int
read_conf(const struct file *files, const char *user, struct sshd_conf *e)
{
	struct files fs = { files, 0 };
	const struct sshd_conf_io io = { mem_read, mem_list, &fs };

	sshd_conf_read(e, &io, "/etc/ssh/sshd_config", user);
	return fs.reads;
}

static void
test_first_value_wins(void **state)
{
	static const struct file files[] = {
		{ "/etc/ssh/sshd_config", "# defaults\r\n"
		    "\r\n"
		    "permitrootlogin=no\r\n"
		    "PermitRootLogin yes\r\n"
		    "  PasswordAuthentication   no  # trailing\n"
		    "PasswordAuthentication yes\n"
		    "PermitEmptyPasswords yes\n" },
		{ NULL, NULL }
	};
	struct sshd_conf e;

	(void)state;
	assert_int_equal(read_conf(files, "root", &e), 1);
	assert_string_equal(e.prl, "no");
	assert_string_equal(e.prl_src, "etc/ssh/sshd_config:3");
	assert_string_equal(e.pa, "no");
	assert_string_equal(e.pa_src, "etc/ssh/sshd_config:5");
	assert_string_equal(e.pea, "yes");
	assert_false(e.stop);
	assert_false(e.allow_seen);
	assert_false(e.denied);
}

/* Debian's layout: drop-ins included first, in sorted order. */
static void
test_include(void **state)
{
	static const struct file files[] = {
		{ "/etc/ssh/sshd_config",
		    "Include /etc/ssh/sshd_config.d/*.conf missing.conf\n"
		    "PermitRootLogin yes\n"
		    "PasswordAuthentication yes\n" },
		{ "/etc/ssh/sshd_config.d/50-cloud.conf",
		    "PasswordAuthentication no\nPermitRootLogin yes\n" },
		{ "/etc/ssh/sshd_config.d/10-local.conf",
		    "PermitRootLogin prohibit-password\n" },
		{ "/etc/ssh/sshd_config.d/20-off.conf.bak",
		    "PermitRootLogin no\n" },
		{ "/etc/ssh/sshd_config.d/.hidden.conf",
		    "PermitRootLogin no\n" },
		{ NULL, NULL }
	};
	struct sshd_conf e;

	(void)state;
	read_conf(files, "root", &e);
	assert_string_equal(e.prl, "prohibit-password");
	assert_string_equal(e.prl_src, "etc/ssh/sshd_config.d/10-local.conf:1");
	assert_string_equal(e.pa, "no");
	assert_string_equal(e.pa_src, "etc/ssh/sshd_config.d/50-cloud.conf:1");
	/* the main file, two drop-ins, the missing relative one */
	assert_int_equal(e.files, 4);
}

static void
test_match_stops(void **state)
{
	static const struct file files[] = {
		{ "/etc/ssh/sshd_config", "PasswordAuthentication yes\n"
		    "Match User backup\n"
		    "\tPermitRootLogin yes\n" },
		{ NULL, NULL }
	};
	struct sshd_conf e;

	(void)state;
	read_conf(files, "root", &e);
	assert_true(e.stop);
	assert_string_equal(e.pa, "yes");
	/* what follows Match is conditional: not taken */
	assert_string_equal(e.prl, "");
}

static void
test_allow_deny(void **state)
{
	static const struct file files[] = {
		{ "/etc/ssh/sshd_config", "AllowUsers alice bob@10.0.0.*\n"
		    "AllowUsers carol\n"
		    "DenyUsers ma* eve\n"
		    "DenyUsers mallory\n" },
		{ NULL, NULL }
	};
	struct sshd_conf e;

	(void)state;
	read_conf(files, "bob", &e);
	assert_true(e.allow_seen);
	assert_true(e.allowed);
	assert_string_equal(e.allow_src, "etc/ssh/sshd_config:1");
	assert_false(e.denied);
	read_conf(files, "root", &e);
	assert_true(e.allow_seen);
	assert_false(e.allowed);
	/* the first line that denies is the one named */
	read_conf(files, "mallory", &e);
	assert_true(e.denied);
	assert_string_equal(e.deny_src, "etc/ssh/sshd_config:3");
}

/* Including itself (and everything) stops at the cap of files read. */
static void
test_include_loop(void **state)
{
	static const struct file files[] = {
		{ "/etc/ssh/sshd_config", "Include /etc/ssh/*\n"
		    "Include sshd_config sshd_config\n" },
		{ "/etc/ssh/a", "Include * *\n" },
		{ "/etc/ssh/b", "Include *\nPermitRootLogin no\n" },
		{ NULL, NULL }
	};
	struct sshd_conf e;
	int reads;

	(void)state;
	reads = read_conf(files, "root", &e);
	assert_int_equal(e.files, SSHD_CONF_FILES_MAX);
	assert_true(reads <= SSHD_CONF_FILES_MAX);
	assert_string_equal(e.prl, "no");
	assert_string_equal(e.prl_src, "etc/ssh/b:2");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_value_wins),
		cmocka_unit_test(test_include),
		cmocka_unit_test(test_match_stops),
		cmocka_unit_test(test_allow_deny),
		cmocka_unit_test(test_include_loop),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
