"""`policy-signals score`: score documents and tables paragraph by paragraph into Parquet, CSV or JSONL.

Documents are split by the same code that prepares training data. Work is done
in batches (memory does not grow with the input), optionally on several cores,
and the output appears only when complete (temporary file, then rename).
Exit code 0: all inputs scored; 1: some inputs failed and were skipped
(named on stderr), or none could be scored (an existing output is left as it was);
2: nothing written (bad arguments, an output that would clobber an input, model or
--strict failure); 130: interrupted (Ctrl-C), 143: terminated (SIGTERM).
"""
from __future__ import annotations

import argparse
import gc
import itertools
import sys
from collections import deque
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import SimpleNamespace
from typing import Iterable, Iterator

import numpy as np
import pandas as pd

from pipeline import bundle, interrupts, startup, workers
from pipeline.config import InputError, atomic_paths, json_text
from pipeline.reporting import batchlog, metadata
from pipeline.scoring import heap, inputs, sources
from pipeline.scoring.outputs import Summary, Writer, output_format
from pipeline.scoring.scorer import REGISTRY_PREFIXES, Scorer, pin
from pipeline.stages.split import iter_paragraph_ids, iter_paragraphs, paragraph_ids
from pipeline.text import clean


class NothingScored(Exception):
    """Every input failed: the output must stay as it was."""


class Mark:
    """In the stream of frames and batches: a table that may still fail starts here."""


class Drop:
    """In the stream: the table begun at the last Mark failed; its rows written since are taken back."""


class Restart(Exception):
    """A failed table's rows are already in a written Parquet row group: score again without it."""


class WorkerDied(Exception):
    """A local worker process was killed (by the kernel's out-of-memory killer, or a user): the run stops."""


def documents(unit: inputs.Unit, split: bool) -> pd.DataFrame:
    """One row per document to split, or per table row to score whole: doc_id, article_id (what
    paragraph ids start with: a document's id without its file suffix, as in training), text, split, and
    the page furniture an extractor found in a document."""
    if unit.text is not None:  # object dtype: a long document's text is not copied into an Arrow string
        article = str(PurePosixPath(unit.doc_id).with_suffix(""))
        return pd.DataFrame({"doc_id": [unit.doc_id], "article_id": [article], "text": pd.Series([unit.text], dtype=object),
                             "split": [True],
                             "furniture": [unit.furniture]})
    return unit.rows.assign(article_id=unit.rows["doc_id"], split=split)


def _paragraph_rows(doc_id: str, article_id: str, text: str, split: bool, furniture=()) -> Iterator[tuple]:
    """(doc_id, paragraph_id, position, kind, text) of one document, lazily; an unsplit row stays whole,
    repaired as a split paragraph is.
    Paragraph ids start with `article_id`, as in training."""
    if not split:
        if text.strip():  # a row whose repair leaves nothing ("(opens in a new tab)") is still scored, as ""
            text = clean(text)  # as the splitter repairs every paragraph it makes
            yield doc_id, paragraph_ids(article_id, [text])[0], 0, "row", text
        return
    parts, for_ids = itertools.tee(iter_paragraphs(text, furniture if isinstance(furniture, frozenset) else ()))
    for part, paragraph_id in zip(parts, iter_paragraph_ids(article_id, (p["text"] for p in for_ids))):
        yield doc_id, paragraph_id, part["position"], part["kind"], part["text"]


def _paragraph_frame(rows: list[tuple]) -> pd.DataFrame:
    doc_ids, ids, positions, kinds, texts = zip(*rows) if rows else ((),) * 5
    return pd.DataFrame({"doc_id": list(doc_ids), "paragraph_id": list(ids),
                         "position": np.array(positions, dtype=np.int64), "kind": list(kinds), "text": list(texts)})


def paragraphs(docs: pd.DataFrame) -> pd.DataFrame:
    """Documents cut by the training splitter (ids as in training); unsplit rows kept whole."""
    return paragraphs_from(docs)[0]


def paragraphs_from(docs: pd.DataFrame) -> tuple[pd.DataFrame, list[int]]:
    """`paragraphs`, and the position in `docs` of each one's document (rows may share a doc_id)."""
    furniture = docs["furniture"] if "furniture" in docs else itertools.repeat(())
    rows, source = [], []
    for i, doc in enumerate(zip(docs["doc_id"], docs["article_id"], docs["text"], docs["split"], furniture)):
        for row in _paragraph_rows(*doc):
            rows.append(row)
            source.append(i)
    return _paragraph_frame(rows), source


