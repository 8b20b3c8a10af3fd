/*
 * Unit tests for the configuration file (agent/conf.c): a good file with
 * every setting, each kind of error (with its PATH:LINE and the options left
 * untouched), the command line winning over the file, and the StrictModes
 * style refusal of a file others could have written.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "link.h"

/*
 * conf.c checks allow-lists with server_find_op(), which lives in server.c
 * with the whole operation table and every op-*.c file behind it.  This
 * double with a fixed list keeps the test to conf.c alone.
 */
static const struct agent_op fake_ops[] = {
	{ .name = "info" }, { .name = "exec", .writes = true },
	{ .name = "get" }, { .name = "put", .writes = true },
	{ .name = NULL },
};

const struct agent_op *
server_find_op(const char *name)
{
	const struct agent_op *op;

	for (op = fake_ops; op->name != NULL; op++) {
		if (strcmp(op->name, name) == 0)
			return op;
	}
	return NULL;
}

static char dir[] = "/tmp/test-conf.XXXXXX";
static char path[sizeof(dir) + 32];

static void
write_conf(const char *text, mode_t mode)
{
	FILE *fp;

	snprintf(path, sizeof(path), "%s/lifelined.conf", dir);
	unlink(path);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/*
 * conf_load keeps what it applied for the process's life; a test that
 * loads many files hands it back so a leak checker sees no leak.
 */
static void
free_loaded(struct agent_options *o, const struct agent_options *before)
{
	const char **f[] = { &o->serial, &o->listen, &o->listen_ssh,
	    &o->host_key, &o->authorized_keys, &o->debug_file,
	    &o->target_root };
	const char *const *b[] = { &before->serial, &before->listen,
	    &before->listen_ssh, &before->host_key, &before->authorized_keys,
	    &before->debug_file, &before->target_root };
	size_t i;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (*f[i] != *b[i])
			free((char *)*f[i]);
	}
	if (o->allow != before->allow)
		free(o->allow);
	memset(o, 0, sizeof(*o));
}

static const struct agent_options none;

static bool
opts_are_zero(const struct agent_options *o)
{
	return memcmp(o, &none, sizeof(none)) == 0;
}

static void
test_good_file(void **state)
{
	struct agent_options o;
	char err[512] = "";

	write_conf("# lifelined settings\n"
	    "\n"
	    "serial /dev/ttyS1,115200   # the console\n"
	    "listen-ssh 127.0.0.1:2222\r\n"
	    "  host-key \"/etc/life line/key\"\n"
	    "authorized-keys /root/.ssh/authorized_keys\n"
	    "allow info, exec get,info\n"
	    "read-only yes\n"
	    "encoding 7bit\n"
	    "debug-file \"/tmp/a \\\"b\\\" \\\\c\"\n"
	    "target-root /mnt#not-a-comment\n", 0644);
	memset(&o, 0, sizeof(o));
	assert_int_equal(conf_load(path, true, &o, err, sizeof(err)), 0);
	assert_string_equal(o.serial, "/dev/ttyS1,115200");
	assert_null(o.listen);
	assert_string_equal(o.listen_ssh, "127.0.0.1:2222");
	assert_string_equal(o.host_key, "/etc/life line/key");
	assert_string_equal(o.authorized_keys, "/root/.ssh/authorized_keys");
	assert_non_null(o.allow);
	assert_string_equal(o.allow[0], "info");
	assert_string_equal(o.allow[1], "exec");
	assert_string_equal(o.allow[2], "get");
	assert_null(o.allow[3]);
	assert_true(o.read_only);
	assert_int_equal(o.encoding, LL_ENC_7BIT);
	assert_string_equal(o.debug_file, "/tmp/a \"b\" \\c");
	assert_string_equal(o.target_root, "/mnt#not-a-comment");
	assert_false(o.insecure);
	free_loaded(&o, &none);
}

