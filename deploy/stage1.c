/*
 * lifeline-stage1: the deploy's first stage.  The client types it through
 * the rescue host's shell (docs/deploy.md); it then speaks lifeline's link
 * on its tty and receives the agent at link speed, over the ARQ.
 *
 * It is built alone and statically (musl), so that it runs on any Linux of
 * its architecture whatever libc the host has, or none: the link layer
 * (proto/link.c and below), zlib's CRC-32, liblzma's decoder and libcrypto's
 * SHA-256 are all it links.
 *
 *	lifeline-stage1 DIR SHA256
 *
 * DIR is a RAM-backed directory the client chose, SHA256 the stage's own,
 * which it checks first.  The stage removes its own file (and the private
 * directory the shell made for it), puts the tty in raw mode and waits for a client link (no SSH: the
 * agent it receives brings that).  On link stream 0 the client sends a
 * header, the stage answers READY or ERROR, the client sends the agent
 * archive, the stage answers OK or ERROR.  Nothing is unpacked before the
 * SHA-256 of the whole archive matches the header, and the files go to a
 * new directory under DIR (mkdtemp) that is removed again on any failure.
 * On success the stage runs the agent through the loader the archive
 * carries: DIR/lifeline.XXXXXX/LOADER --library-path ... AGENT --stdio,
 * with the operator's key as its only authorized key and a host key to be
 * made in that directory; it waits for the agent to end and then removes
 * that directory.  On failure it restores the tty, says why on stderr and
 * exits 1, back to the shell that started it.
 */
#define _GNU_SOURCE
#define OPENSSL_API_COMPAT 0x10100000L

#include <dirent.h>
#include <signal.h>
#include <errno.h>
#include <fcntl.h>
#include <lzma.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "error.h"
#include "link-pump.h"
#include "link.h"

#define STAGE_ARCHIVE_MAX	(64u << 20)	/* compressed agent archive */
#define STAGE_UNPACKED_MAX	(256u << 20)
#define STAGE_HEADER_MAX	4096
#define STAGE_KEY_MAX		8192
#define STAGE_WAIT_MS		60000	/* for the client's link to come up */
#define STAGE_SILENT_MS		15000	/* then a client that says nothing is gone */
#define STAGE_DICT		(16u << 20)	/* make-bundle.sh's LZMA2 dictionary */
#define STAGE_SPARE		(1u << 20)	/* left free in DIR */

struct stage {
	struct ll_link *link;
	struct ll_link_pump pump;
	char hdr[STAGE_HEADER_MAX + 1];
	size_t hdrlen;
	/* from the header */
	size_t size, unpacked;
	unsigned char sha[SHA256_DIGEST_LENGTH];
	lzma_vli filter;	/* the archive's BCJ filter, LZMA_VLI_UNKNOWN: none */
	char key[STAGE_KEY_MAX];
	/* the archive as it arrives */
	unsigned char *archive;
	size_t got;
	char dir[1024];		/* DIR/lifeline.XXXXXX once made */
	char loader[256], agent[256];
	char err[512];
};

static struct termios saved_tty;
static int tty_saved;

static ssize_t
fd_read(void *ctx, void *p, size_t n)
{
	ssize_t r = read(0, p, n);

	(void)ctx;
	if (r < 0)
		return errno == EAGAIN || errno == EINTR ? LL_ERR_AGAIN :
		    LL_ERR_IO;
	return r;
}

