/*
 * authorize-key: add public keys to a target user's authorized_keys.
 *
 * The user's uid, gid and home come from the target's etc/passwd, never the
 * rescue host's.  Each key is validated with libssh before anything is
 * touched.  The home directory is opened inside the target root (symlinks
 * resolved with RESOLVE_IN_ROOT), and below it .ssh and authorized_keys
 * only with *at() calls and O_NOFOLLOW: an existing .ssh or authorized_keys
 * that is a symlink or of the wrong type is refused, so nothing can be
 * written outside the user's own directory.  A missing .ssh is made 0700
 * and a missing authorized_keys 0600, both owned by the user and labelled
 * like their parent (security.selinux); an existing file keeps its owner,
 * mode and xattrs.  Keys already present (same type and base64, whatever
 * the comment or options) are not added again.  The new contents go to a
 * temp file that is fsynced and renamed over authorized_keys, so a crash
 * leaves the old file or the new one, never a truncated one.
 *
 * The whole read-change-replace runs under an exclusive flock(2) on the
 * .ssh directory itself: nothing is created for it (so nothing can be
 * planted at a lock file's name), two agents on one target cannot lose
 * each other's keys, and under it no run of ours is writing, so the temp
 * files a killed run left (".authorized_keys.lifeline-XXXXXXXX") are stale
 * and removed.  A run killed mid-way drops its lock with its process.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <libssh/libssh.h>

#include "agent.h"
#include "args.h"
#include "log.h"
#include "msg.h"
#include "pw-file.h"
#include "safe-file.h"
#include "ssh-keyline.h"
#include "target.h"

#define AK_KEYS_MAX	64
#define AK_LINE_MAX	16384
#define AK_FILE_MAX	(4 * 1024 * 1024)
#define AK_PASSWD_MAX	(16 * 1024 * 1024)
#define AK_LOCK_TRIES	40	/* 50 ms apart: another agent holds it ms */
#define AK_LOCK_PAUSE_US	50000

struct ak_key {
	const char *line;
	char type[128];
	char *b64;
	char *fingerprint;
	bool present;
};

/*
 * The type and base64 of a key line "[options] type base64 [comment]".
 * *b64 is malloc'd.  True when libssh knows the type.
 */
static bool
ak_split(const char *line, char *type, size_t tlen, char **b64)
{
	if (ll_ssh_key_split(line, type, tlen, b64) == SSH_KEYTYPE_UNKNOWN ||
	    *b64 == NULL) {
		free(*b64);
		*b64 = NULL;
		return false;
	}
	return true;
}

/* A validated key: libssh imports it.  0, or -1 with why in err. */
static int
ak_parse(struct ak_key *k, const char *line, char *err, size_t errlen)
{
	unsigned char *hash = NULL;
	ssh_key key = NULL;
	size_t hlen = 0;
	char *fp;

	if (!ak_split(line, k->type, sizeof(k->type), &k->b64)) {
		snprintf(err, errlen, "no key type libssh knows followed by "
		    "base64 data");
		return -1;
	}
	if (ssh_pki_import_pubkey_base64(k->b64, ssh_key_type_from_name(
	    k->type), &key) != SSH_OK) {
		snprintf(err, errlen, "the base64 data is not a valid %s key",
		    k->type);
		return -1;
	}
	if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash,
	    &hlen) == 0) {
		fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash,
		    hlen);
		if (fp != NULL) {
			k->fingerprint = strdup(fp);
			ssh_string_free_char(fp);
		}
		ssh_clean_pubkey_hash(&hash);
	}
	ssh_key_free(key);
	k->line = line;
	return 0;
}

