/*
 * passwd-info and passwd: a user's password field in the target's
 * etc/shadow.
 *
 * passwd-info returns the target's evidence for the hash method (login.defs,
 * the methods of the hashes already in etc/shadow) so that the client makes
 * the hash itself: no plaintext crosses the line, only the finished hash,
 * which is never logged.
 *
 * passwd changes one field of one line.  It works on the target's etc
 * directory fd with *at() calls and O_NOFOLLOW, so a symlinked etc/shadow
 * is refused, never followed.  Everything is checked read-only first (user,
 * file type, read-only mount, the change itself); then etc/.pwd.lock is
 * taken (an OFD lock, which conflicts with shadow-utils' lckpwdf, polled
 * from the event loop for up to 5 s), the file is read again and the new
 * contents go to a temp file with the old file's mode, owner and xattrs.
 * The old inode is kept as etc/shadow- (hard link, or a copy where links
 * fail), the temp file is renamed over etc/shadow and the directory
 * fsynced.  Every byte outside the changed field stays as it was.  The
 * reply then lists what else may keep the user from logging in.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "args.h"
#include "log.h"
#include "msg.h"
#include "pw-file.h"
#include "safe-file.h"
#include "sshd-conf.h"
#include "target.h"

#define PW_FILE_MAX		(16 * 1024 * 1024)
#define PW_SMALL_MAX		(1024 * 1024)
#define PW_LOCK_WAIT_MS		5000
#define PW_LOCK_RETRY_MS	100

static const char *const pw_action_names[] = {
	"set", "clear", "lock", "unlock", "expire"
};

struct pw_state {
	char user[64];
	enum pw_action action;
	char hash[PW_HASH_MAX + 1];
	int etcfd;
	int lockfd;
	uint64_t deadline;
	uint64_t next_try;
	bool cancelled;
	long lastchg;		/* the last-change day written, -1 none */
};

/* Read a target file (symlinks followed, confined to the target root). */
static int
pw_read_target(const char *path, size_t max, struct pw_buf *b)
{
	struct stat st;
	int fd, rc;

	b->p = NULL;
	b->len = 0;
	if ((fd = target_open(path, O_RDONLY | O_NONBLOCK, 0, false)) < 0)
		return fd;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	rc = sf_read_fd(fd, max, &b->p, &b->len);
	close(fd);
	return rc;
}

static const char *
pw_errno_text(int err)
{
	if (err == EROFS)
		return "the target is mounted read-only";
	if (err == EFBIG)
		return "larger than the 16 MiB cap";
	return strerror(err);
}

/*
 * Open etc/shadow below etcfd without following a symlink.  Returns the fd,
 * or -1 with an error sent.
 */
static int
pw_open_shadow(struct request *r, int etcfd, struct stat *st)
{
	int fd;

	fd = openat(etcfd, "shadow", O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP)
			request_error(r, LL_EC_PERMISSION,
			    "etc/shadow is a symlink: refusing");
		else if (errno == ENOENT)
			request_error(r, LL_EC_NOT_FOUND,
			    "the target has no etc/shadow");
		else
			request_error(r, LL_EC_PERMISSION,
			    "cannot open etc/shadow: %s",
			    pw_errno_text(errno));
		return -1;
	}
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		request_error(r, LL_EC_PERMISSION,
		    "etc/shadow is not a regular file: refusing");
		return -1;
	}
	return fd;
}

/*
 * The user's line in shadow, or an error sent that says where the user is
 * missing.  0 or -1.
 */
static int
pw_need_user(struct request *r, const struct pw_buf *shadow,
    const char *user, size_t *ls, size_t *le)
{
	struct pw_buf pw;
	bool in_passwd = false;
	size_t a, b;

	if (pw_find_line(shadow->p, shadow->len, user, ls, le))
		return 0;
	if (pw_read_target("/etc/passwd", PW_FILE_MAX, &pw) == 0) {
		in_passwd = pw_find_line(pw.p, pw.len, user, &a, &b);
		pw_buf_free(&pw);
	}
	if (in_passwd)
		request_error(r, LL_EC_NOT_FOUND, "user %s is in the target's "
		    "etc/passwd but has no line in etc/shadow", user);
	else
		request_error(r, LL_EC_NOT_FOUND, "no user %s in the target",
		    user);
	return -1;
}

