/*
 * lifeline attach --deploy: bring the agent to a rescue host that has only
 * a shell on its console (docs/deploy.md).
 *
 * At the shell prompt attach found, three steps:
 *
 * 1. Probe.  One typed line reports the architecture, an installed
 *    lifelined's version, a RAM-backed directory that allows exec (tmpfs,
 *    ramfs or an initramfs root: never a disk), and which of base64, gzip,
 *    sha256sum and stty the shell has.  An installed agent of this version
 *    is simply started (attach's usual exec).
 * 2. The first stage (deploy/stage1.c, ~190 KB) is typed into a shell loop:
 *    base64 lines (gzip'd first where the host can unpack it), or printf
 *    octal escapes where it has no base64.  The console is cooked and
 *    noisy, so every line is checked before it counts: typed without its
 *    CR, compared with the tty's echo, killed with ^U and typed again on a
 *    mismatch; only then the CR.  The loop itself takes a line only with the
 *    expected sequence number and length and acknowledges it (LL:K<n>), so a
 *    line cut short by a noise byte that became a newline is refused
 *    (LL:B<n>) and sent again.  The whole stage is then checked with
 *    sha256sum where the host has it, and run.
 * 3. The stage speaks lifeline's link on its tty; the agent archive (xz)
 *    goes over the ARQ at link speed, with the operator's public key; the
 *    stage checks its SHA-256 before it unpacks anything and execs the
 *    agent with that key as its only authorized key.  The agent makes a
 *    host key in RAM and prints its fingerprint on the console; that is
 *    read here, pinned for this session and filed in lifeline's known hosts
 *    for this path, so this and later sessions are SSH, with no question.
 *
 * The console is trusted here as much as the path that leads to it: who
 * can rewrite the fingerprint on the console could also have typed into it.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "attach.h"
#include "client.h"
#include "digest.h"
#include "error.h"
#include "link-pump.h"
#include "link.h"
#include "ssh-client.h"
#include "ssh-common.h"

#define DEPLOY_BUNDLE_MAX	(64u << 20)
#define DEPLOY_PROBE_MS		15000
#define DEPLOY_LINE_MAX		768	/* payload characters of a typed line */
#define DEPLOY_LINE_MIN		96
#define DEPLOY_TRIES		12	/* for one line */
#define DEPLOY_ACK_MS		10000
#define DEPLOY_QUIET_MS		60	/* the echo has ended */
#define DEPLOY_LINK_MS		30000	/* for the stage's link to come up */
#define DEPLOY_KEY_MS		30000	/* for the agent's host key line */
#define DEPLOY_KEY_MAX		8192

struct bundle {
	char arch[64], version[64];
	uint8_t *data;
	const uint8_t *stage1, *agent;
	size_t stage1_len, agent_len, unpacked;
	char agent_sha[LL_DIGEST_HEX_LEN + 1];
	char filter[16];		/* the archive's BCJ filter */
};

struct probe {
	char arch[64], dir[512], version[64], noexec[512];
	bool base64, gzip, sha256sum, stty;
};

static int
sha256_hex(const void *p, size_t n, char out[LL_DIGEST_HEX_LEN + 1])
{
	struct ll_digest *ctx = ll_digest_new();
	int rc = -1;

	if (ctx != NULL && ll_digest_update(ctx, p, n) == 0)
		rc = ll_digest_hex(ctx, out);
	ll_digest_free(ctx);
	return rc;
}

/* --bundle FILE, else the installed one for arch. */
static void
bundle_path(const struct attach *a, const char *arch, char *out, size_t len)
{
	if (a->bundle != NULL)
		snprintf(out, len, "%s", a->bundle);
	else
		snprintf(out, len, "%s/lifeline-bundle-%s", LL_BUNDLE_DIR, arch);
}

/*
 * Read and check a bundle (deploy/make-bundle.sh writes them).  0, or
 * EXIT_* with the message printed.
 */