static void
test_booleans(void **state)
{
	static const struct {
		const char *text;
		bool want;
	} cases[] = {
		{ "read-only yes\n", true }, { "read-only true\n", true },
		{ "read-only 1\n", true }, { "read-only no\n", false },
		{ "read-only false\n", false }, { "read-only 0\n", false },
	};
	struct agent_options o;
	char err[512];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_conf(cases[i].text, 0600);
		memset(&o, 0, sizeof(o));
		assert_int_equal(conf_load(path, true, &o, err, sizeof(err)),
		    0);
		assert_int_equal(o.read_only, cases[i].want);
	}
}

static void
test_errors(void **state)
{
	static const struct {
		const char *text;
		int line;
		const char *says;
	} cases[] = {
		{ "frobnicate 1\n", 1, "unknown setting \"frobnicate\"" },
		{ "# c\nserial\n", 2, "serial needs a value" },
		{ "serial \"\"\n", 1, "serial needs a value" },
		{ "read-only maybe\n", 1, "must be yes or no, not \"maybe\"" },
		{ "encoding 9bit\n", 1, "auto, 7bit or 8bit" },
		{ "host-key /a\nhost-key /b\n", 2, "given twice (first on "
		    "line 1)" },
		{ "insecure yes\n", 1, "only be given on the command line" },
		{ "insecure\n", 1, "only be given on the command line" },
		{ "allow info,reboot\n", 1, "unknown operation \"reboot\"" },
		{ "allow ,\n", 1, "names no operation" },
		{ "serial /dev/a /dev/b\n", 1, "takes one value" },
		{ "host-key \"/a\n", 1, "unterminated quote" },
		{ "host-key \"/a\"b\n", 1, "after a closing quote" },
		{ "host-key /a\"b\"\n", 1, "quote inside a word" },
		{ "serial /dev/ttyS0\nlisten tcp:1\n", 2, "only one of serial "
		    "and listen" },
	};
	struct agent_options o;
	char err[512], want[64];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_conf(cases[i].text, 0600);
		memset(&o, 0, sizeof(o));
		err[0] = '\0';
		assert_int_equal(conf_load(path, true, &o, err, sizeof(err)),
		    -1);
		snprintf(want, sizeof(want), "%s:%d: ", path, cases[i].line);
		print_message("# %s\n", err);
		assert_non_null(strstr(err, want));
		assert_non_null(strstr(err, cases[i].says));
		/* A bad file changes nothing, not even its good lines. */
		assert_true(opts_are_zero(&o));
	}
}

static void
test_long_line(void **state)
{
	struct agent_options o;
	char err[512], *text;

	assert_non_null(text = malloc(6000));
	memset(text, 'x', 5998);
	memcpy(text, "serial ", 7);
	text[5998] = '\n';
	text[5999] = '\0';
	write_conf(text, 0600);
	free(text);
	memset(&o, 0, sizeof(o));
	assert_int_equal(conf_load(path, true, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":1: line longer than"));
	assert_true(opts_are_zero(&o));
}

/* The command line has already set some fields: the file fills the rest. */
static void
test_command_line_wins(void **state)
{
	static const char *cmdline_allow[] = { "get", NULL };
	struct agent_options o, before;
	char err[512];

	write_conf("listen tcp:127.0.0.1:4000\n"
	    "listen-ssh 2222\n"
	    "host-key /file/key\n"
	    "authorized-keys /file/ak\n"
	    "allow info\n"
	    "read-only no\n"
	    "encoding 8bit\n"
	    "debug-file /file/debug\n", 0600);
	memset(&o, 0, sizeof(o));
	o.serial = "/dev/ttyUSB0";
	o.host_key = "/cmdline/key";
	o.allow = cmdline_allow;
	o.read_only = true;
	o.encoding = LL_ENC_7BIT;
	before = o;
	assert_int_equal(conf_load(path, true, &o, err, sizeof(err)), 0);
	/* The command line chose the transport; the file's is dropped. */
	assert_string_equal(o.serial, "/dev/ttyUSB0");
	assert_null(o.listen);
	assert_string_equal(o.host_key, "/cmdline/key");
	assert_ptr_equal(o.allow, cmdline_allow);
	assert_true(o.read_only);
	assert_int_equal(o.encoding, LL_ENC_7BIT);
	/* Unset ones come from the file. */
	assert_string_equal(o.listen_ssh, "2222");
	assert_string_equal(o.authorized_keys, "/file/ak");
	assert_string_equal(o.debug_file, "/file/debug");
	free_loaded(&o, &before);

	/* --stdio counts as a transport choice too. */
	o.stdio = true;
	assert_int_equal(conf_load(path, true, &o, err, sizeof(err)), 0);
	assert_null(o.listen);
	assert_null(o.serial);
	assert_string_equal(o.listen_ssh, "2222");
	free_loaded(&o, &none);

	/* Nothing on the command line: the file's transport is taken. */
	memset(&o, 0, sizeof(o));
	assert_int_equal(conf_load(path, true, &o, err, sizeof(err)), 0);
	assert_string_equal(o.listen, "tcp:127.0.0.1:4000");
	assert_false(o.read_only);
	assert_int_equal(o.encoding, LL_ENC_8BIT);
	free_loaded(&o, &none);
}

