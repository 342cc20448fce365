"""The gold labels file: reading it strictly, joining it to the paragraphs table, and the rows training uses."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from pipeline.config import InputError, atomic_path, read_csv
from pipeline.signals import SIGNALS

ID, TEXT = "paragraph_id", "text"
COLUMNS = [ID, *SIGNALS, TEXT]
OPENING_CHARS = 90


def read_labels(path: Path) -> pd.DataFrame:
    """Read data/labels.csv: paragraph_id, one 0/1 column per signal, text (opening words)."""
    return validate(read_csv(path, "labels file"), path)


def csv_line(path: Path, row: int) -> int:
    """The line of a CSV file on which data row `row` (numbered from 0 as pandas reads it: header and blank
    lines not counted) starts; a quoted cell may span lines, so it is not `row + 2`."""
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        start, seen = 1, -2  # the header is row -1
        for record in reader:
            if record and not (len(record) == 1 and not record[0].strip()):  # pandas skips blank lines
                seen += 1
                if seen == row:
                    return start
            start = reader.line_num + 1
    return start


def validate(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Refuse unknown or missing signal columns, duplicate or empty ids and values other than 0/1."""
    if ID not in frame.columns:
        raise InputError(path, f"missing column '{ID}'")
    unknown = [c for c in frame.columns if c not in COLUMNS]
    if unknown:
        raise InputError(path, f"unknown signal '{unknown[0]}' (known: {', '.join(SIGNALS)})")
    missing = [s for s in SIGNALS if s not in frame.columns]
    if missing:
        raise InputError(path, f"missing signal column '{missing[0]}'")
    ids = frame[ID].str.strip()
    if (ids == "").any():
        row = ids.index[int((ids == "").to_numpy().argmax())]
        raise InputError(path, f"empty {ID} on line {csv_line(path, row)}")
    dupes = ids[ids.duplicated()]
    if not dupes.empty:
        raise InputError(path, f"duplicate {ID} '{dupes.iloc[0]}'")
    for signal in SIGNALS:
        bad = ~frame[signal].str.strip().isin(["0", "1"])
        if bad.any():
            row = int(bad.to_numpy().argmax())
            raise InputError(path, f"line {csv_line(path, frame.index[row])}: {signal} must be 0 or 1, "
                                   f"got {frame[signal].iloc[row]!r}")
    out = pd.DataFrame({ID: ids})
    for signal in SIGNALS:
        out[signal] = frame[signal].str.strip().astype("int8")
    out[TEXT] = frame[TEXT] if TEXT in frame.columns else ""
    return out


def opening(text: str) -> str:
    """The first words of a paragraph, so a reviewer sees what a label row refers to."""
    return text if len(text) <= OPENING_CHARS else text[:OPENING_CHARS].rsplit(" ", 1)[0] + " ..."


def write_labels(frame: pd.DataFrame, path: Path) -> None:
    """Write the labels file atomically, in the rows' given (reading) order, fixed column order."""
    frame = frame[COLUMNS]
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")


def join(paragraphs: pd.DataFrame, gold: pd.DataFrame,
         weak_labels: Callable[[pd.Series], pd.DataFrame]) -> tuple[pd.DataFrame, dict]:
    """Attach gold labels where they exist and `weak_labels(texts)` (0/1 per signal: the rules) elsewhere;
    report both gaps. Only paragraphs without gold are read by it: in a labelled corpus that is few or none,
    where the rules over all of it took ~4 s of `validate` (which runs on every `dvc repro`) and of `split`."""
    table = paragraphs.merge(gold.drop(columns=[TEXT]), on=ID, how="left", indicator=True)
    is_gold = (table.pop("_merge") == "both").to_numpy()
    weak = np.zeros((len(table), len(SIGNALS)), dtype="int8")
    if not is_gold.all():
        weak[~is_gold] = weak_labels(table.loc[~is_gold, TEXT])[list(SIGNALS)].to_numpy()
    for j, signal in enumerate(SIGNALS):
        table[signal] = table[signal].where(is_gold, weak[:, j]).astype("int8")
    table["label_source"] = pd.Series(is_gold).map({True: "gold", False: "weak"}).to_numpy()
    orphans = sorted(set(gold[ID]) - set(paragraphs[ID]))
    report = {
        "paragraphs": int(len(table)),
        "gold": int(is_gold.sum()),
        "weak": int((~is_gold).sum()),
        "orphan_labels": orphans,
        "unlabelled": table.loc[~is_gold, ID].tolist(),
    }
    return table, report


