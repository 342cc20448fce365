"""Stage `crossvalidate`: the model fits that `evaluate` reports on, and the table that carries their predictions.

Nested grouped cross-validation (thresholds re-tuned inside each training fold) and the seed holdout (a
model trained without one source folder) give each training row's probabilities and flags from models
that never saw its article. They are saved as one table, so that listing or editing a real-text gold set,
or the report's settings, reruns only `evaluate`, in seconds, not these fits (minutes).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import model
from pipeline.config import InputError, atomic_path, load_params
from pipeline.corpus.labels import check_evaluable, check_holdout, holdout_split, read_table, training_rows
from pipeline.signals import SIGNALS
from pipeline.thresholds import flags

PROBABILITY = [f"p_{signal}" for signal in SIGNALS]
FLAG = [f"flag_{signal}" for signal in SIGNALS]
COLUMNS = ["paragraph_id", "model", "fold", *PROBABILITY, *FLAG]
CV, HOLDOUT = "cv", "holdout"  # which model gave a row: its cross-validation fold's, or the holdout model


def cross_validate(params: dict, rows: pd.DataFrame, folds: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Out-of-fold probabilities and flags for every row, and each row's fold number."""
    train, seed = params["train"], params["seed"]
    proba = np.zeros((len(rows), len(SIGNALS)))
    pred = np.zeros_like(proba, dtype=np.int8)
    fold_of = np.zeros(len(rows), dtype=int)
    for fold, (fit_idx, test_idx) in enumerate(model.grouped_folds(rows, folds, model.EVALUATE_SALT)):
        fitted, thresholds, _ = model.fit(train, seed, rows.iloc[fit_idx])
        proba[test_idx] = fitted.predict_proba(rows["text"].iloc[test_idx])
        pred[test_idx] = flags(proba[test_idx], thresholds, rows["lang"].iloc[test_idx])
        fold_of[test_idx] = fold
    return proba, pred, fold_of


def holdout(params: dict, rows: pd.DataFrame, source: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train without one source folder (the real bundled articles): the gold rows it tests on, their
    probabilities and flags."""
    fit, test = holdout_split(rows, source)
    fitted, thresholds, _ = model.fit(params["train"], params["seed"], rows[fit])
    proba = fitted.predict_proba(rows.loc[test, "text"])
    return test.to_numpy(), proba, flags(proba, thresholds, rows.loc[test, "lang"])


def table(ids: pd.Series, which: str, fold: np.ndarray, proba: np.ndarray, pred: np.ndarray) -> pd.DataFrame:
    """One row per paragraph a model predicted: its id, the model, the fold, probabilities and flags."""
    frame = pd.DataFrame({"paragraph_id": ids.to_numpy(), "model": which, "fold": fold.astype(np.int8)})
    frame[PROBABILITY] = proba
    frame[FLAG] = pred.astype(np.int8)
    return frame[COLUMNS]


def predictions_for(rows: pd.DataFrame, path: Path, holdout_source: str) -> dict[str, tuple[np.ndarray, ...]]:
    """Read the table this stage wrote, per model: (which of `rows` it predicted, as a mask; their probabilities,
    flags and folds, in the order of `rows`). Refuses a table whose cross-validation does not predict each of
    `rows` once, or whose holdout is not `holdout_source`'s gold rows: one written for other paragraphs or another
    holdout folder (`dvc repro` reruns this stage when its data or params change; a command run by hand may not)."""
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="policy-signals crossvalidate", description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="paragraphs table from `split`")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--out", type=Path, required=True, help="predictions table (Parquet)")
    args = parser.parse_args(argv)

    params = load_params(args.params)
    settings = params["evaluate"]
    rows = training_rows(read_table(args.data), params["train"]["use_weak_labels"])
    check_evaluable(rows, args.data)
    check_holdout(rows, settings["holdout_source"], args.params)
    with model.vocabulary_kept(args.params):
        proba, pred, fold_of = cross_validate(params, rows, settings["cv_folds"])
        tested, held_proba, held_pred = holdout(params, rows, settings["holdout_source"])
    frame = pd.concat([table(rows["paragraph_id"], CV, fold_of, proba, pred),
                       table(rows.loc[tested, "paragraph_id"], HOLDOUT, np.zeros(tested.sum()), held_proba, held_pred)],
                      ignore_index=True)
    with atomic_path(args.out) as tmp:
        frame.to_parquet(tmp, index=False)
    print(f"crossvalidate: {len(rows)} paragraphs in {fold_of.max() + 1} grouped folds, {tested.sum()} held out "
          f"with '{settings['holdout_source']}'; predictions in {args.out}", file=sys.stderr)
    return 0
