/*
 * linkemu: two PTYs joined by an emulated serial line (8N1) with latency,
 * bit errors, dropped bytes and kernel messages injected mid-stream.
 *
 *   linkemu --a PATH_A --b PATH_B [--baud 115200] [--latency-ms N]
 *           [--ber P] [--drop P] [--kmsg-interval-ms N]
 *           [--kmsg-side a|b|both] [--seed N] [--duration-s N] [--stats FILE]
 *
 * Each side is a PTY pair made with posix_openpt(); the slave is raw (echo
 * off) and reachable through the symlink PATH_A or PATH_B; the emulator keeps
 * its own descriptor on each slave so a peer closing its side never hangs up
 * the master, and peers may open and close their side as often as they like.
 *
 * Each direction (A->B: bytes written on A's slave come out of B's slave)
 * models a UART transmitter: the line is free at time line_free; a byte costs
 * 10 bit times (start, 8 data, stop).  The emulator reads from the source
 * master only as much as fits in the next WINDOW_NS of line time, so the
 * sender's kernel buffer fills and it feels backpressure as on a real UART.
 * Every byte is due at the receiver at (end of its transmission + latency);
 * it is then written to the destination master.  When nobody reads a side,
 * its PTY input buffer fills (tens of KiB) and further bytes are lost as
 * overruns, like a UART nobody services; tty transports flush stale input
 * when they open.
 *
 * Noise, per byte on the wire (injected kernel messages included):
 *   --ber P   each bit flips independently with probability P.  Drawn per
 *             byte: with probability 1-(1-P)^8 the byte is hit; the first
 *             flipped bit is then drawn from its exact conditional
 *             distribution and each later bit flips with probability P, so
 *             the flips per bit are exactly Bernoulli(P).
 *   --drop P  the byte is lost (it still took its line time).
 * --kmsg-interval-ms N: every N ms a line such as
 *   "\r\n[  123.456789] usb 1-1: new high-speed USB device number 7 using
 *   xhci_hcd\r\n" (texts vary) enters the direction(s) towards the side(s)
 *   given by --kmsg-side (default both; "a" means A's reader sees them) at
 *   that moment, between whatever bytes are flowing, as printk interrupts a
 *   console mid-line; it takes line time like any byte.
 *
 * Randomness is xorshift64*, one stream per direction for the data bytes and
 * one per direction for the kernel messages, all derived from --seed (printed
 * on stderr at start), so with the same seed and the same data the noise
 * falls on the same byte positions.  "ready" is printed on stdout once both
 * symlinks exist.  SIGTERM, SIGINT, SIGHUP or --duration-s end the run; the
 * symlinks are removed and the statistics (key=value lines) go to stderr or
 * --stats FILE.  Timing uses CLOCK_MONOTONIC and ppoll(): the process sleeps
 * until the next byte is due (about 1 ms granularity), it never spins.
 */
#define _GNU_SOURCE

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define NS		1000000000ULL
#define MS		1000000ULL
#define WINDOW_NS	(2 * MS)	/* line time taken from the sender */
#define LAG_NS		(2 * MS)	/* wake-up lateness we forgive */
#define QUEUE_MAX	(64U << 20)	/* bytes in flight, a sanity cap */

struct side {
	char	 name;
	const char *link;
	int	 master, slave;
	char	 pts[64];
	bool	 linked;
};

struct qent {
	uint64_t due;
	uint8_t	 c;
};

struct dir {
	char	 name[8];		/* "a->b" */
	struct side *src, *dst;
	uint64_t line_free;		/* ns: transmitter free from */
	uint64_t rng, krng;		/* data and kmsg random streams */
	struct qent *q;			/* ring of bytes in flight */
	size_t	 qcap, qhead, qlen;
	char	 inj[256];		/* a kernel message being sent */
	size_t	 injlen, injoff;
	bool	 kmsg;			/* inject towards dst */
	uint64_t next_kmsg;
	/* statistics */
	uint64_t read, carried, flips, hit, dropped, overrun, kmsgs;
};

static struct {
	unsigned baud;
	uint64_t byte_ns, latency_ns, kmsg_ns, duration_ns;
	double	 ber, drop;
	double	 qpow[8];		/* (1-ber)^(k+1) */
	uint64_t seed;
	const char *stats;
	uint64_t start;
} opt;

static volatile sig_atomic_t quit;

static void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("linkemu: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + ts.tv_nsec;
}

