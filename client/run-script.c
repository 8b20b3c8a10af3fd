/*
 * The splitter of run scripts: see run-script.h.  Words are built in a
 * growing buffer; a failure anywhere frees every word made so far, so a
 * caller sees either the whole script or an error.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "run-script.h"

/* A growing string, for a word being built. */
struct run_word {
	char *p;
	size_t len, cap;
	bool started;		/* "" is a word too */
};

static int
run_word_add(struct run_word *w, char c)
{
	char *np;

	w->started = true;
	if (w->len + 2 > w->cap) {
		size_t ncap = w->cap == 0 ? 64 : w->cap * 2;

		if ((np = realloc(w->p, ncap)) == NULL)
			return -1;
		w->p = np;
		w->cap = ncap;
	}
	w->p[w->len++] = c;
	w->p[w->len] = '\0';
	return 0;
}

static int
run_word_adds(struct run_word *w, const char *s)
{
	for (; *s != '\0'; s++)
		if (run_word_add(w, *s) != 0)
			return -1;
	return 0;
}

void
run_script_free(struct run_script *sc)
{
	size_t i;
	int j;

	for (i = 0; i < sc->nsteps; i++) {
		for (j = 0; j < sc->steps[i].argc; j++)
			free(sc->steps[i].argv[j]);
		free(sc->steps[i].argv);
	}
	free(sc->steps);
	sc->steps = NULL;
	sc->nsteps = 0;
}

