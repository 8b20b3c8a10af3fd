/*
 * get and put: files and directory trees between the client and the target
 * root (or, with "rescue_host", the rescue system's own files).
 *
 * The client drives the walk; the agent answers small requests:
 *
 *   file-stat   lstat one path
 *   file-list   one page of a directory's entries, each lstat'ed
 *   get         stream one regular file: an EVENT says from which offset,
 *               DATA on LL_CH_FILE, EOF, then a REPLY with the SHA-256
 *   put-begin   what a previous, cut upload left: length and SHA-256 of
 *               the partial temp file
 *   put         receive one regular file into the temp file, check its
 *               SHA-256, then set mode/owner/times and replace atomically
 *   put-entry   create or update a directory, or replace a symlink
 *
 * Every path is resolved with target_open()/target_open_parent() (openat2
 * RESOLVE_IN_ROOT), and the last component is only touched with *at() calls
 * that never follow it, so a symlink in the target cannot take us outside
 * it.  Files are read only while the session has room and written as DATA
 * arrives, so memory stays bounded whatever their size.
 *
 * Resuming: get hashes the prefix the client already has and continues
 * after it when it matches.  put writes into ".NAME.lifeline-part" (0600)
 * beside NAME and keeps it when cut; put-begin reports it, and the client
 * continues after the prefix it verified.  The target may plant anything
 * at that name (a hard link to its shadow, say): a fresh upload removes the
 * name and creates the file O_EXCL, and a resume continues only in a
 * regular file with one link, owned by us, mode 0600 (files_part_open).  Replacing keeps the previous
 * entry as NAME.lifeline-bak (a hard link made before the rename, so NAME
 * never disappears), one backup per name.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "args.h"
#include "error.h"
#include "ll-limits.h"
#include "log.h"
#include "digest.h"
#include "msg.h"
#include "safe-file.h"
#include "target.h"

#define FILES_CHUNK		LL_DATA_CHUNK_MAX
#define FILES_LIST_BYTES	(96 * 1024)	/* JSON budget of one page */
#define FILES_LIST_MAX		512		/* entries in one page */
#define FILES_PART_SUFFIX	".lifeline-part"
#define FILES_BAK_SUFFIX	".lifeline-bak"
#define FILES_BAKT_SUFFIX	".lifeline-bakt"

struct files_state {
	int fd;			/* get: the file; put: the temp file */
	int dirfd;		/* put: parent directory (O_PATH) */
	char base[NAME_MAX + 1];
	char tmp[NAME_MAX + 1];
	struct ll_digest *md;
	uint64_t offset;	/* where this transfer started */
	uint64_t pos;		/* bytes of the file done */
	uint64_t size;		/* put: announced size */
	char sha256[65];	/* put: announced hash */
	bool rescue_host;
	bool cancelled;
	bool failed;
	/* put: metadata to apply on commit */
	mode_t mode;
	uid_t uid;
	gid_t gid;
	bool has_owner;
	struct timespec times[2];
};

static const char *
files_type(mode_t m)
{
	if (S_ISREG(m))
		return "file";
	if (S_ISDIR(m))
		return "dir";
	if (S_ISLNK(m))
		return "symlink";
	return "other";
}

/*
 * The JSON description of an entry (lstat'ed as name in dirfd).  The name
 * and a link's target are byte strings ("name" or "name_base64"): a name
 * that is not UTF-8 is carried, never dropped.  NULL when out of memory.
 */
static json_t *
files_entry(int dirfd, const char *name, const struct stat *st)
{
	json_t *e;

	e = json_pack("{s:s, s:i, s:I, s:I, s:I, s:I, s:i, s:I, s:i}",
	    "type", files_type(st->st_mode),
	    "mode", (int)(st->st_mode & 07777),
	    "uid", (json_int_t)st->st_uid, "gid", (json_int_t)st->st_gid,
	    "size", (json_int_t)(S_ISREG(st->st_mode) ? st->st_size : 0),
	    "mtime", (json_int_t)st->st_mtim.tv_sec,
	    "mtime_ns", (int)st->st_mtim.tv_nsec,
	    "atime", (json_int_t)st->st_atim.tv_sec,
	    "atime_ns", (int)st->st_atim.tv_nsec);
	if (e == NULL || ll_msg_set_bytes(e, "name", name) != 0)
		goto fail;
	if (S_ISLNK(st->st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);

		/* unreadable: no target, and the client says so */
		if (n >= 0) {
			target[n] = '\0';
			if (ll_msg_set_bytes(e, "target", target) != 0)
				goto fail;
		}
	}
	return e;
fail:
	json_decref(e);
	return NULL;
}

