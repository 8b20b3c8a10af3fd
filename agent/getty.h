/*
 * Sharing the serial console with a getty (--getty CMD, lifelined(8)).
 *
 * lifelined owns the tty and serves lifeline frames on it.  While no
 * client session is up, what arrives outside frames (console text) is
 * watched for a person's keystrokes: a line ended by Enter (CR) that holds
 * only what a keyboard types.  Then the agent closes the tty and runs the
 * getty on it, in a session of its own with the tty as its controlling
 * terminal, and waits; when the getty (or the login it became) exits, the
 * agent opens the tty again and serves frames.  While the getty runs,
 * frames reach the getty, not the agent: the person logs out to give the
 * line back (agetty -t SECONDS returns it when nobody logs in).
 */
#ifndef LL_AGENT_GETTY_H
#define LL_AGENT_GETTY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent.h"

/*
 * Check a --getty command before the agent starts serving: its words split
 * at blanks, the first an absolute path to an executable.  0, or -1 with
 * err saying what is wrong.
 */
int getty_check(const char *cmd, char *err, size_t errlen);
/* Watch c's console text for a person (c serves agent_opts.serial). */
void getty_watch(struct conn *c);
/* Did a person ask for the line on c?  (Then getty_start it.) */
bool getty_is_due(const struct conn *c);
/*
 * Run the getty on the serial device of agent_opts.serial, whose
 * connection the caller has just closed.  0, or -1 (logged): the caller
 * opens the device again.
 */
int getty_start(uint64_t now);
/* pid was the getty's: it ended, the caller opens the device again. */
bool getty_reaped(pid_t pid, int status);
bool getty_is_running(void);
/* The agent is ending: hang the getty's session up (SIGHUP). */
void getty_stop(void);

/*
 * The keystroke test itself, for the fuzz and unit tests: feed console
 * text; true once a line ended by CR held only keyboard characters (no
 * frame marker, no control byte but tab, backspace and delete).
 */
struct getty_keys {
	bool dirty;		/* the current line cannot be typed text */
};
bool getty_keys_feed(struct getty_keys *k, const uint8_t *p, size_t n);

#endif
