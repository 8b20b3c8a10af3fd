/*
 * libFuzzer target for the client's reading of agent replies, as a
 * malicious agent (or a compromised server's labels, os-release and fstab
 * text inside an honest one) would send them: the input is a JSON reply.
 * It goes through what print_reply() does for a person (reply_clean, then
 * the human printers of disks and inspect, output captured), and the
 * entries of a get's directory listing are decoded and checked as
 * cmd-get.c does ("name" or "name_base64", xfer_name_is_safe) and then
 * created in a scratch destination.
 *
 * The whole client is linked but for lifeline.c (main), whose options
 * struct is defined here zeroed (human output, as a person sees it) and
 * whose list of commands (used by attach, never reached here) is empty.
 *
 * Properties checked (abort() on violation):
 *  - after reply_clean no string of the reply holds a control character,
 *    and the printed text holds none either (no escape sequence reaches
 *    the terminal) and no "(null)" (no NULL string reaches printf);
 *  - an entry name the client accepts names exactly one new entry directly
 *    inside the destination: created with mkdirat, it is found there and
 *    nowhere else, and the scratch directory around the destination is
 *    left as it was.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "msg.h"
#include "reply.h"
#include "scratch.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct client_options client_opts;
const struct client_cmd *const client_cmds[] = { NULL };

static int destfd = -1, scratchfd = -1;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if ((scratchfd = open(scratch_make("reply"), O_RDONLY |
	    O_DIRECTORY)) < 0 || mkdirat(scratchfd, "dest", 0700) != 0 ||
	    (destfd = openat(scratchfd, "dest", O_RDONLY | O_DIRECTORY)) < 0)
		abort();
	return 0;
}

static void
check_clean(json_t *v)
{
	const char *k;
	json_t *e;
	size_t i;

	if (json_is_string(v)) {
		if (!reply_text_is_clean(json_string_value(v),
		    json_string_length(v)))
			abort();
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			check_clean(e);
	} else if (json_is_object(v)) {
		json_object_foreach(v, k, e)
			check_clean(e);
	}
}

/*
 * v with every string that holds "null" replaced by "x" (a new reference):
 * a label or fstype "null" printed in parentheses reads "(null)" too, and
 * only printf's text for a NULL string may be found by the check below.
 */
static json_t *
without_null_text(json_t *v)
{
	json_t *c, *e;
	const char *k;
	size_t i;

	if (json_is_string(v))
		return memmem(json_string_value(v), json_string_length(v),
		    "null", 4) != NULL ? json_string("x") : json_incref(v);
	if (json_is_array(v)) {
		c = json_array();
		json_array_foreach(v, i, e)
			json_array_append_new(c, without_null_text(e));
		return c;
	}
	if (json_is_object(v)) {
		c = json_object();
		json_object_foreach(v, k, e)
			json_object_set_new(c, k, without_null_text(e));
		return c;
	}
	return json_incref(v);
}

static void
check_printed(json_t *res)
{
	FILE *saved = stdout, *mem;
	char *out = NULL;
	size_t len = 0;
	json_t *shown = without_null_text(res);

	if (shown == NULL || (mem = open_memstream(&out, &len)) == NULL)
		abort();
	stdout = mem;
	disks_print(shown);
	inspect_print(shown);
	fflush(mem);
	stdout = saved;
	fclose(mem);
	if (!reply_text_is_clean(out, len) ||
	    memmem(out, len, "(null)", 6) != NULL)
		abort();
	free(out);
	json_decref(shown);
}

/* Number of entries in the directory fd (but . and ..). */
static int
count_entries(int fd)
{
	DIR *d;
	struct dirent *de;
	int n = 0, dfd;

	if ((dfd = dup(fd)) < 0 || (d = fdopendir(dfd)) == NULL)
		abort();
	rewinddir(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* An entry as get_entry_name (cmd-get.c) takes it. */
static void
check_entry(json_t *ent)
{
	struct stat st;
	size_t len;
	char *n;

	if (ll_msg_get_bytes(ent, "name", &n, &len) != 0)
		return;
	if (!xfer_name_is_safe(n, len)) {
		free(n);
		return;
	}
	if (mkdirat(destfd, n, 0700) != 0) {
		if (strlen(n) <= 255)
			abort();	/* only a name too long may fail */
		free(n);
		return;
	}
	/* One new entry, in the destination, and nothing beside it. */
	if (fstatat(destfd, n, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
	    !S_ISDIR(st.st_mode) || count_entries(destfd) != 1 ||
	    count_entries(scratchfd) != 1)
		abort();
	if (unlinkat(destfd, n, AT_REMOVEDIR) != 0)
		abort();
	free(n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *res, *e;
	size_t i;

	res = json_loadb((const char *)data, size, JSON_ALLOW_NUL, NULL);
	if (!json_is_object(res)) {
		json_decref(res);
		return 0;
	}
	reply_clean(res);
	check_clean(res);
	check_printed(res);
	json_array_foreach(json_object_get(res, "entries"), i, e)
		check_entry(e);
	json_decref(res);
	return 0;
}
