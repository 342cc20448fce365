"""`policy-signals agreement A.csv B.csv`: how far two label files agree, per signal (Cohen's kappa).

Both files have the labels-file layout (`paragraph_id` and a 0/1 column per signal); only the
paragraphs they share are compared. The data card quotes this table for the independent relabelling.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from sklearn.metrics import cohen_kappa_score

from pipeline.config import InputError
from pipeline.corpus import labels
from pipeline.signals import SIGNALS


def compare(first: pd.DataFrame, second: pd.DataFrame) -> pd.DataFrame:
    """One row per signal and one for all signals: shared paragraphs, positives in each, changed, kappa."""
    both = first.merge(second, on=labels.ID, suffixes=("_a", "_b"))
    rows = []
    for signal in SIGNALS:
        a, b = both[f"{signal}_a"], both[f"{signal}_b"]
        rows.append({"signal": signal, "paragraphs": len(both), "positive_a": int(a.sum()),
                     "positive_b": int(b.sum()), "changed": int((a != b).sum()),
                     "kappa": round(float(cohen_kappa_score(a, b)), 3)})
    changed = (both[[f"{s}_a" for s in SIGNALS]].to_numpy() != both[[f"{s}_b" for s in SIGNALS]].to_numpy())
    rows.append({"signal": "any", "paragraphs": len(both), "positive_a": None, "positive_b": None,
                 "changed": int(changed.any(axis=1).sum()), "kappa": None})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="policy-signals agreement", description=__doc__)
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    args = parser.parse_args(argv)
    first, second = labels.read_labels(args.first), labels.read_labels(args.second)
    table = compare(first, second)
    if table["paragraphs"].iloc[0] == 0:
        raise InputError(args.second, f"shares no paragraph_id with {args.first}")
    print(table.to_markdown(index=False))  # tabulate comes with dvc
    return 0
