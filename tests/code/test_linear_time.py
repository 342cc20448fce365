"""Splitting and scoring take time in proportion to the input and memory within the streaming budget,
whatever its shape: one 5 MB line, or 1 MB of one-character lines, half a million paragraphs
(benchmarks/linear.py measures 50 MB)."""
import subprocess
import sys
import time

import pandas as pd
import pytest

from pipeline.stages.split import MAX_CHARS
from tests.conftest import REPO

SIZE = 5 * 2**20
LINES = 2**20 // 2  # one-character lines: half a million paragraphs
WORDS = "Baogang raised output of rare earth concentrate under its new quota and"
SHAPES = {
    "single_line": (WORDS + " ") * (SIZE // (len(WORDS) + 1)),  # one line, no sentence end: cut at spaces
    "one_char_lines": "a\n" * LINES,
}


# A child forked from this (large) pytest process starts with its parent's resident-set high-water mark, so
# its own ru_maxrss would report pytest's size; a small launcher process forks the command and reports that.
LAUNCHER = ("import resource, subprocess, sys\n"
            "code = subprocess.call(sys.argv[1:])\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
            "sys.exit(code)\n")


def measured(args: list[str]) -> tuple[int, float, float, str]:
    """Exit code, wall seconds, peak RSS in MB and stderr of one command."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", LAUNCHER, *args], cwd=REPO, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - started
    *err, peak_kb = done.stderr.rstrip("\n").split("\n")
    return done.returncode, seconds, int(peak_kb) / 1024, "\n".join(err)


@pytest.mark.parametrize("shape", SHAPES)
def test_megabytes_are_split_and_scored_in_bounded_time_and_memory(shape, model_dir, tmp_path):
    path = tmp_path / f"{shape}.txt"
    path.write_text(SHAPES[shape])
    out = tmp_path / "out.parquet"
    code, seconds, peak_mb, err = measured([sys.executable, "-m", "pipeline", "score", str(path), "-o", str(out),
                                            "--model", str(model_dir), "--explain", "0"])
    assert code == 0, err
    positions = pd.read_parquet(out, columns=["position"])["position"]
    assert positions.tolist() == list(range(len(positions)))
    if shape == "one_char_lines":
        assert len(positions) == LINES
    else:
        assert len(SHAPES[shape]) / MAX_CHARS <= len(positions) <= 1.1 * len(SHAPES[shape]) / MAX_CHARS
    # generous bounds: ~6 s and ~10 s on the 2-core machine, ~300 MB (one batch at a time; ~250 MB is the loaded model); before, the
    # one-character lines took minutes, and the single line was scored as one batch (~1 GB)
    assert seconds < 240, seconds
    assert peak_mb < 700, peak_mb


def test_hostile_lines_are_cut_quickly():
    """Lines that made a regular expression backtrack for ever ('By AAAA...') or rescan a run of spaces."""
    code = ("from pipeline.stages.split import split_article, MAX_CHARS\n"
            "raw = ('By ' + 'A' * 3000 + '!\\n') * 50 + ('a' + ' ' * 3990 + 'b\\n') * 50\n"
            "paragraphs = split_article(raw)\n"
            "assert len(paragraphs) == 100 and max(len(p['text']) for p in paragraphs) <= MAX_CHARS\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