/* uid, gid and home of user from the target's etc/passwd. */
static int
ak_lookup(struct request *r, const char *user, uid_t *uid, gid_t *gid,
    char *home, size_t homelen)
{
	char *buf = NULL, err[400];
	struct pw_buf pb;
	size_t len;
	struct stat st;
	int fd, rc;

	fd = target_open("/etc/passwd", O_RDONLY | O_NONBLOCK, 0, false);
	if (fd < 0)
		return request_error(r, LL_EC_NOT_FOUND, "cannot open the "
		    "target's etc/passwd: %s", strerror(-fd)), -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return request_error(r, LL_EC_NOT_FOUND, "the target's "
		    "etc/passwd is not a regular file"), -1;
	}
	rc = sf_read_fd(fd, AK_PASSWD_MAX, &buf, &len);
	close(fd);
	if (rc != 0)
		return request_error(r, LL_EC_NOT_FOUND, "cannot read the "
		    "target's etc/passwd: %s", strerror(-rc)), -1;
	pb.p = buf;
	pb.len = len;
	rc = pw_passwd_entry(&pb, user, uid, gid, home, homelen, err,
	    sizeof(err));
	free(buf);
	if (rc != 0)
		return request_error(r, rc == -ENOENT ? LL_EC_NOT_FOUND :
		    LL_EC_BAD_REQUEST, "%s", err), -1;
	return 0;
}

static const char *
ak_errno_text(int err)
{
	return err == EROFS ? "the target is mounted read-only" :
	    strerror(err);
}

/*
 * Write data to a temp file in sshfd like oldfd (or 0600 uid:gid labelled
 * like sshfd when oldfd < 0), fsync, rename over authorized_keys.
 */
static int
ak_replace(struct request *r, int sshfd, int oldfd, uid_t uid, gid_t gid,
    const char *data, size_t len)
{
	struct sf_like like = { .fd = oldfd, .mode = 0600, .uid = uid,
	    .gid = gid, .label_fd = sshfd };
	struct sf_fail f;
	int rc;

	rc = sf_replace(sshfd, "authorized_keys", data, len, &like, &f);
	if (rc == 0)
		return 0;
	if (f.step == SF_STEP_CREATE)
		return request_error(r, LL_EC_PERMISSION, "cannot create a "
		    "temp file in .ssh: %s", ak_errno_text(-rc)), -1;
	return request_error(r, LL_EC_PERMISSION, "cannot write "
	    "authorized_keys: %s", ak_errno_text(-rc)), -1;
}

/*
 * Lock .ssh (sshfd) against other runs, then remove what killed runs left
 * there (not on a read-only mount: nothing of ours can be left on one, and
 * nothing could be removed).  0, or -1 with the error sent.
 */
static int
ak_lock(struct request *r, int sshfd, const char *home)
{
	struct statvfs vfs;
	int i;

	for (i = 0; flock(sshfd, LOCK_EX | LOCK_NB) != 0; i++) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			return request_error(r, LL_EC_INTERNAL, "cannot lock "
			    "%s/.ssh: %s", home, strerror(errno)), -1;
		if (i + 1 >= AK_LOCK_TRIES)
			return request_error(r, LL_EC_BUSY, "%s/.ssh is locked "
			    "by another process changing authorized_keys; try "
			    "again", home), -1;
		usleep(AK_LOCK_PAUSE_US);
	}
	if (fstatvfs(sshfd, &vfs) == 0 && !(vfs.f_flag & ST_RDONLY))
		sf_remove_stale(sshfd, "authorized_keys");
	return 0;
}

/* Does the authorized_keys text hold a key with this type and base64? */
static bool
ak_has_key(const char *text, const struct ak_key *k)
{
	const char *line = text, *nl;
	char buf[AK_LINE_MAX + 1], type[128], *b64;
	bool found = false;

	while (line != NULL && *line != '\0' && !found) {
		size_t n;

		nl = strchr(line, '\n');
		n = nl != NULL ? (size_t)(nl - line) : strlen(line);
		if (n <= AK_LINE_MAX) {
			b64 = NULL;
			memcpy(buf, line, n);
			buf[n] = '\0';
			buf[strcspn(buf, "\r")] = '\0';
			if (buf[0] != '#' && ak_split(buf, type, sizeof(type),
			    &b64))
				found = strcmp(type, k->type) == 0 &&
				    strcmp(b64, k->b64) == 0;
			free(b64);
		}
		line = nl != NULL ? nl + 1 : NULL;
	}
	return found;
}

