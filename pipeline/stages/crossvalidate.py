"""Stage `crossvalidate`: the model fits that `evaluate` reports on, side by side on the usable CPUs.

Nested grouped cross-validation (thresholds re-tuned inside each training fold) and the seed holdout (a
model trained without one source folder) give each training row's probabilities and flags from models
that never saw its article. They are saved as one table, so that listing or editing a real-text gold set,
or the report's settings, reruns only `evaluate`, in seconds, not these fits (minutes). The fits are
independent: worker processes run them side by side, and the table is the same bytes however many at once.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import interrupts, model, workers
from pipeline.config import InputError, atomic_path, load_params
from pipeline.corpus.labels import check_evaluable, check_holdout, holdout_split, read_table, training_rows
from pipeline.signals import SIGNALS
from pipeline.stages import predictions
from pipeline.thresholds import flags

JOBS = "POLICY_SIGNALS_CV_JOBS"  # fits at once when --jobs is not given (`dvc repro` gives none)


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
    """`fit_predict` for each cut, in order: here with one job, else in `jobs` worker processes (each is sent
    the rows and builds its own features). A fit that fails stops the others at once; of failed fits, the
    first in order is raised, as with one job. A killed worker (the out-of-memory killer) raises
    BrokenProcessPool."""
    if jobs <= 1:
        return [fit_predict(params, rows, fit, test) for fit, test in cuts]
    from concurrent.futures import FIRST_EXCEPTION, wait

    with workers.pool(jobs) as executor:
        futures = [executor.submit(fit_predict, params, rows, fit, test) for fit, test in cuts]
        wait(futures, return_when=FIRST_EXCEPTION)
        failed = [future for future in futures if future.done() and future.exception() is not None]
        if failed:
            raise failed[0].exception()
        return [future.result() for future in futures]


def jobs_default(cuts: int) -> int:
    """Fits at once: $POLICY_SIGNALS_CV_JOBS, else the usable CPUs; never more than there are fits."""
    value = os.environ.get(JOBS, "").strip()
    if not value:
        return min(cuts, workers.usable_cpus())
    if not value.isdigit() or int(value) < 1:
        raise InputError(f"${JOBS}", f"must be an integer >= 1, got {value!r}")
    return min(cuts, int(value))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="policy-signals crossvalidate", description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="paragraphs table from `split`")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--out", type=Path, required=True, help="predictions table (Parquet)")
    parser.add_argument("--jobs", type=int, help=f"fits at once (default: ${JOBS}, else the usable CPUs; each "
                                                  "worker holds its own features, ~0.6 GB for the bundled corpus)")
    args = parser.parse_args(argv)
    if args.jobs is not None and args.jobs < 1:
        parser.error("--jobs must be >= 1")

    params = load_params(args.params)
    settings = params["evaluate"]
    rows = training_rows(read_table(args.data), params["train"]["use_weak_labels"])
    check_evaluable(rows, args.data)
    check_holdout(rows, settings["holdout_source"], args.params)
    cuts = tasks(params, rows)
    jobs = min(args.jobs, len(cuts)) if args.jobs else jobs_default(len(cuts))
    from concurrent.futures.process import BrokenProcessPool
    try:
        with model.vocabulary_kept(args.params):
            done = run_all(params, rows, cuts, jobs)
    except BrokenProcessPool as exc:
        interrupts.check()  # a Ctrl-C or SIGTERM to the whole group can break the pool first: it is the cause
        raise InputError(args.out, f"not written: a fitting worker process was killed (often by the system, for "
                                   f"lack of memory); rerun with fewer jobs (${JOBS}=1 or --jobs 1)") from exc
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
          f"'{settings['holdout_source']}' ({len(cuts)} fits, {jobs} at once); "
          f"predictions in {args.out}", file=sys.stderr)
    return 0
