/*
 * lifeline passwd: set, clear, lock, unlock or expire a user's password in
 * the target's etc/shadow.
 *
 * A new password never leaves this machine: lifeline asks the agent for the
 * target's evidence (passwd-info: login.defs, the methods of the hashes
 * already there), chooses the method from it, makes the hash here with
 * libxcrypt, wipes the plaintext and sends only the hash.  The agent's reply
 * lists what may still keep the user from logging in, which is shown.
 */
#include "config.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "reply.h"

#define PASSWD_MAX	1024	/* longest password read */
#define PASSWD_TRIES	3	/* a mismatch is asked again, as passwd(1) */

enum { A_NONE, A_PASSWORD, A_STDIN, A_HASH, A_CLEAR, A_LOCK, A_UNLOCK,
    A_EXPIRE };

struct passwd_method {
	char prefix[8];
	const char *name;
	unsigned long count;	/* crypt_gensalt's cost; 0 = its default */
	char reason[256];
};

static const struct {
	const char *defs;	/* login.defs ENCRYPT_METHOD */
	const char *prefix;
	const char *name;
} passwd_methods[] = {
	{ "YESCRYPT", "$y$", "yescrypt" },
	{ "GOST_YESCRYPT", "$gy$", "gost-yescrypt" },
	{ "SHA512", "$6$", "sha512crypt" },
	{ "SHA256", "$5$", "sha256crypt" },
	{ "BCRYPT", "$2b$", "bcrypt" },
	{ "MD5", "$1$", "md5crypt" },
	{ NULL, NULL, NULL }
};

static const char *
passwd_name_of(const char *prefix)
{
	int i;

	for (i = 0; passwd_methods[i].prefix != NULL; i++)
		if (strcmp(passwd_methods[i].prefix, prefix) == 0)
			return passwd_methods[i].name;
	return NULL;
}

static long
passwd_def_long(json_t *defs, const char *key)
{
	const char *v = json_string_value(json_object_get(defs, key));
	char *end;
	long n;

	if (v == NULL)
		return -1;
	n = strtol(v, &end, 10);
	return *end == '\0' && n >= 0 ? n : -1;
}

/* The most used usable method among the target's other hashes. */
static const char *
passwd_common(json_t *others, bool allow_md5)
{
	const char *k, *best = NULL;
	json_int_t most = 0;
	json_t *v;

	json_object_foreach(others, k, v) {
		if (passwd_name_of(k) == NULL ||
		    (!allow_md5 && strcmp(k, "$1$") == 0))
			continue;
		if (json_integer_value(v) > most) {
			most = json_integer_value(v);
			best = k;
		}
	}
	return best;
}

/*
 * The method, from the target's evidence: login.defs ENCRYPT_METHOD, else
 * the user's current hash, else the other hashes, else yescrypt.  MD5 only
 * when nothing better is in evidence.
 */
