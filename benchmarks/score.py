"""Benchmark batch scoring against an in-run word-only reference; cold starts; the training loop.

On the same generated paragraphs (sentences of the corpus recombined, 1-5 per paragraph, seeded) it measures
- the reference: a word-only TF-IDF(1,2) + logistic-regression Pipeline, fitted here on the same corpus,
  `predict_proba` in batches of 2,000 (the call alone);
- `policy-signals score FILE.csv --no-split -o out.parquet` with --jobs 1 and 2, --explain 0 and 3,
  start-up, model loading, reading and writing included; wall time (unsampled runs), and the process tree's
  peak RSS from one more run per configuration;
- cold starts: `policy-signals --help`, and one paragraph from stdin (median of 5, model loading included);
- with --loop: `dvc repro` from scratch in a copy of the repository, and the test suite.
Everything is measured --rounds times (3), interleaved: a table of medians, and each size's ratios as the
median of the ratios within one round (a shared machine's speed drifts by a third within minutes).

    python benchmarks/score.py                         # 100k paragraphs (~7 minutes)
    python benchmarks/score.py --sizes 100000 1000000  # and an archive-sized run (~30 minutes)
    python benchmarks/score.py --sizes 20000           # a quick look
    python benchmarks/score.py --loop          # also time dvc repro and pytest (several minutes)

Targets (2-core machine): score --jobs 1 --explain 0 >= 0.5 x the reference; --jobs 2 >= 1.8 x --jobs 1;
explanations <= 1.3 x the time; --help <= 0.5 s; one paragraph from stdin <= 1.0 s.
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def corpus() -> pd.DataFrame:
    return pd.read_parquet(REPO / "data/processed/paragraphs.parquet")


def generate(table: pd.DataFrame, n: int, path: Path, seed: int = 0) -> None:
    """n English paragraphs of 1-5 corpus sentences, written as a CSV with a text column."""
    english = table[table["lang"].eq("en")]["text"]
    sentences = np.array([s for t in english for s in re.split(r"(?<=[.!?])\s+", t) if len(s) > 20])
    rng = np.random.default_rng(seed)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("text\n")
        for start in range(0, n, 50_000):
            count = min(50_000, n - start)
            lengths = rng.integers(1, 6, count)
            picks = rng.integers(0, len(sentences), lengths.sum())
            bounds = np.concatenate([[0], np.cumsum(lengths)])
            texts = [" ".join(sentences[picks[a:b]]) for a, b in zip(bounds[:-1], bounds[1:])]
            pd.DataFrame({"text": texts}).to_csv(handle, header=False, index=False, lineterminator="\n")


def wall(command: list[str], cwd: Path = REPO, stdin: bytes | None = None) -> float:
    """Wall seconds of a command. Nothing samples it while it runs: sampling the process tree every 20 ms
    costs ~8% of a core, which a run using both cores pays (about 0.3 s of a 6 s run with two jobs)."""
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, input=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(command)}\n{result.stderr.decode()[-2000:]}")
    return seconds


def measure(command: list[str], cwd: Path = REPO) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes, summed over the process and its children, sampled every 20 ms) of a
    run; the sampling slows the run a little, so the scoring ratios come from `wall` runs instead."""
    start = time.perf_counter()
    process = psutil.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while process.poll() is None:
        try:
            tree = [process, *process.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.02)
    if process.returncode != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(command)}\n{process.stderr.read().decode()[-2000:]}")
    return time.perf_counter() - start, peak


