"""`policy-signals datacard`: rewrite the counts block of data/README.md from the corpus and its labels.

The data card's tables (per source folder, per genre, per paragraph kind) are generated, so they can
never drift from `data/labels.csv`; a test checks they are current.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

from pipeline.config import InputError, atomic_path, read_csv
from pipeline.corpus import labels as labels_mod
from pipeline.signals import SIGNALS
from pipeline.stages.split import build_paragraphs

START, END = "<!-- counts -->", "<!-- /counts -->"
UNCATALOGUED = "(not in the catalog)"


def _row(cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def counts(table: pd.DataFrame, catalog: pd.DataFrame) -> str:
    """The markdown tables: totals per source folder, then per genre, then paragraph kinds."""
    gold = table[table["label_source"].eq("gold")]
    sources = sorted(gold["source"].unique())
    groups = [("all", gold)] + [(s, gold[gold["source"].eq(s)]) for s in sources]
    lines = [_row(["count", *[name for name, _ in groups]]), _row(["---"] * (len(groups) + 1))]
    measures = [("articles", lambda f: f["article_id"].nunique()), ("paragraphs", len)]
    measures += [(s, lambda f, s=s: int(f[s].sum())) for s in SIGNALS]
    measures += [("no signal", lambda f: int((f[list(SIGNALS)].sum(axis=1) == 0).sum())),
                 ("two or more signals", lambda f: int((f[list(SIGNALS)].sum(axis=1) >= 2).sum())),
                 ("labels per paragraph", lambda f: f"{f[list(SIGNALS)].sum(axis=1).mean():.2f}" if len(f) else "-")]
    lines += [_row([name, *[measure(frame) for _, frame in groups]]) for name, measure in measures]

    genre = gold.merge(catalog[["article_id", "genre"]], on="article_id", how="left")
    genre["genre"] = genre["genre"].fillna(UNCATALOGUED)  # counted, not dropped by the groupby
    lines += ["", "By source folder and genre:", "",
              _row(["source", "genre", "articles", "paragraphs", *SIGNALS]), _row(["---"] * (4 + len(SIGNALS)))]
    for (source, name), frame in genre.groupby(["source", "genre"], sort=True):
        lines.append(_row([source, name, frame["article_id"].nunique(), len(frame),
                           *[int(frame[s].sum()) for s in SIGNALS]]))
    kinds = gold["kind"].value_counts()
    lines += ["", "By paragraph kind: " + ", ".join(f"{k} {v}" for k, v in kinds.items()) + "."]
    return "\n".join(lines)


def read_catalog(path: Path) -> pd.DataFrame:
    """data/catalog.csv: one row per article with at least its article_id and genre."""
    catalog = read_csv(path, "catalog")
    missing = [c for c in ("article_id", "genre") if c not in catalog]
    if missing:
        raise InputError(path, f"catalog has no '{missing[0]}' column")
    return catalog


def replace_block(card: str, block: str, path: Path) -> str:
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(card):
        raise InputError(path, f"no {START} ... {END} block to replace")
    return pattern.sub(lambda _: f"{START}\n{block}\n{END}", card)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="policy-signals datacard", description=__doc__)
    parser.add_argument("--articles", type=Path, default=Path("data/articles"))
    parser.add_argument("--labels", type=Path, default=Path("data/labels.csv"))
    parser.add_argument("--catalog", type=Path, default=Path("data/catalog.csv"))
    parser.add_argument("--card", type=Path, default=Path("data/README.md"))
    args = parser.parse_args(argv)
    paragraphs = build_paragraphs(args.articles)
    gold = labels_mod.read_labels(args.labels)
    table = paragraphs.merge(gold.drop(columns=[labels_mod.TEXT]), on=labels_mod.ID, how="left", indicator=True)
    table["label_source"] = table.pop("_merge").map({"both": "gold", "left_only": "weak"}).astype(str)
    catalog = read_catalog(args.catalog)
    try:
        text = args.card.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(args.card, f"cannot read the data card ({exc.strerror or exc})") from exc
    card = replace_block(text, counts(table, catalog), args.card)
    with atomic_path(args.card) as tmp:
        tmp.write_text(card, encoding="utf-8")
    missing = sorted(set(table.loc[table["label_source"].eq("gold"), "article_id"]) - set(catalog["article_id"]))
    if missing:
        print(f"warning: {len(missing)} labelled article(s) not in {args.catalog} (first: {missing[0]}), counted "
              f"under genre '{UNCATALOGUED}': add a row for each ({', '.join(catalog.columns)})", file=sys.stderr)
    print(f"datacard: counts in {args.card} rewritten", file=sys.stderr)
    return 0
