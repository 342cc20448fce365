"""Stage `train`: fit the signal classifier on labelled paragraphs and save the model bundle."""
from __future__ import annotations

import argparse
import hashlib
import platform
import sys
from importlib.metadata import version
from pathlib import Path

import pandas as pd

from pipeline import bundle, model
from pipeline.config import load_params
from pipeline.corpus.labels import check_trainable, read_table, training_rows
from pipeline.signals import SIGNALS
from pipeline.stages.metrics import summary
from pipeline.thresholds import flags

LIBRARIES = ("scikit-learn", "numpy", "scipy", "pandas", "joblib")


def data_hash(rows: pd.DataFrame) -> str:
    """SHA-256 of exactly what the model learns from: ids, texts and labels, in order."""
    digest = hashlib.sha256()
    for record in rows[["paragraph_id", "text", *SIGNALS]].itertuples(index=False):
        digest.update(("\x1f".join(map(str, record)) + "\x1e").encode("utf-8"))
    return digest.hexdigest()


def model_card(params: dict, rows: pd.DataFrame, thresholds: dict, oof) -> dict:
    truth = model.labels_matrix(rows)
    return {
        "signals": list(SIGNALS),
        "thresholds": thresholds,
        "params": {"seed": params["seed"], "train": params["train"]},
        "training_data": {
            "sha256": data_hash(rows),
            "paragraphs": int(len(rows)),
            "articles": int(rows["article_id"].nunique()),
            "positives": {s: int(rows[s].sum()) for s in SIGNALS},
            "label_sources": {k: int(v) for k, v in rows["label_source"].value_counts().sort_index().items()},
        },
        "libraries": {"python": platform.python_version(), **{lib: version(lib) for lib in LIBRARIES}},
        "metrics": {"note": "grouped out-of-fold, at thresholds tuned on the same predictions "
                            "(optimistic; see eval/metrics.json for nested estimates)",
                    **summary(truth, oof, flags(oof, thresholds, rows["lang"]), per_signal=False)},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="policy-signals train", description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="paragraphs table from `split`")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--out", type=Path, required=True, help="model directory")
    args = parser.parse_args(argv)

    params = load_params(args.params)
    rows = training_rows(read_table(args.data), params["train"]["use_weak_labels"])
    train = params["train"]
    check_trainable(rows, args.data, model.min_positives(train["classifier"]), train["classifier"])
    model.check_fits(train, rows, args.params, args.data)
    with model.vocabulary_kept(args.params):
        fitted, thresholds, oof = model.fit(params["train"], params["seed"], rows)
    card = model_card(params, rows, thresholds, oof)
    bundle.save(args.out, fitted, card, rows["text"])
    print(f"train: {len(rows)} paragraphs, out-of-fold macro-F1 {card['metrics']['macro_f1']:.3f}; "
          f"model in {args.out}", file=sys.stderr)
    return 0
