#!/usr/bin/env python3
"""A console login for the attach tests, on a tty (one end of a PTY pair).

It does what getty and login do on a rescue host's serial console, enough to
be driven by `lifeline attach`: take the tty as controlling terminal with
sane modes, print a banner and "login: ", read a user name, print
"Password: " with echo off, and on success replace itself with an
interactive shell (PS1 with escape sequences around "# "); on failure print
"Login incorrect" and ask again.  With --shell-only it starts the shell at
once (a console left logged in).
"""
import argparse
import fcntl
import os
import shutil
import sys
import termios
import time


def say(text):
    os.write(1, text.encode())


def read_line():
    """One line from the tty (canonical mode); None at end of file."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = os.read(0, 1024)
        if not chunk:
            return None
        data += chunk
    return data.decode(errors="replace").rstrip("\r\n")


def log(path, text):
    if path:
        with open(path, "a") as f:
            f.write(text + "\n")


def start_shell(args):
    env = dict(os.environ)
    env["PS1"] = "\x1b[1;31mrescue\x1b[0m:~# "
    env["TERM"] = "vt100"
    env.pop("ENV", None)
    log(args.log, "shell")
    bash = shutil.which("bash")
    if bash and not args.dash:
        os.execve(bash, ["bash", "--norc", "--noprofile", "-i"], env)
    os.execve("/bin/sh", ["sh", "-i"], env)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tty")
    ap.add_argument("--user", default="root")
    ap.add_argument("--password", default="")
    ap.add_argument("--shell-only", action="store_true")
    ap.add_argument("--dash", action="store_true", help="sh -i, not bash")
    ap.add_argument("--echo-password", action="store_true",
                    help="a broken console: the password is echoed")
    ap.add_argument("--delay", type=float, default=0.3,
                    help="seconds before Login incorrect")
    ap.add_argument("--log", help="append what happens here")
    ap.add_argument("--ready", help="create this file once listening")
    args = ap.parse_args()

    # A session of our own, the tty as its controlling terminal, on 0-2.
    os.setsid()
    fd = os.open(args.tty, os.O_RDWR)
    fcntl.ioctl(fd, termios.TIOCSCTTY, 0)
    for n in (0, 1, 2):
        os.dup2(fd, n)
    if fd > 2:
        os.close(fd)
    # What getty does: a sane cooked terminal with echo.
    os.spawnvp(os.P_WAIT, "stty", ["stty", "sane"])
    if args.ready:
        open(args.ready, "w").close()
    if args.shell_only:
        start_shell(args)

    say("\nFake Rescue Linux 1.0 rescue ttyS0\n\n")
    while True:
        say("rescue login: ")
        user = read_line()
        if user is None:
            return 1
        user = user.strip()
        if not user:
            continue
        attrs = termios.tcgetattr(0)
        quiet = list(attrs)
        if not args.echo_password:
            quiet[3] &= ~termios.ECHO
        termios.tcsetattr(0, termios.TCSANOW, quiet)
        say("Password: ")
        password = read_line()
        termios.tcsetattr(0, termios.TCSANOW, attrs)
        say("\n")
        if password is None:
            return 1
        if user == args.user and password == args.password:
            log(args.log, "login ok " + user)
            say("Last login: Thu Jan  1 00:00:00 on ttyS0\n")
            say("Welcome to the rescue system.\n")
            start_shell(args)
        log(args.log, "login failed " + user)
        time.sleep(args.delay)
        say("\nLogin incorrect\n")


if __name__ == "__main__":
    sys.exit(main())
