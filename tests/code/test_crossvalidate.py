"""`crossvalidate`'s predictions table: what `evaluate` reads back is each training row's own prediction, and a
table written for other paragraphs is refused in one line naming it, not misaligned."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.config import InputError
from pipeline.signals import SIGNALS
from pipeline.stages.crossvalidate import CV, HOLDOUT, predictions_for, table

ROWS = pd.DataFrame({"paragraph_id": [f"a{i}" for i in range(6)]})


def written(tmp_path, frames) -> Path:
    path = tmp_path / "predictions.parquet"
    pd.concat(frames, ignore_index=True).to_parquet(path, index=False)
    return path


def predictions(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    proba = np.random.default_rng(seed).random((n, len(SIGNALS)))
    return proba, (proba > 0.5).astype(np.int8)


def test_rows_come_back_in_the_training_order_whatever_the_table_order(tmp_path):
    proba, pred = predictions(0, 6)
    held_proba, held_pred = predictions(1, 2)
    order = [3, 0, 5, 1, 4, 2]  # the table written in another order than the rows
    frames = [table(ROWS["paragraph_id"].iloc[order], CV, np.array(order) % 2, proba[order], pred[order]),
              table(ROWS["paragraph_id"].iloc[[4, 1]], HOLDOUT, np.zeros(2), held_proba[::-1], held_pred[::-1])]
    read = predictions_for(ROWS, written(tmp_path, frames))
    mask, got_proba, got_pred, fold = read[CV]
    assert mask.all() and np.array_equal(got_proba, proba) and np.array_equal(got_pred, pred)
    assert fold.tolist() == [i % 2 for i in range(6)]
    mask, got_proba, got_pred, _ = read[HOLDOUT]
    assert mask.tolist() == [False, True, False, False, True, False]
    assert np.array_equal(got_proba, held_proba) and np.array_equal(got_pred, held_pred)


@pytest.mark.parametrize("ids, holdout, message", [
    (["a0", "a1", "a2", "a3", "a4", "x9"], True, "predicts paragraph x9, which is not among the training rows"),
    (["a0", "a1", "a2", "a3", "a4"], True, "does not predict every training row by cross-validation"),
    (["a0", "a1", "a2", "a3", "a4", "a5"], False, "does not predict every training row by cross-validation"),
])
def test_a_table_for_other_paragraphs_is_refused_naming_it(tmp_path, ids, holdout, message):
    proba, pred = predictions(0, len(ids))
    frames = [table(pd.Series(ids), CV, np.zeros(len(ids)), proba, pred)]
    if holdout:
        frames.append(table(pd.Series(["a1"]), HOLDOUT, np.zeros(1), proba[:1], pred[:1]))
    path = written(tmp_path, frames)
    with pytest.raises(InputError, match=message) as raised:
        predictions_for(ROWS, path)
    assert str(path) in str(raised.value) and "\n" not in str(raised.value)


def test_a_file_that_is_not_a_predictions_table_is_refused_naming_it(tmp_path):
    path = tmp_path / "predictions.parquet"
    ROWS.to_parquet(path, index=False)
    with pytest.raises(InputError, match="not a predictions table"):
        predictions_for(ROWS, path)
    path.write_text("not parquet")
    with pytest.raises(InputError, match="cannot read predictions"):
        predictions_for(ROWS, path)
