"""Date, source and title of each scored document, and the entities of each paragraph.

A document's metadata comes from its saved page (trafilatura/htmldate), its table columns
(--date-column, --source-column, --title-column; by default columns called date, source and title)
or a `date:`/`source:`/`title:` front-matter
block; a --catalog CSV (path or doc id -> date, source, title) overrides them field by field.
Dates become ISO `YYYY-MM-DD`; one that cannot be read is reported for its document and left empty.
"""
from __future__ import annotations

import datetime as dt
import re
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path, PurePath

import pandas as pd

from pipeline.config import InputError, read_csv
from pipeline.text import FRONT_MATTER, TOKEN_HAN

FIELDS = ("date", "source", "title")
KEY_COLUMNS = ("doc_id", "path")
DOCUMENT_SUFFIXES = (".txt", ".md", ".html", ".htm")
MAX_WARNINGS = 20  # date problems printed one by one; the rest are counted
_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})(?:[-/.](\d{1,2}))?(?:[T ].*)?$")
_CHINESE = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月(?:\s*(\d{1,2})\s*(?:[日号]|$))?")  # 2025年3月4日, 2025年3月4
_NUMERIC = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{2,4})$")
_BASIC = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:T[\d:+Z.-]*)?$")  # ISO 8601's basic form: 20250404
_KEY_VALUE = re.compile(rf"^[ \t]*([A-Za-z_{TOKEN_HAN}][\w-]*)[ \t]*:[ \t]*(.*?)[ \t]*$", re.MULTILINE)
_BARE = re.compile(r"\A\ufeff?((?:[ \t]*(?:date|source|title|日期|发布日期|来源|标题)[ \t]*[:：][^\n]*\n)+)[ \t]*(?:\n|\Z)",
                   re.IGNORECASE)
_KEYS = {"日期": "date", "发布日期": "date", "来源": "source", "标题": "title"}  # front matter written in Chinese


def _field(key: str) -> str:
    """A front-matter key as the field it names: lower case, or the English for a Chinese key."""
    return _KEYS.get(key.strip(), key.strip().lower())


