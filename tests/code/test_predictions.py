"""The predictions table `crossvalidate` writes and `evaluate` reads: each training row's own prediction comes
back, and a table written for other paragraphs or another holdout is refused in one line naming it."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.config import InputError
from pipeline.signals import SIGNALS
from pipeline.stages.predictions import CV, HOLDOUT, read, table

# six training rows; the holdout folder "seeds" holds a1 and a4 (gold) and a5 (weakly labelled: not tested)
ROWS = pd.DataFrame({"paragraph_id": [f"a{i}" for i in range(6)],
                     "source": ["team", "seeds", "team", "world", "seeds", "seeds"],
                     "label_source": ["gold"] * 5 + ["weak"]})
HELD = ["a4", "a1"]


def written(tmp_path, frames) -> Path:
    path = tmp_path / "predictions.parquet"
    pd.concat(frames, ignore_index=True).to_parquet(path, index=False)
    return path


def predictions(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    proba = np.random.default_rng(seed).random((n, len(SIGNALS)))
    return proba, (proba > 0.5).astype(np.int8)


def cv_and_holdout(ids: list[str], held: list[str]) -> list[pd.DataFrame]:
    proba, pred = predictions(0, len(ids))
    held_proba, held_pred = predictions(1, len(held))
    return [table(pd.Series(ids), CV, np.zeros(len(ids)), proba, pred),
            table(pd.Series(held), HOLDOUT, np.zeros(len(held)), held_proba, held_pred)]


def test_rows_come_back_in_the_training_order_whatever_the_table_order(tmp_path):
    proba, pred = predictions(0, 6)
    held_proba, held_pred = predictions(1, 2)
    order = [3, 0, 5, 1, 4, 2]  # the table written in another order than the rows
    frames = [table(ROWS["paragraph_id"].iloc[order], CV, np.array(order) % 2, proba[order], pred[order]),
              table(pd.Series(HELD), HOLDOUT, np.zeros(2), held_proba[::-1], held_pred[::-1])]
    got = read(ROWS, written(tmp_path, frames), "seeds")
    mask, got_proba, got_pred, fold = got[CV]
    assert mask.all() and np.array_equal(got_proba, proba) and np.array_equal(got_pred, pred)
    assert fold.tolist() == [i % 2 for i in range(6)]
    mask, got_proba, got_pred, _ = got[HOLDOUT]
    assert mask.tolist() == [False, True, False, False, True, False]
    assert np.array_equal(got_proba, held_proba) and np.array_equal(got_pred, held_pred)


@pytest.mark.parametrize("ids, held, source, message", [
    (["a0", "a1", "a2", "a3", "a4", "x9"], HELD, "seeds", "predicts paragraph x9, which is not among the training rows"),
    (["a0", "a1", "a2", "a3", "a4"], HELD, "seeds", "does not predict every training row by cross-validation"),
    (["a0", "a1", "a2", "a3", "a4", "a5", "a2"], HELD, "seeds", "predicts paragraph a2 twice by the cv model"),
    (["a0", "a1", "a2", "a3", "a4", "a5"], [], "seeds", "does not predict exactly the gold rows of 'seeds'"),
    (["a0", "a1", "a2", "a3", "a4", "a5"], ["a1"], "seeds", "does not predict exactly the gold rows of 'seeds'"),
    (["a0", "a1", "a2", "a3", "a4", "a5"], HELD, "world", "does not predict exactly the gold rows of 'world'"),
])
def test_a_table_for_other_paragraphs_or_another_holdout_is_refused_naming_it(tmp_path, ids, held, source, message):
    path = written(tmp_path, cv_and_holdout(ids, held))
    with pytest.raises(InputError, match=message) as raised:
        read(ROWS, path, source)
    assert str(path) in str(raised.value) and "\n" not in str(raised.value)


def test_a_file_that_is_not_a_predictions_table_is_refused_naming_it(tmp_path):
    path = tmp_path / "predictions.parquet"
    ROWS.to_parquet(path, index=False)
    with pytest.raises(InputError, match="not a predictions table"):
        read(ROWS, path, "seeds")
    path.write_text("not parquet")
    with pytest.raises(InputError, match="cannot read predictions"):
        read(ROWS, path, "seeds")