static void
passwd_choose(json_t *info, struct passwd_method *m)
{
	json_t *defs = json_object_get(info, "login_defs");
	json_t *others = json_object_get(info, "others");
	const char *em = json_string_value(json_object_get(defs,
	    "ENCRYPT_METHOD"));
	const char *cur = json_string_value(json_object_get(
	    json_object_get(info, "current"), "prefix"));
	const char *user = json_string_value(json_object_get(info, "user"));
	const char *p = NULL, *better;
	long lo, hi;
	int i;

	m->reason[0] = '\0';
	if (em != NULL) {
		for (i = 0; passwd_methods[i].defs != NULL; i++)
			if (strcasecmp(em, passwd_methods[i].defs) == 0)
				p = passwd_methods[i].prefix;
		if (p != NULL && strcmp(p, "$1$") == 0 &&
		    ((better = passwd_common(others, false)) != NULL ||
		    (cur != NULL && passwd_name_of(cur) != NULL &&
		    strcmp((better = cur), "$1$") != 0))) {
			snprintf(m->reason, sizeof(m->reason), "the target's "
			    "login.defs says ENCRYPT_METHOD MD5, which is "
			    "weak, and its etc/shadow already uses %s",
			    passwd_name_of(better));
			p = better;
		} else if (p != NULL)
			snprintf(m->reason, sizeof(m->reason), "the target's "
			    "login.defs sets ENCRYPT_METHOD %s", em);
	}
	if (p == NULL && cur != NULL && passwd_name_of(cur) != NULL &&
	    strcmp(cur, "$1$") != 0) {
		p = cur;
		snprintf(m->reason, sizeof(m->reason), "%sthe current hash "
		    "of %s uses it", em != NULL ? "ENCRYPT_METHOD is not one "
		    "lifeline knows and " : "login.defs sets no "
		    "ENCRYPT_METHOD and ", user != NULL ? user : "the user");
	}
	if (p == NULL && ((p = passwd_common(others, false)) != NULL ||
	    (p = passwd_common(others, true)) != NULL ||
	    (cur != NULL && strcmp(cur, "$1$") == 0 && (p = cur) != NULL)))
		snprintf(m->reason, sizeof(m->reason), "login.defs sets no "
		    "usable ENCRYPT_METHOD and the other hashes in the "
		    "target's etc/shadow use it");
	if (p == NULL) {
		p = "$y$";
		snprintf(m->reason, sizeof(m->reason), "the target shows no "
		    "method (login.defs, etc/shadow): yescrypt is current "
		    "distributions' default");
	}
	snprintf(m->prefix, sizeof(m->prefix), "%s", p);
	m->name = passwd_name_of(p);
	m->count = 0;
	if (strcmp(p, "$y$") == 0 || strcmp(p, "$gy$") == 0) {
		hi = passwd_def_long(defs, "YESCRYPT_COST_FACTOR");
		if (hi >= 1 && hi <= 11)
			m->count = (unsigned long)hi;
	} else if (strcmp(p, "$6$") == 0 || strcmp(p, "$5$") == 0) {
		lo = passwd_def_long(defs, "SHA_CRYPT_MIN_ROUNDS");
		hi = passwd_def_long(defs, "SHA_CRYPT_MAX_ROUNDS");
		if (hi < lo)
			hi = lo;
		if (hi >= 1000)
			m->count = (unsigned long)hi;
	} else if (strcmp(p, "$2b$") == 0) {
		lo = passwd_def_long(defs, "BCRYPT_MIN_ROUNDS");
		hi = passwd_def_long(defs, "BCRYPT_MAX_ROUNDS");
		if (hi < lo)
			hi = lo;
		if (hi >= 4 && hi <= 31)
			m->count = (unsigned long)hi;
	}
}

static volatile sig_atomic_t passwd_sig;

static void
passwd_on_signal(int sig)
{
	passwd_sig = sig;
}

/* Read a line from the terminal without echo.  0, or -1 with a message. */
static int
passwd_prompt(int fd, const char *prompt, char *buf, size_t len)
{
	struct termios old, noecho;
	struct sigaction sa, oint, oterm, ohup;
	size_t n = 0;
	int rc = 0;
	char c;

	if (tcgetattr(fd, &old) != 0) {
		msg_error("passwd: cannot use the terminal: %s",
		    strerror(errno));
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = passwd_on_signal;
	sigemptyset(&sa.sa_mask);
	passwd_sig = 0;
	sigaction(SIGINT, &sa, &oint);
	sigaction(SIGTERM, &sa, &oterm);
	sigaction(SIGHUP, &sa, &ohup);
	noecho = old;
	noecho.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
	noecho.c_lflag |= ICANON;
	tcsetattr(fd, TCSAFLUSH, &noecho);
	if (write(fd, prompt, strlen(prompt)) < 0)
		rc = -1;
	while (rc == 0) {
		ssize_t r = read(fd, &c, 1);

		if (r < 0 && errno == EINTR && passwd_sig == 0)
			continue;
		if (r <= 0) {
			rc = -1;
			break;
		}
		if (c == '\n' || c == '\r')
			break;
		if (n + 1 < len)
			buf[n++] = c;
	}
	buf[n] = '\0';
	c = 0;
	tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) < 0)
		rc = -1;
	sigaction(SIGINT, &oint, NULL);
	sigaction(SIGTERM, &oterm, NULL);
	sigaction(SIGHUP, &ohup, NULL);
	if (rc != 0) {
		explicit_bzero(buf, len);
		msg_error("passwd: %s", passwd_sig != 0 ? "interrupted" :
		    "no password read from the terminal");
	}
	return rc;
}