/*
 * Apply the action to the contents of shadow (pw_rewrite): *out (malloc'd)
 * gets the new contents, *changed whether they differ.  0, or -1 with an
 * error sent.
 */
static int
pw_apply(struct request *r, struct pw_state *st, const struct pw_buf *in,
    struct pw_buf *out, bool *changed)
{
	char err[256];
	size_t ls, le;
	int rc;

	out->p = NULL;
	out->len = 0;
	*changed = false;
	st->lastchg = -1;
	if (pw_need_user(r, in, st->user, &ls, &le) != 0)
		return -1;
	rc = pw_rewrite(in, st->user, st->action, st->hash,
	    (long)(time(NULL) / 86400), out, changed, &st->lastchg, err,
	    sizeof(err));
	if (rc == 0)
		return 0;
	request_error(r, rc == -E2BIG ? LL_EC_TOO_BIG : rc == -ENOMEM ?
	    LL_EC_INTERNAL : LL_EC_BAD_REQUEST, "%s", err);
	return -1;
}

/*
 * A temp file for name in etc holding data, with the owner, mode and xattrs
 * of like (an open fd), fsynced.  *tmp gets its name.  0 or -errno with what
 * failed in err.
 */
static int
pw_write_like(int etcfd, const char *name, const struct pw_buf *data,
    int like, char *tmp, size_t tmplen, char *err, size_t errlen)
{
	struct sf_like l = { .fd = like, .label_fd = -1 };
	struct sf_fail f;
	int rc;

	rc = sf_write_temp(etcfd, name, data->p, data->len, &l, tmp, tmplen,
	    &f);
	if (rc == 0)
		return 0;
	switch (f.step) {
	case SF_STEP_CREATE:
		snprintf(err, errlen, "cannot create a temp file in etc: %s",
		    pw_errno_text(-rc));
		break;
	case SF_STEP_OWNER:
		snprintf(err, errlen, "cannot set the owner and mode of %s: %s",
		    tmp, pw_errno_text(-rc));
		break;
	case SF_STEP_XATTR:
		snprintf(err, errlen, "cannot copy the xattr %s: %s", f.xattr,
		    pw_errno_text(-rc));
		break;
	default:
		snprintf(err, errlen, "cannot write %s: %s", tmp,
		    pw_errno_text(-rc));
		break;
	}
	return rc;
}

/*
 * Replace etc/shadow (open as oldfd, contents old) with data: the old inode
 * becomes etc/shadow-.  0, or -1 with an error sent.
 */
static int
pw_replace(struct request *r, int etcfd, int oldfd, const struct pw_buf *old,
    const struct pw_buf *data)
{
	char tmp[SF_TEMP_MAX], bak[SF_TEMP_MAX], err[512];
	int rc;

	if (pw_write_like(etcfd, "shadow", data, oldfd, tmp, sizeof(tmp), err,
	    sizeof(err)) != 0) {
		request_error(r, LL_EC_PERMISSION, "%s", err);
		return -1;
	}
	/* The old inode itself as the backup: same bytes, owner, xattrs. */
	if ((sf_temp_name("shadow-", bak, sizeof(bak)) != 0 ||
	    linkat(oldfd, "", etcfd, bak, AT_EMPTY_PATH) != 0) &&
	    pw_write_like(etcfd, "shadow-", old, oldfd, bak, sizeof(bak), err,
	    sizeof(err)) != 0) {
		unlinkat(etcfd, tmp, 0);
		request_error(r, LL_EC_PERMISSION, "cannot keep the old file: "
		    "%s", err);
		return -1;
	}
	if (renameat(etcfd, bak, etcfd, "shadow-") != 0) {
		rc = errno;
		unlinkat(etcfd, bak, 0);
		unlinkat(etcfd, tmp, 0);
		request_error(r, LL_EC_PERMISSION, "cannot rename the backup "
		    "to etc/shadow-: %s", pw_errno_text(rc));
		return -1;
	}
	/*
	 * When shadow- already was a name of the old inode (a run stopped
	 * between the two renames), rename(2) did nothing and left bak: it
	 * is one name too many.  Otherwise it is gone and this is ENOENT.
	 */
	unlinkat(etcfd, bak, 0);
	if (renameat(etcfd, tmp, etcfd, "shadow") != 0) {
		rc = errno;
		unlinkat(etcfd, tmp, 0);
		request_error(r, LL_EC_PERMISSION, "cannot rename the new file "
		    "to etc/shadow: %s", pw_errno_text(rc));
		return -1;
	}
	if ((rc = sf_sync_dir(etcfd)) != 0)
		log_warn("fsync of the target's etc: %s", strerror(-rc));
	return 0;
}