static ssize_t
fd_write(void *ctx, const void *p, size_t n)
{
	ssize_t w = write(1, p, n);

	(void)ctx;
	if (w < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : LL_ERR_IO;
	return w;
}

static int
fail(struct stage *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	return -1;
}

/* Queue all of text on stream 0 (it is small: it always fits). */
static void
say(struct stage *s, const char *text)
{
	ll_link_write(s->link, 0, text, strlen(text));
}

static unsigned
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return (unsigned)(c - '0');
	if (c >= 'a' && c <= 'f')
		return (unsigned)(c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (unsigned)(c - 'A' + 10);
	return 16;
}

static int
hex_to_sha(const char *hex, unsigned char *out)
{
	int i;
	unsigned v;

	if (strlen(hex) != 2 * SHA256_DIGEST_LENGTH)
		return -1;
	for (i = 0; i < 2 * SHA256_DIGEST_LENGTH; i++) {
		if ((v = hex_digit(hex[i])) > 15)
			return -1;
		out[i / 2] = (unsigned char)(i % 2 ? out[i / 2] << 4 | v : v);
	}
	return 0;
}

/*
 * The next space-separated word of *p (moved past it), at most max - 1
 * bytes, into out; -1 when there is none or it is too long.  The stage
 * parses with these rather than sscanf, whose code (float scanning with
 * it) would be typed into the console too.
 */
static int
next_word(char **p, char *out, size_t max)
{
	size_t n;

	*p += strspn(*p, " ");
	n = strcspn(*p, " ");
	if (n == 0 || n >= max)
		return -1;
	memcpy(out, *p, n);
	out[n] = '\0';
	*p += n;
	return 0;
}

/* The next word of *p as a number in base: 0, or -1. */
static int
next_number(char **p, int base, unsigned long *out)
{
	char word[24], *e;

	if (next_word(p, word, sizeof(word)) != 0)
		return -1;
	errno = 0;
	*out = strtoul(word, &e, base);
	return *e == '\0' && errno == 0 && word[0] != '-' ? 0 : -1;
}

/*
 * The archive's BCJ filter by the name the bundle gives it: 0, or -1 for
 * one this stage cannot decode.
 */
static int
filter_id(const char *name, lzma_vli *id)
{
	if (strcmp(name, "none") == 0)
		*id = LZMA_VLI_UNKNOWN;
	else if (strcmp(name, "x86") == 0)
		*id = LZMA_FILTER_X86;
#ifdef LZMA_FILTER_ARM64
	else if (strcmp(name, "arm64") == 0)
		*id = LZMA_FILTER_ARM64;
#endif
	else
		return -1;
	return 0;
}

/*
 * The header, "key value" lines up to an empty one:
 *	LLDEPLOY 1 / size N / unpacked N / filter NAME / sha256 HEX /
 *	key AUTHORIZED_KEYS_LINE
 */
static int
parse_header(struct stage *s)
{
	char *line, *save = NULL, *v;
	bool magic = false, sha = false, filter = false;

	for (line = strtok_r(s->hdr, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if ((v = strchr(line, ' ')) == NULL)
			return fail(s, "header line without a value: %.40s",
			    line);
		*v++ = '\0';
		if (strcmp(line, "LLDEPLOY") == 0)
			magic = strcmp(v, "1") == 0;
		else if (strcmp(line, "size") == 0)
			s->size = strtoul(v, NULL, 10);
		else if (strcmp(line, "unpacked") == 0)
			s->unpacked = strtoul(v, NULL, 10);
		else if (strcmp(line, "sha256") == 0)
			sha = hex_to_sha(v, s->sha) == 0;
		else if (strcmp(line, "filter") == 0) {
			if (filter_id(v, &s->filter) != 0)
				return fail(s, "unknown archive filter %.20s",
				    v);
			filter = true;
		}
		else if (strcmp(line, "key") == 0)
			snprintf(s->key, sizeof(s->key), "%s", v);
	}
	if (!magic)
		return fail(s, "not a deploy header of version 1");
	if (!filter)
		return fail(s, "the header names no archive filter");
	if (s->size == 0 || s->size > STAGE_ARCHIVE_MAX ||
	    s->unpacked == 0 || s->unpacked > STAGE_UNPACKED_MAX)
		return fail(s, "archive size %zu (unpacked %zu) out of range",
		    s->size, s->unpacked);
	if (!sha)
		return fail(s, "header without a valid sha256");
	if (s->key[0] == '\0')
		return fail(s, "header without the operator's key");
	return 0;
}

/*
 * This program's own SHA-256 against the one the client typed: a stage
 * that arrived damaged does nothing (if it runs far enough to ask).
 */
static int
check_self(struct stage *s, const char *want)
{
	unsigned char buf[65536], sha[SHA256_DIGEST_LENGTH],
	    expect[SHA256_DIGEST_LENGTH];
	SHA256_CTX ctx;
	ssize_t r;
	int fd;

	if (hex_to_sha(want, expect) != 0)
		return fail(s, "usage: lifeline-stage1 DIR SHA256");
	if ((fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)) < 0)
		return fail(s, "/proc/self/exe: %s", strerror(errno));
	SHA256_Init(&ctx);
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		SHA256_Update(&ctx, buf, (size_t)r);
	close(fd);
	SHA256_Final(sha, &ctx);
	if (r < 0 || memcmp(sha, expect, sizeof(sha)) != 0)
		return fail(s, "this first stage arrived damaged (its SHA-256 "
		    "differs): run attach --deploy again");
	return 0;
}

/* Room for the archive in memory and its files in dir. */
static int
check_room(struct stage *s, const char *dir)
{
	struct statvfs sv;
	struct sysinfo si;
	unsigned long long room;

	if (statvfs(dir, &sv) != 0)
		return fail(s, "%s: %s", dir, strerror(errno));
	room = (unsigned long long)sv.f_bavail * sv.f_frsize;
	/* ramfs (an initramfs root) has no size: its room is free memory. */
	if (sv.f_blocks == 0 && sysinfo(&si) == 0)
		room = (unsigned long long)si.freeram * si.mem_unit;
	if (room < s->unpacked + STAGE_SPARE)
		return fail(s, "%s has %llu KiB free; the agent needs %zu KiB",
		    dir, room / 1024, (s->unpacked + STAGE_SPARE) / 1024);
	if ((s->archive = malloc(s->size)) == NULL)
		return fail(s, "no memory for the %zu-byte archive", s->size);
	return 0;
}

/* Remove what we unpacked: a flat directory of our own files. */
static void
remove_dir(struct stage *s)
{
	DIR *d;
	struct dirent *e;

	if (s->dir[0] == '\0')
		return;
	if ((d = opendir(s->dir)) != NULL) {
		while ((e = readdir(d)) != NULL)
			if (e->d_name[0] != '.')
				unlinkat(dirfd(d), e->d_name, 0);
		closedir(d);
	}
	rmdir(s->dir);
	s->dir[0] = '\0';
}

static bool
name_is_safe(const char *n)
{
	if (n[0] == '\0' || n[0] == '.' || strlen(n) > 200)
		return false;
	return strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._+-") == strlen(n);
}

static int
write_file(struct stage *s, const char *name, mode_t mode, const void *p,
    size_t n)
{
	char path[2400];
	int fd;
	ssize_t w;

	snprintf(path, sizeof(path), "%s/%s", s->dir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, mode & 0700)) < 0)
		return fail(s, "%s: %s", path, strerror(errno));
	while (n > 0) {
		if ((w = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return fail(s, "%s: %s", path, strerror(errno));
		}
		p = (const char *)p + w;
		n -= (size_t)w;
	}
	if (close(fd) != 0)
		return fail(s, "%s: %s", path, strerror(errno));
	return 0;
}

