"""Shared fixtures: the repository, its bundled data, and a model trained on it."""
from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest
from hypothesis import settings

# CI explores the same examples every run (reproducible); locally hypothesis keeps exploring.
settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO = Path(__file__).resolve().parents[1]
SHARED_SEEDS = REPO.parent / "shared" / "seeds"
ARTICLES = REPO / "data" / "articles"
LABELS = REPO / "data" / "labels.csv"
RULES = REPO / "data" / "rules.yaml"
PARAMS = REPO / "params.yaml"


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """Run a command with this interpreter's bin directory first on PATH (as `dvc.yaml` expects)."""
    environ = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", **env}
    return subprocess.run(args, cwd=cwd, env=environ, capture_output=True, text=True)


def run_here(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """`python -m pipeline ARGS` in `cwd`, run in this process: for commands whose process start is not what
    a test is about (each `models` call started an interpreter and imported MLflow, ~3 s of CPU). The
    environment and MLflow's tracking URI (which the command sets, in both) are put back afterwards."""
    import mlflow
    from mlflow.tracking._tracking_service import utils

    from pipeline.cli import main
    environ, uri = dict(os.environ), utils._tracking_uri
    out, err = io.StringIO(), io.StringIO()
    try:
        os.environ.update(env)
        with contextlib.chdir(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(args)
            except SystemExit as exc:  # argparse's usage errors
                code = exc.code
    finally:
        mlflow.set_tracking_uri(uri)
        os.environ.clear()
        os.environ.update(environ)
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


# A small corpus for tests that run the whole pipeline (`dvc repro` in a copy): every seed article and
# the first few of each other folder, with their labels, and 2 cross-validation folds instead of 5 (the fewest
# that still hold an article out: every fold, threshold tuning and nested CV run as in the real pipeline).
# The same code paths, a fraction of the time.
SMALL_CORPUS = {"seeds": None, "team": 12, "world": 10, "zh": 8}
SMALL_FOLDS = 2


# The longest modules are collected first, and pytest-xdist hands out whole files in collection order
# (pyproject.toml: --no-loadscope-reorder), so the other worker fills in around them instead of one worker
# finishing a long file alone at the end.
FIRST = ("test_dvc_pipeline.py", "test_tracking.py", "test_serve.py")


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(FIRST)))  # stable: each file keeps its order


def _kept(name: str) -> bool:
    parts = Path(name).parts
    if parts[:2] != ("data", "articles") or len(parts) < 4 or SMALL_CORPUS.get(parts[2], 0) is None:
        return True
    folder = sorted(p.name for p in (REPO / "data" / "articles" / parts[2]).iterdir())
    return parts[3] in folder[:SMALL_CORPUS.get(parts[2], 0)]


def small_folds(params_text: str) -> str:
    """params.yaml's text with SMALL_FOLDS folds for both train.cv_folds and evaluate.cv_folds."""
    text, folds = re.subn(r"(?m)^(  cv_folds:) \d+", rf"\1 {SMALL_FOLDS}", params_text)
    assert folds == 2, "params.yaml: expected train.cv_folds and evaluate.cv_folds"
    return text


