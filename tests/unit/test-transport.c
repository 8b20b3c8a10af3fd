/*
 * Unit tests for the transports (proto/transport*.c) over real endpoints:
 * socat PTY pairs for tty: and serial: (skipped with a message when socat is
 * missing), child processes for exec:, and sockets on a private temporary
 * directory and 127.0.0.1 for unix: and tcp:.  Each test's teardown kills
 * the socat it started and removes the files it made, whether or not the
 * test passed.  Payloads come from a fixed-seed xorshift32 (printed).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "error.h"
#include "transport.h"
#include "testutil.h"

#define SEED		0x7a2b5eedU
#define IO_TIMEOUT_MS	3000

struct fixture {
	char	dir[64];
	char	a[96], b[96], sock[96];
	pid_t	socat;
};

static void
fill(uint8_t *p, size_t n, uint32_t seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)rnd(&seed);
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* Read exactly n bytes or fail; returns n, or the error that stopped it. */
static ssize_t
read_n(struct ll_transport *t, void *p, size_t n, int timeout_ms)
{
	struct pollfd pfd = { .fd = t->rfd, .events = POLLIN };
	long end = now_ms() + timeout_ms;
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = ll_transport_read(t, (uint8_t *)p + got, n - got);
		if (r > 0) {
			got += r;
			continue;
		}
		if (r != LL_ERR_AGAIN)
			return r;
		if (now_ms() >= end)
			return LL_ERR_TIMEOUT;
		poll(&pfd, 1, 20);
	}
	return got;
}

static ssize_t
write_n(struct ll_transport *t, const void *p, size_t n, int timeout_ms)
{
	struct pollfd pfd = { .fd = t->wfd, .events = POLLOUT };
	long end = now_ms() + timeout_ms;
	size_t put = 0;
	ssize_t r;

	while (put < n) {
		r = ll_transport_write(t, (const uint8_t *)p + put, n - put);
		if (r < 0)
			return r;
		put += r;
		if (r == 0) {
			if (now_ms() >= end)
				return LL_ERR_TIMEOUT;
			poll(&pfd, 1, 20);
		}
	}
	return put;
}

/* Send n random bytes from x to y, both ways at once when n is small. */
static void
roundtrip(struct ll_transport *x, struct ll_transport *y, size_t n,
    uint32_t seed)
{
	uint8_t *out, *in;

	out = malloc(n);
	in = malloc(n);
	assert_non_null(out);
	assert_non_null(in);
	fill(out, n, seed);
	assert_int_equal(write_n(x, out, n, IO_TIMEOUT_MS), n);
	assert_int_equal(read_n(y, in, n, IO_TIMEOUT_MS), n);
	assert_memory_equal(out, in, n);
	fill(out, n, seed + 1);
	assert_int_equal(write_n(y, out, n, IO_TIMEOUT_MS), n);
	assert_int_equal(read_n(x, in, n, IO_TIMEOUT_MS), n);
	assert_memory_equal(out, in, n);
	free(out);
	free(in);
}

static bool
have_socat(void)
{
	return access("/usr/bin/socat", X_OK) == 0 ||
	    access("/usr/local/bin/socat", X_OK) == 0 ||
	    access("/bin/socat", X_OK) == 0;
}

static void
stop_socat(struct fixture *f)
{
	if (f->socat <= 0)
		return;
	kill(f->socat, SIGTERM);
	waitpid(f->socat, NULL, 0);
	f->socat = -1;
}

/* Start a socat PTY pair linked at f->a and f->b; skip when unavailable. */
static void
start_socat(struct fixture *f)
{
	char la[128], lb[128];
	long end;
	pid_t pid;
	int fd;

	if (!have_socat()) {
		print_message("# socat not found: skipping PTY test\n");
		skip();
	}
	snprintf(la, sizeof la, "pty,raw,echo=0,link=%s", f->a);
	snprintf(lb, sizeof lb, "pty,raw,echo=0,link=%s", f->b);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		if ((fd = open("/dev/null", O_WRONLY)) != -1)
			dup2(fd, STDERR_FILENO);
		execlp("socat", "socat", "-d", "-d", la, lb, (char *)NULL);
		_exit(127);
	}
	f->socat = pid;
	end = now_ms() + 5000;
	while (access(f->a, F_OK) != 0 || access(f->b, F_OK) != 0) {
		assert_true(now_ms() < end);
		usleep(10000);
	}
}

