"""The benchmark scripts start: `report.py` and `linear.py` imported a helper that `score.py` had renamed, and
failed before measuring anything, unseen, since no test ran them."""
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = sorted((Path(__file__).resolve().parents[2] / "benchmarks").glob("*.py"))


@pytest.mark.parametrize("script", BENCHMARKS, ids=lambda path: path.name)
def test_each_benchmark_script_imports_and_prints_its_usage(script):
    result = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("usage:")
