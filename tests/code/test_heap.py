"""heap.keep_freed_memory: in a worker forked after it, freed memory is reused instead of faulted in again,
and a block of a batch's size comes from the heap instead of a fresh mapping."""
import os
import platform
import subprocess
import sys

import pytest

from pipeline.scoring import heap

# In a child forked after the setting (or not): the page faults of four rounds of allocating and freeing
# 500 arrays of 64 KB (~32 MB, after one round to warm up), and the bytes glibc maps apart while a 16 MB
# array is held.
CHILD = """
import ctypes, os, resource, sys
import numpy as np
from pipeline.scoring import heap

class Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                    "fsmblks", "uordblks", "fordblks", "keepcost")]

def batch():
    arrays = [np.ones(8192) for _ in range(500)]
    del arrays

set_here = heap.keep_freed_memory() if sys.argv[1] == "kept" else False
child = os.fork()
if child == 0:
    batch()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(4):
        batch()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    mallinfo2 = ctypes.CDLL(None).mallinfo2
    mallinfo2.restype = Mallinfo2
    held = np.ones(2 << 20)
    print(set_here, faults, mallinfo2().hblkhd, flush=True)
    os._exit(0)
sys.exit(os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]))
"""
ROUND_FAULTS = 500 * 64 * 1024 // 4096  # pages of one round


def _child(mode: str) -> tuple[bool, int, int]:
    env = {k: v for k, v in os.environ.items() if k not in heap.USER_SETTINGS}
    done = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True, check=True, env=env)
    set_here, faults, mapped = done.stdout.split()
    return set_here == "True", int(faults), int(mapped)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt")
def test_a_forked_worker_reuses_freed_memory_and_keeps_batch_sized_blocks_on_the_heap():
    _, default_faults, default_mapped = _child("default")
    if default_faults < 2 * ROUND_FAULTS or default_mapped < 16 << 20:
        pytest.skip("glibc's defaults here show neither the faults nor the separate mapping: nothing to compare")
    set_here, faults, mapped = _child("kept")
    assert set_here
    assert faults < ROUND_FAULTS / 10  # default: ~4 rounds of faults (the memory went back to the kernel)
    assert mapped < 16 << 20  # default: the 16 MB array was a mapping of its own


def test_a_malloc_setting_in_the_environment_is_left_alone(monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    assert heap.keep_freed_memory() is False
