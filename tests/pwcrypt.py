#!/usr/bin/env python3
"""Password hashes for the demo and the VM suite, through libxcrypt.

  pwcrypt.py PWFILE hash          print a yescrypt hash of the password
  pwcrypt.py PWFILE verify HASH   exit 0 when the password matches HASH
"""
import ctypes
import ctypes.util
import sys

lib = ctypes.CDLL(ctypes.util.find_library("crypt") or "libcrypt.so.1")
lib.crypt.restype = ctypes.c_char_p
lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
lib.crypt_gensalt.restype = ctypes.c_char_p
lib.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong,
                              ctypes.c_char_p, ctypes.c_int]
pw = open(sys.argv[1]).read().strip().encode()
if sys.argv[2] == "hash":
    salt = lib.crypt_gensalt(b"$y$", 5, None, 0)
    print(lib.crypt(pw, salt).decode())
else:
    h = sys.argv[3].encode()
    r = lib.crypt(pw, h)
    sys.exit(0 if r is not None and r == h else 1)
