/*
 * The command entries at work.  Every subcommand is one struct client_cmd
 * (client.h), the way tmux's cmd-*.c files each export a cmd_entry: its
 * option table is the only place its options are written down, so the
 * getopt_long() spec, the usage line of an error, `lifeline help NAME`,
 * `lifeline NAME --help` and the shell completion are all made from it and
 * cannot drift apart.
 *
 * client_dispatch() reads a command's options once before it runs: a bad
 * option or a missing argument is reported here, with the usage line, and
 * --help is answered here, so run functions only see options they know.
 * Options may follow operands (GNU permutation) except after "--", and
 * except for commands whose first operand starts a command of its own
 * (exec, attach: CMD_STOP_AT_OPERAND).
 *
 * Help is wrapped to 80 columns: a serial console is 80x24.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

#define HELP_WIDTH	80	/* columns of a serial console */
#define HELP_OPT_COL	24	/* where option descriptions start */
#define HELP_NBSP	'\1'	/* a blank that help_wrap never breaks at */

/* --help, which every command takes. */
static const struct cmd_option cmd_help_option = {
	"help", CMD_HELP_VAL, 0, NULL, "show this help"
};

const struct client_cmd *
cmd_find(const char *name)
{
	size_t i;

	for (i = 0; client_cmds[i] != NULL; i++) {
		if (strcmp(client_cmds[i]->name, name) == 0)
			return client_cmds[i];
	}
	return NULL;
}

static size_t
cmd_option_count(const struct cmd_option *opts)
{
	size_t n = 0;

	while (opts != NULL && opts[n].help != NULL)
		n++;
	return n;
}

static const struct cmd_option *cmd_option_by_val(
    const struct cmd_option *opts, int val);

/* Append one option to a getopt spec being built. */
static void
spec_add(struct option *lo, size_t *k, char *shortopts, size_t len,
    size_t *pos, const struct cmd_option *o, int val, bool with_short)
{
	if (o->name != NULL) {
		lo[*k].name = o->name;
		lo[*k].has_arg = o->arg != NULL ? required_argument :
		    no_argument;
		lo[*k].flag = NULL;	/* lo may be fresh from reallocarray */
		lo[*k].val = val;
		(*k)++;
	}
	if (with_short && (o->flags & CMD_OPT_SHORT) && *pos + 3 < len) {
		shortopts[(*pos)++] = (char)o->val;
		if (o->arg != NULL)
			shortopts[(*pos)++] = ':';
		shortopts[*pos] = '\0';
	}
}

int
cmd_getopt_spec(const struct cmd_option *opts, const char *prefix,
    struct option **longopts, char *shortopts, size_t len)
{
	size_t n = cmd_option_count(opts), i, k = 0, pos;
	struct option *lo;

	if ((lo = calloc(n + 2, sizeof(*lo))) == NULL)
		return -1;
	pos = (size_t)snprintf(shortopts, len, "%s", prefix);
	for (i = 0; i < n; i++)
		spec_add(lo, &k, shortopts, len, &pos, &opts[i], opts[i].val,
		    true);
	lo[k].name = cmd_help_option.name;
	lo[k].val = cmd_help_option.val;
	/* -h too, where the table does not use the letter itself */
	if (cmd_option_by_val(opts, 'h') == NULL && pos + 1 < len) {
		shortopts[pos++] = 'h';
		shortopts[pos] = '\0';
	}
	*longopts = lo;
	return 0;
}

/* Does a command option already take this long name or letter? */
static bool
cmd_option_taken(const struct cmd_option *opts, const struct cmd_option *g,
    bool short_form)
{
	size_t i, n = cmd_option_count(opts);

	if (!short_form && strcmp(g->name, cmd_help_option.name) == 0)
		return true;
	for (i = 0; i < n; i++) {
		if (short_form ? opts[i].val == g->val : (opts[i].name !=
		    NULL && strcmp(opts[i].name, g->name) == 0))
			return true;
	}
	return false;
}

/*
 * A command's spec: its own options and --help, then the global options
 * whose name or letter it does not use itself (its own win: exec
 * --timeout, ping -i).  A global long option returns CMD_GLOBAL_VAL + its
 * index; a global short one its letter, listed in gshort.
 */
