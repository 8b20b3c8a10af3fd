/*
 * lifeline client internals.  lifeline.c parses the global options and finds
 * the subcommand in the table; each cmd-*.c file implements one subcommand
 * on top of conn.c (connect, hello, request/reply) and output.c (messages,
 * JSON, exit codes).
 */
#ifndef LL_CLIENT_H
#define LL_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "session.h"

/* Exit codes (docs/lifeline.1).  exec passes the remote status through. */
enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1,	/* the operation ran and failed */
	EXIT_USAGE = 2,		/* bad command line */
	EXIT_CONNECT = 3,	/* the transport could not be opened */
	EXIT_NOAGENT = 4,	/* nothing answered on the path */
	EXIT_LOST = 5,		/* the link was lost during the command */
	EXIT_PROTOCOL = 6,	/* incompatible or misbehaving agent */
	EXIT_EXEC_OWN = 255,	/* exec: lifeline itself failed */
};
/* An interrupted command exits 128 + the signal (130 for Ctrl-C). */


struct client_options {
	const char *via;
	bool insecure;
	bool json;
	int verbose;
	int encoding;
	unsigned baud;			/* pacing when the path's rate is known */
	int timeout_ms;			/* connect timeout */
	int reconnect_ms;		/* --reconnect: follow a job again */
	/* SSH (docs/lifeline.1, SECURITY) */
	const char *identity;		/* --identity FILE */
	bool no_pty;			/* --no-pty (ssh:// gateways) */
	bool accept_new_host_key;	/* --accept-new-host-key */
	const char *host_key_fingerprint; /* --host-key-fingerprint SHA256:.. */
	const char *known_hosts;	/* --known-hosts FILE (agent keys) */
	/* console paths (via.c) */
	const char *ready;		/* --ready TEXT (exec:) */
	unsigned ready_ms;		/* --ready-timeout, 0 = 60 s */
	char *exec_quit;		/* --exec-quit, unescaped */
	const char *exec_quit_text;	/* --exec-quit as given (for run) */
	bool take_over;			/* --take-over (ipmi://) */
};

extern struct client_options client_opts;

/* A call in progress: what to do with streamed data and events. */
struct call_handlers {
	void (*data)(void *ctx, uint8_t channel, const uint8_t *p, size_t n);
	void (*eof)(void *ctx, uint8_t channel);
	void (*event)(void *ctx, json_t *event);
	/* After the REPLY, keep receiving until this says all data is in
	 * (DATA travels on another stream and may trail the REPLY). */
	bool (*complete)(void *ctx);
	/*
	 * Uploads: called on every turn of the loop while the request runs;
	 * send DATA/EOF for request id with ll_session_send_data/_eof while
	 * ll_session_room(s) > 0.  Returns 1 while it has more to send (so
	 * the loop does not sleep while the session has room for it), 0 once
	 * all is sent; a negative return aborts the call (with the message in
	 * conn err set by the callback via conn_set_error).
	 */
	int (*produce)(void *ctx, struct ll_session *s, uint32_t id);
	/*
	 * Downloads: on an interrupt, ask the agent to cancel but do not wait
	 * for its answer.  Every message already in, then the received part
	 * of a DATA record still arriving, goes to data() first; conn_call
	 * then returns conn_interrupt_status().  What crossed the line is
	 * kept; what is still on its way is not waited for.
	 */
	bool stop_on_interrupt;
	void *ctx;
};

struct ll_ssh_client;

struct conn {
	struct ll_session *s;
	struct ll_ssh_client *ssh;	/* SSH inside the link, or NULL */
	json_t *agent_hello;
	uint32_t next_id;
	char err[1024];
	int err_exit;			/* EXIT_* for err */
	uint64_t heard_ms;		/* when the agent's frames last came */
	uint64_t heard_frames;		/* their count then */
	char err_code[32];		/* agent error code, when from the agent */
};

/* conn.c */
/*
 * The next conn_open() uses t, already open (attach logged in on it), instead
 * of opening --via; conn_open takes ownership.
 */
void conn_preset_transport(struct ll_transport *t);
int conn_open(struct conn *c);
/* Open --via as a raw byte path (console, attach), with the SSH options of
 * the command line for ssh:// gateways; as ll_transport_open(). */
int conn_open_transport(struct ll_transport **t, char *err, size_t errlen);		/* 0 or EXIT_*, message in c->err */
void conn_close(struct conn *c);
/* The link layer's log (ll_log_fn) shown with -v/-vv: ctx is the prefix
 * (a string; NULL: "link"). */
