"""Worker processes that end with their parent (`score`'s batches, `crossvalidate`'s fits).

On Linux each worker asks the kernel to kill it when its parent dies (prctl PR_SET_PDEATHSIG),
so a parent killed with SIGKILL leaves no worker running; elsewhere a thread polls the parent.
Workers ignore SIGINT: a Ctrl-C reaches the whole process group, and only the parent should
handle it (once, without a traceback per worker), then `stop` the pool.
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)


def init(parent: int) -> None:
    """Pool initializer: die with `parent` (its PID), leave Ctrl-C to it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's handler, inherited through fork
    armed = False
    if sys.platform.startswith("linux"):
        try:
            armed = ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL) == 0
        except (OSError, AttributeError):
            armed = False
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)
    if not armed:
        threading.Thread(target=_watch, args=(parent,), daemon=True).start()


def widen_pipes(pool, size: int = 1 << 20) -> None:
    """Let a whole batch (~0.7 MB pickled) or result (~0.4 MB) fit in the pool's pipes (Linux; 64 KB by
    default). A worker's result was written only as fast as the parent read it, 64 KB a read, each read
    needing the parent's GIL, which its own scoring holds for up to 5 ms at a time: the worker stood ~10 ms
    a batch, ~0.3 s of a 100k-paragraph run. Left as they are where this is not possible."""
    try:
        from fcntl import F_SETPIPE_SZ, fcntl
    except ImportError:  # not Linux
        return
    for queue in (getattr(pool, "_call_queue", None), getattr(pool, "_result_queue", None)):
        try:
            fcntl(queue._writer.fileno(), F_SETPIPE_SZ, size)
        except (AttributeError, OSError):  # another executor's layout, or over the user's pipe limit
            pass


def stop(pool) -> None:
    """End a ProcessPoolExecutor now: drop queued work and terminate the workers mid-task
    (shutdown alone would wait for the tasks they are running). The workers and the manager thread are taken
    before `shutdown`, which forgets both: taken after it, none was terminated, and a Ctrl-C waited for every
    running task (a batch of `score`: unnoticed; a fit of `crossvalidate`: a minute or more)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    # Let the pool's manager thread close its wake-up pipe now: otherwise the interpreter's exit hook may
    # write to that pipe while the thread closes it (CPython 3.11's race), and print "Bad file descriptor".
    if manager is not None:
        manager.join(timeout=5)
