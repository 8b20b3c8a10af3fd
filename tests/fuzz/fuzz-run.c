/*
 * libFuzzer target for the script splitter of `lifeline run`
 * (client/run-script.c), with a few variables set in the environment
 * ($HOST, $EMPTY, $SPACED, $QUOTE).
 *
 * Properties checked (abort() on violation):
 *  - a refused script leaves no commands and the error names a line that
 *    exists ("line N: ...");
 *  - an accepted script's commands have at least one word each, lines in
 *    increasing order within the script, and words without NUL bytes;
 *  - it round trips: writing every word back with run_print_word (the
 *    quoting the client shows) and splitting that gives the same commands.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run-script.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("HOST", "web-1", 1);
	setenv("EMPTY", "", 1);
	setenv("SPACED", "a b\tc\nd", 1);
	setenv("QUOTE", "it's \"$HOST\" \\", 1);
	return 0;
}

static void
check_same(const struct run_script *a, const struct run_script *b)
{
	size_t i;
	int j;

	if (a->nsteps != b->nsteps)
		abort();
	for (i = 0; i < a->nsteps; i++) {
		if (a->steps[i].argc != b->steps[i].argc)
			abort();
		for (j = 0; j < a->steps[i].argc; j++)
			if (strcmp(a->steps[i].argv[j], b->steps[i].argv[j]))
				abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run_script sc = { "fuzz", NULL, 0 }, sc2 = { "fuzz", NULL, 0 };
	char err[512], *text = NULL;
	size_t i, tlen = 0, lines = 1;
	int j, prev = 0, line;
	FILE *f;

	for (i = 0; i < size; i++)
		lines += data[i] == '\n';
	if (run_parse(&sc, (const char *)data, size, err, sizeof(err)) != 0) {
		if (sc.steps != NULL || sc.nsteps != 0 ||
		    sscanf(err, "line %d: ", &line) != 1 || line < 1 ||
		    (size_t)line > lines)
			abort();
		return 0;
	}
	if ((f = open_memstream(&text, &tlen)) == NULL)
		abort();
	for (i = 0; i < sc.nsteps; i++) {
		const struct run_step *st = &sc.steps[i];

		if (st->argc < 1 || st->argv[st->argc] != NULL ||
		    st->line < prev || st->line < 1 ||
		    (size_t)st->line > lines)
			abort();
		prev = st->line;
		for (j = 0; j < st->argc; j++) {
			if (j > 0)
				fputc(' ', f);
			run_print_word(f, st->argv[j]);
		}
		fputc('\n', f);
	}
	fclose(f);
	if (run_parse(&sc2, text, tlen, err, sizeof(err)) != 0)
		abort();
	check_same(&sc, &sc2);
	(void)run_check(&sc, err, sizeof(err));
	run_script_free(&sc2);
	run_script_free(&sc);
	free(text);
	return 0;
}
