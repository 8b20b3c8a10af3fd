/* lifeline ping: round trips of a small request through the whole stack. */
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
	{ NULL, 0, 0, NULL, NULL }
};

static int
cmd_ping(int argc, char **argv)
{
	struct conn c;
	json_t *res, *times;
	double interval = 0.2, min = 0, max = 0, sum = 0;
	long count = 4, i;
	char *end;
	int ch, rc;

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
			interval = strtod(optarg, &end);
			if (*end != '\0' || interval < 0 || interval > 3600) {
				msg_error("ping: -i needs seconds, not \"%s\"",
				    optarg);
				return EXIT_USAGE;
			}
			break;
		default:
			return cmd_usage_error(&cmd_ping_entry);
		}
	}
	if (optind != argc)
		return cmd_usage_error(&cmd_ping_entry);
	if ((rc = conn_open(&c)) != 0) {
		msg_error("%s", c.err);
		conn_close(&c);
		return rc;
	}
	times = json_array();
	for (i = 1; i <= count && !conn_interrupted; i++) {
		uint64_t t0 = ll_now_ms();
		double ms;

		if ((rc = conn_call(&c, "ping", NULL, NULL, &res)) != 0) {
			msg_error("%s", c.err);
			break;
		}
		json_decref(res);
		ms = (double)(ll_now_ms() - t0);
		json_array_append_new(times, json_real(ms));
		if (i == 1 || ms < min)
			min = ms;
		if (ms > max)
			max = ms;
		sum += ms;
		if (!client_opts.json)
			printf("reply from agent: seq=%ld time=%.0f ms\n", i, ms);
		fflush(stdout);
		if (i < count)
			poll(NULL, 0, (int)(interval * 1000));
	}
	conn_close(&c);
	if (json_array_size(times) > 0) {
		size_t n = json_array_size(times);

		if (client_opts.json)
			print_json(json_pack("{s:I, s:f, s:f, s:f, s:o}",
			    "count", (json_int_t)n, "min_ms", min, "avg_ms",
			    sum / (double)n, "max_ms", max, "times_ms",
			    json_incref(times)));
		else
			printf("%zu replies: min/avg/max = %.0f/%.0f/%.0f ms\n",
			    n, min, sum / (double)n, max);
	}
	json_decref(times);
	return rc;
}

const struct client_cmd cmd_ping_entry = {
	.name = "ping",
	.summary = "measure round trips to the agent",
	.options = ping_options,
	.run = cmd_ping,
};
