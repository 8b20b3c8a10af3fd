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
 * the zero value).  A missing file is fine unless must_exist.  On error
 * returns -1 with "PATH:LINE: what is wrong" in err and o unchanged as far
 * as the bad line goes.  Strings are kept for the process's lifetime.
 */
int conf_load(const char *path, bool must_exist, struct agent_options *o,
    char *err, size_t errlen);

/*
 * Parse an allow-list "info,exec,get" (comma or space separated) against the
 * operation table (server_find_op): 0, or -1 with err naming the unknown
 * operation.  *out is a NULL-terminated array kept for the process's life.
 */
int conf_parse_allow(const char *list, const char ***out, char *err,
    size_t errlen);

#endif
