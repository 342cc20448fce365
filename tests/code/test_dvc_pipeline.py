"""A real `dvc repro` in a temporary copy of the repository, then a no-op rerun and an experiment."""
import json

import pytest

from tests.conftest import copy_repo, run


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory):
    repo = copy_repo(tmp_path_factory.mktemp("repo"))
    done = run(["dvc", "repro"], cwd=repo)
    assert done.returncode == 0, done.stdout + done.stderr
    return repo


def test_repro_builds_model_metrics_and_plots(reproduced):
    for path in ("models/model.joblib", "models/model_card.json", "models/SHA256SUMS", "eval/metrics.json",
                 "eval/errors.csv", "eval/rules.json", "eval/plots/pr.png", "eval/plots/confusion.png",
                 "eval/plots/pr/export.csv", "eval/plots/confusion/risk.csv", "data/processed/paragraphs.parquet"):
        assert (reproduced / path).is_file(), path
    metrics = json.loads((reproduced / "eval/metrics.json").read_text())
    assert {"cv", "baseline", "holdout", "slices"} <= metrics.keys()
    assert metrics["cv"]["macro_f1"] > metrics["baseline"]["macro_f1"]


def test_second_repro_does_nothing(reproduced):
    done = run(["dvc", "repro"], cwd=reproduced)
    assert done.returncode == 0
    assert "Data and pipelines are up to date." in done.stdout
    assert "Running stage" not in done.stdout


def test_forced_rerun_reproduces_model_and_metrics_and_nothing_machine_specific_leaks(reproduced):
    before = {p: (reproduced / p).read_bytes() for p in ("models/SHA256SUMS", "eval/metrics.json",
                                                           "eval/plots/pr.png", "eval/errors.csv")}
    done = run(["dvc", "repro", "-f"], cwd=reproduced)
    assert done.returncode == 0, done.stdout + done.stderr
    after = {p: (reproduced / p).read_bytes() for p in before}
    assert after == before
    import socket
    lock = (reproduced / "dvc.lock").read_text()
    outputs = [reproduced / p for p in ("dvc.lock", "models/model_card.json", "eval/metrics.json",
                                        "models/registry.json", "data/processed/label_report.json")]
    for path in outputs:
        text = path.read_text()
        assert str(reproduced) not in text and "/tmp/" not in text, path
        assert socket.gethostname() not in text, path
    assert "cmd: python -m pipeline" in lock or "python -m pipeline" in lock


def test_experiment_with_a_changed_param(reproduced):
    done = run(["dvc", "exp", "run", "-S", "train.C=2"], cwd=reproduced)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Stage 'split' didn't change, skipping" in done.stdout
    shown = run(["dvc", "exp", "show", "--csv"], cwd=reproduced)
    header, *rows = [line.split(",") for line in shown.stdout.splitlines()]
    assert "cv.macro_f1" in header and "holdout.macro_f1" in header and "train.C" in header
    cv, c = header.index("cv.macro_f1"), header.index("train.C")
    values = {row[c]: row[cv] for row in rows}
    assert float(values["2"]) > 0.5 and float(values["8.0"]) > 0.5, values  # real numbers, not "!"
    import mlflow  # the copy's own store at its root: the baseline run and the experiment sit side by side
    mlflow.set_tracking_uri(f"sqlite:///{reproduced / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=["policy-signals"], output_format="list")
    by_c = {float(r.data.params["train.C"]): r for r in runs}
    assert {2.0, 8.0} <= set(by_c) and "cv.macro_f1" in by_c[2.0].data.metrics
    assert by_c[2.0].data.tags.get("dvc.exp_name") and "dvc.exp_name" not in by_c[8.0].data.tags
