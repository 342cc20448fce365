"""The `policy-signals` command: one subcommand per pipeline step.

Bad input raised as InputError becomes one line on stderr and exit code 2; Ctrl-C one line and
exit code 130, SIGTERM one line and 143 (temporaries are removed on the way out either way).
"""
from __future__ import annotations

import gc
import importlib
import os
import sys

from pipeline import interrupts

COMMANDS = {
    "validate": "pipeline.stages.validate",
    "split": "pipeline.stages.split",
    "train": "pipeline.stages.train",
    "evaluate": "pipeline.stages.evaluate",
    "register": "pipeline.stages.register",
    "models": "pipeline.stages.champion",
    "label": "pipeline.corpus.labelling",
    "agreement": "pipeline.corpus.agreement",
    "datacard": "pipeline.corpus.datacard",
    "index": "pipeline.reporting.index",
    "report": "pipeline.reporting.report",
    "score": "pipeline.scoring.score",
    "serve": "pipeline.serving.cli",
}
# numpy picks its SIMD kernels by CPU when imported, and its AVX-512 kernels round sums differently from its
# AVX2 ones: the same data and params trained other model bytes (and metrics) on machines with and without
# AVX-512. The commands DVC runs use the AVX2 kernels at most, so a build is the same on any x86-64 machine
# with AVX2; scoring keeps every kernel. A user's own NPY_DISABLE_CPU_FEATURES wins. Names of numpy >= 2.4
# first, then those of earlier releases (each release ignores the other's).
BUILD_COMMANDS = ("validate", "split", "train", "evaluate", "register")
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
    if not argv or argv[0] not in COMMANDS:
        print(USAGE, file=sys.stderr)
        if argv and argv[0] in ("-h", "--help"):
            return 0
        if argv:
            print(f"error: unknown command '{argv[0]}'", file=sys.stderr)
        return 2
    try:
        with interrupts.handled():
            code = importlib.import_module(COMMANDS[argv[0]]).main(argv[1:])
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


def run() -> None:
    """The console script and `python -m pipeline`: main(), then exit. A build command's numpy is pinned to
    the kernels every AVX2 machine has (BUILD_SIMD). What is left is frozen first, so the
    interpreter's last collections skip it (~0.06 s after pandas and scipy, of a ~1 s one-paragraph `score`);
    atexit handlers, thread joins and module teardown still run."""
    if sys.argv[1:2] and sys.argv[1] in BUILD_COMMANDS:
        os.environ.setdefault("NPY_DISABLE_CPU_FEATURES", BUILD_SIMD)  # before anything imports numpy
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:  # output piped into `head` and the like, which stopped reading: no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the exit's own flush fails no more
        code = 1
    gc.freeze()
    raise SystemExit(code)
