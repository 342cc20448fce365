"""heap.keep_freed_memory: batch after batch, freed memory is reused instead of faulted in again."""
import subprocess
import sys

import pytest

# Allocate and free ~32 MB of heap-sized (64 KB) arrays five times; print the page faults of rounds 2-5.
ROUNDS = """
import resource, sys
import numpy as np
from pipeline.scoring import heap
if sys.argv[1] == "kept":
    assert heap.keep_freed_memory()
def batch():
    arrays = [np.ones(8192) for _ in range(500)]
    del arrays
batch()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(4):
    batch()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", ROUNDS, mode], capture_output=True, text=True, check=True)
    return int(done.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_memory_is_reused_not_faulted_in_again():
    default, kept = _faults("default"), _faults("kept")
    assert default > 4 * 4000  # glibc's default gave the ~32 MB back to the kernel after every round
    assert kept < default / 10
