/*
 * The agent's SSH server engine.  The main thread owns the ssh_bind (host
 * key) and hands each accepted connection to ssh_server_start(), which
 * prepares the libssh session there (ssh_bind_accept_fd is not safe to call
 * from several threads) and runs everything else in a detached thread:
 *
 *	key exchange -> public-key authentication (authkeys.c decides, audit.c
 *	records) -> channels (ssh-channels.c), served by server_channels():
 *	  the "lifeline" subsystem, whose bytes go to the plain socketpair
 *	  (lifeline's own client opens only that), and what OpenSSH's ssh,
 *	  scp, sftp, rsync and Ansible ask for through lifeline proxy: exec,
 *	  shell, sftp, direct-tcpip, several at once, the lifeline subsystem
 *	  among them.
 *
 * Over a network (a peer address) the engine sends keepalives to a silent
 * peer and hangs up on one silent for LL_SSH_STALL_MS; inside a console
 * link the link's own timeouts judge the line.
 *
 * The thread and the loop share a struct ssh_serving, reference counted;
 * the loop only reads the authenticated identity from it.  Whatever ends
 * the session (a refused key, the peer leaving, the loop closing its plain
 * fd) ends the thread, which closes the engine's fds.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>

#include "agent.h"
#include "audit.h"
#include "authkeys.h"
#include "error.h"
#include "log.h"
#include "session.h"
#include "ssh-channels.h"
#include "ssh-common.h"
#include "ssh-server.h"

/* To authenticate and open the channel: on a console the client may be
 * asking its user about our host key meanwhile.  The network paths
 * (--listen, --listen-ssh) get the short one. */
#define SSH_SERVER_AUTH_CONSOLE_MS 120000
#define SSH_SERVER_TIMEOUT_S	15	/* libssh's own blocking timeout */
#define SSH_SERVER_TRIES_MAX	10	/* keys refused before we hang up */
/* Network sessions not yet authenticated, at once (like sshd's
 * MaxStartups): each holds a thread and fds, and must not crowd out the
 * console. */
#define SSH_SERVER_PENDING_MAX	10
#define SSH_SERVER_PENDING_PER_PEER 3
/* Channel fds polled at once: three for each of 16 channels. */
#define SSH_SERVER_CHAN_FDS	48

struct ssh_serving {
	pthread_mutex_t lock;
	int refs;
	ssh_session session;
	int plain_fd;			/* the engine's end */
	bool authenticated;
	bool pending;			/* counted in the pending table */
	int refused;			/* keys refused so far */
	char refused_fp[LL_SSH_FP_MAX];	/* the last one, and why */
	char refused_why[256];
	char peer[160];
	char peer_addr[64];		/* for from=; "" when none */
	enum audit_path path;		/* where it came from: its limits */
	char limit_peer[64];		/* its slot in the pending table */
	char user[64];
	char fingerprint[LL_SSH_FP_MAX];
	struct authkeys_result key;	/* the key's limits (deny, permitopen) */
	struct ssh_chans *chans;	/* the session channels */
	struct ssh_server_callbacks_struct server_cb;
};

static ssh_bind server_bind;
static char server_fp[LL_SSH_FP_MAX];
/* "SHA256:... TYPE BASE64": the fingerprint with the key it names */
static char server_key_text[LL_SSH_FP_MAX + 640];

/* Engine threads still running, so that shutdown can wait for them. */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t live_cond = PTHREAD_COND_INITIALIZER;
static int live_threads;

/*
 * Logins in progress on the network paths (--listen, --listen-ssh), each
 * path with its own table: per peer (an address, or a unix socket's uid)
 * and in all.
 */
static pthread_mutex_t pending_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char peer[64];
	int n;
} pending[AUDIT_PATH_N][SSH_SERVER_PENDING_MAX];
static int pending_total[AUDIT_PATH_N];

