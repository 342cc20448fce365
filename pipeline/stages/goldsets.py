"""Labelled real-text sets listed in params.yaml (`evaluate.real_text`): read them and score the model on them.

A set is JSONL (`text` and a `labels` list of signal names, as the shared dev sets are) or CSV (`text`
and a 0/1 column per signal). Paths are relative to the repository root. A listed set that is missing
is reported, not fatal, so a clone without a user's private sets still evaluates; any other problem
(wrong suffix, a directory, an unreadable or malformed set) is an InputError, which `validate` raises
before training starts.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import language
from pipeline.config import InputError, read_csv
from pipeline.corpus.labels import csv_line
from pipeline.signals import SIGNALS
from pipeline.stages.metrics import bootstrap_interval, summary
from pipeline.thresholds import flags

SUFFIXES = (".jsonl", ".csv")


def _from_jsonl(path: Path) -> pd.DataFrame:
    try:
        lines = path.read_bytes().decode("utf-8").split("\n")
    except OSError as exc:
        raise InputError(path, f"cannot read gold set ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not valid UTF-8 (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})") from exc
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(path, f"line {number}: not valid JSON ({exc.msg})") from exc
        text, labels = record.get("text") if isinstance(record, dict) else None, \
            record.get("labels") if isinstance(record, dict) else None
        if not isinstance(text, str) or not isinstance(labels, list):
            raise InputError(path, f"line {number}: needs a string 'text' and a list 'labels'")
        unknown = [s for s in labels if s not in SIGNALS]
        if unknown:
            raise InputError(path, f"line {number}: unknown signal {unknown[0]!r} (known: {', '.join(SIGNALS)})")
        rows.append({"text": text, **{s: int(s in labels) for s in SIGNALS}})
    return pd.DataFrame(rows, columns=["text", *SIGNALS])


def _from_csv(path: Path) -> pd.DataFrame:
    frame = read_csv(path, "gold set")
    missing = [c for c in ("text", *SIGNALS) if c not in frame.columns]
    if missing:
        raise InputError(path, f"missing column '{missing[0]}' (a gold CSV needs text and a 0/1 column per signal)")
    for signal in SIGNALS:
        bad = ~frame[signal].str.strip().isin(["0", "1"])
        if bad.any():
            raise InputError(path, f"line {csv_line(path, int(bad.to_numpy().argmax()))}: {signal} must be 0 or 1")
    return pd.DataFrame({"text": frame["text"], **{s: frame[s].str.strip().astype(int) for s in SIGNALS}})


def read(path: Path) -> pd.DataFrame:
    """One labelled set: columns text and a 0/1 column per signal."""
    if path.is_dir():
        raise InputError(path, f"is a directory; a gold set is one {' or '.join(SUFFIXES)} file")
    if path.suffix.lower() not in SUFFIXES:
        raise InputError(path, f"a gold set must be {' or '.join(SUFFIXES)}")
    frame = _from_jsonl(path) if path.suffix.lower() == ".jsonl" else _from_csv(path)
    if frame.empty:
        raise InputError(path, "gold set has no rows")
    return frame


def present(sets: dict[str, str], root: Path) -> dict[str, pd.DataFrame | None]:
    """Every listed set, read (`validate` calls this first); None for a missing .jsonl or .csv file,
    which is reported, not refused. Any other problem, even in a missing set's suffix, is an InputError."""
    out = {}
    for name, relative in sets.items():
        path = root / relative
        missing = path.suffix.lower() in SUFFIXES and not path.exists()
        out[name] = None if missing else read(path)
    return out


def evaluate(fitted, thresholds: dict[str, float], sets: dict[str, str], root: Path, seed: int) -> dict[str, dict]:
    """Per listed set: metrics of the model at its thresholds with a 95% bootstrap interval of macro-F1 (on a few
    hundred paragraphs it spans points, so a small difference between experiments can be noise), or
    `{"missing": path}` when absent."""
    out: dict[str, dict] = {}
    for (name, relative), frame in zip(sets.items(), present(sets, root).values()):
        if frame is None:
            out[name] = {"missing": relative}
            continue
        # the texts as the model's first step reads them (its repair, once); languages are detected on them too
        texts = list(fitted[0].transform(frame[["text"]]))
        proba = fitted[1:].predict_proba(texts)
        truth = frame[list(SIGNALS)].to_numpy(dtype=np.int8)
        langs = language.detect_all(texts)
        pred = flags(proba, thresholds, langs)
        low, high = bootstrap_interval(truth, pred, seed)
        out[name] = {"paragraphs": int(len(frame)), **summary(truth, proba, pred),
                     "macro_f1_ci95_low": low, "macro_f1_ci95_high": high}
    return out
