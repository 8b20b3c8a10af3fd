#!/usr/bin/env python3
"""A person at a terminal, for the getty test: open a tty (one side of the
link emulator) and, step by step, type text or wait for text to appear.

    tty-talk.py TTY STEP...

STEP is "send:TEXT" (Python's escapes understood: \\r, \\x1b), "expect:TEXT"
(wait up to --timeout seconds until TEXT has appeared since the previous
expect) or "sleep:SECONDS".  Everything read goes to stdout.  Exit status 1
names the expect that was not met, 0 when all were.
"""
import argparse
import os
import select
import sys
import time


def unescape(text):
    return text.encode("latin-1").decode("unicode_escape").encode("latin-1")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timeout", type=float, default=15)
    ap.add_argument("tty")
    ap.add_argument("steps", nargs="+")
    args = ap.parse_args()
    fd = os.open(args.tty, os.O_RDWR | os.O_NOCTTY)
    seen = b""
    for step in args.steps:
        kind, _, text = step.partition(":")
        if kind == "send":
            os.write(fd, unescape(text))
        elif kind == "sleep":
            time.sleep(float(text))
        elif kind == "expect":
            want = unescape(text)
            end = time.monotonic() + args.timeout
            while want not in seen:
                left = end - time.monotonic()
                if left <= 0:
                    sys.stdout.write(seen.decode(errors="replace"))
                    print("\ntty-talk: no %r within %g s" % (text,
                          args.timeout))
                    return 1
                if select.select([fd], [], [], left)[0]:
                    seen += os.read(fd, 4096)
            sys.stdout.write(seen.decode(errors="replace"))
            seen = seen[seen.index(want) + len(want):]
        else:
            print("tty-talk: unknown step %r" % step)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
