/*
 * libFuzzer target for the operations' argument checks (agent/args.c):
 * the input is the JSON "args" object of a request, as it arrives from a
 * client, and every getter is asked for its argument ("path", "dest",
 * "user", "fstype", "options", "n", "flag", "s", "device", "argv").  Accepted
 * paths are then opened the way operations open them, below a scratch
 * target root that holds symlinks out of it ("..", absolute, a magic link).
 *
 * args.c reports a refusal with request_error() and keeps decoded
 * arguments with request_keep(), both in server.c, which needs the whole
 * agent; here stand-ins record the error and keep the strings until the
 * input is done (the only mocks: what is tested is args.c).  Device tags (UUID=...) make libblkid scan every
 * block device, too slow to fuzz; device paths are checked.
 *
 * Properties checked (abort() on violation):
 *  - each getter either accepts (and no error was sent) or refuses with
 *    exactly one error, a known code and a message naming the argument;
 *  - what is accepted has the promised form: strings without NUL bytes and
 *    within their cap, absolute paths, user names that cannot break an
 *    etc/passwd line (no ':', '/', blank or line end), filesystem types of
 *    [a-z0-9._-], printable options, integers in range, block devices,
 *    an argv of 1 to 4 whole strings with a program first;
 *  - an accepted path opened in the target never resolves outside it.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "args.h"
#include "msg.h"
#include "scratch.h"
#include "target.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int errors;
static char last_code[32], last_msg[8192];

int
request_error(struct request *r, const char *code, const char *fmt, ...)
{
	va_list ap;

	(void)r;
	errors++;
	snprintf(last_code, sizeof(last_code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* Stand-in for server.c's request_keep: what args.c decoded is owned by
 * the request until it ends; here until the input is done. */
static char *kept[64];
static int nkept;

bool
request_keep(struct request *r, char *p)
{
	(void)r;
	if (nkept == 64) {
		free(p);
		return false;
	}
	kept[nkept++] = p;
	return true;
}

static char root[4096];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	scratch_make("args");
	scratch_mk("root", NULL);
	scratch_mk("root/etc", NULL);
	scratch_mk("root/home", NULL);
	scratch_mk("root/up", "../..");
	scratch_mk("root/abs", "/");
	scratch_mk("root/etc/shadow", "/etc/shadow");
	scratch_mk("root/magic", "/proc/self/root");
	scratch_mk("root/home/esc", "../../../");
	scratch_path(root, sizeof(root), "root");
	if (target_set_root(root) != 0)
		abort();
	return 0;
}

/* One getter's outcome: rc 0 with no error, or -1 with exactly one. */
static void
check_outcome(int rc, int before, const char *name)
{
	static const char *const codes[] = { LL_EC_BAD_REQUEST,
	    LL_EC_NOT_FOUND, LL_EC_INTERNAL, NULL };
	int i;

	if (rc == 0) {
		if (errors != before)
			abort();
		return;
	}
	if (rc != -1 || errors != before + 1 || last_msg[0] == '\0')
		abort();
	for (i = 0; codes[i] != NULL && strcmp(codes[i], last_code); i++)
		;
	if (codes[i] == NULL)
		abort();
	if (name != NULL && strstr(last_msg, name) == NULL)
		abort();
}

/* An accepted path opened below the target root stays inside it. */
static void
check_confined(const char *path)
{
	char link[64], out[8192];
	size_t rl = strlen(root);
	ssize_t n;
	int fd;

	if ((fd = target_open(path, O_PATH, 0, false)) < 0)
		return;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, out, sizeof(out) - 1);
	close(fd);
	if (n < 0)
		abort();
	out[n] = '\0';
	if (strncmp(out, root, rl) != 0 || (out[rl] != '/' && out[rl] != '\0'))
		abort();
}

