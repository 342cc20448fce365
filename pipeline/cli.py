"""The `policy-signals` command: one subcommand per pipeline step.

Bad input raised as InputError becomes one line on stderr and exit code 2; Ctrl-C one line and
exit code 130, SIGTERM one line and 143 (temporaries are removed on the way out either way).
"""
from __future__ import annotations

import atexit
import importlib
import os
import sys

from pipeline import interrupts, startup

# command: (module, what it does), in the order a user meets them
COMMAND_TABLE = {
    "validate": ("pipeline.stages.validate", "check params, articles, labels and gold sets (DVC stage)"),
    "split": ("pipeline.stages.split", "split the articles into paragraphs joined with their labels (DVC stage)"),
    "train": ("pipeline.stages.train", "fit the model and tune its thresholds (DVC stage)"),
    "crossvalidate": ("pipeline.stages.crossvalidate", "nested-CV and seed-holdout predictions (DVC stage)"),
    "evaluate": ("pipeline.stages.evaluate", "metrics, errors, label issues, plots; real-text gold sets (DVC stage)"),
    "register": ("pipeline.stages.register", "log the model to MLflow and gate the champion (DVC stage)"),
    "models": ("pipeline.stages.champion", "which version is champion; promote one"),
    "label": ("pipeline.corpus.labelling", "export paragraphs that need labels; import filled ones"),
    "agreement": ("pipeline.corpus.agreement", "agreement between two annotators' labels"),
    "datacard": ("pipeline.corpus.datacard", "refresh the data card's counts"),
    "index": ("pipeline.reporting.index", "signal shares per entity or source and period from scores"),
    "report": ("pipeline.reporting.report", "an HTML report from scores"),
    "score": ("pipeline.scoring.score", "score documents, folders, tables or standard input"),
    "serve": ("pipeline.serving.cli", "a web API and page that score text"),
}
COMMANDS = {name: module for name, (module, _) in COMMAND_TABLE.items()}
# numpy picks its SIMD kernels by CPU when imported, and its AVX-512 kernels round sums differently from its
# AVX2 ones: the same data and params trained other model bytes (and metrics) on machines with and without
# AVX-512. The commands DVC runs use the AVX2 kernels at most, so a build is the same on any x86-64 machine
# with AVX2; scoring keeps every kernel. A user's own NPY_DISABLE_CPU_FEATURES wins. Names of numpy >= 2.4
# first, then those of earlier releases (each release ignores the other's).
BUILD_COMMANDS = ("validate", "split", "train", "crossvalidate", "evaluate", "register")
BUILD_SIMD = ("X86_V4 AVX512_ICL AVX512_SPR "
              "AVX512F AVX512CD AVX512_KNL AVX512_KNM AVX512_SKX AVX512_CLX AVX512_CNL")
USAGE = "usage: policy-signals {" + ",".join(COMMANDS) + "} [options]   (policy-signals COMMAND --help)"


def _stage_hint() -> str:
    """Under `dvc repro`, DVC removed the stage's previous outputs before running it: say how to get them back."""
    stage = os.environ.get("DVC_STAGE")
    if not stage or stage in ("validate", "register"):  # the first's outputs are kept; the last has none
        return ""
    return (f"\nhint: DVC removed the outputs of stage '{stage}' before it ran; `dvc checkout` restores the last "
            "good ones from the cache, and `dvc repro` after the fix rebuilds them")


def main(argv: list[str] | None = None) -> int:
    from pipeline.config import InputError

    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        width = max(map(len, COMMAND_TABLE)) + 2
        listed = "".join(f"  {name:<{width}}{what}\n" for name, (_, what) in COMMAND_TABLE.items())
        print(f"{USAGE}\n\ncommands:\n{listed}", end="")
        return 0
    if not argv or argv[0] not in COMMANDS:
        print(USAGE, file=sys.stderr)
        if argv:
            print(f"error: unknown command '{argv[0]}'", file=sys.stderr)
        return 2
    try:
        with interrupts.handled():
            with startup.collector_paused():
                startup.defer_unused()
                command = importlib.import_module(COMMANDS[argv[0]])
            code = command.main(argv[1:])
            interrupts.check()  # a signal swallowed after the last output was written: still not a success
            return code
    except InputError as exc:
        print(f"error: {exc}{_stage_hint()}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"policy-signals {argv[0]}: interrupted; no partial output was left{_stage_hint()}", file=sys.stderr)
        return 130
    except interrupts.Terminated:
        print(f"policy-signals {argv[0]}: terminated; no partial output was left{_stage_hint()}", file=sys.stderr)
        return 143


def _end(status: list[int]) -> None:
    """The last exit handler: flush the standard streams and end the process with `status[0]`, skipping module
    teardown, which frees pandas, scipy and the loaded model one object at a time (~0.1 s of every run, a
    sixth of a one-paragraph `score`), as Instagram's servers skip it (`atexit.register(os._exit, 0)`)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:  # the reader is gone: nothing more can reach it
            pass
        except (OSError, ValueError):  # output lost (a full disk): not a success, as CPython's own exit says
            status[0] = status[0] or 120
    os._exit(status[0])


def _status(code) -> int:
    """The exit status SystemExit(code) gives: None is 0, an integer itself, anything else (printed) 1."""
    return 0 if code is None else code if isinstance(code, int) else 1


def run() -> None:
    """The console script and `python -m pipeline`: main(), then exit. A build command's numpy is pinned to
    the kernels every AVX2 machine has (BUILD_SIMD). Thread joins and every exit handler still run (MLflow's,
    multiprocessing's, temporaries' finalizers: registered later, they run first); then `_end`."""
    status = [1]  # an uncaught exception's, after its traceback
    atexit.register(_end, status)  # the first registered, so the last to run
    if sys.argv[1:2] and sys.argv[1] in BUILD_COMMANDS:
        os.environ.setdefault("NPY_DISABLE_CPU_FEATURES", BUILD_SIMD)  # before anything imports numpy
    try:
        code = main()
        sys.stdout.flush()  # before the status is set: output that cannot be written is not a success
        status[0] = code
    except KeyboardInterrupt:  # outside main's own handling (its first import, the flush): 130, as there
        status[0] = 130
        raise
    except BrokenPipeError:  # output piped into `head` and the like, which stopped reading: no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the exit's own flush fails no more
        status[0] = 1
    except SystemExit as exc:  # argparse's usage errors and --help
        status[0] = _status(exc.code)
        raise
    raise SystemExit(status[0])
