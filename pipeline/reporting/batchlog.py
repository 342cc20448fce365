"""The record of one scoring run beside its output (`<output>.run.json`): inputs, the inputs that
failed and the documents whose date could not be read, so a report can show them later."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

MAX_PROBLEMS = 1000  # date problems kept by name; the count is always exact


def path_for(output: str | Path) -> Path:
    output = Path(output)
    return output.with_name(output.name + ".run.json")


def record(output: str | Path, inputs: list[str], failed: list[str], problems: list[str], paragraphs: int) -> dict:
    """The run record of `output`, written beside it (`path_for`) and renamed into place with it."""
    return {
        "output": Path(output).name, "inputs": list(map(str, inputs)), "failed_inputs": list(map(str, failed)),
        "paragraphs": int(paragraphs), "date_problems": len(problems), "date_problem_examples": problems[:MAX_PROBLEMS],
        "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def read(scores: str | Path) -> dict | None:
    """The run record of a scores file, or None when it has none (scored elsewhere, or renamed)."""
    try:
        return json.loads(path_for(scores).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
