"""The gold labels file: strict reading and the join that reports gaps instead of dropping them."""
import re

import pandas as pd
import pytest

from pipeline.config import InputError
from pipeline.corpus import labels
from pipeline.signals import SIGNALS

HEADER = "paragraph_id," + ",".join(SIGNALS) + ",text\n"


def write(tmp_path, body: str, header: str = HEADER):
    path = tmp_path / "labels.csv"
    path.write_text(header + body, encoding="utf-8")
    return path


def test_reads_a_valid_file(tmp_path):
    frame = labels.read_labels(write(tmp_path, "a-1,1,0,0,0,1,Some text\na-2,0,0,0,0,0,\n"))
    assert frame["paragraph_id"].tolist() == ["a-1", "a-2"]
    assert frame[list(SIGNALS)].to_numpy().tolist() == [[1, 0, 0, 0, 1], [0, 0, 0, 0, 0]]


@pytest.mark.parametrize("header, body, problem", [
    (HEADER.replace(",text", ",politics,text"), "a-1,1,0,0,0,1,0,x\n", "unknown signal 'politics'"),
    (HEADER.replace("risk,", ""), "a-1,1,0,0,0,x\n", "missing signal column 'risk'"),
    (HEADER, "a-1,1,0,0,0,1,x\na-1,0,0,0,0,0,y\n", "duplicate paragraph_id 'a-1'"),
    (HEADER, "a-1,1,0,2,0,1,x\n", "line 2: export must be 0 or 1, got '2'"),
    (HEADER, "a-1,1,0,yes,0,1,x\n", "line 2: export must be 0 or 1, got 'yes'"),
    (HEADER, "a-1,1,0,0,0,,x\n", "line 2: risk must be 0 or 1, got ''"),
    (HEADER, ",1,0,0,0,1,x\n", "empty paragraph_id on line 2"),
    # a quoted text cell over three lines, and a blank line: the line in the file, not the row number + 2
    (HEADER, 'a-1,1,0,0,0,1,"one\ntwo\nthree"\n\na-2,1,0,2,0,1,x\n', "line 6: export must be 0 or 1, got '2'"),
    (HEADER, 'a-1,1,0,0,0,1,"one\r\ntwo"\r\n,1,0,0,0,1,x\r\n', "empty paragraph_id on line 4"),
    (HEADER, "a-1,1,0,0,0,1,x\n   \na-2,1,0,0,7,1,x\n", "line 4: technology must be 0 or 1, got '7'"),  # pandas skips it
])
def test_bad_labels_are_refused_with_one_clear_line(tmp_path, header, body, problem):
    path = write(tmp_path, body, header)
    with pytest.raises(InputError, match=re.escape(f"{path}: {problem}")):
        labels.read_labels(path)


def test_join_prefers_gold_and_reports_orphans_and_unlabelled():
    paragraphs = pd.DataFrame({"paragraph_id": ["p1", "p2", "p3"], "text": ["a", "b", "c"]})
    gold = pd.DataFrame({"paragraph_id": ["p1", "gone", "p3"], **{s: [1, 0, 0] for s in SIGNALS},
                         "text": ["", "", ""]})
    read = []

    def weak(texts):  # the rules: read only the paragraphs without gold
        read.extend(texts)
        return pd.DataFrame({s: [1] * len(texts) for s in SIGNALS})
    table, report = labels.join(paragraphs, gold, weak)
    assert read == ["b"]
    assert table["label_source"].tolist() == ["gold", "weak", "gold"]
    assert table[list(SIGNALS)].to_numpy().tolist() == [[1] * 5, [1] * 5, [0] * 5]
    assert report["orphan_labels"] == ["gone"] and report["unlabelled"] == ["p2"]
    assert (report["gold"], report["weak"]) == (2, 1)
    fully, _ = labels.join(paragraphs.iloc[[0, 2]], gold, weak)  # every paragraph labelled: no rule runs
    assert read == ["b"] and fully[list(SIGNALS)].dtypes.eq("int8").all()


def test_bundled_labels_cover_every_paragraph_exactly(table):
    _, report = table
    assert report["orphan_labels"] == [] and report["unlabelled"] == []


def test_weak_labels_reach_training_only_when_switched_on():
    from pipeline.corpus.labels import training_rows
    table = pd.DataFrame({"paragraph_id": ["p1", "p2"], "article_id": ["a", "b"], "text": ["x", "y"],
                          "label_source": ["gold", "weak"], **{s: [1, 0] for s in SIGNALS}})
    assert training_rows(table, use_weak=False)["paragraph_id"].tolist() == ["p1"]
    assert training_rows(table, use_weak=True)["paragraph_id"].tolist() == ["p1", "p2"]


def test_rule_report_measures_coverage_conflicts_and_accuracy():
    from pipeline import rules
    from tests.conftest import RULES
    loaded = rules.load_rules(RULES)
    texts = pd.Series(["Beijing tightened export controls.", "Export prices were flat at home.", "Nothing here."])
    gold = pd.DataFrame({s: [1, 0, 0] if s == "export" else [0, 0, 0] for s in SIGNALS})
    report = rules.report(loaded, texts, gold)
    trade = report["export.trade"]
    assert trade["fired"] == 2 and trade["conflicts"] == 1 and trade["accuracy"] == 0.5
    assert trade["coverage"] == round(2 / 3, 4)