bool
ssh_server_login_take(enum audit_path path, const char *peer,
    const char *who)
{
	int i, free_slot = -1, same = 0;
	bool ok = false;

	pthread_mutex_lock(&pending_lock);
	for (i = 0; i < SSH_SERVER_PENDING_MAX; i++) {
		if (pending[path][i].n == 0 && free_slot < 0)
			free_slot = i;
		else if (pending[path][i].n > 0 &&
		    strcmp(pending[path][i].peer, peer) == 0)
			same = i + 1;
	}
	if (pending_total[path] < SSH_SERVER_PENDING_MAX) {
		if (same > 0 && pending[path][same - 1].n <
		    SSH_SERVER_PENDING_PER_PEER) {
			pending[path][same - 1].n++;
			ok = true;
		} else if (same == 0 && free_slot >= 0) {
			snprintf(pending[path][free_slot].peer,
			    sizeof(pending[path][free_slot].peer), "%s", peer);
			pending[path][free_slot].n = 1;
			ok = true;
		}
	}
	if (ok)
		pending_total[path]++;
	else if (pending_total[path] < SSH_SERVER_PENDING_MAX)
		log_warn("%s: %s: %d logins are in progress (authenticating "
		    "already; at most %d from one peer on %s); refused", who,
		    peer, SSH_SERVER_PENDING_PER_PEER,
		    SSH_SERVER_PENDING_PER_PEER, audit_path_name(path));
	else
		log_warn("%s: %d logins are in progress (authenticating "
		    "already; at most %d at once on %s); refused", who,
		    SSH_SERVER_PENDING_MAX, SSH_SERVER_PENDING_MAX,
		    audit_path_name(path));
	pthread_mutex_unlock(&pending_lock);
	return ok;
}

void
ssh_server_login_release(enum audit_path path, const char *peer)
{
	int i;

	pthread_mutex_lock(&pending_lock);
	for (i = 0; i < SSH_SERVER_PENDING_MAX; i++) {
		if (pending[path][i].n > 0 &&
		    strcmp(pending[path][i].peer, peer) == 0) {
			pending[path][i].n--;
			pending_total[path]--;
			break;
		}
	}
	pthread_mutex_unlock(&pending_lock);
}

/* ss authenticated or ended: no longer pending (once). */
static void
pending_drop(struct ssh_serving *ss)
{
	bool was;

	pthread_mutex_lock(&ss->lock);
	was = ss->pending;
	ss->pending = false;
	pthread_mutex_unlock(&ss->lock);
	if (was)
		ssh_server_login_release(ss->path, ss->limit_peer);
}

static const char *
server_key_path(void)
{
	return agent_opts.host_key != NULL ? agent_opts.host_key :
	    SSH_SERVER_KEY_DEFAULT;
}

static const char *
server_authkeys_path(void)
{
	return agent_opts.authorized_keys != NULL ?
	    agent_opts.authorized_keys : SSH_SERVER_AUTHKEYS_DEFAULT;
}

/* A new ed25519 key at path (0600), its .pub beside it, the dir 0700. */
static int
server_generate_key(const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX], pub[PATH_MAX + 8];
	ssh_key key = NULL;
	char *slash;
	mode_t old;
	int rc = -1;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s for the host "
			    "key: %s", dir, strerror(errno));
			return -1;
		}
	}
	if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK) {
		snprintf(err, errlen, "cannot generate an ed25519 host key");
		return -1;
	}
	old = umask(077);
	if (ssh_pki_export_privkey_file(key, NULL, NULL, NULL, path) !=
	    SSH_OK) {
		snprintf(err, errlen, "cannot write the host key to %s", path);
		goto out;
	}
	snprintf(pub, sizeof(pub), "%s.pub", path);
	umask(022);
	if (ssh_pki_export_pubkey_file(key, pub) != SSH_OK)
		log_warn("cannot write %s (the key itself is fine)", pub);
	log_info("generated a new ed25519 host key in %s", path);
	rc = 0;
out:
	umask(old);
	ssh_key_free(key);
	return rc;
}

