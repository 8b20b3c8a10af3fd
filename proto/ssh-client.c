/*
 * The client's SSH engine (ssh-client.h).
 *
 * ll_ssh_client_start() makes the plain-side socketpair and starts one
 * thread, with every signal blocked so that signals keep going to the
 * program's main thread.  The thread runs the whole session in libssh's
 * blocking mode: connect, host key check, authentication, one session
 * channel (a shell with a pty for a gateway, the "lifeline" subsystem
 * otherwise), then ll_ssh_pump() until the channel or the plain side ends.
 * It closes its end of the plain side when it finishes, so the poll loop
 * reads EOF whatever happened.  The state and the error text are guarded by
 * a mutex; ll_ssh_client_wait() sleeps on a condition variable.
 *
 * Host keys.  Gateways and listeners use OpenSSH's known_hosts (libssh's
 * ssh_session_is_known_server(), ~/.ssh/known_hosts or cfg->known_hosts);
 * the tunnel uses lifeline's own file of "LABEL SHA256:fingerprint" lines
 * (known-hosts.c), where a key filed for another console is the same agent
 * on another path (filed for this one too, and said).  The policy is the
 * same for both: a pin decides alone; a known key goes on; a changed key is
 * refused; an unknown key is added with accept_new, asked about on
 * /dev/tty when interactive, refused otherwise.  ~ is $HOME
 * (libssh itself would take the password database's home directory), so
 * that ~/.ssh here is the directory the user and the tests expect.
 *
 * Stopping.  ll_ssh_client_free() sets a flag and shuts down the SSH
 * socket, which makes whatever blocking libssh call the thread is in fail at
 * once (the pump included), then joins.  The socket is known from the start
 * in tunnel mode (cipher_fd) and, for gateways and listeners, from libssh's
 * first connect-progress callback, which comes right after the socket is
 * made; it is forgotten under the mutex before libssh closes it.  A question
 * on /dev/tty polls with a short timeout and gives up when the flag is set.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <libssh/callbacks.h>
#include <libssh/libssh.h>

#include "known-hosts.h"
#include "ssh-client.h"
#include "ssh-common.h"

#define LL_SSH_CONNECT_TIMEOUT_S	15
#define LL_SSH_ERRMAX			1024
#define LL_SSH_PATHMAX			1024

struct ll_ssh_client {
	/* configuration, copied */
	enum ll_ssh_mode mode;
	char		*host, *user, *identity, *known_hosts, *label, *pin;
	unsigned	 port;
	bool		 no_pty, accept_new, interactive;
	int		 verbose;
	bool		 shell;
	char		*term;
	int		 cols, rows;

	/* the engine thread's own */
	ssh_session	 s;
	ssh_channel	 ch;
	int		 plain;		/* engine end of the plain side */
	int		 cipher_fd;	/* tunnel: ours to close */
	struct stat	 cipher_st;	/* what cipher_fd is */
	struct ssh_callbacks_struct cb;
	struct ssh_channel_callbacks_struct chcb;	/* shell: exit */
	int		 wake[2];	/* shell: resize asked, -1 when none */
	char		 sshdir[LL_SSH_PATHMAX];	/* "" when no home */
	char		 khfile[LL_SSH_PATHMAX];	/* tunnel; "" when none */
	bool		 subsystem_pending;	/* its reply not read yet */
	bool		 has_agent;		/* SSH_AUTH_SOCK is set, not empty */

	pthread_t	 thread;
	bool		 started;

	/* shared, under mu */
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	enum ll_ssh_state state;
	char		 err[LL_SSH_ERRMAX];
	char		 fp[LL_SSH_FP_MAX];
	char		 how[LL_SSH_PATHMAX + 128];	/* how fp was checked */
	int		 sock;		/* the SSH socket, for free(); -1 */
	bool		 stop;
	int		 new_cols, new_rows;	/* shell: size to send, 0 none */
	int		 exit_status;	/* shell: -2 none, -1 signal */
	char		 exit_signal[32];
};