/*
 * The archive, once decompressed:
 *	LLAR 1 LOADER AGENT\n
 *	then per file: MODE(octal) SIZE NAME\n and SIZE bytes
 *	end\n
 * Decoded whole into memory (it is a few MiB and was checked for room).
 */
static int
unpack(struct stage *s)
{
	lzma_stream z = LZMA_STREAM_INIT;
	lzma_options_lzma lz;
	lzma_filter chain[3];
	unsigned char *out, *p, *end, *nl;
	unsigned long mode, size;
	char name[256], magic[8], *w;
	int rc = -1;
	bool done = false;

	/* One byte more than expected: the decoder must reach the end. */
	if ((out = malloc(s->unpacked + 1)) == NULL)
		return fail(s, "no memory to unpack %zu bytes", s->unpacked);
	/* Raw LZMA2 after the bundle's BCJ filter (make-bundle.sh); only
	 * the dictionary size is an option, the rest is in the stream. */
	memset(&lz, 0, sizeof(lz));
	lz.dict_size = STAGE_DICT;
	chain[0].id = s->filter;
	chain[0].options = NULL;
	chain[s->filter == LZMA_VLI_UNKNOWN ? 0 : 1].id = LZMA_FILTER_LZMA2;
	chain[s->filter == LZMA_VLI_UNKNOWN ? 0 : 1].options = &lz;
	chain[s->filter == LZMA_VLI_UNKNOWN ? 1 : 2].id = LZMA_VLI_UNKNOWN;
	if (lzma_raw_decoder(&z, chain) != LZMA_OK) {
		fail(s, "cannot start the xz decoder");
		goto out;
	}
	z.next_in = s->archive;
	z.avail_in = s->size;
	z.next_out = out;
	z.avail_out = s->unpacked + 1;
	if (lzma_code(&z, LZMA_FINISH) != LZMA_STREAM_END ||
	    z.total_out != s->unpacked) {
		fail(s, "the archive does not unpack to %zu bytes",
		    s->unpacked);
		goto out;
	}
	p = out;
	end = out + s->unpacked;
	if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL ||
	    (*nl = '\0', w = (char *)p, next_word(&w, magic, sizeof(magic)))
	    != 0 || strcmp(magic, "LLAR") != 0 ||
	    next_number(&w, 10, &size) != 0 || size != 1 ||
	    next_word(&w, s->loader, sizeof(s->loader)) != 0 ||
	    next_word(&w, s->agent, sizeof(s->agent)) != 0 ||
	    !name_is_safe(s->loader) || !name_is_safe(s->agent)) {
		fail(s, "not a lifeline agent archive");
		goto out;
	}
	for (p = nl + 1; p < end && !done; ) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			fail(s, "archive entry without a header line");
			goto out;
		}
		*nl = '\0';
		if (strcmp((char *)p, "end") == 0) {
			done = true;
			break;
		}
		w = (char *)p;
		if (next_number(&w, 8, &mode) != 0 ||
		    next_number(&w, 10, &size) != 0 ||
		    next_word(&w, name, sizeof(name)) != 0 ||
		    !name_is_safe(name) || size > (size_t)(end - nl - 1)) {
			fail(s, "bad archive entry \"%.60s\"", (char *)p);
			goto out;
		}
		if (write_file(s, name, (mode_t)mode, nl + 1, size) != 0)
			goto out;
		p = nl + 1 + size;
	}
	if (!done) {
		fail(s, "the archive has no end");
		goto out;
	}
	rc = 0;
