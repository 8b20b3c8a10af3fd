/*
 * lifeline run: a script of lifeline commands.  The whole script is read and
 * split into words first (a small shell-like splitter: quotes, backslashes,
 * $NAME and ${NAME} from the environment, # comments, \-newline
 * continuations; no command substitution, globbing, pipes or redirections),
 * so a mistake on line 9 is reported before line 1 runs.  Then each command
 * runs as a child process of this same binary (/proc/self/exe) with the
 * global options of this invocation that matter, so a line behaves exactly
 * as it would on the command line.  Children read /dev/null.  The first
 * failure stops the script and becomes our exit status; with --keep-going
 * the rest still runs and the first failure's status is returned at the end.
 * With --json each child's output is captured and one transcript object is
 * printed at the end.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "client.h"
#include "msg.h"
#include "link.h"
#include "run-script.h"

#define RUN_SCRIPT_MAX	(1024 * 1024)		/* bytes of script */
#define RUN_OUTPUT_MAX	(16 * 1024 * 1024)	/* --json: per stream */

/* Output of a child captured for --json. */
struct run_capture {
	char *buf;
	size_t len;
	bool truncated;
};

static volatile sig_atomic_t run_child_pid;
static volatile sig_atomic_t run_stop;

/* Read the whole script (a file, or stdin for "-"). */
static char *
run_read(const char *path, size_t *lenp, char *err, size_t errlen)
{
	char *buf = NULL, *nb;
	size_t len = 0, cap = 0;
	ssize_t r;
	int fd;

	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	for (;;) {
		if (len + 4096 > cap) {
			cap = cap == 0 ? 8192 : cap * 2;
			if ((nb = realloc(buf, cap)) == NULL) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			buf = nb;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "reading %s: %s", path,
			    strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > RUN_SCRIPT_MAX) {
			snprintf(err, errlen, "%s is larger than %d bytes",
			    path, RUN_SCRIPT_MAX);
			goto fail;
		}
	}
	if (fd != STDIN_FILENO)
		close(fd);
	*lenp = len;
	return buf;
fail:
	if (fd != STDIN_FILENO)
		close(fd);
	free(buf);
	return NULL;
}

static void
run_header(const struct run_step *st)
{
	int i;

	fprintf(stderr, "== [%d]", st->line);
	for (i = 0; i < st->argc; i++) {
		fputc(' ', stderr);
		run_print_word(stderr, st->argv[i]);
	}
	fputc('\n', stderr);
	fflush(stderr);
}

/*
 * The child's argument vector: "lifeline", the global options of this
 * invocation that the table marks CMD_OPT_FORWARD, as they were given
 * (options.c), then the line's words.
 */
static char **
run_child_argv(const struct run_step *st)
{
	char *const *fwd;
	char **av;
	int nfwd, n = 0, i;

	client_options_forwarded(&nfwd, &fwd);
	av = calloc((size_t)(1 + nfwd + st->argc + 1), sizeof(*av));
	if (av == NULL)
		return NULL;
	av[n++] = "lifeline";
	for (i = 0; i < nfwd; i++)
		av[n++] = fwd[i];
	for (i = 0; i < st->argc; i++)
		av[n++] = st->argv[i];
	av[n] = NULL;
	return av;
}

/* Forward a termination request to the running step, then stop. */
static void
run_on_signal(int sig)
{
	run_stop = 1;
	conn_interrupted++;
	if (run_child_pid > 0 && sig != SIGINT)
		kill((pid_t)run_child_pid, SIGTERM);
}

static void
run_capture_add(struct run_capture *cap, const char *p, size_t n)
{
	char *nb;

	if (cap->len + n > RUN_OUTPUT_MAX) {
		cap->truncated = true;
		n = RUN_OUTPUT_MAX - cap->len;
	}
	if (n == 0)
		return;
	if ((nb = realloc(cap->buf, cap->len + n + 1)) == NULL) {
		cap->truncated = true;
		return;
	}
	memcpy(nb + cap->len, p, n);
	cap->buf = nb;
	cap->len += n;
	cap->buf[cap->len] = '\0';
}

