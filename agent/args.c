/*
 * Request argument validation (see args.h).  Devices given by tag are
 * resolved with libblkid's evaluation (the same rules mount(8) uses); a
 * device must be a block device, compared by stat, never by name.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <blkid.h>

#include "agent.h"
#include "args.h"
#include "error.h"
#include "msg.h"
#include "target.h"

#define ARG_PATH_MAX	4096

static int
arg_get(struct request *r, json_t *args, const char *name, bool required,
    json_t **v)
{
	*v = json_object_get(args, name);
	if (*v == NULL || json_is_null(*v)) {
		*v = NULL;
		if (required) {
			request_error(r, LL_EC_BAD_REQUEST,
			    "missing argument \"%s\"", name);
			return -1;
		}
	}
	return 0;
}

int
arg_string(struct request *r, json_t *args, const char *name, bool required,
    size_t max, const char **out)
{
	json_t *v;

	*out = NULL;
	if (arg_get(r, args, name, required, &v) != 0)
		return -1;
	if (v == NULL)
		return 0;
	if (!json_is_string(v) || strlen(json_string_value(v)) !=
	    json_string_length(v)) {
		request_error(r, LL_EC_BAD_REQUEST, "argument \"%s\" must be "
		    "a string without NUL bytes", name);
		return -1;
	}
	if (json_string_length(v) > max) {
		request_error(r, LL_EC_BAD_REQUEST, "argument \"%s\" is longer "
		    "than %zu bytes", name, max);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

int
arg_bytes(struct request *r, json_t *args, const char *name, bool required,
    size_t max, const char **out)
{
	char *buf;
	size_t len;
	int rc;

	*out = NULL;
	rc = ll_msg_get_bytes(args, name, &buf, &len);
	if (rc == LL_ERR_NOTFOUND) {
		if (!required)
			return 0;
		request_error(r, LL_EC_BAD_REQUEST, "missing argument \"%s\" "
		    "(or \"%s" LL_MSG_BYTES_SUFFIX "\")", name, name);
		return -1;
	}
	if (rc == LL_ERR_FORMAT) {
		request_error(r, LL_EC_BAD_REQUEST, "argument \"%s\" must be "
		    "a string, or \"%s" LL_MSG_BYTES_SUFFIX "\" strict base64 "
		    "of its bytes; not both", name, name);
		return -1;
	}
	if (rc != 0) {
		request_error(r, LL_EC_INTERNAL, "argument \"%s\": %s", name,
		    ll_strerror(rc));
		return -1;
	}
	if (strlen(buf) != len || len > max) {
		request_error(r, LL_EC_BAD_REQUEST, len > max ? "argument "
		    "\"%s\" is longer than %zu bytes" : "argument \"%s\" holds "
		    "a NUL byte", name, max);
		free(buf);
		return -1;
	}
	if (!request_keep(r, buf)) {
		request_error(r, LL_EC_INTERNAL, "argument \"%s\": too many "
		    "decoded arguments", name);
		return -1;
	}
	*out = buf;
	return 0;
}

int
arg_bool(struct request *r, json_t *args, const char *name, bool *out)
{
	json_t *v = json_object_get(args, name);

	*out = false;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_boolean(v)) {
		request_error(r, LL_EC_BAD_REQUEST, "argument \"%s\" must be "
		    "true or false", name);
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

int
arg_int(struct request *r, json_t *args, const char *name, int64_t min,
    int64_t max, int64_t *out)
{
	json_t *v = json_object_get(args, name);

	if (v == NULL || json_is_null(v))
		return 0;	/* *out keeps the caller's default */
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max) {
		request_error(r, LL_EC_BAD_REQUEST, "argument \"%s\" must be "
		    "an integer from %lld to %lld", name, (long long)min,
		    (long long)max);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

int
arg_argv(struct request *r, json_t *args, const char *name, size_t max,
    char **argv)
{
	json_t *a = json_object_get(args, name), *v;
	size_t i, n;

	if (!json_is_array(a) || (n = json_array_size(a)) == 0 || n > max) {
		request_error(r, LL_EC_BAD_REQUEST, "argument \"%s\" must be an "
		    "array of 1 to %zu strings", name, max);
		return -1;
	}
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || strlen(json_string_value(v)) !=
		    json_string_length(v)) {
			request_error(r, LL_EC_BAD_REQUEST, "argument \"%s\": "
			    "element %zu is not a string without NUL bytes",
			    name, i);
			return -1;
		}
		argv[i] = (char *)json_string_value(v);
	}
	argv[n] = NULL;
	if (argv[0][0] == '\0') {
		request_error(r, LL_EC_BAD_REQUEST, "argument \"%s\": its "
		    "first element (the program) is empty", name);
		return -1;
	}
	return 0;
}