int
ssh_server_init(char *err, size_t errlen)
{
	const char *path = server_key_path();
	ssh_key key = NULL;
	struct stat st;
	int verbosity = 0;

	if (ll_ssh_global_init() != 0) {
		snprintf(err, errlen, "libssh failed to initialise");
		return -1;
	}
	if (stat(path, &st) != 0) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "host key %s: %s", path,
			    strerror(errno));
			return -1;
		}
		if (server_generate_key(path, err, errlen) != 0)
			return -1;
	} else if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "host key %s is not a regular file", path);
		return -1;
	} else if ((st.st_mode & 077) != 0) {
		snprintf(err, errlen, "host key %s is readable by others (mode "
		    "%04o): refusing it; chmod 600 %s", path,
		    (unsigned)(st.st_mode & 07777), path);
		return -1;
	}
	if (ssh_pki_import_privkey_file(path, NULL, NULL, NULL, &key) !=
	    SSH_OK) {
		snprintf(err, errlen, "host key %s cannot be read as an "
		    "unencrypted OpenSSH private key", path);
		return -1;
	}
	ll_ssh_fingerprint(key, server_fp, sizeof(server_fp));
	if (ssh_key_type(key) != SSH_KEYTYPE_ED25519)
		log_warn("host key %s is %s: lifeline's client takes only "
		    "ssh-ed25519 inside a link; make an "
		    "ed25519 key for consoles and --listen", path,
		    ssh_key_type_to_char(ssh_key_type(key)));
	{
		char *b64 = NULL;

		if (ssh_pki_export_pubkey_base64(key, &b64) == SSH_OK)
			snprintf(server_key_text, sizeof(server_key_text),
			    "%s %s %s", server_fp,
			    ssh_key_type_to_char(ssh_key_type(key)), b64);
		ssh_string_free_char(b64);
	}
	ssh_key_free(key);
	if ((server_bind = ssh_bind_new()) == NULL ||
	    ssh_bind_options_set(server_bind, SSH_BIND_OPTIONS_HOSTKEY,
	    path) != SSH_OK ||
	    ssh_bind_options_set(server_bind, SSH_BIND_OPTIONS_LOG_VERBOSITY,
	    &verbosity) != SSH_OK) {
		snprintf(err, errlen, "host key %s: %s", path, server_bind ?
		    ssh_get_error(server_bind) : "out of memory");
		return -1;
	}
	log_info("SSH host key %s (%s)", server_fp, path);
	return 0;
}

const char *
ssh_server_host_key_text(void)
{
	return server_key_text;
}

void
ssh_server_shutdown(void)
{
	struct timespec until;

	/*
	 * The sessions are closed by now, which ends their engines: give
	 * them a moment to finish before libssh's state goes away.
	 */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 2;
	pthread_mutex_lock(&live_lock);
	while (live_threads > 0 &&
	    pthread_cond_timedwait(&live_cond, &live_lock, &until) == 0)
		;
	pthread_mutex_unlock(&live_lock);
	if (server_bind != NULL)
		ssh_bind_free(server_bind);
	server_bind = NULL;
}

static void
serving_unref(struct ssh_serving *ss)
{
	bool last;

	pthread_mutex_lock(&ss->lock);
	last = --ss->refs == 0;
	pthread_mutex_unlock(&ss->lock);
	if (!last)
		return;
	pthread_mutex_destroy(&ss->lock);
	free(ss);
}

void
ssh_serving_release(struct ssh_serving *ss)
{
	if (ss != NULL)
		serving_unref(ss);
}

void
ssh_serving_identity(struct ssh_serving *ss, char *fp, size_t len)
{
	pthread_mutex_lock(&ss->lock);
	snprintf(fp, len, "%s", ss->authenticated ? ss->fingerprint : "");
	pthread_mutex_unlock(&ss->lock);
}

static int
server_auth_pubkey(ssh_session session, const char *user,
    struct ssh_key_struct *pubkey, char state, void *userdata)
{
	struct ssh_serving *ss = userdata;
	struct authkeys_result res;

	(void)session;
	log_printable(ss->user, sizeof(ss->user), user);
	if (state != SSH_PUBLICKEY_STATE_NONE &&
	    state != SSH_PUBLICKEY_STATE_VALID)
		return SSH_AUTH_DENIED;	/* a bad signature */
	if (authkeys_check(server_authkeys_path(), pubkey,
	    ss->peer_addr[0] != '\0' ? ss->peer_addr : NULL, &res) != 0 ||
	    !res.allowed) {
		/*
		 * A client offers its keys one after the other: a refused
		 * offer is not yet a failed login.  The connection counts as
		 * one failure if it ends without any key accepted.
		 */
		ss->refused++;
		snprintf(ss->refused_fp, sizeof(ss->refused_fp), "%s",
		    res.fingerprint);
		snprintf(ss->refused_why, sizeof(ss->refused_why), "%s",
		    res.reason);
		log_debug("%s: key %s refused: %s", ss->peer, res.fingerprint,
		    res.reason);
		return SSH_AUTH_DENIED;
	}
	if (state == SSH_PUBLICKEY_STATE_NONE)
		return SSH_AUTH_SUCCESS;	/* "this key would do" */
	pthread_mutex_lock(&ss->lock);
	snprintf(ss->fingerprint, sizeof(ss->fingerprint), "%s",
	    res.fingerprint);
	ss->key = res;
	ss->authenticated = true;
	pthread_mutex_unlock(&ss->lock);
	pending_drop(ss);
	audit_auth_ok(ss->peer, ss->user, res.fingerprint, res.comment);
	return SSH_AUTH_SUCCESS;
}