def parse_date(value) -> str | None:
    """An ISO date (YYYY-MM-DD) from a date, or from text such as 2025-07-07, 20250707, 7 July 2025,
    July 7, 2025, 2025年7月7日 or 2025-07 (the 1st). Empty gives None; anything else raises ValueError."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return _checked(value)
    text = str(value).strip()
    if not text:
        return None
    for pattern in (_ISO, _CHINESE, _BASIC):
        match = pattern.match(text)
        if match:
            year, month, day = (int(g) if g else 1 for g in match.groups())
            try:
                return _checked(dt.date(year, month, day))
            except ValueError as exc:  # 'month must be in 1..12' said nothing of which date
                raise ValueError(f"'{text}': {exc}") from exc
    numeric = _NUMERIC.match(text)
    if numeric and int(numeric.group(1)) <= 12 and int(numeric.group(2)) <= 12 and numeric.group(1) != numeric.group(2):
        raise ValueError(f"'{text}' is ambiguous (day/month or month/day?); write it as YYYY-MM-DD")
    if not re.search(r"(?<!\d)\d{4}(?!\d)", text):  # not \b: 2025年 has no word boundary after the year
        raise ValueError(f"'{text}' has no four-digit year")
    from dateutil import parser

    try:
        return _checked(parser.parse(text, dayfirst=True, default=dt.datetime(2000, 1, 1)).date())
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"'{text}' is not a date") from exc


def _checked(date: dt.date) -> str:
    if not 1900 <= date.year <= 2100:
        raise ValueError(f"'{date}' is outside 1900-2100")
    return date.isoformat()


def _safe_date(value, where: str, problems: list[str]) -> str | None:
    """The date, or None with the problem noted (`Settings.warn` prints it once the input is kept)."""
    try:
        return parse_date(value)
    except ValueError as exc:
        problems.append(f"{where}: date {exc}")
        return None


def front_matter(text: str) -> tuple[dict, str]:
    """({date, source, title} found, the text without its block): a `---`-fenced YAML block, or
    `date:`/`source:`/`title:` lines at the very top ended by a blank line."""
    fenced = FRONT_MATTER.match(text)
    if fenced:
        import yaml

        lines = unicodedata.normalize("NFKC", fenced.group(1))  # a Chinese IME's full-width colon: 'date：...'
        try:
            block = yaml.safe_load(lines)
        except (yaml.YAMLError, ValueError):  # an unquoted title with a colon, a date such as 2025-02-30: by line
            block = None
        if not isinstance(block, dict):  # also 'date:2025-03-04', no space after the colon: not YAML's mapping
            block = dict(_KEY_VALUE.findall(lines)) or None
        if isinstance(block, dict):
            keys = {k: _field(k) for k in block if isinstance(k, str)}
            found = {keys[k]: v for k, v in block.items() if keys.get(k) in FIELDS}
            return found, text[fenced.end():]
    bare = _BARE.match(text)
    if bare:
        found = {}
        for line in unicodedata.normalize("NFKC", bare.group(1)).splitlines():
            key, value = line.split(":", 1)
            found[_field(key)] = value.strip()
        return found, text[bare.end():]
    return {}, text


def html_meta(data: bytes) -> dict:
    """Publication date (from the page's markup: meta tags, JSON-LD, <time>, URL), site name (else host
    name) and title of a saved page."""
    import trafilatura

    try:
        found = trafilatura.extract_metadata(data, extensive=False)  # dates from markup, never guessed from the text
    except Exception:  # a page whose metadata cannot be read is still scored, without metadata
        found = None
    if found is None:
        return {}
    return {"date": found.date, "source": found.sitename or found.hostname, "title": found.title}


def _text(value) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    value = " ".join(str(value).split())
    return value or None


def _keys(doc_id: str) -> list[str]:
    """Ways a catalog may name a document: its id or path; for a file also the path without its
    suffix, the file name and the stem (the article id of a bundled article)."""
    path = PurePath(doc_id)
    keys = [doc_id, path.as_posix()]
    if path.suffix.lower() in DOCUMENT_SUFFIXES:
        keys += [path.with_suffix("").as_posix(), path.name, path.stem]
    return list(dict.fromkeys(keys))


def read_catalog(path: Path, problems: list[str]) -> dict[str, dict]:
    """Catalog CSV: a `doc_id` or `path` column and any of date, source, title (dates checked per row)."""
    table = read_csv(path, "catalog")
    key = next((c for c in KEY_COLUMNS if c in table.columns), None)
    if key is None:
        raise InputError(path, f"catalog needs a 'doc_id' or 'path' column (columns: {', '.join(table.columns)})")
    if not set(FIELDS) & set(table.columns):
        raise InputError(path, "catalog has none of the columns date, source, title")
    duplicated = table[key][table[key].duplicated()]
    if len(duplicated):
        raise InputError(path, f"catalog names '{duplicated.iloc[0]}' twice")
    catalog = {}
    for number, row in enumerate(table.to_dict("records"), start=2):
        entry = {f: _text(row.get(f)) for f in FIELDS if f in table.columns}
        if entry.get("date"):
            entry["date"] = _safe_date(entry["date"], f"{path}:{number} ({row[key]})", problems)
        catalog[PurePath(row[key]).as_posix()] = {k: v for k, v in entry.items() if v}
    return catalog


@dataclass
class Settings:
    """Where metadata comes from in one scoring run; collects the date problems it met."""
    date_column: str | None = None
    source_column: str | None = None
    title_column: str | None = None
    catalog: dict[str, dict] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    warned: set[str] = field(default_factory=set)  # problems printed (a Restart meets them again)
    matched: set[str] = field(default_factory=set)  # catalog keys that named a document

    @classmethod
    def from_args(cls, args) -> "Settings":
        from pipeline.reporting import entities

        entities.default()  # a bad entities file stops the run here, before any work
        settings = cls(args.date_column, args.source_column, args.title_column)
        if args.catalog:
            settings.catalog = read_catalog(args.catalog, settings.problems)
            settings.warn()
        return settings

    def warn(self, since: int = 0) -> None:
        """Print the date problems from `since` on that were not printed before, one line each up to
        MAX_WARNINGS, then one line saying the rest are counted. Called once an input is kept, so that a
        table skipped after some of its rows prints nothing."""
        for problem in self.problems[since:]:
            if len(self.warned) > MAX_WARNINGS:
                return
            if problem not in self.warned:
                self.warned.add(problem)
                print(f"warning: {problem}; left empty" if len(self.warned) <= MAX_WARNINGS else
                      "warning: more documents with unreadable dates (counted in the run record)", file=sys.stderr)

    def columns(self, table: pd.DataFrame, name: str) -> dict[str, str]:
        """Metadata field -> table column: the columns named on the command line (which must exist),
        else columns called date, source and title when the table has them."""
        named = dict(zip(FIELDS, (self.date_column, self.source_column, self.title_column)))
        for column in filter(None, named.values()):
            if column not in table.columns:
                raise InputError(name, f"no column '{column}' (columns: {', '.join(map(str, table.columns))})")
        return {f: named[f] or f for f in FIELDS if named[f] or f in table.columns}

    def from_catalog(self, doc_id: str, typed: str | None = None) -> dict:
        """The catalog's entry for a document: by its id, or for a file also by its path as typed."""
        if not self.catalog:  # the usual case: no catalog, so no paths to parse for each of a million rows
            return {}
        keys = _keys(str(doc_id)) + (_keys(PurePath(typed).as_posix()) if typed else [])
        key = next((k for k in keys if k in self.catalog), None)
        if key is None:
            return {}
        self.matched.add(key)
        return self.catalog[key]

    def warn_unmatched(self, catalog: Path | None) -> None:
        """Name the catalog rows that named no document read (a mistyped path or id is otherwise silent)."""
        unmatched = [key for key in self.catalog if key not in self.matched]
        if unmatched:
            shown = ", ".join(map(repr, unmatched[:3])) + (f" and {len(unmatched) - 3} more" if len(unmatched) > 3 else "")
            print(f"warning: {catalog}: {len(unmatched)} row(s) named no scored document: {shown}", file=sys.stderr)