bool
path_is_valid(const char *s)
{
	return s != NULL && s[0] == '/' && strlen(s) < ARG_PATH_MAX;
}

int
arg_path(struct request *r, json_t *args, const char *name, bool required,
    const char **out)
{
	if (arg_bytes(r, args, name, required, ARG_PATH_MAX - 1, out) != 0)
		return -1;
	if (*out != NULL && (*out)[0] != '/') {
		request_error(r, LL_EC_BAD_REQUEST, "argument \"%s\" must be an "
		    "absolute path, not \"%s\"", name, *out);
		return -1;
	}
	return 0;
}

bool
name_is_valid_user(const char *s)
{
	size_t i, n = s != NULL ? strlen(s) : 0;

	/* shadow-utils' default rule: [a-z_][a-z0-9_-]*[$]?, 32 at most */
	if (n == 0 || n > 32)
		return false;
	if (!((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return false;
	for (i = 1; i < n; i++) {
		char c = s[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '-' || c == '.' ||
		    (c >= 'A' && c <= 'Z'))
			continue;
		if (c == '$' && i == n - 1)
			continue;
		return false;
	}
	return true;
}

int
arg_user(struct request *r, json_t *args, const char *name, bool required,
    const char **out)
{
	if (arg_string(r, args, name, required, 32, out) != 0)
		return -1;
	if (*out != NULL && !name_is_valid_user(*out)) {
		request_error(r, LL_EC_BAD_REQUEST, "argument \"%s\": \"%s\" is "
		    "not a valid user name", name, *out);
		return -1;
	}
	return 0;
}

/*
 * Resolve TAG=value to exactly one device.  Two devices with the same UUID
 * or label (a cloned disk, a rescue image that shares the target's labels)
 * must not be guessed between: that is an error listing them.
 */
static int
arg_tag_devices(struct request *r, const char *spec, char **dev)
{
	char *type = NULL, *value = NULL, names[1024] = "";
	blkid_cache cache = NULL;
	blkid_dev_iterate it;
	blkid_dev d;
	int n = 0, rc = -1;

	*dev = NULL;
	if (blkid_parse_tag_string(spec, &type, &value) != 0 || type == NULL ||
	    value == NULL) {
		request_error(r, LL_EC_BAD_REQUEST, "\"%s\" is not TAG=value",
		    spec);
		goto out;
	}
	if (blkid_get_cache(&cache, "/dev/null") != 0 ||
	    blkid_probe_all(cache) != 0) {
		request_error(r, LL_EC_INTERNAL, "cannot scan block devices");
		goto out;
	}
	it = blkid_dev_iterate_begin(cache);
	blkid_dev_set_search(it, type, value);
	while (blkid_dev_next(it, &d) == 0) {
		const char *nm;

		if ((d = blkid_verify(cache, d)) == NULL)
			continue;
		nm = blkid_dev_devname(d);
		if (n++ == 0)
			*dev = strdup(nm);
		if (strlen(names) + strlen(nm) + 3 < sizeof(names)) {
			if (names[0] != '\0')
				strcat(names, ", ");
			strcat(names, nm);
		}
	}
	blkid_dev_iterate_end(it);
	if (n == 0) {
		request_error(r, LL_EC_NOT_FOUND, "no block device has %s",
		    spec);
		goto out;
	}
	if (n > 1) {
		request_error(r, LL_EC_BAD_REQUEST, "%s is ambiguous: %d devices "
		    "have it (%s); name the device instead", spec, n, names);
		goto out;
	}
	if (*dev == NULL) {
		request_error(r, LL_EC_INTERNAL, "out of memory");
		goto out;
	}
	rc = 0;
out:
	if (rc != 0) {
		free(*dev);
		*dev = NULL;
	}
	if (cache != NULL)
		blkid_put_cache(cache);
	free(type);
	free(value);
	return rc;
}

int
arg_device(struct request *r, json_t *args, const char *name, char *out,
    size_t outlen, dev_t *rdev)
{
	const char *spec;
	char *dev = NULL;
	struct stat st;
	int rc = -1;

	/* a path, so a byte string ("device" or "device_base64") */
	if (arg_bytes(r, args, name, true, ARG_PATH_MAX - 1, &spec) != 0)
		return -1;
	if (strchr(spec, '=') != NULL) {
		if (arg_tag_devices(r, spec, &dev) != 0)
			goto out;
	} else if (spec[0] != '/') {
		request_error(r, LL_EC_BAD_REQUEST, "argument \"%s\": \"%s\" is "
		    "neither a device path nor UUID=, LABEL=, PARTUUID=, "
		    "PARTLABEL=", name, spec);
		goto out;
	} else if ((dev = realpath(spec, NULL)) == NULL) {
		request_error(r, LL_EC_NOT_FOUND, "%s: %s", spec,
		    strerror(errno));
		goto out;
	}
	if (stat(dev, &st) != 0) {
		request_error(r, LL_EC_NOT_FOUND, "%s: %s", dev,
		    strerror(errno));
		goto out;
	}
	if (!S_ISBLK(st.st_mode)) {
		request_error(r, LL_EC_BAD_REQUEST, "%s is not a block device",
		    spec);
		goto out;
	}
	if (strlen(dev) >= outlen) {
		request_error(r, LL_EC_BAD_REQUEST, "device path too long");
		goto out;
	}
	snprintf(out, outlen, "%s", dev);
	if (rdev != NULL)
		*rdev = st.st_rdev;
	rc = 0;
out:
	free(dev);
	return rc;
}

int
arg_fstype(struct request *r, json_t *args, const char *name, bool required,
    const char **out)
{
	const char *p;

	if (arg_string(r, args, name, required, 31, out) != 0)
		return -1;
	for (p = *out; p != NULL && *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '.' || *p == '_' || *p == '-')
			continue;
		request_error(r, LL_EC_BAD_REQUEST, "argument \"%s\": \"%s\" is "
		    "not a filesystem type", name, *out);
		return -1;
	}
	if (*out != NULL && (*out)[0] == '\0') {
		request_error(r, LL_EC_BAD_REQUEST, "argument \"%s\" is empty",
		    name);
		return -1;
	}
	return 0;
}

int
arg_options(struct request *r, json_t *args, const char *name,
    const char **out)
{
	const char *p;

	if (arg_string(r, args, name, false, 1024, out) != 0)
		return -1;
	for (p = *out; p != NULL && *p != '\0'; p++) {
		if (*p > ' ' && *p < 0x7f)
			continue;
		request_error(r, LL_EC_BAD_REQUEST, "argument \"%s\": mount "
		    "options must be printable without spaces", name);
		return -1;
	}
	return 0;
}

int
target_require(struct request *r)
{
	if (target_has_root())
		return 0;
	request_error(r, LL_EC_NOT_FOUND, "no target root is mounted: run "
	    "`lifeline mount` first");
	return -1;
}
