"""Inputs for scoring: text/Markdown/HTML files, directories, globs, CSV/JSONL/Parquet tables, stdin.

Everything is streamed as `Unit`s (one document, or one chunk of table rows), so
memory does not grow with the input. A bad input raises InputError naming it;
the caller decides whether to skip it or stop.
"""
from __future__ import annotations

import glob
import io
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pandas as pd

from pipeline.config import InputError
from pipeline.split import read_article, text_from_bytes
from pipeline.reporting.metadata import html_meta

TEXT_SUFFIXES = {".txt", ".md"}
HTML_SUFFIXES = {".html", ".htm"}
TABLE_SUFFIXES = {".csv", ".jsonl", ".parquet"}
CHUNK_ROWS = 5000


@dataclass
class Unit:
    """A document to split (`text`), or table rows scored as they are or split (`rows`)."""
    doc_id: str | None = None
    text: str | None = None
    meta: dict | None = None  # date, source, title found by the reader (a saved page's metadata)
    table: pd.DataFrame | None = None  # the table rows as read, for metadata columns
    rows: pd.DataFrame | None = None  # columns doc_id, text


def expand(arguments: list[str]) -> Iterator[str | Path]:
    """Input arguments -> files in a stable order; '-' stays '-'. A pattern or path matching nothing is an error."""
    for argument in arguments:
        if argument == "-":
            yield "-"
            continue
        path = Path(argument)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file()
                           and p.suffix.lower() in TEXT_SUFFIXES | HTML_SUFFIXES | TABLE_SUFFIXES)
            if not found:
                raise InputError(path, "directory has no .txt, .md, .html, .csv, .jsonl or .parquet files")
            yield from found
        elif path.exists():
            yield path
        elif glob.has_magic(argument):
            matches = sorted(Path(m) for m in glob.glob(argument, recursive=True) if Path(m).is_file())
            if not matches:
                raise InputError(argument, "pattern matches no files")
            yield from matches
        else:
            raise InputError(path, "no such file or directory")


def html_text(data: bytes, name: str) -> str:
    """Main text of a saved web page (trafilatura drops navigation, scripts and boilerplate)."""
    import trafilatura

    text = trafilatura.extract(data, include_comments=False, include_tables=False, favor_recall=True)
    if not text or not text.strip():
        raise InputError(name, "no main text found in HTML page")
    return text


def _table_chunks(path: Path | str, suffix: str, handle=None) -> Iterator[pd.DataFrame]:
    source = handle if handle is not None else path
    if suffix == ".csv":
        yield from pd.read_csv(source, dtype=str, keep_default_na=False, chunksize=CHUNK_ROWS, encoding="utf-8")
    elif suffix == ".jsonl":
        yield from pd.read_json(source, lines=True, dtype=False, chunksize=CHUNK_ROWS, encoding="utf-8")
    else:
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(source).iter_batches(batch_size=CHUNK_ROWS):
            yield batch.to_pandas()


def table_units(path: Path | str, suffix: str, text_column: str, id_column: str | None, handle=None) -> Iterator[Unit]:
    """Row chunks of a table, with a doc_id per row (the id column, else '<file>:<row>')."""
    start = 0
    try:
        for chunk in _table_chunks(path, suffix, handle):
            if text_column not in chunk.columns:
                raise InputError(path, f"no column '{text_column}' (columns: {', '.join(map(str, chunk.columns))})")
            if id_column and id_column not in chunk.columns:
                raise InputError(path, f"no id column '{id_column}'")
            ids = chunk[id_column].astype(str) if id_column else \
                pd.Series([f"{Path(str(path)).name}:{start + i + 1}" for i in range(len(chunk))], index=chunk.index)
            rows = pd.DataFrame({"doc_id": ids.to_numpy(), "text": chunk[text_column].fillna("").astype(str).to_numpy()})
            start += len(chunk)
            yield Unit(rows=rows, table=chunk)
    except (UnicodeDecodeError, ValueError, OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(path, f"cannot read table ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from exc
    if start == 0:
        raise InputError(path, "table has no rows")


def units(item: str | Path, text_column: str, id_column: str | None, stdin_format: str) -> Iterator[Unit]:
    """The units of one expanded input."""
    if item == "-":
        data = sys.stdin.buffer.read()
        if stdin_format in TABLE_SUFFIXES:
            yield from table_units("<stdin>", stdin_format, text_column, id_column, handle=io.BytesIO(data))
        elif stdin_format == ".html":
            yield Unit(doc_id="stdin", text=html_text(data, "<stdin>"), meta=html_meta(data))
        else:
            yield Unit(doc_id="stdin", text=text_from_bytes(data, "<stdin>"))
        return
    path = Path(item)
    suffix = path.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        yield from table_units(path, suffix, text_column, id_column)
    elif suffix in HTML_SUFFIXES:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(path, f"cannot read ({exc.strerror or exc})") from exc
        yield Unit(doc_id=str(path), text=html_text(data, str(path)), meta=html_meta(data))
    else:  # .txt, .md and anything named explicitly
        yield Unit(doc_id=str(path), text=read_article(path))


def expand_safely(arguments: list[str], failed: list[str], strict: bool) -> Iterator[str | Path]:
    """`expand` one argument at a time, reporting (or, when strict, raising) arguments that match nothing."""
    for argument in arguments:
        try:
            yield from expand([argument])
        except InputError as exc:
            if strict:
                raise
            failed.append(argument)
            print(f"error: {exc} (skipped)", file=sys.stderr)
