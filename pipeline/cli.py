"""The `policy-signals` command: one subcommand per pipeline step.

Bad input raised as InputError becomes one line on stderr and exit code 2.
"""
from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "split": "pipeline.split",
    "train": "pipeline.train",
    "evaluate": "pipeline.evaluate",
    "register": "pipeline.register",
    "label": "pipeline.labelling",
    "agreement": "pipeline.agreement",
    "datacard": "pipeline.datacard",
    "index": "pipeline.reporting.index",
    "report": "pipeline.reporting.report",
    "score": "pipeline.score",
}
USAGE = "usage: policy-signals {" + ",".join(COMMANDS) + "} [options]   (policy-signals COMMAND --help)"


def main(argv: list[str] | None = None) -> int:
    from pipeline.config import InputError

    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        print(USAGE, file=sys.stderr)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    try:
        return importlib.import_module(COMMANDS[argv[0]]).main(argv[1:])
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
