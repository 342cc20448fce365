"""`policy-signals label export|import`: get paragraphs that lack gold labels labelled by people.

export writes the unlabelled paragraphs to a CSV prefilled with the current
model's suggestions and probabilities, most uncertain first; import validates a
filled CSV and merges it into the gold labels file. Import refuses rather than
guesses, never drops an existing label, and is idempotent.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.config import InputError, atomic_path
from pipeline.corpus import labels
from pipeline.scoring.scorer import Scorer
from pipeline.signals import SIGNALS
from pipeline.stages.train import read_table
from pipeline.thresholds import cutoffs

PROBA = [f"p_{s}" for s in SIGNALS]
TABLE_COLUMNS = ["paragraph_id", "article_id", "label_source", "text"]  # what both actions need from `split`
CONTEXT = ["article_id", "uncertainty", *PROBA, "text"]  # export-only columns that import ignores


def suggestions(table: pd.DataFrame, scorer: Scorer) -> pd.DataFrame:
    """Rows without gold labels, with suggested flags and probabilities, most uncertain first."""
    todo = table[table["label_source"].ne("gold")].reset_index(drop=True)
    proba = scorer.score(todo["text"].tolist(), repaired=True)[PROBA].to_numpy() if len(todo) else \
        np.zeros((0, len(SIGNALS)))  # split paragraphs: repaired already
    cut = cutoffs(scorer.thresholds, len(todo), todo["lang"])
    # distance of the least certain signal from its threshold, scaled to that side's range
    margin = np.where(proba >= cut, (proba - cut) / (1 - cut), (cut - proba) / cut).min(axis=1, initial=1.0)
    out = pd.DataFrame({"paragraph_id": todo["paragraph_id"], "article_id": todo["article_id"]})
    flags = (proba >= cut).astype(np.int8)
    for j, signal in enumerate(SIGNALS):
        out[signal] = flags[:, j]
    out["uncertainty"] = (1 - margin).round(4)
    for j, column in enumerate(PROBA):
        out[column] = proba[:, j].round(4)
    out["text"] = todo["text"]
    return out.sort_values(["uncertainty", "paragraph_id"], ascending=[False, True], kind="stable")


def read_filled(path: Path, known_ids: set[str]) -> pd.DataFrame:
    """A filled export: known columns only, known ids, 0/1 values, no conflicting duplicates."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(path, f"cannot read labelled CSV ({str(exc).splitlines()[0]})") from exc
    frame = frame.drop(columns=[c for c in CONTEXT if c in frame.columns])
    deduped = frame.drop_duplicates()
    clash = deduped["paragraph_id"][deduped["paragraph_id"].duplicated()] if "paragraph_id" in frame else []
    if len(clash):
        raise InputError(path, f"paragraph_id '{clash.iloc[0]}' appears twice with different labels")
    checked = labels.validate(deduped, path)
    unknown = checked.loc[~checked["paragraph_id"].isin(known_ids), "paragraph_id"]
    if not unknown.empty:
        raise InputError(path, f"unknown paragraph_id '{unknown.iloc[0]}' (not in the paragraphs table; "
                               "run `dvc repro` after adding articles)")
    return checked


def merge(gold: pd.DataFrame, new: pd.DataFrame, texts: pd.Series, path: Path, replace: bool) -> pd.DataFrame:
    """Append new labels; an existing label that differs is refused unless `replace` is set."""
    both = gold.merge(new, on="paragraph_id", suffixes=("", "_new"))
    changed = both[(both[list(SIGNALS)].to_numpy() != both[[f"{s}_new" for s in SIGNALS]].to_numpy()).any(axis=1)]
    if not changed.empty and not replace:
        raise InputError(path, f"paragraph_id '{changed['paragraph_id'].iloc[0]}' already has different gold "
                               f"labels ({len(changed)} such rows); pass --replace to overwrite them")
    new = new.assign(text=new["paragraph_id"].map(texts).map(labels.opening))
    updated = gold.set_index("paragraph_id")
    updated.update(new.set_index("paragraph_id")[list(SIGNALS)])
    added = new[~new["paragraph_id"].isin(gold["paragraph_id"])]
    out = pd.concat([updated.reset_index(), added], ignore_index=True)
    out[list(SIGNALS)] = out[list(SIGNALS)].astype("int8")
    return out


def check_todo(output: Path, kept: dict[Path, str]) -> None:
    """Refuse a to-do output that is not a .csv or that is one of the files export reads (`kept`): written
    over, the gold labels would be replaced by an empty to-do list."""
    from pipeline.scoring.sources import identity

    if output.suffix.lower() != ".csv":
        raise InputError(output, "the to-do list is written as CSV; give the output a .csv name")
    for path, what in kept.items():
        if identity(output) == identity(path):
            raise InputError(output, f"is {what}; refusing to overwrite it (write the to-do list elsewhere)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="policy-signals label", description=__doc__)
    sub = parser.add_subparsers(dest="action", required=True)
    ex = sub.add_parser("export", help="write paragraphs that need labels, with the model's suggestions")
    ex.add_argument("--data", type=Path, default=Path("data/processed/paragraphs.parquet"))
    ex.add_argument("--model", type=Path, default=Path("models"))
    ex.add_argument("-o", "--output", type=Path, required=True, help="the to-do list to write (.csv)")
    ex.add_argument("--labels", type=Path, default=Path("data/labels.csv"), help="the gold labels (never written)")
    im = sub.add_parser("import", help="validate a filled CSV and merge it into the gold labels")
    im.add_argument("file", type=Path)
    im.add_argument("--data", type=Path, default=Path("data/processed/paragraphs.parquet"))
    im.add_argument("--labels", type=Path, default=Path("data/labels.csv"))
    im.add_argument("--replace", action="store_true", help="allow changing labels that already exist")
    args = parser.parse_args(argv)

    table = read_table(args.data)
    missing = [c for c in TABLE_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(args.data, f"not a paragraphs table from `split` (no column '{missing[0]}')")
    if args.action == "export":
        check_todo(args.output, {args.data: "the paragraphs table", args.labels: "the gold labels"})
        out = suggestions(table, Scorer.load(str(args.model)))
        with atomic_path(args.output) as tmp:
            out.to_csv(tmp, index=False, lineterminator="\n")
        print(f"label export: {len(out)} paragraphs need labels -> {args.output}", file=sys.stderr)
        return 0
    gold = labels.read_labels(args.labels)
    new = read_filled(args.file, set(table["paragraph_id"]))
    merged = merge(gold, new, table.set_index("paragraph_id")["text"], args.file, args.replace)
    labels.write_labels(merged, args.labels)
    print(f"label import: {len(merged) - len(gold)} new, {len(new)} rows read -> {args.labels}", file=sys.stderr)
    return 0