/* xorshift64* (Vigna): small, fast, good enough for noise. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static double
rnd01(uint64_t *s)
{
	return (rnd(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* splitmix64, to derive independent nonzero stream seeds from --seed. */
static uint64_t
derive(uint64_t seed, uint64_t k)
{
	uint64_t z = seed + k * 0x9E3779B97F4A7C15ULL;

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	z ^= z >> 31;
	return z != 0 ? z : 1;
}

/* Apply bit errors and drops to c; false when the byte is lost. */
static bool
noise(struct dir *d, uint64_t *rng, uint8_t *c)
{
	double u;
	int k;

	if (opt.drop > 0 && rnd01(rng) < opt.drop) {
		d->dropped++;
		return false;
	}
	if (opt.ber <= 0)
		return true;
	u = rnd01(rng);
	if (u >= 1 - opt.qpow[7])
		return true;
	/* P(first flip at bit k | some flip) via the CDF 1-(1-P)^(k+1). */
	for (k = 0; k < 7 && u >= 1 - opt.qpow[k]; k++)
		;
	*c ^= 1U << k;
	d->flips++;
	d->hit++;
	for (k++; k < 8; k++) {
		if (rnd01(rng) < opt.ber) {
			*c ^= 1U << k;
			d->flips++;
		}
	}
	return true;
}

static void
enqueue(struct dir *d, uint8_t c, uint64_t due)
{
	struct qent *nq;
	size_t i, ncap;

	if (d->qlen == d->qcap) {
		ncap = d->qcap ? d->qcap * 2 : 4096;
		if (ncap > QUEUE_MAX)
			die("%s: more than %u bytes in flight", d->name,
			    QUEUE_MAX);
		if ((nq = malloc(ncap * sizeof *nq)) == NULL)
			die("out of memory");
		for (i = 0; i < d->qlen; i++)
			nq[i] = d->q[(d->qhead + i) % d->qcap];
		free(d->q);
		d->q = nq;
		d->qcap = ncap;
		d->qhead = 0;
	}
	d->q[(d->qhead + d->qlen) % d->qcap] = (struct qent){ due, c };
	d->qlen++;
}

/* Kernel message texts: pre, number, mid, number, post. */
static const char *const kmsg_text[][3] = {
	{ "usb 1-", ": new high-speed USB device number ", " using xhci_hcd" },
	{ "usb ", "-1: USB disconnect, device number ", "" },
	{ "EXT4-fs (sda", "): mounted filesystem with ordered data mode. "
	    "Quota mode: none. (", ")" },
	{ "ata", ": SATA link up 6.0 Gbps (SStatus 133 SControl 300) ", "" },
	{ "e1000e 0000:00:1f.", " eth0: NIC Link is Up 1000 Mbps Full "
	    "Duplex, Flow Control: Rx/Tx (", ")" },
	{ "sd ", ":0:0:0: [sdb] ", " 512-byte logical blocks: (8.00 GB/7.45 "
	    "GiB)" },
	{ "perf: interrupt took too long (", " > 2500), lowering "
	    "kernel.perf_event_max_sample_rate to ", "" },
	{ "audit: type=1400 audit(1700000000.", ":", "): apparmor=\"STATUS\" "
	    "operation=\"profile_load\"" },
	{ "INFO: task kworker/", ":1:", " blocked for more than 120 seconds." },
	{ "EXT4-fs error (device sda", "): ext4_lookup:1855: inode #",
	    ": comm ls: deleted inode referenced" },
};

static void
make_kmsg(struct dir *d, uint64_t now)
{
	uint64_t up = now - opt.start + 100 * NS + (d->krng % (50 * NS));
	unsigned x = rnd(&d->krng) % (sizeof kmsg_text / sizeof kmsg_text[0]);
	unsigned n1 = rnd(&d->krng) % 9 + 1, n2 = rnd(&d->krng) % 1000;

	d->injlen = snprintf(d->inj, sizeof d->inj,
	    "\r\n[%5llu.%06llu] %s%u%s%u%s\r\n",
	    (unsigned long long)(up / NS),
	    (unsigned long long)(up % NS / 1000), kmsg_text[x][0], n1,
	    kmsg_text[x][1], n2, kmsg_text[x][2]);
	if (d->injlen >= sizeof d->inj)
		d->injlen = sizeof d->inj - 1;
	d->injoff = 0;
	d->kmsgs++;
}