void client_link_log(void *ctx, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * Send a request and wait for its end.  0 with *reply (caller decrefs) on
 * REPLY; EXIT_FAILED with err/err_code on an agent ERROR; EXIT_LOST etc. when
 * the link fails.  reply may be NULL.
 */
int conn_call(struct conn *c, const char *op, json_t *args,
    const struct call_handlers *h, json_t **reply);
/*
 * The whole of a one-request command: open a session, call op, close.  0 with
 * *reply (caller decrefs) on REPLY; otherwise the EXIT_* code of conn_open or
 * conn_call, its message already printed, and *reply NULL.  args stays the
 * caller's; h and reply may be NULL.
 */
int conn_run(const char *op, json_t *args, const struct call_handlers *h,
    json_t **reply);
/* Where lifeline keeps the agents' host keys: --known-hosts, else XDG. */
const char *conn_known_hosts(void);
struct ll_ssh_client_config;
/*
 * The SSH engine's settings for SSH inside the link, from the command line
 * (user root, lifeline's known-hosts file under the --via spec, --identity,
 * --host-key-fingerprint, --accept-new-host-key).
 */
void conn_tunnel_config(struct ll_ssh_client_config *cfg);
int conn_set_error(struct conn *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Cancel the call in progress (from a signal-driven flag). */
extern volatile int conn_interrupted;
extern volatile int conn_signal;	/* the last signal that set it */
/* The exit status of a command a signal stopped: 128 + the signal. */
int conn_interrupt_status(void);

/* via.c */
/*
 * Open --via as conn_open_transport() does, with the console-path options:
 * an ipmi:// BMC holding its SOL payload for another session is asked to
 * let go (--take-over, or yes on a terminal) and opened again.
 */
int via_open(struct ll_transport **t, char *err, size_t errlen);
/* Decode \r \n \t \\ \xHH in s into a new string *out (message on error). */
int via_unescape(const char *s, char **out);

/* lifeline.c: run the subcommand argv[0] with its arguments. */
int client_dispatch(int argc, char **argv);

/* output.c */
/*
 * A command-line value as a JSON string for a request argument: NULL, with
 * "CMD: WHAT \"VALUE\" is not UTF-8 text" printed, when jansson refuses it
 * (a request must never go without an argument that was given).  Paths go
 * as byte strings instead (ll_msg_set_bytes), which carry any bytes.
 */
json_t *arg_text(const char *cmd, const char *what, const char *s);
void msg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_verbose(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void print_json(json_t *obj);	/* to stdout, one line; steals obj */
/* A command's result: print_json with --json, else human(res).  Steals res,
 * returns EXIT_OK. */
int print_reply(json_t *res, void (*human)(json_t *res));
void console_text(void *ctx, const uint8_t *p, size_t n);

/*
 * Remote stdout and stderr of a call (DATA on channels 1 and 2): written to
 * our fds 1 and 2 as they come, or with collect (--json) kept in buf, up to
 * 16 MiB a channel, for stream_out_json.  Use stream_out_data, _eof and
 * _complete as the call_handlers with ctx the struct stream_out.
 */
struct stream_out {
	bool collect;
	bool eof[3];
	bool write_failed;	/* a write to fd 1 or 2 failed; rest dropped */
	char *buf[3];		/* collected bytes, indexed by channel */
	size_t len[3];
	/* Bytes received on each channel (written, collected or not): where
	 * a job's output continues after a lost link. */
	uint64_t received[3];
	/* Called before DATA is written (not collected): fsck's bar erase. */
	void (*before_write)(struct stream_out *o);
	void *hook_ctx;		/* the hook's own state */
};
void stream_out_init(struct stream_out *o, bool collect);
/* Frees the buffers; with failed, prints it if a write failed. */
void stream_out_cleanup(struct stream_out *o, const char *failed);
/* All n bytes to fd, retrying EINTR; a failure sets write_failed. */
void stream_out_write(struct stream_out *o, int fd, const void *p, size_t n);
void stream_out_data(void *ctx, uint8_t ch, const uint8_t *p, size_t n);
void stream_out_eof(void *ctx, uint8_t ch);
bool stream_out_complete(void *ctx);	/* EOF seen on stdout and stderr */
/*
 * Sets obj's "stdout" and "stderr" to the collected bytes as strings.  Bytes
 * that are not UTF-8 go, with base64, to "stdout_base64"/"stderr_base64"
 * instead, else the key is null.
 */
void stream_out_json(json_t *obj, const struct stream_out *o, bool base64);

/* Subcommands: one file each, one line each in the table in lifeline.c. */
struct client_cmd {
	const char *name;
	const char *usage;
	const char *summary;
	int (*run)(int argc, char **argv);
};
int cmd_info(int argc, char **argv);
int cmd_ping(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_disks(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_mount(int argc, char **argv);
int cmd_umount(int argc, char **argv);
int cmd_passwd(int argc, char **argv);
int cmd_authorize_key(int argc, char **argv);
int cmd_fsck(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_put(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_reboot(int argc, char **argv);
int cmd_console(int argc, char **argv);
int cmd_attach(int argc, char **argv);
int cmd_jobs(int argc, char **argv);
int cmd_output(int argc, char **argv);
int cmd_wait(int argc, char **argv);
int cmd_kill(int argc, char **argv);
/* cmd-jobs.c: a job's status (exec, output, wait) as an exit status: its
 * own, 128 + N for a signal N (said on stderr), else EXIT_EXEC_OWN. */
int job_exit_code(json_t *res);
/* The link was lost while following job (0: id unknown) from offsets
 * from[1..2] (NULL: 0), o having received more: say that WHAT runs on,
 * and the command that continues at the next byte. */
struct stream_out;
void job_lost_hint(const char *what, long job, const uint64_t *from,
    const struct stream_out *o);
/*
 * The link was lost (*rc EXIT_LOST) while o received job's output from
 * offsets from[1..2] (NULL: 0): reconnect with back-off for up to
 * --reconnect and follow the job again from the next byte, into o.  Sets
 * *rc and *reply (the job's status) as conn_call would; without a job id
 * or with --reconnect 0 it only says how to continue.
 */
void job_reconnect(const char *what, long job, const uint64_t *from,
    struct stream_out *o, int *rc, json_t **reply);
int cmd_proxy(int argc, char **argv);
int cmd_ssh_config(int argc, char **argv);
int cmd_shell(int argc, char **argv);

#endif