def _with_metadata(paragraphs_: pd.DataFrame, frame: pd.DataFrame, i: int, title_line: str | None) -> pd.DataFrame:
    """Paragraphs of document `i` of `frame` with that document's date, source and title, else its title line
    (which `metadata.annotate` finds only in the batch that holds it)."""
    fields = {f: frame[f].iat[i] for f in metadata.FIELDS if f in frame}
    if title_line is not None and ("title" not in fields or pd.isna(fields["title"])):
        fields["title"] = title_line
    return paragraphs_.assign(**fields)


def presplit(frames: Iterable[pd.DataFrame], size: int) -> Iterator[pd.DataFrame]:
    """Documents longer than a batch are split here, lazily, into frames of at most `size` paragraphs, so
    one huge document (a 50 MB line, millions of short lines) never becomes one huge batch; others pass."""
    budget = size * 300
    for frame in frames:
        if not isinstance(frame, pd.DataFrame):  # a Mark or Drop passes in order
            yield frame
            continue
        long = frame["split"].to_numpy(dtype=bool) & (frame["text"].str.len().to_numpy() > budget)
        start = 0
        for i in np.flatnonzero(long):
            if i > start:
                yield frame.iloc[start:i]
            rows, used, title_line = [], 0, None
            for row in _paragraph_rows(*frame[["doc_id", "article_id", "text", "split"]].iloc[i],
                                       frame["furniture"].iat[i] if "furniture" in frame else ()):
                rows.append(row)
                used += len(row[4])
                if title_line is None and row[3] == "title":
                    title_line = row[4]
                if len(rows) >= size or used >= budget:
                    yield _with_metadata(_paragraph_frame(rows), frame, i, title_line)
                    rows, used = [], 0
            if rows:
                yield _with_metadata(_paragraph_frame(rows), frame, i, title_line)
            start = i + 1
        if start < len(frame):
            yield frame.iloc[start:] if start else frame


def batches(frames: Iterable[pd.DataFrame], size: int) -> Iterator[pd.DataFrame]:
    """Regroup document rows into batches of about `size` paragraphs' worth of text (~300 characters each)
    and at most `size` rows (empty or tiny rows never pile up); frames already split into paragraphs
    (`presplit`) are batches of their own. A batch never spans a Mark or Drop, which pass in order."""
    budget = size * 300
    pending, used, rows = [], 0, 0
    for frame in frames:
        if not isinstance(frame, pd.DataFrame) or "paragraph_id" in frame:
            if pending:
                yield pd.concat(pending, ignore_index=True)
                pending, used, rows = [], 0, 0
            yield frame
            continue
        ends = np.cumsum(frame["text"].str.len().to_numpy())  # text up to and including each row
        start = 0
        while start < len(frame):
            before = int(ends[start - 1]) if start else 0
            fits = int(np.searchsorted(ends, before + budget - used, side="right")) - start
            cut = start + max(1, min(fits, size - rows))
            pending.append(frame.iloc[start:cut])
            used += int(ends[cut - 1]) - before
            rows += cut - start
            start = cut
            if used >= budget or rows >= size:
                yield pd.concat(pending, ignore_index=True)
                pending, used, rows = [], 0, 0
    if pending:
        yield pd.concat(pending, ignore_index=True)


_LOADED: dict[tuple[str, int, str | None], Scorer] = {}


def pinned(spec: str) -> tuple[str, str | None]:
    """The model a run's Dask workers load, fixed for the run: an alias or `latest` as its version; a bundle
    directory as its absolute path and its manifest's SHA-256. A cluster outlives runs and its workers keep
    what they loaded, so by its name alone a retrain or a promote would go unseen, or half seen."""
    if spec.startswith(REGISTRY_PREFIXES):
        return pin(spec), None  # a version's files never change
    directory = Path(spec).resolve()
    return str(directory), bundle.sha256(directory / bundle.MANIFEST)


def _process_cached(spec: str, explain_top: int, docs: pd.DataFrame, keep_text: bool,
                    manifest: str | None = None) -> pd.DataFrame:
    """Worker side (process pool or Dask): load the model once per worker process, then score. A bundle
    whose manifest is no longer `manifest` (given for Dask) was replaced since the run began: refused."""
    key = (spec, explain_top, manifest)
    if key not in _LOADED:
        scorer = Scorer.load(spec, explain_top)
        if manifest and bundle.sha256(Path(spec) / bundle.MANIFEST) != manifest:
            raise InputError(spec, "the model was replaced while this run was scoring; run it again")
        _LOADED[key] = scorer
    return _process(_LOADED[key], docs, keep_text)


