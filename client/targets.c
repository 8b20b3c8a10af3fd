/*
 * Named targets: `lifeline -t web7 COMMAND` takes its path and settings from
 * a Target block of ~/.config/lifeline/config ($XDG_CONFIG_HOME) or, when
 * that file has none of that name, /etc/lifeline/config, in the spirit of
 * ssh_config:
 *
 *	# the web server's console, through the console server
 *	Target web7
 *	    via telnet://consoles.example.net:2007?baud=115200
 *	    identity ~/.ssh/rescue
 *	    host-key-fingerprint SHA256:...
 *	    encoding 7bit
 *
 * A setting's keyword is the long name of the global option it stands for
 * (only those marked CMD_OPT_CONFIG), and its value is read by the same
 * code as the option's argument.  The command line wins: a setting is used
 * only when its option was not given (options.c knows which were).
 * Keywords are case-insensitive ("Target", "target"); a bad line is an
 * error naming the file and line, and nothing runs.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client.h"

#define TARGETS_LINE_MAX	1024
#define LL_SYSCONF_CONFIG	"/etc/lifeline/config"

/* The files, most personal first; *n set to how many. */
static void
targets_files(char paths[2][1024], int *n)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");

	*n = 0;
	if (xdg != NULL && xdg[0] == '/')
		snprintf(paths[(*n)++], 1024, "%s/lifeline/config", xdg);
	else if (home != NULL && home[0] == '/')
		snprintf(paths[(*n)++], 1024, "%s/.config/lifeline/config",
		    home);
	snprintf(paths[(*n)++], 1024, "%s", LL_SYSCONF_CONFIG);
}

/* Split a line into keyword and value (both trimmed); false if blank. */
static bool
targets_split(char *line, char **key, char **val)
{
	char *p = line, *end;

	line[strcspn(line, "\r\n")] = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '#')
		return false;
	*key = p;
	p += strcspn(p, " \t=");
	if (*p != '\0')
		*p++ = '\0';
	while (*p == ' ' || *p == '\t' || *p == '=')
		p++;
	end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	*val = p;
	return true;
}

/*
 * The values of the settings applied: client_opts may point into them for
 * the rest of the process (or not, when the command line won), so they are
 * kept here, reachable, rather than left to leak.
 */
static char **targets_values;
static size_t targets_nvalues;

/* "~/x" as $HOME/x, in a new string kept in targets_values. */
static char *
targets_expand(const char *v)
{
	const char *home = getenv("HOME");
	char **grown, *s;

	if (strncmp(v, "~/", 2) == 0 && home != NULL) {
		if (asprintf(&s, "%s/%s", home, v + 2) < 0)
			return NULL;
	} else if ((s = strdup(v)) == NULL) {
		return NULL;
	}
	if ((grown = reallocarray(targets_values, targets_nvalues + 1,
	    sizeof(*grown))) == NULL) {
		free(s);
		return NULL;
	}
	targets_values = grown;
	targets_values[targets_nvalues++] = s;
	return s;
}

/*
 * Read one file: with name, apply the settings of its block (*found set);
 * without, print every target's name.  0, or EXIT_USAGE with a message.
 */
static int
targets_read(const char *path, const char *name, bool *found)
{
	char line[TARGETS_LINE_MAX], *key, *val, *v;
	bool in = false;
	int lineno = 0, rc = 0;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL)
		return 0;
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (!targets_split(line, &key, &val))
			continue;
		if (strcasecmp(key, "target") == 0 ||
		    strcasecmp(key, "host") == 0) {
			if (val[0] == '\0' || strpbrk(val, " \t") != NULL) {
				msg_error("%s:%d: %s needs one name", path,
				    lineno, key);
				rc = EXIT_USAGE;
			} else if (name == NULL)
				printf("%s\n", val);
			in = name != NULL && !*found &&
			    strcmp(val, name) == 0;
			*found = *found || in;
			continue;
		}
		if (!in)
			continue;
		if ((v = targets_expand(val)) == NULL) {
			msg_error("out of memory");
			rc = EXIT_USAGE;
			break;
		}
		if ((rc = client_global_setting(key, v)) != 0) {
			msg_error("%s:%d: in target %s: %s", path, lineno,
			    name, rc == -2 ? "not a setting here (the "
			    "long name of a global option, such as via)" :
			    "that value was refused");
			rc = EXIT_USAGE;
		}
	}
	fclose(f);
	return rc;
}

int
targets_apply(const char *name)
{
	char paths[2][1024];
	bool found = false;
	int n, i, rc;

	targets_files(paths, &n);
	for (i = 0; i < n && !found; i++) {
		if ((rc = targets_read(paths[i], name, &found)) != 0)
			return rc;
	}
	if (!found) {
		msg_error("-t %s: no Target %s in %s%s%s", name, name,
		    paths[0], n > 1 ? " or " : "", n > 1 ? paths[1] : "");
		return EXIT_USAGE;
	}
	return 0;
}

int
targets_list(void)
{
	char paths[2][1024];
	bool found = false;
	int n, i, rc;

	targets_files(paths, &n);
	for (i = 0; i < n; i++) {
		if ((rc = targets_read(paths[i], NULL, &found)) != 0)
			return rc;
	}
	return 0;
}
