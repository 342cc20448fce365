"""Inputs for scoring: text/Markdown/HTML/PDF/Word files, directories, globs, CSV/JSONL/Parquet tables, stdin.

Everything is streamed as `Unit`s (one document, or one chunk of table rows), so
memory does not grow with the input. A bad input raises InputError naming it;
the caller decides whether to skip it or stop.
"""
from __future__ import annotations

import glob
import io
import itertools
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from pipeline.config import InputError, files_under, is_temporary
from pipeline.reporting.metadata import html_meta
from pipeline.scoring import extract, filetypes, table_text
from pipeline.stages.split import read_article, text_from_bytes
from pipeline.text import layout_table, markdown_text, table_rows

TEXT_SUFFIXES = {".txt", ".md"}
HTML_SUFFIXES = {".html", ".htm"}
TABLE_SUFFIXES = {".csv", ".jsonl", ".parquet"}
DOCUMENT_SUFFIXES = {".pdf", ".docx"}
READ_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | TABLE_SUFFIXES | DOCUMENT_SUFFIXES
CHUNK_ROWS = 5000


@dataclass
class Unit:
    """A document to split (`text`), or table rows scored whole or split (`rows`)."""
    doc_id: str | None = None
    text: str | None = None
    meta: dict | None = None  # date, source, title found by the reader (a saved page's metadata)
    table: pd.DataFrame | None = None  # the table rows as read, for metadata columns
    rows: pd.DataFrame | None = None  # columns doc_id, text
    furniture: frozenset[str] = frozenset()  # page furniture an extractor found in `text`


def expand(arguments: list[str]) -> Iterator[str | Path]:
    """Input arguments -> files in a stable order; '-' stays '-'. A pattern or path matching nothing is an error."""
    for argument in arguments:
        if argument == "-":
            yield "-"
            continue
        path = Path(argument)
        if path.is_dir():
            members = [p for p in files_under(path) if not is_temporary(p)]
            found = [p for p in members if p.suffix.lower() in READ_SUFFIXES]
            for other in (p for p in members if p.suffix.lower() not in READ_SUFFIXES):
                _name_if_not_text(other)
            if not found:
                raise InputError(path, f"directory has no {filetypes.ACCEPTED} files")
            yield from found
        elif path.exists():
            yield path
        elif glob.has_magic(argument):
            matches = sorted(Path(m) for m in glob.glob(argument, recursive=True)
                             if Path(m).is_file() and not is_temporary(m))
            if not matches:
                raise InputError(argument, "pattern matches no files")
            yield from matches
        else:
            raise InputError(path, "no such file or directory")


def _name_if_not_text(path: Path) -> None:
    """A folder's file that is not read: one line saying what it is when its name or first bytes say it is
    not text (an archive, image, program...); other files (notes, code) are left alone silently."""
    try:
        kind = filetypes.identify(path)
    except InputError as exc:
        print(f"skipped: {exc}", file=sys.stderr)
        return
    except OSError as exc:
        print(f"skipped: {path}: cannot read it ({exc.strerror or type(exc).__name__})", file=sys.stderr)
        return
    if kind:
        print(f"skipped: {path}: a {kind.upper() if kind == 'pdf' else 'Word'} document without a .{kind} name; "
              f"rename it to score it", file=sys.stderr)


def html_text(data: bytes, name: str) -> str:
    """Main text of a saved web page (trafilatura drops navigation, scripts and boilerplate), its data tables
    one paragraph per row. Without its tables, a page built around one came out as one run-on paragraph, or
    without the table's rows; a page laid out in a table (one cell per row, several paragraphs in a cell) is
    read without tables, which keeps its paragraphs apart."""
    import trafilatura

    text = trafilatura.extract(data, include_comments=False, include_tables=True, favor_recall=True)
    if text and layout_table(text):
        text = trafilatura.extract(data, include_comments=False, include_tables=False, favor_recall=True)
    if not text or not text.strip():
        raise InputError(name, "no main text found in HTML page")
    return table_rows(text)


