"""Benchmark `policy-signals index` and `policy-signals report` on large synthetic scores files.

Generates a scores Parquet file as `score --include-text` writes it (paragraphs of the bundled
corpus, ~20 per document; dates over two years; 40 sources, a few very prolific; 0-3 entities
per paragraph from pipeline/reporting/entities.yaml, popular ones more often; flags and explanations for ~20%
of paragraphs per signal; seeded), then measures wall time and peak RSS of each command.

    python benchmarks/report.py                       # 1M paragraphs: index (entity, source) and report
    python benchmarks/report.py --sizes 1000000 10000000

Targets (2-core, 24 GiB machine): at 1M paragraphs the report is under 10 MB and takes under a
minute; 10M paragraphs index within the machine's memory.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from score import REPO, measure  # noqa: E402  (the scoring benchmark's process-tree meter)

from pipeline.reporting import entities  # noqa: E402
from pipeline.signals import SIGNALS  # noqa: E402

CHUNK = 500_000


def generate(n: int, path: Path, seed: int = 0) -> None:
    """n scored paragraphs in ~n/20 documents, written in chunks."""
    texts = pd.read_parquet(REPO / "data/processed/paragraphs.parquet")["text"].to_numpy(dtype=object)
    names = list(entities.default().entities)
    rng = np.random.default_rng(seed)
    weights = 1 / np.arange(1, len(names) + 1)
    combos = np.array([entities.SEPARATOR.join(rng.choice(names, size=k, replace=False, p=weights / weights.sum()))
                       for k in rng.choice([0, 0, 1, 1, 2, 3], size=997)], dtype=object)
    sources = np.array([f"Outlet {i:02d}" for i in range(40)], dtype=object)
    source_p = np.r_[np.full(3, 0.2), np.full(37, 0.4 / 37)]
    days = pd.date_range("2024-01-01", "2025-12-31").strftime("%Y-%m-%d").to_numpy(dtype=object)
    writer = None
    for start in range(0, n, CHUNK):
        count = min(CHUNK, n - start)
        row = np.arange(start, start + count)
        doc = row // 20
        doc_id = np.char.add("doc", doc.astype(str)).astype(object)
        frame = {"doc_id": doc_id, "paragraph_id": np.char.add(doc_id.astype(str), np.char.add("-", (row % 20).astype(str))).astype(object),
                 "position": row % 20, "kind": np.full(count, "body", dtype=object),
                 "text": texts[rng.integers(0, len(texts), count)]}
        for s in SIGNALS:
            p = rng.beta(0.6, 2.0, count)
            frame[f"p_{s}"] = p
            frame[s] = (p > 0.45).astype(np.int8)
        for s in SIGNALS:
            frame[f"explain_{s}"] = np.where(frame[s] == 1, f"{s} policy (+1.20); ' {s[:3]}' (+0.40)", "")
        # per-document date and source from a hash of the document number: the same in every chunk
        frame["date"] = days[(doc * 2654435761) % len(days)]
        frame["source"] = sources[np.searchsorted(np.cumsum(source_p), ((doc * 40503) % 10007) / 10007)]
        frame["title"] = np.char.add("Document ", doc.astype(str)).astype(object)
        frame["entities"] = combos[rng.integers(0, len(combos), count)]
        table = pa.Table.from_pandas(pd.DataFrame(frame), preserve_index=False)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    writer.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    args = parser.parse_args()
    python, rows = sys.executable, []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sorted(args.sizes):
            data = Path(tmp) / f"scores{n}.parquet"
            generate(n, data)
            commands = {
                "index --by entity --freq M": ["index", str(data), "-o", f"{tmp}/i.parquet", "--by", "entity"],
                "index --by source --freq W": ["index", str(data), "-o", f"{tmp}/i.parquet", "--by", "source", "--freq", "W"],
                "report": ["report", str(data), "-o", f"{tmp}/r.html"],
            }
            for name, command in commands.items():
                seconds, peak = measure([python, "-m", "pipeline", *command])
                size = Path(f"{tmp}/r.html").stat().st_size / 1e6 if name == "report" else None
                rows.append({"paragraphs": n, "scores_mb": round(data.stat().st_size / 1e6), "command": name,
                             "seconds": round(seconds, 1), "peak_rss_mb": round(peak / 2**20),
                             "report_mb": f"{size:.2f}" if size else ""})
                print(rows[-1], flush=True)
            data.unlink()
    print(f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}")
    print(pd.DataFrame(rows).to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
