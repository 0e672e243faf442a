"""Keeps freed array memory in the process instead of handing it back to the OS each step.

A training step allocates and frees the same multi-megabyte arrays every time. glibc's
malloc serves blocks above ``M_MMAP_THRESHOLD`` (128 KiB at first, raised as big blocks
are freed, at most 32 MiB) with fresh ``mmap`` pages, and gives free memory at the top of
the heap back once it exceeds ``M_TRIM_THRESHOLD``; either way the next step's arrays
start on new pages, and every first touch of a 4 KiB page is a page fault (about 2 us
here). W5 took ~1,400 faults per step that way. TensorFlow and PyTorch avoid the same
cost with their own caching allocators; numflow asks glibc to keep blocks up to
``MMAP_THRESHOLD`` on its heap and to trim only above ``TRIM_THRESHOLD``.

:func:`configure` runs once when numflow is imported. It changes only glibc's malloc
parameters (the process keeps up to ``TRIM_THRESHOLD`` bytes of freed memory for reuse)
and does nothing off glibc or with ``NUMFLOW_MALLOC=default``.
"""
import os

MMAP_THRESHOLD = 64 << 20
TRIM_THRESHOLD = 256 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3      # glibc's mallopt parameter numbers

configured = False
"""True once :func:`configure` changed glibc's settings."""


def configure():
    """Sets glibc's ``M_MMAP_THRESHOLD`` and ``M_TRIM_THRESHOLD`` (see the module
    docstring). Returns True when the settings were applied."""
    global configured
    if configured or os.environ.get("NUMFLOW_MALLOC", "").lower() == "default":
        return configured
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc"):
            return False
    except (AttributeError, ValueError, OSError):
        return False           # not glibc (macOS, Windows, musl)
    import ctypes
    try:
        mallopt = ctypes.CDLL(None).mallopt      # the process's own C library
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    configured = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
        bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return configured
