/*
 * fsck: check and repair one unmounted filesystem.
 *
 * The device is resolved by arg_device (a path, UUID=, LABEL=, ...) to a
 * block device number.  That number, not a name, is compared with every
 * mount in /proc/self/mountinfo (libmount), so any symlink or other name of
 * a mounted device is refused; a device held by an exclusive open (a swap
 * area, an md member, a running checker) is refused as in use.  The checker
 * follows the libblkid TYPE and is looked up in the clean PATH before
 * anything runs, so a missing one names its package.
 *
 * The checker runs as a job (job.c), like exec's commands: argv, clean
 * environment, stdin /dev/null, its own process group, its stdout and
 * stderr kept in the job's buffer and streamed as DATA on channels 1 and 2.
 * A session that ends leaves it running: a repair cut half way by a
 * dropped console is worse than one that finishes, and a client can follow
 * the job again.  e2fsck also gets "-C 3" on a third pipe, which the job
 * reads always; its progress lines ("pass current max device") become
 * progress EVENTs, at most about four a second.
 * The REPLY carries the checker's exit status with its meaning in the
 * checker's own terms.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <blkid.h>
#include <libmount.h>

#include "agent.h"
#include "args.h"
#include "child.h"
#include "job.h"
#include "log.h"
#include "msg.h"

#define FSCK_EVENT_MS		250	/* at most ~4 progress events a second */
#define FSCK_PROGRESS_FD	3	/* e2fsck -C 3 in the child */
#define FSCK_ARGV_MAX		8

enum fsck_kind { FSCK_E2FSCK, FSCK_XFS, FSCK_VFAT, FSCK_BTRFS };

struct fsck_checker {
	const char *type;	/* libblkid TYPE */
	enum fsck_kind kind;
	const char *program;
	const char *package;	/* the same name on Alpine and Debian */
};

static const struct fsck_checker fsck_checkers[] = {
	{ "ext2", FSCK_E2FSCK, "e2fsck", "e2fsprogs" },
	{ "ext3", FSCK_E2FSCK, "e2fsck", "e2fsprogs" },
	{ "ext4", FSCK_E2FSCK, "e2fsck", "e2fsprogs" },
	{ "xfs", FSCK_XFS, "xfs_repair", "xfsprogs" },
	{ "vfat", FSCK_VFAT, "fsck.vfat", "dosfstools" },
	{ "msdos", FSCK_VFAT, "fsck.vfat", "dosfstools" },
	{ "btrfs", FSCK_BTRFS, "btrfs", "btrfs-progs" },
	{ NULL, 0, NULL, NULL }
};

struct fsck_state {
	struct job_reader rd;	/* the checker's job, followed from 0 */
	const struct fsck_checker *ck;
	json_t *argv;
	char device[4096];
	char type[64];
	bool dry_run;
	uint32_t seen_seq;	/* the job's progress lines seen */
	int last_pass;
	uint64_t last_event;
	bool cancelled;
};

/*
 * Is the device mounted anywhere?  Compare device numbers, so every name
 * (by-id/by-uuid links, other nodes) of the same device is caught.  Returns
 * 1 with *where set, 0 when not, -1 when mountinfo could not be read.
 */
static int
fsck_mounted(dev_t rdev, char *where, size_t wlen, char *src, size_t slen)
{
	struct libmnt_table *tb;
	struct libmnt_iter *it;
	struct libmnt_fs *fs;
	int rc = 0;

	if ((tb = mnt_new_table_from_file("/proc/self/mountinfo")) == NULL)
		return -1;
	if ((it = mnt_new_iter(MNT_ITER_FORWARD)) == NULL) {
		mnt_unref_table(tb);
		return -1;
	}
	while (mnt_table_next_fs(tb, it, &fs) == 0) {
		const char *t, *s;

		if (mnt_fs_get_devno(fs) != rdev)
			continue;
		t = mnt_fs_get_target(fs);
		s = mnt_fs_get_source(fs);
		snprintf(where, wlen, "%s", t != NULL ? t : "?");
		snprintf(src, slen, "%s", s != NULL ? s : "");
		rc = 1;
		break;
	}
	mnt_free_iter(it);
	mnt_unref_table(tb);
	return rc;
}

/* The libblkid TYPE of dev into type ("" when no filesystem); -1 on error
 * with the message in err. */