static int
setup(void **state)
{
	struct fixture *f;

	if ((f = calloc(1, sizeof *f)) == NULL)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/lltt.XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->a, sizeof f->a, "%s/a", f->dir);
	snprintf(f->b, sizeof f->b, "%s/b", f->dir);
	snprintf(f->sock, sizeof f->sock, "%s/sock", f->dir);
	f->socat = -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	stop_socat(f);
	unlink(f->a);
	unlink(f->b);
	unlink(f->sock);
	rmdir(f->dir);
	free(f);
	return 0;
}

static struct ll_transport *must_open(const char *, ...)
    __attribute__((format(printf, 1, 2)));

static struct ll_transport *
must_open(const char *fmt, ...)
{
	struct ll_transport *t = NULL;
	char spec[256], err[256];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(spec, sizeof spec, fmt, ap);
	va_end(ap);
	r = ll_transport_open(spec, &t, err, sizeof err);
	if (r != 0)
		print_message("# open %s: %s\n", spec, err);
	assert_int_equal(r, 0);
	assert_non_null(t);
	return t;
}

static void
test_tty_roundtrip(void **state)
{
	struct fixture *f = *state;
	struct ll_transport *a, *b;
	uint8_t all[256], in[256];
	int i;

	start_socat(f);
	a = must_open("tty:%s", f->a);
	b = must_open("tty:%s,115200", f->b);
	/* A PTY without a baud in the spec: rate unknown. */
	assert_int_equal(ll_transport_line_rate(a), 0);
	assert_int_equal(ll_transport_line_rate(b), 11520);
	assert_true(fcntl(a->rfd, F_GETFL) & O_NONBLOCK);
	/* Every byte value passes untouched: the line is raw both ways. */
	for (i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	assert_int_equal(write_n(a, all, sizeof all, IO_TIMEOUT_MS), 256);
	assert_int_equal(read_n(b, in, sizeof in, IO_TIMEOUT_MS), 256);
	assert_memory_equal(all, in, sizeof all);
	assert_int_equal(ll_transport_read(b, in, sizeof in), LL_ERR_AGAIN);
	roundtrip(a, b, 3000, SEED);
	ll_transport_close(a);
	ll_transport_close(b);
}

static void
test_tty_restore(void **state)
{
	struct fixture *f = *state;
	struct ll_transport *t;
	struct termios cooked, before, during, after;
	int fd;

	start_socat(f);
	fd = open(f->a, O_RDWR | O_NOCTTY);
	assert_true(fd != -1);
	/* A distinctive, cooked state to come back to. */
	assert_int_equal(tcgetattr(fd, &cooked), 0);
	cooked.c_iflag |= ICRNL | IXON;
	cooked.c_oflag |= OPOST | ONLCR;
	cooked.c_lflag |= ICANON | ECHO | ISIG;
	cfsetispeed(&cooked, B9600);
	cfsetospeed(&cooked, B9600);
	assert_int_equal(tcsetattr(fd, TCSANOW, &cooked), 0);
	assert_int_equal(tcgetattr(fd, &before), 0);

	t = must_open("tty:%s,230400", f->a);
	assert_int_equal(tcgetattr(fd, &during), 0);
	assert_false(during.c_lflag & (ICANON | ECHO | ISIG));
	assert_false(during.c_iflag & (ICRNL | IXON | IXOFF));
	assert_false(during.c_oflag & OPOST);
	assert_false(during.c_cflag & (PARENB | CSTOPB | CRTSCTS));
	assert_int_equal(during.c_cflag & CSIZE, CS8);
	assert_true(during.c_cflag & CLOCAL);
	assert_int_equal(during.c_cc[VMIN], 1);
	assert_int_equal(during.c_cc[VTIME], 0);
	assert_int_equal(cfgetospeed(&during), B230400);
	ll_transport_close(t);

	assert_int_equal(tcgetattr(fd, &after), 0);
	assert_int_equal(after.c_iflag, before.c_iflag);
	assert_int_equal(after.c_oflag, before.c_oflag);
	assert_int_equal(after.c_cflag, before.c_cflag);
	assert_int_equal(after.c_lflag, before.c_lflag);
	assert_memory_equal(after.c_cc, before.c_cc, sizeof after.c_cc);
	assert_int_equal(cfgetospeed(&after), B9600);
	close(fd);
}

static void
test_tty_lock(void **state)
{
	struct fixture *f = *state;
	struct ll_transport *t, *t2 = NULL;
	char spec[256], err[256];

	start_socat(f);
	t = must_open("tty:%s", f->a);
	snprintf(spec, sizeof spec, "tty:%s", f->a);
	assert_int_equal(ll_transport_open(spec, &t2, err, sizeof err),
	    LL_ERR_BUSY);
	assert_null(t2);
	assert_non_null(strstr(err, f->a));
	print_message("# second open: %s\n", err);
	/* serial: takes the same lock through its fallback. */
	snprintf(spec, sizeof spec, "serial:%s", f->a);
	assert_int_equal(ll_transport_open(spec, &t2, err, sizeof err),
	    LL_ERR_BUSY);
	ll_transport_close(t);
	/* Released on close. */
	t = must_open("tty:%s", f->a);
	ll_transport_close(t);
}

static void
test_tty_hangup(void **state)
{
	struct fixture *f = *state;
	struct ll_transport *t;
	uint8_t c;
	ssize_t r;

	start_socat(f);
	t = must_open("tty:%s", f->a);
	assert_int_equal(ll_transport_read(t, &c, 1), LL_ERR_AGAIN);
	stop_socat(f);		/* both masters close */
	r = read_n(t, &c, 1, IO_TIMEOUT_MS);
	assert_int_equal(r, LL_ERR_CLOSED);
	assert_true(t->err[0] != '\0');
	print_message("# after hangup: %s\n", t->err);
	/* The device is gone: reopen says so. */
	r = ll_transport_reopen(t);
	assert_true(r == LL_ERR_NOTFOUND || r == LL_ERR_IO);
	ll_transport_close(t);
}

static void
test_serial_fallback(void **state)
{
	struct fixture *f = *state;
	struct ll_transport *a, *b;

	start_socat(f);
	a = must_open("serial:%s", f->a);
	/* A note, not an error: the caller logs it. */
	assert_non_null(strstr(a->err, "termios"));
	print_message("# %s\n", a->err);
	assert_int_equal(ll_transport_line_rate(a), 11520);
	b = must_open("tty:%s", f->b);
	roundtrip(a, b, 2000, SEED + 7);
	ll_transport_close(a);
	ll_transport_close(b);
}

static void
test_missing_device(void **state)
{
	struct ll_transport *t = NULL;
	char err[256];

	assert_int_equal(ll_transport_open("serial:/dev/ttyNOPE_lltest", &t,
	    err, sizeof err), LL_ERR_NOTFOUND);
	assert_null(t);
	assert_non_null(strstr(err, "/dev/ttyNOPE_lltest"));
	assert_non_null(strstr(err, "No such file"));
	assert_int_equal(ll_transport_open("tty:/dev/ttyNOPE_lltest,9600", &t,
	    err, sizeof err), LL_ERR_NOTFOUND);
	assert_non_null(strstr(err, "/dev/ttyNOPE_lltest"));
	/* Not a terminal. */
	assert_int_equal(ll_transport_open("tty:/dev/null", &t, err,
	    sizeof err), LL_ERR_INVAL);
	assert_non_null(strstr(err, "not a terminal"));
}

static void
test_exec(void **state)
{
	struct ll_transport *t = NULL, *u = NULL;
	uint8_t out[5000], in[5000];
	char err[256];
	ssize_t r;
	long t0;

	t = must_open("%s", "exec:cat");
	fill(out, sizeof out, SEED + 3);
	assert_int_equal(write_n(t, out, sizeof out, IO_TIMEOUT_MS),
	    sizeof out);
	assert_int_equal(read_n(t, in, sizeof in, IO_TIMEOUT_MS), sizeof in);
	assert_memory_equal(out, in, sizeof out);
	ll_transport_close(t);

	/* Quotes split like a shell's, without a shell. */
	t = must_open("%s", "exec:sh -c 'printf \"a b\"; exit 3'");
	r = read_n(t, in, 3, IO_TIMEOUT_MS);
	assert_int_equal(r, 3);
	assert_memory_equal(in, "a b", 3);
	r = read_n(t, in, 1, IO_TIMEOUT_MS);
	assert_int_equal(r, LL_ERR_CLOSED);
	print_message("# %s\n", t->err);
	assert_non_null(strstr(t->err, "status 3"));
	ll_transport_close(t);

	assert_int_equal(ll_transport_open("exec:no-such-command-lltest x",
	    &u, err, sizeof err), LL_ERR_NOTFOUND);
	assert_null(u);
	assert_non_null(strstr(err, "no-such-command-lltest"));
	assert_non_null(strstr(err, "not found"));
	assert_int_equal(ll_transport_open("exec:echo $(id)", &u, err,
	    sizeof err), LL_ERR_INVAL);
	assert_non_null(strstr(err, "substitution"));

	/* A child that ignores EOF and SIGTERM is killed within ~1 s. */
	t = must_open("%s", "exec:sh -c 'trap \"\" TERM; while :; do "
	    "sleep 1; done'");
	usleep(100000);
	t0 = now_ms();
	ll_transport_close(t);
	assert_true(now_ms() - t0 < 3000);
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);	/* reaped */
}

