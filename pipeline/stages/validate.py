"""Stage `validate`: check every hand-edited input before DVC removes any stage's outputs.

DVC deletes a stage's previous outputs before running it, so a bad param or label row that only
the stage itself noticed would leave `models/` empty. This stage runs first (`split` depends on
its output) and checks params.yaml, the labels, the rules and the articles, and that the labelled
rows can train a model; when it fails, nothing downstream has been touched.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline import rules as rules_mod
from pipeline.config import load_params, write_json
from pipeline.corpus import labels as labels_mod
from pipeline.corpus.labels import check_trainable, training_rows
from pipeline.stages.split import build_paragraphs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="policy-signals validate", description=__doc__)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--articles", type=Path, required=True)
    parser.add_argument("--labels", type=Path, required=True)
    parser.add_argument("--rules", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="written only when everything is valid")
    args = parser.parse_args(argv)

    params = load_params(args.params)
    gold = labels_mod.read_labels(args.labels)
    rules = rules_mod.load_rules(args.rules)
    paragraphs = build_paragraphs(args.articles)
    table, _ = labels_mod.join(paragraphs, gold, rules_mod.apply(rules, paragraphs["text"]))
    check_trainable(training_rows(table, params["train"]["use_weak_labels"]), args.labels)
    # Constant content: a valid change upstream must not make `split` rerun on this file's account.
    write_json(args.out, {"valid": [str(p) for p in (args.params, args.labels, args.rules, args.articles)]})
    print(f"validate: {args.params}, {args.labels}, {args.rules} and {args.articles} are valid", file=sys.stderr)
    return 0