/* The new password: twice from /dev/tty, or one line of stdin. */
static int
passwd_read(int action, const char *user, char *pw, size_t len)
{
	static const char mismatch[] = "The passwords do not match; try "
	    "again.\n";
	char again[PASSWD_MAX], prompt[128];
	int fd, rc = -1, tries;

	if (action == A_STDIN) {
		size_t n = 0;
		int c;

		while ((c = getchar()) != EOF && c != '\n')
			if (n + 1 < len)
				pw[n++] = (char)c;
		pw[n] = '\0';
		if (n > 0 && pw[n - 1] == '\r')
			pw[--n] = '\0';
		if (n == 0 && c == EOF) {
			msg_error("passwd: no password on stdin");
			return -1;
		}
		return 0;
	}
	if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
		msg_error("passwd: --password needs a terminal (/dev/tty: %s); "
		    "use --stdin or --hash", strerror(errno));
		return -1;
	}
	snprintf(prompt, sizeof(prompt), "New password for %s in the target: ",
	    user);
	/* A typo is asked again, as passwd(1) does, PASSWD_TRIES times. */
	for (tries = 1; rc != 0 && tries <= PASSWD_TRIES; tries++) {
		if (passwd_prompt(fd, prompt, pw, len) != 0 ||
		    passwd_prompt(fd, "Retype the new password: ", again,
		    sizeof(again)) != 0)
			goto out;
		if (strcmp(pw, again) == 0)
			rc = 0;
		else if (tries < PASSWD_TRIES &&
		    write(fd, mismatch, sizeof(mismatch) - 1) < 0)
			goto out;
	}
	if (rc != 0)
		msg_error("passwd: the passwords did not match %d times; "
		    "nothing was changed", PASSWD_TRIES);
out:
	explicit_bzero(again, sizeof(again));
	close(fd);
	return rc;
}

/* The hash of pw with method m into out.  0 or -1 with a message. */
static int
passwd_hash(const char *pw, const struct passwd_method *m, char *out,
    size_t len)
{
	struct crypt_data *cd;
	char *setting, *h;
	int rc = -1;

	setting = crypt_gensalt_ra(m->prefix, m->count, NULL, 0);
	if (setting == NULL) {
		msg_error("passwd: libxcrypt cannot make %s salts: %s",
		    m->name, strerror(errno));
		return -1;
	}
	if ((cd = calloc(1, sizeof(*cd))) == NULL) {
		free(setting);
		msg_error("passwd: out of memory");
		return -1;
	}
	h = crypt_r(pw, setting, cd);
	if (h == NULL || h[0] == '*' || strlen(h) >= len)
		msg_error("passwd: hashing with %s failed", m->name);
	else {
		snprintf(out, len, "%s", h);
		rc = 0;
	}
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	free(setting);
	return rc;
}

/* An already made hash: libxcrypt must know its method. */
static int
passwd_check_hash(const char *hash)
{
	struct crypt_data *cd;
	char *h;
	int ok;

	if (hash[0] == '\0' || strpbrk(hash, ":\n\r !*") != NULL) {
		msg_error("passwd: \"%s\" is not a crypt(3) hash (use --clear "
		    "or --lock for empty or locked fields)", hash);
		return -1;
	}
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return -1;
	h = crypt_r("lifeline-probe", hash, cd);
	ok = h != NULL && h[0] != '*' && hash[0] == '$';
	free(cd);
	if (!ok) {
		msg_error("passwd: \"%s\" is not a hash of a method libxcrypt "
		    "knows (like $y$..., $6$...)", hash);
		return -1;
	}
	return 0;
}

