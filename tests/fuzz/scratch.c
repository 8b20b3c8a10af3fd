/*
 * The fuzz targets' scratch directory (scratch.h).  Removal runs `rm -rf`
 * in a child at exit: the targets leave symlinks to / and /etc in it, and
 * a hand-written recursive removal that followed one would be a disaster;
 * rm -rf never follows them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scratch.h"

static char scratch[64];

static void
scratch_remove(void)
{
	char *argv[] = { "rm", "-rf", scratch, NULL };
	pid_t pid;

	if ((pid = fork()) == 0) {
		execvp("rm", argv);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

const char *
scratch_make(const char *name)
{
	if ((size_t)snprintf(scratch, sizeof(scratch), "/tmp/fuzz-%s.XXXXXX",
	    name) >= sizeof(scratch) || mkdtemp(scratch) == NULL)
		abort();
	atexit(scratch_remove);
	return scratch;
}

const char *
scratch_path(char *buf, size_t len, const char *rel)
{
	if ((size_t)snprintf(buf, len, "%s/%s", scratch, rel) >= len)
		abort();
	return buf;
}

void
scratch_mk(const char *rel, const char *link)
{
	char p[4096];

	scratch_path(p, sizeof(p), rel);
	if (link != NULL ? symlink(link, p) != 0 : mkdir(p, 0755) != 0)
		abort();
}
