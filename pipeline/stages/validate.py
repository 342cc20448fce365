"""Stage `validate`: check every hand-edited input before DVC removes any stage's outputs.

DVC deletes a stage's previous outputs before running it, so a bad param or label row that only
the stage itself noticed would leave `models/` empty. This stage runs first (`split` depends on
its output) and checks params.yaml, the labels, the rules, the articles and the real-text gold sets, and
that the labelled rows can train and evaluate every model the later stages fit (with the pinned embedding
files, when the embedding block is on); when it fails, nothing downstream has been touched.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from functools import partial
from pathlib import Path

import numpy as np

from pipeline import embedding, model, tracking
from pipeline import rules as rules_mod
from pipeline.config import load_params, write_json
from pipeline.corpus import labels as labels_mod
from pipeline.corpus.labels import check_evaluable, check_holdout, check_trainable, holdout_split, training_rows
from pipeline.stages import goldsets
from pipeline.stages.split import build_paragraphs


def check_fits(params: dict, rows, params_source, labels_source) -> None:
    """Every model `train` and `crossvalidate` fit can be fitted: train's on all rows, crossvalidate's in each
    fold of its cross-validation (cut as there) and the holdout's without its source folder."""
    train = params["train"]
    with model.vocabulary_kept(params_source):  # no word at all in any row
        words = model.word_presence(rows["text"])
    model.check_fits(train, rows, params_source, labels_source, words=words)
    for fit, test in model.grouped_folds(rows, params["evaluate"]["cv_folds"], model.EVALUATE_SALT):
        model.check_fits(train, rows.iloc[fit], params_source, labels_source, set(rows["article_id"].iloc[test]),
                         words[fit])
    fit, _ = holdout_split(rows, params["evaluate"]["holdout_source"])
    model.check_fits(train, rows[fit], params_source, labels_source, set(rows.loc[~fit, "article_id"]),
                     words[np.flatnonzero(fit)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="policy-signals validate", description=__doc__)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--articles", type=Path, required=True)
    parser.add_argument("--labels", type=Path, required=True)
    parser.add_argument("--rules", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="written only when everything is valid")
    parser.add_argument("--goldsets", type=Path, help="where to record each listed real-text set's SHA-256 (or that "
                                                     "it is missing), so that evaluate reruns when one changes")
    args = parser.parse_args(argv)

    params = load_params(args.params)
    gold = labels_mod.read_labels(args.labels)
    rules = rules_mod.load_rules(args.rules)
    paragraphs = build_paragraphs(args.articles)
    table, _ = labels_mod.join(paragraphs, gold, partial(rules_mod.apply, rules))
    train, settings = params["train"], params["evaluate"]
    rows = training_rows(table, train["use_weak_labels"])
    check_trainable(rows, args.labels, model.min_positives(train["classifier"]), train["classifier"])
    check_evaluable(rows, args.labels)
    check_holdout(rows, settings["holdout_source"], args.params)
    check_fits(params, rows, args.params, args.labels)
    if train["embedding_weight"] > 0:
        embedding.pinned_bytes()
    root = tracking.repo_root()
    found = goldsets.present(settings["real_text"], root)
    if args.goldsets:  # the sets are no DVC deps (a missing one is reported, not an error): this file stands in
        write_json(args.goldsets, {name: {"path": relative, **({"missing": True} if found[name] is None else
                                                              {"sha256": hashlib.sha256((root / relative).read_bytes()).hexdigest()})}
                                   for name, relative in settings["real_text"].items()})
    # Constant content: a valid change upstream must not make `split` rerun on this file's account.
    write_json(args.out, {"valid": [str(p) for p in (args.params, args.labels, args.rules, args.articles)]})
    print(f"validate: {args.params}, {args.labels}, {args.rules} and {args.articles} are valid", file=sys.stderr)
    return 0
