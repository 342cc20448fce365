"""Ctrl-C and SIGTERM as exceptions in the main process, noted so that none is lost.

C code that clears whatever a call it makes raised clears a KeyboardInterrupt from the signal handler too:
numpy's dtype comparison does so when converting its other side fails, and pandas compares dtypes while
pyarrow reads a column, so about one Ctrl-C in 30 during `score` was dropped and the run wrote its output.
The handlers note each signal; `check()` raises a noted one again, before each output is renamed into
place (`config.atomic_path`), between `score`'s batches, and when a command returns. Inside `deferred()`
they are only noted, and raised when it ends, so a Ctrl-C never leaves outputs renamed into place together half
renamed.
"""
from __future__ import annotations

import os
import signal
from contextlib import contextmanager


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that cleanup runs as it does for Ctrl-C."""


_MAIN_PID = os.getpid()
_noted: int | None = None  # the last signal handled under `handled()`
_active = False
_deferring = False


def _exception(signum: int) -> BaseException:
    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated()


def _handle(signum, frame):
    global _noted
    if os.getpid() != _MAIN_PID:  # a forked worker before its initializer ran, or a pool being shut down:
        os._exit(128 + signum)  # die quietly, as by default (the parent handles the signal)
    _noted = signum
    if not _deferring:
        raise _exception(signum)


def check() -> None:
    """Raise a Ctrl-C or SIGTERM that arrived under `handled()` but whose exception library code dropped
    (inside `deferred()`, its end does)."""
    if _noted is not None and not _deferring:
        raise _exception(_noted)


def forget() -> None:
    """The noted signal was the caller's normal end (a server asked to stop): `check()` no longer raises it."""
    global _noted
    _noted = None


@contextmanager
def deferred():
    """Under `handled()`, a Ctrl-C or SIGTERM during the block is noted and raised only when the block has
    finished (or failed): for steps that must not be cut in half, such as renaming several outputs into place.
    Outside `handled()` Python's own handler raises at once."""
    global _deferring
    outer, _deferring = _deferring, True
    try:
        yield
    except BaseException as error:
        _deferring = outer
        if not isinstance(error, (KeyboardInterrupt, Terminated)):
            check()  # a signal held during the block outranks the error that ended it (a failed rename)
        raise
    finally:
        _deferring = outer
    check()


@contextmanager
def handled():
    """While the block runs, SIGINT and SIGTERM raise and are noted, each only where it has its default
    disposition (a background job's ignored SIGINT stays ignored); the previous handlers come back after
    it. A nested block leaves the outer one in charge."""
    global _MAIN_PID, _active, _noted
    if _active:
        yield
        return
    _MAIN_PID, _active, _noted = os.getpid(), True, None
    defaults = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}
    previous = {signum: signal.signal(signum, _handle) for signum, default in defaults.items()
                if signal.getsignal(signum) is default}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _active, _noted = False, None
