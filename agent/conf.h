/*
 * /etc/lifeline/lifelined.conf: one setting per line, `name value`, names
 * as the long options (serial, listen, listen-ssh, host-key,
 * authorized-keys, allow, read-only, encoding, debug-file, target-root);
 * `#` starts a comment; a value may be "quoted".  Options given on the
 * command line win over the file.  --insecure can only be given on the
 * command line.
 */
#ifndef LL_CONF_H
#define LL_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "agent.h"

#define CONF_DEFAULT_PATH	"/etc/lifeline/lifelined.conf"

/*
 * Read path into o, setting only the fields that are still unset (NULL, or
 * the zero value: read-only only turns on, encoding only replaces auto).
 * serial and listen pick the console transport: when o already has one
 * (serial, stdio or listen) the file's is ignored; giving both in the file
 * is an error.  A missing file is fine unless must_exist.  The file is
 * refused when it is not a regular file, is writable by group or others,
 * or (running as root) is not owned by root, as sshd's StrictModes.
 *
 * Returns 0, or -1 with "PATH:LINE: what is wrong" (or "PATH: ...") in err
 * and o unchanged: the file is applied only when every line is good.
 * Strings are kept for the process's lifetime.
 */
int conf_load(const char *path, bool must_exist, struct agent_options *o,
    char *err, size_t errlen);

/*
 * Parse an allow-list "info,exec,get" (comma or space separated) against the
 * operation table (server_find_op): 0, or -1 with err naming the unknown
 * operation (or saying the list is empty).  *out is a NULL-terminated array
 * of the table's own names, duplicates dropped; the array is malloc'd and
 * kept for the process's life.
 */
int conf_parse_allow(const char *list, const char ***out, char *err,
    size_t errlen);

#endif