/* ---- what else may keep the user out ---------------------------------- */

static void
pw_add(json_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
pw_add(json_t *a, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	json_array_append_new(a, ll_msg_text(text));
}

/* sshd-conf's reader: a regular file of the target, at most 1 MiB. */
static int
pw_sshd_read(void *ctx, const char *path, struct pw_buf *b)
{
	(void)ctx;
	return pw_read_target(path, PW_SMALL_MAX, b);
}

/* sshd-conf's lister: the names in the target's dir that match base. */
static int
pw_sshd_list(void *ctx, const char *dir, const char *base, char ***names,
    size_t *n, size_t max)
{
	struct dirent *de;
	char **nn;
	DIR *d;
	int fd;

	(void)ctx;
	*names = NULL;
	*n = 0;
	if ((fd = target_open(dir, O_RDONLY | O_DIRECTORY, 0, false)) < 0)
		return fd;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d)) != NULL && *n < max) {
		if (fnmatch(base, de->d_name, FNM_PERIOD) != 0)
			continue;
		if ((nn = realloc(*names, (*n + 1) * sizeof(**names))) == NULL)
			break;
		*names = nn;
		if ((nn[*n] = strdup(de->d_name)) != NULL)
			(*n)++;
	}
	closedir(d);
	return 0;
}

static void
pw_blockers_sshd(json_t *a, const char *user, const char *pwfield)
{
	static const struct sshd_conf_io io = {
		pw_sshd_read, pw_sshd_list, NULL
	};
	struct sshd_conf e;
	struct stat st;
	int fd;

	if ((fd = target_open("/etc/ssh/sshd_config", O_PATH, 0, false)) < 0)
		return;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return;
	}
	close(fd);
	sshd_conf_read(&e, &io, "/etc/ssh/sshd_config", user);
	if (strcmp(user, "root") == 0) {
		const char *v = e.prl[0] != '\0' ? e.prl : "prohibit-password";
		const char *src = e.prl[0] != '\0' ? e.prl_src :
		    "sshd's default";

		if (strcasecmp(v, "no") == 0)
			pw_add(a, "sshd: PermitRootLogin no (%s): root cannot "
			    "log in over ssh at all", src);
		else if (strcasecmp(v, "yes") != 0)
			pw_add(a, "sshd: PermitRootLogin %s (%s): root cannot "
			    "log in over ssh with a password (keys only: see "
			    "`lifeline authorize-key`)", v, src);
	}
	if (e.pa[0] != '\0' && strcasecmp(e.pa, "no") == 0)
		pw_add(a, "sshd: PasswordAuthentication no (%s): password "
		    "logins over ssh are off", e.pa_src);
	if (pwfield[0] == '\0' && strcasecmp(e.pea, "yes") != 0)
		pw_add(a, "sshd: PermitEmptyPasswords is not yes: sshd refuses "
		    "the empty password");
	if (e.denied)
		pw_add(a, "sshd: DenyUsers (%s) matches %s", e.deny_src, user);
	if (e.allow_seen && !e.allowed)
		pw_add(a, "sshd: AllowUsers (%s) does not list %s",
		    e.allow_src, user);
	if (e.stop)
		pw_add(a, "sshd: the configuration has Match blocks, which "
		    "were not evaluated and may change the above");
}