/* How many bytes the line can take now (within the window). */
static size_t
capacity(struct dir *d, uint64_t now)
{
	if (d->line_free + LAG_NS < now)
		d->line_free = now - LAG_NS;	/* idle: no banked credit */
	if (d->line_free + opt.byte_ns > now + WINDOW_NS)
		return 0;
	return (now + WINDOW_NS - d->line_free) / opt.byte_ns;
}

static void
transmit(struct dir *d, uint64_t *rng, uint8_t c)
{
	d->line_free += opt.byte_ns;
	if (noise(d, rng, &c))
		enqueue(d, c, d->line_free + opt.latency_ns);
}

/* Move bytes from the source onto the line: kernel messages first. */
static void
pump(struct dir *d, uint64_t now)
{
	uint8_t buf[65536];
	size_t cap, i;
	ssize_t n;

	if (d->kmsg && now >= d->next_kmsg) {
		if (d->injoff >= d->injlen)
			make_kmsg(d, now);
		d->next_kmsg += opt.kmsg_ns;
		if (d->next_kmsg < now)
			d->next_kmsg = now + opt.kmsg_ns;
	}
	cap = capacity(d, now);
	while (cap > 0 && d->injoff < d->injlen) {
		transmit(d, &d->krng, (uint8_t)d->inj[d->injoff++]);
		cap--;
	}
	if (cap == 0)
		return;
	if (cap > sizeof buf)
		cap = sizeof buf;
	n = read(d->src->master, buf, cap);
	if (n <= 0)
		return;	/* EAGAIN; no EIO: we hold the slave */
	d->read += n;
	for (i = 0; i < (size_t)n; i++)
		transmit(d, &d->rng, buf[i]);
}

/* Hand the bytes that are due to the receiving side. */
static void
deliver(struct dir *d, uint64_t now)
{
	uint8_t buf[65536];
	size_t n = 0;
	ssize_t w;

	while (d->qlen > 0 && n < sizeof buf && d->q[d->qhead].due <= now) {
		buf[n++] = d->q[d->qhead].c;
		d->qhead = (d->qhead + 1) % d->qcap;
		d->qlen--;
	}
	if (n == 0)
		return;
	w = write(d->dst->master, buf, n);
	if (w < 0)
		w = 0;
	d->carried += w;
	d->overrun += n - w;	/* nobody reads that side: lost */
}

/* When this direction next needs attention (absolute ns), or UINT64_MAX. */
static uint64_t
next_event(struct dir *d, uint64_t now, bool *want_read)
{
	uint64_t t = UINT64_MAX, tx;

	*want_read = false;
	if (d->qlen > 0)
		t = d->q[d->qhead].due;
	if (d->kmsg && d->next_kmsg < t)
		t = d->next_kmsg;
	/* Wake when half the window is left, so reads come ~1 ms apart. */
	tx = d->line_free + opt.byte_ns > WINDOW_NS / 2 ?
	    d->line_free + opt.byte_ns - WINDOW_NS / 2 : 0;
	if (d->injoff < d->injlen) {
		if (tx < t)
			t = tx;
	} else if (tx <= now)
		*want_read = true;	/* room on the line: wait for data */
	else if (tx < t)
		t = tx;
	return t;
}

