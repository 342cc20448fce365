"""`policy-signals report`: one self-contained HTML file from scored paragraphs.

The batch overview (documents, paragraphs, failed inputs), per-signal counts, the signal index
over time for the most-mentioned entities with 95% intervals, the largest period-over-period
moves that exceed their interval, the top flagged paragraphs per signal with their explaining
n-grams highlighted, and a per-document table. Styles and charts (SVG) are inline and the page
runs no script, so nothing leaves it. Every section is capped, so a batch of a million
paragraphs still gives a small file in seconds.
"""
from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
import tempfile
from pathlib import Path

import pandas as pd

from pipeline.config import InputError, atomic_path
from pipeline.reporting import batchlog, charts, index
from pipeline.scoring import explain
from pipeline.signals import SIGNALS
from pipeline.text import TOKEN_HAN

MAX_TEXT = 1500  # characters of a top paragraph shown
# The model's word tokens (model.TOKEN_PATTERN): a Han character is a token of its own, other words are runs of
# non-Han word characters. So a Latin word's edge is where no such character follows, and Han tokens need none.
_HAN = re.compile(f"[{TOKEN_HAN}]")
_LATIN = rf"[^\W{TOKEN_HAN}]"


def _word_pattern(gram: str) -> str:
    """A word n-gram as it appears in the text: tokens apart by non-word characters (none needed beside a Han
    character, as in 整合), a Latin word not run on into another."""
    tokens = gram.split()
    pattern = re.escape(tokens[0])
    for before, token in zip(tokens, tokens[1:]):
        pattern += (r"\W*" if _HAN.match(before[-1]) or _HAN.match(token[0]) else r"\W+") + re.escape(token)
    lead = "" if _HAN.match(tokens[0][0]) else rf"(?<!{_LATIN})"
    tail = "" if _HAN.match(tokens[-1][-1]) else rf"(?!{_LATIN})"
    return lead + pattern + tail


def highlight(text: str, explanation: str | None) -> list[tuple[str, str | None]]:
    """The text cut into (piece, n-gram or None) so that the explaining n-grams can be marked."""
    try:
        terms = explain.parse(explanation or "")
    except ValueError:
        terms = []
    spans = []
    for gram, unit, weight in terms:
        if not gram.strip():
            continue
        if unit == "word":
            pattern = _word_pattern(gram)
        else:  # char_wb n-grams: a space marks a word edge
            core = re.escape(gram.strip())
            pattern = (r"(?<!\w)" if gram.startswith(" ") else "") + core + (r"(?!\w)" if gram.endswith(" ") else "")
        spans += [(m.start(), m.end(), f"{gram.strip()} ({weight:+.2f})")
                  for m in re.finditer(pattern, text, re.IGNORECASE)]
    pieces, at = [], 0
    for start, end, label in sorted(spans, key=lambda span: (span[0], -span[1])):  # the longest at a place: 智能, not 智
        if start < at:
            continue
        pieces += [(text[at:start], None), (text[start:end], label)]
        at = end
    pieces.append((text[at:], None))
    return [p for p in pieces if p[0]]


def records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts with None for missing values (NaN and NA are truthy or raise in a template)."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def overview(con, files: list[Path]) -> dict:
    row = con.execute(
        "SELECT count(DISTINCT doc_id), count(*), count(DISTINCT doc_id) FILTER (WHERE day IS NOT NULL), "
        "min(day), max(day), count(DISTINCT source) FILTER (WHERE source <> ?), "
        "count(*) FILTER (WHERE text IS NOT NULL), count(*) FILTER (WHERE day IS NULL) FROM scored",
        [index.UNKNOWN_SOURCE]).fetchall()[0]
    records = [(path, batchlog.read(path)) for path in files]
    return {
        "documents": row[0], "paragraphs": row[1], "dated_documents": row[2], "first": row[3], "last": row[4],
        "sources": row[5], "has_text": row[6] > 0, "undated": row[7], "files": [path.name for path in files],
        "failed": [f"{r['output']}: {name}" if len(files) > 1 else name
                   for path, r in records if r for name in r["failed_inputs"]],
        "unrecorded": [path.name for path, r in records if r is None],
        "date_problems": sum(r["date_problems"] for _, r in records if r),
    }


def signal_counts(con) -> pd.DataFrame:
    parts = ", ".join(f"sum({s}), count(DISTINCT doc_id) FILTER (WHERE {s} = 1), avg(p_{s})" for s in SIGNALS)
    row = con.execute(f"SELECT count(*), {parts} FROM scored").fetchall()[0]
    total = max(row[0], 1)
    return pd.DataFrame([{"signal": s, "paragraphs": int(row[1 + 3 * i] or 0), "share": (row[1 + 3 * i] or 0) / total,
                          "documents": int(row[2 + 3 * i]), "mean_p": row[3 + 3 * i] or 0.0}
                         for i, s in enumerate(SIGNALS)])


def top_entities(con, limit: int) -> list[tuple[str, int]]:
    """The entities named in most dated paragraphs (what the charts count), with those counts."""
    return [tuple(r) for r in con.execute(
        "SELECT name, count(*) AS n FROM (SELECT UNNEST(string_split(entities, '; ')) AS name FROM scored "
        "WHERE entities <> '' AND day IS NOT NULL) GROUP BY name ORDER BY n DESC, name LIMIT ?", [limit]).fetchall()]