/* Days since the epoch as a date. */
static void
pw_day(long day, char *out, size_t len)
{
	time_t t = (time_t)day * 86400;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%d", &tm);
}

static json_t *
pw_blockers(const char *user, const struct pw_buf *shadow)
{
	json_t *a = json_array();
	struct pw_buf pw;
	struct stat st;
	char *copy = NULL, *f[9], *shell = NULL, d[32];
	long today = (long)(time(NULL) / 86400), v, last = -1;
	int fd;

	if (pw_split(shadow, user, &copy, f) == 0) {
		const char *h = f[1] != NULL ? f[1] : "";

		if (h[0] == '!')
			pw_add(a, "the password of %s is locked (\"!\" "
			    "prefix): `lifeline passwd --unlock` or set a new "
			    "one", user);
		else if (h[0] == '\0')
			pw_add(a, "%s has no password: anyone at the console "
			    "can log in as %s without one", user, user);
		else if (strcmp(pw_state_of(h, strlen(h)), "disabled") == 0)
			pw_add(a, "the password field of %s (\"%s\") matches "
			    "no password", user, h);
		if (f[2] != NULL && f[2][0] != '\0') {
			last = strtol(f[2], NULL, 10);
			if (last == 0)
				pw_add(a, "a password change is forced at the "
				    "next login of %s (last change is 0)",
				    user);
		}
		if (last > 0 && f[4] != NULL && f[4][0] != '\0' &&
		    (v = strtol(f[4], NULL, 10)) >= 0 && v < 99999 &&
		    last + v < today) {
			pw_day(last + v, d, sizeof(d));
			pw_add(a, "the password of %s is past its maximum age "
			    "(since %s): a change is asked at login", user, d);
		}
		if (f[7] != NULL && f[7][0] != '\0' &&
		    (v = strtol(f[7], NULL, 10)) >= 0 && v <= today) {
			pw_day(v, d, sizeof(d));
			pw_add(a, "the account %s expired on %s (shadow field "
			    "8): logins are refused", user, d);
		}
	}
	free(copy);
	copy = NULL;
	if ((fd = target_open("/etc/nologin", O_PATH, 0, false)) >= 0) {
		close(fd);
		pw_add(a, "etc/nologin exists: logins of users other than "
		    "root are refused");
	}
	if (pw_read_target("/etc/passwd", PW_FILE_MAX, &pw) == 0) {
		shell = pw_user_field(&pw, user, 6);
		pw_buf_free(&pw);
		if (shell != NULL && shell[0] == '\0') {
			free(shell);
			shell = strdup("/bin/sh");
		}
	}
	if (shell != NULL) {
		const char *b = strrchr(shell, '/');

		b = b != NULL ? b + 1 : shell;
		if (shell[0] != '/')
			pw_add(a, "the login shell of %s (\"%s\") is not an "
			    "absolute path", user, shell);
		else if ((fd = target_open(shell, O_PATH, 0, false)) < 0)
			pw_add(a, "the login shell of %s, %s, does not exist in "
			    "the target", user, shell);
		else {
			if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
			    (st.st_mode & 0111) == 0)
				pw_add(a, "the login shell of %s, %s, is not an "
				    "executable file", user, shell);
			else if (strcmp(b, "nologin") == 0 ||
			    strcmp(b, "false") == 0)
				pw_add(a, "the login shell of %s is %s, which "
				    "refuses logins", user, shell);
			close(fd);
		}
		free(shell);
	}
	pw_blockers_sshd(a, user, pw_split(shadow, user, &copy, f) == 0 &&
	    f[1] != NULL ? f[1] : "x");
	free(copy);
	return a;
}

/* ---- passwd-info ------------------------------------------------------- */

static json_t *
pw_login_defs(void)
{
	struct pw_buf b;
	json_t *o;

	if (pw_read_target("/etc/login.defs", PW_SMALL_MAX, &b) != 0)
		return json_object();
	o = pw_login_defs_parse(b.p);
	pw_buf_free(&b);
	return o;
}

