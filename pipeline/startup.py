"""Cold start: what a command's start-up can skip. scipy.sparse's array-API layer runs `from numpy import *`, which
loads numpy.f2py and numpy.testing (~0.08 s, f2py compiling its Fortran regexes) that nothing here uses; and the
cyclic garbage collector walks the ~10^5 objects that importing and loading a model make, none of them garbage."""
from __future__ import annotations

import gc
import importlib.util
import sys
from contextlib import contextmanager

UNUSED = ("numpy.f2py", "numpy.testing")


def defer_unused(names: tuple[str, ...] = UNUSED) -> None:
    """Register each module not yet imported as a lazy module (the importlib documentation's recipe), bound on
    its parent as an import binds it: `from numpy import *` then takes it without running it, and it runs on
    first use (an attribute of it, or an import of it or from it), if one ever comes."""
    for name in names:
        if name in sys.modules:
            continue
        spec = importlib.util.find_spec(name)  # imports the parent, numpy, which every command needs anyway
        if spec is None or spec.loader is None:
            continue
        spec.loader = importlib.util.LazyLoader(spec.loader)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        parent, _, child = name.rpartition(".")
        setattr(sys.modules[parent], child, module)


@contextmanager
def collector_paused():
    """No cyclic collections inside (imports, loading a model: objects that live for the run, ~0.04 s each of a
    one-paragraph `score`); as it was after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
