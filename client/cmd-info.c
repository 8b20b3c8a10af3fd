/* lifeline info: who and where the agent is. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "client.h"
#include "msg.h"

static void
info_line(json_t *res, const char *key, const char *label)
{
	json_t *v = json_object_get(res, key);

	if (json_is_string(v))
		printf("%-10s %s\n", label, json_string_value(v));
	else if (json_is_integer(v))
		printf("%-10s %lld\n", label, (long long)json_integer_value(v));
}

/* A byte string ("key" or "key_base64"), printed as its raw bytes. */
static void
info_bytes(json_t *res, const char *key, const char *label)
{
	char *v;
	size_t n;

	if (ll_msg_get_bytes(res, key, &v, &n) != 0)
		return;
	printf("%-10s %s\n", label, v);
	free(v);
}

/* Running jobs: a job never runs unseen (`lifeline jobs` has details). */
static void
info_jobs(json_t *jobs)
{
	json_t *j, *a;
	size_t i, k;

	json_array_foreach(jobs, i, j) {
		printf("%-10s %lld running:", "job",
		    (long long)json_integer_value(json_object_get(j, "job")));
		json_array_foreach(json_object_get(j, "argv"), k, a)
			printf(" %s", json_string_value(a));
		printf("\n");
	}
}

static void
info_print(json_t *res)
{
	json_t *v;

	info_line(res, "version", "agent");
	info_line(res, "hostname", "host");
	info_line(res, "os", "os");
	info_line(res, "kernel", "kernel");
	info_line(res, "machine", "machine");
	if (json_is_integer(v = json_object_get(res, "uptime_s"))) {
		long long up = json_integer_value(v);

		printf("%-10s %lldd %02lld:%02lld:%02lld\n", "uptime",
		    up / 86400, up / 3600 % 24, up / 60 % 60, up % 60);
	}
	info_line(res, "console", "console");
	info_line(res, "pid", "pid");
	info_bytes(res, "target_root", "target");
	if (json_is_true(json_object_get(res, "insecure")))
		printf("%-10s %s\n", "auth", "none (--insecure)");
	info_jobs(json_object_get(res, "jobs"));
}

static int
cmd_info(int argc, char **argv)
{
	json_t *res;
	int rc;

	optind = 0;
	while (cmd_getopt(&cmd_info_entry, argc, argv) != -1)
		return cmd_usage_error(&cmd_info_entry);
	if (optind != argc)
		return cmd_usage_error(&cmd_info_entry);
	if ((rc = conn_run("info", NULL, NULL, &res)) != 0)
		return rc;
	return print_reply(res, info_print);
}

const struct client_cmd cmd_info_entry = {
	.name = "info",
	.summary = "show the agent's version, host, kernel, uptime, console, target root and jobs",
	.run = cmd_info,
};
