"""`policy-signals score`: score documents and tables paragraph by paragraph into Parquet, CSV or JSONL.

Documents are split by the same code that prepares training data. Work is done
in batches (memory does not grow with the input), optionally on several cores,
and the output appears only when complete (temporary file, then rename).
Exit code 0: all inputs scored; 1: some inputs failed and were skipped
(named on stderr); 2: nothing written (bad arguments, model or --strict failure).
"""
from __future__ import annotations

import argparse
import sys
from collections import deque
from contextlib import contextmanager
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import pandas as pd

from pipeline import inputs
from pipeline.outputs import Summary, Writer, output_format
from pipeline.config import InputError, atomic_path
from pipeline.reporting import batchlog, metadata
from pipeline.scorer import Scorer
from pipeline.split import paragraph_ids, split_article

def documents(unit: inputs.Unit, split: bool) -> pd.DataFrame:
    """One row per document to split, or per table row to score as it is: doc_id, text, split."""
    if unit.text is not None:
        return pd.DataFrame({"doc_id": [unit.doc_id], "text": [unit.text], "split": [True]})
    return unit.rows.assign(split=split)


def paragraphs(docs: pd.DataFrame) -> pd.DataFrame:
    """Documents cut by the training splitter (ids as in training); unsplit rows kept whole."""
    doc_ids, ids, positions, kinds, texts = [], [], [], [], []
    for doc_id, text, split in zip(docs["doc_id"], docs["text"], docs["split"]):
        parts = split_article(text) if split else \
            ([{"position": 0, "kind": "row", "text": text}] if text.strip() else [])
        doc_ids += [doc_id] * len(parts)
        ids += paragraph_ids(doc_id, [p["text"] for p in parts])
        positions += [p["position"] for p in parts]
        kinds += [p["kind"] for p in parts]
        texts += [p["text"] for p in parts]
    return pd.DataFrame({"doc_id": doc_ids, "paragraph_id": ids, "position": np.array(positions, dtype=np.int64),
                         "kind": kinds, "text": texts})


def batches(frames: Iterable[pd.DataFrame], size: int) -> Iterator[pd.DataFrame]:
    """Regroup document rows into batches of about `size` paragraphs' worth of text (~300 characters each)."""
    budget = size * 300
    pending, used = [], 0
    for frame in frames:
        lengths = frame["text"].str.len().to_numpy()
        start = 0
        while start < len(frame):
            cut = start + max(1, int(np.searchsorted(np.cumsum(lengths[start:]), budget - used, side="right")))
            pending.append(frame.iloc[start:cut])
            used += int(lengths[start:cut].sum())
            start = cut
            if used >= budget:
                yield pd.concat(pending, ignore_index=True)
                pending, used = [], 0
    if pending:
        yield pd.concat(pending, ignore_index=True)


_LOADED: dict[tuple[str, int], Scorer] = {}


def _process_cached(spec: str, explain_top: int, docs: pd.DataFrame) -> pd.DataFrame:
    """Worker side (process pool or Dask): load the model once per worker process, then score."""
    key = (spec, explain_top)
    if key not in _LOADED:
        _LOADED[key] = Scorer.load(spec, explain_top)
    return _process(_LOADED[key], docs)


def _process(scorer: Scorer, docs: pd.DataFrame) -> pd.DataFrame:
    rows = paragraphs(docs)
    scored = pd.concat([rows, scorer.score(rows["text"].tolist())], axis=1) if len(rows) else \
        scorer.empty(include_text=True)
    return metadata.annotate(scored, docs)


@contextmanager
def _executor(engine: str, jobs: int, scheduler: str | None):
    """Something with submit(fn, *args) -> future: a local process pool, or a dask.distributed client
    (an existing cluster at `scheduler`, else a local cluster of `jobs` worker processes)."""
    if engine == "local":
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            yield pool.submit
        return
    from distributed import Client, LocalCluster

    cluster = None if scheduler else LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                                                  dashboard_address=None)
    try:
        with Client(scheduler or cluster) as client:
            yield lambda fn, *args: client.submit(fn, *args, pure=False)
    except OSError as exc:
        raise InputError(scheduler or "local dask cluster", f"cannot reach the Dask scheduler ({exc})") from exc
    finally:
        if cluster is not None:
            cluster.close()