static void
vlog(struct ll_ssh_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
vlog(struct ll_ssh_client *c, const char *fmt, ...)
{
	va_list ap;

	if (c->verbose <= 0)
		return;
	va_start(ap, fmt);
	fputs("lifeline: ssh: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void
set_state(struct ll_ssh_client *c, enum ll_ssh_state st)
{
	pthread_mutex_lock(&c->mu);
	c->state = st;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

/* The engine failed: FAILED (or ENDED with a fault once it was ready). */
static void
fail(struct ll_ssh_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
fail(struct ll_ssh_client *c, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&c->mu);
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof c->err, fmt, ap);
	va_end(ap);
	c->state = c->state == LL_SSH_READY ? LL_SSH_ENDED : LL_SSH_FAILED;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

static bool
stopping(struct ll_ssh_client *c)
{
	bool r;

	pthread_mutex_lock(&c->mu);
	r = c->stop;
	pthread_mutex_unlock(&c->mu);
	return r;
}

/* "HOST" or "[HOST]:PORT", as OpenSSH files and names it. */
static void
host_name(struct ll_ssh_client *c, char *buf, size_t len)
{
	if (c->port == 22)
		snprintf(buf, len, "%s", c->host);
	else
		snprintf(buf, len, "[%s]:%u", c->host, c->port);
}

static const char *
home_dir(void)
{
	const char *h = getenv("HOME");
	struct passwd *pw;

	if (h != NULL && *h == '/')
		return h;
	if ((pw = getpwuid(getuid())) != NULL && pw->pw_dir != NULL)
		return pw->pw_dir;
	return NULL;
}

/* libssh's connect progress: the socket exists from the first call on. */
static void
connect_status(void *userdata, float status)
{
	struct ll_ssh_client *c = userdata;
	socket_t fd;

	(void)status;
	pthread_mutex_lock(&c->mu);
	if (c->sock == -1 && (fd = ssh_get_fd(c->s)) != SSH_INVALID_SOCKET) {
		c->sock = fd;
		if (c->stop)
			shutdown(fd, SHUT_RDWR);
	}
	pthread_mutex_unlock(&c->mu);
}

/* Forget the socket before libssh closes it. */
static void
forget_socket(struct ll_ssh_client *c)
{
	pthread_mutex_lock(&c->mu);
	c->sock = -1;
	pthread_mutex_unlock(&c->mu);
}

/* Session options and connect.  0 or -1 (failed, reason set). */
static int
session_connect(struct ll_ssh_client *c)
{
	long timeout = LL_SSH_CONNECT_TIMEOUT_S;
	int port = (int)c->port, no = 0, level, fd;
	const char *user = c->user;
	char name[300];

	if ((c->s = ssh_new()) == NULL) {
		fail(c, "ssh: out of memory");
		return -1;
	}
	c->cb.userdata = c;
	c->cb.connect_status_function = connect_status;
	ssh_callbacks_init(&c->cb);
	ssh_set_callbacks(c->s, &c->cb);
	if (c->verbose >= 3) {
		level = c->verbose >= 4 ? SSH_LOG_FUNCTIONS : SSH_LOG_PROTOCOL;
		ssh_options_set(c->s, SSH_OPTIONS_LOG_VERBOSITY, &level);
	}
	if (c->sshdir[0] != '\0' &&
	    ssh_options_set(c->s, SSH_OPTIONS_SSH_DIR, c->sshdir) != SSH_OK)
		goto bad;
	if (ssh_options_set(c->s, SSH_OPTIONS_TIMEOUT, &timeout) != SSH_OK)
		goto bad;
	if (c->mode == LL_SSH_TUNNEL) {
		/* The link is the connection: no name to resolve, and no
		 * ~/.ssh/config to apply to it. */
		if (user == NULL)
			user = "root";
		if (ssh_options_set(c->s, SSH_OPTIONS_PROCESS_CONFIG,
		    &no) != SSH_OK ||
		    ssh_options_set(c->s, SSH_OPTIONS_HOST,
		    "lifeline-agent") != SSH_OK ||
		    ll_ssh_link_algorithms(c->s, false) != SSH_OK)
			goto bad;
	} else {
		if (ssh_options_set(c->s, SSH_OPTIONS_HOST, c->host) != SSH_OK ||
		    ssh_options_set(c->s, SSH_OPTIONS_PORT, &port) != SSH_OK)
			goto bad;
		if (c->known_hosts != NULL &&
		    ssh_options_set(c->s, SSH_OPTIONS_KNOWNHOSTS,
		    c->known_hosts) != SSH_OK)
			goto bad;
	}
	if (user != NULL &&
	    ssh_options_set(c->s, SSH_OPTIONS_USER, user) != SSH_OK)
		goto bad;
	if (c->mode == LL_SSH_TUNNEL) {
		fd = c->cipher_fd;
		if (ssh_options_set(c->s, SSH_OPTIONS_FD, &fd) != SSH_OK)
			goto bad;
	}
	if (c->mode == LL_SSH_TUNNEL)
		snprintf(name, sizeof name, "%s",
		    c->label != NULL ? c->label : "the agent");
	else
		host_name(c, name, sizeof name);
	vlog(c, "connecting to %s", name);
	if (ssh_connect(c->s) != SSH_OK) {
		if (stopping(c))
			fail(c, "ssh %s: cancelled", name);
		else
			fail(c, "ssh %s: %s", name, ssh_get_error(c->s));
		return -1;
	}
	/* In tunnel mode the callback may not have run. */
	connect_status(c, 1.0f);
	return 0;
bad:
	fail(c, "ssh: cannot set options: %s", ssh_get_error(c->s));
	return -1;
}

/*
 * Ask on /dev/tty whether to trust the key.  1 yes, 0 no, -1 when no
 * terminal could be opened or the engine is being stopped.
 */
static int
ask_yes_no(struct ll_ssh_client *c, const char *question)
{
	struct pollfd pfd;
	char line[64];
	size_t n = 0;
	int fd, r = -1;
	ssize_t k;
	char ch;

	if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1)
		return -1;
	set_state(c, LL_SSH_ASKING);
	if (write(fd, question, strlen(question)) < 0)
		goto out;
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (;;) {
		if (stopping(c))
			goto out;
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		if ((k = read(fd, &ch, 1)) <= 0)
			goto out;
		if (ch != '\n' && ch != '\r') {
			if (n < sizeof line - 1)
				line[n++] = ch;
			continue;
		}
		line[n] = '\0';
		n = 0;
		if (strcasecmp(line, "yes") == 0) {
			r = 1;
			break;
		}
		if (strcasecmp(line, "no") == 0) {
			r = 0;
			break;
		}
		if (write(fd, "Please type 'yes' or 'no': ", 27) < 0)
			goto out;
	}
out:
	close(fd);
	set_state(c, LL_SSH_CONNECTING);
	return r;
}

/* Say how the host key was checked (info shows it). */
static void
set_how(struct ll_ssh_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_how(struct ll_ssh_client *c, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&c->mu);
	va_start(ap, fmt);
	vsnprintf(c->how, sizeof c->how, fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&c->mu);
}

/* Where an agent shows its key, for the operator to compare. */
#define AGENT_KEY_WHERE	"lifelined prints \"SSH host key SHA256:...\" on " \
	"the rescue host's console when it starts"

/*
 * An unknown key: accept_new, ask, or refuse.  1 to accept (and file it),
 * 0 refused (reason set).  A refusal never offers the fingerprint in a
 * command to paste: the operator must read the agent's own on its console,
 * or the check would check nothing.
 */
static int
unknown_key(struct ll_ssh_client *c, const char *name, const char *fp,
    const char *what)
{
	char q[1024];
	int r;

	if (c->accept_new)
		return 1;
	if (c->interactive) {
		snprintf(q, sizeof q, "The authenticity of %s can't be "
		    "established.\nIts host key fingerprint is %s.\n%s"
		    "Are you sure you want to continue connecting "
		    "(yes/no)? ", what, fp, c->mode == LL_SSH_GATEWAY ? "" :
		    "Compare it with the one the agent showed: "
		    AGENT_KEY_WHERE ".\n");
		r = ask_yes_no(c, q);
		if (r == 1)
			return 1;
		if (r == 0) {
			fail(c, "host key %s for %s not accepted", fp, name);
			return 0;
		}
		if (stopping(c)) {
			fail(c, "ssh %s: cancelled", name);
			return 0;
		}
	}
	if (c->mode == LL_SSH_GATEWAY)
		fail(c, "unknown host key %s for %s; verify it and rerun "
		    "with --accept-new-host-key", fp, name);
	else
		fail(c, "the agent on %s has a host key lifeline does not "
		    "know.  Read the agent's key where it runs (" AGENT_KEY_WHERE
		    ") and give it with --host-key-fingerprint, or compare it "
		    "when asked on a terminal, or accept it with "
		    "--accept-new-host-key", name);
	return 0;
}

/* A key filed for other consoles: the same agent on another path. */
static void
moved_key(struct ll_ssh_client *c, const char *label, const char *fp,
    const struct ll_kh_entry *e)
{
	char why[512];

	vlog(c, "agent host key %s is filed at %s:%u", fp, c->khfile,
	    e->line);
	set_how(c, "known: %s:%u, for %s", c->khfile, e->line, e->label);
	if (ll_kh_add(c->khfile, c->label, fp, why, sizeof why) != 0) {
		fprintf(stderr, "lifeline: the agent on %s is the one filed "
		    "for %s (%s:%u); %s\n", label, e->label, c->khfile,
		    e->line, why);
		return;
	}
	fprintf(stderr, "lifeline: the agent on %s is the one filed for %s "
	    "(%s:%u), reached on another path; filed for %s too\n", label,
	    e->label, c->khfile, e->line, label);
}

static int
check_tunnel_key(struct ll_ssh_client *c, const char *fp)
{
	char label[LL_KH_LABEL_MAX], why[1024] = "";
	struct ll_kh_entry e;
	enum ll_kh_match m;

	if (c->label == NULL || ll_kh_label(c->label, label,
	    sizeof label) != 0) {
		fail(c, "cannot file the agent's host key for the path "
		    "'%.100s': empty or too long", c->label ? c->label : "");
		return -1;
	}
	if (c->khfile[0] == '\0') {
		fail(c, "no home directory for lifeline's known hosts; give "
		    "--known-hosts FILE");
		return -1;
	}
	if (ll_kh_lookup(c->khfile, c->label, fp, &m, &e, why,
	    sizeof why) != 0) {
		fail(c, "%s", why);
		return -1;
	}
	switch (m) {
	case LL_KH_KNOWN:
		vlog(c, "agent host key %s matches %s:%u", fp, c->khfile,
		    e.line);
		set_how(c, "known: %s:%u", c->khfile, e.line);
		return 0;
	case LL_KH_MOVED:
		moved_key(c, label, fp, &e);
		return 0;
	case LL_KH_CHANGED:
		fail(c, "refusing: the agent on %s has another host key than "
		    "the one filed for it at %s:%u (%s).  A rescue host that "
		    "makes a new key at each boot does this, and so does "
		    "someone in the middle: read the agent's key on its "
		    "console (" AGENT_KEY_WHERE "), then give it with "
		    "--host-key-fingerprint, or forget the old one with "
		    "'lifeline known-hosts --remove %s' and connect again",
		    label, c->khfile, e.line, e.fp, label);
		return -1;
	case LL_KH_UNKNOWN:
		break;
	}
	if (!unknown_key(c, label, fp, "the lifeline agent on this path"))
		return -1;
	if (ll_kh_add(c->khfile, c->label, fp, why, sizeof why) != 0) {
		fail(c, "%s", why);
		return -1;
	}
	fprintf(stderr, "lifeline: added the agent's host key %s for %s to "
	    "%s\n", fp, label, c->khfile);
	set_how(c, "new, accepted and filed in %s", c->khfile);
	return 0;
}

static int
check_openssh_key(struct ll_ssh_client *c, const char *fp)
{
	char name[300], file[LL_SSH_PATHMAX + 16], what[400];
	enum ssh_known_hosts_e st;

	host_name(c, name, sizeof name);
	if (c->known_hosts != NULL)
		snprintf(file, sizeof file, "%s", c->known_hosts);
	else
		snprintf(file, sizeof file, "%s/known_hosts",
		    c->sshdir[0] != '\0' ? c->sshdir : "~/.ssh");
	st = ssh_session_is_known_server(c->s);
	switch (st) {
	case SSH_KNOWN_HOSTS_OK:
		vlog(c, "host key %s of %s is known", fp, name);
		return 0;
	/* Short enough for a transport's error text (256 bytes). */
	case SSH_KNOWN_HOSTS_CHANGED:
		fail(c, "refusing: the host key of %s changed, now %s; if that "
		    "is expected, remove the old one: ssh-keygen -R '%s' -f %s",
		    name, fp, name, file);
		return -1;
	case SSH_KNOWN_HOSTS_OTHER:
		fail(c, "refusing: %s has another type of host key now (%s); "
		    "if that is expected, remove the old one: ssh-keygen -R "
		    "'%s' -f %s", name, fp, name, file);
		return -1;
	case SSH_KNOWN_HOSTS_UNKNOWN:
	case SSH_KNOWN_HOSTS_NOT_FOUND:
		break;
	case SSH_KNOWN_HOSTS_ERROR:
	default:
		fail(c, "ssh %s: cannot check the host key against %s: %s",
		    name, file, ssh_get_error(c->s));
		return -1;
	}
	snprintf(what, sizeof what, "host '%s'", name);
	if (!unknown_key(c, name, fp, what))
		return -1;
	if (ssh_session_update_known_hosts(c->s) != SSH_OK) {
		fail(c, "ssh %s: cannot add the host key to %s: %s", name,
		    file, ssh_get_error(c->s));
		return -1;
	}
	fprintf(stderr, "lifeline: added the host key %s of %s to %s\n", fp,
	    name, file);
	return 0;
}

static int
check_host_key(struct ll_ssh_client *c)
{
	char fp[LL_SSH_FP_MAX], name[300];
	ssh_key key = NULL;
	int r;

	if (ssh_get_server_publickey(c->s, &key) != SSH_OK ||
	    ll_ssh_fingerprint(key, fp, sizeof fp) != 0) {
		ssh_key_free(key);
		fail(c, "ssh: cannot read the server's host key: %s",
		    ssh_get_error(c->s));
		return -1;
	}
	ssh_key_free(key);
	pthread_mutex_lock(&c->mu);
	snprintf(c->fp, sizeof c->fp, "%s", fp);
	pthread_mutex_unlock(&c->mu);
	if (c->mode == LL_SSH_TUNNEL)
		snprintf(name, sizeof name, "%s", c->label ? c->label : "");
	else
		host_name(c, name, sizeof name);
	if (c->pin != NULL) {
		if (ll_kh_fp_equal(fp, c->pin)) {
			vlog(c, "host key %s of %s matches the pinned "
			    "fingerprint", fp, name);
			set_how(c, "pinned with --host-key-fingerprint");
			return 0;
		}
		fail(c, "refusing: the host key of %s is %s, not %s as given "
		    "with --host-key-fingerprint", name, fp, c->pin);
		return -1;
	}
	if (c->mode == LL_SSH_TUNNEL)
		r = check_tunnel_key(c, fp);
	else
		r = check_openssh_key(c, fp);
	return r;
}

/* A key file's passphrase is not asked for here (see authenticate). */
static int
ignore_passphrase(const char *prompt, char *buf, size_t len, int echo,
    int verify, void *userdata)
{
	(void)prompt;
	(void)buf;
	(void)len;
	(void)echo;
	(void)verify;
	(void)userdata;
	return -1;
}

/* Append ", item" (or "item") to a list. */
static void
list_add(char *buf, size_t len, const char *item)
{
	size_t n = strlen(buf);

	snprintf(buf + n, len - n, "%s%s", n > 0 ? ", " : "", item);
}

static int
authenticate(struct ll_ssh_client *c)
{
	static const char *const defaults[] = { "id_ed25519", "id_ecdsa",
	    "id_rsa" };
	char tried[2048] = "", who[400], path[LL_SSH_PATHMAX + 32];
	const char *user = NULL;
	ssh_key key = NULL;
	int r, methods;
	size_t i;

	ssh_options_get(c->s, SSH_OPTIONS_USER, (char **)&user);
	if (c->mode == LL_SSH_TUNNEL)
		snprintf(who, sizeof who, "%s@%s", user ? user : "?",
		    c->label != NULL ? c->label : "the agent");
	else
		snprintf(who, sizeof who, "%s@%s", user ? user : "?", c->host);
	ssh_string_free_char((char *)user);

	/*
	 * A gateway may let anyone in ("none"), and says which methods it
	 * takes.  Inside the link the agent takes public keys only, so the
	 * client goes straight to its key: one round trip less on the line.
	 */
	if (c->mode != LL_SSH_TUNNEL) {
		r = ssh_userauth_none(c->s, NULL);
		if (r == SSH_AUTH_SUCCESS)
			return 0;
		if (r == SSH_AUTH_ERROR)
			goto error;
		methods = ssh_userauth_list(c->s, NULL);
		if ((methods & SSH_AUTH_METHOD_PUBLICKEY) == 0)
			goto no_publickey;
	}
	if (c->identity != NULL) {
		list_add(tried, sizeof tried, c->identity);
		if (ssh_pki_import_privkey_file(c->identity, NULL, NULL, NULL,
		    &key) != SSH_OK) {
			fail(c, "authentication failed for %s: cannot read the "
			    "private key %s (missing, not a key, or protected "
			    "by a passphrase: load it into ssh-agent)", who,
			    c->identity);
			return -1;
		}
		r = ssh_userauth_publickey(c->s, NULL, key);
		ssh_key_free(key);
		if (r == SSH_AUTH_SUCCESS) {
			vlog(c, "authenticated as %s with %s", who,
			    c->identity);
			return 0;
		}
		if (r == SSH_AUTH_ERROR)
			goto error;
		if (r == SSH_AUTH_PARTIAL)
			goto partial;
	}
	if (c->has_agent)
		list_add(tried, sizeof tried, "ssh-agent");
	for (i = 0; i < sizeof defaults / sizeof defaults[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", c->sshdir[0] != '\0' ?
		    c->sshdir : "~/.ssh", defaults[i]);
		if (access(path, R_OK) != 0)
			continue;
		list_add(tried, sizeof tried, path);
		/*
		 * In the link, with no ssh-agent, an unencrypted key file is
		 * signed with at once: libssh's automatic way would first
		 * ask whether the key is welcome (a round trip) and sign
		 * after.  An encrypted one is left to it (it asks for the
		 * passphrase).
		 */
		if (c->mode != LL_SSH_TUNNEL || c->has_agent ||
		    c->sshdir[0] == '\0' || ssh_pki_import_privkey_file(path,
		    NULL, ignore_passphrase, NULL, &key) != SSH_OK)
			continue;
		r = ssh_userauth_publickey(c->s, NULL, key);
		ssh_key_free(key);
		key = NULL;
		if (r == SSH_AUTH_SUCCESS) {
			vlog(c, "authenticated as %s with %s", who, path);
			return 0;
		}
		if (r == SSH_AUTH_ERROR)
			goto error;
		if (r == SSH_AUTH_PARTIAL)
			goto partial;
	}
	r = ssh_userauth_publickey_auto(c->s, NULL, NULL);
	if (r == SSH_AUTH_SUCCESS) {
		vlog(c, "authenticated as %s", who);
		return 0;
	}
	if (r == SSH_AUTH_ERROR)
		goto error;
	if (r == SSH_AUTH_PARTIAL)
		goto partial;
	/* Inside the link nothing asked first which methods are taken. */
	if (c->mode == LL_SSH_TUNNEL &&
	    (ssh_userauth_list(c->s, NULL) & SSH_AUTH_METHOD_PUBLICKEY) == 0)
		goto no_publickey;
	fail(c, "authentication failed for %s: no key accepted (tried: %s)",
	    who, tried[0] != '\0' ? tried : "nothing: no ssh-agent, no "
	    "~/.ssh/id_* key, no --identity");
	return -1;
no_publickey:
	fail(c, "authentication failed for %s: the server does not accept "
	    "public keys, and lifeline uses nothing else", who);
	return -1;
partial:
	fail(c, "authentication failed for %s: the server wants more than a "
	    "key (partial success), which lifeline cannot give", who);
	return -1;
error:
	fail(c, "authentication failed for %s: %s", who, ssh_get_error(c->s));
	return -1;
}

/* shell: the remote command's exit status or signal, kept for the loop. */
static void
shell_exit_status(ssh_session s, ssh_channel ch, int status, void *arg)
{
	struct ll_ssh_client *c = arg;

	(void)s;
	(void)ch;
	pthread_mutex_lock(&c->mu);
	c->exit_status = status & 0xff;
	pthread_mutex_unlock(&c->mu);
}

static void
shell_exit_signal(ssh_session s, ssh_channel ch, const char *signal,
    int core, const char *errmsg, const char *lang, void *arg)
{
	struct ll_ssh_client *c = arg;

	(void)s;
	(void)ch;
	(void)core;
	(void)errmsg;
	(void)lang;
	pthread_mutex_lock(&c->mu);
	c->exit_status = -1;
	snprintf(c->exit_signal, sizeof c->exit_signal, "%s", signal);
	pthread_mutex_unlock(&c->mu);
}

/* tunnel with shell: a pty (when a TERM was given), then the shell. */
static int
open_shell(struct ll_ssh_client *c)
{
	c->chcb.userdata = c;
	c->chcb.channel_exit_status_function = shell_exit_status;
	c->chcb.channel_exit_signal_function = shell_exit_signal;
	ssh_callbacks_init(&c->chcb);
	if (ssh_set_channel_callbacks(c->ch, &c->chcb) != SSH_OK) {
		fail(c, "ssh: cannot watch the shell's exit status");
		return -1;
	}
	if (c->term != NULL && ssh_channel_request_pty_size(c->ch, c->term,
	    c->cols, c->rows) != SSH_OK) {
		fail(c, "ssh: the agent refused a pty: %s (a key with no-pty "
		    "or restrict gets none)", ssh_get_error(c->s));
		return -1;
	}
	if (ssh_channel_request_shell(c->ch) != SSH_OK) {
		fail(c, "ssh: the agent refused a shell: %s",
		    ssh_get_error(c->s));
		return -1;
	}
	return 0;
}

static int
open_channel(struct ll_ssh_client *c)
{
	int r;

	if ((c->ch = ssh_channel_new(c->s)) == NULL ||
	    ssh_channel_open_session(c->ch) != SSH_OK) {
		fail(c, "ssh: cannot open a session channel: %s",
		    ssh_get_error(c->s));
		return -1;
	}
	if (c->mode == LL_SSH_TUNNEL && c->shell)
		return open_shell(c);
	if (c->mode == LL_SSH_TUNNEL) {
		/*
		 * Inside the link the first request follows the subsystem's
		 * at once instead of a round trip later: the request is sent
		 * without waiting (non-blocking), and its answer is read
		 * while the pump runs (subsystem_check).  The agent serves
		 * packets in order, so the request is in force before any
		 * data that follows it.
		 */
		ssh_set_blocking(c->s, 0);
		r = ssh_channel_request_subsystem(c->ch, LL_SSH_SUBSYSTEM);
		ssh_set_blocking(c->s, 1);
		if (r == SSH_AGAIN) {
			c->subsystem_pending = true;
			return 0;
		}
		if (r == SSH_OK)
			return 0;
		fail(c, "ssh: the server refused the '%s' subsystem: %s",
		    LL_SSH_SUBSYSTEM, ssh_get_error(c->s));
		return -1;
	}
	if (c->mode != LL_SSH_GATEWAY) {
		if (ssh_channel_request_subsystem(c->ch, LL_SSH_SUBSYSTEM) !=
		    SSH_OK) {
			fail(c, "ssh: the server refused the '%s' subsystem: "
			    "%s", LL_SSH_SUBSYSTEM, ssh_get_error(c->s));
			return -1;
		}
		return 0;
	}
	/*
	 * libssh 0.10 sends the terminal modes of our stdin when it is a
	 * tty, or stty-sane defaults: the gateway's pty may well be cooked.
	 * The link's probing copes with what survives; --no-pty avoids it.
	 */
	if (!c->no_pty &&
	    ssh_channel_request_pty_size(c->ch, "vt100", 80, 24) != SSH_OK) {
		fail(c, "ssh: the gateway refused a pty (try --no-pty): %s",
		    ssh_get_error(c->s));
		return -1;
	}
	if (ssh_channel_request_shell(c->ch) != SSH_OK) {
		fail(c, "ssh: the gateway refused a shell: %s",
		    ssh_get_error(c->s));
		return -1;
	}
	return 0;
}

/* The pump's check: the answer to the subsystem request (open_channel). */
static int
subsystem_check(void *arg, ssh_session s, ssh_channel ch, char *err,
    size_t errlen)
{
	struct ll_ssh_client *c = arg;
	int r;

	if (!c->subsystem_pending)
		return 0;
	/* Pending: this only reads what came (the session is non-blocking). */
	if ((r = ssh_channel_request_subsystem(ch, LL_SSH_SUBSYSTEM)) ==
	    SSH_AGAIN)
		return 0;
	c->subsystem_pending = false;
	if (r == SSH_OK)
		return 0;
	snprintf(err, errlen, "ssh: the server refused the '%s' subsystem: %s",
	    LL_SSH_SUBSYSTEM, ssh_get_error(s));
	return -1;
}

/* The loop asked for a window change (ll_ssh_client_resize). */
static void
shell_resize(void *arg, ssh_session s, ssh_channel ch)
{
	struct ll_ssh_client *c = arg;
	char drain[64];
	int cols, rows;

	(void)s;
	while (read(c->wake[0], drain, sizeof drain) > 0)
		;
	pthread_mutex_lock(&c->mu);
	cols = c->new_cols;
	rows = c->new_rows;
	c->new_cols = c->new_rows = 0;
	pthread_mutex_unlock(&c->mu);
	if (cols > 0 && rows > 0)
		ssh_channel_change_pty_size(ch, cols, rows);
}

static void *
engine_main(void *arg)
{
	struct ll_ssh_client *c = arg;
	char err[LL_SSH_ERRMAX];
	struct stat st;

	if (session_connect(c) != 0 || check_host_key(c) != 0 ||
	    authenticate(c) != 0 || open_channel(c) != 0)
		goto out;
	vlog(c, "channel open");
	set_state(c, LL_SSH_READY);
	/* In a tunnel the link below judges the line; on the network
	 * (gateways, listeners), keepalives do.  A shell also takes window
	 * changes from the loop. */
	if (ll_ssh_pump_ctl(c->s, c->ch, c->plain, c->mode == LL_SSH_TUNNEL ?
	    0 : LL_SSH_STALL_MS, &(struct ll_ssh_pump_ctl){ .fd = c->wake[0],
	    .ready = shell_resize, .arg = c, .check = subsystem_check }, err,
	    sizeof err) != 0 && !stopping(c))
		fail(c, "%s", err);
	else
		set_state(c, LL_SSH_ENDED);
	vlog(c, "channel ended");
out:
	/* The loop reads EOF on the plain side now. */
	close(c->plain);
	c->plain = -1;
	forget_socket(c);
	if (c->ch != NULL) {
		if (c->chcb.size != 0)
			ssh_remove_channel_callbacks(c->ch, &c->chcb);
		ssh_channel_close(c->ch);
		ssh_channel_free(c->ch);
		c->ch = NULL;
	}
	if (c->s != NULL) {
		ssh_disconnect(c->s);
		ssh_free(c->s);
		c->s = NULL;
	}
	/*
	 * libssh 0.10 leaves an SSH_OPTIONS_FD socket open; should another
	 * version close it, the number may already be someone else's.
	 */
	if (c->cipher_fd != -1 && fstat(c->cipher_fd, &st) == 0 &&
	    st.st_dev == c->cipher_st.st_dev &&
	    st.st_ino == c->cipher_st.st_ino)
		close(c->cipher_fd);
	c->cipher_fd = -1;
	return NULL;
}

static char *
dup_or_null(const char *s, bool *bad)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*bad = true;
	return d;
}

static void
client_destroy(struct ll_ssh_client *c)
{
	free(c->host);
	free(c->user);
	free(c->identity);
	free(c->known_hosts);
	free(c->label);
	free(c->pin);
	free(c->term);
	if (c->wake[0] != -1) {
		close(c->wake[0]);
		close(c->wake[1]);
	}
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	free(c);
}

int
ll_ssh_client_start(const struct ll_ssh_client_config *cfg, int cipher_fd,
    int *plain_fd, struct ll_ssh_client **out, char *err, size_t errlen)
{
	struct ll_ssh_client *c = NULL;
	pthread_condattr_t ca;
	sigset_t all, old;
	const char *home;
	int fds[2] = { -1, -1 }, r, n;
	bool bad = false;

	*out = NULL;
	*plain_fd = -1;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if ((cfg->mode == LL_SSH_TUNNEL) != (cipher_fd != -1) ||
	    (cfg->mode != LL_SSH_TUNNEL && (cfg->host == NULL ||
	    *cfg->host == '\0'))) {
		snprintf(err, errlen, "ssh: bad engine configuration");
		goto fail;
	}
	if (ll_ssh_global_init() != 0) {
		snprintf(err, errlen, "ssh: cannot initialise libssh");
		goto fail;
	}
	if ((c = calloc(1, sizeof *c)) == NULL) {
		snprintf(err, errlen, "ssh: out of memory");
		goto fail;
	}
	c->wake[0] = c->wake[1] = -1;
	pthread_mutex_init(&c->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cv, &ca);
	pthread_condattr_destroy(&ca);
	c->mode = cfg->mode;
	c->port = cfg->port != 0 ? cfg->port : 22;
	c->no_pty = cfg->no_pty;
	c->accept_new = cfg->accept_new;
	c->interactive = cfg->interactive;
	c->verbose = cfg->verbose;
	c->host = dup_or_null(cfg->host, &bad);
	c->user = dup_or_null(cfg->user, &bad);
	c->identity = dup_or_null(cfg->identity, &bad);
	c->known_hosts = dup_or_null(cfg->known_hosts, &bad);
	c->label = dup_or_null(cfg->label, &bad);
	c->pin = dup_or_null(cfg->pin, &bad);
	c->shell = cfg->shell && cfg->mode == LL_SSH_TUNNEL;
	c->term = dup_or_null(cfg->term, &bad);
	c->cols = cfg->cols > 0 ? cfg->cols : 80;
	c->rows = cfg->rows > 0 ? cfg->rows : 24;
	c->exit_status = -2;
	if (c->shell && pipe2(c->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		c->wake[0] = c->wake[1] = -1;
		snprintf(err, errlen, "ssh: pipe: %s", strerror(errno));
		goto fail;
	}
	c->state = LL_SSH_CONNECTING;
	c->sock = cipher_fd;
	c->cipher_fd = cipher_fd;
	cipher_fd = -1;
	if (c->cipher_fd != -1 && fstat(c->cipher_fd, &c->cipher_st) == -1) {
		snprintf(err, errlen, "ssh: bad cipher fd: %s",
		    strerror(errno));
		goto fail;
	}
	c->plain = -1;
	/* The environment is read here, in the caller's thread. */
	/* set and empty (SSH_AUTH_SOCK=) is no agent, for libssh too */
	c->has_agent = getenv("SSH_AUTH_SOCK") != NULL &&
	    *getenv("SSH_AUTH_SOCK") != '\0';
	if ((home = home_dir()) != NULL &&
	    (size_t)snprintf(c->sshdir, sizeof c->sshdir, "%s/.ssh", home) >=
	    sizeof c->sshdir)
		c->sshdir[0] = '\0';
	if (cfg->known_hosts != NULL)
		n = snprintf(c->khfile, sizeof c->khfile, "%s",
		    cfg->known_hosts);
	else if (home != NULL)
		n = snprintf(c->khfile, sizeof c->khfile,
		    "%s/.config/lifeline/known_hosts", home);
	else
		n = 0;
	if (n < 0 || (size_t)n >= sizeof c->khfile)
		c->khfile[0] = '\0';
	if (bad) {
		snprintf(err, errlen, "ssh: out of memory");
		goto fail;
	}
	if ((r = ll_ssh_socketpair(fds)) != 0) {
		snprintf(err, errlen, "ssh: socketpair: %s", strerror(-r));
		goto fail;
	}
	c->plain = fds[1];
	/* The thread inherits a full signal mask. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&c->thread, NULL, engine_main, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		snprintf(err, errlen, "ssh: cannot start a thread: %s",
		    strerror(r));
		goto fail;
	}
	c->started = true;
	*plain_fd = fds[0];
	*out = c;
	return 0;
fail:
	if (fds[0] != -1)
		close(fds[0]);
	if (fds[1] != -1)
		close(fds[1]);
	if (cipher_fd != -1)
		close(cipher_fd);
	if (c != NULL) {
		if (c->cipher_fd != -1)
			close(c->cipher_fd);
		client_destroy(c);
	}
	return -1;
}

enum ll_ssh_state
ll_ssh_client_state(struct ll_ssh_client *c, char *err, size_t errlen)
{
	enum ll_ssh_state st;

	pthread_mutex_lock(&c->mu);
	st = c->state;
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", c->err);
	pthread_mutex_unlock(&c->mu);
	return st;
}

static long
ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (long)(t1.tv_sec - t0->tv_sec) * 1000 +
	    (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

int
ll_ssh_client_wait(struct ll_ssh_client *c, int timeout_ms, char *err,
    size_t errlen)
{
	struct timespec t0, until;
	long left = timeout_ms;
	int rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	pthread_mutex_lock(&c->mu);
	for (;;) {
		if (c->state == LL_SSH_READY || c->state == LL_SSH_ENDED) {
			rc = 0;
			break;
		}
		if (c->state == LL_SSH_FAILED) {
			if (err != NULL && errlen > 0)
				snprintf(err, errlen, "%s", c->err);
			rc = -1;
			break;
		}
		if (c->state == LL_SSH_ASKING) {
			/* The user's time does not count. */
			pthread_cond_wait(&c->cv, &c->mu);
			continue;
		}
		if (left <= 0) {
			if (err != NULL && errlen > 0)
				snprintf(err, errlen, "ssh %s: no SSH session "
				    "after %d s", c->mode != LL_SSH_TUNNEL ?
				    c->host : c->label != NULL ? c->label :
				    "the agent", timeout_ms / 1000);
			rc = -1;
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &t0);
		until = t0;
		until.tv_sec += left / 1000;
		until.tv_nsec += (left % 1000) * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&c->cv, &c->mu, &until);
		left -= ms_since(&t0);
	}
	pthread_mutex_unlock(&c->mu);
	return rc;
}