def _process(scorer: Scorer, docs: pd.DataFrame, keep_text: bool) -> pd.DataFrame:
    """Split, score and annotate one batch; the text goes only where it is kept (not back to the parent)."""
    if "paragraph_id" in docs:  # a long document's paragraphs (presplit), each with its metadata
        rows, own = docs, docs
    else:  # each paragraph takes its own row's metadata: table rows may share an id, not their date or source
        rows, source = paragraphs_from(docs)
        own = docs.iloc[source].reset_index(drop=True)
    rows = rows.drop(columns=[f for f in metadata.FIELDS if f in rows])  # annotate adds them, in one order
    scored = pd.concat([rows, scorer.score(rows["text"].tolist(), repaired=True)], axis=1) if len(rows) else \
        scorer.empty(include_text=True)
    scored = metadata.annotate(scored, own)
    return scored if keep_text else scored.drop(columns=["text"])


@contextmanager
def _executor(engine: str, jobs: int, scheduler: str | None):
    """Something with submit(fn, *args) -> future: a local process pool, or a dask.distributed client
    (an existing cluster at `scheduler`, else a local cluster of `jobs` worker processes)."""
    if engine == "local":  # forked workers inherit the loaded model and the objects `write` froze
        from concurrent.futures.process import BrokenProcessPool

        with workers.pool(jobs) as pool:
            workers.widen_pipes(pool)
            try:
                yield pool.submit
            except BrokenProcessPool as exc:
                raise WorkerDied from exc
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


def _flag_last(items: Iterable, n: int) -> Iterator[tuple]:
    """(item, whether it is one of the last `n`), reading `n` items ahead."""
    ahead: deque = deque()
    for item in items:
        ahead.append(item)
        if len(ahead) > n:
            yield ahead.popleft(), False
    for item in ahead:
        yield item, True


def _placed(busy: int, helpers: int, last: bool) -> tuple[bool, bool]:
    """Whether this process scores the next batch itself (the workers hold two batches each, or at the tail one
    each), and whether it first queues the item after it for a worker (at the tail, when one has room)."""
    here = busy >= 2 * helpers or last and busy >= helpers
    return here, here and last and busy < 2 * helpers