def html_unit(data: bytes, name: str, doc_id: str) -> Unit:
    """A saved web page: its main text, headed by its title where the main text lacks it (Chinese news and
    government pages keep the headline outside the block trafilatura takes: `div.article > h1`, `#zoom`), so the
    headline is scored as its title paragraph, as a file of the same article would be."""
    text, meta = html_text(data, name), html_meta(data)
    title = " ".join((meta.get("title") or "").split())
    opening = [" ".join(line.split()) for line in text.strip().splitlines()[:3]]
    if title and not any(line and line in title for line in opening):  # a line naming a page titled 'X_site': in
        text = f"{title}\n{text}"
    return Unit(doc_id=doc_id, text=text, meta=meta)


def _json_frame(lines: list[str], start: int) -> pd.DataFrame:
    frame = pd.read_json(io.StringIO("".join(lines)), lines=True, dtype=False)
    frame.index = pd.RangeIndex(start, start + len(frame))
    return frame


def _jsonl_chunks(source) -> Iterator[pd.DataFrame]:
    """A JSONL file (path or binary handle) in frames of CHUNK_ROWS lines, each line first checked to be a
    JSON object: pandas reads a line that is a list of pairs as an object, and fails on a number or null.
    At a bad line the lines before it come first (--keep-partial keeps them), then the error naming it."""
    handle = open(source, encoding="utf-8-sig") if isinstance(source, (str, Path)) else \
        io.TextIOWrapper(source, encoding="utf-8-sig")  # a BOM is not part of the first line
    with handle:
        number, start = 0, 0
        while True:
            lines, error = [], None
            for line in itertools.islice(handle, CHUNK_ROWS):
                number += 1
                head = line.lstrip()[:1]
                if head and head != "{":
                    error = ValueError(f"line {number} is not a JSON object")
                    break
                lines.append(line)
            first = number - len(lines) + 1 - (error is not None)  # the line number of lines[0]
            if any(line.strip() for line in lines):
                try:
                    frame = _json_frame(lines, start)
                except ValueError:  # find the first line that does not parse; the lines before it are good
                    bad = next(((i, why) for i, line in enumerate(lines) if line.strip() and (why := _json_error(line))),
                               None)
                    if bad is None:
                        raise
                    error, lines = ValueError(f"line {first + bad[0]} is not valid JSON ({bad[1]})"), lines[:bad[0]]
                    frame = _json_frame(lines, start) if any(line.strip() for line in lines) else None
                if frame is not None:
                    start += len(frame)
                    yield frame
            if error is not None:
                raise error
            if not lines:
                return


def _json_error(line: str) -> str | None:
    """Why a line is not JSON, or None."""
    import json

    try:
        json.loads(line)
    except ValueError as exc:
        return str(exc)
    return None


def _table_chunks(path: Path | str, suffix: str, handle=None) -> Iterator[pd.DataFrame]:
    source = handle if handle is not None else path
    if suffix == ".csv":
        done, encoding = 0, "utf-8"
        if isinstance(source, (str, Path)):
            with open(source, "rb") as head:
                if head.read(2) in (b"\xff\xfe", b"\xfe\xff"):  # a UTF-16 export with its BOM (Excel's 'Unicode text')
                    encoding = "utf-16"
        try:
            for chunk in pd.read_csv(source, dtype=object, keep_default_na=False, chunksize=CHUNK_ROWS, encoding=encoding):
                if not isinstance(chunk.index, pd.RangeIndex):  # pandas took a longer first row's extra fields as an index
                    raise ValueError(f"the first row has {chunk.index.nlevels + len(chunk.columns)} fields, "
                                     f"the header {len(chunk.columns)}")
                yield chunk
                done += len(chunk)
        except pd.errors.ParserError:
            good = _csv_rows_before_error(source, done, encoding)  # the failed chunk's rows before its bad one
            if good is not None and len(good):
                yield good
            raise
    elif suffix == ".jsonl":
        yield from _jsonl_chunks(source)
    else:
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(source).iter_batches(batch_size=CHUNK_ROWS):
            yield batch.to_pandas()