def attach(docs: pd.DataFrame, unit, settings: Settings, name: str = "") -> pd.DataFrame:
    """The documents of one input unit with date, source and title columns (main process, before scoring).

    A text document loses its front-matter block here (so the block is not scored as a paragraph);
    table rows take the named columns; the catalog overrides either."""
    docs = docs.copy()
    if unit.text is not None:
        found = unit.meta
        if found is None:  # a text document: its metadata, if any, is a front-matter block
            found, body = front_matter(docs["text"].iat[0])
            docs["text"] = [body]
        rows = [found]
    else:
        columns = settings.columns(unit.table, name or str(docs["doc_id"].iat[0]))
        if not columns and not settings.catalog:  # nothing to look up for any row: the usual big table
            return docs.assign(**{f: pd.array([None] * len(docs), dtype="string") for f in FIELDS})
        picked = {f: unit.table[c].to_numpy() for f, c in columns.items()}
        rows = [{f: values[i] for f, values in picked.items()} for i in range(len(docs))]
    out = {f: [] for f in FIELDS}
    typed = name if unit.text is not None and name else None  # a document file's path as the user typed it
    for doc_id, found in zip(docs["doc_id"], rows):
        found = {**{f: v for f, v in found.items() if _text(v) is not None}, **settings.from_catalog(doc_id, typed)}
        out["date"].append(_safe_date(found.get("date"), str(doc_id), settings.problems))
        out["source"].append(_text(found.get("source")))
        out["title"].append(_text(found.get("title")))
    return docs.assign(**{f: pd.array(v, dtype="string") for f, v in out.items()})


def annotate(batch: pd.DataFrame, own: pd.DataFrame) -> pd.DataFrame:
    """Scored paragraphs with their document's date, source and title (`own`: the document row of each
    paragraph, in order; else its title line) and their own entities: the hook in `score`, run in the workers."""
    from pipeline.reporting import entities

    out = batch.copy()
    for f in FIELDS:
        out[f] = pd.array(own[f].to_numpy() if f in own else [None] * len(batch), dtype="string")
    if len(batch) and "text" in batch:  # a document without a title: its own title line, if the splitter found one
        titles = batch[batch["kind"].eq("title")].drop_duplicates("doc_id").set_index("doc_id")["text"]
        out["title"] = out["title"].fillna(pd.Series(batch["doc_id"].map(titles), dtype="string"))
    matcher = entities.default()
    texts = batch["text"] if "text" in batch else [""] * len(batch)
    out["entities"] = pd.array([entities.SEPARATOR.join(matcher.find(t)) for t in texts], dtype="string")
    return out