/* One authorize-key request: what it was asked, what it found, what it
 * holds open.  ak_run_cleanup() frees it. */
struct ak_run {
	struct request *r;
	const char *user;
	struct ak_key keys[AK_KEYS_MAX];
	size_t nkeys;
	size_t nadd;		/* keys not present yet */
	uid_t uid;
	gid_t gid;
	char home[4096];
	int homefd, sshfd, akfd;	/* -1: not open (no .ssh, no file) */
	char *old;		/* authorized_keys as it was, or NULL */
	size_t oldlen;
	bool made_dir;		/* .ssh was created */
};

/* "user" (default root) and "keys", each validated: 0, or -1 sent. */
static int
ak_args(struct ak_run *k, json_t *args)
{
	json_t *jkeys, *v;
	char err[256];
	size_t i;

	if (arg_user(k->r, args, "user", false, &k->user) != 0)
		return -1;
	if (k->user == NULL)
		k->user = "root";
	jkeys = json_object_get(args, "keys");
	if (!json_is_array(jkeys) || json_array_size(jkeys) == 0 ||
	    json_array_size(jkeys) > AK_KEYS_MAX)
		return request_error(k->r, LL_EC_BAD_REQUEST, "argument "
		    "\"keys\" must be an array of 1 to %d key lines",
		    AK_KEYS_MAX), -1;
	json_array_foreach(jkeys, i, v) {
		const char *s = json_string_value(v);

		if (s == NULL || strlen(s) != json_string_length(v) ||
		    strlen(s) > AK_LINE_MAX || strpbrk(s, "\r\n") != NULL)
			return request_error(k->r, LL_EC_BAD_REQUEST,
			    "argument \"keys\": entry %zu is not one line of "
			    "at most %d bytes", i + 1, AK_LINE_MAX), -1;
		/* counted first: its b64 is freed with the others */
		if (ak_parse(&k->keys[k->nkeys++], s, err, sizeof(err)) != 0)
			return request_error(k->r, LL_EC_BAD_REQUEST, "key %zu "
			    "is not a valid public key: %s", i + 1, err), -1;
	}
	return 0;
}

/* The user's entry in the target and its home directory, opened. */
static int
ak_open_home(struct ak_run *k)
{
	if (target_require(k->r) != 0 || ak_lookup(k->r, k->user, &k->uid,
	    &k->gid, k->home, sizeof(k->home)) != 0)
		return -1;
	k->homefd = target_open(k->home, O_RDONLY | O_DIRECTORY, 0, false);
	if (k->homefd < 0)
		return request_error(k->r, LL_EC_NOT_FOUND, "the home "
		    "directory %s of %s cannot be opened in the target: %s",
		    k->home, k->user, strerror(-k->homefd)), -1;
	return 0;
}

/*
 * An existing .ssh (opened and locked) and authorized_keys (read):
 * anything but a plain directory and a plain file is refused.  Neither
 * needs to exist.
 */
static int
ak_open_existing(struct ak_run *k)
{
	struct stat st;
	int rc;

	if (fstatat(k->homefd, ".ssh", &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT)
			return 0;
		return request_error(k->r, LL_EC_PERMISSION, "cannot look at "
		    "%s/.ssh: %s", k->home, strerror(errno)), -1;
	}
	if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode))
		return request_error(k->r, LL_EC_PERMISSION, "%s/.ssh is %s: "
		    "refusing", k->home, S_ISLNK(st.st_mode) ? "a symlink" :
		    "not a directory"), -1;
	k->sshfd = openat(k->homefd, ".ssh", O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC);
	if (k->sshfd < 0)
		return request_error(k->r, LL_EC_PERMISSION, "cannot open "
		    "%s/.ssh: %s", k->home, strerror(errno)), -1;
	if (ak_lock(k->r, k->sshfd, k->home) != 0)
		return -1;
	if (fstatat(k->sshfd, "authorized_keys", &st,
	    AT_SYMLINK_NOFOLLOW) != 0)
		return 0;
	if (S_ISLNK(st.st_mode) || !S_ISREG(st.st_mode))
		return request_error(k->r, LL_EC_PERMISSION, "%s/.ssh/"
		    "authorized_keys is %s: refusing", k->home,
		    S_ISLNK(st.st_mode) ? "a symlink" : "not a regular file"),
		    -1;
	k->akfd = openat(k->sshfd, "authorized_keys", O_RDONLY | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC);
	if (k->akfd < 0 || (rc = sf_read_fd(k->akfd, AK_FILE_MAX, &k->old,
	    &k->oldlen)) != 0)
		return request_error(k->r, LL_EC_PERMISSION, "cannot read "
		    "%s/.ssh/authorized_keys: %s", k->home,
		    strerror(k->akfd < 0 ? errno : -rc)), -1;
	return 0;
}