def read_table(path: Path) -> pd.DataFrame:
    """The paragraphs table written by `split`."""
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise InputError(path, f"cannot read paragraphs table ({str(exc).splitlines()[0]})") from exc


def training_rows(table: pd.DataFrame, use_weak: bool) -> pd.DataFrame:
    """Gold-labelled rows, plus weakly labelled ones when asked; stable order."""
    keep = table["label_source"].eq("gold") | (use_weak & table["label_source"].eq("weak"))
    return table[keep].reset_index(drop=True)


MIN_TRAIN_ARTICLES = 2  # thresholds are tuned on article-grouped folds: at least two
# crossvalidate's grouped cross-validation holds one article's fold out and trains on the rest: one more
MIN_CV_ARTICLES = MIN_TRAIN_ARTICLES + 1


def check_trainable(rows: pd.DataFrame, source, min_positives: int = 1, classifier: str = "") -> None:
    """Refuse training rows that cannot give a model: too few articles, or a signal with no positive
    or fewer than the classifier needs (`pipeline.model.min_positives`)."""
    if rows["article_id"].nunique() < MIN_TRAIN_ARTICLES:
        raise InputError(source, f"training needs labelled paragraphs from at least {MIN_TRAIN_ARTICLES} articles "
                                 "(thresholds are tuned on article-grouped folds)")
    empty = [s for s in SIGNALS if rows[s].sum() == 0]
    if empty:
        raise InputError(source, f"no positive training example for signal '{empty[0]}'")
    few = [s for s in SIGNALS if rows[s].sum() < min_positives]
    if few:
        raise InputError(source, f"signal '{few[0]}' has {int(rows[few[0]].sum())} positive training examples; "
                                 f"classifier '{classifier}' needs at least {min_positives}")


def check_evaluable(rows: pd.DataFrame, source) -> None:
    """Refuse training rows too few for crossvalidate's article-grouped cross-validation."""
    if rows.loc[rows["label_source"].eq("gold"), "article_id"].nunique() < MIN_CV_ARTICLES:
        raise InputError(source, f"cross-validation needs gold labels from at least {MIN_CV_ARTICLES} articles "
                                 "(thresholds are tuned inside each training fold)")


def holdout_split(rows: pd.DataFrame, source: str) -> tuple[pd.Series, pd.Series]:
    """(rows the holdout model trains on, gold rows it is tested on): articles outside and inside the
    source folder `source` (the `source` column `split` gives each article)."""
    inside = rows["source"].eq(source)
    return ~inside, inside & rows["label_source"].eq("gold")


def check_holdout(rows: pd.DataFrame, source: str, params_source) -> None:
    """Refuse an `evaluate.holdout_source` with no gold-labelled article, or too few articles outside it."""
    fit, test = holdout_split(rows, source)
    if not test.any():
        known = ", ".join(sorted(rows.loc[rows["label_source"].eq("gold"), "source"].unique()))
        raise InputError(params_source, f"param 'evaluate.holdout_source' is '{source}', but no gold-labelled "
                                        f"article comes from that source folder (those that do: {known})")
    if rows.loc[fit, "article_id"].nunique() < MIN_TRAIN_ARTICLES:
        raise InputError(params_source, f"param 'evaluate.holdout_source': the model trained without '{source}' "
                                        f"needs labelled paragraphs from at least {MIN_TRAIN_ARTICLES} other articles")
