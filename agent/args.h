/*
 * Typed arguments of requests, validated in one place before an operation
 * runs.  Each getter either stores a resolved value and returns 0, or sends
 * the request's ERROR (code bad_request or not_found, with a message naming
 * the argument and what was wrong) and returns -1: the caller then just
 * returns.  Nothing is changed anywhere before every argument has passed.
 */
#ifndef LL_AGENT_ARGS_H
#define LL_AGENT_ARGS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

struct request;

/* A string; NULL stays NULL when optional and absent. */
int arg_string(struct request *r, json_t *args, const char *name,
    bool required, size_t max, const char **out);
/*
 * A byte string (a name, a path, a link text): "name" as a JSON string, or
 * "name_base64" holding base64 of bytes that need not be UTF-8
 * (docs/protocol.md, "Byte strings").  No NUL, at most max bytes.  *out
 * lives as long as the request.
 */
int arg_bytes(struct request *r, json_t *args, const char *name,
    bool required, size_t max, const char **out);
int arg_bool(struct request *r, json_t *args, const char *name, bool *out);
int arg_int(struct request *r, json_t *args, const char *name, int64_t min,
    int64_t max, int64_t *out);
/*
 * A command's argv: an array of 1 to max strings without NUL bytes, the
 * first not empty.  argv (max + 1 entries of the caller's) receives them,
 * NULL-terminated; they live as long as args.
 */
int arg_argv(struct request *r, json_t *args, const char *name, size_t max,
    char **argv);
/* An absolute path without NUL bytes, at most PATH_MAX - 1 bytes, given
 * as arg_bytes() takes it. */
int arg_path(struct request *r, json_t *args, const char *name, bool required,
    const char **out);
/* A user or group name as shadow-utils accepts it. */
int arg_user(struct request *r, json_t *args, const char *name,
    bool required, const char **out);
/*
 * A block device: a path, or UUID=, LABEL=, PARTUUID=, PARTLABEL= resolved
 * with libblkid.  out (outlen bytes of the caller's) receives the
 * canonical /dev path, *rdev its device number.
 */
int arg_device(struct request *r, json_t *args, const char *name,
    char *out, size_t outlen, dev_t *rdev);
/* A filesystem type name: [a-z0-9._-]{1,31}. */
int arg_fstype(struct request *r, json_t *args, const char *name,
    bool required, const char **out);
/* Mount options: printable, no spaces, at most 1024 bytes. */
int arg_options(struct request *r, json_t *args, const char *name,
    const char **out);

/*
 * The operation acts on the target root: 0 when one is mounted, else -1
 * with ERROR not_found sent, saying to run `lifeline mount` first.
 */
int target_require(struct request *r);

/* Checks usable by the above and by operations on derived values. */
bool name_is_valid_user(const char *s);
bool path_is_valid(const char *s);

#endif