static int
pw_open_etc(struct request *r)
{
	int fd;

	if (target_require(r) != 0)
		return -1;
	fd = target_open("/etc", O_RDONLY | O_DIRECTORY, 0, false);
	if (fd < 0)
		request_error(r, LL_EC_NOT_FOUND, "cannot open the target's "
		    "etc directory: %s", strerror(-fd));
	return fd;
}

static int
op_passwd_info(struct request *r, json_t *args)
{
	struct pw_buf shadow;
	struct stat st;
	json_t *res, *others, *cur;
	const char *user;
	size_t ls, le, fs, fe, s, e;
	int etcfd, fd, rc;

	if (arg_user(r, args, "user", false, &user) != 0)
		return -1;
	if (user == NULL)
		user = "root";
	if ((etcfd = pw_open_etc(r)) < 0)
		return -1;
	fd = pw_open_shadow(r, etcfd, &st);
	close(etcfd);
	if (fd < 0)
		return -1;
	rc = sf_read_fd(fd, PW_FILE_MAX, &shadow.p, &shadow.len);
	close(fd);
	if (rc != 0)
		return request_error(r, LL_EC_PERMISSION, "cannot read "
		    "etc/shadow: %s", pw_errno_text(-rc));
	if (pw_need_user(r, &shadow, user, &ls, &le) != 0) {
		pw_buf_free(&shadow);
		return -1;
	}
	res = json_object();
	json_object_set_new(res, "user", ll_msg_text(user));
	json_object_set_new(res, "login_defs", pw_login_defs());
	cur = json_object();
	if (pw_field(shadow.p, ls, le, 1, &fs, &fe)) {
		json_object_set_new(cur, "prefix", json_string(
		    pw_method_of(shadow.p + fs, fe - fs)));
		json_object_set_new(cur, "state", json_string(
		    pw_state_of(shadow.p + fs, fe - fs)));
	}
	json_object_set_new(res, "current", cur);
	/* The methods of the other users' hashes: what the target uses. */
	others = json_object();
	for (s = 0; s < shadow.len; s = e + 1) {
		const char *nl = memchr(shadow.p + s, '\n', shadow.len - s);
		const char *m;
		json_t *cnt;

		e = nl != NULL ? (size_t)(nl - shadow.p) : shadow.len;
		if (s == ls || !pw_field(shadow.p, s, e, 1, &fs, &fe) ||
		    fs == s)
			continue;
		if (fe > fs && shadow.p[fe - 1] == '\r')
			fe--;
		m = pw_method_of(shadow.p + fs, fe - fs);
		if (*m == '\0' || shadow.p[fs] == '!')
			continue;
		cnt = json_object_get(others, m);
		json_object_set_new(others, m, json_integer(cnt != NULL ?
		    json_integer_value(cnt) + 1 : 1));
	}
	json_object_set_new(res, "others", others);
	pw_buf_free(&shadow);
	return request_reply(r, res);
}

/* ---- passwd ------------------------------------------------------------ */