static void
test_fd(void **state)
{
	struct ll_transport *t;
	char spec[64], in[6];
	int p1[2], p2[2], fl;

	assert_int_equal(pipe(p1), 0);
	assert_int_equal(pipe(p2), 0);
	/* Transport reads p1, writes p2. */
	snprintf(spec, sizeof spec, "fd:%d,%d", p1[0], p2[1]);
	t = must_open("%s", spec);
	assert_true(fcntl(p1[0], F_GETFL) & O_NONBLOCK);
	assert_int_equal(ll_transport_read(t, in, sizeof in), LL_ERR_AGAIN);
	assert_int_equal(write(p1[1], "hello", 5), 5);
	assert_int_equal(read_n(t, in, 5, IO_TIMEOUT_MS), 5);
	assert_memory_equal(in, "hello", 5);
	assert_int_equal(ll_transport_write(t, "world", 5), 5);
	assert_int_equal(read(p2[0], in, 5), 5);
	assert_memory_equal(in, "world", 5);
	close(p1[1]);
	assert_int_equal(read_n(t, in, 1, IO_TIMEOUT_MS), LL_ERR_CLOSED);
	close(p2[0]);
	/* SIGPIPE is ignored (main), so a dead reader is LL_ERR_CLOSED. */
	assert_int_equal(ll_transport_write(t, "x", 1), LL_ERR_CLOSED);
	ll_transport_close(t);
	fl = fcntl(p1[0], F_GETFL);
	assert_int_equal(fl, -1);	/* fd: owns and closes them */
}