/* The connection's channel table, made on its first channel; NULL when
 * there is no memory. */
static struct ssh_chans *
serving_chans(struct ssh_serving *ss)
{
	if (ss->chans == NULL)
		ss->chans = ssh_chans_new(ss->session, ss->peer, &ss->key,
		    ss->plain_fd);
	return ss->chans;
}

static ssh_channel
server_open_session(ssh_session session, void *userdata)
{
	struct ssh_serving *ss = userdata;

	(void)session;
	if (!ss->authenticated || serving_chans(ss) == NULL)
		return NULL;
	return ssh_chans_open(ss->chans);
}

/* direct-tcpip (ssh -L); every other message gets libssh's default. */
static int
server_message(ssh_session session, ssh_message msg, void *userdata)
{
	struct ssh_serving *ss = userdata;

	(void)session;
	if (!ss->authenticated ||
	    ssh_message_type(msg) != SSH_REQUEST_CHANNEL_OPEN ||
	    ssh_message_subtype(msg) != SSH_CHANNEL_DIRECT_TCPIP ||
	    serving_chans(ss) == NULL)
		return 1;
	return ssh_chans_forward(ss->chans, msg) ? 0 : 1;
}

/*
 * Key exchange and authentication.  0 when authenticated: channels may
 * come at any time after that (ssh -N opens none until it is used).
 */
static int
server_handshake(struct ssh_serving *ss)
{
	uint64_t deadline = ll_now_ms() + (ss->path != AUDIT_PATH_CONSOLE ?
	    SSH_SERVER_AUTH_MS : SSH_SERVER_AUTH_CONSOLE_MS);
	ssh_event ev;
	int rc = -1;

	if (ssh_handle_key_exchange(ss->session) != SSH_OK) {
		log_info("%s: SSH key exchange failed: %s", ss->peer,
		    ssh_get_error(ss->session));
		return -1;
	}
	log_debug("%s: SSH kex %s, cipher %s in / %s out, mac %s in / %s out",
	    ss->peer, ssh_get_kex_algo(ss->session),
	    ssh_get_cipher_in(ss->session), ssh_get_cipher_out(ss->session),
	    ssh_get_hmac_in(ss->session), ssh_get_hmac_out(ss->session));
	if ((ev = ssh_event_new()) == NULL ||
	    ssh_event_add_session(ev, ss->session) != SSH_OK) {
		if (ev != NULL)
			ssh_event_free(ev);
		return -1;
	}
	while (!ss->authenticated) {
		if (ssh_event_dopoll(ev, 1000) == SSH_ERROR) {
			log_info("%s: SSH session ended before authentication: "
			    "%s", ss->peer, ssh_get_error(ss->session));
			goto out;
		}
		if (ss->refused >= SSH_SERVER_TRIES_MAX) {
			log_info("%s: %d keys refused; hanging up", ss->peer,
			    ss->refused);
			goto out;
		}
		if (ll_now_ms() > deadline) {
			log_info("%s: not authenticated in time; hanging up",
			    ss->peer);
			goto out;
		}
	}
	rc = 0;
out:
	ssh_event_remove_session(ev, ss->session);
	ssh_event_free(ev);
	/* Only a refused key is a failed login; a client that leaves after
	 * the key exchange (say, over our host key) is not. */
	if (!ss->authenticated && ss->refused > 0)
		audit_auth_failed(ss->path, ss->peer, ss->user, ss->refused_fp,
		    ss->refused_why, ll_now_ms());
	return rc;
}

/* Poll callback for a channel's fd: the event only has to wake us. */
static int
server_fd_ready(socket_t fd, int revents, void *userdata)
{
	(void)fd;
	(void)revents;
	(void)userdata;
	return 0;
}

/* Has the loop closed its end of the plain socketpair (ending us)? */
static bool
server_plain_hung_up(struct ssh_serving *ss)
{
	struct pollfd pfd = { .fd = ss->plain_fd, .events = 0 };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLERR));
}

