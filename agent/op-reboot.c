/*
 * reboot: sync, unmount what lifeline mounted, reboot the rescue host.
 *
 * start() does the work that can be reported: sync(), forget the target
 * root (its open fd would keep the filesystem busy), unmount every mount
 * lifeline recorded, newest first (a failure is reported and the rest still
 * go; one that stays busy is remounted read-only, as a shutdown does),
 * sync() again, and REPLY.  The reboot itself must not cut that reply
 * off, so the request stays alive after replying: pollfds()/io() wait until
 * the session has delivered everything (or at most REBOOT_FLUSH_MAX_MS) and
 * at least REBOOT_DELAY_MS, then reboot.  When the client session ends
 * first, free() reboots at once: the decision was already made and told.
 *
 * LIFELINED_REBOOT_COMMAND, read when the request arrives, replaces
 * reboot(2) by running that program (argv of one element, clean
 * environment): a hook for tests and integrations.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "args.h"
#include "child.h"
#include "job.h"
#include "log.h"
#include "msg.h"
#include "target.h"

#define REBOOT_DELAY_MS		1000
#define REBOOT_FLUSH_MAX_MS	5000

struct reboot_state {
	uint64_t replied;
	bool rebooted;
	char command[PATH_MAX];		/* "" = reboot(2) */
};

/* Run the hook command, detached; the loop reaps it. */
static void
reboot_run_command(const char *cmd)
{
	struct child_opts opts = { .output = CHILD_DETACHED, .root_fd = -1 };
	char *argv[2] = { (char *)cmd, NULL }, err[PATH_MAX + 64];
	struct child c;

	child_init(&c);
	if (child_spawn(&c, argv, &opts, err, sizeof(err)) != NULL) {
		log_error("reboot: %s", err);
		return;
	}
	log_info("reboot: ran %s (pid %d) instead of reboot(2)", cmd,
	    (int)c.pid);
}

static void
reboot_now(struct reboot_state *st)
{
	if (st->rebooted)
		return;
	st->rebooted = true;
	sync();
	if (st->command[0] != '\0') {
		reboot_run_command(st->command);
		return;
	}
	log_info("reboot: rebooting now");
	if (reboot(RB_AUTOBOOT) != 0)
		log_error("reboot: reboot(2): %s", strerror(errno));
}

static int
op_reboot_start(struct request *r, json_t *args)
{
	struct reboot_state *st;
	const struct target_mount *m;
	const char *cmd;
	json_t *res, *done, *failed;
	struct stat sb;
	int i, e;
	bool ro, force;
	char names[256];

	if (arg_bool(r, args, "force", &force) != 0)
		return -1;
	/* A reboot would kill them half way (an fsck's repairs, say). */
	if (!force && job_running(names, sizeof(names)) > 0) {
		request_error(r, LL_EC_BUSY, "jobs are running: %s; nothing "
		    "was done (wait for them, `lifeline kill` them, or "
		    "reboot with --force)", names);
		return -1;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		request_error(r, LL_EC_INTERNAL, "out of memory");
		return -1;
	}
	cmd = getenv("LIFELINED_REBOOT_COMMAND");
	if (cmd != NULL && cmd[0] != '\0') {
		/* Checked now, while the failure can still be reported. */
		if (cmd[0] != '/' || strlen(cmd) >= sizeof(st->command) ||
		    stat(cmd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
		    access(cmd, X_OK) != 0) {
			request_error(r, LL_EC_EXEC_FAILED,
			    "LIFELINED_REBOOT_COMMAND \"%s\" is not an "
			    "executable file given by absolute path; nothing "
			    "was done", cmd);
			free(st);
			return -1;
		}
		snprintf(st->command, sizeof(st->command), "%s", cmd);
	}
	sync();
	/* The root fd pins the target root: let go of it first. */
	target_set_root(NULL);
	done = json_array();
	failed = json_array();
	/* What stays mounted stays on record, in mount order. */
	for (i = target_mount_count() - 1; i >= 0; i--) {
		m = target_mount_at(i);
		if (umount2(m->target, UMOUNT_NOFOLLOW) == 0 ||
		    errno == EINVAL) {
			/* EINVAL: not a mount point any more; gone is gone */
			json_array_append_new(done, ll_msg_text(m->target));
			log_info("reboot: unmounted %s", m->target);
			target_forget_mount(i);
			continue;
		}
		e = errno;
		/* Busy: at least make it clean for the reboot, as a shutdown
		 * does. */
		ro = mount(NULL, m->target, NULL, MS_REMOUNT | MS_RDONLY,
		    NULL) == 0;
		json_array_append_new(failed, json_pack("{s:o, s:o, s:s, s:b}",
		    "target", ll_msg_text(m->target), "source",
		    ll_msg_text(m->source), "error", strerror(e),
		    "remounted_ro", ro));
		log_warn("reboot: cannot unmount %s: %s%s", m->target,
		    strerror(e), ro ? "; remounted it read-only" : "");
	}
	sync();
	res = json_pack("{s:o, s:o, s:b}", "unmounted", done, "failed",
	    failed, "rebooting", 1);
	if (st->command[0] != '\0')
		json_object_set_new(res, "command", ll_msg_text(st->command));
	/*
	 * Not request_reply(): that ends the request, and this one must live
	 * on until the reply has reached the client.  If the reply cannot be
	 * sent, the request ended with ERROR, and free() reboots at once: the
	 * mounts are gone already.
	 */
	r->state = st;
	if (request_reply_early(r, res) != 0)
		return 0;
	log_info("%s: request %u (reboot) replied; rebooting in about a "
	    "second", r->conn->name, r->id);
	st->replied = ll_now_ms();
	return 0;
}

static int
op_reboot_pollfds(struct request *r, struct pollfd *pfd, int max,
    int *timeout_ms)
{
	struct reboot_state *st = r->state;
	uint64_t now = ll_now_ms(), at = st->replied + REBOOT_DELAY_MS;
	int ms;

	(void)pfd;
	(void)max;
	/* After the delay, look again every 100 ms until drained. */
	ms = at > now ? (int)(at - now) : 100;
	if (*timeout_ms < 0 || ms < *timeout_ms)
		*timeout_ms = ms;
	return 0;
}

static void
op_reboot_io(struct request *r, uint64_t now)
{
	struct reboot_state *st = r->state;

	if (r->done || st->rebooted)
		return;
	if (now < st->replied + REBOOT_DELAY_MS)
		return;
	if (!request_is_drained(r) &&
	    now < st->replied + REBOOT_FLUSH_MAX_MS)
		return;
	reboot_now(st);
	request_finish(r);
}

static void
op_reboot_cancel(struct request *r)
{
	/* Too late: the mounts are gone and the reply said it reboots. */
	(void)r;
}

static void
op_reboot_free(struct request *r)
{
	struct reboot_state *st = r->state;

	if (st == NULL)
		return;
	reboot_now(st);
	free(st);
	r->state = NULL;
}

const struct agent_op op_reboot_ops[] = {
	{ .name = "reboot", .writes = true, .start = op_reboot_start,
	  .pollfds = op_reboot_pollfds, .io = op_reboot_io,
	  .cancel = op_reboot_cancel, .free = op_reboot_free },
	{ .name = NULL }
};
