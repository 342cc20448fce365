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
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

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


def usable_cpus() -> int:
    """The CPUs this process may use: its affinity, within a cgroup v2 CPU quota (a container's `--cpus`)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            cpus = min(cpus, max(1, int(quota) // int(period)))
    except (OSError, ValueError):
        pass
    return cpus


@contextmanager
def pool(jobs: int) -> Iterator:
    """A ProcessPoolExecutor of `jobs` workers that end with this process. Forked on Linux (where Python 3.14
    makes forkserver the default), so they inherit what this process loaded (a model, the heap settings) instead
    of each starting afresh. Any exception (Ctrl-C, SIGTERM, a failed task, a killed worker's BrokenProcessPool)
    stops them at once, not after their current tasks; a clean exit waits for them."""
    import multiprocessing  # here: multiprocessing is ~0.02 s of a cold start
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork") if sys.platform.startswith("linux") else None
    executor = ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=init, initargs=(os.getpid(),))
    try:
        yield executor
        executor.shutdown()
    except BaseException:
        stop(executor)
        raise


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
    """End a ProcessPoolExecutor now: terminate the workers mid-task, then drop queued work (shutdown alone
    would wait for the tasks they are running). The workers and the manager thread are taken before `shutdown`,
    which forgets both: taken after it, none was terminated, and a Ctrl-C waited for every running task (a
    batch of `score`: unnoticed; a fit of `crossvalidate`: a minute or more). Terminated first, they are gone
    even if a second Ctrl-C cuts this short."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)
    for process in processes:
        process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    # Let the pool's manager thread close its wake-up pipe now: otherwise the interpreter's exit hook may
    # write to that pipe while the thread closes it (CPython 3.11's race), and print "Bad file descriptor".
    if manager is not None:
        manager.join(timeout=5)