out:
	lzma_end(&z);
	free(out);
	return rc;
}

/* Everything has arrived and was checked: make the agent's directory. */
static int
install(struct stage *s, const char *dir)
{
	unsigned char sha[SHA256_DIGEST_LENGTH];
	char line[STAGE_KEY_MAX + 2];
	SHA256_CTX ctx;

	SHA256_Init(&ctx);
	SHA256_Update(&ctx, s->archive, s->size);
	SHA256_Final(sha, &ctx);
	if (memcmp(sha, s->sha, sizeof(sha)) != 0)
		return fail(s, "the archive's SHA-256 does not match: nothing "
		    "was unpacked");
	snprintf(s->dir, sizeof(s->dir), "%s/lifeline.XXXXXX", dir);
	if (mkdtemp(s->dir) == NULL) {
		s->dir[0] = '\0';
		return fail(s, "cannot make a directory in %s: %s", dir,
		    strerror(errno));
	}
	snprintf(line, sizeof(line), "%s\n", s->key);
	if (unpack(s) != 0 ||
	    write_file(s, "authorized_keys", 0600, line, strlen(line)) != 0 ||
	    write_file(s, "lifelined.conf", 0600, "", 0) != 0) {
		remove_dir(s);
		return -1;
	}
	return 0;
}

