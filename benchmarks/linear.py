"""Benchmark: splitting and scoring time grows in proportion to the input, whatever its shape.

`policy-signals score FILE.txt -o out.parquet` (default settings, --jobs 1, the trained model in models/)
on hostile shapes at two sizes, with wall time, CPU time (what the ratios use: on a shared machine wall time
says more about the neighbours than about the code), MB per CPU-second and peak RSS of the process tree:

- single_line: one line of words with no sentence end (cut at spaces every 4 000 characters);
- one_char_lines: lines of one character each (every line a paragraph).

    python benchmarks/linear.py                  # 5 MB and 50 MB
    python benchmarks/linear.py --sizes 1 5      # a quick look

Targets: time per MB at the large size <= 1.5 x at the small size (linear); peak RSS grows by at most
3 bytes per added input byte (the one document is held as text while it is cut and scored batch by batch;
nothing else grows with it).
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from score import measure  # noqa: E402  (the scoring benchmark's wall-time and peak-RSS probe)

WORDS = "Baogang raised output of rare earth concentrate under its new quota and"


def write(shape: str, megabytes: int, path: Path) -> None:
    size = megabytes * 2**20
    text = (WORDS + " ") * (size // (len(WORDS) + 1)) if shape == "single_line" else "a\n" * (size // 2)
    path.write_text(text, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs=2, default=[5, 50], metavar=("SMALL_MB", "LARGE_MB"))
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for shape in ("single_line", "one_char_lines"):
            for megabytes in args.sizes:
                data = Path(tmp) / f"{shape}.txt"
                write(shape, megabytes, data)
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                seconds, peak = measure([sys.executable, "-m", "pipeline", "score", str(data), "-o",
                                         f"{tmp}/out.parquet"])
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
                results[shape, megabytes] = cpu, peak
                print(f"{shape:15s} {megabytes:4d} MB  {seconds:7.1f} s wall  {cpu:7.1f} s CPU  "
                      f"{megabytes / cpu:6.2f} MB/CPU-s  peak RSS {peak / 2**20:6.0f} MB", flush=True)
    small, large = args.sizes
    print(f"\nratios, {large} MB / {small} MB:")
    for shape in ("single_line", "one_char_lines"):
        (t_small, m_small), (t_large, m_large) = results[shape, small], results[shape, large]
        print(f"  {shape:15s} CPU time per MB {t_large / large / (t_small / small):.2f} (target <= 1.5), "
              f"peak RSS grows {(m_large - m_small) / 2**20 / (large - small):.2f} MB per added MB (target <= 3)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
