/*
 * What `lifeline get` and `lifeline put` share (see xfer.h): the progress
 * bar, remote path checks, requests that reconnect after a lost link, and
 * the transfer summary.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "error.h"
#include "msg.h"
#include "xfer.h"

static void
xfer_size(char *out, size_t len, double v)
{
	const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int i = 0;

	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	snprintf(out, len, i == 0 ? "%.0f %s" : "%.1f %s", v, unit[i]);
}

static void
xfer_progress_draw(struct xfer_progress *p, uint64_t now, bool last)
{
	char done[32], total[32], rate[32], eta[32] = "--:--";
	double secs = (double)(now - p->t0) / 1000.0;
	double r = secs > 0.2 ? (double)(p->done - p->first) / secs : 0;
	int pct = p->total > 0 ? (int)(p->done * 100 / p->total) : 100;

	xfer_size(done, sizeof(done), (double)p->done);
	xfer_size(total, sizeof(total), (double)p->total);
	xfer_size(rate, sizeof(rate), r);
	if (r > 0 && !last) {
		uint64_t left = (uint64_t)((double)(p->total - p->done) / r);

		snprintf(eta, sizeof(eta), "%02llu:%02llu",
		    (unsigned long long)(left / 60),
		    (unsigned long long)(left % 60));
	} else if (last) {
		snprintf(eta, sizeof(eta), "%.1fs", secs);
	}
	fprintf(stderr, "\r%-28.28s %3d%% %10s / %-10s %10s/s %s %s\033[K",
	    p->name, pct, done, total, rate, last ? "in" : "ETA", eta);
	if (last)
		fputc('\n', stderr);
	fflush(stderr);
}

void
xfer_progress_start(struct xfer_progress *p, const char *name,
    uint64_t total, uint64_t done)
{
	memset(p, 0, sizeof(*p));
	p->on = !client_opts.json && isatty(STDERR_FILENO);
	if (name == NULL)
		name = "";
	snprintf(p->name, sizeof(p->name), "%s",
	    xfer_base(name)[0] != '\0' ? xfer_base(name) : name);
	p->total = total;
	p->done = p->first = done;
	p->t0 = p->last = ll_now_ms();
	if (p->on)
		xfer_progress_draw(p, p->t0, false);
}

void
xfer_progress_update(struct xfer_progress *p, uint64_t done)
{
	uint64_t now;

	p->done = done;
	if (!p->on)
		return;
	now = ll_now_ms();
	if (now - p->last < 200)
		return;
	p->last = now;
	xfer_progress_draw(p, now, false);
}

void
xfer_progress_end(struct xfer_progress *p)
{
	if (p->on)
		xfer_progress_draw(p, ll_now_ms(), true);
	p->on = false;
}

int
xfer_remote_path(const char *cmd, const char *in, char *out, size_t len)
{
	size_t o = 0;
	const char *p;

	if (in[0] != '/') {
		msg_error("%s: remote paths are absolute (inside the target "
		    "root, or the rescue host's with --rescue-host): \"%s\"",
		    cmd, in);
		return -1;
	}
	for (p = in; *p != '\0'; p++) {
		if (*p == '/' && o > 0 && out[o - 1] == '/')
			continue;
		if (o + 1 >= len) {
			msg_error("%s: remote path too long: %s", cmd, in);
			return -1;
		}
		out[o++] = *p;
	}
	while (o > 1 && out[o - 1] == '/')
		o--;
	out[o] = '\0';
	return 0;
}

const char *
xfer_base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

int
xfer_join(char *out, size_t len, const char *dir, const char *name)
{
	int n = snprintf(out, len, "%s%s%s", dir,
	    dir[0] != '\0' && dir[strlen(dir) - 1] == '/' ? "" : "/", name);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

json_t *
xfer_args(struct xfer *x, const char *cmd, const char *path)
{
	json_t *args = json_pack("{s:b}", "rescue_host", x->rescue_host);

	if (args == NULL || ll_msg_set_bytes(args, "path", path) != 0) {
		json_decref(args);
		msg_error("%s: %s: out of memory", cmd, path);
		return NULL;
	}
	return args;
}

int
xfer_reconnect(struct xfer *x, const char *what)
{
	char err[sizeof(x->c.err)];

	if (conn_interrupted)
		return EXIT_LOST;
	/* the loss's own words, for -v and for the end if it stays lost */
	snprintf(err, sizeof(err), "%s", x->c.err);
	msg_verbose("%s", err);
	if (conn_reconnect(&x->c, what) == 0)
		return 0;
	conn_set_error(&x->c, EXIT_LOST, "%s", err);
	return EXIT_LOST;
}

int
xfer_call(struct xfer *x, const char *op, json_t *args,
    const struct call_handlers *h, json_t **reply)
{
	char what[128];
	int rc;

	for (;;) {
		rc = conn_call(&x->c, op, args, h, reply);
		if (rc != EXIT_LOST)
			return rc;
		snprintf(what, sizeof(what), "%s: the link was lost", op);
		if (xfer_reconnect(x, what) != 0)
			return rc;
	}
}

int
xfer_stat(struct xfer *x, const char *path, json_t **entry)
{
	json_t *args;
	int rc;

	*entry = NULL;
	if ((args = xfer_args(x, "file-stat", path)) == NULL)
		return conn_set_error(&x->c, EXIT_FAILED, "file-stat: %s: out "
		    "of memory", path);
	rc = xfer_call(x, "file-stat", args, NULL, entry);
	json_decref(args);
	return rc;
}

void
xfer_record(struct xfer *x, const char *type, const char *remote,
    const char *local, uint64_t size, uint64_t offset, uint64_t bytes,
    const char *sha256)
{
	json_t *f;

	x->nfiles++;
	x->bytes += bytes;
	if (x->files == NULL)
		return;
	/* names that are not UTF-8 as remote_base64 / local_base64 */
	if ((f = json_pack("{s:s}", "type", type)) == NULL ||
	    ll_msg_set_bytes(f, "remote", remote) != 0 ||
	    ll_msg_set_bytes(f, "local", local) != 0) {
		json_decref(f);
		msg_warn("--json: %s left out of the file list: out of memory",
		    local);
		return;
	}
	if (strcmp(type, "file") == 0) {
		json_object_set_new(f, "size", json_integer((json_int_t)size));
		json_object_set_new(f, "offset",
		    json_integer((json_int_t)offset));
		json_object_set_new(f, "bytes", json_integer((json_int_t)bytes));
		json_object_set_new(f, "sha256", json_string(sha256));
	}
	json_array_append_new(x->files, f);
}

void
xfer_summary(struct xfer *x, const char *verb, uint64_t t0)
{
	uint64_t ms = ll_now_ms() - t0;
	char b[32];

	if (client_opts.json) {
		print_json(json_pack("{s:o, s:I, s:I, s:I}", "files",
		    x->files != NULL ? json_incref(x->files) : json_array(),
		    "entries", (json_int_t)x->nfiles,
		    "bytes", (json_int_t)x->bytes,
		    "duration_ms", (json_int_t)ms));
		return;
	}
	xfer_size(b, sizeof(b), (double)x->bytes);
	printf("%s %llu entr%s, %s transferred in %.1f s\n", verb,
	    (unsigned long long)x->nfiles, x->nfiles == 1 ? "y" : "ies", b,
	    (double)ms / 1000.0);
}
