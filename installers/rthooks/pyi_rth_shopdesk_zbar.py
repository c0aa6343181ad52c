# PyInstaller runtime hook (runs before the app): pyzbar finds libzbar with ctypes.util.find_library("zbar"),
# which on Linux asks ldconfig for a system copy only. Point it at the copy inside the bundle first, so the
# bundle works on a machine without libzbar0 installed.
import ctypes.util
import glob
import os
import sys

_system_find_library = ctypes.util.find_library


def _find_library(name):
    if name == "zbar":
        base = getattr(sys, "_MEIPASS", os.path.dirname(sys.executable))
        for pattern in ("libzbar.so*", "libzbar*.dylib"):
            hits = sorted(glob.glob(os.path.join(base, pattern)))
            if hits:
                return hits[0]
    return _system_find_library(name)


ctypes.util.find_library = _find_library
