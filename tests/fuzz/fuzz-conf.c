/*
 * libFuzzer target for lifelined.conf (agent/conf.c): the input is written
 * to a file in a private directory (conf_load reads a path, and checks the
 * file's owner and mode as sshd's StrictModes) and loaded.
 *
 * conf.c checks allow-lists with server_find_op(), which lives in
 * server.c among the whole agent; here a table of the operation names
 * stands in for it (the only mock: what is tested is conf.c's parsing).
 *
 * Properties checked (abort() on violation):
 *  - a refused file leaves the options untouched and the error names the
 *    file ("PATH:LINE: ..." or "PATH: ...");
 *  - an accepted file round trips: writing the options it set back as a
 *    file (values quoted, \ and " escaped) and loading that gives the same
 *    options.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "conf.h"
#include "scratch.h"
#include "link.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct agent_op fake_ops[] = {
	{ .name = "info" }, { .name = "ping" }, { .name = "exec" },
	{ .name = "disks" }, { .name = "inspect" }, { .name = "mount" },
	{ .name = "umount" }, { .name = "passwd" }, { .name = "fsck" },
	{ .name = "get" }, { .name = "put" }, { .name = "reboot" },
	{ .name = NULL },
};

const struct agent_op *
server_find_op(const char *name)
{
	const struct agent_op *op;

	for (op = fake_ops; op->name != NULL; op++)
		if (strcmp(op->name, name) == 0)
			return op;
	return NULL;
}

static char path[4096];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	scratch_make("conf");
	scratch_path(path, sizeof(path), "lifelined.conf");
	return 0;
}

static void
write_file(const char *p, size_t n)
{
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0 ||
	    write(fd, p, n) != (ssize_t)n || close(fd) != 0)
		abort();
}

#define NSTR	7

static const char *const str_names[NSTR] = { "serial", "listen",
    "listen-ssh", "host-key", "authorized-keys", "debug-file",
    "target-root" };

static const char **
str_field(struct agent_options *o, int i)
{
	const char **f[NSTR] = { &o->serial, &o->listen, &o->listen_ssh,
	    &o->host_key, &o->authorized_keys, &o->debug_file,
	    &o->target_root };

	return f[i];
}

static void
free_options(struct agent_options *o)
{
	int i;

	for (i = 0; i < NSTR; i++)
		free((char *)*str_field(o, i));
	free(o->allow);
	memset(o, 0, sizeof(*o));
}

/* o written back as a file; false when a line would be too long. */
static bool
write_back(struct agent_options *o, char *out, size_t size)
{
	size_t n = 0, i;
	const char *s;
	int k;

	out[0] = '\0';
	for (k = 0; k < NSTR; k++) {
		if ((s = *str_field(o, k)) == NULL)
			continue;
		if (2 * strlen(s) + 32 > 4000)
			return false;
		n += (size_t)snprintf(out + n, size - n, "%s \"",
		    str_names[k]);
		for (; *s != '\0'; s++) {
			if (*s == '\\' || *s == '"')
				out[n++] = '\\';
			out[n++] = *s;
		}
		n += (size_t)snprintf(out + n, size - n, "\"\n");
	}
	if (o->allow != NULL) {
		n += (size_t)snprintf(out + n, size - n, "allow");
		for (i = 0; o->allow[i] != NULL; i++)
			n += (size_t)snprintf(out + n, size - n, "%s%s",
			    i == 0 ? " " : ",", o->allow[i]);
		n += (size_t)snprintf(out + n, size - n, "\n");
	}
	if (o->read_only)
		n += (size_t)snprintf(out + n, size - n, "read-only yes\n");
	if (o->encoding != LL_ENC_AUTO)
		n += (size_t)snprintf(out + n, size - n, "encoding %s\n",
		    o->encoding == LL_ENC_7BIT ? "7bit" : "8bit");
	return n < size;
}

static void
check_same(struct agent_options *a, struct agent_options *b)
{
	size_t i;
	int k;

	for (k = 0; k < NSTR; k++) {
		const char *x = *str_field(a, k), *y = *str_field(b, k);

		if ((x == NULL) != (y == NULL) || (x != NULL && strcmp(x, y)))
			abort();
	}
	if ((a->allow == NULL) != (b->allow == NULL))
		abort();
	for (i = 0; a->allow != NULL && a->allow[i] != NULL; i++)
		if (b->allow[i] == NULL || strcmp(a->allow[i], b->allow[i]))
			abort();
	if (a->allow != NULL && b->allow[i] != NULL)
		abort();
	if (a->read_only != b->read_only || a->encoding != b->encoding)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct agent_options none;
	struct agent_options o, o2;
	char err[512], *text;
	size_t tsize = 8 * 4096 + 1024;

	memset(&o, 0, sizeof(o));
	write_file((const char *)data, size);
	err[0] = '\0';
	if (conf_load(path, true, &o, err, sizeof(err)) != 0) {
		if (memcmp(&o, &none, sizeof(o)) != 0 ||
		    strncmp(err, path, strlen(path)) != 0 ||
		    (err[strlen(path)] != ':'))
			abort();
		return 0;
	}
	if (o.serial != NULL && o.listen != NULL)
		abort();
	if ((text = malloc(tsize)) == NULL)
		abort();
	if (write_back(&o, text, tsize)) {
		write_file(text, strlen(text));
		memset(&o2, 0, sizeof(o2));
		if (conf_load(path, true, &o2, err, sizeof(err)) != 0)
			abort();
		check_same(&o, &o2);
		free_options(&o2);
	}
	free(text);
	free_options(&o);
	return 0;
}
