/*
 * Agent logging: syslog always, plus an optional debug file, plus stderr
 * while stderr is not the link itself.  Each line records the function that
 * logged it.
 */
#ifndef LL_AGENT_LOG_H
#define LL_AGENT_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_open(const char *ident, const char *debug_file, bool to_stderr,
    int verbosity);
void log_stderr(bool on);
void log_close(void);
/* A copy of client-chosen text fit for a message: printable ASCII kept,
 * anything else '?', cut to len - 1 bytes. */
void log_printable(char *dst, size_t len, const char *src);
void log_at(int level, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The link's log callback (ll_log_fn); ctx unused. */
void log_link(void *ctx, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(...)	log_at(LOG_LVL_ERROR, __func__, __VA_ARGS__)
#define log_warn(...)	log_at(LOG_LVL_WARN, __func__, __VA_ARGS__)
#define log_info(...)	log_at(LOG_LVL_INFO, __func__, __VA_ARGS__)
#define log_debug(...)	log_at(LOG_LVL_DEBUG, __func__, __VA_ARGS__)

#endif
