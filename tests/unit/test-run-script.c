/*
 * Unit tests for the splitter of `lifeline run` scripts
 * (client/run-script.c): words, quotes and backslashes as sh reads them,
 * $NAME and ${NAME} from the environment (never split), comments,
 * continuations and the line each command starts on; what a script may
 * not hold is an error naming its line, and leaves nothing behind;
 * run_print_word writes a word that reads back as itself.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "run-script.h"

static struct run_script
parsed(const char *text)
{
	struct run_script sc = { .name = "test" };
	char err[256];

	if (run_parse(&sc, text, strlen(text), err, sizeof(err)) != 0)
		fail_msg("run_parse(\"%s\"): %s", text, err);
	return sc;
}

/* The error for text (n bytes), which must be refused. */
static const char *
refused(const char *text, size_t n)
{
	static char err[256];
	struct run_script sc = { .name = "test" };

	assert_int_equal(run_parse(&sc, text, n, err, sizeof(err)), -1);
	assert_null(sc.steps);
	assert_int_equal(sc.nsteps, 0);
	return err;
}

#define REFUSED(lit)	refused(lit, sizeof(lit) - 1)

static void
assert_step(const struct run_script *sc, size_t i, int line, int argc, ...)
{
	va_list ap;
	int j;

	assert_true(i < sc->nsteps);
	assert_int_equal(sc->steps[i].line, line);
	assert_int_equal(sc->steps[i].argc, argc);
	va_start(ap, argc);
	for (j = 0; j < argc; j++)
		assert_string_equal(sc->steps[i].argv[j], va_arg(ap, char *));
	va_end(ap);
	assert_null(sc->steps[i].argv[argc]);
}

static void
test_words_and_lines(void **state)
{
	struct run_script sc;

	(void)state;
	sc = parsed("# rescue\n\nmount  /dev/sda3\t/mnt\r\n"
	    "passwd root --stdin   # comment\n"
	    "exec -- ls \\\n  -l /\n"
	    "reboot -y");
	assert_int_equal(sc.nsteps, 4);
	assert_step(&sc, 0, 3, 3, "mount", "/dev/sda3", "/mnt");
	assert_step(&sc, 1, 4, 3, "passwd", "root", "--stdin");
	/* a continuation: one command, on the line it starts */
	assert_step(&sc, 2, 5, 5, "exec", "--", "ls", "-l", "/");
	/* no newline at the end */
	assert_step(&sc, 3, 7, 2, "reboot", "-y");
	run_script_free(&sc);
}

static void
test_quotes(void **state)
{
	struct run_script sc;

	(void)state;
	sc = parsed("put 'a b' \"c d\" e\\ f '' \"\" x'y'\"z\" 'it''s'\n"
	    "exec -- sh -c \"echo \\\"\\$HOME\\\" \\\\ \\n\"\n"
	    "get 'line\none'\n");
	assert_step(&sc, 0, 1, 8, "put", "a b", "c d", "e f", "", "", "xyz",
	    "its");
	/* inside "...": \" \$ \\ escaped, \n is two characters */
	assert_step(&sc, 1, 2, 5, "exec", "--", "sh", "-c",
	    "echo \"$HOME\" \\ \\n");
	/* a quoted newline: one word, and the line count goes on */
	assert_step(&sc, 2, 3, 2, "get", "line\none");
	run_script_free(&sc);
	sc = parsed("'a'\nb");
	assert_step(&sc, 1, 2, 1, "b");
	run_script_free(&sc);
}

