/*
 * info and ping: what the agent is and where it runs, and a cheap round trip.
 * Nothing here changes the host.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "job.h"
#include "msg.h"
#include "ssh-server.h"
#include "target.h"

/* PRETTY_NAME of an os-release file, or NULL. */
static json_t *
info_os_release(const char *path)
{
	char line[512];
	json_t *v = NULL;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL)
		return NULL;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p, *e;

		if (strncmp(line, "PRETTY_NAME=", 12) != 0)
			continue;
		p = line + 12;
		p[strcspn(p, "\n")] = '\0';
		if (*p == '"' || *p == '\'') {
			e = strrchr(p + 1, *p);
			if (e != NULL)
				*e = '\0';
			p++;
		}
		v = ll_msg_text(p);
		break;
	}
	fclose(f);
	return v;
}

static json_t *
info_uptime(void)
{
	double up = 0;
	FILE *f;

	if ((f = fopen("/proc/uptime", "re")) == NULL)
		return json_null();
	if (fscanf(f, "%lf", &up) != 1)
		up = -1;
	fclose(f);
	return up < 0 ? json_null() : json_integer((json_int_t)up);
}

/* "jobs": the running jobs' status objects. */
static int
info_jobs(json_t *res)
{
	json_t *all = job_list(), *running = json_array(), *j;
	size_t i;

	json_array_foreach(all, i, j) {
		if (strcmp(json_string_value(json_object_get(j, "state")),
		    "running") == 0)
			json_array_append(running, j);
	}
	json_decref(all);
	return json_object_set_new(res, "jobs", running);
}

/* How this session is authenticated: the client key SSH accepted. */
static int
info_auth(struct request *r, json_t *res)
{
	char fp[128] = "";

	if (r->conn->ssh != NULL)
		ssh_serving_identity(r->conn->ssh, fp, sizeof(fp));
	return json_object_set_new(res, "auth_key", fp[0] != '\0' ?
	    json_string(fp) : json_null());
}

static int
op_info(struct request *r, json_t *args)
{
	struct utsname u;
	char host[256];
	json_t *res, *os;

	(void)args;
	res = json_pack("{s:s, s:o, s:i, s:b, s:I, s:o}",
	    "version", PACKAGE_VERSION, "uptime_s", info_uptime(),
	    "pid", (int)getpid(), "insecure", agent_opts.insecure,
	    "time", (json_int_t)time(NULL), "operations", server_caps());
	if (res == NULL)
		goto fail;
	/* text from the system may not be UTF-8: such a field is left out */
	if (gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		json_object_set_new(res, "hostname", ll_msg_text(host));
	}
	if (uname(&u) == 0) {
		json_object_set_new(res, "kernel", ll_msg_text(u.release));
		json_object_set_new(res, "machine", ll_msg_text(u.machine));
	}
	if ((os = info_os_release("/etc/os-release")) == NULL)
		os = info_os_release("/usr/lib/os-release");
	if (json_object_set_new(res, "os", os != NULL ? os : json_null()) != 0)
		goto fail;
	/* paths are byte strings: "console" or "console_base64" */
	if (ll_msg_set_bytes(res, "console", r->conn->name) != 0)
		goto fail;
	if (target_has_root()) {
		if (ll_msg_set_bytes(res, "target_root",
		    target_root_path()) != 0)
			goto fail;
	} else if (json_object_set_new(res, "target_root", json_null()) != 0)
		goto fail;
	if (info_auth(r, res) != 0)
		goto fail;
	/* A job never runs unseen: every running one is listed. */
	if (info_jobs(res) != 0)
		goto fail;
	return request_reply(r, res);
fail:
	json_decref(res);
	return request_reply(r, NULL);	/* ERROR internal */
}

/* Echo back what the client sent (bounded by the message cap already). */
static int
op_ping(struct request *r, json_t *args)
{
	json_t *res = json_object();
	json_t *pad = json_object_get(args, "pad");

	if (pad != NULL)
		json_object_set(res, "pad", pad);
	return request_reply(r, res);
}

const struct agent_op op_info_ops[] = {
	{ .name = "info", .start = op_info },
	{ .name = "ping", .start = op_ping },
	{ .name = NULL }
};
