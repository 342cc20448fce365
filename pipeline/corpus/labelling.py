"""`policy-signals label export|import`: get paragraphs that lack gold labels labelled by people.

export writes the paragraphs without gold labels to a CSV (UTF-8 with a BOM, so
Excel reads Chinese) prefilled with the current model's suggestions and
probabilities, most uncertain first, and never over an existing file (a sheet
being filled in) unless --force; import validates a filled CSV and merges it into
the gold labels file, in reading order. Import refuses rather than guesses, never
drops an existing label, and is idempotent. Both say when the paragraphs table is
older than the articles (`dvc repro` has not split what was added or removed).
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.config import InputError, atomic_path, files_under, read_csv
from pipeline.corpus import labels
from pipeline.scoring.scorer import Scorer
from pipeline.signals import SIGNALS, named
from pipeline.thresholds import cutoffs

PROBA = [f"p_{s}" for s in SIGNALS]
TABLE_COLUMNS = ["paragraph_id", "article_id", "label_source", "text"]  # what both actions need from `split`
CONTEXT = ["article_id", "suggested", "uncertainty", *PROBA, "text"]  # export-only columns that import ignores
SUGGESTED_SEPARATOR = ";"


def suggestions(table: pd.DataFrame, scorer: Scorer, labelled: set[str]) -> pd.DataFrame:
    """Rows without gold labels (in the table or among `labelled` ids, imported since it was split), with
    suggested flags and probabilities, most uncertain first."""
    todo = table[table["label_source"].ne("gold") & ~table["paragraph_id"].isin(labelled)].reset_index(drop=True)
    proba = scorer.score(todo["text"].tolist(), repaired=True)[PROBA].to_numpy() if len(todo) else \
        np.zeros((0, len(SIGNALS)))  # split paragraphs: repaired already
    cut = cutoffs(scorer.thresholds, len(todo), todo["lang"])
    # distance of the least certain signal from its threshold, scaled to that side's range
    margin = np.where(proba >= cut, (proba - cut) / (1 - cut), (cut - proba) / cut).min(axis=1, initial=1.0)
    out = pd.DataFrame({"paragraph_id": todo["paragraph_id"], "article_id": todo["article_id"]})
    flags = (proba >= cut).astype(np.int8)
    for j, signal in enumerate(SIGNALS):
        out[signal] = flags[:, j]
    out["suggested"] = [named(row, SUGGESTED_SEPARATOR) for row in flags.tolist()]
    out["uncertainty"] = (1 - margin).round(4)
    for j, column in enumerate(PROBA):
        out[column] = proba[:, j].round(4)
    out["text"] = todo["text"]
    return out.sort_values(["uncertainty", "paragraph_id"], ascending=[False, True], kind="stable")


def _read_sheet(path: Path) -> pd.DataFrame:
    """A filled sheet as strings: comma- or (as Excel saves it in much of Europe) semicolon-separated, UTF-8 with
    or without a BOM; rows left wholly empty (Excel's trailing ",,,,") dropped."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            header = handle.readline()
    except OSError:
        header = ""  # read_csv names the problem
    frame = read_csv(path, "labelled CSV", sep=";" if ";" in header and "," not in header else ",")
    return frame[frame.ne("").any(axis=1)]


def as_suggested(frame: pd.DataFrame) -> pd.Series:
    """Per row of a filled export, whether its labels are exactly the model's suggestions (False where the sheet
    has no `suggested` column: an export of an earlier version)."""
    if "suggested" not in frame or not set(SIGNALS) <= set(frame.columns):
        return pd.Series(False, index=frame.index)
    chosen = [named(row, SUGGESTED_SEPARATOR) for row in frame[list(SIGNALS)].eq("1").to_numpy().tolist()]
    return frame["suggested"].eq(pd.Series(chosen, index=frame.index))


def read_filled(path: Path, known_ids: set[str]) -> tuple[pd.DataFrame, set[str], list[str]]:
    """A filled export: known ids, 0/1 values, no conflicting duplicates; the ids whose labels are exactly the
    model's suggestions; and the columns of the annotator's own (notes, say), left out. Every signal column
    must still be there, so a misspelt one is refused as missing, not ignored."""
    frame = _read_sheet(path)
    unreviewed = set(frame.loc[as_suggested(frame), "paragraph_id"]) if "paragraph_id" in frame else set()
    own = [c for c in frame.columns if c not in CONTEXT and c not in labels.COLUMNS]
    base = {c: re.sub(r"\.\d+$", "", c).strip().lower() for c in own}  # "reform.1": pandas' name for a second "reform"
    twin = next((c for c in own if base[c] in labels.COLUMNS), None)
    if twin is not None:
        what = f"a second '{base[twin]}' column" if base[twin] in frame.columns else f"'{base[twin]}' misspelt"
        raise InputError(path, f"column '{twin}' looks like {what}; keep the export's columns as they are named")
    frame = frame.drop(columns=[c for c in frame.columns if c in CONTEXT or c in own])
    deduped = frame.drop_duplicates()
    clash = deduped["paragraph_id"][deduped["paragraph_id"].duplicated()] if "paragraph_id" in frame else []
    if len(clash):
        raise InputError(path, f"paragraph_id '{clash.iloc[0]}' appears twice with different labels")
    checked = labels.validate(deduped, path)
    unknown = checked.loc[~checked["paragraph_id"].isin(known_ids), "paragraph_id"]
    if not unknown.empty:
        raise InputError(path, f"unknown paragraph_id '{unknown.iloc[0]}' (not in the paragraphs table; "
                               "run `dvc repro split` after adding articles)")
    return checked, unreviewed, own


def merge(gold: pd.DataFrame, new: pd.DataFrame, texts: pd.Series, path: Path, replace: bool
          ) -> tuple[pd.DataFrame, int]:
    """New labels appended in reading order (`texts`' order, the paragraphs table's), and how many existing
    labels changed: one that differs is refused unless `replace` is set."""
    both = gold.merge(new, on="paragraph_id", suffixes=("", "_new"))
    changed = both[(both[list(SIGNALS)].to_numpy() != both[[f"{s}_new" for s in SIGNALS]].to_numpy()).any(axis=1)]
    if not changed.empty and not replace:
        raise InputError(path, f"paragraph_id '{changed['paragraph_id'].iloc[0]}' already has different gold "
                               f"labels ({len(changed)} such rows); pass --replace to overwrite them")
    new = new.assign(text=new["paragraph_id"].map(texts).map(labels.opening))
    updated = gold.set_index("paragraph_id")
    updated.update(new.set_index("paragraph_id")[list(SIGNALS)])
    added = new[~new["paragraph_id"].isin(gold["paragraph_id"])]
    added = added.iloc[texts.index.get_indexer(added["paragraph_id"]).argsort(kind="stable")]
    out = pd.concat([updated.reset_index(), added], ignore_index=True)
    out[list(SIGNALS)] = out[list(SIGNALS)].astype("int8")
    return out, len(changed)


def stale_note(table: Path, articles: Path) -> str | None:
    """A warning when an article the splitter reads (`files_under`), or a folder above one (a file added or
    removed there), changed after the paragraphs table was split; None when the table is newer, or either is
    missing."""
    if not table.exists() or not articles.is_dir():
        return None
    files = files_under(articles)
    folders = {articles, *(folder for path in files for folder in path.parents if articles in folder.parents)}
    split_at = table.stat().st_mtime
    changed = [path for path in [*sorted(folders), *files] if path.stat().st_mtime > split_at]
    if not changed:
        return None
    more = f" and {len(changed) - 1} more" if len(changed) > 1 else ""
    return (f"warning: {table} is older than {changed[0]}{more}: articles added, changed or removed since are "
            "not in it; run `dvc repro split` first")


def check_todo(output: Path, kept: dict[Path, str]) -> None:
    """Refuse a to-do output that is not a .csv or that is one of the files export reads (`kept`): written
    over, the gold labels would be replaced by an empty to-do list."""
    from pipeline.scoring.sources import identity

    if output.suffix.lower() != ".csv":
        raise InputError(output, "the to-do list is written as CSV; give the output a .csv name")
    for path, what in kept.items():
        if identity(output) == identity(path):
            raise InputError(output, f"is {what}; refusing to overwrite it (write the to-do list elsewhere)")


def export(args: argparse.Namespace, table: pd.DataFrame, gold: pd.DataFrame) -> str:
    """Write the to-do list; what was done."""
    out = suggestions(table, Scorer.load(str(args.model)), set(gold["paragraph_id"]))
    with atomic_path(args.output) as tmp:
        out.to_csv(tmp, index=False, lineterminator="\n", encoding="utf-8-sig")
    return f"label export: {len(out)} paragraphs need labels -> {args.output}"


def import_labels(args: argparse.Namespace, table: pd.DataFrame, gold: pd.DataFrame) -> str:
    """Merge a filled sheet into the gold labels; what was done."""
    new, unreviewed, own = read_filled(args.file, set(table["paragraph_id"]))
    merged, replaced = merge(gold, new, table.set_index("paragraph_id")["text"], args.file, args.replace)
    labels.write_labels(merged, args.labels)
    added = set(merged["paragraph_id"]) - set(gold["paragraph_id"])
    line = f"label import: {len(added)} new, {replaced} changed, {len(new)} rows read -> {args.labels}"
    if own:
        line += f"; not signals, left out: {', '.join(repr(c) for c in own)}"
    if added & unreviewed:
        line += (f"; {len(added & unreviewed)} of the new rows are exactly the model's suggestions: make sure "
                 "they were read, not just left as exported")
    return line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="policy-signals label", description=__doc__)
    sub = parser.add_subparsers(dest="action", required=True)
    ex = sub.add_parser("export", help="write paragraphs that need labels, with the model's suggestions")
    ex.add_argument("--data", type=Path, default=Path("data/processed/paragraphs.parquet"))
    ex.add_argument("--model", type=Path, default=Path("models"))
    ex.add_argument("-o", "--output", type=Path, required=True, help="the to-do list to write (.csv)")
    ex.add_argument("--labels", type=Path, default=Path("data/labels.csv"),
                    help="the gold labels (never written): their paragraphs are not listed")
    ex.add_argument("--force", action="store_true", help="write over an existing output (a sheet being filled in)")
    im = sub.add_parser("import", help="validate a filled CSV and merge it into the gold labels")
    im.add_argument("file", type=Path)
    im.add_argument("--data", type=Path, default=Path("data/processed/paragraphs.parquet"))
    im.add_argument("--labels", type=Path, default=Path("data/labels.csv"))
    im.add_argument("--replace", action="store_true", help="allow changing labels that already exist")
    for action in (ex, im):
        action.add_argument("--articles", type=Path, default=Path("data/articles"),
                            help="the articles the table was split from (to say when it is out of date)")
    args = parser.parse_args(argv)

    table = labels.read_table(args.data)
    missing = [c for c in TABLE_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(args.data, f"not a paragraphs table from `split` (no column '{missing[0]}')")
    if args.action == "export":
        check_todo(args.output, {args.data: "the paragraphs table", args.labels: "the gold labels"})
        if args.output.exists() and not args.force:
            raise InputError(args.output, "exists (a sheet being filled in?); refusing to overwrite it: write the "
                                          "to-do list elsewhere, or pass --force")
    gold, note = labels.read_labels(args.labels), stale_note(args.data, args.articles)
    done = export(args, table, gold) if args.action == "export" else import_labels(args, table, gold)
    if note:
        print(note, file=sys.stderr)
    print(done, file=sys.stderr)
    return 0
