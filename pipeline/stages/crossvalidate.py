"""Stage `crossvalidate`: the model fits that `evaluate` reports on, one per CPU at a time.

Nested grouped cross-validation (thresholds re-tuned inside each training fold) and the seed holdout (a
model trained without one source folder) give each training row's probabilities and flags from models
that never saw its article. They are saved as one table, so that listing or editing a real-text gold set,
or the report's settings, reruns only `evaluate`, in seconds, not these fits (minutes). The fits are
independent: forked worker processes run them side by side, and the table is the same bytes however many.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import model
from pipeline.config import InputError, atomic_path, load_params
from pipeline.corpus.labels import check_evaluable, check_holdout, holdout_split, read_table, training_rows
from pipeline.signals import SIGNALS
from pipeline.stages import predictions
from pipeline.thresholds import flags

CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def tasks(params: dict, rows: pd.DataFrame) -> list[tuple[np.ndarray, np.ndarray]]:
    """(fit, test) row positions of every fit: each grouped fold's, then the holdout's (its source's gold rows)."""
    settings = params["evaluate"]
    fit, test = holdout_split(rows, settings["holdout_source"])
    return [*model.grouped_folds(rows, settings["cv_folds"], model.EVALUATE_SALT),
            (np.flatnonzero(fit.to_numpy()), np.flatnonzero(test.to_numpy()))]


def fit_predict(params: dict, rows: pd.DataFrame, fit: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One model fitted on rows `fit` (its thresholds tuned inside them): probabilities and flags for rows `test`."""
    fitted, thresholds, _ = model.fit(params["train"], params["seed"], rows.iloc[fit])
    proba = fitted.predict_proba(rows["text"].iloc[test])
    return proba, flags(proba, thresholds, rows["lang"].iloc[test])


def run_all(params: dict, rows: pd.DataFrame, cuts: list, jobs: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """`fit_predict` for each cut, in order: here with one job, else in up to `jobs` forked workers (Linux; they
    inherit the rows and die with this process, and a Ctrl-C or SIGTERM here ends them at once). A worker that
    is killed (the system's out-of-memory killer) raises BrokenProcessPool."""
    jobs = min(jobs, len(cuts))
    if jobs <= 1 or not sys.platform.startswith("linux"):
        return [fit_predict(params, rows, fit, test) for fit, test in cuts]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from pipeline import workers

    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork"),
                               initializer=workers.init, initargs=(os.getpid(),))
    try:
        futures = [pool.submit(fit_predict, params, rows, fit, test) for fit, test in cuts]
        done = [future.result() for future in futures]
    except BaseException:
        workers.stop(pool)
        raise
    pool.shutdown()
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="policy-signals crossvalidate", description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="paragraphs table from `split`")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--out", type=Path, required=True, help="predictions table (Parquet)")
    parser.add_argument("--jobs", type=int, default=CPUS,
                        help="fits run at once (default: the CPUs this process may use; each holds its own features)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be >= 1")

    params = load_params(args.params)
    settings = params["evaluate"]
    rows = training_rows(read_table(args.data), params["train"]["use_weak_labels"])
    check_evaluable(rows, args.data)
    check_holdout(rows, settings["holdout_source"], args.params)
    cuts = tasks(params, rows)
    from concurrent.futures.process import BrokenProcessPool
    try:
        with model.vocabulary_kept(args.params):
            done = run_all(params, rows, cuts, args.jobs)
    except BrokenProcessPool as exc:
        raise InputError(args.out, "not written: a fitting worker process was killed (often by the system, for lack "
                                   "of memory); rerun with fewer --jobs") from exc
    proba, pred = np.zeros((len(rows), len(SIGNALS))), np.zeros((len(rows), len(SIGNALS)), dtype=np.int8)
    fold_of = np.zeros(len(rows), dtype=int)
    for fold, ((_, test), (p, f)) in enumerate(zip(cuts[:-1], done[:-1])):
        proba[test], pred[test], fold_of[test] = p, f, fold
    (_, held), (held_proba, held_pred) = cuts[-1], done[-1]
    frame = pd.concat([predictions.table(rows["paragraph_id"], predictions.CV, fold_of, proba, pred),
                       predictions.table(rows["paragraph_id"].iloc[held], predictions.HOLDOUT, np.zeros(len(held)),
                                         held_proba, held_pred)], ignore_index=True)
    with atomic_path(args.out) as tmp:
        frame.to_parquet(tmp, index=False)
    print(f"crossvalidate: {len(rows)} paragraphs in {len(cuts) - 1} grouped folds, {len(held)} held out with "
          f"'{settings['holdout_source']}' ({len(cuts)} fits, up to {min(args.jobs, len(cuts))} at once); "
          f"predictions in {args.out}", file=sys.stderr)
    return 0