int
ll_ssh_client_resize(struct ll_ssh_client *c, int cols, int rows)
{
	ssize_t n;

	if (c == NULL || c->wake[1] == -1 || cols <= 0 || rows <= 0)
		return -1;
	pthread_mutex_lock(&c->mu);
	c->new_cols = cols;
	c->new_rows = rows;
	pthread_mutex_unlock(&c->mu);
	n = write(c->wake[1], "w", 1);	/* full: a wake-up is pending */
	(void)n;
	return 0;
}

int
ll_ssh_client_exit(struct ll_ssh_client *c, char *sig, size_t siglen)
{
	int st;

	pthread_mutex_lock(&c->mu);
	st = c->exit_status;
	if (sig != NULL && siglen > 0)
		snprintf(sig, siglen, "%s", c->exit_signal);
	pthread_mutex_unlock(&c->mu);
	return st;
}

void
ll_ssh_client_free(struct ll_ssh_client *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	if (c->sock != -1)
		shutdown(c->sock, SHUT_RDWR);
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	if (c->started)
		pthread_join(c->thread, NULL);
	client_destroy(c);
}

int
ll_ssh_client_pubkey(const char *identity, char *line, size_t len, char *err,
    size_t errlen)
{
	static const char *const defaults[] = { "id_ed25519", "id_ecdsa",
	    "id_rsa" };
	char path[LL_SSH_PATHMAX + 32], tried[3 * (LL_SSH_PATHMAX + 40)] = "";
	const char *home = home_dir();
	ssh_key key = NULL, priv = NULL;
	char *b64 = NULL;
	size_t i;
	int rc = -1;

	if (identity != NULL) {
		/* Its .pub beside it; else the public half of the key. */
		snprintf(path, sizeof path, "%s.pub", identity);
		if (ssh_pki_import_pubkey_file(path, &key) != SSH_OK &&
		    (ssh_pki_import_privkey_file(identity, NULL, NULL, NULL,
		    &priv) != SSH_OK ||
		    ssh_pki_export_privkey_to_pubkey(priv, &key) != SSH_OK)) {
			snprintf(err, errlen, "cannot read the public key of "
			    "%s (no %s, and the private key is missing, not a "
			    "key or protected by a passphrase)", identity,
			    path);
			goto out;
		}
	} else {
		for (i = 0; i < sizeof defaults / sizeof defaults[0]; i++) {
			snprintf(path, sizeof path, "%s/.ssh/%s.pub",
			    home != NULL ? home : "", defaults[i]);
			list_add(tried, sizeof tried, path);
			if (ssh_pki_import_pubkey_file(path, &key) == SSH_OK)
				break;
		}
		if (key == NULL) {
			snprintf(err, errlen, "no public key to authorize "
			    "(tried %s): give -i KEYFILE", tried);
			goto out;
		}
	}
	if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK) {
		snprintf(err, errlen, "cannot encode the public key");
		goto out;
	}
	if ((size_t)snprintf(line, len, "%s %s lifeline-deploy",
	    ssh_key_type_to_char(ssh_key_type(key)), b64) >= len) {
		snprintf(err, errlen, "public key too long");
		goto out;
	}
	rc = 0;
out:
	ssh_string_free_char(b64);
	ssh_key_free(key);
	ssh_key_free(priv);
	return rc;
}

void
ll_ssh_client_host_key(struct ll_ssh_client *c, char *fp, size_t fplen,
    char *how, size_t howlen)
{
	pthread_mutex_lock(&c->mu);
	snprintf(fp, fplen, "%s", c->fp);
	snprintf(how, howlen, "%s", c->how);
	pthread_mutex_unlock(&c->mu);
}

int
ll_ssh_known_hosts_set(const char *path, const char *label, const char *fp,
    char *err, size_t errlen)
{
	return ll_kh_set(path, label, fp, err, errlen);
}

int
ll_ssh_key_text_check(const char *fp, const char *type, const char *b64)
{
	char got[LL_SSH_FP_MAX];
	ssh_key key = NULL;
	int rc = -1;

	if (ssh_pki_import_pubkey_base64(b64, ssh_key_type_from_name(type),
	    &key) == SSH_OK && ll_ssh_fingerprint(key, got, sizeof got) == 0 &&
	    strcmp(got, fp) == 0)
		rc = 0;
	ssh_key_free(key);
	return rc;
}