/*
 * Has the link session or the loop ended us?  The plain side hanging up
 * says so, unless the lifeline channel has ended beside others: then it
 * hung up because of that channel, and the connection goes on (ssh's
 * ControlMaster) until the peer leaves or the link under it ends.  A
 * connection that only ever had the lifeline channel (lifeline's own
 * client) ends with it, as its client expects.
 */
static bool
server_plain_ended(struct ssh_serving *ss, bool lifeline_ended)
{
	if (lifeline_ended && ssh_chans_opened(ss->chans) > 1)
		return false;
	return server_plain_hung_up(ss);
}

/* A send to a network peer that takes nothing ends after stall_ms. */
static void
server_send_timeout(struct ssh_serving *ss, int stall_ms)
{
	struct timeval tv = { .tv_sec = stall_ms / 1000,
	    .tv_usec = (stall_ms % 1000) * 1000 };
	socket_t sock = ssh_get_fd(ss->session);

	if (stall_ms > 0 && sock != SSH_INVALID_SOCKET)
		setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/*
 * Serve the channels until the peer leaves or the agent's loop closes the
 * plain side.  Non-blocking: nothing waits in libssh, and the channels'
 * fds join the event so that output (or room for input) wakes us.
 */
static void
server_channels(struct ssh_serving *ss)
{
	struct pollfd fds[SSH_SERVER_CHAN_FDS];
	int n, i, wait_ms, added = 0, added_fds[SSH_SERVER_CHAN_FDS];
	int stall_ms = ss->peer_addr[0] != '\0' ? LL_SSH_STALL_MS : 0;
	struct ll_ssh_liveness live;
	bool lifeline_ended = false;
	ssh_event ev;

	if (serving_chans(ss) == NULL || (ev = ssh_event_new()) == NULL)
		return;
	if (ssh_event_add_session(ev, ss->session) != SSH_OK) {
		ssh_event_free(ev);
		return;
	}
	ssh_set_blocking(ss->session, 0);
	server_send_timeout(ss, stall_ms);
	ll_ssh_liveness_start(&live, ss->session, stall_ms);
	for (;;) {
		wait_ms = 1000;
		if (ssh_chans_step(ss->chans, &wait_ms) < 0)
			lifeline_ended = true;
		if (server_plain_ended(ss, lifeline_ended)) {
			log_info("%s: the link session ended; closing SSH",
			    ss->peer);
			break;
		}
		if (ssh_get_status(ss->session) & (SSH_CLOSED |
		    SSH_CLOSED_ERROR))
			break;
		if (ll_ssh_liveness_check(&live, ss->session, &wait_ms) != 0) {
			log_info("%s: SSH peer silent for %d s (no data, no "
			    "answer to keepalives): hanging up", ss->peer,
			    stall_ms / 1000);
			break;
		}
		for (i = 0; i < added; i++)
			ssh_event_remove_fd(ev, added_fds[i]);
		n = ssh_chans_fds(ss->chans, fds, SSH_SERVER_CHAN_FDS);
		for (added = 0, i = 0; i < n; i++) {
			if (ssh_event_add_fd(ev, fds[i].fd, fds[i].events,
			    server_fd_ready, ss) == SSH_OK)
				added_fds[added++] = fds[i].fd;
		}
		if (ssh_event_dopoll(ev, wait_ms) == SSH_ERROR) {
			log_info("%s: SSH session ended: %s", ss->peer,
			    ssh_get_error(ss->session));
			break;
		}
	}
	ll_ssh_liveness_stop(&live, ss->session);
	for (i = 0; i < added; i++)
		ssh_event_remove_fd(ev, added_fds[i]);
	ssh_event_remove_session(ev, ss->session);
	ssh_event_free(ev);
	ssh_set_blocking(ss->session, 1);
}

static void *
server_thread(void *arg)
{
	struct ssh_serving *ss = arg;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	if (server_handshake(ss) == 0) {
		log_info("%s: SSH channels for %s", ss->peer, ss->fingerprint);
		server_channels(ss);
	}
	ssh_chans_free(ss->chans);
	ssh_disconnect(ss->session);	/* closes the cipher fd */
	ssh_free(ss->session);
	close(ss->plain_fd);
	pending_drop(ss);
	serving_unref(ss);
	pthread_mutex_lock(&live_lock);
	if (--live_threads == 0)
		pthread_cond_broadcast(&live_cond);
	pthread_mutex_unlock(&live_lock);
	return NULL;
}

int
ssh_server_start(int cipher_fd, enum audit_path path, const char *peer,
    const char *peer_addr, const char *limit_peer, int *plain_fd,
    struct ssh_serving **out)
{
	struct ssh_serving *ss;
	pthread_attr_t attr;
	pthread_t tid;
	long timeout = SSH_SERVER_TIMEOUT_S;
	int fds[2] = { -1, -1 }, flags;
	bool net = path != AUDIT_PATH_CONSOLE;

	/*
	 * The failure limit and the pending cap guard the network paths,
	 * each its own: nobody on one may lock the operator out of another,
	 * and the console is never limited.
	 */
	if (net && !audit_auth_allowed(path, ll_now_ms())) {
		log_warn("%s: too many failed authentications on %s; refused",
		    peer, audit_path_name(path));
		close(cipher_fd);
		return LL_ERR_BUSY;
	}
	if (net && !ssh_server_login_take(path, limit_peer, peer)) {
		close(cipher_fd);
		return LL_ERR_AGAIN;
	}
	/* From here on a failure drops what pending_take counted. */
	if ((ss = calloc(1, sizeof(*ss))) == NULL ||
	    (ss->session = ssh_new()) == NULL ||
	    ll_ssh_socketpair(fds) != 0) {
		close(cipher_fd);
		if (ss != NULL && ss->session != NULL)
			ssh_free(ss->session);
		free(ss);
		if (net)
			ssh_server_login_release(path, limit_peer);
		log_error("%s: out of memory for an SSH session", peer);
		return LL_ERR_NOMEM;
	}
	pthread_mutex_init(&ss->lock, NULL);
	ss->pending = net;
	ss->path = path;
	snprintf(ss->limit_peer, sizeof(ss->limit_peer), "%s",
	    net ? limit_peer : "");
	ss->refs = 2;			/* the thread's and the caller's */
	ss->plain_fd = fds[1];
	snprintf(ss->peer, sizeof(ss->peer), "%s", peer);
	snprintf(ss->peer_addr, sizeof(ss->peer_addr), "%s",
	    peer_addr != NULL ? peer_addr : "");
	/* libssh wants a blocking socket in a blocking session. */
	if ((flags = fcntl(cipher_fd, F_GETFL)) >= 0)
		fcntl(cipher_fd, F_SETFL, flags & ~O_NONBLOCK);
	ssh_options_set(ss->session, SSH_OPTIONS_TIMEOUT, &timeout);
	/*
	 * Inside a link (a console, --listen) the line may be slow: one
	 * algorithm of each kind (ssh-common.h).  --listen-ssh keeps libssh's
	 * defaults for whatever client comes.
	 */
	if (path != AUDIT_PATH_SSH &&
	    ll_ssh_link_algorithms(ss->session, true) != SSH_OK) {
		log_error("%s: cannot set the SSH algorithms: %s", peer,
		    ssh_get_error(ss->session));
		close(cipher_fd);
		goto fail;
	}
	ss->server_cb.userdata = ss;
	ss->server_cb.auth_pubkey_function = server_auth_pubkey;
	ss->server_cb.channel_open_request_session_function =
	    server_open_session;
	ssh_callbacks_init(&ss->server_cb);
	ssh_set_server_callbacks(ss->session, &ss->server_cb);
	ssh_set_message_callback(ss->session, server_message, ss);
	ssh_set_auth_methods(ss->session, SSH_AUTH_METHOD_PUBLICKEY);
	if (ssh_bind_accept_fd(server_bind, ss->session, cipher_fd) !=
	    SSH_OK) {
		/* The session may own the fd by now: ssh_free closes it. */
		log_warn("%s: cannot start SSH: %s", peer,
		    ssh_get_error(server_bind));
		goto fail;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_mutex_lock(&live_lock);
	live_threads++;
	pthread_mutex_unlock(&live_lock);
	if (pthread_create(&tid, &attr, server_thread, ss) != 0) {
		pthread_mutex_lock(&live_lock);
		live_threads--;
		pthread_mutex_unlock(&live_lock);
		pthread_attr_destroy(&attr);
		log_error("%s: cannot start a thread for SSH", peer);
		goto fail;
	}
	pthread_attr_destroy(&attr);
	*plain_fd = fds[0];
	*out = ss;
	return 0;
fail:
	ssh_free(ss->session);
	close(fds[0]);
	close(fds[1]);
	if (net)
		ssh_server_login_release(path, limit_peer);
	pthread_mutex_destroy(&ss->lock);
	free(ss);
	return LL_ERR_IO;
}