def copy_repo(target: Path, replace: dict[str, str] | None = None, small: bool = True) -> Path:
    """Copy the working tree (tracked and untracked, not ignored) into `target` as a fresh git repo; with
    `small`, only the SMALL_CORPUS articles and their labels; files named in `replace` get that content."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO,
                            capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, listed):
        if (REPO / name).is_file() and (not small or _kept(name)):
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, target / name)
    if small:
        from pipeline.corpus import labels
        from pipeline.stages.split import build_paragraphs
        ids = set(build_paragraphs(target / "data" / "articles")["paragraph_id"])
        gold = labels.read_labels(target / "data" / "labels.csv")
        labels.write_labels(gold[gold["paragraph_id"].isin(ids)], target / "data" / "labels.csv")
        (target / "params.yaml").write_text(small_folds((target / "params.yaml").read_text()))
    for name, content in (replace or {}).items():
        (target / name).write_text(content)
    for args in (["git", "init", "-q"], ["git", "add", "-A"],
                 ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "copy"]):
        subprocess.run(args, cwd=target, check=True)
    return target


@pytest.fixture(scope="session")
def params():
    from pipeline.config import load_params
    return load_params(PARAMS)


@pytest.fixture(scope="session")
def table():
    """The bundled corpus split and joined with its gold labels, as the `split` stage does."""
    from pipeline import rules
    from pipeline.corpus import labels
    from pipeline.stages.split import build_paragraphs
    paragraphs = build_paragraphs(ARTICLES)
    joined, report = labels.join(paragraphs, labels.read_labels(LABELS), partial(rules.apply, rules.load_rules(RULES)))
    return joined, report


@pytest.fixture(scope="session")
def trained(table, params):
    """The production model and thresholds: the bundle `dvc repro` built when it was trained on exactly
    this data and these params (the README runs it before the tests), else trained here."""
    from pipeline import bundle, model
    from pipeline.config import InputError
    from pipeline.corpus.labels import training_rows
    from pipeline.stages.train import data_hash
    rows = training_rows(table[0], False)
    try:
        fitted, card = bundle.load(REPO / "models")
        if card["training_data"]["sha256"] == data_hash(rows) and \
                card["params"] == {"seed": params["seed"], "train": params["train"]}:
            return fitted, card["thresholds"]
    except (InputError, OSError, KeyError):
        pass
    fitted, thresholds, _ = model.fit(params["train"], params["seed"], rows)
    return fitted, thresholds


@pytest.fixture(scope="session")
def empty_store(tmp_path_factory) -> Path:
    """An MLflow SQLite store with its tables made, once per test process: making them runs MLflow's
    migrations (~1.6 s), which a test that needs an empty store would otherwise repeat."""
    from mlflow import MlflowClient

    from pipeline import tracking
    path = tmp_path_factory.mktemp("store") / "mlflow.db"
    with tracking.quiet(), contextlib.chdir(path.parent):  # its Default experiment's artefacts: not in the repo
        MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def mlflow_db(tmp_path, empty_store) -> Path:
    """A new, empty MLflow store of this test's own: tmp_path/mlflow.db."""
    return Path(shutil.copyfile(empty_store, tmp_path / "mlflow.db"))


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory, trained, params, table):
    """The production model saved as a bundle directory, as `train` writes it."""
    import numpy as np

    from pipeline import bundle
    from pipeline.corpus.labels import training_rows
    from pipeline.signals import SIGNALS
    from pipeline.stages.train import model_card
    fitted, thresholds = trained
    directory = tmp_path_factory.mktemp("model")
    rows = training_rows(table[0], False)
    bundle.save(directory, fitted, model_card(params, rows, thresholds, np.zeros((len(rows), len(SIGNALS)))),
                rows["text"])
    return directory


def _rows_table(directory, copies):
    """A CSV of two short paragraphs repeated `copies` times each."""
    import pandas as pd
    path = directory / "rows.csv"
    texts = ["MOFCOM tightened export licences for terbium and dysprosium shipments to Japan.",
             "The Party committee held a study session on discipline and pledged to cut costs."]
    pd.DataFrame({"text": texts * copies}).to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def big_table(tmp_path_factory):
    """40,000 short table rows: a few seconds of scoring, for tests that run it to the end."""
    return _rows_table(tmp_path_factory.mktemp("big"), 20000)


@pytest.fixture(scope="session")
def huge_table(tmp_path_factory):
    """400,000 rows: 14-20 s of scoring on two cores, so a test that kills a run seconds after it starts
    always kills it part-way (40,000 rows finished within the 2 s such a test waits)."""
    return _rows_table(tmp_path_factory.mktemp("huge"), 200000)


@pytest.fixture(scope="session")
def small_bundle(tmp_path_factory, table):
    """A real (small, fast) model bundle trained on the five seed articles, and its params."""
    from pipeline import bundle, model
    from pipeline.config import load_params
    from pipeline.corpus.labels import training_rows
    from pipeline.stages.train import model_card
    params = load_params(PARAMS)
    params["train"] = {**params["train"], "char_ngrams": False, "cv_folds": 3}
    rows = training_rows(table[0], False)
    rows = rows[rows["source"].eq("seeds")].reset_index(drop=True)
    fitted, thresholds, oof = model.fit(params["train"], params["seed"], rows)
    directory = tmp_path_factory.mktemp("bundle")
    bundle.save(directory, fitted, model_card(params, rows, thresholds, oof), rows["text"])
    return directory, params


def rehash(directory: Path) -> None:
    """Write a bundle's manifest for its files as they now are: a test that changes one on purpose and wants
    the change to pass the hash check, to reach the check behind it."""
    from pipeline import bundle

    (directory / bundle.MANIFEST).write_text(bundle.manifest(
        {name: bundle.sha256(directory / name) for name in bundle.HASHED}))