static void
passwd_show(json_t *res, const char *user)
{
	const char *action = json_string_value(json_object_get(res, "action"));
	json_t *b = json_object_get(res, "blockers"), *v;
	bool changed = json_is_true(json_object_get(res, "changed"));
	static const struct {
		const char *action, *done, *already;
	} words[] = {
		{ "set", "set", "already that hash" },
		{ "clear", "cleared (empty)", "already empty" },
		{ "lock", "locked", "already locked" },
		{ "unlock", "unlocked", "not locked" },
		{ "expire", "expired (a change is asked at the next login)",
		  "already expired" },
	};
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (action == NULL || strcmp(words[i].action, action) != 0)
			continue;
		if (changed)
			printf("password of %s %s in the target's etc/shadow; "
			    "the previous file is etc/shadow-\n", user,
			    words[i].done);
		else
			printf("password of %s %s: nothing changed\n", user,
			    words[i].already);
	}
	/* the new password's age starts today (shadow's last-change day) */
	if (json_is_integer(json_object_get(res, "lastchg")) &&
	    json_integer_value(json_object_get(res, "lastchg")) > 0) {
		json_int_t day = json_integer_value(json_object_get(res,
		    "lastchg"));
		time_t t = (time_t)day * 86400;
		struct tm tm;
		char date[32] = "?";

		if (gmtime_r(&t, &tm) != NULL)
			strftime(date, sizeof(date), "%Y-%m-%d", &tm);
		printf("last password change: %s (day %lld)\n", date,
		    (long long)day);
	}
	if (json_array_size(b) > 0) {
		printf("what may still block a login:\n");
		json_array_foreach(b, i, v)
			printf("  - %s\n", reply_str(v));
	}
}

static const struct cmd_option passwd_options[] = {
	{ "password", 'p', CMD_OPT_SHORT, NULL, "ask for the new password on "
	  "the terminal (twice, no echo)" },
	{ "stdin", 's', CMD_OPT_SHORT, NULL, "read the new password from the "
	  "first line of stdin" },
	{ "hash", 'H', CMD_OPT_SHORT, "HASH", "set this finished crypt(3) "
	  "hash" },
	{ "clear", 'c', CMD_OPT_SHORT, NULL, "empty the password (no password "
	  "at all)" },
	{ "lock", 'l', CMD_OPT_SHORT, NULL, "lock it (a \"!\" before the "
	  "hash)" },
	{ "unlock", 'u', CMD_OPT_SHORT, NULL, "remove that \"!\"" },
	{ "expire", 'e', CMD_OPT_SHORT, NULL, "force a password change at the "
	  "next login" },
	{ NULL, 0, 0, NULL, NULL }
};

/*
 * The command line: exactly one action, at most one USER (default root)
 * that a request can carry, a --hash that is a finished hash (into hash).
 * -1 to go on, else the exit status (said).
 */
static int
passwd_args(int argc, char **argv, int *action, const char **user,
    char *hash, size_t hashlen)
{
	const char *hash_arg = NULL;
	int ch, nactions = 0;
	json_t *u;

	optind = 0;
	while ((ch = cmd_getopt(&cmd_passwd_entry, argc, argv)) != -1) {
		switch (ch) {
		case 'p': *action = A_PASSWORD; break;
		case 's': *action = A_STDIN; break;
		case 'H': *action = A_HASH; hash_arg = optarg; break;
		case 'c': *action = A_CLEAR; break;
		case 'l': *action = A_LOCK; break;
		case 'u': *action = A_UNLOCK; break;
		case 'e': *action = A_EXPIRE; break;
		default: return cmd_usage_error(&cmd_passwd_entry);
		}
		nactions++;
	}
	if (nactions != 1 || argc - optind > 1)
		return cmd_usage_error(&cmd_passwd_entry);
	if (optind < argc)
		*user = argv[optind];
	/* a request without its user would be about root: refuse early */
	if ((u = arg_text("passwd", "user", *user)) == NULL)
		return EXIT_USAGE;
	json_decref(u);
	hash[0] = '\0';
	if (*action == A_HASH) {
		if (passwd_check_hash(hash_arg) != 0)
			return EXIT_USAGE;
		snprintf(hash, hashlen, "%s", hash_arg);
	}
	return -1;
}

/*
 * --password, --stdin: the target's hash method (passwd-info), the
 * password read here and hashed into hash.  No session waits on a person
 * typing: with --password c is closed meanwhile and opened again.  0 with
 * c open, or the exit status with c closed (said).
 */
static int
passwd_make_hash(struct conn *c, int action, const char *user,
    struct passwd_method *m, char *hash, size_t hashlen)
{
	char pw[PASSWD_MAX];
	json_t *args, *info = NULL;
	int rc;