static void
test_missing_file(void **state)
{
	struct agent_options o;
	char err[512] = "", missing[sizeof(dir) + 32];

	snprintf(missing, sizeof(missing), "%s/nonexistent.conf", dir);
	memset(&o, 0, sizeof(o));
	assert_int_equal(conf_load(missing, false, &o, err, sizeof(err)), 0);
	assert_true(opts_are_zero(&o));
	assert_int_equal(conf_load(missing, true, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, missing));
	assert_non_null(strstr(err, "No such file"));
}

static void
test_permissions(void **state)
{
	struct agent_options o;
	char err[512];

	write_conf("serial /dev/ttyS0\n", 0664);
	memset(&o, 0, sizeof(o));
	assert_int_equal(conf_load(path, false, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "writable by group or others"));
	assert_true(opts_are_zero(&o));

	write_conf("serial /dev/ttyS0\n", 0602);
	assert_int_equal(conf_load(path, false, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "writable by group or others"));

	/* A directory is not a configuration file, even when optional. */
	assert_int_equal(conf_load(dir, false, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));

	write_conf("serial /dev/ttyS0\n", 0644);
	assert_int_equal(conf_load(path, false, &o, err, sizeof(err)), 0);
	assert_string_equal(o.serial, "/dev/ttyS0");
	free_loaded(&o, &none);
}

static void
test_owner(void **state)
{
	struct agent_options o;
	char err[512];

	if (geteuid() != 0) {
		skip();
		return;
	}
	write_conf("serial /dev/ttyS0\n", 0644);
	assert_int_equal(chown(path, 65534, 65534), 0);
	memset(&o, 0, sizeof(o));
	assert_int_equal(conf_load(path, false, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not owned by root"));
	assert_true(opts_are_zero(&o));
}

static void
test_parse_allow(void **state)
{
	const char **list = NULL;
	char err[128];

	assert_int_equal(conf_parse_allow("put", &list, err, sizeof(err)), 0);
	assert_string_equal(list[0], "put");
	assert_null(list[1]);
	free(list);
	assert_int_equal(conf_parse_allow(" exec\tget , info,,", &list, err,
	    sizeof(err)), 0);
	assert_string_equal(list[0], "exec");
	assert_string_equal(list[1], "get");
	assert_string_equal(list[2], "info");
	assert_null(list[3]);
	free(list);
	list = NULL;
	assert_int_equal(conf_parse_allow("info,ex\001ec", &list, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "unknown operation \"ex?ec\"");
	assert_null(list);
	assert_int_equal(conf_parse_allow("", &list, err, sizeof(err)), -1);
	assert_null(list);
}

static int
setup(void **state)
{
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	unlink(path);
	return rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_file),
		cmocka_unit_test(test_booleans),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_command_line_wins),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_permissions),
		cmocka_unit_test(test_owner),
		cmocka_unit_test(test_parse_allow),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, setup, teardown);
}