/* Read both pipes until both end (--json). */
static void
run_collect(int fds[2], struct run_capture cap[2])
{
	struct pollfd pfd[2];
	char buf[16384];
	ssize_t r;
	int i, open_fds = 2;

	while (open_fds > 0) {
		for (i = 0; i < 2; i++) {
			pfd[i].fd = fds[i];
			pfd[i].events = POLLIN;
		}
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < 2; i++) {
			if (fds[i] < 0 || pfd[i].revents == 0)
				continue;
			r = read(fds[i], buf, sizeof(buf));
			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (r <= 0) {
				close(fds[i]);
				fds[i] = -1;
				open_fds--;
				continue;
			}
			run_capture_add(&cap[i], buf, (size_t)r);
		}
	}
}

/*
 * Run one step; its exit status (128 + N for a signal N, 255 when it could
 * not be started).  With cap (--json) stdout and stderr are captured.
 */
static int
run_step_exec(const struct run_step *st, struct run_capture cap[2])
{
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, fds[2];
	char **av;
	pid_t pid;
	int status, devnull;

	if ((av = run_child_argv(st)) == NULL) {
		msg_error("run: out of memory");
		return EXIT_EXEC_OWN;
	}
	if (cap != NULL && (pipe2(out, O_CLOEXEC) != 0 ||
	    pipe2(err, O_CLOEXEC) != 0)) {
		msg_error("run: pipe: %s", strerror(errno));
		goto fail;
	}
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0) {
		msg_error("run: fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0) {
		if ((devnull = open("/dev/null", O_RDONLY)) < 0 ||
		    dup2(devnull, STDIN_FILENO) < 0)
			_exit(EXIT_EXEC_OWN);
		if (cap != NULL && (dup2(out[1], STDOUT_FILENO) < 0 ||
		    dup2(err[1], STDERR_FILENO) < 0))
			_exit(EXIT_EXEC_OWN);
		execv("/proc/self/exe", av);
		dprintf(STDERR_FILENO, "lifeline: run: cannot run "
		    "/proc/self/exe: %s\n", strerror(errno));
		_exit(EXIT_EXEC_OWN);
	}
	run_child_pid = pid;
	free(av);
	av = NULL;
	if (cap != NULL) {
		close(out[1]);
		close(err[1]);
		fds[0] = out[0];
		fds[1] = err[0];
		run_collect(fds, cap);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			run_child_pid = 0;
			msg_error("run: waitpid: %s", strerror(errno));
			return EXIT_EXEC_OWN;
		}
	}
	run_child_pid = 0;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return EXIT_EXEC_OWN;
fail:
	free(av);
	if (out[0] >= 0) {
		close(out[0]);
		close(out[1]);
	}
	if (err[0] >= 0) {
		close(err[0]);
		close(err[1]);
	}
	return EXIT_EXEC_OWN;
}

/* Captured bytes as "key" when UTF-8, else "key_base64". */
static void
run_json_output(json_t *obj, const char *key, const struct run_capture *cap)
{
	json_t *s = json_stringn(cap->buf != NULL ? cap->buf : "", cap->len);
	unsigned char *b;
	char k64[32];
	size_t bcap;

	if (cap->truncated) {
		snprintf(k64, sizeof(k64), "%s_truncated", key);
		json_object_set_new(obj, k64, json_true());
	}
	if (s != NULL) {
		json_object_set_new(obj, key, s);
		return;
	}
	bcap = 4 * ((cap->len + 2) / 3) + 1;
	if ((b = malloc(bcap)) == NULL)
		return;
	EVP_EncodeBlock(b, (const unsigned char *)cap->buf, (int)cap->len);
	snprintf(k64, sizeof(k64), "%s_base64", key);
	json_object_set_new(obj, k64, json_string((char *)b));
	free(b);
}