static bool
run_is_name_start(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool
run_is_name(char c)
{
	return run_is_name_start(c) || (c >= '0' && c <= '9');
}

/* The splitter's position in the script, and where errors go. */
struct run_lexer {
	const char *buf;
	size_t n, i;
	int line;
	char *err;
	size_t errlen;
};

static int
run_lex_error(struct run_lexer *lx, int line, const char *what)
{
	snprintf(lx->err, lx->errlen, "line %d: %s", line, what);
	return -1;
}

/*
 * A $ at the lexer's position: append the expansion to w.  Values are never
 * split or globbed (unlike a shell's unquoted expansion), so a value with
 * spaces stays one argument.
 */
static int
run_lex_dollar(struct run_lexer *lx, struct run_word *w)
{
	static const char only[] = "only $NAME and ${NAME} expansions are "
	    "supported";
	const char *buf = lx->buf, *v;
	char name[128];
	size_t j = lx->i + 1, k = 0, n = lx->n;
	bool brace = false;

	if (j < n && buf[j] == '(')
		return run_lex_error(lx, lx->line, "command substitution "
		    "($(...)) is not allowed in a script");
	if (j < n && buf[j] == '{') {
		brace = true;
		j++;
	}
	if (j >= n || !run_is_name_start(buf[j])) {
		if (brace || (j < n && strchr("0123456789?#@*!$-", buf[j])))
			return run_lex_error(lx, lx->line, only);
		/* A lone $ stays itself, as in a shell. */
		lx->i = j;
		return run_word_add(w, '$');
	}
	while (j < n && run_is_name(buf[j])) {
		if (k + 1 >= sizeof(name))
			return run_lex_error(lx, lx->line, "variable name too "
			    "long");
		name[k++] = buf[j++];
	}
	name[k] = '\0';
	if (brace) {
		if (j >= n || buf[j] != '}')
			return run_lex_error(lx, lx->line, only);
		j++;
	}
	if ((v = getenv(name)) == NULL) {
		snprintf(lx->err, lx->errlen, "line %d: $%s is not set",
		    lx->line, name);
		return -1;
	}
	lx->i = j;
	return run_word_adds(w, v);
}

/* A double-quoted part, from its opening quote. */
static int
run_lex_dquote(struct run_lexer *lx, struct run_word *w)
{
	int qline = lx->line;
	char c;

	w->started = true;
	for (lx->i++; lx->i < lx->n && lx->buf[lx->i] != '"';) {
		c = lx->buf[lx->i];
		if (c == '`')
			return run_lex_error(lx, lx->line, "command "
			    "substitution (`...`) is not allowed in a script");
		if (c == '$') {
			if (run_lex_dollar(lx, w) != 0)
				return -1;
			continue;
		}
		/* Only these are escaped inside double quotes, as in sh. */
		if (c == '\\' && lx->i + 1 < lx->n &&
		    strchr("$`\"\\\n", lx->buf[lx->i + 1]) != NULL) {
			c = lx->buf[++lx->i];
			if (c == '\n') {
				lx->line++;
				lx->i++;
				continue;
			}
		} else if (c == '\n')
			lx->line++;
		if (run_word_add(w, c) != 0)
			return -1;
		lx->i++;
	}
	if (lx->i >= lx->n)
		return run_lex_error(lx, qline, "unterminated double quote");
	lx->i++;
	return 0;
}

/* One word, from its first character to the blank that ends it. */
static int
run_lex_word(struct run_lexer *lx, struct run_word *w)
{
	const char *buf = lx->buf;
	char c, msg[160];
	int qline;

	while (lx->i < lx->n) {
		c = buf[lx->i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			break;
		if (c == '\0')
			return run_lex_error(lx, lx->line, "a NUL byte");
		if (c == '\'') {
			qline = lx->line;
			w->started = true;
			for (lx->i++; lx->i < lx->n && buf[lx->i] != '\'';
			    lx->i++) {
				if (buf[lx->i] == '\n')
					lx->line++;
				if (run_word_add(w, buf[lx->i]) != 0)
					return -1;
			}
			if (lx->i >= lx->n)
				return run_lex_error(lx, qline,
				    "unterminated single quote");
			lx->i++;
		} else if (c == '"') {
			if (run_lex_dquote(lx, w) != 0)
				return -1;
		} else if (c == '\\') {
			if (lx->i + 1 >= lx->n)
				return run_lex_error(lx, lx->line, "a "
				    "backslash at the end of the script");
			/* backslash-newline: a continuation, also mid-word */
			if (buf[lx->i + 1] == '\n')
				lx->line++;
			else if (run_word_add(w, buf[lx->i + 1]) != 0)
				return -1;
			lx->i += 2;
		} else if (c == '`') {
			return run_lex_error(lx, lx->line, "command "
			    "substitution (`...`) is not allowed in a script");
		} else if (c == '$') {
			if (run_lex_dollar(lx, w) != 0)
				return -1;
		} else if (strchr("|&;<>()", c) != NULL) {
			snprintf(msg, sizeof(msg), "unquoted '%c': a script "
			    "has no pipes, redirections or lists (quote it, "
			    "or use exec -- sh -c '...')", c);
			return run_lex_error(lx, lx->line, msg);
		} else {
			if (run_word_add(w, c) != 0)
				return -1;
			lx->i++;
		}
	}
	return 0;
}

static int
run_push_step(struct run_script *sc, int line, char **words, int nwords)
{
	struct run_step *ns;

	ns = reallocarray(sc->steps, sc->nsteps + 1, sizeof(*ns));
	if (ns == NULL)
		return -1;
	sc->steps = ns;
	ns[sc->nsteps].line = line;
	ns[sc->nsteps].argc = nwords;
	ns[sc->nsteps].argv = words;
	sc->nsteps++;
	return 0;
}

/*
 * Split the script into commands.  0, or -1 with a message naming the line
 * in err (and nothing in sc).
 */
int
run_parse(struct run_script *sc, const char *buf, size_t n, char *err,
    size_t errlen)
{
	struct run_lexer lx = { buf, n, 0, 1, err, errlen };
	struct run_word w = { NULL, 0, 0, false };
	char **words = NULL, **nw;
	int nwords = 0, cmd_line = 0;
	char c;

	err[0] = '\0';
	for (;;) {
		/* Between words: blanks, newlines, comments, continuations. */
		while (lx.i < n) {
			c = buf[lx.i];
			if (c == ' ' || c == '\t' || c == '\r')
				lx.i++;
			else if (c == '\\' && lx.i + 1 < n &&
			    buf[lx.i + 1] == '\n') {
				lx.i += 2;
				lx.line++;
			} else if (c == '#') {
				while (lx.i < n && buf[lx.i] != '\n')
					lx.i++;
			} else if (c == '\n') {
				/* The end of a command. */
				if (nwords > 0) {
					if (run_push_step(sc, cmd_line, words,
					    nwords) != 0)
						goto fail;
					words = NULL;
					nwords = 0;
				}
				lx.i++;
				lx.line++;
			} else
				break;
		}
		if (lx.i >= n)
			break;
		if (nwords == 0)
			cmd_line = lx.line;
		if (run_lex_word(&lx, &w) != 0)
			goto fail;
		if (!w.started)
			continue;	/* an unquoted empty $VAR: no word */
		if ((nw = reallocarray(words, nwords + 2,
		    sizeof(*words))) == NULL)
			goto fail;
		words = nw;
		if ((words[nwords] = w.p != NULL ? w.p : strdup("")) == NULL)
			goto fail;
		words[++nwords] = NULL;
		memset(&w, 0, sizeof(w));
	}
	if (nwords > 0 && run_push_step(sc, cmd_line, words, nwords) != 0)
		goto fail;
	return 0;
fail:
	if (err[0] == '\0')
		snprintf(err, errlen, "out of memory");
	free(w.p);
	while (nwords > 0)
		free(words[--nwords]);
	free(words);
	run_script_free(sc);
	return -1;
}

/* Commands a script may not hold: checked before anything runs. */
int
run_check(const struct run_script *sc, char *err, size_t errlen)
{
	const struct run_step *st;
	size_t i;

	for (i = 0; i < sc->nsteps; i++) {
		st = &sc->steps[i];
		if (st->argv[0][0] == '-') {
			snprintf(err, errlen, "line %d: a line starts with a "
			    "command, not an option (global options such as "
			    "%s belong on the `lifeline run` command line)",
			    st->line, st->argv[0]);
			return -1;
		}
		if (strcmp(st->argv[0], "run") == 0) {
			snprintf(err, errlen, "line %d: run cannot be used "
			    "inside a script", st->line);
			return -1;
		}
	}
	return 0;
}

/* A word as a shell would need it written: bare when safe, else quoted. */
void
run_print_word(FILE *f, const char *s)
{
	const char *p;

	if (*s != '\0' && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_@%+=:,./-") == strlen(s)) {
		fputs(s, f);
		return;
	}
	fputc('\'', f);
	for (p = s; *p != '\0'; p++) {
		if (*p == '\'')
			fputs("'\\''", f);
		else
			fputc(*p, f);
	}
	fputc('\'', f);
}