/* Let the link deliver what was said, then end it. */
static void
finish_link(struct stage *s)
{
	uint64_t end = ll_now_ms() + 5000;

	while (!ll_link_is_drained(s->link) && ll_now_ms() < end &&
	    ll_link_state(s->link) == LL_LINK_UP)
		if (ll_link_pump_run(&s->pump, 50) != 0)
			return;
	ll_link_close(s->link, ll_now_ms());
	end = ll_now_ms() + 300;
	while (ll_now_ms() < end)
		if (ll_link_pump_run(&s->pump, 50) != 0)
			return;
}

/* Run the link until the archive is installed.  0 or -1 with s->err. */
static int
receive(struct stage *s, const char *dir)
{
	uint64_t start = ll_now_ms();
	uint64_t heard = 0, heard_at = start;
	uint32_t session = 0;	/* the client's, once up */
	struct ll_link_stats st;
	bool ready = false;
	char *blank;
	ssize_t r;
	int rc;

	for (;;) {
		if ((rc = ll_link_pump_run(&s->pump, 200)) != 0)
			return fail(s, "the console: %s", ll_strerror(rc));
		if (ll_link_state(s->link) == LL_LINK_DEAD)
			return fail(s, "the link ended: %s",
			    ll_strerror(ll_link_error(s->link)));
		if (session != 0 && (ll_link_state(s->link) != LL_LINK_UP ||
		    ll_link_session(s->link) != session))
			return fail(s, "the client went away (or another one "
			    "took over) before the agent had arrived");
		if (ll_link_state(s->link) != LL_LINK_UP) {
			if (ll_now_ms() > start + STAGE_WAIT_MS)
				return fail(s, "no client link within %d s",
				    STAGE_WAIT_MS / 1000);
			continue;
		}
		session = ll_link_session(s->link);
		/* An agent link keeps a silent client's session: not here. */
		ll_link_stats(s->link, &st);
		if (st.bytes_received != heard) {
			heard = st.bytes_received;
			heard_at = ll_now_ms();
		} else if (ll_now_ms() > heard_at + STAGE_SILENT_MS)
			return fail(s, "the client has been silent for %d s",
			    STAGE_SILENT_MS / 1000);
		if (!ready) {
			r = ll_link_read(s->link, 0, s->hdr + s->hdrlen,
			    STAGE_HEADER_MAX - s->hdrlen);
			if (r > 0)
				s->hdrlen += (size_t)r;
			s->hdr[s->hdrlen] = '\0';
			if ((blank = strstr(s->hdr, "\n\n")) == NULL) {
				if (s->hdrlen == STAGE_HEADER_MAX)
					return fail(s, "header too long");
				continue;
			}
			/* The archive starts after the blank line. */
			r = (ssize_t)(s->hdrlen - (size_t)(blank + 2 - s->hdr));
			blank[1] = '\0';
			if (parse_header(s) != 0 || check_room(s, dir) != 0)
				return -1;
			if ((size_t)r > s->size)
				return fail(s, "more data than the header said");
			memcpy(s->archive, blank + 2, (size_t)r);
			s->got = (size_t)r;
			ready = true;
			say(s, "READY\n");
		}
		while (s->got < s->size && (r = ll_link_read(s->link, 0,
		    s->archive + s->got, s->size - s->got)) > 0)
			s->got += (size_t)r;
		if (s->got == s->size)
			return install(s, dir);
		if (ll_link_readable(s->link, 0) > 0)
			return fail(s, "more data than the header said");
	}
}

static void
tty_restore(void)
{
	if (tty_saved)
		tcsetattr(0, TCSADRAIN, &saved_tty);
}