static json_t *
run_json_step(const struct run_step *st, int status, long long ms,
    const struct run_capture cap[2])
{
	json_t *o, *av, *res;
	int i;

	av = json_array();
	for (i = 0; i < st->argc; i++)
		json_array_append_new(av, ll_msg_text(st->argv[i]));
	o = json_pack("{s:i, s:o, s:i, s:I}", "line", st->line, "argv", av,
	    "exit_status", status, "duration_ms", (json_int_t)ms);
	run_json_output(o, "stdout", &cap[0]);
	run_json_output(o, "stderr", &cap[1]);
	/* Each step ran with --json: its result, parsed, when it is one. */
	if (cap[0].len > 0 && (res = json_loadb(cap[0].buf, cap[0].len,
	    JSON_DECODE_ANY, NULL)) != NULL)
		json_object_set_new(o, "result", res);
	return o;
}

static const struct cmd_option run_options[] = {
	{ "keep-going", 'k', CMD_OPT_SHORT, NULL, "run the other lines after "
	  "a failure; exit with the first failure's status" },
	{ NULL, 0, 0, NULL, NULL }
};

static int
cmd_run(int argc, char **argv)
{
	struct run_script sc = { NULL, NULL, 0 };
	struct run_capture cap[2];
	struct sigaction sa;
	json_t *jsteps = NULL, *o;
	bool keep_going = false;
	char err[512], *buf;
	size_t len, i, ran = 0;
	int ch, status, first = 0, failed = 0;
	uint64_t t0;

	optind = 0;
	while ((ch = cmd_getopt(&cmd_run_entry, argc, argv)) != -1) {
		switch (ch) {
		case 'k':
			keep_going = true;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1)
		goto usage;
	sc.name = argv[optind];
	if ((buf = run_read(sc.name, &len, err, sizeof(err))) == NULL) {
		msg_error("run: %s", err);
		return EXIT_USAGE;
	}
	if (run_parse(&sc, buf, len, err, sizeof(err)) != 0 ||
	    run_check(&sc, err, sizeof(err)) != 0) {
		free(buf);
		run_script_free(&sc);
		msg_error("run: %s: %s", strcmp(sc.name, "-") == 0 ?
		    "stdin" : sc.name, err);
		return EXIT_USAGE;
	}
	free(buf);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = run_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (client_opts.json)
		jsteps = json_array();
	if (client_opts.insecure) {
		/* once for the script, not once a line */
		conn_warn_insecure();
		setenv("LIFELINE_INSECURE_WARNED", "1", 1);
	}
	for (i = 0; i < sc.nsteps && !run_stop; i++) {
		memset(cap, 0, sizeof(cap));
		if (!client_opts.json)
			run_header(&sc.steps[i]);
		t0 = ll_now_ms();
		status = run_step_exec(&sc.steps[i],
		    client_opts.json ? cap : NULL);
		ran++;
		if (jsteps != NULL)
			json_array_append_new(jsteps, run_json_step(
			    &sc.steps[i], status, ll_now_ms() - t0, cap));
		free(cap[0].buf);
		free(cap[1].buf);
		if (status == 0)
			continue;
		failed++;
		if (first == 0)
			first = status;
		if (!client_opts.json)
			msg_error("run: line %d (%s) failed with exit status "
			    "%d", sc.steps[i].line, sc.steps[i].argv[0],
			    status);
		if (!keep_going)
			break;
	}
	if (run_stop && first == 0)
		first = 130;
	if (!client_opts.json && ran < sc.nsteps)
		msg_error("run: stopped; %zu of %zu commands not run%s",
		    sc.nsteps - ran, sc.nsteps, run_stop ? " (interrupted)" :
		    " (--keep-going runs them)");
	else if (!client_opts.json && failed > 0)
		msg_error("run: %d of %zu commands failed", failed, sc.nsteps);
	if (jsteps != NULL) {
		o = json_pack("{s:o, s:i, s:I, s:b}", "steps", jsteps,
		    "failed", failed, "not_run", (json_int_t)(sc.nsteps - ran),
		    "interrupted", run_stop != 0);
		print_json(o);
	}
	run_script_free(&sc);
	return first;
usage:
	return cmd_usage_error(&cmd_run_entry);
}

const struct client_cmd cmd_run_entry = {
	.name = "run",
	.operands = "SCRIPT|-",
	.summary = "run a script of lifeline commands, one a line",
	.options = run_options,
	.flags = CMD_NO_VIA,
	.run = cmd_run,
};
