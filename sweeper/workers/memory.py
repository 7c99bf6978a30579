"""Keep freed memory inside a training process instead of handing it back to the kernel.

glibc's malloc serves every block above 32 MB with its own `mmap` and unmaps it on free. A
training step allocates and frees the same large tensors every time (on ogbl-ddi, activations of
131,072 scored pairs x 256 channels), so each step faults tens of thousands of fresh zeroed pages
back in: measured on one ogbl-ddi epoch, 14 s of kernel time out of 75 s of CPU. Served from the
heap and kept, the pages are reused (2.7 s). A worker calls this once, before its first trial.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

M_TRIM_THRESHOLD = -1  # mallopt parameters, from glibc's <malloc.h>
M_MMAP_MAX = -4
KEEP_BYTES = 2**31 - 1  # free memory at the heap's top kept before trimming (mallopt takes an int)


def retain_freed_memory() -> bool:
    """Make glibc's malloc serve large blocks from the heap and keep freed pages for reuse;
    False where the C library is not glibc (musl, macOS), which keeps its own behaviour, or
    when `SWEEPER_KEEP_FREED_MEMORY=0` asks for the C library's defaults."""
    if os.environ.get("SWEEPER_KEEP_FREED_MEMORY", "1") == "0":
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, KEEP_BYTES))
