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

static int
op_authorize_key(struct request *r, json_t *args)
{
	struct ak_key keys[AK_KEYS_MAX];
	struct statvfs vfs;
	struct stat st;
	json_t *jkeys, *v, *res, *list, *warn;
	const char *user;
	char home[4096], err[256], *old = NULL, *data = NULL;
	size_t nkeys = 0, i, oldlen = 0, len, nadd = 0;
	uid_t uid;
	gid_t gid;
	int homefd = -1, sshfd = -1, akfd = -1, rc = -1;
	bool made_dir = false;

	memset(keys, 0, sizeof(keys));
	if (arg_user(r, args, "user", false, &user) != 0)
		return -1;
	if (user == NULL)
		user = "root";
	jkeys = json_object_get(args, "keys");
	if (!json_is_array(jkeys) || json_array_size(jkeys) == 0 ||
	    json_array_size(jkeys) > AK_KEYS_MAX)
		return request_error(r, LL_EC_BAD_REQUEST, "argument \"keys\" "
		    "must be an array of 1 to %d key lines", AK_KEYS_MAX), -1;
	json_array_foreach(jkeys, i, v) {
		const char *s = json_string_value(v);

		if (s == NULL || strlen(s) != json_string_length(v) ||
		    strlen(s) > AK_LINE_MAX || strpbrk(s, "\r\n") != NULL) {
			request_error(r, LL_EC_BAD_REQUEST, "argument \"keys\": "
			    "entry %zu is not one line of at most %d bytes",
			    i + 1, AK_LINE_MAX);
			goto out;
		}
		if (ak_parse(&keys[nkeys], s, err, sizeof(err)) != 0) {
			nkeys++;
			request_error(r, LL_EC_BAD_REQUEST, "key %zu is not a "
			    "valid public key: %s", i + 1, err);
			goto out;
		}
		nkeys++;
	}
	if (target_require(r) != 0)
		goto out;
	if (ak_lookup(r, user, &uid, &gid, home, sizeof(home)) != 0)
		goto out;
	homefd = target_open(home, O_RDONLY | O_DIRECTORY, 0, false);
	if (homefd < 0) {
		request_error(r, LL_EC_NOT_FOUND, "the home directory %s of %s "
		    "cannot be opened in the target: %s", home, user,
		    strerror(-homefd));
		goto out;
	}

	/* .ssh and authorized_keys: refuse anything but the plain kinds. */
	if (fstatat(homefd, ".ssh", &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode)) {
			request_error(r, LL_EC_PERMISSION, "%s/.ssh is %s: "
			    "refusing", home, S_ISLNK(st.st_mode) ?
			    "a symlink" : "not a directory");
			goto out;
		}
		sshfd = openat(homefd, ".ssh", O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
		if (sshfd < 0) {
			request_error(r, LL_EC_PERMISSION, "cannot open "
			    "%s/.ssh: %s", home, strerror(errno));
			goto out;
		}
		if (ak_lock(r, sshfd, home) != 0)
			goto out;
	} else if (errno != ENOENT) {
		request_error(r, LL_EC_PERMISSION, "cannot look at %s/.ssh: %s",
		    home, strerror(errno));
		goto out;
	}
	if (sshfd >= 0 && fstatat(sshfd, "authorized_keys", &st,
	    AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISLNK(st.st_mode) || !S_ISREG(st.st_mode)) {
			request_error(r, LL_EC_PERMISSION, "%s/.ssh/"
			    "authorized_keys is %s: refusing", home,
			    S_ISLNK(st.st_mode) ? "a symlink" :
			    "not a regular file");
			goto out;
		}
		akfd = openat(sshfd, "authorized_keys", O_RDONLY | O_NOFOLLOW |
		    O_NONBLOCK | O_CLOEXEC);
		if (akfd < 0 || (rc = sf_read_fd(akfd, AK_FILE_MAX, &old,
		    &oldlen)) != 0) {
			request_error(r, LL_EC_PERMISSION, "cannot read %s/.ssh/"
			    "authorized_keys: %s", home, strerror(akfd < 0 ?
			    errno : -rc));
			rc = -1;
			goto out;
		}
		rc = -1;
	}

	/* What to add: keys not there yet, each once. */
	len = oldlen + 1;
	for (i = 0; i < nkeys; i++) {
		size_t j;

		keys[i].present = old != NULL && ak_has_key(old, &keys[i]);
		for (j = 0; j < i && !keys[i].present; j++)
			if (strcmp(keys[j].type, keys[i].type) == 0 &&
			    strcmp(keys[j].b64, keys[i].b64) == 0)
				keys[i].present = true;
		if (!keys[i].present) {
			nadd++;
			len += strlen(keys[i].line) + 1;
		}
	}
	if (nadd > 0) {
		if (fstatvfs(homefd, &vfs) == 0 && (vfs.f_flag & ST_RDONLY)) {
			request_error(r, LL_EC_PERMISSION,
			    "the target is mounted read-only");
			goto out;
		}
		if ((data = malloc(len + 1)) == NULL) {
			request_error(r, LL_EC_INTERNAL, "out of memory");
			goto out;
		}
		len = 0;
		if (oldlen > 0) {
			memcpy(data, old, oldlen);
			len = oldlen;
			if (data[len - 1] != '\n')
				data[len++] = '\n';
		}
		for (i = 0; i < nkeys; i++) {
			if (keys[i].present)
				continue;
			memcpy(data + len, keys[i].line, strlen(keys[i].line));
			len += strlen(keys[i].line);
			data[len++] = '\n';
		}
		if (sshfd < 0) {
			if (mkdirat(homefd, ".ssh", 0700) != 0) {
				request_error(r, LL_EC_PERMISSION, "cannot "
				    "create %s/.ssh: %s", home,
				    ak_errno_text(errno));
				goto out;
			}
			made_dir = true;
			sshfd = openat(homefd, ".ssh", O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
			if (sshfd < 0 || fchown(sshfd, uid, gid) != 0 ||
			    fchmod(sshfd, 0700) != 0 ||
			    sf_copy_label(homefd, sshfd) != 0) {
				request_error(r, LL_EC_PERMISSION, "cannot set "
				    "up %s/.ssh: %s", home, strerror(errno));
				goto out;
			}
			if (ak_lock(r, sshfd, home) != 0)
				goto out;
		}
		if (ak_replace(r, sshfd, akfd, uid, gid, data, len) != 0)
			goto out;
		if (made_dir)
			sf_sync_dir(homefd);
	}

	warn = json_array();
	if (fstat(homefd, &st) == 0 && (st.st_uid != uid && st.st_uid != 0))
		json_array_append_new(warn, ll_msg_textf("%s is owned by uid "
		    "%u, not %s: sshd's StrictModes ignores the keys", home,
		    (unsigned)st.st_uid, user));
	if (fstat(homefd, &st) == 0 && (st.st_mode & 022))
		json_array_append_new(warn, ll_msg_textf("%s is group- or "
		    "world-writable: sshd's StrictModes ignores the keys",
		    home));
	if (fstat(sshfd, &st) == 0 && ((st.st_uid != uid && st.st_uid != 0) ||
	    (st.st_mode & 022)))
		json_array_append_new(warn, ll_msg_textf("%s/.ssh is owned by "
		    "uid %u, mode %04o: sshd's StrictModes ignores the keys",
		    home, (unsigned)st.st_uid, st.st_mode & 07777));
	list = json_array();
	for (i = 0; i < nkeys; i++)
		json_array_append_new(list, json_pack("{s:s, s:s?, s:s}",
		    "type", keys[i].type, "fingerprint", keys[i].fingerprint,
		    "status", keys[i].present ? "already present" : "added"));
	/* the home comes from the target's passwd: maybe not UTF-8 */
	res = json_pack("{s:s, s:I, s:I, s:o, s:o, s:b, s:I, s:o, s:o}",
	    "user", user, "uid", (json_int_t)uid, "gid", (json_int_t)gid,
	    "home", ll_msg_text(home), "keys", list, "created_ssh_dir",
	    made_dir, "added", (json_int_t)nadd, "warnings", warn, "file",
	    ll_msg_textf("%s/.ssh/authorized_keys", strcmp(home, "/") == 0 ?
	    "" : home));
	log_info("%s: authorize-key for %s in the target: %zu added, %zu "
	    "already present", r->conn->name, user, nadd, nkeys - nadd);
	request_reply(r, res);
	rc = 0;
out:
	for (i = 0; i < nkeys; i++) {
		free(keys[i].b64);
		free(keys[i].fingerprint);
	}
	free(old);
	free(data);
	if (akfd >= 0)
		close(akfd);
	if (sshfd >= 0)
		close(sshfd);
	if (homefd >= 0)
		close(homefd);
	return rc;
}

const struct agent_op op_authkey_ops[] = {
	{ .name = "authorize-key", .writes = true,
	  .start = op_authorize_key },
	{ .name = NULL }
};