static void
test_unix(void **state)
{
	struct fixture *f = *state;
	struct ll_listener *l = NULL;
	struct ll_transport *c, *s = NULL;
	struct pollfd pfd;
	struct stat st;
	char spec[128], err[256];
	uint8_t c1;

	assert_int_equal(ll_listener_open("unix:", &l, err, sizeof err),
	    LL_ERR_INVAL);
	snprintf(spec, sizeof spec, "unix:%s", f->sock);
	assert_int_equal(ll_listener_open(spec, &l, err, sizeof err), 0);
	assert_int_equal(stat(f->sock, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(ll_listener_accept(l, &s, err, sizeof err),
	    LL_ERR_AGAIN);
	c = must_open("unix:%s", f->sock);
	pfd.fd = ll_listener_fd(l);
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, IO_TIMEOUT_MS), 1);
	assert_int_equal(ll_listener_accept(l, &s, err, sizeof err), 0);
	assert_non_null(s);
	assert_true(fcntl(s->rfd, F_GETFL) & O_NONBLOCK);
	roundtrip(c, s, 100000, SEED + 11);
	ll_transport_close(c);
	assert_int_equal(read_n(s, &c1, 1, IO_TIMEOUT_MS), LL_ERR_CLOSED);
	/* A closed peer is an error value, never SIGPIPE. */
	assert_int_equal(ll_transport_write(s, "x", 1), LL_ERR_CLOSED);
	ll_transport_close(s);
	ll_listener_close(l);
	assert_int_equal(access(f->sock, F_OK), -1);
}