int
main(int argc, char **argv)
{
	static struct stage st;
	struct stage *s = &st;
	struct ll_link_config cfg;
	struct termios raw;
	char agent[4096], loader[4096], libs[4096], key[4096], hk[4096],
	    conf[4096], reply[4096];
	int flags, status = 0;
	pid_t pid;

	if (argc != 3 || strlen(argv[1]) > 900) {
		fprintf(stderr, "usage: lifeline-stage1 DIR SHA256 (typed by "
		    "lifeline attach --deploy)\n");
		return 2;
	}
	if (check_self(s, argv[2]) != 0) {
		fprintf(stderr, "lifeline-stage1: %s\n", s->err);
		return 1;
	}
	/* In RAM, and of no use once running: our file and its directory. */
	unlink(argv[0]);
	snprintf(s->dir, sizeof(s->dir), "%s", argv[0]);
	if (strrchr(s->dir, '/') != NULL) {
		*strrchr(s->dir, '/') = '\0';
		rmdir(s->dir);
	}
	s->dir[0] = '\0';
	if (tcgetattr(0, &saved_tty) == 0) {
		tty_saved = 1;
		raw = saved_tty;
		cfmakeraw(&raw);
		tcsetattr(0, TCSADRAIN, &raw);
	}
	/* The client starts the link on this word: the tty echoes no more. */
	if (write(1, "\r\nLL:G\r\n", 8) != 8) {
		/* the client then starts the link after a while anyway */
	}
	flags = fcntl(0, F_GETFL);
	fcntl(0, F_SETFL, flags | O_NONBLOCK);

	memset(&cfg, 0, sizeof(cfg));
	cfg.is_agent = true;
	cfg.encoding = LL_ENC_AUTO;
	cfg.epoch = ll_link_epoch_draw();
	if ((s->link = ll_link_new(&cfg, ll_now_ms())) == NULL) {
		fail(s, "out of memory");
		goto failed;
	}
	s->pump.link = s->link;
	s->pump.rfd = 0;
	s->pump.wfd = 1;
	s->pump.read = fd_read;
	s->pump.write = fd_write;
	ll_link_pump_init(&s->pump);

	if (receive(s, argv[1]) != 0)
		goto failed;
	snprintf(reply, sizeof(reply), "OK %s\n", s->dir);
	say(s, reply);
	finish_link(s);
	free(s->archive);

	snprintf(loader, sizeof(loader), "%s/%s", s->dir, s->loader);
	snprintf(agent, sizeof(agent), "%s/%s", s->dir, s->agent);
	snprintf(libs, sizeof(libs), "%s", s->dir);
	snprintf(key, sizeof(key), "%s/authorized_keys", s->dir);
	snprintf(hk, sizeof(hk), "%s/ssh_host_ed25519_key", s->dir);
	snprintf(conf, sizeof(conf), "%s/lifelined.conf", s->dir);
	fcntl(0, F_SETFL, flags);
	tcflush(0, TCIFLUSH);
	/*
	 * The agent sets the tty up itself and restores what it found when
	 * it ends: the shell's settings, not ours.  The stage waits for it
	 * and then removes its directory (the host key with it).
	 */
	tty_restore();
	if ((pid = fork()) < 0) {
		fail(s, "fork: %s", strerror(errno));
		remove_dir(s);
		fprintf(stderr, "\r\nlifeline-stage1: %s\r\n", s->err);
		return 1;
	}
	if (pid == 0) {
		char *av[] = { loader, "--library-path", libs, "--argv0",
		    "lifelined", agent, "--stdio", "--config", conf,
		    "--authorized-keys", key, "--host-key", hk, NULL };
		char *env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };

		execve(loader, av, env);
		fprintf(stderr, "\r\nlifeline-stage1: cannot run %s: %s\r\n",
		    loader, strerror(errno));
		_exit(127);
	}
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	remove_dir(s);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
failed:
	if (s->link != NULL && ll_link_state(s->link) == LL_LINK_UP) {
		snprintf(reply, sizeof(reply), "ERROR %s\n", s->err);
		say(s, reply);
		finish_link(s);
	}
	remove_dir(s);
	tty_restore();
	fcntl(0, F_SETFL, flags);
	fprintf(stderr, "\r\nlifeline-stage1: %s\r\n", s->err);
	return 1;
}
