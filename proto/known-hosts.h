/*
 * lifeline's known-hosts file: the agents' SSH host keys, one
 * "LABEL SHA256:FINGERPRINT" line each (docs/lifeline.1, SECURITY).
 *
 * LABEL names the console the agent was reached on: the --via spec less
 * what does not change which console it is (a serial line's ",BAUD", a
 * telnet:// or ipmi:// "?options" part, the blanks of an exec: command),
 * so "tty:/dev/ttyS0,4000000" and "tty:/dev/ttyS0" are one entry.  When two
 * labels are compared, serial:, tty: and a bare device path to the same
 * device are the same console too, an ipmi:// user and an ssh:// port 22
 * do not count, and lines written by older versions (the spec as given)
 * match as well.
 *
 * The key is what identifies an agent: a key filed under any label is an
 * agent trusted before (a USB adapter that came back as ttyUSB1 is the same
 * agent); an unknown key on a label that has a key is a changed key.
 */
#ifndef LL_KNOWN_HOSTS_H
#define LL_KNOWN_HOSTS_H

#include <stdbool.h>
#include <stddef.h>

#define LL_KH_LABEL_MAX	1024	/* a label as filed, escaped, with NUL */
#define LL_KH_FP_MAX	96	/* "SHA256:" + base64 + NUL, with room */

struct ll_kh_entry {
	unsigned line;			/* 1-based line in the file */
	char label[LL_KH_LABEL_MAX];	/* as filed */
	char fp[LL_KH_FP_MAX];		/* as filed */
};

enum ll_kh_match {
	LL_KH_KNOWN,	/* this key is filed for this console */
	LL_KH_MOVED,	/* this key is filed, for other consoles only */
	LL_KH_CHANGED,	/* the console has a key filed, not this one */
	LL_KH_UNKNOWN,	/* neither the key nor the console is filed */
};

/*
 * The label spec's console is filed under: one word (bytes up to space, DEL
 * and '%' written as %XX).  0, or -1 when it does not fit in len.
 */
int ll_kh_label(const char *spec, char *buf, size_t len);

/* Does a spec name the console of a label as filed? */
bool ll_kh_same_console(const char *spec, const char *label);

/* "SHA256:abc", "abc" and "abc=" all name the same key. */
bool ll_kh_fp_equal(const char *a, const char *b);

/*
 * What the file at path says of key fp met on spec's console.  *e is the
 * line that decided: for KNOWN the matching line, for MOVED the first line
 * of that key (another console), for CHANGED the console's last line.  A
 * missing file is empty.  0, or -1 with err (the file cannot be read).
 */
int ll_kh_lookup(const char *path, const char *spec, const char *fp,
    enum ll_kh_match *m, struct ll_kh_entry *e, char *err, size_t errlen);

/*
 * File fp for spec's console: appended (add), or replacing every line of
 * that console (set; the file is rewritten and renamed into place).  The
 * file and its directories are made 0600/0700 when missing.  0, or -1 with
 * err.
 */
int ll_kh_add(const char *path, const char *spec, const char *fp, char *err,
    size_t errlen);
int ll_kh_set(const char *path, const char *spec, const char *fp, char *err,
    size_t errlen);

/*
 * Remove every line for name: a fingerprint ("SHA256:...") removes that key
 * whatever its console, anything else is a spec (or a label as filed) and
 * removes that console's lines.  Each removed line is passed to fn (may be NULL) before
 * the file is replaced.  The number removed (0: the file is unchanged), or
 * -1 with err.
 */
int ll_kh_remove(const char *path, const char *name,
    void (*fn)(void *ctx, const struct ll_kh_entry *e), void *ctx, char *err,
    size_t errlen);

/* fn for each entry of the file, in order.  0 or -1 with err. */
int ll_kh_foreach(const char *path,
    void (*fn)(void *ctx, const struct ll_kh_entry *e), void *ctx, char *err,
    size_t errlen);

#endif