/* Under the lock: read again, change, replace, report. */
static void
pw_commit(struct request *r)
{
	struct pw_state *st = r->state;
	struct pw_buf in = { NULL, 0 }, out = { NULL, 0 };
	struct stat sst;
	json_t *res;
	bool changed;
	int fd, rc;

	/* Under the lock no run of ours is writing: what is left is stale. */
	if (st->lockfd >= 0) {
		sf_remove_stale(st->etcfd, "shadow");
		sf_remove_stale(st->etcfd, "shadow-");
	}
	if ((fd = pw_open_shadow(r, st->etcfd, &sst)) < 0)
		goto out;
	if ((rc = sf_read_fd(fd, PW_FILE_MAX, &in.p, &in.len)) != 0) {
		request_error(r, LL_EC_PERMISSION, "cannot read etc/shadow: %s",
		    pw_errno_text(-rc));
		goto out;
	}
	if (pw_apply(r, st, &in, &out, &changed) != 0)
		goto out;
	if (changed && pw_replace(r, st->etcfd, fd, &in, &out) != 0)
		goto out;
	log_info("%s: passwd %s of %s in the target: %s", r->conn->name,
	    pw_action_names[st->action], st->user,
	    changed ? "changed" : "already so");
	res = json_object();
	json_object_set_new(res, "user", ll_msg_text(st->user));
	json_object_set_new(res, "action",
	    ll_msg_text(pw_action_names[st->action]));
	json_object_set_new(res, "changed", json_boolean(changed));
	if (changed)
		json_object_set_new(res, "backup", json_string("etc/shadow-"));
	if (st->lastchg >= 0)
		json_object_set_new(res, "lastchg",
		    json_integer((json_int_t)st->lastchg));
	json_object_set_new(res, "blockers",
	    pw_blockers(st->user, changed ? &out : &in));
	request_reply(r, res);
out:
	if (fd >= 0)
		close(fd);
	if (in.p != NULL)
		explicit_bzero(in.p, in.len);
	if (out.p != NULL)
		explicit_bzero(out.p, out.len);
	pw_buf_free(&in);
	pw_buf_free(&out);
	if (st->lockfd >= 0) {
		close(st->lockfd);
		st->lockfd = -1;
	}
}

/* Try the lock once.  1 taken, 0 busy, -1 error sent. */
static int
pw_try_lock(struct request *r)
{
	struct pw_state *st = r->state;
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(st->lockfd, F_OFD_SETLK, &fl) == 0)
		return 1;
	if (errno == EAGAIN || errno == EACCES)
		return 0;
	request_error(r, LL_EC_INTERNAL, "cannot lock etc/.pwd.lock: %s",
	    strerror(errno));
	return -1;
}

