"""Benchmark batch scoring: paragraphs per second and peak RSS (whole process tree).

(a) the raw Pipeline.predict_proba on a list of strings in one process, and
(b) `policy-signals score` with --jobs 1 and 2, with and without explanations,
on generated paragraphs (sentences of the bundled corpus recombined, seeded).

    python benchmarks/score.py                 # every config at 100k; --jobs 2 at 1M for memory growth
    python benchmarks/score.py --full          # every config at both sizes
    python benchmarks/score.py --sizes 20000   # a quick look

Targets on a 2-core machine: jobs 1 >= 0.85 x (a); jobs 2 >= 1.6 x (a);
peak RSS at 1M <= 1.2 x at 100k; explanations cost at most 2 x the time.
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

REPO = Path(__file__).resolve().parents[1]


def generate(n: int, path: Path, seed: int = 0) -> None:
    """n paragraphs of 1-5 corpus sentences, written as a CSV with a text column, in chunks."""
    table = pd.read_parquet(REPO / "data/processed/paragraphs.parquet")
    sentences = np.array([s for t in table["text"] for s in re.split(r"(?<=[.!?])\s+", t) if len(s) > 20])
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


def measure(command: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes, summed over the process and its children) of a command."""
    start = time.perf_counter()
    process = psutil.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while process.poll() is None:
        try:
            tree = [process, *process.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.05)
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(command)}\n{process.stderr.read().decode()[-2000:]}")
    return seconds, peak


RAW = """
import sys, time, pandas as pd
from pipeline import bundle
model, _ = bundle.load("models")
texts = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False)["text"].tolist()
start = time.perf_counter()
model.predict_proba(texts)
print(time.perf_counter() - start, file=sys.stderr)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--full", action="store_true", help="every configuration at every size")
    args = parser.parse_args()
    python = sys.executable
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, n in enumerate(sorted(args.sizes)):
            data = Path(tmp) / f"p{n}.csv"
            generate(n, data)
            first = i == 0 or args.full
            # (a) holds one feature matrix for all n paragraphs (~38 GB at 1M): only at small sizes
            configs = [("raw predict_proba", None)] if n <= 200_000 else []
            configs += [(f"score --jobs {j}{' --explain 3' if e else ''}", (j, e))
                        for j in (1, 2) for e in (False, True) if first or (j == 2 and not e)]
            for name, config in configs:
                if config is None:
                    done = subprocess.run([python, "-c", RAW, str(data)], cwd=REPO, capture_output=True, text=True)
                    _, peak = measure([python, "-c", RAW, str(data)])
                    seconds = float(done.stderr.strip().splitlines()[-1])  # predict_proba alone, no loading
                else:
                    jobs, explain = config
                    seconds, peak = measure([python, "-m", "pipeline", "score", str(data), "-o", f"{tmp}/o.parquet",
                                             "--no-split", "--jobs", str(jobs), "--explain", "3" if explain else "0"])
                rows.append({"paragraphs": n, "config": name, "seconds": round(seconds, 1),
                             "paragraphs_per_s": round(n / seconds), "peak_rss_mb": round(peak / 2**20)})
                print(rows[-1], flush=True)
            data.unlink()
    frame = pd.DataFrame(rows)
    print(f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}")
    print(frame.to_string(index=False))
    small = frame[frame["paragraphs"] == frame["paragraphs"].min()].set_index("config")
    if "raw predict_proba" in small.index:
        raw = small.loc["raw predict_proba", "paragraphs_per_s"]
        print("\nratios at", frame["paragraphs"].min(), "paragraphs:")
        for config, target in (("score --jobs 1", 0.85), ("score --jobs 2", 1.6)):
            if config in small.index:
                ratio = small.loc[config, "paragraphs_per_s"] / raw
                print(f"  {config} / raw = {ratio:.2f}  (target >= {target})")
        for jobs in (1, 2):
            plain, explained = f"score --jobs {jobs}", f"score --jobs {jobs} --explain 3"
            if plain in small.index and explained in small.index:
                print(f"  time with explanations / without, jobs {jobs} = "
                      f"{small.loc[explained, 'seconds'] / small.loc[plain, 'seconds']:.2f}  (target <= 2)")
    by_size = frame[frame["config"] == "score --jobs 2"].set_index("paragraphs")["peak_rss_mb"]
    if len(by_size) > 1:
        print(f"  peak RSS {by_size.index.max()} / {by_size.index.min()} paragraphs, jobs 2 = "
              f"{by_size.iloc[-1] / by_size.iloc[0]:.2f}  (target <= 1.2)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