/* Mark the keys already in the file (or earlier in the request); count
 * the rest. */
static void
ak_mark_present(struct ak_run *k)
{
	size_t i, j;

	for (i = 0; i < k->nkeys; i++) {
		k->keys[i].present = k->old != NULL &&
		    ak_has_key(k->old, &k->keys[i]);
		for (j = 0; j < i && !k->keys[i].present; j++)
			if (strcmp(k->keys[j].type, k->keys[i].type) == 0 &&
			    strcmp(k->keys[j].b64, k->keys[i].b64) == 0)
				k->keys[i].present = true;
		if (!k->keys[i].present)
			k->nadd++;
	}
}

/* The new contents: the old text (ending in a newline), then each key to
 * add on a line of its own.  NULL when out of memory. */
static char *
ak_new_text(const struct ak_run *k, size_t *lenp)
{
	size_t i, len = k->oldlen + 1;
	char *data;

	for (i = 0; i < k->nkeys; i++)
		if (!k->keys[i].present)
			len += strlen(k->keys[i].line) + 1;
	if ((data = malloc(len + 1)) == NULL)
		return NULL;
	len = 0;
	if (k->oldlen > 0) {
		memcpy(data, k->old, k->oldlen);
		len = k->oldlen;
		if (data[len - 1] != '\n')
			data[len++] = '\n';
	}
	for (i = 0; i < k->nkeys; i++) {
		if (k->keys[i].present)
			continue;
		memcpy(data + len, k->keys[i].line, strlen(k->keys[i].line));
		len += strlen(k->keys[i].line);
		data[len++] = '\n';
	}
	*lenp = len;
	return data;
}

/* A new .ssh: 0700, the user's, labelled like the home; then locked. */
static int
ak_make_ssh_dir(struct ak_run *k)
{
	if (mkdirat(k->homefd, ".ssh", 0700) != 0)
		return request_error(k->r, LL_EC_PERMISSION, "cannot create "
		    "%s/.ssh: %s", k->home, ak_errno_text(errno)), -1;
	k->made_dir = true;
	k->sshfd = openat(k->homefd, ".ssh", O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC);
	if (k->sshfd < 0 || fchown(k->sshfd, k->uid, k->gid) != 0 ||
	    fchmod(k->sshfd, 0700) != 0 ||
	    sf_copy_label(k->homefd, k->sshfd) != 0)
		return request_error(k->r, LL_EC_PERMISSION, "cannot set up "
		    "%s/.ssh: %s", k->home, strerror(errno)), -1;
	return ak_lock(k->r, k->sshfd, k->home);
}

/* Write the keys to add (a .ssh made first when there is none). */
static int
ak_write(struct ak_run *k)
{
	struct statvfs vfs;
	char *data;
	size_t len;
	int rc = -1;

	if (fstatvfs(k->homefd, &vfs) == 0 && (vfs.f_flag & ST_RDONLY))
		return request_error(k->r, LL_EC_PERMISSION,
		    "the target is mounted read-only"), -1;
	if ((data = ak_new_text(k, &len)) == NULL)
		return request_error(k->r, LL_EC_INTERNAL, "out of memory"),
		    -1;
	if (k->sshfd < 0 && ak_make_ssh_dir(k) != 0)
		goto out;
	if (ak_replace(k->r, k->sshfd, k->akfd, k->uid, k->gid, data,
	    len) != 0)
		goto out;
	if (k->made_dir)
		sf_sync_dir(k->homefd);
	rc = 0;
out:
	free(data);
	return rc;
}

