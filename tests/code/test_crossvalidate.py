"""`crossvalidate` runs its fits in forked workers: the same table bytes with one job or two, and a Ctrl-C or a
killed worker ends the run (and every worker) with one line, leaving no table behind."""
import os
import re
import signal
import subprocess
import sys
import time

import psutil
import pytest

from pipeline.stages.crossvalidate import main
from tests.code.test_workers import DEFAULT_SIGINT, assert_all_gone
from tests.conftest import PARAMS, REPO


def small_inputs(tmp_path, table, articles_per_source: int, char_ngrams: bool = True):
    """A paragraphs table of the seed articles and a few of each other folder's, and params with two folds."""
    rows = table[0]
    first = rows.drop_duplicates("article_id").groupby("source")["article_id"].head(articles_per_source)
    data = tmp_path / "paragraphs.parquet"
    rows[rows["article_id"].isin(first) | rows["source"].eq("seeds")].to_parquet(data, index=False)
    text = re.sub(r"(?m)^(  cv_folds:) \d+", r"\1 2", PARAMS.read_text())
    params = tmp_path / "params.yaml"
    params.write_text(text.replace("char_ngrams: true", f"char_ngrams: {str(char_ngrams).lower()}"))
    return data, params


def test_one_job_or_two_write_the_same_bytes(tmp_path, table):
    data, params = small_inputs(tmp_path, table, 8, char_ngrams=False)
    for jobs in ("1", "2"):
        assert main(["--data", str(data), "--params", str(params), "--out", str(tmp_path / f"{jobs}.parquet"),
                     "--jobs", jobs]) == 0
    assert (tmp_path / "1.parquet").read_bytes() == (tmp_path / "2.parquet").read_bytes()


def start(tmp_path, table):
    """`crossvalidate --jobs 2` on the whole corpus (minutes of fits), once both workers are fitting."""
    data, params = small_inputs(tmp_path, table, 10_000)
    out = tmp_path / "predictions.parquet"
    command = [sys.executable, "-c", DEFAULT_SIGINT, "-m", "pipeline", "crossvalidate", "--data", str(data),
               "--params", str(params), "--out", str(out), "--jobs", "2"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        children = psutil.Process(process.pid).children(recursive=True)
        if len(children) >= 2:
            time.sleep(0.5)
            return process, children, out
        assert process.poll() is None, process.communicate()
        time.sleep(0.2)
    raise AssertionError("workers did not start")


@pytest.mark.parametrize("how", ["Ctrl-C", "a worker killed"])
def test_an_interrupted_run_ends_its_workers_with_one_line_and_no_table(tmp_path, table, how):
    process, workers, out = start(tmp_path, table)
    if how == "Ctrl-C":
        os.killpg(process.pid, signal.SIGINT)
    else:  # as the out-of-memory killer would
        workers[0].kill()
    _, err = process.communicate(timeout=60)
    assert_all_gone(workers)
    assert not out.exists() and not list(tmp_path.glob(".predictions.parquet.*"))
    if how == "Ctrl-C":
        assert (process.returncode, err) == (130, "policy-signals crossvalidate: interrupted; no partial output "
                                                  "was left\n")
    else:
        assert process.returncode == 2 and err.count("\n") == 1, err
        assert err.startswith(f"error: {out}: not written: a fitting worker process was killed"), err