static void
test_expansion(void **state)
{
	struct run_script sc;

	(void)state;
	setenv("LL_TEST_DIR", "/srv/my data", 1);
	setenv("LL_TEST_EMPTY", "", 1);
	sc = parsed("get $LL_TEST_DIR/f ${LL_TEST_DIR}x \"$LL_TEST_DIR\" "
	    "'$LL_TEST_DIR' $LL_TEST_EMPTY \"$LL_TEST_EMPTY\" a$ $\n");
	/* never split; single quotes keep it; an empty unquoted value is no
	 * word, a quoted one is; a lone $ is itself */
	assert_step(&sc, 0, 1, 8, "get", "/srv/my data/f", "/srv/my datax",
	    "/srv/my data", "$LL_TEST_DIR", "", "a$", "$");
	run_script_free(&sc);
	unsetenv("LL_TEST_DIR");
	unsetenv("LL_TEST_EMPTY");
}

static void
test_refused(void **state)
{
	(void)state;
	unsetenv("LL_TEST_UNSET");
	assert_string_equal(REFUSED("ok\nget $LL_TEST_UNSET\n"),
	    "line 2: $LL_TEST_UNSET is not set");
	assert_non_null(strstr(REFUSED("ls | wc\n"),
	    "line 1: unquoted '|'"));
	assert_non_null(strstr(REFUSED("a\nb > c\n"), "line 2: unquoted '>'"));
	assert_non_null(strstr(REFUSED("a; b"), "unquoted ';'"));
	assert_non_null(strstr(REFUSED("x $(id)"),
	    "line 1: command substitution ($(...))"));
	assert_non_null(strstr(REFUSED("x \"`id`\""),
	    "command substitution (`...`)"));
	assert_string_equal(REFUSED("x ${1}"), "line 1: only $NAME and "
	    "${NAME} expansions are supported");
	assert_string_equal(REFUSED("x $?"), "line 1: only $NAME and "
	    "${NAME} expansions are supported");
	/* an unterminated quote names the line it opened on */
	assert_string_equal(REFUSED("a\nb 'c\nd\n"),
	    "line 2: unterminated single quote");
	assert_string_equal(REFUSED("\"c\n"),
	    "line 1: unterminated double quote");
	assert_string_equal(REFUSED("x \\"),
	    "line 1: a backslash at the end of the script");
	assert_string_equal(REFUSED("a\nx\0y\n"), "line 2: a NUL byte");
}

static void
test_check(void **state)
{
	struct run_script sc;
	char err[256];

	(void)state;
	sc = parsed("info\n--json disks\n");
	assert_int_equal(run_check(&sc, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "line 2: a line starts with a command, "
	    "not an option"));
	run_script_free(&sc);
	sc = parsed("info\n\nrun other.ll\n");
	assert_int_equal(run_check(&sc, err, sizeof(err)), -1);
	assert_string_equal(err, "line 3: run cannot be used inside a script");
	run_script_free(&sc);
	sc = parsed("info\nexec -- run\n");
	assert_int_equal(run_check(&sc, err, sizeof(err)), 0);
	run_script_free(&sc);
}

/* What run_print_word writes reads back as the same word. */
static void
test_print_word(void **state)
{
	static const char *const words[] = {
		"plain", "/dev/sda3", "", "a b", "it's", "$HOME", "\"q\"",
		"back\\slash", "tab\there", "new\nline", "#not-a-comment",
		"semi;colon", NULL
	};
	struct run_script sc = { .name = "test" };
	char *text = NULL, err[256];
	size_t len = 0, i;
	FILE *f;

	(void)state;
	assert_non_null(f = open_memstream(&text, &len));
	for (i = 0; words[i] != NULL; i++) {
		run_print_word(f, words[i]);
		fputc(' ', f);
	}
	fclose(f);
	assert_int_equal(run_parse(&sc, text, len, err, sizeof(err)), 0);
	assert_int_equal(sc.nsteps, 1);
	for (i = 0; words[i] != NULL; i++)
		assert_string_equal(sc.steps[0].argv[i], words[i]);
	assert_int_equal(sc.steps[0].argc, (int)i);
	run_script_free(&sc);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_words_and_lines),
		cmocka_unit_test(test_quotes),
		cmocka_unit_test(test_expansion),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_print_word),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