static void
test_unix_stale(void **state)
{
	struct fixture *f = *state;
	struct ll_listener *l = NULL, *l2 = NULL;
	struct sockaddr_un sun;
	struct ll_transport *c = NULL;
	char spec[128], err[256];
	int fd;

	/* A socket file nobody listens on, as a crash leaves it. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd != -1);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", f->sock);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof sun), 0);
	close(fd);
	snprintf(spec, sizeof spec, "unix:%s", f->sock);
	assert_int_equal(ll_transport_open(spec, &c, err, sizeof err),
	    LL_ERR_CLOSED);	/* refused */
	assert_non_null(strstr(err, spec));
	assert_int_equal(ll_listener_open(spec, &l, err, sizeof err), 0);
	/* A live one is left alone. */
	assert_int_equal(ll_listener_open(spec, &l2, err, sizeof err),
	    LL_ERR_BUSY);
	assert_non_null(strstr(err, "listening"));
	assert_int_equal(access(f->sock, F_OK), 0);
	c = must_open("unix:%s", f->sock);
	ll_transport_close(c);
	ll_listener_close(l);
	/* Not a socket: never removed. */
	fd = open(f->sock, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd != -1);
	close(fd);
	assert_int_equal(ll_listener_open(spec, &l2, err, sizeof err),
	    LL_ERR_BUSY);
	assert_non_null(strstr(err, "not a socket"));
	assert_int_equal(access(f->sock, F_OK), 0);
	/* A missing path: connect names the address. */
	assert_int_equal(ll_transport_open("unix:/nonexistent-lltest/x", &c,
	    err, sizeof err), LL_ERR_NOTFOUND);
	assert_string_equal(err, "connect unix:/nonexistent-lltest/x: "
	    "No such file or directory");
}

static void
test_tcp(void **state)
{
	struct ll_listener *l = NULL;
	struct ll_transport *c, *s = NULL, *x = NULL;
	struct sockaddr_in sin;
	socklen_t slen = sizeof sin;
	struct pollfd pfd;
	char spec[64], err[256];
	int port;

	assert_int_equal(ll_listener_open("tcp:127.0.0.1:0", &l, err,
	    sizeof err), 0);
	assert_int_equal(getsockname(ll_listener_fd(l),
	    (struct sockaddr *)&sin, &slen), 0);
	port = ntohs(sin.sin_port);
	assert_true(port > 0);
	snprintf(spec, sizeof spec, "tcp:127.0.0.1:%d", port);
	c = must_open("%s", spec);
	pfd.fd = ll_listener_fd(l);
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, IO_TIMEOUT_MS), 1);
	assert_int_equal(ll_listener_accept(l, &s, err, sizeof err), 0);
	assert_non_null(strstr(s->spec, "tcp:127.0.0.1:"));
	roundtrip(c, s, 200000, SEED + 13);
	ll_transport_close(c);
	ll_transport_close(s);
	ll_listener_close(l);
	/* Nobody listens there now. */
	assert_int_equal(ll_transport_open(spec, &x, err, sizeof err),
	    LL_ERR_CLOSED);
	assert_non_null(strstr(err, "connect tcp:127.0.0.1:"));
	print_message("# %s\n", err);
}

static void
test_bad_spec(void **state)
{
	static const char *bad[] = {
		"bogus", "nokind:x", "tty:", "fd:x,y", "fd:3",
		"tty:/dev/x,12345",
		"serial:/dev/x,0", "tcp:nohostport", "tcp:host:", "exec:",
		"exec:a | b", "stdio:x",
	};
	struct ll_transport *t = NULL;
	struct ll_listener *l = NULL;
	char err[256], longspec[400];
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		assert_int_equal(ll_transport_open(bad[i], &t, err,
		    sizeof err), LL_ERR_INVAL);
		assert_null(t);
		if (strstr(err, bad[i]) == NULL)
			print_message("# %s -> %s\n", bad[i], err);
		assert_non_null(strstr(err, bad[i]));
	}
	memset(longspec, 'x', sizeof longspec - 1);
	longspec[sizeof longspec - 1] = '\0';
	memcpy(longspec, "tty:", 4);
	assert_int_equal(ll_transport_open(longspec, &t, err, sizeof err),
	    LL_ERR_INVAL);
	assert_int_equal(ll_listener_open("udp:1", &l, err, sizeof err),
	    LL_ERR_INVAL);
	assert_non_null(strstr(err, "udp:1"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tty_roundtrip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tty_restore, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tty_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tty_hangup, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_serial_fallback, setup,
		    teardown),
		cmocka_unit_test(test_missing_device),
		cmocka_unit_test(test_exec),
		cmocka_unit_test(test_fd),
		cmocka_unit_test_setup_teardown(test_unix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unix_stale, setup,
		    teardown),
		cmocka_unit_test(test_tcp),
		cmocka_unit_test(test_bad_spec),
	};

	/* As the programs do: a write to a dead pipe is an error value. */
	signal(SIGPIPE, SIG_IGN);
	printf("# seed 0x%08x\n", SEED);
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
