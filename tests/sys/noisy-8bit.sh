#!/bin/sh
# 1 MiB through exec over the link emulator with noise, 8bit encoding.
. "$(dirname "$0")/lib.sh"
noisy_transfer 8bit serial