static int
cmd_spec_with_globals(const struct client_cmd *e, struct option **longopts,
    char *shortopts, size_t len, char *gshort, size_t glen)
{
	const struct cmd_option *g = client_global_options;
	size_t n = cmd_option_count(e->options), i, k, pos, gp = 0;
	struct option *lo;

	if (cmd_getopt_spec(e->options, (e->flags & CMD_STOP_AT_OPERAND) ?
	    "+:" : ":", &lo, shortopts, len) != 0)
		return -1;
	pos = strlen(shortopts);
	for (k = 0; k <= n && lo[k].name != NULL; k++)
		;
	if ((lo = reallocarray(lo, k + cmd_option_count(g) + 1,
	    sizeof(*lo))) == NULL)
		return -1;
	gshort[0] = '\0';
	for (i = 0; g[i].help != NULL; i++) {
		if (g[i].flags & CMD_OPT_NOT_IN_CMD)
			continue;
		if (g[i].name != NULL && !cmd_option_taken(e->options, &g[i],
		    false))
			spec_add(lo, &k, shortopts, len, &pos, &g[i],
			    CMD_GLOBAL_VAL + (int)i, false);
		if ((g[i].flags & CMD_OPT_SHORT) &&
		    !cmd_option_taken(e->options, &g[i], true) &&
		    gp + 1 < glen) {
			spec_add(lo, &k, shortopts, len, &pos, &(struct
			    cmd_option){ NULL, g[i].val, CMD_OPT_SHORT,
			    g[i].arg, g[i].help }, g[i].val, true);
			gshort[gp++] = (char)g[i].val;
			gshort[gp] = '\0';
		}
	}
	memset(&lo[k], 0, sizeof(lo[k]));
	*longopts = lo;
	return 0;
}

/* The global option that getopt returned as ch, or NULL. */
static const struct cmd_option *
cmd_global_of(int ch, const char *gshort)
{
	const struct cmd_option *g = client_global_options;
	size_t i;

	if (ch >= CMD_GLOBAL_VAL &&
	    (size_t)(ch - CMD_GLOBAL_VAL) < cmd_option_count(g))
		return &g[ch - CMD_GLOBAL_VAL];
	if (ch > 0 && ch < 256 && strchr(gshort, ch) != NULL) {
		for (i = 0; g[i].help != NULL; i++) {
			if (g[i].val == ch)
				return &g[i];
		}
	}
	return NULL;
}

/* Set while client_dispatch reads the options: global ones apply then. */
static bool cmd_applying_globals;

int
cmd_getopt(const struct client_cmd *e, int argc, char **argv)
{
	static const struct client_cmd *cached;
	static struct option *longopts;
	static char shortopts[256], gshort[32];
	const struct cmd_option *g;
	int ch;

	if (cached != e) {
		free(longopts);
		longopts = NULL;
		cached = NULL;
		if (cmd_spec_with_globals(e, &longopts, shortopts,
		    sizeof(shortopts), gshort, sizeof(gshort)) != 0)
			return '?';
		cached = e;
	}
	opterr = 0;
	for (;;) {
		ch = getopt_long(argc, argv, shortopts, longopts, NULL);
		if (ch == 'h' && cmd_option_by_val(e->options, 'h') == NULL)
			return CMD_HELP_VAL;
		if ((g = cmd_global_of(ch, gshort)) == NULL)
			return ch;
		if (cmd_applying_globals &&
		    client_global_apply(g, g->arg != NULL ? optarg : NULL) != 0)
			return CMD_GLOBAL_ERR;
	}
}

/* The option of opts that getopt returned as val, or NULL. */
static const struct cmd_option *
cmd_option_by_val(const struct cmd_option *opts, int val)
{
	size_t i, n = cmd_option_count(opts);

	for (i = 0; i < n; i++) {
		if (opts[i].val == val)
			return &opts[i];
	}
	return NULL;
}

void
cmd_option_error(const char *who, const struct cmd_option *opts, int argc,
    char **argv, int ch)
{
	const struct cmd_option *o;
	const char *word = optind > 0 && optind <= argc ? argv[optind - 1] :
	    "?";
	char pfx[64];

	snprintf(pfx, sizeof(pfx), "%s%s", who != NULL ? who : "",
	    who != NULL ? ": " : "");
	if (ch == ':') {
		o = cmd_option_by_val(opts, optopt);
		if (o != NULL && o->name != NULL &&
		    strncmp(word, "--", 2) == 0)
			msg_error("%s--%s needs an argument (%s)", pfx,
			    o->name, o->arg);
		else
			msg_error("%s-%c needs an argument", pfx, optopt);
	} else if (optopt != 0 && strncmp(word, "--", 2) != 0)
		msg_error("%sunknown option -%c", pfx, optopt);
	else
		msg_error("%sunknown option \"%s\"", pfx, word);
}