static int
fsck_probe(const char *dev, char *type, size_t tlen, char *err, size_t elen)
{
	blkid_probe pr;
	const char *v = NULL;
	int rc;

	type[0] = '\0';
	if ((pr = blkid_new_probe_from_filename(dev)) == NULL) {
		snprintf(err, elen, "cannot probe %.300s: %s", dev,
		    strerror(errno));
		return -1;
	}
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
	rc = blkid_do_safeprobe(pr);
	if (rc == -2) {
		snprintf(err, elen, "%.300s carries signatures of more than "
		    "one filesystem: refusing to guess which to check", dev);
		blkid_free_probe(pr);
		return -1;
	}
	if (rc < 0) {
		snprintf(err, elen, "cannot probe %.300s", dev);
		blkid_free_probe(pr);
		return -1;
	}
	if (rc == 0 && blkid_probe_lookup_value(pr, "TYPE", &v, NULL) == 0 &&
	    v != NULL)
		snprintf(type, tlen, "%s", v);
	blkid_free_probe(pr);
	return 0;
}

static void
fsck_close(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

static void
fsck_state_free(struct fsck_state *st)
{
	if (st == NULL)
		return;
	job_reader_detach(&st->rd);
	json_decref(st->argv);
	free(st);
}

/* The argv for the checker, NULL-terminated in argv (pointing into json);
 * returns the count. */
static int
fsck_build_argv(struct fsck_state *st, const char *path)
{
	json_t *a = json_array();

	json_array_append_new(a, ll_msg_text(path));
	switch (st->ck->kind) {
	case FSCK_E2FSCK:
		json_array_append_new(a, json_string("-f"));
		json_array_append_new(a, ll_msg_text(st->dry_run ? "-n" :
		    "-y"));
		json_array_append_new(a, json_string("-C"));
		json_array_append_new(a, json_string("3"));
		break;
	case FSCK_XFS:
		if (st->dry_run)
			json_array_append_new(a, json_string("-n"));
		break;
	case FSCK_VFAT:
		json_array_append_new(a, ll_msg_text(st->dry_run ? "-n" :
		    "-a"));
		break;
	case FSCK_BTRFS:
		json_array_append_new(a, json_string("check"));
		json_array_append_new(a, json_string("--readonly"));
		break;
	}
	json_array_append_new(a, ll_msg_text(st->device));
	st->argv = a;
	return (int)json_array_size(a);
}

/* The job's first EVENT: which job the checker is (docs/protocol.md). */
static void
fsck_send_job(struct request *r, uint32_t id)
{
	request_event(r, json_pack("{s:s, s:i}", "type", "job", "job",
	    (int)id));
}

/*
 * The device may be checked: mounted nowhere (by device number), and not
 * held open exclusively (swap, an md/dm member, a running checker).  0, or
 * -1 with the error sent.
 */
static int
fsck_check_unused(struct request *r, const struct fsck_state *st,
    dev_t rdev)
{
	char where[4096], src[4096];
	int fd;

	switch (fsck_mounted(rdev, where, sizeof(where), src, sizeof(src))) {
	case 1:
		return request_error(r, LL_EC_BUSY, "%s is mounted on %s: "
		    "unmount it first (lifeline umount)", st->device, where),
		    -1;
	case -1:
		return request_error(r, LL_EC_INTERNAL, "cannot read "
		    "/proc/self/mountinfo, so cannot tell whether %s is "
		    "mounted: %s", st->device, strerror(errno)), -1;
	}
	if ((fd = open(st->device, O_RDONLY | O_EXCL | O_CLOEXEC)) < 0) {
		if (errno == EBUSY)
			return request_error(r, LL_EC_BUSY, "%s is in use (held "
			    "open exclusively: a swap area, a RAID/LVM member "
			    "or a running check?)", st->device), -1;
		return request_error(r, LL_EC_PERMISSION, "cannot open %s: %s",
		    st->device, strerror(errno)), -1;
	}
	close(fd);
	return 0;
}

/*
 * The checker for the filesystem libblkid finds (st->type, st->ck), and
 * its program's path in the clean PATH.  0, or -1 with the error sent.
 */
static int
fsck_choose_checker(struct request *r, struct fsck_state *st, char *path,
    size_t pathlen)
{
	char err[512];
	int i;

	if (fsck_probe(st->device, st->type, sizeof(st->type), err,
	    sizeof(err)) != 0)
		return request_error(r, LL_EC_BAD_REQUEST, "%s", err), -1;
	if (st->type[0] == '\0')
		return request_error(r, LL_EC_BAD_REQUEST, "%s holds no "
		    "filesystem that libblkid recognizes: nothing to check",
		    st->device), -1;
	for (i = 0; fsck_checkers[i].type != NULL; i++) {
		if (strcmp(fsck_checkers[i].type, st->type) == 0)
			break;
	}
	if (fsck_checkers[i].type == NULL)
		return request_error(r, LL_EC_BAD_REQUEST, "%s holds a \"%s\" "
		    "area: lifeline has no checker for \"%s\" (it checks "
		    "ext2, ext3, ext4, xfs, vfat and, read-only, btrfs)",
		    st->device, st->type, st->type), -1;
	st->ck = &fsck_checkers[i];
	if (st->ck->kind == FSCK_BTRFS && !st->dry_run)
		return request_error(r, LL_EC_BAD_REQUEST, "%s is btrfs: "
		    "lifeline only checks btrfs read-only (lifeline fsck -n); "
		    "repairs (btrfs check --repair, btrfs rescue) can make "
		    "damage worse and are for the btrfs tools by hand, through "
		    "lifeline exec", st->device), -1;
	if (!child_find_program(st->ck->program, path, pathlen))
		return request_error(r, LL_EC_EXEC_FAILED, "%s not found: "
		    "install %s (Alpine: apk add %s; Debian: apt-get install "
		    "%s)", st->ck->program, st->ck->package, st->ck->package,
		    st->ck->package), -1;
	return 0;
}

/*
 * Run the checker at path as a job (e2fsck with its progress pipe as fd
 * 3) and follow its output from offset 0.  0, or -1 with the error sent.
 */
static int
fsck_start_job(struct request *r, struct fsck_state *st, const char *path)
{
	static const uint64_t zero[3];
	struct child_opts opts = { .root_fd = -1 };
	char *argv[FSCK_ARGV_MAX + 1], err[512];
	uint64_t dropped[3];
	int prog[2] = { -1, -1 };
	int i, n, rc = -1;
	struct job *j;
	const char *ec;

	n = fsck_build_argv(st, path);
	for (i = 0; i < n && i < FSCK_ARGV_MAX; i++)
		argv[i] = (char *)json_string_value(json_array_get(st->argv,
		    (size_t)i));
	argv[i] = NULL;
	if (st->ck->kind == FSCK_E2FSCK) {
		if (pipe2(prog, O_CLOEXEC) != 0) {
			request_error(r, LL_EC_INTERNAL, "pipe: %s",
			    strerror(errno));
			goto out;
		}
		opts.extra_fd = prog[1];
		opts.extra_as = FSCK_PROGRESS_FD;
	}
	if ((j = job_start(argv, &opts, 0, &ec, err, sizeof(err))) == NULL) {
		request_error(r, ec, "%s", err);
		goto out;
	}
	if (prog[0] >= 0) {
		job_set_progress_fd(j, prog[0]);
		prog[0] = -1;
	}
	/* Cannot fail: offsets 0 are never beyond a job's output. */
	job_reader_attach(&st->rd, j, r, zero, true, dropped, err,
	    sizeof(err));
	log_info("%s: request %u: fsck %s (%s) with %s%s as job %u",
	    r->conn->name, r->id, st->device, st->type, path,
	    st->dry_run ? ", dry run" : "", j->id);
	fsck_send_job(r, j->id);
	rc = 0;
out:
	fsck_close(&prog[0]);
	fsck_close(&prog[1]);
	return rc;
}

/* The phases: arguments, the device unused, its checker, the job. */
static int
op_fsck_start(struct request *r, json_t *args)
{
	struct fsck_state *st;
	char path[4096];
	dev_t rdev;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		request_error(r, LL_EC_INTERNAL, "out of memory");
		return -1;
	}
	if (arg_device(r, args, "device", st->device, sizeof(st->device),
	    &rdev) != 0 || arg_bool(r, args, "dry_run", &st->dry_run) != 0 ||
	    fsck_check_unused(r, st, rdev) != 0 ||
	    fsck_choose_checker(r, st, path, sizeof(path)) != 0 ||
	    fsck_start_job(r, st, path) != 0) {
		fsck_state_free(st);
		return -1;
	}
	r->state = st;
	return 0;
}

