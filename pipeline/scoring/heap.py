"""Keep freed memory in the process for the next batch, instead of handing it back to the kernel (glibc).

Every batch allocates and frees the same few megabytes (token lists, sparse matrices, frames). glibc returns
freed memory above its trim threshold, and maps allocations above its mmap threshold afresh; both move with
what the process did earlier, so a forked worker took ~2,500 page faults a batch (~10% of its time) where its
parent took ~200. Fixed thresholds end that in every process forked after this call.
"""
from __future__ import annotations

import ctypes
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters
MMAP_THRESHOLD = 32 << 20  # glibc's largest: allocations below it come from the heap, which is reused
TRIM_THRESHOLD = 64 << 20  # at most this much freed memory is kept per process


def keep_freed_memory() -> bool:
    """Fix glibc's mmap and trim thresholds for this process and those it forks; False where that is not
    possible (not glibc), which changes nothing but speed."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # musl and other C libraries have no mallopt
        return False
    # Both or the dynamic threshold stays: setting the trim threshold alone fixes the mmap one at 128 KB.
    return mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