def scored_batches(batch_iter: Iterator[pd.DataFrame], scorer: Scorer, spec: str, jobs: int,
                   engine: str = "local", scheduler: str | None = None) -> Iterator[pd.DataFrame]:
    """Split and scored batches in input order; in parallel, at most 2 x jobs batches are in flight."""
    if engine == "local" and jobs <= 1:
        for docs in batch_iter:
            yield _process(scorer, docs)
        return
    with _executor(engine, jobs, scheduler) as submit:
        window: deque = deque()
        for docs in batch_iter:
            window.append(submit(_process_cached, spec, scorer.explain_top, docs))
            if len(window) >= 2 * jobs:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="policy-signals score", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", help="files, directories, glob patterns, or - for standard input")
    parser.add_argument("-o", "--output", type=Path, required=True, help="output .parquet, .csv or .jsonl")
    parser.add_argument("--model", default="models", help="bundle directory or MLflow URI (models:/policy-signals@champion)")
    parser.add_argument("--text-column", default="text")
    parser.add_argument("--id-column")
    parser.add_argument("--no-split", action="store_true", help="score table rows as they are")
    parser.add_argument("--stdin-format", default=".txt", choices=[".txt", ".html", ".csv", ".jsonl"])
    parser.add_argument("--include-text", action="store_true", help="add the paragraph text to the output")
    parser.add_argument("--explain", type=int, default=3, metavar="K", help="top K n-grams per flagged signal (0: off)")
    parser.add_argument("--summary", type=Path, help="also write one row per document here")
    parser.add_argument("--date-column", help="table column with each row's publication date (default: date, if any)")
    parser.add_argument("--source-column", help="table column with each row's outlet (default: source, if any)")
    parser.add_argument("--title-column", help="table column with each row's title (default: title, if any)")
    parser.add_argument("--catalog", type=Path, help="CSV of doc_id or path -> date, source, title (wins over the documents' own)")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (local pool, or local Dask cluster)")
    parser.add_argument("--engine", choices=["local", "dask"], default="local")
    parser.add_argument("--scheduler", help="address of an existing Dask scheduler (with --engine dask)")
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--strict", action="store_true", help="stop at the first failing input")
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.batch_size < 1 or args.explain < 0:
        parser.error("--jobs and --batch-size must be >= 1, --explain >= 0")
    args.meta = metadata.Settings.from_args(args)  # reads the catalog and the entities before any work
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    suffix = output_format(args.output)
    summary_suffix = output_format(args.summary) if args.summary else None
    scorer = Scorer.load(args.model, args.explain)
    failed: list[str] = []

    def frames() -> Iterator[pd.DataFrame]:
        for item in inputs.expand_safely(args.inputs, failed, args.strict):
            try:
                for unit in inputs.units(item, args.text_column, args.id_column, args.stdin_format):
                    yield metadata.attach(documents(unit, split=not args.no_split), unit, args.meta, str(item))
            except InputError as exc:
                if args.strict:
                    raise
                failed.append(str(item))
                print(f"error: {exc} (skipped)", file=sys.stderr)

    from tqdm import tqdm

    summary = Summary() if args.summary else None
    with atomic_path(args.output) as tmp:
        writer = Writer(tmp, suffix)
        progress = tqdm(unit=" paragraphs", disable=not sys.stderr.isatty(), file=sys.stderr)
        for batch in scored_batches(batches(frames(), args.batch_size), scorer, args.model, args.jobs,
                                    args.engine, args.scheduler):
            if summary is not None:
                summary.add(batch)
            writer.write(batch if args.include_text else batch.drop(columns=["text"]))
            progress.update(len(batch))
        progress.close()
        writer.close(scorer.empty(args.include_text))
        if args.summary:
            with atomic_path(args.summary) as summary_tmp:
                Writer(summary_tmp, summary_suffix).close(summary.frame())
    batchlog.write(args.output, args.inputs, failed, args.meta.problems, writer.rows)
    print(f"score: {writer.rows} paragraphs -> {args.output}"
          + (f"; {len(failed)} input(s) failed: {', '.join(failed)}" if failed else ""), file=sys.stderr)
    return 1 if failed else 0
