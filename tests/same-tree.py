#!/usr/bin/env python3
"""same-tree.py A B: exit 0 when two trees have the same entries, file
contents (sha256), modes and symlink targets; print the entry count, or the
first difference."""
import hashlib
import os
import stat
import sys


def walk(root):
    out = {}
    for dp, dns, fns in os.walk(root):
        for n in dns + fns:
            p = os.path.join(dp, n)
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
                out[rel] = ("file", digest, oct(st.st_mode & 0o7777))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir",)
    return out


a, b = walk(sys.argv[1]), walk(sys.argv[2])
for k in sorted(set(a) | set(b)):
    if a.get(k) != b.get(k):
        print("differs: %s: %s vs %s" % (k, a.get(k), b.get(k)))
        sys.exit(1)
print("%d entries" % len(a))
sys.exit(0 if a else 1)