def top_paragraphs(con, per_signal: int) -> dict[str, list[dict]]:
    out = {}
    for s in SIGNALS:
        frame = con.execute(
            f"SELECT doc_id, CAST(day AS VARCHAR) AS day, source, title, entities, text, p_{s} AS p, explain_{s} AS why "
            f"FROM scored WHERE {s} = 1 ORDER BY p_{s} DESC, doc_id, paragraph_id LIMIT ?", [per_signal]).df()
        rows = []
        for record in records(frame):
            text = record["text"] if isinstance(record["text"], str) else ""
            shown = text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + " …"
            rows.append({**record, "pieces": highlight(shown, record["why"])})
        out[s] = rows
    return out


def documents(con, limit: int) -> tuple[pd.DataFrame, int]:
    flags = ", ".join(f"CAST(sum({s}) AS INTEGER) AS {s}" for s in SIGNALS)  # sum() is a HUGEINT: a float in pandas
    total = " + ".join(f"sum({s})" for s in SIGNALS)
    frame = con.execute(
        f"SELECT doc_id, CAST(any_value(day) AS VARCHAR) AS date, any_value(source) AS source, "
        f"any_value(title) AS title, count(*) AS paragraphs, {flags}, "
        f"array_to_string(list_distinct(flatten(list(string_split(NULLIF(entities, ''), '; ')))), '; ') AS entities "
        f"FROM scored GROUP BY doc_id ORDER BY ({total}) DESC, doc_id LIMIT ?", [limit]).df()
    count = con.execute("SELECT count(DISTINCT doc_id) FROM scored").fetchall()[0][0]
    return frame, count


def trends(con, freq: str, names: list[str]) -> tuple[list[dict], pd.DataFrame]:
    """Charts of the index for all dated paragraphs and for each named entity; the index by entity."""
    index.groups_view(con, "all")
    overall = index.aggregate(con, freq)
    index.groups_view(con, "entity")
    by_entity = index.aggregate(con, freq)
    out = []
    if len(overall):
        periods = pd.date_range(overall["period"].min(), overall["period"].max(), freq=index.STARTS[freq])
    for number, (name, frame) in enumerate([("All dated paragraphs", overall)]
                                           + [(n, by_entity[by_entity["grp"] == n]) for n in names]):
        if len(frame):
            out.append({"name": name, "svg": charts.trend(frame, f"trend{number}", periods),
                        "periods": len(frame), "paragraphs": int(frame["paragraphs"].sum())})
    return out, by_entity.rename(columns={"grp": "entity"})


def render(context: dict) -> str:
    import jinja2

    environment = jinja2.Environment(loader=jinja2.PackageLoader("pipeline.reporting", "."),
                                     autoescape=True, trim_blocks=True, lstrip_blocks=True)
    return environment.get_template("template.html").render(**context)


def build(files: list[Path], freq: str = "M", entities: int = 6, moves: int = 20, paragraphs: int = 5,
          max_documents: int = 300, title: str = "Policy signals report") -> str:
    """The report's HTML for scores files."""
    with tempfile.TemporaryDirectory(prefix="policy-signals-report-") as scratch:
        con = index.connect(scratch)
        index.scored_view(con, files)
        summary = overview(con, files)
        counts = signal_counts(con)
        mentioned = top_entities(con, entities)
        charts_, by_entity = trends(con, freq, [n for n, _ in mentioned])
        changes = index.moves(by_entity, "entity", freq).head(moves)
        docs, total_docs = documents(con, max_documents)
        context = {
            "title": title, "generated": dt.date.today().isoformat(), "freq": index.FREQS[freq], "signals": SIGNALS,
            "overview": summary, "counts": counts.to_dict("records"),
            "counts_svg": charts.counts(dict(zip(counts["signal"], counts["paragraphs"])), "counts"),
            "entities": mentioned, "charts": charts_, "moves": changes.to_dict("records"), "colours": charts.COLOURS,
            "top": top_paragraphs(con, paragraphs), "documents": records(docs), "total_documents": total_docs,
        }
        con.close()
    return render(context)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="policy-signals report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scores", nargs="+", type=Path, help="outputs of `policy-signals score` (.parquet, .csv, .jsonl)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the report, .html")
    parser.add_argument("--freq", choices=list(index.FREQS), default="M", help="period of the index charts")
    parser.add_argument("--entities", type=int, default=6, help="charts for this many most-mentioned entities")
    parser.add_argument("--paragraphs", type=int, default=5, help="top flagged paragraphs shown per signal")
    parser.add_argument("--moves", type=int, default=20, help="largest period-over-period moves listed")
    parser.add_argument("--max-documents", type=int, default=300, help="rows of the per-document table")
    parser.add_argument("--title", default="Policy signals report")
    args = parser.parse_args(argv)
    if args.output.suffix.lower() not in (".html", ".htm"):
        raise InputError(args.output, "report output must end in .html")
    if min(args.entities, args.paragraphs, args.moves, args.max_documents) < 0:
        parser.error("counts must be >= 0")
    html = build(args.scores, args.freq, args.entities, args.moves, args.paragraphs, args.max_documents, args.title)
    with atomic_path(args.output) as tmp:
        tmp.write_text(html, encoding="utf-8")
    print(f"report: {len(html.encode()) / 1e6:.2f} MB -> {args.output}", file=sys.stderr)
    return 0