static int
op_passwd(struct request *r, json_t *args)
{
	struct pw_state *st;
	struct pw_buf in = { NULL, 0 }, out = { NULL, 0 };
	struct statvfs vfs;
	struct stat sst, lst;
	const char *user, *action, *hash;
	bool changed;
	int i, fd, rc;

	if (arg_user(r, args, "user", false, &user) != 0 ||
	    arg_string(r, args, "action", true, 16, &action) != 0 ||
	    arg_string(r, args, "hash", false, PW_HASH_MAX, &hash) != 0)
		return -1;
	if (user == NULL)
		user = "root";
	for (i = 0; i < 5; i++)
		if (strcmp(action, pw_action_names[i]) == 0)
			break;
	if (i == 5)
		return request_error(r, LL_EC_BAD_REQUEST, "argument "
		    "\"action\": \"%s\" is not one of set, clear, lock, "
		    "unlock, expire", action), -1;
	if ((i == PW_SET) != (hash != NULL))
		return request_error(r, LL_EC_BAD_REQUEST, "argument \"hash\" "
		    "is needed with action set and only with it"), -1;
	if (hash != NULL && !pw_hash_is_valid(hash))
		return request_error(r, LL_EC_BAD_REQUEST, "argument \"hash\" "
		    "is not a crypt(3) hash of a known method"), -1;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return request_error(r, LL_EC_INTERNAL, "out of memory"), -1;
	r->state = st;
	st->etcfd = -1;
	st->lockfd = -1;
	snprintf(st->user, sizeof(st->user), "%s", user);
	st->action = (enum pw_action)i;
	if (hash != NULL)
		snprintf(st->hash, sizeof(st->hash), "%s", hash);
	if ((st->etcfd = pw_open_etc(r)) < 0)
		return -1;

	/* Everything that can be checked read-only, before any change. */
	if ((fd = pw_open_shadow(r, st->etcfd, &sst)) < 0)
		return -1;
	rc = sf_read_fd(fd, PW_FILE_MAX, &in.p, &in.len);
	close(fd);
	if (rc != 0)
		return request_error(r, LL_EC_PERMISSION, "cannot read "
		    "etc/shadow: %s", pw_errno_text(-rc)), -1;
	rc = pw_apply(r, st, &in, &out, &changed);
	explicit_bzero(in.p, in.len);
	pw_buf_free(&in);
	if (out.p != NULL)
		explicit_bzero(out.p, out.len);
	pw_buf_free(&out);
	if (rc != 0)
		return -1;
	if (changed && fstatvfs(st->etcfd, &vfs) == 0 &&
	    (vfs.f_flag & ST_RDONLY))
		return request_error(r, LL_EC_PERMISSION,
		    "the target is mounted read-only"), -1;
	if (!changed) {
		pw_commit(r);
		return 0;
	}

	/*
	 * The lock file is shared with the target's own tools, so an existing
	 * one is used; it is only locked, never written.  O_NONBLOCK: a FIFO
	 * planted there would otherwise block the agent in open(2).
	 */
	st->lockfd = openat(st->etcfd, ".pwd.lock", O_WRONLY | O_CREAT |
	    O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	if (st->lockfd < 0 && errno == ENXIO)
		return request_error(r, LL_EC_PERMISSION, "etc/.pwd.lock is "
		    "not a regular file: refusing"), -1;
	if (st->lockfd < 0)
		return request_error(r, LL_EC_PERMISSION, "cannot open "
		    "etc/.pwd.lock: %s", errno == ELOOP ? "it is a symlink" :
		    pw_errno_text(errno)), -1;
	if (fstat(st->lockfd, &lst) != 0 || !S_ISREG(lst.st_mode))
		return request_error(r, LL_EC_PERMISSION, "etc/.pwd.lock is "
		    "not a regular file: refusing"), -1;
	switch (pw_try_lock(r)) {
	case 1:
		pw_commit(r);
		return 0;
	case 0:
		st->deadline = ll_now_ms() + PW_LOCK_WAIT_MS;
		st->next_try = ll_now_ms() + PW_LOCK_RETRY_MS;
		log_info("%s: etc/.pwd.lock of the target is busy; waiting",
		    r->conn->name);
		return 0;
	default:
		return -1;
	}
}

static int
op_passwd_pollfds(struct request *r, struct pollfd *pfd, int max,
    int *timeout_ms)
{
	struct pw_state *st = r->state;
	uint64_t now = ll_now_ms();
	int ms;

	(void)pfd;
	(void)max;
	ms = st->next_try > now ? (int)(st->next_try - now) : 0;
	if (*timeout_ms < 0 || ms < *timeout_ms)
		*timeout_ms = ms;
	return 0;
}

static void
op_passwd_io(struct request *r, uint64_t now)
{
	struct pw_state *st = r->state;

	if (r->done || now < st->next_try)
		return;
	if (st->cancelled) {
		request_error(r, LL_EC_CANCELLED, "cancelled while waiting for "
		    "etc/.pwd.lock; nothing was changed");
		return;
	}
	switch (pw_try_lock(r)) {
	case 1:
		pw_commit(r);
		break;
	case 0:
		if (now >= st->deadline)
			request_error(r, LL_EC_BUSY, "etc/.pwd.lock of the "
			    "target is held by another process (waited %d s); "
			    "try again", PW_LOCK_WAIT_MS / 1000);
		else
			st->next_try = now + PW_LOCK_RETRY_MS;
		break;
	default:
		break;
	}
}

/* Answered from io(): a session being reset frees the request at once. */
static void
op_passwd_cancel(struct request *r)
{
	struct pw_state *st = r->state;

	if (st != NULL) {
		st->cancelled = true;
		st->next_try = 0;
	}
}

static void
op_passwd_free(struct request *r)
{
	struct pw_state *st = r->state;

	if (st == NULL)
		return;
	if (st->etcfd >= 0)
		close(st->etcfd);
	if (st->lockfd >= 0)
		close(st->lockfd);
	explicit_bzero(st, sizeof(*st));
	free(st);
	r->state = NULL;
}

const struct agent_op op_passwd_ops[] = {
	{ .name = "passwd-info", .start = op_passwd_info },
	{ .name = "passwd", .writes = true, .start = op_passwd,
	  .pollfds = op_passwd_pollfds, .io = op_passwd_io,
	  .cancel = op_passwd_cancel, .free = op_passwd_free },
	{ .name = NULL }
};