def _csv_rows_before_error(source, skip: int, encoding: str = "utf-8") -> pd.DataFrame | None:
    """Where pandas failed on a chunk (a row with extra fields, a quote never closed), the rows after the first
    `skip` that Python's csv reader reads whole before the bad one, as pandas would have read them; None for
    a source that cannot be read again."""
    import csv

    if isinstance(source, (str, Path)):
        handle = open(source, encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline="")
    elif hasattr(source, "seek"):
        source.seek(0)
        handle = io.TextIOWrapper(source, encoding="utf-8-sig", newline="")
    else:
        return None
    with handle:
        reader = csv.reader(handle, strict=True)
        header, rows = next(reader, None), []
        if header is None:
            return None
        try:
            for record in itertools.islice((r for r in reader if r), skip, None):  # blank lines: skipped, as pandas does
                if len(record) > len(header):
                    break
                rows.append(record + [None] * (len(header) - len(record)))
        except csv.Error:
            pass
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    frame.index = pd.RangeIndex(skip, skip + len(frame))
    return frame


class RowIds:
    """Each table row's doc_id: its `--id-column` value as text, else (no column given, or a null or blank value)
    '<table id>:<row>'. Counts the scored rows that had no id or repeat an earlier row's, for one warning."""

    def __init__(self, name: str, column: str | None):
        self.name, self.column, self.seen, self.missing, self.repeated, self.example = name, column, set(), 0, 0, None

    def __call__(self, chunk: pd.DataFrame, start: int, scored: list[bool]) -> np.ndarray:
        """The ids of a chunk whose first row is row `start` (0-based) of the table; `scored`: each row's fate."""
        if not self.column:
            return np.array([f"{self.name}:{start + i + 1}" for i in range(len(chunk))], dtype=object)
        ids = chunk[self.column].astype(str).to_numpy(dtype=object)  # a null stays null (pandas 3)
        named = np.array([isinstance(value, str) and bool(value.strip()) for value in ids], dtype=bool)
        for i in np.flatnonzero(~named):
            ids[i] = f"{self.name}:{start + i + 1}"
        scored = np.array(scored, dtype=bool)
        self.missing += int((scored & ~named).sum())
        own = ids[scored & named].tolist()
        repeats = pd.Series(own).duplicated().to_numpy() | np.fromiter(map(self.seen.__contains__, own), bool, len(own))
        if repeats.any() and self.example is None:
            self.example = own[int(np.argmax(repeats))]
        self.repeated += int(repeats.sum())
        self.seen.update(own)
        return ids

    def warning(self) -> str | None:
        """One line for the table, or None when every scored row had an id of its own."""
        notes = []
        if self.repeated:
            notes.append(f"{self.repeated} row(s) repeat an earlier row's '{self.column}' (first {self.example!r}): "
                         "each is scored under that id from position 0, and --summary counts them as one document")
        if self.missing:
            notes.append(f"{self.missing} row(s) have no '{self.column}' and are identified as '{self.name}:<row>'")
        return "; ".join(notes) or None