/* One e2fsck progress line: "pass current max [device]". */
static void
fsck_progress_line(struct request *r, const char *line, uint64_t now)
{
	struct fsck_state *st = r->state;
	unsigned long long cur, max;
	int pass, pct;

	if (sscanf(line, "%d %llu %llu", &pass, &cur, &max) != 3 ||
	    pass < 1 || max == 0)
		return;
	/* The first line of each pass always goes, so no pass is missed;
	 * the rest at most every FSCK_EVENT_MS. */
	if (pass == st->last_pass && now - st->last_event < FSCK_EVENT_MS)
		return;
	st->last_pass = pass;
	st->last_event = now;
	pct = cur >= max ? 100 : (int)(cur * 100 / max);
	request_event(r, json_pack("{s:s, s:i, s:I, s:I, s:i}", "type",
	    "progress", "pass", pass, "current", (json_int_t)cur, "max",
	    (json_int_t)max, "percent", pct));
}

static void
fsck_meaning_add(json_t *m, const char *s)
{
	json_array_append_new(m, ll_msg_text(s));
}

/* What the checker's exit status means, in its own terms. */
static json_t *
fsck_meaning(const struct fsck_state *st, int code)
{
	static const struct {
		int bit;
		const char *text;
	} e2[] = {
		{ 1, "errors corrected" },
		{ 2, "reboot needed" },
		{ 4, "errors left uncorrected" },
		{ 8, "operational error" },
		{ 16, "usage or syntax error" },
		{ 32, "cancelled by request" },
		{ 128, "shared-library error" },
	};
	json_t *m = json_array();
	size_t i;

	if (code == 0) {
		fsck_meaning_add(m, "no errors");
		return m;
	}
	switch (st->ck->kind) {
	case FSCK_E2FSCK:
		for (i = 0; i < sizeof(e2) / sizeof(e2[0]); i++) {
			if (code & e2[i].bit)
				fsck_meaning_add(m, e2[i].text);
		}
		break;
	case FSCK_XFS:
		if (code == 1 && st->dry_run)
			fsck_meaning_add(m, "corruption detected");
		else if (code == 1)
			fsck_meaning_add(m, "runtime error: the repair did "
			    "not complete; run it again");
		else if (code == 2)
			fsck_meaning_add(m, "the log is dirty: mount and "
			    "unmount the filesystem to replay it, or repair "
			    "with xfs_repair -L (loses the log's changes)");
		break;
	case FSCK_VFAT:
		if (code == 1)
			fsck_meaning_add(m, st->dry_run ? "errors detected" :
			    "errors detected and corrected, or an internal "
			    "inconsistency");
		else if (code == 2)
			fsck_meaning_add(m, "usage error: the filesystem was "
			    "not accessed");
		break;
	case FSCK_BTRFS:
		fsck_meaning_add(m, "errors found, or the check failed");
		break;
	}
	if (json_array_size(m) == 0)
		fsck_meaning_add(m, "unknown exit status");
	return m;
}

