/*
 * lifeline ping: round trips of a small request through the whole stack,
 * reported as ping(8) does.  A probe whose answer does not come within
 * --wait is lost: said at once, and the next probe goes on the same session
 * (a late answer is dropped by the next call, whose id differs).  A link
 * that dies loses its probe too; the next probe connects again, waiting no
 * longer than --wait, so a console that went away and came back shows as a
 * run of lost probes.  The end says how many were lost, in percent.  A path
 * that cannot work at all (a bad spec, a refused key) ends ping at once.
 */
#include "config.h"

#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>

#include "client.h"

static const struct cmd_option ping_options[] = {
	{ "count", 'c', CMD_OPT_SHORT, "COUNT", "send COUNT probes "
	  "(default 4)" },
	{ "interval", 'i', CMD_OPT_SHORT, "SECONDS", "wait SECONDS between "
	  "probes (default 0.2)" },
	{ "wait", 'W', CMD_OPT_SHORT, "SECONDS", "a probe not answered "
	  "within SECONDS is lost (default 5)" },
	{ NULL, 0, 0, NULL, NULL }
};

struct ping_stats {
	long sent, received;
	bool connected;		/* a session was up once */
	double min, max, sum;
	json_t *times;		/* round trips in ms, null for a lost probe */
};

/* Seconds in (0, max] from s, or -1 (message printed). */
static double
ping_seconds(const char *opt, const char *s, double min, double max)
{
	char *end;
	double v = strtod(s, &end);

	if (*end != '\0' || end == s || v < min || v > max) {
		msg_error("ping: %s needs seconds from %g to %g, not \"%s\"",
		    opt, min, max, s);
		return -1;
	}
	return v;
}

/* Can a failure be a lost probe, or does the path not work at all? */
static bool
ping_is_loss(int rc)
{
	return rc == EXIT_NOAGENT || rc == EXIT_LOST || rc == EXIT_TIMEOUT;
}

static void
ping_lost(struct ping_stats *st, long seq, const char *why)
{
	json_array_append_new(st->times, json_null());
	if (!client_opts.json)
		printf("no reply from agent: seq=%ld lost (%s)\n", seq, why);
	fflush(stdout);
}

static void
ping_reply(struct ping_stats *st, long seq, double ms)
{
	json_array_append_new(st->times, json_real(ms));
	if (st->received == 0 || ms < st->min)
		st->min = ms;
	if (ms > st->max)
		st->max = ms;
	st->sum += ms;
	st->received++;
	if (!client_opts.json)
		printf("reply from agent: seq=%ld time=%.0f ms\n", seq, ms);
	fflush(stdout);
}

/*
 * One probe on *c, connecting first when *open is false.  0 answered,
 * a loss (ping_is_loss) or another EXIT_* (message printed).
 */
static int
ping_probe(struct conn *c, bool *open, struct ping_stats *st, long seq,
    int wait_ms)
{
	uint64_t t0 = ll_now_ms();
	json_t *res;
	int rc;

	st->sent++;
	if (!*open) {
		if ((rc = conn_open(c)) != 0) {
			conn_close(c);
			if (ping_is_loss(rc) && st->connected)
				ping_lost(st, seq, rc == EXIT_NOAGENT ?
				    "nothing answered" : c->err);
			else
				msg_error("%s", c->err);
			return rc;
		}
		*open = true;
		st->connected = true;
	}
	c->call_deadline_ms = ll_now_ms() + (uint64_t)wait_ms;
	rc = conn_call(c, "ping", NULL, NULL, &res);
	if (rc != 0) {
		if (!ping_is_loss(rc)) {
			msg_error("%s", c->err);
			return rc;
		}
		ping_lost(st, seq, rc == EXIT_TIMEOUT ? "no answer in time" :
		    "the link was lost");
		if (rc != EXIT_TIMEOUT) {
			conn_close(c);
			*open = false;
		}
		return rc;
	}
	json_decref(res);
	ping_reply(st, seq, (double)(ll_now_ms() - t0));
	return 0;
}

static void
ping_summary(const struct ping_stats *st)
{
	double loss = st->sent > 0 ? 100.0 * (double)(st->sent -
	    st->received) / (double)st->sent : 0;
	double avg = st->received > 0 ? st->sum / (double)st->received : 0;

	if (client_opts.json) {
		print_json(json_pack("{s:I, s:I, s:I, s:f, s:f, s:f, s:f, "
		    "s:O}", "count", (json_int_t)st->received, "sent",
		    (json_int_t)st->sent, "lost", (json_int_t)(st->sent -
		    st->received), "loss_percent", loss, "min_ms", st->min,
		    "avg_ms", avg, "max_ms", st->max, "times_ms", st->times));
		return;
	}
	printf("%ld probes, %ld replies, %.0f%% lost", st->sent,
	    st->received, loss);
	if (st->received > 0)
		printf("; min/avg/max = %.0f/%.0f/%.0f ms", st->min, avg,
		    st->max);
	printf("\n");
}

static int
cmd_ping(int argc, char **argv)
{
	struct ping_stats st = { 0, 0, false, 0, 0, 0, NULL };
	struct conn c;
	double interval = 0.2, wait = 5;
	bool open = false;
	long count = 4, i;
	char *end;
	int ch, rc = 0;

	optind = 0;
	while ((ch = cmd_getopt(&cmd_ping_entry, argc, argv)) != -1) {
		switch (ch) {
		case 'c':
			count = strtol(optarg, &end, 10);
			if (*end != '\0' || count < 1 || count > 1000000) {
				msg_error("ping: -c needs a count from 1, not "
				    "\"%s\"", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'i':
			if ((interval = ping_seconds("-i", optarg, 0,
			    3600)) < 0)
				return EXIT_USAGE;
			break;
		case 'W':
			if ((wait = ping_seconds("-W", optarg, 0.01,
			    3600)) < 0)
				return EXIT_USAGE;
			break;
		default:
			return cmd_usage_error(&cmd_ping_entry);
		}
	}
	if (optind != argc)
		return cmd_usage_error(&cmd_ping_entry);
	st.times = json_array();
	for (i = 1; i <= count && !conn_interrupted; i++) {
		rc = ping_probe(&c, &open, &st, i, (int)(wait * 1000));
		if (rc != 0 && (!ping_is_loss(rc) || !st.connected))
			break;
		/* after a loss, connecting again waits no longer than -W */
		if (rc != 0 && client_opts.timeout_ms > (int)(wait * 1000))
			client_opts.timeout_ms = (int)(wait * 1000);
		if (i < count && !conn_interrupted)
			poll(NULL, 0, (int)(interval * 1000));
	}
	if (open)
		conn_close(&c);
	if (st.connected)
		ping_summary(&st);
	json_decref(st.times);
	/* as ping(8): success when any probe was answered */
	if (st.received > 0)
		return EXIT_OK;
	return rc != 0 ? (rc == EXIT_TIMEOUT ? EXIT_NOAGENT : rc) :
	    EXIT_NOAGENT;
}

const struct client_cmd cmd_ping_entry = {
	.name = "ping",
	.summary = "measure round trips to the agent, and lost probes",
	.options = ping_options,
	.run = cmd_ping,
};
