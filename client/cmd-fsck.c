/*
 * lifeline fsck: check (and by default repair) an unmounted filesystem on
 * the agent's host.  The checker's output streams to ours as it arrives;
 * on a terminal, e2fsck's progress EVENTs draw a bar on stderr, erased
 * before any output is written so the two never mix.  The checker's exit
 * status becomes ours (scripts test fsck's own bits); lifeline's own
 * failures exit 255, as exec's do, since 1..128 belong to the checker.  With --json the output is collected and
 * printed with the result in one object.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "msg.h"

#define FSCK_JSON_MAX	(16 * 1024 * 1024)
#define FSCK_BAR_WIDTH	30
#define FSCK_PASSES	5	/* e2fsck's */

struct fsck_ctx {
	bool eof[3];
	bool bar;		/* drawing a progress bar */
	bool bar_shown;		/* a bar is on the screen now */
	bool write_failed;
	char *buf[3];		/* --json: collected output */
	size_t len[3];
};

static void
fsck_write(struct fsck_ctx *x, int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0 && !x->write_failed) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			x->write_failed = true;
			break;
		}
		p += w;
		n -= (size_t)w;
	}
}

static void
fsck_bar_erase(struct fsck_ctx *x)
{
	if (x->bar_shown) {
		fsck_write(x, 2, "\r\033[K", 4);
		x->bar_shown = false;
	}
}

static void
fsck_data(void *ctx, uint8_t ch, const uint8_t *p, size_t n)
{
	struct fsck_ctx *x = ctx;

	if (ch != LL_CH_STDOUT && ch != LL_CH_STDERR)
		return;
	if (client_opts.json) {
		char *nb;

		if (x->len[ch] + n > FSCK_JSON_MAX)
			return;
		if ((nb = realloc(x->buf[ch], x->len[ch] + n + 1)) == NULL)
			return;
		memcpy(nb + x->len[ch], p, n);
		x->buf[ch] = nb;
		x->len[ch] += n;
		return;
	}
	fsck_bar_erase(x);
	fsck_write(x, ch == LL_CH_STDERR ? 2 : 1, p, n);
}

static void
fsck_eof(void *ctx, uint8_t ch)
{
	struct fsck_ctx *x = ctx;

	if (ch < 3)
		x->eof[ch] = true;
}

static bool
fsck_complete(void *ctx)
{
	struct fsck_ctx *x = ctx;

	return x->eof[LL_CH_STDOUT] && x->eof[LL_CH_STDERR];
}

/* "pass 3/5 [#####.....] 47%" */
static void
fsck_event(void *ctx, json_t *ev)
{
	struct fsck_ctx *x = ctx;
	char line[128], bar[FSCK_BAR_WIDTH + 1];
	const char *type = json_string_value(json_object_get(ev, "type"));
	json_int_t pass, pct;
	int i, fill, len;

	if (!x->bar || type == NULL || strcmp(type, "progress") != 0)
		return;
	pass = json_integer_value(json_object_get(ev, "pass"));
	pct = json_integer_value(json_object_get(ev, "percent"));
	if (pct < 0)
		pct = 0;
	if (pct > 100)
		pct = 100;
	fill = (int)(pct * FSCK_BAR_WIDTH / 100);
	for (i = 0; i < FSCK_BAR_WIDTH; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[FSCK_BAR_WIDTH] = '\0';
	len = snprintf(line, sizeof(line), "\r\033[Kpass %lld/%d [%s] %lld%%",
	    (long long)pass, FSCK_PASSES, bar, (long long)pct);
	if (len > 0 && (size_t)len < sizeof(line)) {
		fsck_write(x, 2, line, (size_t)len);
		x->bar_shown = true;
	}
}

static void
fsck_json_output(json_t *obj, const char *key, const char *p, size_t n)
{
	json_t *s = json_stringn(p != NULL ? p : "", n);

	/* Checker output is text; invalid UTF-8 is dropped, not guessed. */
	json_object_set_new(obj, key, s != NULL ? s : json_null());
}

int
cmd_fsck(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	struct call_handlers h = { .data = fsck_data, .eof = fsck_eof,
	    .event = fsck_event, .complete = fsck_complete };
	struct fsck_ctx x;
	struct conn c;
	json_t *args, *res = NULL, *v, *m;
	bool dry_run = false;
	size_t i;
	int ch, rc;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "+nfy", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			dry_run = true;
			break;
		case 'f':
		case 'y':
			/* the default: force a full check, repair */
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1)
		goto usage;
	memset(&x, 0, sizeof(x));
	x.bar = !client_opts.json && isatty(2);
	h.ctx = &x;
	args = json_pack("{s:s, s:b}", "device", argv[optind], "dry_run",
	    dry_run);
	if ((rc = conn_open(&c)) != 0 ||
	    (rc = conn_call(&c, "fsck", args, &h, &res)) != 0) {
		fsck_bar_erase(&x);
		msg_error("%s", c.err);
		json_decref(args);
		conn_close(&c);
		free(x.buf[1]);
		free(x.buf[2]);
		/* The checker's status space is 0..128: ours is 255. */
		return EXIT_EXEC_OWN;
	}
	fsck_bar_erase(&x);
	json_decref(args);
	conn_close(&c);
	rc = EXIT_EXEC_OWN;
	if (json_is_integer(v = json_object_get(res, "exit_status")))
		rc = (int)json_integer_value(v);
	else if (json_is_integer(v = json_object_get(res, "signal")))
		rc = 128 + (int)json_integer_value(v);
	if (client_opts.json) {
		fsck_json_output(res, "stdout", x.buf[1], x.len[1]);
		fsck_json_output(res, "stderr", x.buf[2], x.len[2]);
		print_json(res);
	} else {
		const char *checker = json_string_value(json_object_get(res,
		    "checker"));

		fprintf(stderr, "lifeline: %s exited with status %d:",
		    checker != NULL ? checker : "the checker", rc);
		m = json_object_get(res, "meaning");
		for (i = 0; i < json_array_size(m); i++)
			fprintf(stderr, "%s %s", i > 0 ? "," : "",
			    json_string_value(json_array_get(m, i)));
		fprintf(stderr, "%s\n", dry_run ? " (dry run: nothing "
		    "was changed)" : "");
		json_decref(res);
	}
	free(x.buf[1]);
	free(x.buf[2]);
	if (x.write_failed)
		msg_error("fsck: writing the checker's output failed");
	return rc;
usage:
	msg_error("usage: lifeline fsck [-n] [-f] DEVICE (default: force a "
	    "full check and repair; -n: check only, change nothing)");
	return EXIT_USAGE;
}
