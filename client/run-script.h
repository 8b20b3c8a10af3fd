/*
 * The script of `lifeline run`, split into commands before anything runs:
 * a small shell-like splitter (quotes, backslashes, $NAME and ${NAME} from
 * the environment, # comments, \-newline continuations; no command
 * substitution, globbing, pipes or redirections, which are errors naming
 * their line).  A script may come from anyone, so the splitter checks every
 * byte; tests/fuzz/fuzz-run.c drives it.
 */
#ifndef LL_CLIENT_RUN_SCRIPT_H
#define LL_CLIENT_RUN_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* One command of the script: its words and the line it starts on. */
struct run_step {
	int line;
	int argc;
	char **argv;
};

struct run_script {
	const char *name;	/* for messages */
	struct run_step *steps;
	size_t nsteps;
};

/*
 * Split buf[0, n) into sc's commands (sc->name is kept, the rest is set).
 * 0, or -1 with a message naming the line in err (and nothing in sc).
 */
int run_parse(struct run_script *sc, const char *buf, size_t n, char *err,
    size_t errlen);
/* Commands a script may not hold (options for a command, run itself):
 * 0, or -1 with the line in err. */
int run_check(const struct run_script *sc, char *err, size_t errlen);
void run_script_free(struct run_script *sc);
/* A word as a shell would need it written: bare when safe, else in single
 * quotes; run_parse reads it back as the same word. */
void run_print_word(FILE *f, const char *s);

#endif