/* Send the error for a failed target_open*() of path; returns -1. */
static int
files_open_error(struct request *r, const char *what, const char *path,
    int err)
{
	const char *code = LL_EC_INTERNAL;

	if (err == ENOENT || err == ENOTDIR)
		code = LL_EC_NOT_FOUND;
	else if (err == EACCES || err == EPERM || err == EROFS)
		code = LL_EC_PERMISSION;
	else if (err == ELOOP || err == EXDEV || err == EINVAL ||
	    err == EISDIR)
		code = LL_EC_BAD_REQUEST;
	if (err == ELOOP)
		request_error(r, code, "%s %s: it is a symbolic link, which is "
		    "never followed", what, path);
	else if (err == EXDEV)
		request_error(r, code, "%s %s: the path leaves the root",
		    what, path);
	else
		request_error(r, code, "%s %s: %s", what, path, strerror(err));
	return -1;
}

/*
 * Common arguments: path (absolute) and rescue_host; fails when the target
 * root is needed and missing.
 */
static int
files_args(struct request *r, json_t *args, const char **path, bool *rh)
{
	*rh = false;
	if (arg_path(r, args, "path", true, path) != 0 ||
	    arg_bool(r, args, "rescue_host", rh) != 0)
		return -1;
	if (!*rh && target_require(r) != 0)
		return -1;
	return 0;
}

/* Open the parent of path; *base the last component (checked). */
static int
files_parent(struct request *r, const char *path, bool rh, const char **base)
{
	int fd;

	fd = target_open_parent(path, base, rh);
	if (fd == -EINVAL) {
		request_error(r, LL_EC_BAD_REQUEST, "path %s does not name an "
		    "entry (it ends in \"/\", \".\" or \"..\", or is /)", path);
		return -1;
	}
	if (fd < 0)
		return files_open_error(r, "cannot open the directory of",
		    path, -fd);
	return fd;
}

static void
files_state_free(struct files_state *st)
{
	if (st == NULL)
		return;
	if (st->fd >= 0)
		close(st->fd);
	if (st->dirfd >= 0)
		close(st->dirfd);
	ll_digest_free(st->md);
	free(st);
}

static struct files_state *
files_state_new(void)
{
	struct files_state *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return NULL;
	st->fd = st->dirfd = -1;
	if ((st->md = ll_digest_new()) == NULL) {
		free(st);
		return NULL;
	}
	return st;
}

/* --- file-stat, file-list ---------------------------------------------- */

static int
op_file_stat_start(struct request *r, json_t *args)
{
	const char *path, *base;
	struct stat st;
	bool rh;
	int dfd;

	if (files_args(r, args, &path, &rh) != 0)
		return -1;
	if (strspn(path, "/") == strlen(path)) {
		/* the root itself: a directory with no parent to lstat in */
		if ((dfd = target_open("/", O_PATH | O_DIRECTORY, 0, rh)) < 0)
			return files_open_error(r, "cannot open", path, -dfd);
		if (fstat(dfd, &st) != 0) {
			close(dfd);
			return files_open_error(r, "cannot stat", path, errno);
		}
		close(dfd);
		request_reply(r, files_entry(-1, "/", &st));
		return 0;
	}
	if ((dfd = files_parent(r, path, rh, &base)) < 0)
		return -1;
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		close(dfd);
		return files_open_error(r, "cannot stat", path, errno);
	}
	request_reply(r, files_entry(dfd, base, &st));
	close(dfd);
	return 0;
}

static int
op_file_list_start(struct request *r, json_t *args)
{
	const char *path;
	struct dirent *de;
	struct stat st;
	json_t *list, *e;
	int64_t start = 0, i = 0;
	size_t bytes = 0;
	bool rh, more = false;
	DIR *d;
	int fd;

	if (files_args(r, args, &path, &rh) != 0 ||
	    arg_int(r, args, "start", 0, INT64_MAX, &start) != 0)
		return -1;
	fd = target_open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, rh);
	if (fd < 0)
		return files_open_error(r, "cannot open the directory", path,
		    -fd);
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return files_open_error(r, "cannot read", path, errno);
	}
	if ((list = json_array()) == NULL) {
		closedir(d);
		request_error(r, LL_EC_INTERNAL, "out of memory");
		return -1;
	}
	/* readdir order is stable for an unchanged directory */
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (i++ < start)
			continue;
		if (json_array_size(list) >= FILES_LIST_MAX ||
		    bytes >= FILES_LIST_BYTES) {
			more = true;
			break;
		}
		if (fstatat(dirfd(d), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) != 0)
			continue;	/* vanished meanwhile */
		/* never a silent gap in the listing: fail instead */
		if ((e = files_entry(dirfd(d), de->d_name, &st)) == NULL ||
		    json_array_append_new(list, e) != 0) {
			closedir(d);
			json_decref(list);
			request_error(r, LL_EC_INTERNAL, "cannot describe entry "
			    "%lld of %s: out of memory", (long long)(i - 1),
			    path);
			return -1;
		}
		/* base64 names take 4/3 of their bytes */
		bytes += 200 + 2 * strlen(de->d_name) + (S_ISLNK(st.st_mode) ?
		    2 * (size_t)st.st_size : 0);
	}
	closedir(d);
	request_reply(r, json_pack("{s:o, s:o}", "entries", list, "next",
	    more ? json_integer((json_int_t)(start +
	    (int64_t)json_array_size(list))) : json_null()));
	return 0;
}

