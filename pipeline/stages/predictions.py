"""The predictions table `crossvalidate` writes and `evaluate` reads: each training row's probabilities and
flags from a model that never saw its article (its cross-validation fold's, or the holdout model's)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.config import InputError
from pipeline.corpus.labels import holdout_split
from pipeline.signals import SIGNALS

PROBABILITY = [f"p_{signal}" for signal in SIGNALS]
FLAG = [f"flag_{signal}" for signal in SIGNALS]
COLUMNS = ["paragraph_id", "model", "fold", *PROBABILITY, *FLAG]
CV, HOLDOUT = "cv", "holdout"  # which model gave a row: its cross-validation fold's, or the holdout model


def table(ids: pd.Series, which: str, fold: np.ndarray, proba: np.ndarray, pred: np.ndarray) -> pd.DataFrame:
    """One row per paragraph a model predicted: its id, the model, the fold, probabilities and flags."""
    frame = pd.DataFrame({"paragraph_id": ids.to_numpy(), "model": which, "fold": fold.astype(np.int8)})
    frame[PROBABILITY] = proba
    frame[FLAG] = pred.astype(np.int8)
    return frame[COLUMNS]


def read(rows: pd.DataFrame, path: Path, holdout_source: str) -> dict[str, tuple[np.ndarray, ...]]:
    """Read the table `crossvalidate` wrote, per model: (which of `rows` it predicted, as a mask; their
    probabilities, flags and folds, in the order of `rows`). Refuses a table whose cross-validation does not
    predict each of `rows` once, or whose holdout is not `holdout_source`'s gold rows: one written for other
    paragraphs or another holdout folder (`dvc repro` reruns `crossvalidate` when its data or params change; a
    command run by hand may not)."""
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise InputError(path, f"cannot read predictions ({str(exc).splitlines()[0]})") from exc
    if list(frame.columns) != COLUMNS:
        raise InputError(path, f"not a predictions table (columns {', '.join(COLUMNS)})")
    stale = "(written for other data or params: rerun `crossvalidate`)"
    out = {}
    for which, part in frame.groupby("model", sort=False):
        ids = part["paragraph_id"]
        if ids.duplicated().any():
            raise InputError(path, f"predicts paragraph {ids[ids.duplicated()].iloc[0]} twice by the {which} model")
        position = pd.Index(rows["paragraph_id"]).get_indexer(ids)
        if (position < 0).any():
            raise InputError(path, f"predicts paragraph {ids.to_numpy()[position < 0][0]}, which is not among the "
                                   f"training rows {stale}")
        mask = np.zeros(len(rows), dtype=bool)
        mask[position] = True
        order = np.argsort(position)
        out[which] = (mask, part[PROBABILITY].to_numpy()[order], part[FLAG].to_numpy()[order],
                      part["fold"].to_numpy(dtype=int)[order])
    if CV not in out or not out[CV][0].all():
        raise InputError(path, f"does not predict every training row by cross-validation {stale}")
    if HOLDOUT not in out or not np.array_equal(out[HOLDOUT][0], holdout_split(rows, holdout_source)[1].to_numpy()):
        raise InputError(path, f"does not predict exactly the gold rows of '{holdout_source}' by the holdout model "
                               f"{stale}")
    return out
