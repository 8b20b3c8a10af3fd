#!/bin/sh
# 1 MiB through exec over the link emulator with noise, the client reaching
# the line through an exec: transport (a child process's stdin/stdout).
. "$(dirname "$0")/lib.sh"
noisy_transfer auto exec
