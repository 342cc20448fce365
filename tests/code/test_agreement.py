"""Agreement between two label files, and the data card's generated counts."""
import pandas as pd

from pipeline.corpus import agreement, datacard, labels
from tests.conftest import LABELS, REPO


def test_kappa_and_changes_per_signal(tmp_path):
    first = labels.read_labels(LABELS).head(400)
    second = first.copy()
    second.loc[second.index[:40], "risk"] = 1 - second.loc[second.index[:40], "risk"]
    table = agreement.compare(first, second).set_index("signal")
    assert table.loc["ideology", "kappa"] == 1.0 and table.loc["ideology", "changed"] == 0
    assert table.loc["risk", "changed"] == 40 and 0 < table.loc["risk", "kappa"] < 1
    assert table.loc["any", "changed"] == 40


def test_data_card_counts_are_current(table):
    card = (REPO / "data" / "README.md").read_text(encoding="utf-8")
    block = datacard.counts(table[0], pd.read_csv(REPO / "data" / "catalog.csv"))
    assert f"{datacard.START}\n{block}\n{datacard.END}" in card, "run `policy-signals datacard`"