/* --- get ----------------------------------------------------------------- */

/*
 * get's EVENT: the file's entry, named by its last component as file-stat
 * names it, plus where the data starts.  -1 with the error sent.
 */
static int
get_event(struct request *r, const char *path, const struct stat *sb,
    uint64_t offset, bool resumed)
{
	const char *base = strrchr(path, '/');
	json_t *ev;

	ev = files_entry(-1, base != NULL ? base + 1 : path, sb);
	if (ev == NULL || json_object_set_new(ev, "offset",
	    json_integer((json_int_t)offset)) != 0 ||
	    json_object_set_new(ev, "resumed", json_boolean(resumed)) != 0) {
		json_decref(ev);
		request_error(r, LL_EC_INTERNAL, "cannot describe %s: out of "
		    "memory", path);
		return -1;
	}
	return request_event(r, ev);
}

static int
op_get_start(struct request *r, json_t *args)
{
	struct files_state *st = NULL;
	const char *path, *base, *prefix = NULL;
	struct stat sb = { 0 }, pre;
	int64_t offset = 0;
	char have[65];
	bool rh;
	int dfd, e;

	if (files_args(r, args, &path, &rh) != 0 ||
	    arg_int(r, args, "offset", 0, INT64_MAX, &offset) != 0 ||
	    arg_string(r, args, "prefix_sha256", offset > 0, 64, &prefix) != 0)
		return -1;
	if (offset > 0 && !ll_digest_is_hex(prefix)) {
		request_error(r, LL_EC_BAD_REQUEST, "prefix_sha256 must be 64 "
		    "lower-case hex digits");
		return -1;
	}
	if ((st = files_state_new()) == NULL) {
		request_error(r, LL_EC_INTERNAL, "out of memory");
		return -1;
	}
	/*
	 * Clients ask for a path named on their command line with get at
	 * once, before they know what it is: only a regular file is opened
	 * (opening a tape device rewinds it), and the file opened must be
	 * the one stat'ed.  O_NONBLOCK: had a FIFO taken its place, the open
	 * must not hang the agent.
	 */
	if ((dfd = files_parent(r, path, rh, &base)) < 0) {
		files_state_free(st);
		return -1;
	}
	if (fstatat(dfd, base, &pre, AT_SYMLINK_NOFOLLOW) != 0) {
		e = errno;
		close(dfd);
		files_state_free(st);
		return files_open_error(r, "cannot open", path, e);
	}
	if (S_ISLNK(pre.st_mode)) {
		close(dfd);
		files_state_free(st);
		return files_open_error(r, "cannot open", path, ELOOP);
	}
	if (S_ISREG(pre.st_mode) && (st->fd = openat(dfd, base, O_RDONLY |
	    O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0) {
		e = errno;
		close(dfd);
		files_state_free(st);
		return files_open_error(r, "cannot open", path, e);
	}
	close(dfd);
	if (!S_ISREG(pre.st_mode) || fstat(st->fd, &sb) != 0 ||
	    !S_ISREG(sb.st_mode)) {
		request_error(r, LL_EC_BAD_REQUEST, "%s is not a regular file "
		    "(%s)", path, files_type(S_ISREG(pre.st_mode) ?
		    sb.st_mode : pre.st_mode));
		files_state_free(st);
		return -1;
	}
	if (sb.st_ino != pre.st_ino || sb.st_dev != pre.st_dev) {
		request_error(r, LL_EC_BAD_REQUEST, "%s was replaced while it "
		    "was being opened: try again", path);
		files_state_free(st);
		return -1;
	}
	st->size = (uint64_t)sb.st_size;
	if (offset > 0 && (uint64_t)offset <= st->size &&
	    ll_digest_prefix(st->fd, (uint64_t)offset, st->md) == 0 &&
	    ll_digest_hex(st->md, have) == 0 && strcmp(have, prefix) == 0)
		st->offset = (uint64_t)offset;
	else if (offset > 0) {
		/* the client's prefix is not ours: start over */
		ll_digest_reset(st->md);
		st->offset = 0;
	}
	st->pos = st->offset;
	st->rescue_host = rh;
	if (get_event(r, path, &sb, st->offset, offset > 0 &&
	    st->offset == (uint64_t)offset) != 0) {
		files_state_free(st);
		return -1;
	}
	log_info("%s: request %u: get %s%s: %llu bytes from offset %llu",
	    r->conn->name, r->id, rh ? "(rescue host) " : "", path,
	    (unsigned long long)st->size, (unsigned long long)st->offset);
	r->state = st;
	return 0;
}

/*
 * A regular file has no fd to poll: the only thing get waits for is room in
 * the session.  When the session's queue drained while the loop was busy
 * (the plain side of an SSH engine takes bytes as fast as they come), no
 * fd will ever say so, so the loop must not sleep while there is room.
 */
static int
op_get_pollfds(struct request *r, struct pollfd *pfd, int max,
    int *timeout_ms)
{
	struct files_state *st = r->state;

	(void)pfd;
	(void)max;
	if (st != NULL && (st->cancelled || request_room(r) > 0))
		*timeout_ms = 0;
	return 0;
}

static void
op_get_io(struct request *r, uint64_t now)
{
	struct files_state *st = r->state;
	static unsigned char buf[FILES_CHUNK];
	char hex[65];

	(void)now;
	if (r->done || st == NULL)
		return;
	if (st->cancelled) {
		request_eof(r, LL_CH_FILE);
		request_error(r, LL_EC_CANCELLED, "cancelled after %llu bytes",
		    (unsigned long long)(st->pos - st->offset));
		return;
	}
	for (;;) {
		size_t room = request_room(r);
		ssize_t n;

		if (room == 0)
			return;
		if (room > sizeof(buf))
			room = sizeof(buf);
		n = pread(st->fd, buf, room, (off_t)st->pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			request_eof(r, LL_CH_FILE);
			request_error(r, LL_EC_INTERNAL, "read error at byte "
			    "%llu: %s", (unsigned long long)st->pos,
			    strerror(errno));
			return;
		}
		if (n == 0)
			break;
		ll_digest_update(st->md, buf, (size_t)n);
		if (request_data(r, LL_CH_FILE, buf, (size_t)n) != 0)
			return;
		st->pos += (uint64_t)n;
	}
	if (request_eof(r, LL_CH_FILE) != 0)
		return;
	ll_digest_hex(st->md, hex);
	log_info("%s: request %u: get sent %llu bytes (file of %llu, "
	    "sha256 %s)", r->conn->name, r->id,
	    (unsigned long long)(st->pos - st->offset),
	    (unsigned long long)st->pos, hex);
	request_reply(r, json_pack("{s:I, s:I, s:I, s:s}",
	    "size", (json_int_t)st->pos, "offset", (json_int_t)st->offset,
	    "bytes", (json_int_t)(st->pos - st->offset), "sha256", hex));
}

static void
op_files_cancel(struct request *r)
{
	struct files_state *st = r->state;

	if (st != NULL)
		st->cancelled = true;
}

static void
op_files_free(struct request *r)
{
	files_state_free(r->state);
	r->state = NULL;
}

/* --- put ----------------------------------------------------------------- */

/*
 * A helper name beside base: prefix, base's stem (the name itself, or for
 * a name too long to take a suffix a shortened one, ll_digest_name_stem),
 * suffix.  -1 with the error sent.
 */
static int
files_helper_name(struct request *r, const char *base, const char *prefix,
    const char *suffix, char *out, size_t outlen)
{
	char stem[LL_NAME_STEM_MAX + 1];

	if (ll_digest_name_stem(base, stem) != 0) {
		request_error(r, LL_EC_INTERNAL, "out of memory");
		return -1;
	}
	snprintf(out, outlen, "%s%s%s", prefix, stem, suffix);
	return 0;
}

/*
 * Check that base in dirfd is not a directory (we replace files and links
 * only) and build the temp name.  -1 with the error sent.
 */
static int
files_put_target(struct request *r, const char *path, int dirfd,
    const char *base, bool want_dir, char *tmp, size_t tmplen)
{
	struct stat sb;

	if (fstatat(dirfd, base, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISDIR(sb.st_mode) && !want_dir) {
			request_error(r, LL_EC_BAD_REQUEST, "%s is a directory: "
			    "refusing to replace a directory with a %s", path,
			    "file or link");
			return -1;
		}
		if (!S_ISDIR(sb.st_mode) && want_dir) {
			request_error(r, LL_EC_BAD_REQUEST, "%s exists and is "
			    "not a directory (%s): refusing to replace it with "
			    "a directory", path, files_type(sb.st_mode));
			return -1;
		}
	} else if (errno != ENOENT) {
		return files_open_error(r, "cannot stat", path, errno);
	}
	if (tmp != NULL && files_helper_name(r, base, ".", FILES_PART_SUFFIX,
	    tmp, tmplen) != 0)
		return -1;
	return 0;
}

/* Metadata arguments: mode, uid/gid (both or neither), mtime[_ns]. */
static int
files_meta_args(struct request *r, json_t *args, struct files_state *st)
{
	int64_t mode = 0644, uid = -1, gid = -1, mt = -1, mtn = 0;
	int64_t at = -1, atn = 0;

	if (arg_int(r, args, "mode", 0, 07777, &mode) != 0 ||
	    arg_int(r, args, "uid", -1, (int64_t)UINT32_MAX - 1, &uid) != 0 ||
	    arg_int(r, args, "gid", -1, (int64_t)UINT32_MAX - 1, &gid) != 0 ||
	    arg_int(r, args, "mtime", -1, INT64_MAX, &mt) != 0 ||
	    arg_int(r, args, "mtime_ns", 0, 999999999, &mtn) != 0 ||
	    arg_int(r, args, "atime", -1, INT64_MAX, &at) != 0 ||
	    arg_int(r, args, "atime_ns", 0, 999999999, &atn) != 0)
		return -1;
	if ((uid < 0) != (gid < 0)) {
		request_error(r, LL_EC_BAD_REQUEST, "give both uid and gid, "
		    "or neither");
		return -1;
	}
	st->mode = (mode_t)mode;
	st->has_owner = uid >= 0;
	st->uid = (uid_t)uid;
	st->gid = (gid_t)gid;
	st->times[1].tv_sec = mt;
	st->times[1].tv_nsec = mt < 0 ? UTIME_OMIT : mtn;
	st->times[0].tv_sec = at < 0 ? mt : at;
	st->times[0].tv_nsec = at < 0 ? st->times[1].tv_nsec : atn;
	return 0;
}

/*
 * Backup and replace: NAME (if any) is hard-linked as NAME.lifeline-bak
 * (through a temp name and a rename, so the old backup is replaced
 * atomically too), then tmp is renamed over NAME and the directory synced.
 * A hard link rather than a rename keeps NAME present at every moment.  When
 * the filesystem has no hard links we fall back to renaming NAME away.
 * Returns 0, or -1 with the error sent (NAME untouched).
 */
static int
files_commit(struct request *r, const char *path, int dirfd, const char *base,
    const char *tmp, bool *backed_up)
{
	char bak[NAME_MAX + 1], bakt[NAME_MAX + 1];
	struct stat sb;

	*backed_up = false;
	if (files_helper_name(r, base, "", FILES_BAK_SUFFIX, bak,
	    sizeof(bak)) != 0 || files_helper_name(r, base, ".",
	    FILES_BAKT_SUFFIX, bakt, sizeof(bakt)) != 0)
		return -1;
	if (fstatat(dirfd, base, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISDIR(sb.st_mode)) {
			request_error(r, LL_EC_BAD_REQUEST, "%s became a "
			    "directory: not replaced", path);
			return -1;
		}
		unlinkat(dirfd, bakt, 0);
		if (linkat(dirfd, base, dirfd, bakt, 0) == 0) {
			if (renameat(dirfd, bakt, dirfd, bak) != 0) {
				int e = errno;

				unlinkat(dirfd, bakt, 0);
				request_error(r, LL_EC_INTERNAL, "cannot keep "
				    "the backup %s: %s; %s not replaced", bak,
				    strerror(e), path);
				return -1;
			}
			/*
			 * NAME and its backup were one inode already (a run
			 * stopped before its last rename): rename(2) did
			 * nothing and left bakt, which goes now.
			 */
			unlinkat(dirfd, bakt, 0);
		} else if (renameat(dirfd, base, dirfd, bak) != 0) {
			request_error(r, LL_EC_INTERNAL, "cannot keep the "
			    "backup %s: %s; %s not replaced", bak,
			    strerror(errno), path);
			return -1;
		}
		*backed_up = true;
	}
	if (renameat(dirfd, tmp, dirfd, base) != 0) {
		request_error(r, LL_EC_INTERNAL, "cannot rename the new file "
		    "over %s: %s", path, strerror(errno));
		return -1;
	}
	sf_sync_dir(dirfd);
	return 0;
}

/*
 * Open the part file tmp kept by a cut upload, with flags, only when it is
 * ours to continue: a regular file with one link, owned by the agent's user
 * and mode 0600 as op_put_start made it.  Anything else may have been
 * planted by the target (a hard link to its etc/shadow, a FIFO, a device,
 * a file of another user) and is never read or written through.  The name
 * is checked before the open (no open of a device or FIFO) and the open
 * inode after it.  An fd, or -1 with the reason in why ("" when there is
 * no part file).
 */
static int
files_part_open(int dirfd, const char *tmp, int flags, char *why,
    size_t wlen)
{
	struct stat sn, sb;
	int fd;

	why[0] = '\0';
	if (fstatat(dirfd, tmp, &sn, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno != ENOENT)
			snprintf(why, wlen, "%s", strerror(errno));
		return -1;
	}
	if (!S_ISREG(sn.st_mode)) {
		snprintf(why, wlen, "it is a %s", files_type(sn.st_mode));
		return -1;
	}
	if ((fd = openat(dirfd, tmp, flags | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) < 0) {
		snprintf(why, wlen, "%s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) != 0)
		snprintf(why, wlen, "%s", strerror(errno));
	else if (!S_ISREG(sb.st_mode) || sb.st_ino != sn.st_ino ||
	    sb.st_dev != sn.st_dev)
		snprintf(why, wlen, "it changed while it was opened");
	else if (sb.st_nlink != 1)
		snprintf(why, wlen, "it has %ju links", (uintmax_t)sb.st_nlink);
	else if (sb.st_uid != geteuid())
		snprintf(why, wlen, "it belongs to uid %ju",
		    (uintmax_t)sb.st_uid);
	else if ((sb.st_mode & 07777) != 0600)
		snprintf(why, wlen, "its mode is %04o, not 0600",
		    (unsigned)(sb.st_mode & 07777));
	if (why[0] != '\0') {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * The SHA-256 of the regular file base in dfd when it has size bytes (the
 * client's file), so that put can skip a file already there; "" when it is
 * not such a file.
 */
static void
files_existing_sha(int dfd, const char *base, int64_t size, char hex[65])
{
	struct ll_digest *md;
	struct stat sb;
	int fd;

	hex[0] = '\0';
	if (size < 0 || (fd = openat(dfd, base, O_RDONLY | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC)) < 0)
		return;
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    sb.st_size == (off_t)size && (md = ll_digest_new()) != NULL) {
		if (ll_digest_prefix(fd, (uint64_t)size, md) != 0 ||
		    ll_digest_hex(md, hex) != 0)
			hex[0] = '\0';
		ll_digest_free(md);
	}
	close(fd);
}

static int
op_put_begin_start(struct request *r, json_t *args)
{
	const char *path, *base;
	char tmp[NAME_MAX + 1], hex[65] = "", why[128], have[65];
	struct stat sb;
	uint64_t len = 0;
	int64_t size = -1;
	struct ll_digest *md;
	json_t *res;
	bool rh;
	int dfd, fd;

	if (files_args(r, args, &path, &rh) != 0 ||
	    arg_int(r, args, "size", 0, INT64_MAX, &size) != 0)
		return -1;
	if ((dfd = files_parent(r, path, rh, &base)) < 0)
		return -1;
	if (files_put_target(r, path, dfd, base, false, tmp,
	    sizeof(tmp)) != 0) {
		close(dfd);
		return -1;
	}
	md = ll_digest_new();
	/* a part file that is not ours is reported as none: put replaces it */
	fd = files_part_open(dfd, tmp, O_RDONLY, why, sizeof(why));
	if (fd < 0 && why[0] != '\0')
		log_warn("%s: request %u: put-begin %s: the part file %s is "
		    "not lifeline's (%s): not resumed", r->conn->name, r->id,
		    path, tmp, why);
	if (fd >= 0 && fstat(fd, &sb) == 0 && md != NULL &&
	    ll_digest_prefix(fd, (uint64_t)sb.st_size, md) == 0 &&
	    ll_digest_hex(md, hex) == 0)
		len = (uint64_t)sb.st_size;
	else
		ll_digest_hex(md, hex);	/* of nothing */
	if (fd >= 0)
		close(fd);
	ll_digest_free(md);
	files_existing_sha(dfd, base, size, have);
	close(dfd);
	res = json_pack("{s:I, s:s}", "partial", (json_int_t)len,
	    "partial_sha256", hex);
	if (res != NULL && have[0] != '\0')
		json_object_set_new(res, "existing_sha256", json_string(have));
	request_reply(r, res);
	return 0;
}

static int
op_put_start(struct request *r, json_t *args)
{
	struct files_state *st = NULL;
	const char *path, *base, *sha;
	char why[128];
	int64_t size = 0, offset = 0;
	struct stat sb;
	bool rh;

	if (files_args(r, args, &path, &rh) != 0 ||
	    arg_int(r, args, "size", 0, INT64_MAX, &size) != 0 ||
	    arg_int(r, args, "offset", 0, INT64_MAX, &offset) != 0 ||
	    arg_string(r, args, "sha256", true, 64, &sha) != 0)
		return -1;
	if (!ll_digest_is_hex(sha)) {
		request_error(r, LL_EC_BAD_REQUEST, "sha256 must be 64 "
		    "lower-case hex digits");
		return -1;
	}
	if (offset > size) {
		request_error(r, LL_EC_BAD_REQUEST, "offset %lld is beyond "
		    "the size %lld", (long long)offset, (long long)size);
		return -1;
	}
	if ((st = files_state_new()) == NULL) {
		request_error(r, LL_EC_INTERNAL, "out of memory");
		return -1;
	}
	if (files_meta_args(r, args, st) != 0)
		goto fail;
	if ((st->dirfd = files_parent(r, path, rh, &base)) < 0)
		goto fail;
	snprintf(st->base, sizeof(st->base), "%s", base);
	if (files_put_target(r, path, st->dirfd, base, false, st->tmp,
	    sizeof(st->tmp)) != 0)
		goto fail;
	/*
	 * A resume continues in the part file only if it is ours; a fresh
	 * upload never opens what is there, it removes the name and creates
	 * a new file (O_EXCL), so nothing planted at the name is written.
	 */
	if (offset > 0) {
		st->fd = files_part_open(st->dirfd, st->tmp, O_RDWR, why,
		    sizeof(why));
		if (st->fd < 0) {
			if (why[0] != '\0')
				unlinkat(st->dirfd, st->tmp, 0);
			request_error(r, LL_EC_BAD_REQUEST, "cannot resume at "
			    "%lld: the partial upload %s %s%s; start from 0",
			    (long long)offset, st->tmp, why[0] != '\0' ?
			    "is not lifeline's: " : "is gone", why[0] != '\0' ?
			    why : "");
			goto fail;
		}
	} else {
		if (unlinkat(st->dirfd, st->tmp, 0) != 0 && errno != ENOENT) {
			files_open_error(r, "cannot remove the old temp file "
			    "for", path, errno);
			goto fail;
		}
		st->fd = openat(st->dirfd, st->tmp, O_RDWR | O_CREAT |
		    O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
		if (st->fd < 0) {
			files_open_error(r, "cannot create the temp file for",
			    path, errno);
			goto fail;
		}
	}
	if (fstat(st->fd, &sb) != 0) {
		files_open_error(r, "cannot stat the temp file for", path,
		    errno);
		goto fail;
	}
	if ((uint64_t)sb.st_size < (uint64_t)offset ||
	    ll_digest_prefix(st->fd, (uint64_t)offset, st->md) != 0) {
		request_error(r, LL_EC_BAD_REQUEST, "cannot resume at %lld: "
		    "the partial upload holds %lld bytes; start from 0",
		    (long long)offset, (long long)sb.st_size);
		goto fail;
	}
	if (fchmod(st->fd, 0600) != 0 || ftruncate(st->fd, offset) != 0) {
		request_error(r, LL_EC_INTERNAL, "cannot prepare %s: %s",
		    st->tmp, strerror(errno));
		goto fail;
	}
	st->offset = st->pos = (uint64_t)offset;
	st->size = (uint64_t)size;
	snprintf(st->sha256, sizeof(st->sha256), "%s", sha);
	st->rescue_host = rh;
	log_info("%s: request %u: put %s%s: %lld bytes from offset %lld",
	    r->conn->name, r->id, rh ? "(rescue host) " : "", path,
	    (long long)size, (long long)offset);
	r->state = st;
	return 0;
fail:
	files_state_free(st);
	return -1;
}

static void
op_put_data(struct request *r, uint8_t channel, const uint8_t *p, size_t n)
{
	struct files_state *st = r->state;

	if (r->done || st == NULL || st->failed || channel != LL_CH_FILE)
		return;
	if (st->pos + n > st->size) {
		st->failed = true;
		request_error(r, LL_EC_TOO_BIG, "more data than the announced "
		    "%llu bytes", (unsigned long long)st->size);
		return;
	}
	while (n > 0) {
		ssize_t w = pwrite(st->fd, p, n, (off_t)st->pos);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			st->failed = true;
			request_error(r, LL_EC_INTERNAL, "write error at byte "
			    "%llu of %s: %s", (unsigned long long)st->pos,
			    st->tmp, strerror(w < 0 ? errno : ENOSPC));
			return;
		}
		ll_digest_update(st->md, p, (size_t)w);
		st->pos += (uint64_t)w;
		p += w;
		n -= (size_t)w;
	}
}

static void
op_put_eof(struct request *r, uint8_t channel)
{
	struct files_state *st = r->state;
	char hex[65];
	bool backed_up;

	if (r->done || st == NULL || st->failed || channel != LL_CH_FILE)
		return;
	if (st->pos != st->size) {
		request_error(r, LL_EC_BAD_REQUEST, "short upload: %llu of "
		    "%llu bytes; the partial file is kept for a resume",
		    (unsigned long long)st->pos, (unsigned long long)st->size);
		return;
	}
	ll_digest_hex(st->md, hex);
	if (strcmp(hex, st->sha256) != 0) {
		/* the bytes are wrong somewhere: do not resume from them */
		unlinkat(st->dirfd, st->tmp, 0);
		request_error(r, LL_EC_BAD_REQUEST, "SHA-256 mismatch for %s: "
		    "received %s, expected %s; nothing was replaced",
		    st->base, hex, st->sha256);
		return;
	}
	if (fsync(st->fd) != 0 ||
	    (st->has_owner && fchown(st->fd, st->uid, st->gid) != 0) ||
	    fchmod(st->fd, st->mode) != 0 ||
	    (st->times[1].tv_nsec != UTIME_OMIT &&
	    futimens(st->fd, st->times) != 0)) {
		request_error(r, LL_EC_INTERNAL, "cannot set the metadata of "
		    "%s: %s; nothing was replaced", st->tmp, strerror(errno));
		return;
	}
	if (files_commit(r, st->base, st->dirfd, st->base, st->tmp,
	    &backed_up) != 0)
		return;
	log_info("%s: request %u: put received %llu bytes (file of %llu, "
	    "sha256 %s)", r->conn->name, r->id,
	    (unsigned long long)(st->pos - st->offset),
	    (unsigned long long)st->pos, hex);
	request_reply(r, json_pack("{s:I, s:I, s:I, s:s, s:b}",
	    "size", (json_int_t)st->pos, "offset", (json_int_t)st->offset,
	    "bytes", (json_int_t)(st->pos - st->offset), "sha256", hex,
	    "backup", backed_up));
}

static void
op_put_io(struct request *r, uint64_t now)
{
	struct files_state *st = r->state;

	(void)now;
	if (!r->done && st != NULL && st->cancelled)
		request_error(r, LL_EC_CANCELLED, "cancelled after %llu bytes; "
		    "the partial file is kept for a resume",
		    (unsigned long long)(st->pos - st->offset));
}

static int
files_apply_meta(struct request *r, const char *path, int dirfd,
    const char *name, const struct files_state *m)
{
	if (m->has_owner && fchownat(dirfd, name, m->uid, m->gid,
	    AT_SYMLINK_NOFOLLOW) != 0)
		return files_open_error(r, "cannot change the owner of", path,
		    errno);
	if (m->times[1].tv_nsec != UTIME_OMIT && utimensat(dirfd, name,
	    m->times, AT_SYMLINK_NOFOLLOW) != 0)
		return files_open_error(r, "cannot set the times of", path,
		    errno);
	return 0;
}

static int
op_put_entry_start(struct request *r, json_t *args)
{
	struct files_state m;
	const char *path, *base, *type, *target = NULL;
	char tmp[NAME_MAX + 1];
	bool rh, is_dir, created = false, backed_up = false;
	int dfd = -1, fd = -1, rc = -1;

	memset(&m, 0, sizeof(m));
	if (files_args(r, args, &path, &rh) != 0 ||
	    arg_string(r, args, "type", true, 16, &type) != 0 ||
	    files_meta_args(r, args, &m) != 0)
		return -1;
	is_dir = strcmp(type, "dir") == 0;
	if (!is_dir && strcmp(type, "symlink") != 0) {
		request_error(r, LL_EC_BAD_REQUEST, "type must be \"dir\" or "
		    "\"symlink\", not \"%s\"", type);
		return -1;
	}
	if (!is_dir && arg_bytes(r, args, "target", true, PATH_MAX - 1,
	    &target) != 0)
		return -1;
	if (target != NULL && target[0] == '\0') {
		request_error(r, LL_EC_BAD_REQUEST, "a symlink target cannot "
		    "be empty");
		return -1;
	}
	if ((dfd = files_parent(r, path, rh, &base)) < 0)
		return -1;
	if (files_put_target(r, path, dfd, base, is_dir, tmp,
	    sizeof(tmp)) != 0)
		goto out;
	if (is_dir) {
		if (mkdirat(dfd, base, 0700) == 0)
			created = true;
		else if (errno != EEXIST) {
			files_open_error(r, "cannot create the directory",
			    path, errno);
			goto out;
		}
		fd = openat(dfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (fd < 0) {
			files_open_error(r, "cannot open the directory", path,
			    errno);
			goto out;
		}
		if ((m.has_owner && fchown(fd, m.uid, m.gid) != 0) ||
		    fchmod(fd, m.mode) != 0 ||
		    (m.times[1].tv_nsec != UTIME_OMIT &&
		    futimens(fd, m.times) != 0)) {
			files_open_error(r, "cannot set the metadata of", path,
			    errno);
			goto out;
		}
	} else {
		/* a stale partial upload of the same name is dropped */
		if (unlinkat(dfd, tmp, 0) != 0 && errno != ENOENT) {
			files_open_error(r, "cannot remove the old temp file "
			    "for", path, errno);
			goto out;
		}
		if (symlinkat(target, dfd, tmp) != 0) {
			files_open_error(r, "cannot create the link", path,
			    errno);
			goto out;
		}
		if (files_apply_meta(r, path, dfd, tmp, &m) != 0 ||
		    files_commit(r, path, dfd, base, tmp, &backed_up) != 0) {
			unlinkat(dfd, tmp, 0);
			goto out;
		}
	}
	log_info("%s: request %u: put-entry %s %s%s", r->conn->name, r->id,
	    type, path, created ? " (created)" : "");
	request_reply(r, json_pack("{s:b, s:b}", "created", created ||
	    (!is_dir && !backed_up), "backup", backed_up));
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	close(dfd);
	return rc;
}

const struct agent_op op_files_ops[] = {
	{ .name = "file-stat", .start = op_file_stat_start },
	{ .name = "file-list", .start = op_file_list_start },
	{ .name = "get", .start = op_get_start, .pollfds = op_get_pollfds,
	  .io = op_get_io, .cancel = op_files_cancel, .free = op_files_free },
	{ .name = "put-begin", .start = op_put_begin_start },
	{ .name = "put", .writes = true, .start = op_put_start,
	  .io = op_put_io, .data = op_put_data, .eof = op_put_eof,
	  .cancel = op_files_cancel, .free = op_files_free },
	{ .name = "put-entry", .writes = true, .start = op_put_entry_start },
	{ .name = NULL }
};
