"""Real-text gold sets listed in params.yaml: strict reading, scoring, and a missing set reported."""
import json

import pytest

from pipeline.config import InputError
from pipeline.signals import SIGNALS
from pipeline.stages import goldsets


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_reads_jsonl_and_csv_alike(tmp_path):
    jsonl = write_jsonl(tmp_path / "a.jsonl", [{"id": "1", "text": "Export licences were tightened.", "labels": ["export"]},
                                               {"id": "2", "text": "A mine's history.", "labels": []}])
    csv = tmp_path / "a.csv"
    csv.write_text("text,ideology,reform,export,technology,risk\n"
                   "Export licences were tightened.,0,0,1,0,0\nA mine's history.,0,0,0,0,0\n", encoding="utf-8")
    assert goldsets.read(jsonl).equals(goldsets.read(csv))
    assert list(goldsets.read(jsonl).columns) == ["text", *SIGNALS]


@pytest.mark.parametrize("line, problem", [
    ("{not json", "line 1: not valid JSON"),
    ('{"text": "x", "labels": ["exports"]}', "unknown signal 'exports'"),
    ('{"text": 5, "labels": []}', "needs a string 'text'"),
])
def test_bad_jsonl_lines_are_named(tmp_path, line, problem):
    path = tmp_path / "bad.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=problem):
        goldsets.read(path)


def test_unreadable_sets_are_input_errors_not_crashes(tmp_path, trained):
    (tmp_path / "latin1.jsonl").write_bytes('{"text": "Baogang’s plan", "labels": []}\n'.encode("cp1252"))
    with pytest.raises(InputError, match="latin1.jsonl: not valid UTF-8"):
        goldsets.read(tmp_path / "latin1.jsonl")
    (tmp_path / "sets.jsonl").mkdir()
    with pytest.raises(InputError, match="sets.jsonl: is a directory"):  # not reported as missing
        goldsets.evaluate(trained[0], trained[1], {"dir": "sets.jsonl"}, tmp_path, seed=0)


def test_bad_csv_value_names_its_line_in_the_file(tmp_path):
    path = tmp_path / "gold.csv"
    path.write_text('text,ideology,reform,export,technology,risk\n"Two\nlines.",0,0,1,0,0\nx,0,0,yes,0,0\n',
                    encoding="utf-8")
    with pytest.raises(InputError, match="line 4: export must be 0 or 1"):
        goldsets.read(path)


def test_missing_set_is_reported_and_present_set_scored(tmp_path, trained):
    fitted, thresholds = trained
    write_jsonl(tmp_path / "gold.jsonl", [
        {"text": "MOFCOM added dysprosium and terbium magnets to the export licence list.", "labels": ["export"]},
        {"text": "The Party committee studied the General Secretary's speech.", "labels": ["ideology"]}])
    result = goldsets.evaluate(fitted, thresholds, {"mine": "gold.jsonl", "gone": "nowhere.jsonl"}, tmp_path, seed=0)
    assert result["gone"] == {"missing": "nowhere.jsonl"}
    mine = result["mine"]
    assert mine["paragraphs"] == 2 and mine["export"]["support"] == 1
    assert 0 <= mine["macro_f1_ci95_low"] <= mine["macro_f1_ci95_high"] <= 1


def test_bootstrap_interval_is_the_spread_a_small_set_allows():
    import numpy as np
    from pipeline.stages.metrics import bootstrap_interval, summary
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 2, (400, len(SIGNALS)))
    assert bootstrap_interval(truth, truth, seed=0) == (1.0, 1.0)  # no error to resample
    pred = np.where(rng.random(truth.shape) < 0.2, 1 - truth, truth)  # a fifth of the flags wrong
    macro = summary(truth, pred.astype(float), pred, per_signal=False)["macro_f1"]
    low, high = bootstrap_interval(truth, pred, seed=0)
    assert low < macro < high and high - low < 0.1
    small_low, small_high = bootstrap_interval(truth[:40], pred[:40], seed=0)
    assert small_high - small_low > 2 * (high - low)  # ten times fewer paragraphs, a much wider interval
    assert bootstrap_interval(truth, pred, seed=0) == (low, high)  # seeded: the same interval every run


def test_label_issues_ranks_flipped_labels_first():
    import numpy as np
    import pandas as pd
    from pipeline.stages.evaluate import label_issues
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, (300, len(SIGNALS)))
    proba = np.clip(truth * 0.8 + rng.random(truth.shape) * 0.2, 0, 1)  # a model that agrees with the labels
    flipped = [3, 50, 120]
    truth[flipped, 2] = 1 - truth[flipped, 2]  # ... except where the gold labels were flipped
    rows = pd.DataFrame({"paragraph_id": [f"p{i}" for i in range(300)], "article_id": "a",
                         "text": [f"text {i}" for i in range(300)]})
    found = label_issues(rows, truth, proba, np.ones(300, dtype=bool), 10)
    assert set(found["paragraph_id"].head(3)) == {f"p{i}" for i in flipped}
    assert list(found.columns) == ["paragraph_id", "article_id", "quality", "given", "model_suggests", "text"]
