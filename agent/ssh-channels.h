/*
 * The session channels of the agent's SSH server besides a lone "lifeline"
 * subsystem: what OpenSSH's ssh, scp, sftp, rsync and Ansible ask sshd for.
 *
 *	exec		the command through /bin/sh -c; exit status or signal
 *	shell		the login shell, on a pty when pty-req came first
 *	pty-req, window-change, env (TERM, LANG, LC_* only)
 *	subsystem sftp	the rescue host's sftp-server, else the deploy
 *			bundle's (-R when read-only)
 *	subsystem lifeline  records to the agent's loop (one per connection,
 *			alone or beside the others)
 *
 * One struct ssh_chans per connection, driven by the connection's engine
 * thread (ssh-server.c): it owns the channels' callbacks and their children
 * and copies bytes between each channel and its fds, bounded by the peer's
 * window one way and by a pending chunk the other.  Each channel passes the
 * agent's --allow and --read-only (shell, exec and forwarding write; sftp
 * is read-only there) and the key's no-pty, and is audited.
 */
#ifndef LL_SSH_CHANNELS_H
#define LL_SSH_CHANNELS_H

#include <poll.h>
#include <stdbool.h>
#include <sys/types.h>

#include <libssh/libssh.h>

struct ssh_chans;

struct authkeys_result;

/*
 * For connection s, authenticated with key (its fingerprint for the audit,
 * its deny flags and permitopen= list for the channels, copied);
 * lifeline_fd is the plain side of the lifeline subsystem (the agent's
 * loop reads records there), not owned.  NULL on no memory.
 */
struct ssh_chans *ssh_chans_new(ssh_session s, const char *peer,
    const struct authkeys_result *key, int lifeline_fd);
/* Free the table: children get SIGHUP, channels and fds are closed. */
void ssh_chans_free(struct ssh_chans *sc);

/* A session channel was asked for: a new channel with our callbacks. */
ssh_channel ssh_chans_open(struct ssh_chans *sc);
/*
 * msg asks for a direct-tcpip channel (ssh -L): connect and accept it
 * (true), or false when refused or the connection failed (logged; the
 * caller lets libssh refuse it).
 */
bool ssh_chans_forward(struct ssh_chans *sc, ssh_message msg);

/* Channels opened on the connection so far (those refused included). */
unsigned ssh_chans_opened(const struct ssh_chans *sc);

/*
 * Copy what can be copied now between every channel and its fds, end the
 * channels whose work is done.  *wait_ms is lowered to when it should be
 * called again at the latest.  0, or -1 when the lifeline channel ended
 * (its fd is then done with).
 */
int ssh_chans_step(struct ssh_chans *sc, int *wait_ms);
/*
 * The fds the engine should poll now (up to max), each once, with what to
 * wait for: POLLIN where output can be taken, POLLOUT where input waits.
 */
int ssh_chans_fds(const struct ssh_chans *sc, struct pollfd *fds, int max);

/*
 * The agent's loop reaped pid, which no request of its own claimed: maybe
 * one of our children.  Thread-safe.
 */
void ssh_chans_reaped(pid_t pid, int status);

#endif
