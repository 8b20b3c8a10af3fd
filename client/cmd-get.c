/*
 * lifeline get: copy files and directory trees from the target (or, with
 * --rescue-host, from the rescue system) to here, like `cp -a`.
 *
 * The walk is ours: REMOTE is first asked for with `get` (a file, the usual
 * case, then costs one round trip), and only when the agent refuses that
 * does file-stat say what it is; file-list gives a directory's entries page
 * by page, and each regular file comes from one `get` request as DATA on
 * the file channel, written as it arrives into
 * ".NAME.lifeline-part" beside the destination while we hash it.  The
 * agent's SHA-256 of what it read must equal ours of what we wrote; then
 * mode, owner (only when we run as root) and times are set and the part
 * file is renamed over NAME.  A part file left by a cut transfer is offered
 * to the agent as a prefix (length and SHA-256): when its own file starts
 * the same, only the rest crosses the line.  Symlinks are recreated as
 * links and never followed, here or there.  What get and put share is in
 * xfer.c.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "error.h"
#include "reply.h"
#include "msg.h"
#include "xfer.h"

/* --- get ----------------------------------------------------------------- */

/*
 * ".STEM.lifeline-part" beside name, STEM being name or, for a name too
 * long to take the suffix, a shortened one (ll_digest_name_stem).  0, or -1
 * with a message.
 */
static int
xfer_part_name(const char *name, char *out, size_t len)
{
	char stem[LL_NAME_STEM_MAX + 1];

	if (ll_digest_name_stem(name, stem) != 0) {
		msg_error("get: out of memory");
		return -1;
	}
	snprintf(out, len, ".%s%s", stem, XFER_PART_SUFFIX);
	return 0;
}

struct get_file {
	int fd;
	struct ll_digest *md;
	uint64_t have;		/* length of the part file we offered */
	uint64_t offset, pos;
	uint64_t first;		/* the first call's offset */
	uint64_t crossed;	/* bytes received by the calls before */
	bool started, eof;
	const char *name;	/* for the progress bar */
	json_t *entry;		/* the file's entry, from get's EVENT */
	char err[256];
	struct xfer_progress prog;
};

static void
get_event(void *ctx, json_t *ev)
{
	struct get_file *g = ctx;
	json_t *o = json_object_get(ev, "offset");
	json_t *sz = json_object_get(ev, "size");

	if (g->started || !json_is_integer(o))
		return;
	json_decref(g->entry);
	g->entry = json_incref(ev);
	g->offset = (uint64_t)json_integer_value(o);
	if (g->offset != g->have) {
		/* the agent's file starts differently: from scratch */
		g->offset = 0;
		ll_digest_reset(g->md);
		if (ftruncate(g->fd, 0) != 0)
			snprintf(g->err, sizeof(g->err), "cannot truncate the "
			    "part file: %s", strerror(errno));
	}
	g->pos = g->offset;
	g->started = true;
	xfer_progress_start(&g->prog, g->name, (uint64_t)json_integer_value(sz),
	    g->pos);
}

static void
get_data(void *ctx, uint8_t ch, const uint8_t *p, size_t n)
{
	struct get_file *g = ctx;

	if (ch != LL_CH_FILE || g->err[0] != '\0')
		return;
	if (!g->started) {
		snprintf(g->err, sizeof(g->err), "file data arrived before "
		    "the agent said where it starts");
		return;
	}
	while (n > 0) {
		ssize_t w = pwrite(g->fd, p, n, (off_t)g->pos);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(g->err, sizeof(g->err), "write error: %s",
			    strerror(w < 0 ? errno : ENOSPC));
			return;
		}
		ll_digest_update(g->md, p, (size_t)w);
		g->pos += (uint64_t)w;
		p += w;
		n -= (size_t)w;
	}
	xfer_progress_update(&g->prog, g->pos);
}

static void
get_eof(void *ctx, uint8_t ch)
{
	struct get_file *g = ctx;

	if (ch == LL_CH_FILE)
		g->eof = true;
}

static bool
get_complete(void *ctx)
{
	return ((struct get_file *)ctx)->eof;
}

