"""`policy-signals index`: a signal index over time per entity or per source, from scored paragraphs.

Per group and period (week, month or quarter of the documents' dates): paragraph and document
counts and, per signal, the share of paragraphs flagged with a 95% Wilson interval, the mean
probability, and a source-normalised share: the mean over sources of each source's share divided
by that source's own share over the whole span (1.0 = the sources' usual level), so a prolific
outlet does not dominate. DuckDB streams over the scores files, so ten million rows fit in memory.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.config import InputError, atomic_path
from pipeline.signals import SIGNALS

FREQS = {"W": "week", "M": "month", "Q": "quarter"}
OFFSETS = {"W": pd.DateOffset(weeks=1), "M": pd.DateOffset(months=1), "Q": pd.DateOffset(months=3)}
STARTS = {"W": "W-MON", "M": "MS", "Q": "QS"}  # pandas frequencies of the periods' first days
GROUPS = ("entity", "source")
UNKNOWN_SOURCE = "(unknown source)"
Z = 1.959963984540054  # two-sided 95%
READERS = {".parquet": "read_parquet", ".csv": "read_csv", ".jsonl": "read_json"}
NEEDED = ("doc_id", "date", "source", "entities", *SIGNALS, *(f"p_{s}" for s in SIGNALS))


def wilson(k, n) -> tuple[np.ndarray, np.ndarray]:
    """95% Wilson score interval of k successes in n trials (arrays)."""
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
        half = Z * np.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return np.clip(np.minimum(centre - half, p), 0, 1), np.clip(np.maximum(centre + half, p), 0, 1)  # exact at 0 and 1


def connect(scratch: str):
    """A DuckDB connection that spills to `scratch` instead of holding everything in memory."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET temp_directory = '{scratch}'")
    con.execute("SET preserve_insertion_order = false")
    return con