	if ((args = json_pack("{s:s}", "user", user)) == NULL) {
		rc = conn_set_error(c, EXIT_FAILED, "passwd: out of memory");
		goto fail;
	}
	rc = conn_call(c, "passwd-info", args, NULL, &info);
	json_decref(args);
	if (rc != 0)
		goto fail;
	passwd_choose(info, m);
	json_decref(info);
	if (!client_opts.json)
		printf("hash method: %s (%s): %s\n", m->name, m->prefix,
		    m->reason);
	fflush(stdout);
	if (action == A_PASSWORD)
		conn_close(c);
	rc = passwd_read(action, user, pw, sizeof(pw));
	if (rc == 0 && action == A_STDIN && pw[0] == '\0') {
		msg_error("passwd: the password is empty; use --clear to "
		    "remove the password");
		rc = -1;
	}
	if (rc == 0)
		rc = passwd_hash(pw, m, hash, hashlen);
	explicit_bzero(pw, sizeof(pw));
	if (rc != 0) {
		if (action != A_PASSWORD)
			conn_close(c);
		return EXIT_FAILED;
	}
	if (action == A_PASSWORD && (rc = conn_open(c)) != 0) {
		explicit_bzero(hash, hashlen);
		msg_error("%s", c->err);
		return rc;
	}
	return 0;
fail:
	msg_error("%s", c->err);
	conn_close(c);
	return rc;
}

/* The passwd request; the hash is wiped once it has gone.  0 with *res, or
 * an EXIT_* code with c->err set. */
static int
passwd_send(struct conn *c, const char *user, int action, char *hash,
    size_t hashlen, json_t **res)
{
	static const char *const action_names[] = {
		NULL, "set", "set", "set", "clear", "lock", "unlock", "expire"
	};
	json_t *args;
	int rc;

	args = json_pack("{s:s, s:s}", "user", user, "action",
	    action_names[action]);
	if (args == NULL || (hash[0] != '\0' && json_object_set_new(args,
	    "hash", json_string(hash)) != 0)) {
		json_decref(args);
		explicit_bzero(hash, hashlen);
		return conn_set_error(c, EXIT_FAILED, "passwd: out of memory");
	}
	rc = conn_call(c, "passwd", args, NULL, res);
	/* the hash lives on in args' string only until here */
	json_object_del(args, "hash");
	json_decref(args);
	explicit_bzero(hash, hashlen);
	return rc;
}

/* The result, as JSON (with the method when one was chosen) or text. */
static void
passwd_report(json_t *res, const char *user, const struct passwd_method *m)
{
	if (client_opts.json) {
		if (m != NULL)
			json_object_set_new(res, "method", json_pack(
			    "{s:s, s:s, s:s}", "name", m->name, "prefix",
			    m->prefix, "reason", m->reason));
		print_json(res);
		return;
	}
	reply_clean(res);	/* the blockers quote the target's files */
	passwd_show(res, user);
	json_decref(res);
}

static int
cmd_passwd(int argc, char **argv)
{
	struct passwd_method m;
	struct conn c;
	json_t *res = NULL;
	const char *user = "root";
	char hash[CRYPT_OUTPUT_SIZE];
	int action = A_NONE, rc;
	bool have_method;

	if ((rc = passwd_args(argc, argv, &action, &user, hash,
	    sizeof(hash))) >= 0)
		return rc;
	if ((rc = conn_open(&c)) != 0) {
		msg_error("%s", c.err);
		return rc;
	}
	have_method = action == A_PASSWORD || action == A_STDIN;
	if (have_method && (rc = passwd_make_hash(&c, action, user, &m, hash,
	    sizeof(hash))) != 0)
		return rc;
	if (action == A_CLEAR)
		msg_warn("after --clear, %s has no password at all", user);
	if ((rc = passwd_send(&c, user, action, hash, sizeof(hash),
	    &res)) != 0) {
		msg_error("%s", c.err);
		conn_close(&c);
		return rc;
	}
	conn_close(&c);
	passwd_report(res, user, have_method ? &m : NULL);
	return EXIT_OK;
}

const struct client_cmd cmd_passwd_entry = {
	.name = "passwd",
	.operands = "[USER]",
	.summary = "change a password in the target's /etc/shadow (exactly one action)",
	.help = "USER defaults to root.  The hash is made here, with the target's "
	    "method, so no password crosses the line.",
	.options = passwd_options,
	.run = cmd_passwd,
};