def scored_batches(batch_iter: Iterator[pd.DataFrame], scorer: Scorer, spec: str, jobs: int,
                   engine: str = "local", scheduler: str | None = None, keep_text: bool = True
                   ) -> Iterator[pd.DataFrame]:
    """Split and scored batches in input order (Marks and Drops pass in their place).

    Locally, `jobs` processes score: this one and jobs - 1 forked workers. The workers always have two
    batches queued and this process scores the rest between reading and writing, so two jobs keep two
    cores busy (two workers beside a parent that reads and writes were three processes on two cores, and
    the parent waited). It scores the last two items itself (read ahead) while every worker has a batch to
    finish, instead of waiting on a worker's queue at the end; and before it scores one of them, it queues the
    next for a worker, which would otherwise stand idle until this process had finished. A Dask cluster's
    `jobs` workers score every batch, at most 2 x jobs in flight."""
    local = engine == "local"
    helpers, limit = (jobs - 1, 4 * jobs) if local else (jobs, 2 * jobs)  # limit: batches held for the writer
    if helpers == 0:
        for docs in batch_iter:
            yield _process(scorer, docs, keep_text) if isinstance(docs, pd.DataFrame) else docs
        return
    from concurrent.futures import Future

    manifest = None
    if local:
        _LOADED[(spec, scorer.explain_top, None)] = scorer  # workers forked from here start with the model loaded
    else:
        spec, manifest = pinned(spec)
    with _executor(engine, helpers, scheduler) as submit:
        def dispatch(item) -> Future:
            """A worker's future for a batch; a Mark or a Drop passes through, already done."""
            if isinstance(item, pd.DataFrame):
                return submit(_process_cached, spec, scorer.explain_top, item, keep_text, manifest)
            passed = Future()
            passed.set_result(item)
            return passed

        window: deque = deque()
        stream = _flag_last(batch_iter, 2 if local else 0)
        for docs, last in stream:
            busy = sum(not future.done() for future in window) if local else 0  # batches the workers hold
            here, ahead = _placed(busy, helpers, last) if local and isinstance(docs, pd.DataFrame) else (False, False)
            if here:  # the workers are busy: score it here, in its place in the window
                mine = Future()
                window.append(mine)
                following = next(stream, None) if ahead else None
                if following is not None:
                    window.append(dispatch(following[0]))
                mine.set_result(_process(scorer, docs, keep_text))
            else:
                window.append(dispatch(docs))
            while window and (window[0].done() or len(window) >= limit):
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
    parser.add_argument("--no-split", action="store_true",
                        help="score each table row whole (repaired as training paragraphs were), not split")
    parser.add_argument("--coerce-text", action="store_true",
                        help="score a table text that is a number or list as its text form, and null as empty "
                             "(default: refuse the table, naming the row)")
    parser.add_argument("--stdin-format", default=".txt", choices=[".txt", ".md", ".html", ".csv", ".jsonl"])
    parser.add_argument("--include-text", action="store_true", help="add the paragraph text to the output")
    parser.add_argument("--explain", type=int, default=3, metavar="K", help="top K n-grams per flagged signal (0: off)")
    parser.add_argument("--summary", type=Path, help="also write one row per document here")
    parser.add_argument("--date-column", help="table column with each row's publication date (default: date, if any)")
    parser.add_argument("--source-column", help="table column with each row's outlet (default: source, if any)")
    parser.add_argument("--title-column", help="table column with each row's title (default: title, if any)")
    parser.add_argument("--catalog", type=Path, help="CSV of doc_id or path -> date, source, title (wins over the documents' own)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="processes that score: this one and N-1 forked workers (or a local Dask cluster's N)")
    parser.add_argument("--engine", choices=["local", "dask"], default="local")
    parser.add_argument("--scheduler", help="address of an existing Dask scheduler (with --engine dask)")
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--strict", action="store_true", help="stop at the first failing input")
    parser.add_argument("--keep-partial", action="store_true",
                        help="keep a table's rows before its first bad row (default: such a table is skipped whole)")
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.batch_size < 1 or args.explain < 0:
        parser.error("--jobs and --batch-size must be >= 1, --explain >= 0")
    if args.scheduler and args.engine != "dask":
        parser.error("--scheduler needs --engine dask (without it the local engine would score, ignoring it)")
    args.meta = metadata.Settings.from_args(args)  # reads the catalog and the entities before any work
    return args


def nothing_scored(output: Path, failed: list[str]) -> int:
    kept = "left as it was" if output.exists() else "not written"
    print(f"error: nothing could be scored ({len(failed)} input(s) failed); {output} {kept}", file=sys.stderr)
    return 1


@dataclass
class Outcome:
    """What a run met, kept across Restarts: inputs failed (skipped whole) or kept in part, each reported
    once; inputs not to read again; inputs read whole in the last attempt."""
    failed: list[str]
    partial: list[str] = field(default_factory=list)
    reported: set[int] = field(default_factory=set)
    skipped: set[int] = field(default_factory=set)
    read: list[str] = field(default_factory=list)
    stdin: dict = field(default_factory=dict)  # standard input, held for a Restart to read again


def frames(args: argparse.Namespace, found: list[sources.Source], outcome: Outcome) -> Iterator[pd.DataFrame | Mark | Drop]:
    """Every input's documents with their metadata, read once, in order. A table whose bad row would skip
    it whole comes between a Mark and, if it fails after some of its rows, a Drop."""
    for index, source in enumerate(found):
        if index in outcome.skipped:
            continue
        guarded, rows, problems = sources.guarded(source, args.keep_partial), 0, len(args.meta.problems)
        if guarded:
            yield Mark()
        try:
            for unit in sources.units(source, args.text_column, args.id_column, args.stdin_format,
                                      args.keep_partial, args.coerce_text, guarded, outcome.stdin):
                frame = metadata.attach(documents(unit, split=not args.no_split), unit, args.meta, str(source.item))
                rows += len(frame)
                yield frame
            outcome.read.append(source.doc_id)
            args.meta.warn(problems)
        except InputError as exc:
            if args.strict:
                raise exc
            kept = rows > 0 and not guarded
            if kept:
                args.meta.warn(problems)
            else:
                outcome.skipped.add(index)
                del args.meta.problems[problems:]  # here, where reading stands: the writer may be batches behind
            if index not in outcome.reported:
                outcome.reported.add(index)
                (outcome.partial if kept else outcome.failed).append(str(source.item))
                note = f" (kept its first {rows} rows: --keep-partial)" if kept else " (skipped)"
                print(f"error: {exc}{note}", file=sys.stderr)
            if guarded and rows:
                yield Drop()  # last: the consumer may end this generator here (Restart)


def outputs(args: argparse.Namespace) -> list[Path]:
    """What a run writes: the scores, the summary if asked for, and the run record (`batchlog`)."""
    return [args.output, *filter(None, [args.summary]), batchlog.path_for(args.output)]


def progress_bar():
    """A tqdm bar on a terminal; elsewhere one that shows nothing, without importing tqdm, whose version lookup
    reads every installed package's metadata (~0.04 s of a start)."""
    if not sys.stderr.isatty():
        return SimpleNamespace(update=lambda n: None, close=lambda: None)
    from tqdm import tqdm

    return tqdm(unit=" paragraphs", file=sys.stderr)


def write(args: argparse.Namespace, found: list[sources.Source], scorer: Scorer, outcome: Outcome) -> int:
    """Score the inputs into the output (and the summary) and its run record, renamed into place together
    when complete; the number of paragraphs written. A Drop takes a failed table's rows back out, or raises
    Restart where a Parquet row group already holds some of them."""
    outcome.read = []
    summary = Summary() if args.summary else None
    with ExitStack() as stack:
        # The model and all made before it live for the run: the collections while scoring need not walk them,
        # nor those of forked workers touch, and so copy, the pages they inherit. A caller's own freeze is kept.
        if gc.get_freeze_count() == 0:
            gc.freeze()
            stack.callback(gc.unfreeze)
        tmps = stack.enter_context(atomic_paths(*outputs(args)))  # every output is claimed before any work
        tmp, summary_tmp, log_tmp = tmps[0], tmps[1] if args.summary else None, tmps[-1]
        writer = Writer(tmp, output_format(args.output))
        progress = progress_bar()
        work = batches(presplit(frames(args, found, outcome), args.batch_size), args.batch_size)
        stream = stack.enter_context(closing(scored_batches(work, scorer, args.model, args.jobs, args.engine,
                                                            args.scheduler, keep_text=args.include_text)))
        marks = None
        for batch in stream:
            interrupts.check()  # stop at the next batch, not at the end, after a swallowed Ctrl-C
            if isinstance(batch, Mark):
                marks = writer.mark(), summary.mark() if summary else 0
            elif isinstance(batch, Drop):
                written, summarised = marks
                if not writer.rollback(written):
                    raise Restart
                if summary is not None:
                    summary.rollback(summarised)
            else:
                if summary is not None:
                    summary.add(batch)
                writer.write(batch)
                progress.update(len(batch))
        progress.close()
        if not outcome.read and not outcome.partial:
            raise NothingScored
        writer.close(scorer.empty(args.include_text))
        if summary is not None:
            Writer(summary_tmp, output_format(args.summary)).close(summary.frame())
        log_tmp.write_text(json_text(batchlog.record(args.output, args.inputs, outcome.failed, args.meta.problems,
                                                     writer.rows)), encoding="utf-8")
    return writer.rows


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    output_format(args.output)
    if args.summary:
        output_format(args.summary)
    outcome = Outcome(failed=[])
    found = sources.collect(args.inputs, outcome.failed, args.strict)
    sources.check_outputs(outputs(args), args.inputs, found, args.catalog)
    if not found:
        return nothing_scored(args.output, outcome.failed)
    heap.keep_freed_memory()  # before loading and forking: workers inherit it
    with startup.collector_paused():
        scorer = Scorer.load(args.model, args.explain)
    problems = len(args.meta.problems)  # the catalog's; a Restart meets the inputs' own again
    while True:
        try:
            rows = write(args, found, scorer, outcome)
            break
        except Restart:  # each Restart leaves one more failed table out (outcome.skipped), so this ends
            del args.meta.problems[problems:]
        except NothingScored:
            return nothing_scored(args.output, outcome.failed)
        except WorkerDied as exc:
            raise InputError(args.output, "not written: a scoring worker process was killed (often by the system, "
                                          "for lack of memory); rerun with fewer --jobs or a smaller --batch-size") \
                from exc
    args.meta.warn_unmatched(args.catalog)
    failed, read, partial = outcome.failed, outcome.read, outcome.partial
    line = f"score: {rows} paragraphs from {len(read) + len(partial)} input(s) -> {args.output}"
    if failed:
        line += f"; {len(failed)} input(s) failed and were skipped whole: {', '.join(failed)}"
    if partial:
        line += f"; {len(partial)} table(s) kept only their rows before a bad row: {', '.join(partial)}"
    print(line, file=sys.stderr)
    return 1 if failed or partial else 0
