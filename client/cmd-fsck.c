/*
 * lifeline fsck: check (and by default repair) an unmounted filesystem on
 * the agent's host.  The checker's output streams to ours as it arrives;
 * on a terminal, e2fsck's progress EVENTs draw a bar on stderr, erased
 * before any output is written so the two never mix.  The checker's exit
 * status becomes ours (scripts test fsck's own bits); lifeline's own
 * failures exit 255, as exec's do, since 1..128 belong to the checker.
 * With --json the output is collected and printed with the result in one
 * object.  It does not use conn_run: the bar must go before its messages.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "job-ask.h"
#include "msg.h"

#define FSCK_BAR_WIDTH	30
#define FSCK_PASSES	5	/* e2fsck's */

/* The progress bar; the call's ctx is the stream_out, this its hook_ctx. */
struct fsck_bar {
	bool on;		/* drawing a progress bar */
	bool shown;		/* a bar is on the screen now */
	long job;		/* the agent's job id of the checker; 0: unknown */
};

/* The stream_out's before_write hook, and before our own messages. */
static void
fsck_bar_erase(struct stream_out *o)
{
	struct fsck_bar *b = o->hook_ctx;

	if (b->shown) {
		stream_out_write(o, 2, "\r\033[K", 4);
		b->shown = false;
	}
}

/* "pass 3/5 [#####.....] 47%" */
static void
fsck_event(void *ctx, json_t *ev)
{
	struct stream_out *o = ctx;
	struct fsck_bar *b = o->hook_ctx;
	char line[128], bar[FSCK_BAR_WIDTH + 1];
	const char *type = json_string_value(json_object_get(ev, "type"));
	json_int_t pass, pct;
	int i, fill, len;

	if (type != NULL && strcmp(type, "job") == 0)
		b->job = (long)json_integer_value(json_object_get(ev, "job"));
	if (!b->on || type == NULL || strcmp(type, "progress") != 0)
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
		stream_out_write(o, 2, line, (size_t)len);
		b->shown = true;
	}
}

static const struct cmd_option fsck_options[] = {
	{ "dry-run", 'n', CMD_OPT_SHORT, NULL, "check only, change nothing" },
	{ "force", 'f', CMD_OPT_SHORT, NULL, "force a full check and repair "
	  "(the default)" },
	{ NULL, 'y', CMD_OPT_SHORT, NULL, "repair without asking (the "
	  "default)" },
	{ NULL, 0, 0, NULL, NULL }
};

static int
cmd_fsck(int argc, char **argv)
{
	struct call_handlers h = { .data = stream_out_data,
	    .eof = stream_out_eof, .event = fsck_event,
	    .complete = stream_out_complete };
	struct stream_out out;
	struct fsck_bar bar;
	struct job_ask ask = { .what = "the checker" };
	struct conn c;
	json_t *args, *res = NULL, *v, *m;
	bool dry_run = false;
	size_t i;
	int ch, rc;

	optind = 0;
	while ((ch = cmd_getopt(&cmd_fsck_entry, argc, argv)) != -1) {
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
	stream_out_init(&out, client_opts.json);
	bar.on = !client_opts.json && isatty(2);
	bar.shown = false;
	bar.job = 0;
	out.before_write = fsck_bar_erase;
	out.hook_ctx = &bar;
	h.ctx = &out;
	ask.job = &bar.job;
	ask.out = &out;
	h.ask = &ask;
	/* the device is a path or TAG=value: any bytes ("device_base64") */
	args = json_pack("{s:b}", "dry_run", dry_run);
	if (args == NULL || ll_msg_set_bytes(args, "device",
	    argv[optind]) != 0) {
		json_decref(args);
		msg_error("fsck: out of memory");
		return EXIT_FAILED;
	}
	if ((rc = conn_open(&c)) != 0 ||
	    (rc = conn_call(&c, "fsck", args, &h, &res)) != 0) {
		fsck_bar_erase(&out);
		msg_error("%s", c.err);
		conn_close(&c);
		/* the checker runs on: follow it again, from the next byte */
		job_reconnect("the checker", bar.job, NULL, &out, &ask, &rc,
		    &res);
	} else
		conn_close(&c);
	json_decref(args);
	if (rc != 0) {
		fsck_bar_erase(&out);
		stream_out_cleanup(&out, NULL);
		/* The checker's status space is 0..128: ours is 255, but a
		 * usage error (a malformed --via) is 2 everywhere. */
		return rc == EXIT_USAGE ? EXIT_USAGE : EXIT_EXEC_OWN;
	}
	fsck_bar_erase(&out);
	rc = EXIT_EXEC_OWN;
	if (json_is_integer(v = json_object_get(res, "exit_status")))
		rc = (int)json_integer_value(v);
	else if (json_is_integer(v = json_object_get(res, "signal")))
		rc = 128 + (int)json_integer_value(v);
	if (client_opts.json) {
		/* Checker output is text: invalid UTF-8 is dropped (null),
		 * not guessed. */
		stream_out_json(res, &out, false);
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
	stream_out_cleanup(&out, "fsck: writing the checker's output failed");
	return rc;
usage:
	return cmd_usage_error(&cmd_fsck_entry);
}

const struct client_cmd cmd_fsck_entry = {
	.name = "fsck",
	.operands = "DEVICE",
	.summary = "check and repair an unmounted filesystem",
	.help = "DEVICE is a path on the agent's host, UUID=, LABEL= or PARTUUID=.  "
	    "lifeline exits with the checker's own status (e2fsck: 1 errors "
	    "corrected, 4 left uncorrected, ...), 255 when it could not run it.",
	.options = fsck_options,
	.run = cmd_fsck,
};
