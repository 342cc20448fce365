"""Ctrl-C and SIGTERM as exceptions in the main process, noted so that none is lost.

C code that probes an attribute clears whatever the probe raised, a KeyboardInterrupt from the signal
handler included: pyarrow asks each pandas column for `__arrow_array__` while `score` writes a batch, and
about one Ctrl-C in 30 landed there, was dropped, and the run went on to write its output. The handlers
note each signal, and long loops call `check()` to raise one that was swallowed.
"""
from __future__ import annotations

import os
import signal
from contextlib import contextmanager


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that cleanup runs as it does for Ctrl-C."""


_MAIN_PID = os.getpid()
_received: list[int] = []


def _exception(signum: int) -> BaseException:
    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated()


def _handle(signum, frame):
    if os.getpid() != _MAIN_PID and signum == signal.SIGTERM:  # a forked worker (a pool being shut down)
        os._exit(128 + signum)  # die quietly, as by default
    _received.append(signum)
    raise _exception(signum)


def check() -> None:
    """Raise a Ctrl-C or SIGTERM that arrived under `handled()` but whose exception library code dropped."""
    if _received:
        raise _exception(_received[-1])


@contextmanager
def handled():
    """While the block runs, SIGTERM and (unless ignored, as in a background job) SIGINT raise and are
    noted; the previous handlers come back after it."""
    global _MAIN_PID
    _MAIN_PID = os.getpid()
    _received.clear()
    previous = {signal.SIGTERM: signal.signal(signal.SIGTERM, _handle)}
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, _handle)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _received.clear()
