/*
 * lifeline put: copy files and directory trees from here into the target
 * (or, with --rescue-host, onto the rescue system), like `cp -a`.
 *
 * We walk the local tree without following symlinks.  Directories and links
 * are one put-entry request each (a directory twice: created first, its
 * times set again after its contents).  A regular file is hashed first;
 * put-begin tells what a cut upload left in the agent's temp file, and when
 * our file starts with the same bytes we send only the rest.  The `put`
 * request carries the metadata, the size and the SHA-256; the bytes follow
 * as DATA on the file channel, sent only while the session has room, and
 * the agent replaces the file only when its hash of what it wrote matches.
 * A file already there with the same SHA-256 (put-begin hashes one of our
 * size) is left alone, neither sent nor backed up, unless --force.
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
#include "msg.h"
#include "xfer.h"

/* --force: send even a file that is already there, byte for byte. */
static bool put_force;

struct put_file {
	struct xfer *x;
	int fd;
	uint64_t pos, size;
	uint64_t offset;	/* where this call's upload started */
	bool eof_sent;
	struct xfer_progress prog;
};

static int
put_produce(void *ctx, struct ll_session *s, uint32_t id)
{
	static unsigned char buf[XFER_CHUNK];
	struct put_file *p = ctx;

	while (p->pos < p->size) {
		size_t room = ll_session_room(s);
		size_t want = p->size - p->pos > sizeof(buf) ? sizeof(buf) :
		    (size_t)(p->size - p->pos);
		ssize_t n;

		if (room == 0)
			break;
		if (want > room)
			want = room;
		n = pread(p->fd, buf, want, (off_t)p->pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return conn_set_error(&p->x->c, EXIT_FAILED, "put: read "
			    "error at byte %llu (did the file shrink?): %s",
			    (unsigned long long)p->pos,
			    n < 0 ? strerror(errno) : "end of file");
		ll_session_send_data(s, LL_CH_FILE, id, buf, (size_t)n);
		p->pos += (uint64_t)n;
	}
	xfer_progress_update(&p->prog, p->pos);
	if (p->pos == p->size && !p->eof_sent) {
		ll_session_send_eof(s, LL_CH_FILE, id);
		p->eof_sent = true;
	}
	return p->eof_sent ? 0 : 1;
}

/* The path and metadata arguments of a local entry; NULL (said) on OOM. */
static json_t *
put_args(struct xfer *x, const char *remote, const struct stat *sb)
{
	json_t *args = xfer_args(x, "put", remote), *meta;

	meta = json_pack("{s:i, s:I, s:I, s:I, s:i, s:I, s:i}",
	    "mode", (int)(sb->st_mode & 07777),
	    "uid", (json_int_t)sb->st_uid, "gid", (json_int_t)sb->st_gid,
	    "mtime", (json_int_t)sb->st_mtim.tv_sec,
	    "mtime_ns", (int)sb->st_mtim.tv_nsec,
	    "atime", (json_int_t)sb->st_atim.tv_sec,
	    "atime_ns", (int)sb->st_atim.tv_nsec);
	if (args == NULL || meta == NULL || json_object_update(args, meta) != 0) {
		if (args != NULL)
			msg_error("put: %s: out of memory", remote);
		json_decref(args);
		args = NULL;
	}
	json_decref(meta);
	return args;
}

/*
 * Where the upload starts: what a cut upload left in the agent's temp file
 * (put-begin), when it is a prefix of ours; else 0.  Unless --force, the
 * agent also hashes a file of our size already at remote: *unchanged when
 * it is ours byte for byte (then nothing is sent).  The return as
 * conn_call's; p->pos set.
 */
static int
put_file_begin(struct xfer *x, struct put_file *p, struct ll_digest *md,
    const char *remote, const char *hex, bool *unchanged)
{
	char prefix[65];
	const char *theirs;
	json_t *args, *res = NULL;
	uint64_t partial;
	int rc;

	p->pos = 0;
	if ((args = xfer_args(x, "put", remote)) == NULL)
		return conn_set_error(&x->c, EXIT_FAILED, "put: %s: out of "
		    "memory", remote);
	if (!put_force && json_object_set_new(args, "size",
	    json_integer((json_int_t)p->size)) != 0) {
		json_decref(args);
		return conn_set_error(&x->c, EXIT_FAILED, "put: %s: out of "
		    "memory", remote);
	}
	rc = conn_call(&x->c, "put-begin", args, NULL, &res);
	json_decref(args);
	if (rc != 0)
		return rc;
	theirs = json_string_value(json_object_get(res, "existing_sha256"));
	*unchanged = !put_force && theirs != NULL && strcmp(theirs, hex) == 0;
	partial = (uint64_t)json_integer_value(json_object_get(res,
	    "partial"));
	theirs = json_string_value(json_object_get(res, "partial_sha256"));
	if (partial > 0 && partial <= p->size && theirs != NULL) {
		ll_digest_reset(md);
		if (ll_digest_prefix(p->fd, partial, md) == 0) {
			ll_digest_hex(md, prefix);
			if (strcmp(prefix, theirs) == 0)
				p->pos = partial;
		}
	}
	json_decref(res);
	return 0;
}

/*
 * One put-begin and put of the file (no put when *unchanged): the return
 * and *res as conn_call's.
 */
static int
put_file_call(struct xfer *x, struct put_file *p, struct ll_digest *md,
    const char *remote, const struct stat *sb, const char *hex,
    bool *unchanged, json_t **res)
{
	struct call_handlers h = { .produce = put_produce, .ctx = p };
	json_t *args;
	int rc;

	p->eof_sent = false;
	if ((rc = put_file_begin(x, p, md, remote, hex, unchanged)) != 0 ||
	    *unchanged)
		return rc;
	p->offset = p->pos;
	if ((args = put_args(x, remote, sb)) == NULL)
		return conn_set_error(&x->c, EXIT_FAILED, "put: %s: out of "
		    "memory", remote);
	if (json_object_set_new(args, "size",
	    json_integer((json_int_t)p->size)) != 0 ||
	    json_object_set_new(args, "offset",
	    json_integer((json_int_t)p->pos)) != 0 ||
	    json_object_set_new(args, "sha256", json_string(hex)) != 0) {
		json_decref(args);
		return conn_set_error(&x->c, EXIT_FAILED, "put: %s: out of "
		    "memory", remote);
	}
	xfer_progress_start(&p->prog, remote, p->size, p->pos);
	rc = conn_call(&x->c, "put", args, &h, res);
	json_decref(args);
	xfer_progress_end(&p->prog);
	return rc;
}

/* The file is there already, byte for byte: say so and record it. */
static void
put_unchanged(struct xfer *x, const char *hex, const char *local,
    const char *remote, uint64_t size)
{
	json_t *last;

	xfer_record(x, "file", remote, local, size, size, 0, hex);
	if (x->files != NULL && (last = json_array_get(x->files,
	    json_array_size(x->files) - 1)) != NULL)
		json_object_set_new(last, "unchanged", json_true());
	if (!client_opts.json)
		printf("unchanged %s (the same SHA-256 is there; --force sends "
		    "it anyway)\n", remote);
}

static int
put_file(struct xfer *x, int dirfd, const char *name, const char *local,
    const char *remote)
{
	struct put_file p;
	struct stat sb;
	struct ll_digest *md = NULL;
	char hex[65], what[PATH_MAX + 64];
	const char *theirs;
	json_t *res = NULL;
	uint64_t first = 0, crossed = 0;
	int rc = EXIT_FAILED, calls = 0;
	bool unchanged = false;

	memset(&p, 0, sizeof(p));
	p.x = x;
	p.fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (p.fd < 0 || fstat(p.fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		msg_error("put: cannot open %s: %s", local, strerror(errno));
		goto out;
	}
	p.size = (uint64_t)sb.st_size;
	if ((md = ll_digest_new()) == NULL ||
	    ll_digest_prefix(p.fd, p.size, md) != 0) {
		msg_error("put: cannot read %s: %s", local, strerror(errno));
		goto out;
	}
	ll_digest_hex(md, hex);
	/*
	 * A lost link: reconnect and go on from what the agent's temp file
	 * holds (put-begin says; its SHA-256 must be our prefix's).
	 */
	for (;;) {
		rc = put_file_call(x, &p, md, remote, &sb, hex, &unchanged,
		    &res);
		if (calls++ == 0)
			first = p.offset;
		crossed += p.pos - p.offset;
		if (rc != EXIT_LOST)
			break;
		snprintf(what, sizeof(what), "put %s: the link was lost after "
		    "%llu bytes", remote, (unsigned long long)p.pos);
		if (xfer_reconnect(x, what) != 0)
			break;
	}
	if (rc != 0) {
		msg_error("%s", x->c.err);
		goto out;
	}
	if (unchanged) {
		put_unchanged(x, hex, local, remote, p.size);
		goto out;
	}
	theirs = json_string_value(json_object_get(res, "sha256"));
	if (theirs == NULL || strcmp(theirs, hex) != 0) {
		msg_error("put: the agent reports SHA-256 %s for %s, ours is %s",
		    theirs != NULL ? theirs : "?", remote, hex);
		rc = EXIT_FAILED;
		goto out;
	}
	xfer_record(x, "file", remote, local, p.size, first, crossed, hex);
	rc = 0;
out:
	if (p.fd >= 0)
		close(p.fd);
	ll_digest_free(md);
	json_decref(res);
	return rc;
}

static int
put_call_entry(struct xfer *x, const char *remote, const struct stat *sb,
    const char *type, const char *target, bool times)
{
	json_t *args = put_args(x, remote, sb);
	int rc;

	if (args == NULL)
		return EXIT_FAILED;
	/* the link text as a byte string: "target" or "target_base64" */
	if (json_object_set_new(args, "type", json_string(type)) != 0 ||
	    (target != NULL && ll_msg_set_bytes(args, "target", target) != 0)) {
		json_decref(args);
		msg_error("put: %s: out of memory", remote);
		return EXIT_FAILED;
	}
	if (!times) {
		json_object_del(args, "mtime");
		json_object_del(args, "atime");
	}
	rc = xfer_call(x, "put-entry", args, NULL, NULL);
	json_decref(args);
	if (rc != 0)
		msg_error("%s", x->c.err);
	return rc;
}

static int
put_entry(struct xfer *x, int dirfd, const char *name, const char *local,
    const char *remote)
{
	char clocal[PATH_MAX], cremote[PATH_MAX], target[PATH_MAX];
	struct dirent *de;
	struct stat sb;
	ssize_t n;
	DIR *d;
	int fd, rc;

	if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
		msg_error("put: %s: %s", local, strerror(errno));
		return EXIT_FAILED;
	}
	if (S_ISREG(sb.st_mode))
		return put_file(x, dirfd, name, local, remote);
	if (S_ISLNK(sb.st_mode)) {
		if ((n = readlinkat(dirfd, name, target, sizeof(target) - 1)) <
		    0) {
			msg_error("put: cannot read the link %s: %s", local,
			    strerror(errno));
			return EXIT_FAILED;
		}
		target[n] = '\0';
		if ((rc = put_call_entry(x, remote, &sb, "symlink", target,
		    true)) == 0)
			xfer_record(x, "symlink", remote, local, 0, 0, 0, NULL);
		return rc;
	}
	if (!S_ISDIR(sb.st_mode)) {
		msg_warn("put: skipping %s: not a file, directory or link",
		    local);
		return 0;
	}
	if ((rc = put_call_entry(x, remote, &sb, "dir", NULL, false)) != 0)
		return rc;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		msg_error("put: cannot read the directory %s: %s", local,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return EXIT_FAILED;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (xfer_join(clocal, sizeof(clocal), local, de->d_name) != 0 ||
		    xfer_join(cremote, sizeof(cremote), remote,
		    de->d_name) != 0) {
			msg_error("put: path too long below %s", local);
			rc = EXIT_FAILED;
			break;
		}
		rc = put_entry(x, fd, de->d_name, clocal, cremote);
	}
	closedir(d);
	if (rc != 0)
		return rc;
	/* again, now that its contents no longer change its times */
	if ((rc = put_call_entry(x, remote, &sb, "dir", NULL, true)) == 0)
		xfer_record(x, "dir", remote, local, 0, 0, 0, NULL);
	return rc;
}

static const struct cmd_option put_options[] = {
	{ "rescue-host", 'H', CMD_OPT_SHORT, NULL, "copy to the rescue "
	  "system, not the target root" },
	{ "force", 'f', CMD_OPT_SHORT, NULL, "send files even when the "
	  "same bytes are there already (replacing them, with a backup)" },
	{ NULL, 0, 0, NULL, NULL }
};

/* Every local path must exist before anything is sent. */
static int
put_check_locals(char **paths, int n)
{
	struct stat sb;
	int i;

	for (i = 0; i < n; i++) {
		if (lstat(paths[i], &sb) != 0) {
			msg_error("put: %s: %s", paths[i], strerror(errno));
			return EXIT_USAGE;
		}
	}
	return 0;
}

/*
 * cp -a: into REMOTE when it is a directory, else as REMOTE (which then
 * need not exist).  0 with *into_dir, or an EXIT_* code, said.
 */
static int
put_remote_kind(struct xfer *x, const char *remote, bool *into_dir)
{
	const char *type;
	json_t *e = NULL;
	int rc;

	*into_dir = false;
	rc = xfer_stat(x, remote, &e);
	if (rc == 0) {
		type = json_string_value(json_object_get(e, "type"));
		*into_dir = type != NULL && strcmp(type, "dir") == 0;
	} else if (rc != EXIT_FAILED || strcmp(x->c.err_code,
	    "not_found") != 0 || strstr(x->c.err, "no target root") != NULL) {
		msg_error("%s", x->c.err);
		json_decref(e);
		return rc;
	}
	json_decref(e);
	return 0;
}

/*
 * A local path as the directory to open (ldir) and the entry in it
 * (*lname, pointing into local): trailing slashes go, and ".", ".." or "/"
 * are named by what they really are.  0, or EXIT_USAGE, said.
 */
static int
put_split_local(const char *arg, char local[PATH_MAX], char ldir[PATH_MAX],
    const char **lname)
{
	char real[PATH_MAX], *s;

	snprintf(local, PATH_MAX, "%s", arg);
	while (strlen(local) > 1 && local[strlen(local) - 1] == '/')
		local[strlen(local) - 1] = '\0';
	if ((s = strrchr(local, '/')) == NULL) {
		snprintf(ldir, PATH_MAX, ".");
		*lname = local;
	} else {
		snprintf(ldir, PATH_MAX, "%.*s", s == local ? 1 :
		    (int)(s - local), local);
		*lname = s + 1;
	}
	if (strcmp(*lname, ".") != 0 && strcmp(*lname, "..") != 0 &&
	    strcmp(local, "/") != 0)
		return 0;
	/* name the directory by what it really is */
	if (realpath(local, real) == NULL || strcmp(real, "/") == 0) {
		msg_error("put: name the entries below %s", local);
		return EXIT_USAGE;
	}
	snprintf(local, PATH_MAX, "%s", real);
	s = strrchr(local, '/');
	snprintf(ldir, PATH_MAX, "%.*s", s == local ? 1 : (int)(s - local),
	    local);
	*lname = s + 1;
	return 0;
}

/* One LOCAL argument to REMOTE (into it when it is a directory). */
static int
put_one(struct xfer *x, const char *arg, const char *remote, bool into_dir)
{
	char local[PATH_MAX], ldir[PATH_MAX], dest[PATH_MAX];
	const char *lname;
	int dfd, rc;

	if ((rc = put_split_local(arg, local, ldir, &lname)) != 0)
		return rc;
	if (into_dir) {
		if (xfer_join(dest, sizeof(dest), remote, lname) != 0) {
			msg_error("put: remote path too long");
			return EXIT_USAGE;
		}
	} else {
		snprintf(dest, sizeof(dest), "%s", remote);
	}
	if ((dfd = open(ldir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		msg_error("put: cannot open %s: %s", ldir, strerror(errno));
		return EXIT_FAILED;
	}
	rc = put_entry(x, dfd, lname, arg, dest);
	close(dfd);
	return rc;
}

static int
cmd_put(int argc, char **argv)
{
	struct xfer x;
	char remote[PATH_MAX];
	bool into_dir = false, rh = false;
	uint64_t t0;
	int ch, i, nlocal, rc = 0;

	optind = 0;
	while ((ch = cmd_getopt(&cmd_put_entry, argc, argv)) != -1) {
		switch (ch) {
		case 'H':
			rh = true;
			break;
		case 'f':
			put_force = true;
			break;
		default:
			goto usage;
		}
	}
	nlocal = argc - optind - 1;
	if (nlocal < 1)
		goto usage;
	if (xfer_remote_path("put", argv[argc - 1], remote,
	    sizeof(remote)) != 0)
		return EXIT_USAGE;
	if ((rc = put_check_locals(argv + optind, nlocal)) != 0)
		return rc;
	memset(&x, 0, sizeof(x));
	x.rescue_host = rh;
	if (client_opts.json)
		x.files = json_array();
	if ((rc = conn_open_early(&x.c)) != 0) {
		msg_error("%s", x.c.err);
		goto close;
	}
	t0 = ll_now_ms();
	if ((rc = put_remote_kind(&x, remote, &into_dir)) != 0)
		goto close;
	if (nlocal > 1 && !into_dir) {
		msg_error("put: %s must be an existing directory when several "
		    "local paths are given", remote);
		rc = EXIT_USAGE;
		goto close;
	}
	for (i = optind; i < argc - 1 && rc == 0; i++)
		rc = put_one(&x, argv[i], remote, into_dir);
	if (rc == 0)
		xfer_summary(&x, "put", t0);
close:
	conn_close(&x.c);
	json_decref(x.files);
	return rc;
usage:
	return cmd_usage_error(&cmd_put_entry);
}

const struct client_cmd cmd_put_entry = {
	.name = "put",
	.operands = "LOCAL... REMOTE",
	.summary = "copy files and directories to the target",
	.options = put_options,
	.run = cmd_put,
};
