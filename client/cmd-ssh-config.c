/*
 * lifeline ssh-config NAME: a Host block for ~/.ssh/config whose
 * ProxyCommand is this lifeline with the current --via (and --baud,
 * --encoding, --connect-timeout) running "proxy", so that ssh NAME, scp NAME:...,
 * sftp NAME, rsync NAME:... and Ansible reach the agent through the console.
 *
 * HostKeyAlias keeps the agent's host key in ssh's known_hosts under
 * lifeline-NAME, apart from the key the same host's sshd has on the
 * network.  The ProxyCommand is quoted for the shell ssh runs it with, and
 * its % signs doubled (ssh expands %-tokens there).
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "link.h"

/* s in single quotes for sh, with ' and % made safe; to f. */
static void
print_quoted(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s != '\0'; s++) {
		if (*s == '\'')
			fputs("'\\''", f);
		else if (*s == '%')
			fputs("%%", f);
		else
			fputc(*s, f);
	}
	fputc('\'', f);
}

/* A Host pattern ssh accepts: no blanks, quotes or pattern characters. */
static bool
name_is_ok(const char *name)
{
	if (name[0] == '\0' || name[0] == '-' || strlen(name) > 200)
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"
	    "WXYZ0123456789._-") == strlen(name);
}

static int
cmd_ssh_config(int argc, char **argv)
{
	char self[PATH_MAX];
	const char *name;
	ssize_t n;

	if (argc != 2) {
		msg_error("ssh-config: give one NAME for the Host block");
		return EXIT_USAGE;
	}
	name = argv[1];
	if (!name_is_ok(name)) {
		msg_error("ssh-config: \"%s\" is not a usable host name (letters, "
		    "digits, '.', '_' and '-' only)", name);
		return EXIT_USAGE;
	}
	if (client_opts.via == NULL) {
		msg_error("ssh-config: no path to the agent: give --via SPEC or "
		    "set LIFELINE_VIA");
		return EXIT_USAGE;
	}
	if (client_opts.insecure) {
		msg_error("ssh-config: proxy needs the SSH server inside the "
		    "link; drop --insecure");
		return EXIT_USAGE;
	}
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
		snprintf(self, sizeof(self), "lifeline");
	else
		self[n] = '\0';
	printf("Host %s\n", name);
	printf("\tUser root\n");
	printf("\tHostKeyAlias lifeline-%s\n", name);
	if (client_opts.identity != NULL) {
		printf("\tIdentityFile ");
		print_quoted(stdout, client_opts.identity);
		printf("\n\tIdentitiesOnly yes\n");
	}
	/* A console is slow: keepalives would only queue behind data. */
	printf("\tServerAliveInterval 0\n");
	printf("\tProxyCommand ");
	print_quoted(stdout, self);
	printf(" --via ");
	print_quoted(stdout, client_opts.via);
	if (client_opts.baud != 0)
		printf(" --baud %u", client_opts.baud);
	if (client_opts.encoding == LL_ENC_7BIT)
		printf(" --encoding 7bit");
	else if (client_opts.encoding == LL_ENC_8BIT)
		printf(" --encoding 8bit");
	if (client_opts.timeout_ms != 0)
		printf(" --connect-timeout %d",
		    (client_opts.timeout_ms + 999) / 1000);
	printf(" proxy\n");
	return EXIT_OK;
}

const struct client_cmd cmd_ssh_config_entry = {
	.name = "ssh-config",
	.operands = "NAME",
	.summary = "print a Host block for ~/.ssh/config that uses proxy",
	.run = cmd_ssh_config,
};