/* What would make sshd's StrictModes ignore the keys. */
static json_t *
ak_warnings(const struct ak_run *k)
{
	json_t *warn = json_array();
	struct stat st;

	if (fstat(k->homefd, &st) == 0 && (st.st_uid != k->uid &&
	    st.st_uid != 0))
		json_array_append_new(warn, ll_msg_textf("%s is owned by uid "
		    "%u, not %s: sshd's StrictModes ignores the keys", k->home,
		    (unsigned)st.st_uid, k->user));
	if (fstat(k->homefd, &st) == 0 && (st.st_mode & 022))
		json_array_append_new(warn, ll_msg_textf("%s is group- or "
		    "world-writable: sshd's StrictModes ignores the keys",
		    k->home));
	if (fstat(k->sshfd, &st) == 0 && ((st.st_uid != k->uid &&
	    st.st_uid != 0) || (st.st_mode & 022)))
		json_array_append_new(warn, ll_msg_textf("%s/.ssh is owned by "
		    "uid %u, mode %04o: sshd's StrictModes ignores the keys",
		    k->home, (unsigned)st.st_uid, st.st_mode & 07777));
	return warn;
}

static json_t *
ak_result(const struct ak_run *k)
{
	json_t *list = json_array();
	size_t i;

	for (i = 0; i < k->nkeys; i++)
		json_array_append_new(list, json_pack("{s:s, s:s?, s:s}",
		    "type", k->keys[i].type, "fingerprint",
		    k->keys[i].fingerprint, "status", k->keys[i].present ?
		    "already present" : "added"));
	/* the home comes from the target's passwd: maybe not UTF-8 */
	return json_pack("{s:s, s:I, s:I, s:o, s:o, s:b, s:I, s:o, s:o}",
	    "user", k->user, "uid", (json_int_t)k->uid, "gid",
	    (json_int_t)k->gid, "home", ll_msg_text(k->home), "keys", list,
	    "created_ssh_dir", k->made_dir, "added", (json_int_t)k->nadd,
	    "warnings", ak_warnings(k), "file",
	    ll_msg_textf("%s/.ssh/authorized_keys", strcmp(k->home, "/") ==
	    0 ? "" : k->home));
}

static void
ak_run_cleanup(struct ak_run *k)
{
	size_t i;

	for (i = 0; i < k->nkeys; i++) {
		free(k->keys[i].b64);
		free(k->keys[i].fingerprint);
	}
	free(k->old);
	if (k->akfd >= 0)
		close(k->akfd);
	if (k->sshfd >= 0)
		close(k->sshfd);
	if (k->homefd >= 0)
		close(k->homefd);
}

/*
 * The phases, in order: arguments, the user's home, what .ssh holds now
 * (locked from here on), which keys are new, the write, the reply.
 */
static int
op_authorize_key(struct request *r, json_t *args)
{
	struct ak_run k;
	int rc = -1;

	memset(&k, 0, sizeof(k));
	k.r = r;
	k.homefd = k.sshfd = k.akfd = -1;
	if (ak_args(&k, args) != 0 || ak_open_home(&k) != 0 ||
	    ak_open_existing(&k) != 0)
		goto out;
	ak_mark_present(&k);
	if (k.nadd > 0 && ak_write(&k) != 0)
		goto out;
	log_info("%s: authorize-key for %s in the target: %zu added, %zu "
	    "already present", r->conn->name, k.user, k.nadd,
	    k.nkeys - k.nadd);
	request_reply(r, ak_result(&k));
	rc = 0;
out:
	ak_run_cleanup(&k);
	return rc;
}

const struct agent_op op_authkey_ops[] = {
	{ .name = "authorize-key", .writes = true,
	  .start = op_authorize_key },
	{ .name = NULL }
};
