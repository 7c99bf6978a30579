"""Optionally keep freed memory inside a training process instead of handing it back to the kernel.

glibc's malloc serves every block above 32 MB with its own `mmap` and unmaps it on free. A
training step allocates and frees the same large tensors every time (on ogbl-ddi, activations of
131,072 scored pairs x 256 channels), so each step faults tens of thousands of fresh zeroed pages
back in: about 10 s of kernel time in a 45 s-CPU ogbl-ddi epoch. Served from the heap and kept,
the pages are reused (under 1 s, the epoch about 20% shorter), but the heap keeps what loading
the data freed and fragments as batch sizes vary: peak resident memory rose from about 1.75 GB
to 2.3-2.4 GB. Off by default (the peak matters more on a shared machine); a worker started
with `SWEEPER_KEEP_FREED_MEMORY=1` turns it on before its first trial.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

M_TRIM_THRESHOLD = -1  # mallopt parameters, from glibc's <malloc.h>
M_MMAP_MAX = -4
KEEP_BYTES = 2**31 - 1  # free memory at the heap's top kept before trimming (mallopt takes an int)


def retain_freed_memory() -> bool:
    """With `SWEEPER_KEEP_FREED_MEMORY=1`, make glibc's malloc serve large blocks from the heap
    and keep freed pages for reuse; False when it is not asked for or the C library is not glibc
    (musl, macOS), which keeps its own behaviour."""
    if os.environ.get("SWEEPER_KEEP_FREED_MEMORY", "0") != "1":
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