static void
open_side(struct side *s)
{
	struct termios tio;
	struct stat st;
	char *p;

	if ((s->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1 ||
	    grantpt(s->master) == -1 || unlockpt(s->master) == -1 ||
	    (p = ptsname(s->master)) == NULL)
		die("side %c: posix_openpt: %s", s->name, strerror(errno));
	snprintf(s->pts, sizeof s->pts, "%s", p);
	s->slave = open(s->pts, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (s->slave == -1)
		die("open %s: %s", s->pts, strerror(errno));
	if (tcgetattr(s->slave, &tio) == -1)
		die("tcgetattr %s: %s", s->pts, strerror(errno));
	cfmakeraw(&tio);
	tio.c_cflag |= CLOCAL | CREAD;
	tio.c_cc[VMIN] = 1;
	tio.c_cc[VTIME] = 0;
	/* Only informative on a PTY, but lets peers see the rate. */
	switch (opt.baud) {
	case 9600: cfsetspeed(&tio, B9600); break;
	case 19200: cfsetspeed(&tio, B19200); break;
	case 38400: cfsetspeed(&tio, B38400); break;
	case 57600: cfsetspeed(&tio, B57600); break;
	case 115200: cfsetspeed(&tio, B115200); break;
	case 230400: cfsetspeed(&tio, B230400); break;
	case 460800: cfsetspeed(&tio, B460800); break;
	case 921600: cfsetspeed(&tio, B921600); break;
	default: break;
	}
	if (tcsetattr(s->slave, TCSANOW, &tio) == -1)
		die("tcsetattr %s: %s", s->pts, strerror(errno));
	if (fcntl(s->master, F_SETFL, O_NONBLOCK) == -1)
		die("fcntl: %s", strerror(errno));
	/* Replace a stale symlink from an earlier run, nothing else. */
	if (lstat(s->link, &st) == 0) {
		if (!S_ISLNK(st.st_mode))
			die("%s exists and is not a symlink", s->link);
		unlink(s->link);
	}
	if (symlink(s->pts, s->link) == -1)
		die("symlink %s -> %s: %s", s->link, s->pts, strerror(errno));
	s->linked = true;
}

static void
close_side(struct side *s)
{
	char buf[64];
	ssize_t n;

	/* Remove the link only if it is still ours. */
	if (s->linked && (n = readlink(s->link, buf, sizeof buf - 1)) > 0) {
		buf[n] = '\0';
		if (strcmp(buf, s->pts) == 0)
			unlink(s->link);
	}
	close(s->slave);
	close(s->master);
}

static void
print_stats(struct dir *dirs, uint64_t elapsed)
{
	FILE *f = stderr;
	int i;

	if (opt.stats != NULL && (f = fopen(opt.stats, "w")) == NULL) {
		fprintf(stderr, "linkemu: %s: %s\n", opt.stats,
		    strerror(errno));
		f = stderr;
	}
	fprintf(f, "seed=%llu\nbaud=%u\nelapsed_ms=%llu\n",
	    (unsigned long long)opt.seed, opt.baud,
	    (unsigned long long)(elapsed / MS));
	for (i = 0; i < 2; i++) {
		struct dir *d = &dirs[i];
		char p[4];

		snprintf(p, sizeof p, "%c%c", d->src->name, d->dst->name);
		fprintf(f, "%s_read=%llu\n%s_carried=%llu\n"
		    "%s_bits_flipped=%llu\n%s_bytes_hit=%llu\n"
		    "%s_dropped=%llu\n%s_overrun=%llu\n%s_kmsg=%llu\n",
		    p, (unsigned long long)d->read,
		    p, (unsigned long long)d->carried,
		    p, (unsigned long long)d->flips,
		    p, (unsigned long long)d->hit,
		    p, (unsigned long long)d->dropped,
		    p, (unsigned long long)d->overrun,
		    p, (unsigned long long)d->kmsgs);
	}
	if (f != stderr)
		fclose(f);
}

static void
on_signal(int sig)
{
	quit = sig;
}

static void
usage(void)
{
	fprintf(stderr, "usage: linkemu --a PATH_A --b PATH_B [--baud 115200] "
	    "[--latency-ms N] [--ber P] [--drop P]\n"
	    "       [--kmsg-interval-ms N] [--kmsg-side a|b|both] [--seed N] "
	    "[--duration-s N] [--stats FILE]\n");
	exit(2);
}

static double
arg_double(const char *name, const char *s, double lo, double hi)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || end == s || !(v >= lo && v <= hi))
		die("--%s: '%s' is not a number in [%g, %g]", name, s, lo, hi);
	return v;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "a", required_argument, NULL, 'a' },
		{ "b", required_argument, NULL, 'b' },
		{ "baud", required_argument, NULL, 'B' },
		{ "latency-ms", required_argument, NULL, 'l' },
		{ "ber", required_argument, NULL, 'e' },
		{ "drop", required_argument, NULL, 'd' },
		{ "kmsg-interval-ms", required_argument, NULL, 'k' },
		{ "kmsg-side", required_argument, NULL, 'K' },
		{ "seed", required_argument, NULL, 's' },
		{ "duration-s", required_argument, NULL, 't' },
		{ "stats", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct side sa = { .name = 'a' }, sb = { .name = 'b' };
	struct dir dirs[2];
	struct sigaction act;
	struct pollfd pfd[2];
	struct timespec ts;
	const char *kside = "both";
	bool seeded = false, want;
	uint64_t now, next, t, end = UINT64_MAX;
	double q;
	int c, i, np;

	opt.baud = 115200;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'a': sa.link = optarg; break;
		case 'b': sb.link = optarg; break;
		case 'B':
			opt.baud = arg_double("baud", optarg, 50, 20000000);
			break;
		case 'l':
			opt.latency_ns = arg_double("latency-ms", optarg, 0,
			    3600000) * MS;
			break;
		case 'e': opt.ber = arg_double("ber", optarg, 0, 1); break;
		case 'd': opt.drop = arg_double("drop", optarg, 0, 1); break;
		case 'k':
			opt.kmsg_ns = arg_double("kmsg-interval-ms", optarg, 0,
			    86400000) * MS;
			break;
		case 'K':
			kside = optarg;
			if (strcmp(kside, "a") != 0 &&
			    strcmp(kside, "b") != 0 &&
			    strcmp(kside, "both") != 0)
				die("--kmsg-side: a, b or both");
			break;
		case 's':
			opt.seed = strtoull(optarg, NULL, 0);
			seeded = true;
			break;
		case 't':
			opt.duration_ns = arg_double("duration-s", optarg, 0,
			    86400 * 365) * NS;
			break;
		case 'S': opt.stats = optarg; break;
		default: usage();
		}
	}
	if (sa.link == NULL || sb.link == NULL || optind != argc)
		usage();
	opt.byte_ns = (10 * NS + opt.baud / 2) / opt.baud;
	for (q = 1, i = 0; i < 8; i++)
		opt.qpow[i] = (q *= 1 - opt.ber);
	if (!seeded)
		opt.seed = now_ns() ^ ((uint64_t)getpid() << 32);
	fprintf(stderr, "linkemu: seed %llu, %u baud (%.1f bytes/s), "
	    "latency %llu ms, ber %g, drop %g\n", (unsigned long long)opt.seed,
	    opt.baud, opt.baud / 10.0,
	    (unsigned long long)(opt.latency_ns / MS), opt.ber, opt.drop);

	memset(&act, 0, sizeof act);
	act.sa_handler = on_signal;
	sigemptyset(&act.sa_mask);
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	sigaction(SIGHUP, &act, NULL);
	signal(SIGPIPE, SIG_IGN);

	open_side(&sa);
	open_side(&sb);
	opt.start = now_ns();
	if (opt.duration_ns > 0)
		end = opt.start + opt.duration_ns;
	memset(dirs, 0, sizeof dirs);
	for (i = 0; i < 2; i++) {
		struct dir *d = &dirs[i];

		d->src = i == 0 ? &sa : &sb;
		d->dst = i == 0 ? &sb : &sa;
		snprintf(d->name, sizeof d->name, "%c->%c", d->src->name,
		    d->dst->name);
		d->rng = derive(opt.seed, 1 + i);
		d->krng = derive(opt.seed, 3 + i);
		d->line_free = opt.start;
		d->kmsg = opt.kmsg_ns > 0 && (strcmp(kside, "both") == 0 ||
		    kside[0] == d->dst->name);
		d->next_kmsg = opt.start + opt.kmsg_ns;
	}
	printf("ready\n");
	fflush(stdout);

	while (!quit) {
		now = now_ns();
		if (now >= end)
			break;
		for (i = 0; i < 2; i++) {
			deliver(&dirs[i], now);
			pump(&dirs[i], now);
			deliver(&dirs[i], now);
		}
		now = now_ns();
		next = end;
		np = 0;
		for (i = 0; i < 2; i++) {
			t = next_event(&dirs[i], now, &want);
			if (t < next)
				next = t;
			if (want) {
				pfd[np].fd = dirs[i].src->master;
				pfd[np].events = POLLIN;
				np++;
			}
		}
		/* At least 0.5 ms and at most 100 ms per sleep. */
		t = next > now ? next - now : 0;
		if (t < MS / 2)
			t = MS / 2;
		if (t > 100 * MS)
			t = 100 * MS;
		ts.tv_sec = t / NS;
		ts.tv_nsec = t % NS;
		if (ppoll(pfd, np, &ts, NULL) == -1 && errno != EINTR)
			die("ppoll: %s", strerror(errno));
	}
	now = now_ns();
	close_side(&sa);
	close_side(&sb);
	if (quit)
		fprintf(stderr, "linkemu: signal %d, exiting\n", (int)quit);
	print_stats(dirs, now - opt.start);
	free(dirs[0].q);
	free(dirs[1].q);
	return 0;
}
