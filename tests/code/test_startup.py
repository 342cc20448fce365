"""Start-up: numpy submodules nothing uses are left unrun until touched; the collector pause restores its state."""
import gc
import subprocess
import sys

from pipeline import startup

PROBE = """
import sys
from pipeline import startup
startup.defer_unused()
import scipy.sparse  # its array-API layer runs `from numpy import *`
import numpy
print(type(sys.modules["numpy.f2py"]).__name__, type(sys.modules["numpy.testing"]).__name__)
numpy.testing.assert_allclose(1.0, 1.0)  # first use: the real module runs
from numpy.testing import assert_array_equal
print(type(sys.modules["numpy.testing"]).__name__, assert_array_equal.__module__)
"""


def test_unused_numpy_submodules_run_only_when_first_used():
    # a fresh process: this one imported numpy.testing long ago
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["_LazyModule", "_LazyModule", "module", "numpy.testing._private.utils"], out


def test_the_collector_pause_restores_the_state_it_found():
    assert gc.isenabled()
    with startup.collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with startup.collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