static void
fsck_finish(struct request *r)
{
	struct fsck_state *st = r->state;
	const struct job *j = st->rd.job;
	int status = j->child.status;
	json_t *res;

	if (st->cancelled) {
		if (WIFSIGNALED(status))
			request_error(r, LL_EC_CANCELLED, "cancelled; %s "
			    "ended by %s", st->ck->program,
			    strsignal(WTERMSIG(status)));
		else
			request_error(r, LL_EC_CANCELLED, "cancelled; %s "
			    "stopped with exit status %d", st->ck->program,
			    WEXITSTATUS(status));
		return;
	}
	res = job_status(j);
	if (WIFEXITED(status))
		json_object_set_new(res, "meaning", fsck_meaning(st,
		    WEXITSTATUS(status)));
	else if (WIFSIGNALED(status))
		json_object_set_new(res, "meaning", json_pack("[s]",
		    "the checker was killed by a signal"));
	json_object_set_new(res, "checker", ll_msg_text(st->ck->program));
	json_object_set_new(res, "argv", json_incref(st->argv));
	json_object_set_new(res, "device", ll_msg_text(st->device));
	json_object_set_new(res, "type", ll_msg_text(st->type));
	json_object_set_new(res, "dry_run", json_boolean(st->dry_run));
	request_reply(r, res);
}

static void
op_fsck_io(struct request *r, uint64_t now)
{
	struct fsck_state *st = r->state;
	struct job *j = st->rd.job;

	if (r->done)
		return;
	if (j == NULL) {
		request_error(r, LL_EC_INTERNAL, "the job was forgotten to make "
		    "room for another (lifelined(8), JOBS)");
		return;
	}
	if (j->progress_seq != st->seen_seq) {
		st->seen_seq = j->progress_seq;
		fsck_progress_line(r, j->progress, now);
	}
	if (job_reader_pump(&st->rd) && !job_is_running(j))
		fsck_finish(r);
}

/* CANCEL (Ctrl-C) stops the checker: SIGTERM, SIGKILL 2 s later. */
static void
op_fsck_cancel(struct request *r)
{
	struct fsck_state *st = r->state;

	if (st == NULL || st->rd.job == NULL || st->rd.job->child.exited)
		return;
	st->cancelled = true;
	job_terminate(st->rd.job);
}

/*
 * The request ends.  When its session went away first, the checker runs
 * on as a job: killing a repair half way is worse than finishing it, and
 * a client can follow it again (lifeline output).
 */
static void
op_fsck_free(struct request *r)
{
	fsck_state_free(r->state);
	r->state = NULL;
}

const struct agent_op op_fsck_ops[] = {
	{ .name = "fsck", .writes = true, .readonly_arg = "dry_run",
	  .outlives_session = true, .start = op_fsck_start,
	  .io = op_fsck_io, .cancel = op_fsck_cancel, .free = op_fsck_free },
	{ .name = NULL }
};