def scored_view(con, files: list[Path]) -> None:
    """The view `scored` over every scores file (Parquet, CSV or JSONL, by extension), checked for the columns;
    paragraphs of kind `furniture` are left out (a running header naming a firm would count as its news)."""
    parts = []
    for path in files:
        reader = READERS.get(path.suffix.lower())
        if reader is None:
            raise InputError(path, f"scores must end in {', '.join(READERS)}")
        if not path.is_file():
            raise InputError(path, "no such file")
        try:
            source, columns = _reader(con, path, reader)
        except Exception as exc:  # duckdb raises its own error types for unreadable files
            raise InputError(path, f"cannot read scores ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from exc
        missing = [c for c in NEEDED if c not in columns]
        if missing:
            hint = " (scored before metadata and entities were added: score it again)" \
                if missing[0] in ("date", "source", "entities") else ""
            raise InputError(path, f"no column '{missing[0]}'{hint}")
        _check_numbers(con, path, source)
        text = "text" if "text" in columns else "NULL"
        explain = ", ".join(f"explain_{s}" if f"explain_{s}" in columns else f"NULL AS explain_{s}" for s in SIGNALS)
        flags = ", ".join(f"CAST({s} AS INTEGER) AS {s}, CAST(p_{s} AS DOUBLE) AS p_{s}" for s in SIGNALS)
        parts.append(
            f"SELECT CAST(doc_id AS VARCHAR) AS doc_id, TRY_CAST(date AS DATE) AS day, "
            f"COALESCE(NULLIF(TRIM(CAST(source AS VARCHAR)), ''), '{UNKNOWN_SOURCE}') AS source, "
            f"CAST(title AS VARCHAR) AS title, COALESCE(CAST(entities AS VARCHAR), '') AS entities, "
            f"CAST(paragraph_id AS VARCHAR) AS paragraph_id, CAST({text} AS VARCHAR) AS text, {flags}, {explain}, "
            f"'{_quoted(path)}' AS file FROM {source}"
            # page furniture (running headers, footers, page numbers, bylines) is no paragraph of the news
            + (" WHERE COALESCE(CAST(kind AS VARCHAR), '') <> 'furniture'" if "kind" in columns else ""))
    con.execute("CREATE OR REPLACE TEMP VIEW scored AS " + " UNION ALL ".join(parts))


def _check_numbers(con, path: Path, source: str) -> None:
    """Refuse a scores file whose flags or probabilities do not read as numbers (a file edited in a spreadsheet:
    'n/a', 'yes'), naming the column and value, before a query fails on it later without naming the file."""
    checks = [(s, "INTEGER", "a 0/1 flag") for s in SIGNALS] + [(f"p_{s}", "DOUBLE", "a probability") for s in SIGNALS]
    bad = [f'CASE WHEN "{c}" IS NOT NULL AND TRY_CAST("{c}" AS {kind}) IS NULL THEN CAST("{c}" AS VARCHAR) END'
           for c, kind, _ in checks]
    row = con.execute(f"SELECT {', '.join(bad)} FROM {source} WHERE COALESCE({', '.join(bad)}) IS NOT NULL "
                      "LIMIT 1").fetchone()
    if row is not None:
        (column, _, what), value = next((check, v) for check, v in zip(checks, row) if v is not None)
        raise InputError(path, f"column '{column}' holds {value!r}, not {what} (edited by hand? score it again)")


def _reader(con, path: Path, reader: str) -> tuple[str, set[str]]:
    """The table function reading one scores file, and its columns; text columns read as text (a doc_id of
    digits stays "007"): CSV by DuckDB's `all_varchar`, which its JSON reader lacks, so JSONL names every column
    it finds as VARCHAR; the SELECT in `scored_view` casts what it needs."""
    quoted = _quoted(path)
    source = {"read_parquet": f"read_parquet('{quoted}')", "read_csv": f"read_csv('{quoted}', all_varchar = true)",
              "read_json": f"read_json('{quoted}', format = 'newline_delimited')"}[reader]
    columns = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
    if reader == "read_json":
        typed = ", ".join(f"'{_quoted(c)}': 'VARCHAR'" for c in columns)
        source = f"read_json('{quoted}', format = 'newline_delimited', columns = {{{typed}}})"
    return source, set(columns)


def _quoted(text: Path | str) -> str:
    """A path or name inside a single-quoted SQL string."""
    return str(text).replace("'", "''")


def groups_view(con, by: str, roll_up: bool = False, matcher=None) -> None:
    """The view `grouped`: dated paragraphs with their group (one row per entity named, the source, or
    one group of all paragraphs)."""
    if by in ("source", "all"):
        group = "source" if by == "source" else "'all paragraphs'"
        con.execute(f"CREATE OR REPLACE TEMP VIEW grouped AS SELECT *, {group} AS grp FROM scored WHERE day IS NOT NULL")
        return
    exploded = ("SELECT * EXCLUDE (names), UNNEST(names) AS grp FROM "
                "(SELECT *, string_split(entities, '; ') AS names FROM scored WHERE day IS NOT NULL AND entities <> '')")
    if roll_up:
        pairs = pd.DataFrame([(name, up) for name in matcher.entities for up in [name, *matcher.ancestors(name)]],
                             columns=["entity", "counted_as"])
        con.register("roll_up", pairs)
        exploded = (f"SELECT DISTINCT e.* EXCLUDE (grp), r.counted_as AS grp FROM ({exploded}) e "
                    "JOIN roll_up r ON e.grp = r.entity")
    con.execute(f"CREATE OR REPLACE TEMP VIEW grouped AS {exploded}")


def aggregate(con, freq: str) -> pd.DataFrame:
    """The index from the `grouped` view (see the module docstring for the columns)."""
    unit = FREQS[freq]
    sums = ", ".join(f"sum({s}) AS n_{s}, sum(p_{s}) AS sum_p_{s}" for s in SIGNALS)
    by_source = con.execute(
        f"SELECT grp, CAST(date_trunc('{unit}', day) AS DATE) AS period, source, count(*) AS paragraphs, "
        f"count(DISTINCT doc_id) AS documents, {sums} FROM grouped GROUP BY ALL").df()
    means = con.execute("SELECT source, " + ", ".join(f"avg({s}) AS m_{s}" for s in SIGNALS)
                        + " FROM scored WHERE day IS NOT NULL GROUP BY source").df()
    return finish(by_source, means)


def finish(by_source: pd.DataFrame, means: pd.DataFrame) -> pd.DataFrame:
    """Per (group, period, source) sums -> the index rows, with intervals and the source-normalised share."""
    columns = ["grp", "period", "paragraphs", "documents", "sources"]
    for s in SIGNALS:
        columns += [f"n_{s}", f"share_{s}", f"share_{s}_low", f"share_{s}_high", f"mean_p_{s}", f"norm_{s}"]
    if by_source.empty:
        return pd.DataFrame({c: pd.Series(dtype="object" if c in ("grp", "period") else "float64") for c in columns})
    frame = by_source.merge(means, on="source", how="left")
    for s in SIGNALS:
        with np.errstate(invalid="ignore", divide="ignore"):
            relative = (frame[f"n_{s}"] / frame["paragraphs"]) / frame[f"m_{s}"]
        frame[f"rel_{s}"] = relative.where(frame[f"m_{s}"] > 0)
    sums = {c: "sum" for c in ["paragraphs", "documents", *[f"n_{s}" for s in SIGNALS], *[f"sum_p_{s}" for s in SIGNALS]]}
    out = frame.groupby(["grp", "period"], sort=True).agg(
        **{c: (c, how) for c, how in sums.items()}, sources=("source", "nunique"),
        **{f"norm_{s}": (f"rel_{s}", "mean") for s in SIGNALS}).reset_index()
    for s in SIGNALS:
        out[f"share_{s}"] = out[f"n_{s}"] / out["paragraphs"]
        out[f"share_{s}_low"], out[f"share_{s}_high"] = wilson(out[f"n_{s}"], out["paragraphs"])
        out[f"mean_p_{s}"] = out[f"sum_p_{s}"] / out["paragraphs"]
    out["period"] = pd.to_datetime(out["period"]).dt.date
    return out[columns].astype({c: "int64" for c in ["paragraphs", "documents", "sources", *[f"n_{s}" for s in SIGNALS]]})


def build(files: list[Path], by: str, freq: str, roll_up: bool = False) -> tuple[pd.DataFrame, dict]:
    """(index, counts) for scores files; counts has paragraphs and undated paragraphs."""
    matcher = None
    if roll_up:
        from pipeline.reporting import entities

        matcher = entities.default()
    with tempfile.TemporaryDirectory(prefix="policy-signals-index-") as scratch:
        con = connect(scratch)
        scored_view(con, files)
        paragraphs, undated = con.execute("SELECT count(*), count(*) FILTER (WHERE day IS NULL) FROM scored").fetchall()[0]
        groups_view(con, by, roll_up, matcher)
        index = aggregate(con, freq).rename(columns={"grp": by})
        con.close()
    return index, {"paragraphs": int(paragraphs), "undated": int(undated)}


def moves(index: pd.DataFrame, by: str, freq: str) -> pd.DataFrame:
    """Period-over-period changes in each signal's share whose 95% interval (Newcombe's hybrid score
    method from the two Wilson intervals) excludes zero, largest first."""
    rows = []
    previous = index.assign(period=(pd.to_datetime(index["period"]) + OFFSETS[freq]).dt.date)
    joined = index.merge(previous, on=[by, "period"], suffixes=("", "_before"))
    for s in SIGNALS:
        p1, p2 = joined[f"share_{s}_before"], joined[f"share_{s}"]
        l1, u1, l2, u2 = (joined[f"share_{s}_low_before"], joined[f"share_{s}_high_before"],
                          joined[f"share_{s}_low"], joined[f"share_{s}_high"])
        change = p2 - p1
        low = change - np.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
        high = change + np.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
        keep = (low > 0) | (high < 0)
        rows.append(pd.DataFrame({
            by: joined.loc[keep, by], "signal": s, "period": joined.loc[keep, "period"],
            "before": p1[keep], "after": p2[keep], "change": change[keep], "low": low[keep], "high": high[keep],
            "paragraphs_before": joined.loc[keep, "paragraphs_before"], "paragraphs": joined.loc[keep, "paragraphs"]}))
    out = pd.concat(rows, ignore_index=True)
    return out.reindex(out["change"].abs().sort_values(ascending=False, kind="stable").index).reset_index(drop=True)


def refuse_input_as_output(output: Path, scores: list[Path]) -> None:
    """An index written over one of its scores files would lose those scores: refuse it before any work."""
    from pipeline.scoring.sources import identity

    if identity(output) in {identity(path) for path in scores}:
        raise InputError(output, "is one of the scores files; refusing to overwrite it")


def write_table(frame: pd.DataFrame, output: Path) -> None:
    """Parquet or CSV by extension, through a temporary file renamed at the end."""
    with atomic_path(output) as tmp:
        if output.suffix.lower() == ".csv":
            frame.to_csv(tmp, index=False, lineterminator="\n")
        else:
            frame.to_parquet(tmp, index=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="policy-signals index", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scores", nargs="+", type=Path, help="outputs of `policy-signals score` (.parquet, .csv, .jsonl)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="index .parquet or .csv")
    parser.add_argument("--by", choices=GROUPS, default="entity")
    parser.add_argument("--freq", choices=list(FREQS), default="M", help="week, month or quarter")
    parser.add_argument("--roll-up", action="store_true", help="also count an entity's paragraphs for its parent groups")
    args = parser.parse_args(argv)
    if args.output.suffix.lower() not in (".parquet", ".csv"):
        raise InputError(args.output, "index output must end in .parquet or .csv")
    refuse_input_as_output(args.output, args.scores)
    index, counts = build(args.scores, args.by, args.freq, args.roll_up)
    write_table(index, args.output)
    undated = f"; {counts['undated']} undated paragraph(s) left out" if counts["undated"] else ""
    print(f"index: {len(index)} rows ({index[args.by].nunique()} {args.by} x {FREQS[args.freq]}) from "
          f"{counts['paragraphs']} paragraphs{undated} -> {args.output}", file=sys.stderr)
    return 0
