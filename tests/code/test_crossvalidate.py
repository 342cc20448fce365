"""`crossvalidate` runs its fits in worker processes: the same table bytes with one job or two, a failed fit
reported as with one job, and a Ctrl-C or a killed worker ends the run (and every worker) with one line,
leaving no table behind."""
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from pipeline.config import InputError
from pipeline.corpus.labels import read_table, training_rows
from pipeline.stages import crossvalidate, predictions
from tests.code.test_workers import DEFAULT_SIGINT, assert_all_gone
from tests.conftest import PARAMS, REPO, small_folds

FIT_PREDICT = crossvalidate.fit_predict


def recorded_fit_predict(*args):
    """`fit_predict` noting which process ran it (a worker inherits this patch through fork)."""
    with open(os.environ["FITTED_IN"], "a", encoding="utf-8") as log:
        log.write(f"{os.getpid()}\n")
    return FIT_PREDICT(*args)


def small_inputs(tmp_path, table, articles_per_source: int, char_ngrams: bool = True):
    """A paragraphs table of the seed articles and a few of each other folder's, and params with SMALL_FOLDS folds."""
    rows = table[0]
    first = rows.drop_duplicates("article_id").groupby("source")["article_id"].head(articles_per_source)
    data = tmp_path / "paragraphs.parquet"
    rows[rows["article_id"].isin(first) | rows["source"].eq("seeds")].to_parquet(data, index=False)
    text = small_folds(PARAMS.read_text())
    params = tmp_path / "params.yaml"
    params.write_text(text.replace("char_ngrams: true", f"char_ngrams: {str(char_ngrams).lower()}"))
    return data, params


def test_one_job_or_two_write_the_same_bytes(tmp_path, table, monkeypatch):
    data, params = small_inputs(tmp_path, table, 8, char_ngrams=False)
    monkeypatch.setattr(crossvalidate, "fit_predict", recorded_fit_predict)
    for jobs in ("1", "2"):
        monkeypatch.setenv("FITTED_IN", str(tmp_path / f"{jobs}.pids"))
        assert crossvalidate.main(["--data", str(data), "--params", str(params),
                                   "--out", str(tmp_path / f"{jobs}.parquet"), "--jobs", jobs]) == 0
    assert (tmp_path / "1.parquet").read_bytes() == (tmp_path / "2.parquet").read_bytes()
    one, two = ((tmp_path / f"{jobs}.pids").read_text().split() for jobs in ("1", "2"))
    assert one == [str(os.getpid())] * 3 and len(two) == 3 and str(os.getpid()) not in two  # 2 folds + holdout
    rows = training_rows(read_table(data), False)
    read = predictions.read(rows, tmp_path / "2.parquet", "seeds")
    assert sorted(set(read[predictions.CV][3])) == [0, 1] and read[predictions.HOLDOUT][0].sum() > 0


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_failed_fit_is_reported_as_with_one_job(tmp_path, table, monkeypatch, jobs):
    data, params = small_inputs(tmp_path, table, 3, char_ngrams=False)

    def no_words(*args):
        raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
    monkeypatch.setattr(crossvalidate.model, "fit", no_words)  # workers inherit it
    with pytest.raises(InputError, match="param 'train.word_min_df' leaves no word"):
        crossvalidate.main(["--data", str(data), "--params", str(params), "--out", str(tmp_path / "p.parquet"),
                            "--jobs", jobs])
    assert not (tmp_path / "p.parquet").exists() and not list(tmp_path.glob(".p.parquet.*"))


def test_a_bad_jobs_variable_is_one_line(tmp_path, table, monkeypatch):
    data, params = small_inputs(tmp_path, table, 3, char_ngrams=False)
    monkeypatch.setenv(crossvalidate.JOBS, "0")
    with pytest.raises(InputError, match=r"^\$POLICY_SIGNALS_CV_JOBS: must be an integer >= 1, got '0'$"):
        crossvalidate.main(["--data", str(data), "--params", str(params), "--out", str(tmp_path / "p.parquet")])


def start(tmp_path, table):
    """`crossvalidate --jobs 2` on the whole corpus (minutes of fits), once both workers are fitting."""
    data, params = small_inputs(tmp_path, table, 10_000)
    out = tmp_path / "predictions.parquet"
    command = [sys.executable, "-c", DEFAULT_SIGINT, "-m", "pipeline", "crossvalidate", "--data", str(data),
               "--params", str(params), "--out", str(out), "--jobs", "2"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and process.poll() is None:
        children = psutil.Process(process.pid).children(recursive=True)
        if len(children) >= 2:
            time.sleep(0.5)
            return process, children, out
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    raise AssertionError(f"workers did not start: {process.communicate()}")


@pytest.mark.parametrize("how", ["Ctrl-C", "a worker killed"])
def test_an_interrupted_run_ends_its_workers_with_one_line_and_no_table(tmp_path, table, how):
    process, workers, out = start(tmp_path, table)
    try:
        if how == "Ctrl-C":
            os.killpg(process.pid, signal.SIGINT)
        else:  # as the out-of-memory killer would
            workers[0].kill()
        _, err = process.communicate(timeout=60)
    finally:  # a run that did not stop must not go on fitting beside the other tests
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert_all_gone(workers)
    assert not out.exists() and not list(tmp_path.glob(".predictions.parquet.*"))
    if how == "Ctrl-C":
        assert (process.returncode, err) == (130, "policy-signals crossvalidate: interrupted; no partial output "
                                                  "was left\n")
    else:
        assert process.returncode == 2 and err.count("\n") == 1, err
        assert err.startswith(f"error: {out}: not written: a fitting worker process was killed"), err
