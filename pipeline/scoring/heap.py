"""Keep freed memory in the batch-scoring process for the next batch, instead of handing it back to the kernel.

Every batch allocates and frees the same few megabytes (token lists, sparse matrices, pickled frames). With
glibc's default, moving thresholds, a forked worker of `policy-signals score` took ~2,500 minor page faults a
batch where its parent took ~200, and its batches ran ~10% slower. Fixed thresholds (set before the fork, so
the workers inherit them) ended both. Meant for that command only: a long-running service or a Dask worker
keeps the C library's policy (Dask sets its own trim threshold so that its memory monitor sees real use).
"""
from __future__ import annotations

import ctypes
import os
import platform

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters
MMAP_THRESHOLD = 32 << 20  # the ceiling of glibc's own dynamic threshold (64-bit): smaller blocks reuse the heap
TRIM_THRESHOLD = 64 << 20  # free memory at the top of an arena is kept up to this size
USER_SETTINGS = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_", "GLIBC_TUNABLES")


def keep_freed_memory() -> bool:
    """Fix glibc's mmap and trim thresholds for this process and those it forks. False, changing nothing but
    speed, where the C library is not glibc, glibc refuses the values (32-bit), or the user tuned malloc in
    the environment (their settings stand)."""
    if platform.libc_ver()[0] != "glibc" or any(name in os.environ for name in USER_SETTINGS):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    # Setting either one ends glibc's dynamic adjustment of both, so the trim threshold is set only when the
    # mmap threshold was: alone, it left the mmap threshold at 128 KB and a worker took six times the faults.
    return mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