static int
bundle_load(const char *path, const char *arch, struct bundle *b)
{
	char line[256], sha[LL_DIGEST_HEX_LEN + 1], s1sha[LL_DIGEST_HEX_LEN + 1];
	struct stat st;
	size_t off = 0, n;
	char *nl;
	bool magic = false;
	FILE *f;

	memset(b, 0, sizeof(*b));
	if ((f = fopen(path, "re")) == NULL) {
		msg_error("attach --deploy: no agent bundle for %s at %s: %s; "
		    "give --bundle FILE (make bundle builds one for the build "
		    "machine's architecture)", arch, path, strerror(errno));
		return EXIT_FAILED;
	}
	if (fstat(fileno(f), &st) != 0 || st.st_size <= 0 ||
	    (uint64_t)st.st_size > DEPLOY_BUNDLE_MAX ||
	    (b->data = malloc((size_t)st.st_size)) == NULL ||
	    fread(b->data, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		msg_error("attach --deploy: cannot read the bundle %s", path);
		fclose(f);
		return EXIT_FAILED;
	}
	fclose(f);
	n = (size_t)st.st_size;
	s1sha[0] = '\0';
	/* The text header, up to a blank line. */
	while (off < n && (nl = memchr(b->data + off, '\n', n - off)) != NULL) {
		size_t l = (size_t)((uint8_t *)nl - (b->data + off));

		if (l == 0) {
			off++;
			break;
		}
		snprintf(line, sizeof(line), "%.*s", (int)(l < 255 ? l : 255),
		    (char *)b->data + off);
		off += l + 1;
		if (strcmp(line, "LLBUNDLE 1") == 0)
			magic = true;
		else if (sscanf(line, "arch %63s", b->arch) == 1 ||
		    sscanf(line, "version %63s", b->version) == 1)
			continue;
		else if (sscanf(line, "stage1 %zu %64s", &b->stage1_len,
		    s1sha) == 2)
			continue;
		else
			sscanf(line, "agent %zu %64s %zu %15s", &b->agent_len,
			    b->agent_sha, &b->unpacked, b->filter);
	}
	if (!magic || b->stage1_len == 0 || b->agent_len == 0 ||
	    b->filter[0] == '\0' ||
	    b->stage1_len > n - off || b->agent_len != n - off - b->stage1_len) {
		msg_error("attach --deploy: %s is not a lifeline agent bundle",
		    path);
		return EXIT_FAILED;
	}
	if (strcmp(b->arch, arch) != 0) {
		msg_error("attach --deploy: the bundle %s is for %s; the rescue "
		    "host is %s: give --bundle FILE with a bundle built on %s",
		    path, b->arch, arch, arch);
		return EXIT_FAILED;
	}
	if (strcmp(b->version, PACKAGE_VERSION) != 0) {
		msg_error("attach --deploy: the bundle %s holds lifelined %s; "
		    "this client is %s", path, b->version, PACKAGE_VERSION);
		return EXIT_FAILED;
	}
	b->stage1 = b->data + off;
	b->agent = b->stage1 + b->stage1_len;
	if (sha256_hex(b->stage1, b->stage1_len, sha) != 0 ||
	    strcmp(sha, s1sha) != 0 ||
	    sha256_hex(b->agent, b->agent_len, sha) != 0 ||
	    strcmp(sha, b->agent_sha) != 0) {
		msg_error("attach --deploy: the bundle %s is damaged (its "
		    "SHA-256 does not match its header)", path);
		return EXIT_FAILED;
	}
	return 0;
}

/*
 * Wait until the console's text holds a line starting with tag; copy the
 * rest of that line.  The echo of a typed line never holds the tag (it is
 * typed split by quotes).  0, or LL_ERR_TIMEOUT / the transport's error.
 */
static int
wait_line(struct attach *a, const char *tag, char *out, size_t len, int ms)
{
	uint64_t end = ll_now_ms() + (uint64_t)ms;
	const char *p, *e;
	int rc;

	for (;;) {
		for (p = a->text; (p = strstr(p, tag)) != NULL; p++) {
			/* At a line's start, or after the reader's prompt. */
			if (p != a->text && p[-1] != '\n' && (p - a->text < 2 ||
			    p[-2] != '#' || p[-1] != ' '))
				continue;
			if ((e = strchr(p, '\n')) == NULL)
				break;
			p += strlen(tag);
			snprintf(out, len, "%.*s", (int)(e - p), p);
			return 0;
		}
		if (conn_interrupted)
			return LL_ERR_CLOSED;
		if (ll_now_ms() >= end)
			return LL_ERR_TIMEOUT;
		if ((rc = attach_read(a, 50)) != 0)
			return rc;
	}
}

/* Until the console has said nothing for ms.  0 or LL_ERR_*. */
static int
wait_quiet(struct attach *a, int ms)
{
	uint64_t since = ll_now_ms();
	size_t len = a->len;
	int rc;

	while (ll_now_ms() < since + (uint64_t)ms) {
		if ((rc = attach_read(a, 10)) != 0)
			return rc;
		if (a->len != len) {
			len = a->len;
			since = ll_now_ms();
		}
	}
	return 0;
}

/* Length of a kernel message's "[ 123.456789] ...\n" at s, else 0. */
static size_t
kmsg_len(const char *s)
{
	const char *p = s + 1, *nl;

	if (*s != '[')
		return 0;
	p += strspn(p, " ");
	if (strspn(p, "0123456789") == 0)
		return 0;
	p += strspn(p, "0123456789");
	if (*p++ != '.' || strspn(p, "0123456789") == 0)
		return 0;
	p += strspn(p, "0123456789");
	if (*p != ']' || (nl = strchr(p, '\n')) == NULL)
		return 0;
	return (size_t)(nl + 1 - s);
}

/*
 * Whether the console's text shows line.  Newlines are skipped (a shell's
 * line editor wraps a long line at its idea of the terminal's width), and
 * so are whole kernel messages, which the console prints wherever they
 * fall, also in the middle of an echo: nothing lifeline types holds a
 * "[" followed by a timestamp.
 */
static bool
echo_has(const struct attach *a, const char *line)
{
	char flat[ATTACH_TEXT_MAX + 1];
	size_t i, k, n = 0;

	for (i = 0; i < a->len; i++) {
		if ((k = kmsg_len(a->text + i)) > 0) {
			i += k - 1;
			continue;
		}
		if (a->text[i] != '\n')
			flat[n++] = a->text[i];
	}
	flat[n] = '\0';
	return strstr(flat, line) != NULL;
}

/*
 * Wait for the echo of line: until the console's text holds it, or holds
 * as much as it and then stays quiet (a kernel message or a noise byte in
 * the middle), or a deadline.  0, or -EXIT_* with the message printed.
 */
static int
wait_echo(struct attach *a, const char *line)
{
	size_t n = strlen(line), len = 0;
	uint64_t until = ll_now_ms() + 1000 + n * 2, quiet = 0;

	while (ll_now_ms() < until && !echo_has(a, line)) {
		if (attach_read(a, 10) != 0)
			return -EXIT_CONNECT;
		if (conn_interrupted)
			return -EXIT_NOAGENT;
		if (a->len != len) {
			len = a->len;
			quiet = ll_now_ms();
		} else if (len >= n && ll_now_ms() > quiet + DEPLOY_QUIET_MS)
			break;
	}
	return 0;
}

/*
 * Type line without its CR and compare the echo: 0 when the echo shows all
 * of it (the CR is the caller's), -1 when it does not (the line is then
 * killed with ^U and the console quiet again), or -EXIT_* with the message
 * printed.
 */
static int
type_unsent(struct attach *a, const char *line)
{
	int rc;

	/* ^U first: noise may have left bytes in the line being edited. */
	attach_clear(a);
	if (attach_write(a, "\025", 1) != 0 ||
	    attach_write(a, line, strlen(line)) != 0)
		return -EXIT_CONNECT;
	if ((rc = wait_echo(a, line)) != 0)
		return rc;
	if (echo_has(a, line))
		return 0;
	if (attach_write(a, "\025", 1) != 0)
		return -EXIT_CONNECT;
	return wait_quiet(a, DEPLOY_QUIET_MS) != 0 ? -EXIT_CONNECT : -1;
}

/*
 * A command for the shell: typed, checked against its echo (typed again
 * when noise garbled it), then sent with its CR; the caller waits for what
 * it prints.  0, or EXIT_* with the message printed.
 */
static int
type_command(struct attach *a, const char *cmd, const char *what)
{
	char shown[ATTACH_SHOW_MAX * 4 + 8];
	int rc, tries;

	for (tries = 0; tries <= DEPLOY_TRIES; tries++) {
		if ((rc = type_unsent(a, cmd)) < -1)
			return -rc;
		if (rc == 0) {
			attach_clear(a);
			return attach_write(a, "\r", 1) != 0 ? EXIT_CONNECT : 0;
		}
	}
	attach_show(a, a->text, shown, sizeof(shown));
	msg_error("attach --deploy: the console garbles every try of %s (it "
	    "said \"%s\")", what, shown);
	return EXIT_CONNECT;
}

/* "a|b|c": the next field, moved past. */
static void
field(char **s, char *out, size_t len)
{
	char *bar = strchr(*s, '|');
	size_t n = bar != NULL ? (size_t)(bar - *s) : strlen(*s);

	snprintf(out, len, "%.*s", (int)n, *s);
	*s += n + (bar != NULL);
}

/*
 * The probe, typed as one line.  Candidates in order of preference; "/"
 * only where it is RAM itself (an initramfs).  Output:
 * LL:P|ARCH|DIR|VERSION|BASE64|GZIP|SHA256SUM|STTY|NOEXEC-DIRS|
 */
static const char probe_cmd[] =
    "ll_fs() { r=; while read -r _ m t o _; do [ \"$m\" = \"$1\" ] && "
    "r=\"$t,$o,\"; done </proc/mounts; echo \"$r\"; }; "
    "a=$(uname -m); v=$(lifelined --version 2>/dev/null); v=${v#lifelined }; "
    "d=; x=; for c in /run /dev/shm /tmp /; do f=$(ll_fs $c); "
    "case $f in tmpfs,*|ramfs,*|rootfs,*) ;; *) continue;; esac; "
    "case $f in *,noexec,*) x=\"$x $c\"; continue;; esac; "
    "[ -d $c ] && [ -w $c ] && { d=$c; break; }; done; "
    "b=0; [ \"$(echo QUJD | base64 -d 2>/dev/null)\" = ABC ] && b=1; "
    "g=0; [ \"$(echo H4sIAAAAAAAAA3N0cgYAg5cNOwMAAAA= | base64 -d 2>/dev/null "
    "| gzip -dc 2>/dev/null)\" = ABC ] && g=1; "
    "s=0; set -- $(printf ABC | sha256sum 2>/dev/null); "
    "[ \"$1\" = b5d4045c3f466fa91fe2cc6abe79232a1a57cdf104f7a26e716e0a1e2789df78 ] "
    "&& s=1; t=0; stty -g >/dev/null 2>&1 && t=1; "
    "echo \"LL:\"\"P|$a|$d|$v|$b|$g|$s|$t|$x|\"";

/*
 * The shell's own prompt has line editing (echo, redraws, wrapping) that
 * makes long lines hard to check.  So one short line is typed there: a loop
 * that reads each further command from the tty in canonical mode, where
 * the echo is the terminal's own and shows exactly what the shell will
 * run, and evaluates it.  stty first, where there is one, so that no noise
 * byte can become a signal or stop the output, and so that killing a
 * garbled line (^U) echoes "^U" and a newline instead of erasing each
 * character (-echoke: three bytes back rather than three per character;
 * under noise the erasing was 40% of the typing time).  The loop prompts
 * "# " as a shell does, so that a later attach finds a shell there; a
 * failed deploy leaves it ("break") for the shell's own prompt.
 */
static const char reader_cmd[] =
    "o=$(stty -g 2>/dev/null); stty -isig -ixon -iexten 2>/dev/null; "
    "stty -echoke 2>/dev/null; echo LL:\"\"Q; "
    "while printf '# '; IFS= read -r c; do eval \"$c\"; "
    "done; stty \"$o\" 2>/dev/null";

static int
enter_reader(struct attach *a)
{
	char out[64], shown[ATTACH_SHOW_MAX * 4 + 8];
	int rc, tries;

	for (tries = 0; tries < 3; tries++) {
		if ((rc = type_command(a, reader_cmd, "the command reader")) != 0)
			return rc;
		if (wait_line(a, "LL:Q", out, sizeof(out), DEPLOY_ACK_MS) == 0)
			return 0;
	}
	attach_show(a, attach_screen(a), shown, sizeof(shown));
	msg_error("attach --deploy: the shell does not run what lifeline types "
	    "(is it a POSIX shell?); the console said \"%s\"", shown);
	return EXIT_NOAGENT;
}

static int
run_probe(struct attach *a, struct probe *p)
{
	char out[1024], *s = out, flag[8];
	int rc;

	memset(p, 0, sizeof(*p));
	msg_verbose("attach: probing the shell (architecture, a RAM "
	    "directory, tools)");
	if ((rc = type_command(a, probe_cmd, "the probe")) != 0)
		return rc;
	if ((rc = wait_line(a, "LL:P|", out, sizeof(out),
	    DEPLOY_PROBE_MS)) != 0) {
		char shown[ATTACH_SHOW_MAX * 4 + 8];

		attach_show(a, attach_screen(a), shown, sizeof(shown));
		msg_error("attach --deploy: the shell did not answer the probe "
		    "(is it a POSIX shell?); the console said \"%s\"", shown);
		return EXIT_NOAGENT;
	}
	field(&s, p->arch, sizeof(p->arch));
	field(&s, p->dir, sizeof(p->dir));
	field(&s, p->version, sizeof(p->version));
	field(&s, flag, sizeof(flag));
	p->base64 = flag[0] == '1';
	field(&s, flag, sizeof(flag));
	p->gzip = flag[0] == '1';
	field(&s, flag, sizeof(flag));
	p->sha256sum = flag[0] == '1';
	field(&s, flag, sizeof(flag));
	p->stty = flag[0] == '1';
	field(&s, p->noexec, sizeof(p->noexec));
	/* Noise could have changed what gets typed and opened from these. */
	if (p->dir[0] != '\0' && strcmp(p->dir, "/run") != 0 &&
	    strcmp(p->dir, "/dev/shm") != 0 && strcmp(p->dir, "/tmp") != 0 &&
	    strcmp(p->dir, "/") != 0)
		p->dir[0] = '\0';
	if (strspn(p->arch, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_") != strlen(p->arch))
		p->arch[0] = '\0';
	msg_verbose("attach: the host: %s, RAM directory %s, lifelined %s, "
	    "base64 %s, gzip %s, sha256sum %s, stty %s", p->arch[0] != '\0' ?
	    p->arch : "?", p->dir[0] != '\0' ? p->dir : "none",
	    p->version[0] != '\0' ? p->version : "none",
	    p->base64 ? "yes" : "no", p->gzip ? "yes" : "no",
	    p->sha256sum ? "yes" : "no", p->stty ? "yes" : "no");
	return 0;
}

/* What the shell types the stage as: one string, cut into lines later. */
struct typed {
	char *text;
	size_t len;
	bool b64;		/* base64 lines (else printf escapes) */
	bool gz;		/* of gzip data */
};

/* gzip (zlib, window 31) of p, or NULL. */
static uint8_t *
gzip_of(const uint8_t *p, size_t n, size_t *outlen)
{
	z_stream z;
	uint8_t *out;
	size_t cap = compressBound((uLong)n) + 64;

	memset(&z, 0, sizeof(z));
	if ((out = malloc(cap)) == NULL)
		return NULL;
	if (deflateInit2(&z, 9, Z_DEFLATED, 31, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(out);
		return NULL;
	}
	z.next_in = (Bytef *)(uintptr_t)p;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
		deflateEnd(&z);
		free(out);
		return NULL;
	}
	*outlen = z.total_out;
	deflateEnd(&z);
	return out;
}

/*
 * printf format escapes for p: letters as themselves, every other byte as
 * octal (3 digits when a digit follows, so none is taken into the escape).
 */
static char *
printf_escape(const uint8_t *p, size_t n, size_t *outlen)
{
	char *out = malloc(4 * n + 1), *o = out;
	size_t i;

	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		uint8_t c = p[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			*o++ = (char)c;
		else
			o += sprintf(o, "\\%o", c);
	}
	*o = '\0';
	*outlen = (size_t)(o - out);
	return out;
}

static int
typed_make(const struct bundle *b, const struct probe *p, struct typed *t)
{
	uint8_t *gz = NULL;
	const uint8_t *src = b->stage1;
	size_t n = b->stage1_len;

	memset(t, 0, sizeof(*t));
	if (!p->base64) {
		t->text = printf_escape(src, n, &t->len);
		return t->text != NULL ? 0 : -1;
	}
	if (p->gzip && (gz = gzip_of(src, n, &n)) != NULL) {
		src = gz;
		t->gz = true;
	}
	t->b64 = true;
	if ((t->text = malloc(4 * (n / 3 + 1) + 1)) != NULL)
		t->len = (size_t)EVP_EncodeBlock((unsigned char *)t->text, src,
		    (int)n);
	free(gz);
	return t->text != NULL ? 0 : -1;
}

/* Where the next line of at most max characters ends (escapes whole). */
static size_t
typed_cut(const struct typed *t, size_t off, size_t max)
{
	size_t end = off + max, k;

	if (end >= t->len)
		return t->len;
	if (t->b64)
		return off + max / 4 * 4;
	/* Back to the start of an escape that would be split. */
	for (k = end; k > off && end - k < 4; k--)
		if (t->text[k] == '\\')
			return k;
	return end;
}

/*
 * Whether the shell's answer to a line came and is not one: after the
 * echo of the CR, a whole line that is neither empty nor a kernel message
 * (an answer is looked for first).  Noise that garbles an answer would
 * otherwise cost DEPLOY_ACK_MS.
 */
static bool
answer_garbled(const struct attach *a)
{
	const char *p = strchr(a->text, '\n'), *e;
	size_t k;

	if (p == NULL)
		return false;
	for (p++; (e = strchr(p, '\n')) != NULL; p = e + 1) {
		if ((k = kmsg_len(p)) > 0) {
			e = p + k - 1;
			continue;
		}
		if (e > p)
			return true;
	}
	return false;
}

/*
 * Type one line of the upload and have the shell judge it.  *next is the
 * index of the line the shell expects next (it took this one when that is
 * one more than this line's), or -1 without a clear answer; *committed
 * says whether the CR went out (the shell may then hold this line, whatever
 * it answered).  0, or EXIT_* with the message printed.
 */
static int
type_line(struct attach *a, const char *line, int *next, bool *committed)
{
	char got[32];
	uint64_t until;
	int rc, n1, n2, len;

	*next = -1;
	*committed = false;
	if ((rc = type_unsent(a, line)) < -1)
		return -rc;
	if (rc == -1)
		return 0;
	attach_clear(a);
	if (attach_write(a, "\r", 1) != 0)
		return EXIT_CONNECT;
	*committed = true;
	until = ll_now_ms() + DEPLOY_ACK_MS;
	while (wait_line(a, "LL:K", got, sizeof(got), 0) != 0 &&
	    wait_line(a, "LL:B", got, sizeof(got), 0) != 0) {
		/* A garbled answer: the line is typed again as it was, and
		 * the shell says which line it wants. */
		if (ll_now_ms() >= until || conn_interrupted ||
		    answer_garbled(a))
			return 0;
		if (attach_read(a, 20) != 0)
			return EXIT_CONNECT;
	}
	/* The index twice: a digit lost to noise cannot pass. */
	if (sscanf(got, "%d:%d%n", &n1, &n2, &len) == 2 &&
	    got[len] == '\0' && n1 == n2 && n1 >= 0)
		*next = n1;
	return 0;
}

/* Type the stage into the shell.  0 or EXIT_*. */
static int
upload_stage(struct attach *a, const struct bundle *b,
    const struct probe *p, char *file, size_t filelen)
{
	char cmd[2048], sha[LL_DIGEST_HEX_LEN + 1], line[DEPLOY_LINE_MAX + 64],
	    out[256], check[200];
	const char *store, *decode;
	size_t *offs = NULL, *cuts = NULL;	/* per line: start, end */
	bool committed, looping = false;
	struct typed t;
	size_t off = 0, cut, max = DEPLOY_LINE_MAX, nlines;
	unsigned seq = 0, tries = 0, retyped = 0;
	uint64_t start = ll_now_ms();
	int rc, next;

	if (typed_make(b, p, &t) != 0) {
		msg_error("attach --deploy: out of memory");
		return EXIT_FAILED;
	}
	sha256_hex(b->stage1, b->stage1_len, sha);
	/* A directory of our own: /tmp and /dev/shm are writable by all. */
	snprintf(file, filelen, "%s/.lifeline-stage1.%u", strcmp(p->dir, "/") ==
	    0 ? "" : p->dir, (unsigned)getpid());
	/*
	 * The loop takes "SEQ LEN DATA" lines; "E COUNT" ends it (the stage
	 * runs only when the shell took COUNT lines), "A" aborts it.  Then
	 * the stage is decoded (gzip checks its own CRC), checked with
	 * sha256sum where there is one, and run with its SHA-256, which it
	 * checks itself before anything else.
	 */
	if (t.b64) {
		store = "echo \"$l\" >>$F.in";
		decode = t.gz ? "base64 -d <$F.in | gzip -dc >$F" :
		    "base64 -d <$F.in >$F";
	} else {
		store = "printf \"$l\" >>$F";
		decode = ":";
	}
	snprintf(check, sizeof(check), p->sha256sum ? "set -- $(sha256sum $F); "
	    "[ \"$1\" = %s ] || { echo LL:\"\"S; false; }" : ":", sha);
	if ((size_t)snprintf(cmd, sizeof(cmd), "umask 077; D=%s; "
	    "rm -rf \"${D:?}\"; mkdir \"$D\" && F=$D/s && i=0 && ok= && "
	    "echo LL:\"\"R && while read -r n k l; do [ \"$n\" = A ] && break; "
	    "[ \"$n\" = E ] && { [ \"$k\" = \"$i\" ] && ok=1; "
	    "echo LL:\"\"D$ok; break; }; "
	    "if [ \"$n\" = $i ] && [ \"${#l}\" = \"$k\" ]; then %s && "
	    "i=$((i+1)) && echo LL:\"\"K$i:$i; else echo LL:\"\"B$i:$i; fi; "
	    "done; if [ \"$ok\" = 1 ]; then if %s; then rm -f $F.in; if %s; "
	    "then chmod 700 $F && $F %s %s; fi; else echo LL:\"\"E; fi; fi; "
	    "rm -rf \"$D\"", file, store, decode, check, p->dir, sha) >=
	    sizeof(cmd)) {
		msg_error("attach --deploy: the upload command is too long");
		rc = EXIT_FAILED;
		goto out;
	}
	msg_verbose("attach: typing the first stage (%zu bytes as %zu "
	    "characters of %s) into %s", b->stage1_len, t.len, t.b64 ?
	    (t.gz ? "gzip+base64" : "base64") : "printf escapes", file);
	/* Type nothing more before the loop runs (the tty is cooked again). */
	if ((rc = type_command(a, cmd, "the upload loop")) != 0)
		goto out;
	if (wait_line(a, "LL:R", out, sizeof(out), DEPLOY_PROBE_MS) != 0) {
		attach_show(a, attach_screen(a), out, sizeof(out));
		msg_error("attach --deploy: the shell did not start the upload "
		    "loop; the console said \"%s\"", out);
		rc = EXIT_NOAGENT;
		goto out;
	}
	looping = true;
	/* Where each line started, for going back. */
	nlines = t.len / (DEPLOY_LINE_MIN / 2) + 2;
	if ((offs = calloc(nlines, sizeof(*offs))) == NULL ||
	    (cuts = calloc(nlines, sizeof(*cuts))) == NULL) {
		msg_error("attach --deploy: out of memory");
		rc = EXIT_FAILED;
		goto out;
	}
	while (off < t.len) {
		/*
		 * A line the shell may hold (its CR went out) is typed again
		 * exactly as it was, so that whichever copy it took, what
		 * follows fits; only lines it never got are made shorter.
		 */
		if (seq >= nlines) {
			msg_error("attach --deploy: the first stage needs more "
			    "lines than planned");
			rc = EXIT_FAILED;
			goto out;
		}
		offs[seq] = off;
		cut = cuts[seq] != 0 ? cuts[seq] : typed_cut(&t, off, max);
		snprintf(line, sizeof(line), "%u %zu %.*s", seq, cut - off,
		    (int)(cut - off), t.text + off);
		if ((rc = type_line(a, line, &next, &committed)) != 0)
			goto out;
		/* The shell holds this line unless it said it wants it. */
		if (committed)
			cuts[seq] = next == (int)seq ? 0 : cut;
		if (next == (int)seq + 1) {
			off = cut;
			seq++;
			tries = 0;
			if (max + 32 <= DEPLOY_LINE_MAX)
				max += 32;
			continue;
		}
		if (next >= 0 && next < (int)seq) {
			/* The shell took fewer lines than we counted: go back. */
			msg_verbose("attach: the shell is at line %d of the first "
			    "stage, lifeline at %u: going back", next, seq);
			seq = (unsigned)next;
			off = offs[seq];
			continue;
		}
		if (next > (int)seq) {
			msg_error("attach --deploy: the shell is at line %d of "
			    "the first stage, lifeline at %u", next, seq);
			rc = EXIT_CONNECT;
			goto out;
		}
		retyped++;
		if (++tries > DEPLOY_TRIES) {
			attach_show(a, a->text, out, sizeof(out));
			msg_error("attach --deploy: the console garbles every "
			    "try of line %u of the first stage (it said "
			    "\"%s\")", seq, out);
			rc = EXIT_CONNECT;
			goto out;
		}
		/* A noisy line: shorter lines are likelier to pass. */
		if (max / 2 >= DEPLOY_LINE_MIN)
			max /= 2;
	}
	/* The end, with the count: the loop answers LL:D1 when it agrees. */
	snprintf(line, sizeof(line), "E %u", seq);
	if ((rc = type_command(a, line, "the end of the first stage")) != 0)
		goto out;
	looping = false;
	if (wait_line(a, "LL:D", out, sizeof(out), DEPLOY_ACK_MS) != 0 ||
	    strcmp(out, "1") != 0) {
		attach_show(a, a->text, out, sizeof(out));
		msg_error("attach --deploy: the shell did not take all of the "
		    "first stage (it said \"%s\"); nothing was run", out);
		rc = EXIT_CONNECT;
		goto out;
	}
	msg_verbose("attach: first stage typed in %.1f s (%u lines, %u typed "
	    "again)", (double)(ll_now_ms() - start) / 1000.0, seq, retyped);
	rc = 0;
out:
	/* A loop left running would take what comes next as data. */
	if (rc != 0 && looping && rc != EXIT_LOST)
		type_command(a, "A", "the abort of the upload");
	free(offs);
	free(cuts);
	free(t.text);
	return rc;
}

static ssize_t
pump_read(void *ctx, void *p, size_t n)
{
	ssize_t r = ll_transport_read(ctx, p, n);

	return r == LL_ERR_CLOSED ? 0 : r;
}

static ssize_t
pump_write(void *ctx, const void *p, size_t n)
{
	return ll_transport_write(ctx, p, n);
}

/*
 * An EXIT_* code, with the message printed, when what the console said
 * after the upload shows the stage will not run (the shell's check of it
 * failed, or it said why it stopped); else 0.
 */
static int
stage_refused(const char *said)
{
	const char *p;

	if (strstr(said, "\nLL:S") != NULL) {
		msg_error("attach --deploy: the first stage arrived damaged (its "
		    "SHA-256 on the rescue host differs); nothing was run");
		return EXIT_CONNECT;
	}
	if (strstr(said, "\nLL:E") != NULL) {
		msg_error("attach --deploy: the rescue host's shell could not "
		    "decode the first stage; nothing was run");
		return EXIT_CONNECT;
	}
	if ((p = strstr(said, "lifeline-stage1: ")) != NULL &&
	    strchr(p, '\n') != NULL) {
		msg_error("attach --deploy: %.*s", (int)strcspn(p, "\r\n"), p);
		return EXIT_FAILED;
	}
	return 0;
}

/*
 * Console text that came between frames: the newest of it kept for an
 * error message.  An EXIT_* code when it says the stage will not run (the
 * shell's check of it failed, or it said why it stopped), else 0.
 */
static int
keep_console(struct attach *a, struct ll_link *l)
{
	char text[512];
	size_t n, have, keep = sizeof(a->said) - 1;

	while ((n = ll_link_console(l, text, sizeof(text))) > 0) {
		have = strlen(a->said);
		if (n > keep)
			n = keep;
		if (have + n > keep) {
			memmove(a->said, a->said + (have + n - keep), keep - n);
			have = keep - n;
		}
		memcpy(a->said + have, text, n);
		a->said[have + n] = '\0';
	}
	return stage_refused(a->said);
}

/*
 * Wait until the stage says its tty is raw ("LL:G" on a line of its own),
 * and only then start the link: a probe that meets the cooked tty's echo
 * keeps every control byte escaped for the whole transfer (a radix of 189
 * instead of 251: 6% of the line).  A failure the shell or the stage
 * reported ends the deploy; no word within DEPLOY_ACK_MS (noise ate it)
 * starts the link anyway.  0 or EXIT_*.
 */
static int
wait_stage(struct attach *a)
{
	uint64_t end = ll_now_ms() + DEPLOY_ACK_MS;
	char out[64];
	int rc;

	while (wait_line(a, "LL:G", out, sizeof(out), 0) != 0) {
		if ((rc = stage_refused(a->text)) != 0)
			return rc;
		if (ll_now_ms() >= end || conn_interrupted)
			return 0;
		if (attach_read(a, 20) != 0)
			return EXIT_CONNECT;
	}
	return 0;
}

/* With -v, how well the link to the stage used the line. */
static void
send_stats(struct ll_link *l, uint64_t ms, uint32_t rate)
{
	struct ll_link_stats st;

	ll_link_stats(l, &st);
	msg_verbose("attach: the link to the stage: %llu frames sent, %llu "
	    "retransmitted, payload %zu at the end, %llu wire bytes out",
	    (unsigned long long)st.frames_sent,
	    (unsigned long long)st.retransmits, st.frame_payload,
	    (unsigned long long)st.bytes_sent);
	if (rate > 0 && ms > 0)
		msg_verbose("attach: the line carried %.0f%% of what it could "
		    "in that time", 100.0 * (double)st.bytes_sent /
		    ((double)rate * (double)ms / 1000.0));
}

/*
 * Send the agent archive to the stage over the link.  0 or EXIT_*.
 */
static int
send_agent(struct attach *a, const struct bundle *b, const char *key)
{
	struct ll_link_config cfg;
	struct ll_link_pump pump;
	struct ll_link *l;
	char hdr[DEPLOY_KEY_MAX + 512], reply[600], shown[600];
	size_t hlen, sent = 0, rlen = 0;
	uint64_t start = ll_now_ms(), up = 0;
	bool ready = false, done = false;
	ssize_t w;
	int rc = EXIT_NOAGENT, prc;

	if ((rc = wait_stage(a)) != 0)
		return rc;
	memset(&cfg, 0, sizeof(cfg));
	cfg.is_agent = false;
	cfg.encoding = (enum ll_encoding)client_opts.encoding;
	cfg.epoch = ll_link_epoch_draw();
	cfg.connect_ms = DEPLOY_LINK_MS;
	cfg.log = client_link_log;
	cfg.log_ctx = "attach: link to the stage";
	cfg.line_rate = client_opts.baud != 0 ? client_opts.baud / 10 :
	    ll_transport_line_rate(a->t);
	if ((l = ll_link_new(&cfg, ll_now_ms())) == NULL) {
		msg_error("attach --deploy: out of memory");
		return EXIT_FAILED;
	}
	memset(&pump, 0, sizeof(pump));
	pump.link = l;
	pump.rfd = a->t->rfd;
	pump.wfd = a->t->wfd;
	pump.read = pump_read;
	pump.write = pump_write;
	pump.ctx = a->t;
	pump.rate = cfg.line_rate;
	ll_link_pump_init(&pump);
	hlen = (size_t)snprintf(hdr, sizeof(hdr), "LLDEPLOY 1\nsize %zu\n"
	    "unpacked %zu\nfilter %s\nsha256 %s\nkey %s\n\n", b->agent_len,
	    b->unpacked, b->filter, b->agent_sha, key);
	a->said[0] = '\0';
	for (;;) {
		if ((prc = ll_link_pump_run(&pump, 100)) != 0) {
			msg_error("attach --deploy: %s: %s", a->t->spec,
			    a->t->err[0] != '\0' ? a->t->err : ll_strerror(prc));
			rc = EXIT_LOST;
			break;
		}
		if ((rc = keep_console(a, l)) != 0)
			break;
		rc = EXIT_NOAGENT;
		if (conn_interrupted) {
			msg_error("attach --deploy: interrupted");
			break;
		}
		if (ll_link_state(l) == LL_LINK_DEAD) {
			attach_show(a, a->said, shown, sizeof(shown));
			if (up == 0)
				msg_error("attach --deploy: the first stage did "
				    "not answer within %d s; the console said "
				    "\"%s\"", DEPLOY_LINK_MS / 1000, shown);
			else
				msg_error("attach --deploy: the link to the "
				    "first stage was lost after %zu of %zu "
				    "bytes (%s)", sent > hlen ? sent - hlen :
				    0, b->agent_len,
				    ll_strerror(ll_link_error(l)));
			rc = up == 0 ? EXIT_NOAGENT : EXIT_LOST;
			break;
		}
		if (ll_link_state(l) != LL_LINK_UP)
			continue;
		if (up == 0) {
			up = ll_now_ms();
			msg_verbose("attach: the first stage answers (%.1f s); "
			    "sending the agent (%zu bytes)",
			    (double)(up - start) / 1000.0, b->agent_len);
		}
		if (sent < hlen) {
			w = ll_link_write(l, 0, hdr + sent, hlen - sent);
			if (w > 0)
				sent += (size_t)w;
		} else if (ready && sent < hlen + b->agent_len) {
			w = ll_link_write(l, 0, b->agent + (sent - hlen),
			    hlen + b->agent_len - sent);
			if (w > 0)
				sent += (size_t)w;
		}
		while (rlen + 1 < sizeof(reply) && (w = ll_link_read(l, 0,
		    reply + rlen, sizeof(reply) - 1 - rlen)) > 0)
			rlen += (size_t)w;
		reply[rlen] = '\0';
		if (!ready && strncmp(reply, "READY\n", 6) == 0) {
			ready = true;
			memmove(reply, reply + 6, rlen - 6 + 1);
			rlen -= 6;
		}
		if (strncmp(reply, "ERROR ", 6) == 0 && strchr(reply, '\n')) {
			*strchr(reply, '\n') = '\0';
			msg_error("attach --deploy: the rescue host refused the "
			    "agent: %s", reply + 6);
			rc = EXIT_FAILED;
			break;
		}
		if (strncmp(reply, "OK ", 3) == 0 && strchr(reply, '\n')) {
			*strchr(reply, '\n') = '\0';
			msg_verbose("attach: the agent is in %s (%zu bytes in "
			    "%.1f s)", reply + 3, b->agent_len,
			    (double)(ll_now_ms() - up) / 1000.0);
			send_stats(l, ll_now_ms() - up, cfg.line_rate);
			done = true;
			rc = 0;
			break;
		}
		if (rlen + 1 >= sizeof(reply)) {
			msg_error("attach --deploy: the first stage says too "
			    "much");
			rc = EXIT_FAILED;
			break;
		}
	}
	/*
	 * The stage closes the link and runs the agent, which prints its
	 * host key at once: what the link takes for console text meanwhile
	 * is the console's, for read_host_key().
	 */
	if (done) {
		uint64_t end = ll_now_ms() + 3000;
		uint8_t text[512];
		size_t n;

		attach_clear(a);
		do {
			while ((n = ll_link_console(l, text, sizeof(text))) > 0)
				attach_feed(a, text, n);
		} while (ll_link_state(l) != LL_LINK_DEAD &&
		    ll_now_ms() < end && ll_link_pump_run(&pump, 50) == 0);
		while ((n = ll_link_console(l, text, sizeof(text))) > 0)
			attach_feed(a, text, n);
	}
	ll_link_pump_cleanup(&pump);
	ll_link_free(l);
	return rc;
}

/*
 * The agent's host key, as lifelined prints it on a console when it starts:
 * three copies of "host key for this console: SHA256:FP TYPE BASE64".  The
 * first copy whose fingerprint and key agree is taken; noise that damaged
 * a copy cannot make them agree.  0 or EXIT_*.
 */
static int
read_host_key(struct attach *a, char *fp, size_t len)
{
	static const char tag[] = "host key for this console: ";
	uint64_t end = ll_now_ms() + DEPLOY_KEY_MS;
	char shown[600], f[LL_SSH_FP_MAX], type[64], b64[600];
	const char *p, *nl;
	int rc, copies;

	/* The text holds what came since the stage said OK (send_agent). */
	for (;;) {
		copies = 0;
		for (p = a->text; (p = strstr(p, tag)) != NULL; p = nl) {
			p += strlen(tag);
			if ((nl = strchr(p, '\n')) == NULL)
				break;
			copies++;
			if (sscanf(p, "%95s %63s %599s", f, type, b64) == 3 &&
			    ll_ssh_key_text_check(f, type, b64) == 0) {
				snprintf(fp, len, "%s", f);
				return 0;
			}
		}
		if (copies == 3) {
			attach_show(a, a->text, shown, sizeof(shown));
			msg_error("attach --deploy: every copy of the agent's "
			    "host key arrived damaged (\"%s\"); it runs on the "
			    "console, but its key cannot be pinned: rerun with "
			    "--host-key-fingerprint after reading it there",
			    shown);
			return EXIT_CONNECT;
		}
		if (ll_now_ms() >= end || conn_interrupted) {
			attach_show(a, a->text, shown, sizeof(shown));
			msg_error("attach --deploy: the agent did not show its "
			    "host key within %d s; the console said \"%s\"",
			    DEPLOY_KEY_MS / 1000, shown);
			return EXIT_NOAGENT;
		}
		if ((rc = attach_read(a, 50)) != 0)
			return EXIT_CONNECT;
	}
}

int
deploy_at_prompt(struct attach *a)
{
	static char pin[LL_SSH_FP_MAX];
	struct probe p;
	struct bundle b;
	char path[4096], key[DEPLOY_KEY_MAX], err[1024], file[600],
	    said[600];
	uint64_t start = ll_now_ms();
	int rc;

	memset(&b, 0, sizeof(b));
	if ((rc = enter_reader(a)) != 0)
		return rc;
	if ((rc = run_probe(a, &p)) != 0)
		goto out;
	if (strcmp(p.version, PACKAGE_VERSION) == 0) {
		msg_verbose("attach: lifelined %s is installed: starting it",
		    p.version);
		return DEPLOY_INSTALLED;	/* the reader runs the exec too */
	}
	if (p.version[0] != '\0')
		msg_verbose("attach: lifelined %s is installed, this is %s: "
		    "leaving it alone and deploying ours", p.version,
		    PACKAGE_VERSION);
	if (p.arch[0] == '\0') {
		msg_error("attach --deploy: the shell could not say its "
		    "architecture (uname -m)");
		rc = EXIT_FAILED;
		goto out;
	}
	if (p.dir[0] == '\0') {
		msg_error("attach --deploy: no RAM-backed directory that allows "
		    "programs to run (looked for tmpfs or ramfs at /run, "
		    "/dev/shm, /tmp, and an initramfs root%s%s); nothing was "
		    "written", p.noexec[0] != '\0' ? "; mounted noexec:" : "",
		    p.noexec);
		rc = EXIT_FAILED;
		goto out;
	}
	bundle_path(a, p.arch, path, sizeof(path));
	if ((rc = bundle_load(path, p.arch, &b)) != 0)
		goto out;
	if (ll_ssh_client_pubkey(client_opts.identity, key, sizeof(key), err,
	    sizeof(err)) != 0) {
		msg_error("attach --deploy: %s", err);
		rc = EXIT_USAGE;
		goto out;
	}
	if ((rc = upload_stage(a, &b, &p, file, sizeof(file))) != 0)
		goto out;
	if ((rc = send_agent(a, &b, key)) != 0) {
		/* What the shell said after the stage, if it ended there. */
		attach_read(a, 500);
		attach_show(a, a->text, said, sizeof(said));
		if (said[0] != '\0')
			msg_error("attach --deploy: the console said \"%s\"",
			    said);
		goto out;
	}
	if ((rc = read_host_key(a, pin, sizeof(pin))) != 0)
		goto out;
	client_opts.host_key_fingerprint = pin;
	if (ll_ssh_known_hosts_set(conn_known_hosts(), client_opts.via, pin,
	    err, sizeof(err)) != 0)
		msg_warn("attach --deploy: %s (this session goes on with the "
		    "key pinned)", err);
	msg_verbose("attach: deployed in %.1f s; the agent's host key %s is "
	    "filed for %s", (double)(ll_now_ms() - start) / 1000.0, pin,
	    client_opts.via);
	rc = 0;
out:
	/* Back to the shell's own prompt, unless the link or console is gone. */
	if (rc != 0 && rc != EXIT_LOST && rc != EXIT_NOAGENT)
		type_command(a, "break", "the way back to the prompt");
	free(b.data);
	return rc;
}