static void
check_strings(json_t *args)
{
	const char *s;
	int before, rc;

	before = errors;
	rc = arg_string(NULL, args, "s", false, 64, &s);
	check_outcome(rc, before, "\"s\"");
	if (rc == 0 && s != NULL && (strlen(s) > 64 ||
	    strlen(s) != json_string_length(json_object_get(args, "s"))))
		abort();

	before = errors;
	rc = arg_path(NULL, args, "path", true, &s);
	check_outcome(rc, before, "\"path\"");
	if (rc == 0) {
		if (s == NULL || !path_is_valid(s))
			abort();
		check_confined(s);
	}
	before = errors;
	rc = arg_path(NULL, args, "dest", false, &s);
	check_outcome(rc, before, "\"dest\"");
	if (rc == 0 && s != NULL) {
		if (!path_is_valid(s))
			abort();
		check_confined(s);
	}

	before = errors;
	rc = arg_user(NULL, args, "user", false, &s);
	check_outcome(rc, before, "\"user\"");
	if (rc == 0 && s != NULL && (!name_is_valid_user(s) ||
	    strpbrk(s, ":/ \t\r\n") != NULL || strlen(s) > 32 || s[0] == '-'))
		abort();

	before = errors;
	rc = arg_fstype(NULL, args, "fstype", false, &s);
	check_outcome(rc, before, "\"fstype\"");
	if (rc == 0 && s != NULL && (s[0] == '\0' || strlen(s) > 31 ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789._-") != strlen(s)))
		abort();

	before = errors;
	rc = arg_options(NULL, args, "options", &s);
	check_outcome(rc, before, "\"options\"");
	if (rc == 0 && s != NULL) {
		const char *p;

		if (strlen(s) > 1024)
			abort();
		for (p = s; *p != '\0'; p++)
			if (*p <= ' ' || *p >= 0x7f)
				abort();
	}
}

/* An accepted argv: 1 to 4 strings of their JSON length, the first not
 * empty, NULL after the last. */
static void
check_argv(json_t *args)
{
	char *argv[4 + 1];
	size_t i;
	int before = errors, rc;

	rc = arg_argv(NULL, args, "argv", 4, argv);
	check_outcome(rc, before, "\"argv\"");
	if (rc != 0)
		return;
	if (argv[0] == NULL || argv[0][0] == '\0')
		abort();
	for (i = 0; argv[i] != NULL; i++) {
		if (i == 4 || strlen(argv[i]) != json_string_length(
		    json_array_get(json_object_get(args, "argv"), i)))
			abort();
	}
	if (i != json_array_size(json_object_get(args, "argv")))
		abort();
}

static void
check_scalars(json_t *args)
{
	int64_t n = 7;
	bool b;
	int before, rc;

	before = errors;
	rc = arg_int(NULL, args, "n", -5, 1000, &n);
	check_outcome(rc, before, "\"n\"");
	if (rc == 0 && (n < -5 || n > 1000))
		abort();
	before = errors;
	rc = arg_bool(NULL, args, "flag", &b);
	check_outcome(rc, before, "\"flag\"");
	if (rc == 0 && b != json_is_true(json_object_get(args, "flag")))
		abort();
}

static void
check_device(json_t *args)
{
	const char *spec = json_string_value(json_object_get(args, "device"));
	char out[4096];
	struct stat st;
	dev_t rdev;
	int before = errors, rc;

	if (spec != NULL && strchr(spec, '=') != NULL)
		return;		/* a tag: libblkid scans every device */
	rc = arg_device(NULL, args, "device", out, sizeof(out), &rdev);
	check_outcome(rc, before, NULL);
	if (rc == 0 && (stat(out, &st) != 0 || !S_ISBLK(st.st_mode) ||
	    st.st_rdev != rdev || out[0] != '/'))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *args;

	args = json_loadb((const char *)data, size, JSON_ALLOW_NUL, NULL);
	if (!json_is_object(args)) {
		json_decref(args);
		return 0;
	}
	check_strings(args);
	check_scalars(args);
	check_argv(args);
	check_device(args);
	json_decref(args);
	while (nkept > 0)
		free(kept[--nkept]);
	return 0;
}