def reference_seconds(table: pd.DataFrame, data: Path) -> float:
    """predict_proba time of the word-only reference model on the benchmark paragraphs, batches of 2,000."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import Pipeline

    from pipeline.signals import SIGNALS

    gold = table[table["label_source"].eq("gold")]
    reference = Pipeline([("word", TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)),
                          ("classify", OneVsRestClassifier(LogisticRegression(C=8, solver="liblinear")))])
    reference.fit(gold["text"], gold[list(SIGNALS)].to_numpy())
    texts = pd.read_csv(data, dtype=str, keep_default_na=False)["text"].tolist()
    start = time.perf_counter()
    for i in range(0, len(texts), 2000):
        reference.predict_proba(texts[i:i + 2000])
    return time.perf_counter() - start


def cold_starts() -> dict[str, float]:
    cli = str(BIN / "policy-signals")
    one = "MOFCOM tightened export licences for dysprosium and terbium magnets.".encode()
    with tempfile.TemporaryDirectory() as tmp:
        helps = [wall([cli, "--help"]) for _ in range(5)]
        singles = [wall([cli, "score", "-", "-o", f"{tmp}/one.csv"], stdin=one) for _ in range(5)]
    return {"--help": statistics.median(helps), "one paragraph from stdin": statistics.median(singles)}


def loop_times() -> Iterator[tuple[str, float | int]]:
    """`dvc repro` from scratch in a copy of the repository (the full corpus), then the test suite; each figure
    as soon as it is measured, so a failing suite does not lose the repro's."""
    sys.path.insert(0, str(REPO))
    from tests.conftest import copy_repo

    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "POLICY_SIGNALS_TRACKING": "off"}
    with tempfile.TemporaryDirectory() as tmp:
        copy = copy_repo(Path(tmp) / "repo", small=False)
        start = time.perf_counter()
        subprocess.run([str(BIN / "dvc"), "repro"], cwd=copy, env=env, check=True, capture_output=True)
        repro = time.perf_counter() - start
        paragraphs = len(pd.read_parquet(copy / "data/processed/paragraphs.parquet"))
        shutil.rmtree(copy, ignore_errors=True)
    yield "dvc repro from scratch (s)", repro
    yield "paragraphs", paragraphs
    yield "repro ms per paragraph", 1000 * repro / paragraphs
    start = time.perf_counter()  # the suite as CI runs it: tracking on, and it must pass to count
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=REPO,
                           env={**env, "POLICY_SIGNALS_TRACKING": "on"}, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if tests.returncode != 0:
        raise SystemExit(f"pytest failed; its time does not count:\n{tests.stdout[-2000:]}")
    yield "pytest (s)", seconds


REFERENCE = "reference: word TF-IDF(1,2)+LR predict_proba"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--loop", action="store_true", help="also time dvc repro and the test suite")
    parser.add_argument("--rounds", type=int, default=3,
                        help="measure everything this many times, interleaved, and keep each one's median (a shared "
                             "machine's speed drifts by a third within minutes)")
    args = parser.parse_args()
    table = corpus()
    rows, rss = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sorted(args.sizes):
            data = Path(tmp) / f"p{n}.csv"
            generate(table, n, data)
            commands = {f"score --jobs {jobs} --explain {explain}":
                        [str(BIN / "policy-signals"), "score", str(data), "-o", f"{tmp}/o.parquet", "--no-split",
                         "--jobs", str(jobs), "--explain", str(explain)]
                        for jobs, explain in ((1, 0), (2, 0), (1, 3), (2, 3))}
            for round_ in range(args.rounds):
                rows.append({"paragraphs": n, "round": round_, "config": REFERENCE,
                             "seconds": reference_seconds(table, data)})
                print(rows[-1], flush=True)
                for config, command in commands.items():
                    rows.append({"paragraphs": n, "round": round_, "config": config, "seconds": wall(command)})
                    print(rows[-1], flush=True)
            for config, command in commands.items():  # apart from the timed runs, which nothing samples
                rss[n, config] = round(measure(command)[1] / 2**20)
            data.unlink()
    runs = pd.DataFrame(rows)
    frame = runs.groupby(["paragraphs", "config"], sort=False)["seconds"].median().reset_index()
    frame["seconds"] = frame["seconds"].round(2)
    frame["paragraphs_per_s"] = (frame["paragraphs"] / frame["seconds"]).round()
    frame["peak_rss_mb"] = [rss.get((n, config)) for n, config in zip(frame["paragraphs"], frame["config"])]
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, "
          f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}")
    print(frame.to_string(index=False))
    for n, runs_n in runs.groupby("paragraphs"):
        times = runs_n.pivot(index="round", columns="config", values="seconds")

        def ratio(numerator: str, denominator: str) -> float:
            """Median over rounds of one time over another measured in the same round."""
            return float((times[numerator] / times[denominator]).median())

        one, two = "score --jobs 1 --explain 0", "score --jobs 2 --explain 0"
        print(f"\nratios at {n} paragraphs (median of {args.rounds} rounds' own ratios):")
        print(f"  score --jobs 1 --explain 0 / reference = {ratio(REFERENCE, one):.2f}  (target >= 0.5)")
        print(f"  --jobs 2 / --jobs 1 (explain 0) = {ratio(one, two):.2f}  (target >= 1.8)")
        for jobs in (1, 2):
            print(f"  time with explanations / without, jobs {jobs} = "
                  f"{ratio(f'score --jobs {jobs} --explain 3', f'score --jobs {jobs} --explain 0'):.2f}  (target <= 1.3)")
    print()
    for name, value in cold_starts().items():
        print(f"  cold start, {name}: {value:.2f} s (median of 5)")
    if args.loop:
        for name, value in loop_times():
            print(f"  {name}: {value:.1f}" if isinstance(value, float) else f"  {name}: {value}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