/*
 * Print text at column col, wrapped at HELP_WIDTH; later lines start at
 * indent.  Returns nothing; a word longer than a line goes on one line.
 */
static void
help_wrap(FILE *f, size_t col, size_t indent, const char *text)
{
	const char *p = text, *sp;
	size_t wl;
	bool first = true;

	while (*p != '\0') {
		if (*p == '\n') {
			fprintf(f, "\n%*s", (int)indent, "");
			col = indent;
			first = true;
			p++;
			continue;
		}
		while (*p == ' ')
			p++;
		sp = p + strcspn(p, " \n");
		wl = (size_t)(sp - p);
		if (!first && col + 1 + wl > HELP_WIDTH) {
			fprintf(f, "\n%*s", (int)indent, "");
			col = indent;
			first = true;
		}
		if (!first) {
			fputc(' ', f);
			col++;
		}
		for (const char *q = p; q < sp; q++)
			fputc(*q == HELP_NBSP ? ' ' : *q, f);
		col += wl;
		first = false;
		p = sp;
	}
	fputc('\n', f);
}

/* The synopsis after the name: each option, then the operands. */
static char *
cmd_synopsis(const struct client_cmd *e)
{
	size_t i, n = cmd_option_count(e->options), len = 0;
	char *s;
	FILE *f;

	if ((f = open_memstream(&s, &len)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		const struct cmd_option *o = &e->options[i];

		if (o->flags & CMD_OPT_HIDDEN)
			continue;
		if (o->name != NULL)
			fprintf(f, "[--%s%s%s] ", o->name, o->arg != NULL ?
			    "\1" : "", o->arg != NULL ? o->arg : "");
		else
			fprintf(f, "[-%c%s%s] ", o->val, o->arg != NULL ?
			    "\1" : "", o->arg != NULL ? o->arg : "");
	}
	if (e->operands != NULL)
		fputs(e->operands, f);
	fclose(f);
	/* no trailing blank */
	while (len > 0 && s[len - 1] == ' ')
		s[--len] = '\0';
	return s;
}

/* "usage: lifeline NAME SYNOPSIS", wrapped below the name. */
static void
cmd_usage_line(FILE *f, const char *lead, const struct client_cmd *e)
{
	char *syn = cmd_synopsis(e);
	size_t col;

	col = (size_t)fprintf(f, "%s%s", lead, e->name);
	if (syn != NULL && syn[0] != '\0') {
		fputc(' ', f);
		help_wrap(f, col + 1, col + 1, syn);
	} else
		fputc('\n', f);
	free(syn);
}

int
cmd_usage_error(const struct client_cmd *e)
{
	cmd_usage_line(stderr, "usage: lifeline ", e);
	fprintf(stderr, "(lifeline help %s: what each option does)\n",
	    e->name);
	return EXIT_USAGE;
}

/* One option's line: "  -o, --options OPTS   what it does". */
static void
help_option(FILE *f, const struct cmd_option *o)
{
	char left[80];
	int n;

	if (o->flags & CMD_OPT_HIDDEN)
		return;
	if (o->name == NULL)
		n = snprintf(left, sizeof(left), "  -%c%s%s", o->val,
		    o->arg != NULL ? " " : "", o->arg != NULL ? o->arg : "");
	else if (o->flags & CMD_OPT_SHORT)
		n = snprintf(left, sizeof(left), "  -%c, --%s%s%s", o->val,
		    o->name, o->arg != NULL ? " " : "",
		    o->arg != NULL ? o->arg : "");
	else
		n = snprintf(left, sizeof(left), "      --%s%s%s", o->name,
		    o->arg != NULL ? " " : "", o->arg != NULL ? o->arg : "");
	fputs(left, f);
	if (n + 2 > HELP_OPT_COL) {
		fprintf(f, "\n%*s", HELP_OPT_COL, "");
		n = HELP_OPT_COL;
	} else {
		fprintf(f, "%*s", HELP_OPT_COL - n, "");
		n = HELP_OPT_COL;
	}
	help_wrap(f, (size_t)n, HELP_OPT_COL, o->help);
}

static void
help_options(FILE *f, const struct cmd_option *opts, bool with_help)
{
	size_t i, n = cmd_option_count(opts);

	struct cmd_option h = cmd_help_option;

	for (i = 0; i < n; i++)
		help_option(f, &opts[i]);
	if (cmd_option_by_val(opts, 'h') == NULL) {
		h.val = 'h';
		h.flags |= CMD_OPT_SHORT;
	}
	if (with_help)
		help_option(f, &h);
}

static void
help_top(FILE *f)
{
	size_t i;

	fprintf(f, "usage: lifeline [OPTION...] COMMAND [ARG...]\n"
	    "       lifeline help [COMMAND]\n\n");
	help_wrap(f, 0, 0, "Drive a lifelined agent through a serial "
	    "console, a console gateway or its SSH listener.  Options may "
	    "also follow the command's operands, but not \"--\".");
	fprintf(f, "\noptions:\n");
	help_options(f, client_global_options, false);
	fprintf(f, "\ncommands:\n");
	for (i = 0; client_cmds[i] != NULL; i++) {
		cmd_usage_line(f, "  ", client_cmds[i]);
		fputs("      ", f);
		help_wrap(f, 6, 6, client_cmds[i]->summary);
	}
	fprintf(f, "\nlifeline help COMMAND (or lifeline COMMAND --help) tells "
	    "what each option of\nCOMMAND does; lifeline(1) has the rest.\n");
}

void
cmd_help(FILE *f, const struct client_cmd *e)
{
	if (e == NULL) {
		help_top(f);
		return;
	}
	cmd_usage_line(f, "usage: lifeline ", e);
	fputc('\n', f);
	help_wrap(f, 0, 0, e->summary);
	if (e->help != NULL) {
		fputc('\n', f);
		help_wrap(f, 0, 0, e->help);
	}
	fprintf(f, "\noptions:\n");
	help_options(f, e->options, true);
	fprintf(f, "\nThe global options (lifeline --help) may come before or "
	    "after %s.\n", e->name);
}

/*
 * Read e's options once before it runs: 0 to run it, EXIT_USAGE after a
 * bad option (reported), -1 after --help (answered).
 */
static int
cmd_check_options(const struct client_cmd *e, int argc, char **argv)
{
	int ch;

	if (e->flags & CMD_OWN_ARGS) {
		if (argc == 2 && strcmp(argv[1], "--help") == 0) {
			cmd_help(stdout, e);
			return -1;
		}
		return 0;
	}
	optind = 0;
	cmd_applying_globals = true;
	while ((ch = cmd_getopt(e, argc, argv)) != -1) {
		if (ch == CMD_HELP_VAL) {
			cmd_help(stdout, e);
			break;
		}
		if (ch == CMD_GLOBAL_ERR) {
			ch = EXIT_USAGE;
			break;
		}
		if (ch == '?' || ch == ':') {
			cmd_option_error(e->name, e->options, argc, argv, ch);
			ch = cmd_usage_error(e);
			break;
		}
	}
	cmd_applying_globals = false;
	optind = 0;
	return ch == -1 ? 0 : ch == CMD_HELP_VAL ? -1 : ch;
}

/*
 * Every command that talks to the agent needs a path: without one it is a
 * usage error (2), the same for every command, before anything runs.
 */
static int
cmd_check_via(const struct client_cmd *e)
{
	if (client_opts.via == NULL) {
		msg_error("%s: no path to the agent: give --via SPEC, -t NAME "
		    "or set LIFELINE_VIA", e->name);
		return EXIT_USAGE;
	}
	if (client_opts.via[0] == '\0') {
		msg_error("%s: no path given: %s is empty", e->name,
		    client_opts.via_from != NULL ? client_opts.via_from :
		    "--via");
		return EXIT_USAGE;
	}
	return 0;
}

int
client_dispatch(int argc, char **argv)
{
	const struct client_cmd *e;
	int rc;

	if ((e = cmd_find(argv[0])) == NULL) {
		msg_error("unknown command \"%s\" (lifeline help lists them)",
		    argv[0]);
		return EXIT_USAGE;
	}
	if ((rc = cmd_check_options(e, argc, argv)) != 0)
		return rc < 0 ? EXIT_OK : rc;
	if (!(e->flags & CMD_NO_VIA) && (rc = cmd_check_via(e)) != 0)
		return rc;
	return e->run(argc, argv);
}
