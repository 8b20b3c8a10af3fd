/*
 * A main() for the fuzz targets without libFuzzer: each file named on the
 * command line, or each file of each directory named, is given once to
 * LLVMFuzzerTestOneInput.  `make check` links every target with this and
 * replays its seed corpus and every crash ever found (tests/data/fuzz/NAME),
 * so a fixed defect stays fixed under gcc too.  With no argument it
 * replays $top_srcdir/tests/data/fuzz/FUZZ_NAME.  Output is TAP, one test
 * per input; a target reports a broken property by abort(), which stops
 * the run and fails it after the name of the input has been printed.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

#ifndef FUZZ_NAME
#define FUZZ_NAME "unknown"
#endif

#define REPLAY_MAX	4096

static char *replay_paths[REPLAY_MAX];
static int replay_count;

static int
replay_add(const char *path)
{
	if (replay_count == REPLAY_MAX) {
		fprintf(stderr, "replay: more than %d inputs\n", REPLAY_MAX);
		return -1;
	}
	if ((replay_paths[replay_count] = strdup(path)) == NULL)
		return -1;
	replay_count++;
	return 0;
}

/* path, or every file in it when it is a directory, in name order. */
static int
replay_collect(const char *path)
{
	struct dirent **names;
	struct stat st;
	char sub[4096];
	int n, i, rc = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: %s: no such file or directory\n",
		    path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return replay_add(path);
	if ((n = scandir(path, &names, NULL, alphasort)) < 0) {
		fprintf(stderr, "replay: cannot list %s\n", path);
		return -1;
	}
	for (i = 0; i < n; i++) {
		snprintf(sub, sizeof(sub), "%s/%s", path, names[i]->d_name);
		if (names[i]->d_name[0] != '.' && stat(sub, &st) == 0 &&
		    S_ISREG(st.st_mode) && replay_add(sub) != 0)
			rc = -1;
		free(names[i]);
	}
	free(names);
	return rc;
}

/* The whole file, in a buffer of exactly its size (so ASan sees a read
 * past the end, as under libFuzzer).  NULL on error. */
static uint8_t *
replay_read(const char *path, size_t *size)
{
	uint8_t *buf = NULL;
	long len;
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc(len > 0 ? (size_t)len : 1)) != NULL &&
	    fread(buf, 1, (size_t)len, f) == (size_t)len) {
		*size = (size_t)len;
		fclose(f);
		return buf;
	}
	free(buf);
	fclose(f);
	return NULL;
}

int
main(int argc, char **argv)
{
	const char *top = getenv("top_srcdir");
	char dir[4096];
	uint8_t *buf;
	size_t size;
	int i, fails = 0;

	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	if (argc < 2) {
		snprintf(dir, sizeof(dir), "%s/tests/data/fuzz/%s",
		    top != NULL ? top : ".", FUZZ_NAME);
		if (replay_collect(dir) != 0)
			return 1;
	}
	for (i = 1; i < argc; i++)
		if (replay_collect(argv[i]) != 0)
			return 1;
	if (replay_count == 0) {
		fprintf(stderr, "replay: no inputs\n");
		return 1;
	}
	printf("1..%d\n", replay_count);
	fflush(stdout);
	for (i = 0; i < replay_count; i++) {
		fprintf(stderr, "replay %s: %s\n", FUZZ_NAME, replay_paths[i]);
		if ((buf = replay_read(replay_paths[i], &size)) == NULL) {
			printf("not ok %d - %s: cannot read it\n", i + 1,
			    replay_paths[i]);
			fails++;
			continue;
		}
		LLVMFuzzerTestOneInput(buf, size);
		free(buf);
		printf("ok %d - fuzz-%s holds on %s\n", i + 1, FUZZ_NAME,
		    strrchr(replay_paths[i], '/') != NULL ?
		    strrchr(replay_paths[i], '/') + 1 : replay_paths[i]);
		fflush(stdout);
	}
	return fails > 0;
}
