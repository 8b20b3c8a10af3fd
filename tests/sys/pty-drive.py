#!/usr/bin/env python3
"""Drive an interactive program on a real pty, as a person at a terminal.

    pty-drive.py SCRIPT -- COMMAND...

COMMAND runs as a session leader with a new pty (24 rows, 80 columns) as
its controlling terminal and its stdin/stdout/stderr.  SCRIPT is a file of
steps, one a line:

    expect REGEX        wait (60 s at most) for REGEX in what came since
                        the last match; print "ok expect REGEX" or
                        "FAIL expect REGEX"
    send TEXT           type TEXT (Python escapes: \\r, \\x1d, ...)
    resize ROWS COLS    set the terminal's size (the kernel sends SIGWINCH)
    sleep SECONDS
    keys N              type N letters one at a time, each once the last
                        one's echo came back; print "keys N MEDIAN_MS
                        MEAN_MS MAX_MS" (the echo round trips)
    exit                wait (60 s at most) for COMMAND to end and print
                        "exit STATUS" (or "exit TIMEOUT")

Everything COMMAND wrote is saved to the file named by $PTY_DRIVE_LOG when
set, so that a test can look for what must not be there.
"""
import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time


def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def main():
    sep = sys.argv.index("--")
    steps = open(sys.argv[1]).read().splitlines()
    argv = sys.argv[sep + 1:]
    master, slave = os.openpty()
    set_size(master, 24, 80)

    def child_setup():
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave,
                            preexec_fn=child_setup, close_fds=True)
    os.close(slave)
    seen = b""          # everything
    pending = b""       # since the last match

    def pump(timeout):
        nonlocal seen, pending
        r, _, _ = select.select([master], [], [], timeout)
        if not r:
            return True
        try:
            data = os.read(master, 65536)
        except OSError:
            return False        # EIO: every holder of the slave is gone
        if not data:
            return False
        seen += data
        pending += data
        return True

    for line in steps:
        if not line.strip():
            continue
        word, _, arg = line.partition(" ")
        if word == "expect":
            pat = re.compile(arg.encode())
            end = time.monotonic() + 60
            m = None
            while time.monotonic() < end:
                m = pat.search(pending)
                if m or not pump(0.2):
                    m = m or pat.search(pending)
                    break
            if m:
                pending = pending[m.end():]
                print("ok expect " + arg, flush=True)
            else:
                print("FAIL expect " + arg, flush=True)
        elif word == "send":
            os.write(master, arg.encode().decode("unicode_escape").encode("latin-1"))
        elif word == "resize":
            rows, cols = arg.split()
            set_size(master, int(rows), int(cols))
        elif word == "keys" and int(arg) > 0:
            times = []
            for i in range(int(arg)):
                key = b"abcdefghijklmnopqrstuvwxyz"[i % 26:i % 26 + 1]
                pending = b""
                t0 = time.monotonic()
                os.write(master, key)
                end = t0 + 30
                while key not in pending and time.monotonic() < end:
                    if not pump(0.5):
                        break
                if key not in pending:
                    print("FAIL keys: no echo", flush=True)
                    break
                times.append((time.monotonic() - t0) * 1000)
            if times:
                times.sort()
                print("keys %d %.1f %.1f %.1f" % (
                    len(times), times[len(times) // 2],
                    sum(times) / len(times), times[-1]), flush=True)
        elif word == "sleep":
            end = time.monotonic() + float(arg)
            while time.monotonic() < end and pump(0.05):
                pass
        elif word == "exit":
            end = time.monotonic() + 60
            while proc.poll() is None and time.monotonic() < end:
                pump(0.1)
            while pump(0.1):
                pass
            rc = proc.poll()
            print("exit %s" % ("TIMEOUT" if rc is None else rc), flush=True)
            if rc is None:
                proc.kill()
    log = os.environ.get("PTY_DRIVE_LOG")
    if log:
        with open(log, "wb") as f:
            f.write(seen)


if __name__ == "__main__":
    main()
