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
#include <stdio.h>

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
	EXIT_TIMEOUT = 124,	/* exec --timeout ran out, as timeout(1) */
	EXIT_EXEC_OWN = 255,	/* exec: lifeline itself failed */
};
/* An interrupted command exits 128 + the signal (130 for Ctrl-C). */


struct client_options {
	const char *via;
	const char *via_from;		/* "--via" or "LIFELINE_VIA" */
	bool insecure;
	bool json;
	int verbose;
	int encoding;
	bool no_compress;		/* --compress no: send no "zdata" cap */
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
	 * An upload read from an fd (exec's stdin): the fd whose input
	 * produce() waits for now, so that its arrival wakes the loop, or -1.
	 */
	int (*wake_fd)(void *ctx, struct ll_session *s);
	/*
	 * A job is waited for: an interrupt asks whether to stop it or only
	 * to stop waiting (job-ask.h) instead of cancelling the request.
	 */
	struct job_ask *ask;
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
struct job_ask;

struct conn {
	struct ll_session *s;
	struct ll_ssh_client *ssh;	/* SSH inside the link, or NULL */
	json_t *agent_hello;
	uint32_t next_id;
	char err[2048];
	int err_exit;			/* EXIT_* for err */
	uint64_t heard_ms;		/* when the agent's frames last came */
	uint64_t heard_frames;		/* their count then */
	char err_code[32];		/* agent error code, when from the agent */
	/* conn_call gives up waiting at this ll_now_ms() time with
	 * EXIT_TIMEOUT (0: never); the session stays usable (ping). */
	uint64_t call_deadline_ms;
	bool hello_pending;		/* our HELLO sent, the agent's not in */
};

/* conn.c */
/*
 * The next conn_open() uses t, already open (attach logged in on it), instead
 * of opening --via; conn_open takes ownership.
 */
void conn_preset_transport(struct ll_transport *t);
int conn_open(struct conn *c);		/* 0 or EXIT_*, message in c->err */
/*
 * conn_open for a command whose next step is conn_call: our HELLO is sent
 * and the agent's is not waited for; the first request goes right after
 * ours and conn_call takes the agent's HELLO before its reply, one round
 * trip less (0.4 s at 9600 baud; docs/protocol.md, "Hello").
 */
int conn_open_early(struct conn *c);
/* Open --via as a raw byte path (console, attach), with the SSH options of
 * the command line for ssh:// gateways; as ll_transport_open(). */
int conn_open_transport(struct ll_transport **t, char *err, size_t errlen);
/* The --insecure warning, once a process (and once for run's lines). */
void conn_warn_insecure(void);
/* The exit status for conn_open_transport's err: EXIT_USAGE when the spec
 * is malformed, else EXIT_CONNECT. */
int conn_transport_status(const char *err);
void conn_close(struct conn *c);
/*
 * A session over --via that carries an SSH connection through the link
 * (proxy, shell): fn gives it the tunnel's fds.  A direct SSH path needs
 * no link: refused, with direct_hint after the reason.  NULL with the
 * reason printed.
 */
struct ll_session *conn_tunnel_session(const char *cmd,
    const char *direct_hint, ll_tunnel_fn *fn, void *ctx);
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
/*
 * The link of c was lost: close it, then open a new session with back-off
 * (0.5 s, doubling up to 8 s) for up to --reconnect; Ctrl-C stops trying.
 * 0 once c is open again; EXIT_LOST (the reason printed) when no agent
 * answered in time, or at once with --reconnect 0.  what names what goes
 * on ("the checker runs on as job 3", "get /etc/passwd").
 */
#define CONN_RECONNECT_FIRST_MS	500
#define CONN_RECONNECT_MAX_MS	8000
int conn_reconnect(struct conn *c, const char *what);
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
/* All n bytes to fd, waiting while a non-blocking fd is full (a terminal
 * in raw mode): 0, or -1 when fd is gone. */
int out_write_all(int fd, const void *p, size_t n);
/* The agent's code of the first error (for output_json_failure). */
void output_error_code(const char *code);
/* A refusal the command recovered from (get's first try): not its error. */
void output_error_code_forget(void);
/*
 * With --json, when the command ends with status but printed no JSON: one
 * object {"error": {"code", "message"}, "exit_status"} on stdout, the
 * code the agent's or one for the status (usage, connect, no_agent, ...),
 * the message the first error printed.
 */
void output_json_failure(int status);
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

/*
 * Subcommands, tmux style: each cmd-*.c file exports one struct client_cmd
 * (its name, operands, summary, option table and run function) and
 * lifeline.c lists them.  Help, usage errors, the option parsing of
 * cmd_getopt() and shell completion all come from the entry (cmd.c).
 */
struct cmd_option {
	const char *name;	/* long name, without "--"; NULL: short only */
	int val;		/* what cmd_getopt() returns for it */
	int flags;		/* CMD_OPT_* */
	const char *arg;	/* its argument's name; NULL: takes none */
	const char *help;	/* what it does, for help */
};
#define CMD_OPT_SHORT	0x1	/* val is also the short option -val */
#define CMD_OPT_FORWARD	0x2	/* global: run passes it to each line */
#define CMD_OPT_HIDDEN	0x4	/* accepted but not shown (old names) */
#define CMD_OPT_NOT_IN_CMD 0x8	/* global, but not after the command */
#define CMD_OPT_CONFIG	0x10	/* global: a Target block may set it */
/* What cmd_getopt() returns for --help (client_dispatch answers it). */
#define CMD_HELP_VAL	0x1000
/* ... for a global option after the command that was refused. */
#define CMD_GLOBAL_ERR	0x1001
/* Global options after the command are CMD_GLOBAL_VAL + their index. */
#define CMD_GLOBAL_VAL	0x2000

struct client_cmd {
	const char *name;
	const char *operands;	/* after the options: "[SOURCE] [TARGET]" */
	const char *summary;	/* one line for the command list */
	const char *help;	/* more for lifeline help NAME, or NULL */
	const struct cmd_option *options;	/* ends with a NULL help */
	int flags;		/* CMD_* */
	int (*run)(int argc, char **argv);
};
/* Options end at the first operand: it starts a command of its own. */
#define CMD_STOP_AT_OPERAND	0x1
/* The run function reads its arguments itself (kill -SIGNAL). */
#define CMD_OWN_ARGS		0x2
/* Needs no path to the agent (help; run, whose lines each need one). */
#define CMD_NO_VIA		0x4

/* The entries, in the order help lists them (lifeline.c). */
extern const struct client_cmd *const client_cmds[];
/* The global options (options.c), ending with a NULL help. */
extern const struct cmd_option client_global_options[];

/* cmd.c */
/* The entry named name, or NULL. */
const struct client_cmd *cmd_find(const char *name);
/*
 * getopt_long over e's option table: GNU permutation (options may follow
 * operands) unless CMD_STOP_AT_OPERAND, never past "--".  Returns the
 * option's val, -1 at the end, '?' for a bad option (already reported by
 * client_dispatch before run is called).  Reset optind = 0 first.  The
 * global options are accepted too where the command does not use their
 * name or letter; client_dispatch applies them, run never sees them.
 */
int cmd_getopt(const struct client_cmd *e, int argc, char **argv);
/* "usage: lifeline NAME ..." and where help is, on stderr: EXIT_USAGE. */
int cmd_usage_error(const struct client_cmd *e);
/* The full help of e (NULL: the top-level help) on f. */
void cmd_help(FILE *f, const struct client_cmd *e);
/*
 * The options of one table for getopt_long: *longopts (caller frees) and
 * shortopts (at least 3 * n + 3 bytes), with prefix ("+:" or ":") first.
 */
struct option;
int cmd_getopt_spec(const struct cmd_option *opts, const char *prefix,
    struct option **longopts, char *shortopts, size_t len);
/* A bad option's message ("unknown option", "needs an argument"). */
void cmd_option_error(const char *who, const struct cmd_option *opts,
    int argc, char **argv, int ch);

/* options.c */
/*
 * Parse the global options of argv into client_opts; *first is the index of
 * the command.  0, EXIT_USAGE (message printed), or -1 when --help or
 * --version was answered (exit 0).
 */
int client_options_parse(int argc, char **argv, int *first);
/*
 * Apply global option o (with its argument, or NULL) as if it had come
 * before the command: 0, or EXIT_USAGE with the message printed.
 */
int client_global_apply(const struct cmd_option *o, const char *arg);
/*
 * A Target block's setting KEY VALUE (a flag takes yes or no): applied as
 * the option of that long name unless the option was given.  0, -2 when
 * KEY is not a setting, EXIT_USAGE when the value is refused.
 */
int client_global_setting(const char *key, const char *value);

/* targets.c */
/* Apply the settings of Target name (config files): 0 or EXIT_USAGE. */
int targets_apply(const char *name);
/* Print every target's name, one a line: 0 or EXIT_USAGE. */
int targets_list(void);
/*
 * The global options of this invocation that run passes to each line's
 * child, as they were given: *argc words in *argv (static, not to free).
 */
void client_options_forwarded(int *argc, char *const **argv);

extern const struct client_cmd cmd_info_entry, cmd_ping_entry,
    cmd_exec_entry, cmd_jobs_entry, cmd_output_entry, cmd_wait_entry,
    cmd_kill_entry, cmd_disks_entry, cmd_inspect_entry, cmd_mount_entry,
    cmd_umount_entry, cmd_passwd_entry, cmd_authorize_key_entry,
    cmd_fsck_entry, cmd_get_entry, cmd_put_entry, cmd_run_entry,
    cmd_reboot_entry, cmd_console_entry, cmd_attach_entry, cmd_proxy_entry,
    cmd_ssh_config_entry, cmd_shell_entry, cmd_known_hosts_entry,
    cmd_help_entry;
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
 * or with --reconnect 0 it only says how to continue.  ask (or NULL): the
 * Ctrl-C question of the call that was lost, asked again while following.
 */
void job_reconnect(const char *what, long job, const uint64_t *from,
    struct stream_out *o, struct job_ask *ask, int *rc, json_t **reply);

#endif