/* Owner (only as root), mode (not for links) and times of a local entry. */
static int
get_apply_meta(struct xfer *x, int dirfd, const char *name, json_t *e,
    bool is_link, const char *local)
{
	struct timespec ts[2];

	if (x->is_root && fchownat(dirfd, name,
	    (uid_t)json_integer_value(json_object_get(e, "uid")),
	    (gid_t)json_integer_value(json_object_get(e, "gid")),
	    AT_SYMLINK_NOFOLLOW) != 0) {
		msg_error("get: cannot set the owner of %s: %s", local,
		    strerror(errno));
		return -1;
	}
	if (!is_link && fchmodat(dirfd, name,
	    (mode_t)json_integer_value(json_object_get(e, "mode")), 0) != 0) {
		msg_error("get: cannot set the mode of %s: %s", local,
		    strerror(errno));
		return -1;
	}
	ts[0].tv_sec = json_integer_value(json_object_get(e, "atime"));
	ts[0].tv_nsec = json_integer_value(json_object_get(e, "atime_ns"));
	ts[1].tv_sec = json_integer_value(json_object_get(e, "mtime"));
	ts[1].tv_nsec = json_integer_value(json_object_get(e, "mtime_ns"));
	if (utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW) != 0) {
		msg_error("get: cannot set the times of %s: %s", local,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Is name in dirfd a directory (want_dir) or not?  -1 with a message. */
static int
get_check_kind(int dirfd, const char *name, bool want_dir, const char *local)
{
	struct stat sb;

	if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
		return 0;
	if (S_ISDIR(sb.st_mode) && !want_dir) {
		msg_error("get: %s is a directory: refusing to replace a "
		    "directory with a file or link", local);
		return -1;
	}
	if (!S_ISDIR(sb.st_mode) && want_dir) {
		msg_error("get: %s exists and is not a directory: refusing to "
		    "replace it with a directory", local);
		return -1;
	}
	return 0;
}

/*
 * An interrupted get: what arrived stays in the part file (synced), so the
 * same command resumes after it, as after a cut line.
 */
static void
get_keep_part(struct get_file *g, const char *remote, const char *local,
    const char *part)
{
	const char *slash = strrchr(local, '/');
	int dirlen = slash != NULL ? (int)(slash - local + 1) : 0;

	if (g->err[0] != '\0') {
		msg_error("get: interrupted; %s: %s", local, g->err);
		return;
	}
	if (fsync(g->fd) != 0) {
		msg_error("get: interrupted; %s: fsync of the part file: %s",
		    local, strerror(errno));
		return;
	}
	msg_error("get: interrupted: the first %llu bytes of %s are kept in "
	    "%.*s%s; the same command resumes from there",
	    (unsigned long long)(g->started ? g->pos : g->have), remote,
	    dirlen, local, part);
}

/*
 * One get request for the file: the part file's bytes offered as a prefix
 * (its length and SHA-256), the rest received into it.  The return and
 * *res as conn_call's.
 */
static int
get_file_call(struct xfer *x, const char *remote, struct get_file *g,
    json_t **res)
{
	struct call_handlers h = { .data = get_data, .eof = get_eof,
	    .event = get_event, .complete = get_complete,
	    .stop_on_interrupt = true, .ctx = g };
	char prefix[65];
	struct stat sb;
	json_t *args;
	int rc;

	g->crossed += g->pos - g->offset;
	g->have = g->offset = g->pos = 0;
	g->started = g->eof = false;
	ll_digest_reset(g->md);
	if (fstat(g->fd, &sb) != 0)
		return conn_set_error(&x->c, EXIT_FAILED, "get: the part file "
		    "for %s: %s", remote, strerror(errno));
	if ((args = xfer_args(x, "get", remote)) == NULL)
		return conn_set_error(&x->c, EXIT_FAILED, "get: %s: out of "
		    "memory", remote);
	if (sb.st_size > 0 && ll_digest_prefix(g->fd, (uint64_t)sb.st_size,
	    g->md) == 0) {
		g->have = (uint64_t)sb.st_size;
		ll_digest_hex(g->md, prefix);
		json_object_set_new(args, "offset",
		    json_integer((json_int_t)g->have));
		json_object_set_new(args, "prefix_sha256", json_string(prefix));
	} else {
		ll_digest_reset(g->md);
	}
	rc = conn_call(&x->c, "get", args, &h, res);
	json_decref(args);
	xfer_progress_end(&g->prog);
	return rc;
}

/*
 * get_file's return when it was called without an entry (a path named on the
 * command line, not yet known to be a file) and the agent refused the get
 * before it started: the path is then file-stat'ed and taken by its kind.
 */
#define GET_NOT_A_FILE	(-2)

/*
 * A regular file: e is its entry from file-list or file-stat, or NULL for a
 * path named on the command line.  Such a path is asked for with get at
 * once, which saves the file-stat's round trip (0.4 s at 9600 baud) for
 * the usual case; the entry (mode, owner, times) then comes with get's
 * EVENT.  When the agent refuses the get (a directory, a link, a missing
 * path), GET_NOT_A_FILE: nothing is printed and the part file made for it
 * is removed again.
 */
static int
get_file(struct xfer *x, const char *remote, json_t *e, int dirfd,
    const char *name, const char *local)
{
	struct get_file g;
	char part[NAME_MAX + 1], hex[65], what[PATH_MAX + 64];
	const char *theirs;
	json_t *res = NULL, *meta = NULL;
	struct stat sb;
	bool had_part;
	int rc = EXIT_FAILED, calls = 0;

	memset(&g, 0, sizeof(g));
	g.name = name;
	if (xfer_part_name(name, part, sizeof(part)) != 0)
		return EXIT_FAILED;
	had_part = fstatat(dirfd, part, &sb, AT_SYMLINK_NOFOLLOW) == 0;
	g.fd = openat(dirfd, part, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (g.fd < 0 || fstat(g.fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		msg_error("get: cannot open the part file %s%s for %s: %s",
		    ".", part + 1, local, strerror(errno));
		goto out;
	}
	if ((g.md = ll_digest_new()) == NULL)
		goto out;
	/* A lost link: reconnect and go on from what the part file holds. */
	for (;;) {
		rc = get_file_call(x, remote, &g, &res);
		if (calls++ == 0)
			g.first = g.started ? g.offset : g.have;
		if (rc != EXIT_LOST || g.err[0] != '\0')
			break;
		snprintf(what, sizeof(what), "get %s: the link was lost after "
		    "%llu bytes", remote, (unsigned long long)(g.started ?
		    g.pos : g.have));
		if (xfer_reconnect(x, what) != 0)
			break;
	}
	if (rc != 0 && conn_interrupted) {
		get_keep_part(&g, remote, local, part);
		goto out;
	}
	if (rc == EXIT_FAILED && e == NULL && !g.started &&
	    x->c.err_code[0] != '\0') {
		if (!had_part)
			unlinkat(dirfd, part, 0);
		output_error_code_forget();
		rc = GET_NOT_A_FILE;
		goto out;
	}
	if (rc != 0) {
		msg_error("%s", x->c.err);
		goto out;
	}
	rc = EXIT_FAILED;
	if (g.err[0] != '\0') {
		msg_error("get: %s: %s", local, g.err);
		goto out;
	}
	ll_digest_hex(g.md, hex);
	theirs = json_string_value(json_object_get(res, "sha256"));
	if (theirs == NULL || strcmp(theirs, hex) != 0 ||
	    (uint64_t)json_integer_value(json_object_get(res, "size")) !=
	    g.pos) {
		/* what we hold is wrong somewhere: do not resume from it */
		unlinkat(dirfd, part, 0);
		msg_error("get: SHA-256 mismatch for %s: the agent read %s, "
		    "we wrote %s; %s left as it was", remote,
		    theirs != NULL ? theirs : "?", hex, local);
		goto out;
	}
	if (fsync(g.fd) != 0) {
		msg_error("get: %s: fsync: %s", local, strerror(errno));
		goto out;
	}
	/* an agent whose EVENT has no entry: ask for it */
	if (e == NULL && json_is_integer(json_object_get(g.entry, "mode")))
		e = g.entry;
	else if (e == NULL) {
		if (xfer_stat(x, remote, &meta) != 0) {
			msg_error("%s", x->c.err);
			goto out;
		}
		e = meta;
	}
	if (get_check_kind(dirfd, name, false, local) != 0 ||
	    get_apply_meta(x, dirfd, part, e, false, local) != 0)
		goto out;
	if (renameat(dirfd, part, dirfd, name) != 0) {
		msg_error("get: cannot rename the part file to %s: %s", local,
		    strerror(errno));
		goto out;
	}
	xfer_record(x, "file", remote, local, g.pos, g.first,
	    g.crossed + g.pos - g.offset, hex);
	rc = 0;
out:
	if (g.fd >= 0)
		close(g.fd);
	ll_digest_free(g.md);
	json_decref(g.entry);
	json_decref(meta);
	json_decref(res);
	return rc;
}

static int get_entry(struct xfer *x, const char *remote, json_t *e,
    int dirfd, const char *name, const char *local);

/*
 * The exact bytes of a listed entry's name ("name" or "name_base64"), to be
 * created here under that name: refused (NULL, message printed) when it
 * could leave the directory or is no name at all: empty, ".", "..", or
 * holding a "/" or a NUL.  The caller frees it.
 */
static char *
get_entry_name(json_t *ent, const char *remote)
{
	char *n;
	size_t len;
	int rc;

	if ((rc = ll_msg_get_bytes(ent, "name", &n, &len)) != 0) {
		msg_error("get: the agent sent an entry of %s without a "
		    "readable name: %s", remote, ll_strerror(rc));
		return NULL;
	}
	if (!xfer_name_is_safe(n, len)) {
		msg_error("get: the agent sent a bad name in %s (empty, \".\", "
		    "\"..\", or holding \"/\" or a NUL): refused", remote);
		free(n);
		return NULL;
	}
	return n;
}

static int
get_dir(struct xfer *x, const char *remote, json_t *e, int dirfd,
    const char *name, const char *local)
{
	char crem[PATH_MAX], cloc[PATH_MAX];
	json_t *args, *res = NULL, *ent;
	json_int_t start = 0;
	size_t i;
	int fd, rc = EXIT_FAILED;

	if (get_check_kind(dirfd, name, true, local) != 0)
		return EXIT_FAILED;
	if (mkdirat(dirfd, name, 0700) != 0 && errno != EEXIST) {
		msg_error("get: cannot create %s: %s", local, strerror(errno));
		return EXIT_FAILED;
	}
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd < 0) {
		msg_error("get: cannot open %s: %s", local, strerror(errno));
		return EXIT_FAILED;
	}
	for (;;) {
		if ((args = xfer_args(x, "get", remote)) == NULL ||
		    json_object_set_new(args, "start",
		    json_integer(start)) != 0) {
			json_decref(args);
			rc = EXIT_FAILED;
			goto out;
		}
		rc = xfer_call(x, "file-list", args, NULL, &res);
		json_decref(args);
		if (rc != 0) {
			msg_error("%s", x->c.err);
			goto out;
		}
		json_array_foreach(json_object_get(res, "entries"), i, ent) {
			char *n;

			if ((n = get_entry_name(ent, remote)) == NULL) {
				rc = EXIT_PROTOCOL;
				goto out;
			}
			if (xfer_join(crem, sizeof(crem), remote, n) != 0 ||
			    xfer_join(cloc, sizeof(cloc), local, n) != 0) {
				msg_error("get: path too long below %s", remote);
				free(n);
				rc = EXIT_FAILED;
				goto out;
			}
			rc = get_entry(x, crem, ent, fd, n, cloc);
			free(n);
			if (rc != 0)
				goto out;
		}
		if (!json_is_integer(json_object_get(res, "next")))
			break;
		start = json_integer_value(json_object_get(res, "next"));
		json_decref(res);
		res = NULL;
	}
	/* times last: creating the children changed them */
	rc = EXIT_FAILED;
	if (get_apply_meta(x, dirfd, name, e, false, local) != 0)
		goto out;
	xfer_record(x, "dir", remote, local, 0, 0, 0, NULL);
	rc = 0;
out:
	json_decref(res);
	close(fd);
	return rc;
}

static int
get_link(struct xfer *x, const char *remote, json_t *e, int dirfd,
    const char *name, const char *local)
{
	char part[NAME_MAX + 1], *target = NULL;
	size_t tlen;
	int rc = EXIT_FAILED;

	/* the link text's exact bytes: "target" or "target_base64" */
	if (ll_msg_get_bytes(e, "target", &target, &tlen) != 0 ||
	    tlen == 0 || strlen(target) != tlen) {
		msg_error("get: the agent could not read the link %s", remote);
		goto out;
	}
	if (get_check_kind(dirfd, name, false, local) != 0)
		goto out;
	if (xfer_part_name(name, part, sizeof(part)) != 0)
		goto out;
	unlinkat(dirfd, part, 0);
	if (symlinkat(target, dirfd, part) != 0) {
		msg_error("get: cannot create the link %s: %s", local,
		    strerror(errno));
		goto out;
	}
	if (get_apply_meta(x, dirfd, part, e, true, local) != 0) {
		unlinkat(dirfd, part, 0);
		goto out;
	}
	if (renameat(dirfd, part, dirfd, name) != 0) {
		msg_error("get: cannot put the link %s in place: %s", local,
		    strerror(errno));
		unlinkat(dirfd, part, 0);
		goto out;
	}
	xfer_record(x, "symlink", remote, local, 0, 0, 0, NULL);
	rc = 0;
out:
	free(target);
	return rc;
}

static int
get_entry(struct xfer *x, const char *remote, json_t *e, int dirfd,
    const char *name, const char *local)
{
	const char *type = json_string_value(json_object_get(e, "type"));

	if (conn_interrupted) {
		msg_error("get: interrupted before %s", remote);
		return conn_interrupt_status();
	}
	if (type == NULL)
		type = "?";
	if (strcmp(type, "file") == 0)
		return get_file(x, remote, e, dirfd, name, local);
	if (strcmp(type, "dir") == 0)
		return get_dir(x, remote, e, dirfd, name, local);
	if (strcmp(type, "symlink") == 0)
		return get_link(x, remote, e, dirfd, name, local);
	msg_warn("get: skipping %s: not a file, directory or link", remote);
	return 0;
}

static const struct cmd_option get_options[] = {
	{ "rescue-host", 'H', CMD_OPT_SHORT, NULL, "copy from the rescue "
	  "system, not the target root" },
	{ NULL, 0, 0, NULL, NULL }
};

static int
cmd_get(int argc, char **argv)
{
	struct xfer x;
	struct stat sb;
	char remote[PATH_MAX], local[PATH_MAX], ldir[PATH_MAX], lpath[PATH_MAX];
	const char *lname, *dest;
	json_t *e = NULL;
	bool into_dir, rh = false;
	uint64_t t0;
	int ch, i, nremote, dfd = -1, rc = 0;

	optind = 0;
	while ((ch = cmd_getopt(&cmd_get_entry, argc, argv)) != -1) {
		switch (ch) {
		case 'H':
			rh = true;
			break;
		default:
			goto usage;
		}
	}
	nremote = argc - optind - 1;
	if (nremote < 1)
		goto usage;
	dest = argv[argc - 1];
	for (i = optind; i < argc - 1; i++) {
		if (xfer_remote_path("get", argv[i], remote,
		    sizeof(remote)) != 0)
			return EXIT_USAGE;
	}
	into_dir = stat(dest, &sb) == 0 && S_ISDIR(sb.st_mode);
	if (nremote > 1 && !into_dir) {
		msg_error("get: %s must be an existing directory when several "
		    "remote paths are given", dest);
		return EXIT_USAGE;
	}
	/* the destination's parent (or itself, when copying into it) */
	snprintf(local, sizeof(local), "%s", dest);
	while (strlen(local) > 1 && local[strlen(local) - 1] == '/')
		local[strlen(local) - 1] = '\0';
	if (into_dir) {
		snprintf(ldir, sizeof(ldir), "%s", local);
		lname = NULL;
	} else {
		char *s = strrchr(local, '/');

		if (s == NULL) {
			snprintf(ldir, sizeof(ldir), ".");
			lname = local;
		} else {
			*s = '\0';
			snprintf(ldir, sizeof(ldir), "%s", s == local ? "/" :
			    local);
			lname = s + 1;
		}
		if (strcmp(lname, ".") == 0 || strcmp(lname, "..") == 0 ||
		    lname[0] == '\0') {
			msg_error("get: %s does not exist", dest);
			return EXIT_USAGE;
		}
	}
	if ((dfd = open(ldir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		msg_error("get: cannot open the directory %s: %s", ldir,
		    strerror(errno));
		return EXIT_FAILED;
	}
	memset(&x, 0, sizeof(x));
	x.rescue_host = rh;
	x.is_root = geteuid() == 0;
	if (client_opts.json)
		x.files = json_array();
	if ((rc = conn_open_early(&x.c)) != 0) {
		msg_error("%s", x.c.err);
		goto close;
	}
	t0 = ll_now_ms();
	for (i = optind; i < argc - 1 && rc == 0; i++) {
		const char *name;

		xfer_remote_path("get", argv[i], remote, sizeof(remote));
		name = into_dir ? xfer_base(remote) : lname;
		if (name[0] == '\0') {
			msg_error("get: cannot copy / into a directory: name "
			    "the entries below it");
			rc = EXIT_USAGE;
			break;
		}
		if (into_dir)
			xfer_join(lpath, sizeof(lpath), ldir, name);
		else
			snprintf(lpath, sizeof(lpath), "%s", dest);
		/* a file at once; anything else by what file-stat says */
		if ((rc = get_file(&x, remote, NULL, dfd, name, lpath)) !=
		    GET_NOT_A_FILE)
			continue;
		if ((rc = xfer_stat(&x, remote, &e)) != 0) {
			msg_error("%s", x.c.err);
			break;
		}
		rc = get_entry(&x, remote, e, dfd, name, lpath);
		json_decref(e);
		e = NULL;
	}
	if (rc == 0)
		xfer_summary(&x, "got", t0);
close:
	conn_close(&x.c);
	json_decref(x.files);
	if (dfd >= 0)
		close(dfd);
	return rc;
usage:
	return cmd_usage_error(&cmd_get_entry);
}

const struct client_cmd cmd_get_entry = {
	.name = "get",
	.operands = "REMOTE... LOCAL",
	.summary = "copy files and directories from the target",
	.options = get_options,
	.run = cmd_get,
};
