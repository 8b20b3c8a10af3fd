/*
 * lifeline info: who and where the agent is, what target root it works in,
 * and how this session is authenticated: the client key the agent's SSH
 * accepted (its reply says) and how lifeline checked the agent's host key
 * (the SSH engine says; added to the reply as host_key and
 * host_key_check).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "client.h"
#include "msg.h"
#include "ssh-client.h"

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
	if (json_is_null(json_object_get(res, "target_root")))
		printf("%-10s %s\n", "target", "none mounted (lifeline mount)");
	else
		info_bytes(res, "target_root", "target");
	if (json_is_true(json_object_get(res, "insecure")) ||
	    client_opts.insecure)
		printf("%-10s %s\n", "auth", "none (--insecure)");
	else if (json_is_string(v = json_object_get(res, "auth_key")))
		printf("%-10s SSH, your key %s\n", "auth",
		    json_string_value(v));
	if (json_is_string(v = json_object_get(res, "host_key")))
		printf("%-10s %s (%s)\n", "host key", json_string_value(v),
		    json_string_value(json_object_get(res,
		    "host_key_check")));
	info_jobs(json_object_get(res, "jobs"));
}

/* How the SSH inside the link checked the agent's host key. */
static void
info_host_key(struct conn *c, json_t *res)
{
	char fp[128], how[1200];

	if (c->ssh == NULL)
		return;
	ll_ssh_client_host_key(c->ssh, fp, sizeof(fp), how, sizeof(how));
	if (fp[0] == '\0')
		return;
	json_object_set_new(res, "host_key", json_string(fp));
	json_object_set_new(res, "host_key_check", json_string(how[0] !=
	    '\0' ? how : "checked"));
}

static int
cmd_info(int argc, char **argv)
{
	struct conn c;
	json_t *res;
	int rc;

	optind = 0;
	while (cmd_getopt(&cmd_info_entry, argc, argv) != -1)
		return cmd_usage_error(&cmd_info_entry);
	if (optind != argc)
		return cmd_usage_error(&cmd_info_entry);
	if ((rc = conn_open_early(&c)) != 0 ||
	    (rc = conn_call(&c, "info", NULL, NULL, &res)) != 0) {
		msg_error("%s", c.err);
		conn_close(&c);
		return rc;
	}
	info_host_key(&c, res);
	conn_close(&c);
	return print_reply(res, info_print);
}

const struct client_cmd cmd_info_entry = {
	.name = "info",
	.summary = "show the agent's version, host, kernel, console, target "
	    "root, jobs and how this session is authenticated",
	.run = cmd_info,
};
