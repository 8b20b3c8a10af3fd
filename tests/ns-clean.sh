#!/bin/sh
# The first command inside a new mount namespace (unshare -m) of a test:
# drop the copies of other tests' scratch mounts it was given.  A copy
# keeps its filesystem alive for as long as the namespace lives, so the
# other test's umount would not release its device, and its next mount of
# that device with other options fails ("already mounted or mount point
# busy": root-mount.sh did in CI while root-fsck.sh's agents ran).  Only
# mounts below ${TMPDIR:-/tmp}/lifeline-test.* go, OWN's (a test's $T)
# stay.
#
#   ns-clean.sh [OWN]
own=${1:-/nonexistent}
awk -v p="${TMPDIR:-/tmp}/lifeline-test." -v own="$own" '
	index($2, p) == 1 && $2 != own && index($2, own "/") != 1 { print $2 }
' /proc/self/mounts | sort -r | while read -r m; do
	umount -l "$m" 2>/dev/null
done
exit 0