def table_units(path: Path | str, suffix: str, text_column: str, id_column: str | None, handle=None,
                coerce_text: bool = False, doc_id: str | None = None) -> Iterator[Unit]:
    """Row chunks of a table, with a doc_id per row (the id column, else '<table id>:<row>')."""
    row_ids = RowIds(doc_id or Path(str(path)).name, id_column)
    start, has_text, empty = 0, False, 0
    try:
        for chunk in _table_chunks(path, suffix, handle):
            if text_column not in chunk.columns:
                raise InputError(path, f"no column '{text_column}' (columns: {', '.join(map(str, chunk.columns))})")
            if id_column and id_column not in chunk.columns:
                raise InputError(path, f"no id column '{id_column}'")
            twice = [c for c in (text_column, id_column) if c and suffix == ".csv" and f"{c}.1" in chunk.columns]
            if twice:  # pandas names a repeated header 'text.1' and reads the first: which one was meant?
                raise InputError(path, f"column '{twice[0]}' appears more than once in the header; rename one")
            try:
                texts = table_text.strings(chunk[text_column], path, start, text_column, coerce_text)
            except table_text.BadValue as bad:  # the rows before it are good: --keep-partial keeps them
                chunk = chunk.iloc[:bad.index]
                texts, failed = table_text.strings(chunk[text_column], path, start, text_column, coerce_text), bad
            else:
                failed = None
            filled = [bool(text.strip()) for text in texts]  # empty rows have nothing to score
            ids = row_ids(chunk, start, filled)
            has_text = has_text or any(filled)
            empty += len(filled) - sum(filled)
            rows = pd.DataFrame({"doc_id": ids, "text": texts}, dtype=object)[filled]
            start += len(chunk)
            if len(rows):
                yield Unit(rows=rows, table=chunk[filled])
            if failed is not None:
                raise failed
    except UnicodeDecodeError as exc:  # an Excel export in the Windows code page, a UTF-16 file without its BOM
        raise InputError(path, f"not valid UTF-8 (byte 0x{exc.object[exc.start]:02x}); save the table as UTF-8 "
                               "(Excel: 'CSV UTF-8')") from exc
    except (ValueError, OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(path, f"cannot read table ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from exc
    if start == 0:
        raise InputError(path, "table has no rows")
    if not has_text:
        raise InputError(path, f"no text to score: column '{text_column}' is empty in all {start} rows")
    notes = [f"{empty} row(s) with no text in '{text_column}' are not scored"] if empty else []
    if (note := row_ids.warning()) is not None:
        notes.append(note)
    if notes:
        print(f"warning: {path}: {'; '.join(notes)}", file=sys.stderr)


def document_unit(kind: str, source: Path | bytes, name, doc_id: str) -> Unit:
    """A PDF or Word document through its extractor; what it could not read is noted on stderr."""
    found = extract.EXTRACTORS[kind](source, name)
    for note in found.notes:
        print(f"warning: {name}: {note}", file=sys.stderr)
    return Unit(doc_id=doc_id, text=found.text, furniture=found.furniture)


def bytes_unit(data: bytes, name, suffix: str, doc_id: str) -> Unit:
    """A document given as bytes (standard input, an API request): a PDF or Word file by its first bytes, else
    read as `suffix` says (.html, .md, or text), exactly as a file of that kind is read."""
    kind = filetypes.identify_bytes(data, name, suffix)
    if kind:
        return document_unit(kind, data, name, doc_id)
    if suffix in HTML_SUFFIXES:
        return html_unit(data, name, doc_id)
    text = text_from_bytes(data, name)
    return Unit(doc_id=doc_id, text=markdown_text(text) if suffix == ".md" else text)


def units(item: str | Path, text_column: str, id_column: str | None, stdin_format: str,
          doc_id: str | None = None, coerce_text: bool = False) -> Iterator[Unit]:
    """The units of one expanded input; `doc_id` names it (default: the path as given)."""
    if item == "-":
        data = sys.stdin.buffer.read()
        if stdin_format in TABLE_SUFFIXES and not filetypes.identify_bytes(data, "<stdin>", stdin_format):
            yield from table_units("<stdin>", stdin_format, text_column, id_column, io.BytesIO(data), coerce_text)
        else:
            yield bytes_unit(data, "<stdin>", stdin_format, "stdin")
        return
    path = Path(item)
    suffix = path.suffix.lower()
    kind = filetypes.identify(path)
    if kind:
        yield document_unit(kind, path, path, doc_id or str(path))
    elif suffix in TABLE_SUFFIXES:
        yield from table_units(path, suffix, text_column, id_column, coerce_text=coerce_text, doc_id=doc_id)
    elif suffix in HTML_SUFFIXES:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(path, f"cannot read ({exc.strerror or exc})") from exc
        yield html_unit(data, str(path), doc_id or str(path))
    else:  # .txt, .md and anything named explicitly
        yield Unit(doc_id=doc_id or str(path), text=read_article(path))

