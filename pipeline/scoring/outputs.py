"""Output files for scoring: Parquet, CSV or JSONL chosen by extension, written batch by batch,
and the per-document summary."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from pipeline.config import InputError
from pipeline.reporting.entities import SEPARATOR
from pipeline.signals import SIGNALS

FORMATS = (".parquet", ".csv", ".jsonl")
# Rows per Parquet row group: each group's metadata stays in memory until the file is closed, so a group per
# small batch would make memory grow with the output (millions of one-character paragraphs); and the last group
# is encoded after the last batch is scored, while no other process has work: at 100,000 rows a group, that was
# all of a 100,000-paragraph run's output (0.12 s, serial, against 0.02 s at 25,000; benchmarks/README.md).
ROW_GROUP = 25_000


def output_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(path, f"output must end in {', '.join(FORMATS)}")
    return suffix


def _native(value):
    """numpy scalars (and pandas NA) as plain JSON values."""
    return None if pd.isna(value) else value.item()


class Writer:
    """Appends batches to a temporary file in the chosen format; the caller renames it when done.
    What was appended since a `mark` can be taken back (a table that fails after some of its rows)."""

    def __init__(self, path: Path, suffix: str):
        self.path, self.suffix, self.parquet, self.rows, self.started = path, suffix, None, 0, False
        self.pending: list = []  # Parquet batches not yet written as a row group
        self.groups = 0  # Parquet row groups written

    def mark(self) -> tuple:
        """Where the output stands: the bytes written (CSV, JSONL) or batches pending (Parquet), and rows."""
        size = len(self.pending) if self.suffix == ".parquet" else os.path.getsize(self.path)
        return size, self.groups, self.rows, self.started

    def rollback(self, mark: tuple) -> bool:
        """Take back everything written since `mark`; False if it cannot be (a Parquet row group was
        written since), and then nothing is changed."""
        size, groups, rows, started = mark
        if groups != self.groups:
            return False
        if self.suffix == ".parquet":
            del self.pending[size:]
        else:
            os.truncate(self.path, size)
        self.rows, self.started = rows, started
        return True

    def write(self, frame: pd.DataFrame) -> None:
        if self.suffix == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self.parquet is None:
                self.parquet = pq.ParquetWriter(self.path, table.schema)
            self.pending.append(table.cast(self.parquet.schema))
            if sum(len(part) for part in self.pending) >= ROW_GROUP:
                self._flush()
        elif self.suffix == ".csv":
            frame.to_csv(self.path, mode="a", header=not self.started, index=False, lineterminator="\n")
        else:  # json.dumps writes float64 exactly; pandas' to_json rounds to 10 digits
            with open(self.path, "a", encoding="utf-8") as handle:
                for record in frame.to_dict(orient="records"):
                    handle.write(json.dumps(record, ensure_ascii=False, default=_native) + "\n")
        self.rows += len(frame)
        self.started = True

    def close(self, empty: pd.DataFrame) -> None:
        """Finish the file; an output with no rows still gets its header or schema."""
        if not self.started:
            self.write(empty)
        if self.parquet is not None:
            self._flush()
            self.parquet.close()

    def _flush(self) -> None:
        if self.pending:
            import pyarrow as pa

            self.parquet.write_table(pa.concat_tables(self.pending))
            self.pending = []
            self.groups += 1


class Summary:
    """Per document: paragraphs, its language (that of most of its paragraphs; on a tie, the first met),
    maximum probability and number of flagged paragraphs per signal, date, source, title and the entities
    its paragraphs name (not its furniture, as index and report leave it out)."""

    def __init__(self):
        self.parts: list[pd.DataFrame] = []
        self.langs: list[pd.Series] = []  # paragraphs per (document, language), per batch
        self.spec = {"paragraphs": ("paragraph_id", "size"), **{f"max_p_{s}": (f"p_{s}", "max") for s in SIGNALS},
                     **{f"n_{s}": (s, "sum") for s in SIGNALS},
                     **{c: (c, "first") for c in ("date", "source", "title")}, "entities": ("entities", _union)}

    def add(self, frame: pd.DataFrame) -> None:
        if "kind" in frame:  # a firm named in page furniture (上一篇: ..., a running header) is not the document's news
            frame = frame.assign(entities=frame["entities"].where(frame["kind"].ne("furniture")))
        self.parts.append(frame.groupby("doc_id", sort=False).agg(**self.spec))
        self.langs.append(frame.groupby(["doc_id", "lang"], sort=False).size())

    def mark(self) -> int:
        return len(self.parts)

    def rollback(self, mark: int) -> None:
        """Forget the batches added since `mark`."""
        del self.parts[mark:], self.langs[mark:]

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            columns = {c: _EMPTY.get(c, "float64" if c.startswith("max_p_") else "int64") for c in self.spec}
            return pd.DataFrame({"doc_id": pd.Series(dtype=object), "paragraphs": pd.Series(dtype="int64"),
                                 "lang": pd.Series(dtype="string"),
                                 **{c: pd.Series(dtype=t) for c, t in columns.items() if c != "paragraphs"}})
        joined = pd.concat(self.parts)  # a document may span batches: combine its parts
        combine = {c: _COMBINE.get(c, "max" if c.startswith("max_p_") else "sum") for c in self.spec}
        out = joined.groupby(level=0, sort=False).agg(combine)
        per_lang = pd.concat(self.langs).groupby(level=[0, 1], sort=False).sum()
        out.insert(1, "lang", per_lang.groupby(level=0, sort=False).idxmax().str[1].astype("string"))
        return out.reset_index(names="doc_id")


def _union(names: pd.Series) -> str:
    """The entities of a document's paragraphs, each once, in order of first mention."""
    return SEPARATOR.join(dict.fromkeys(n for value in names.dropna() if value for n in value.split(SEPARATOR)))


_COMBINE = {"date": "first", "source": "first", "title": "first", "entities": _union}
_EMPTY = {c: "string" for c in _COMBINE}
