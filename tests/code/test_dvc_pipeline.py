"""A real `dvc repro` in a temporary copy of the repository as committed, then reruns, failures, an experiment
and the repro / exp run / exp apply / checkout sequences that must leave one truth about the live model."""
import hashlib
import json
import subprocess

import pytest

from tests.conftest import copy_repo, run, run_here

SEED = "data/articles/seeds/000_4351a19fe1e57ad0.txt"


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory):
    """A fresh clone, reproduced: the tests copy a small corpus, so its dvc.lock is first made and committed in
    an origin repository (as the real repository commits its own), then the origin is cloned and reproduced."""
    origin = copy_repo(tmp_path_factory.mktemp("origin"))
    made = run(["dvc", "repro"], cwd=origin, POLICY_SIGNALS_TRACKING="off")
    assert made.returncode == 0, made.stdout + made.stderr
    for args in (["git", "add", "dvc.lock"], ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "lock"]):
        subprocess.run(args, cwd=origin, check=True)
    repo = tmp_path_factory.mktemp("clone") / "repo"
    subprocess.run(["git", "clone", "-q", str(origin), str(repo)], check=True)
    done = run(["dvc", "repro"], cwd=repo)
    assert done.returncode == 0, done.stdout + done.stderr
    return repo


def stages_run(done) -> set[str]:
    """The stages a `dvc repro` or `dvc exp run` ran, by its output."""
    return {line.split("'")[1] for line in done.stdout.splitlines() if line.startswith("Running stage '")}


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def store(repo):
    from mlflow import MlflowClient
    return MlflowClient(tracking_uri=f"sqlite:///{repo / 'mlflow.db'}")


def models_status(repo) -> dict:
    done = run_here(["models", "--json"], cwd=repo)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def assert_one_truth(repo) -> dict:
    """The record (`policy-signals models --json`), models/ and MLflow's aliases agree; no model bytes are
    registered twice; no file record is left to go stale."""
    state = models_status(repo)
    client = store(repo)
    versions = client.search_model_versions("name = 'policy-signals'")
    hashes = [v.tags["model.sha256"] for v in versions]
    assert len(hashes) == len(set(hashes)), hashes
    champion = client.get_model_version_by_alias("policy-signals", "champion")
    held = sha256(repo / "models/model.joblib")
    assert state["model_sha256"] == held and not (repo / "models/registry.json").exists()
    assert (state["champion_version"], state["champion_sha256"]) == (str(champion.version),
                                                                     champion.tags["model.sha256"])
    assert state["models_is_champion"] == (champion.tags["model.sha256"] == held)
    mine = [v for v in versions if v.tags["model.sha256"] == held]
    assert [state["version"]] == [str(v.version) for v in mine]
    assert state["aliases"] == sorted(client.get_model_version("policy-signals", state["version"]).aliases)
    assert ("champion" in state["aliases"]) == state["models_is_champion"]
    return state


def test_fresh_clone_repro_leaves_git_status_clean_and_runs_not_dirty(reproduced):
    assert run(["git", "status", "--porcelain"], cwd=reproduced).stdout == ""
    runs = store(reproduced).search_runs(store(reproduced).get_experiment_by_name("policy-signals").experiment_id)
    assert [r.data.tags["git.dirty"] for r in runs] == ["false"]
    assert "run_id" not in (reproduced / "dvc.lock").read_text()


def test_repro_builds_model_metrics_and_plots(reproduced):
    for path in ("models/model.joblib", "models/model_card.json", "models/SHA256SUMS", "eval/metrics.json",
                 "eval/errors.csv", "eval/rules.json", "eval/plots/pr.png", "eval/plots/confusion.png",
                 "eval/plots/pr/export.csv", "eval/plots/confusion/risk.csv", "data/processed/paragraphs.parquet",
                 "eval/predictions.parquet"):
        assert (reproduced / path).is_file(), path
    metrics = json.loads((reproduced / "eval/metrics.json").read_text())
    assert {"cv", "baseline", "holdout", "slices"} <= metrics.keys()
    assert metrics["cv"]["macro_f1"] > metrics["baseline"]["macro_f1"]
    assert {code: 0 < v["macro_f1"] <= 1 for code, v in metrics["cv_by_language"].items()} == {"en": True, "zh": True}


def test_second_repro_only_rechecks_the_registry(reproduced):
    done = run(["dvc", "repro"], cwd=reproduced)
    assert done.returncode == 0
    assert [line for line in done.stdout.splitlines() if line.startswith("Running stage")] == \
        ["Running stage 'validate':", "Running stage 'register':"]  # validate: the gold sets may have changed
    assert "register: models already registered as models:/policy-signals/1 (challenger) and gated on this " \
           "evaluation before; champion: version 1 (this model)" in done.stderr  # not gated again, nor "there was none"
    assert_one_truth(reproduced)


def test_a_failed_repro_leaves_the_last_good_outputs_and_score_keeps_working(reproduced, tmp_path):
    outputs = ["models/model.joblib", "models/model_card.json", "models/SHA256SUMS", "eval/predictions.parquet",
               "eval/metrics.json", "data/processed/paragraphs.parquet"]
    before = {path: sha256(reproduced / path) for path in outputs}
    params, labels = reproduced / "params.yaml", reproduced / "data/labels.csv"
    good_params, good_labels = params.read_text(), labels.read_text()
    bad_row = good_labels.splitlines()[5].split(",")
    bad_row[1] = "2"
    for path, text, expected in (
            (params, good_params.replace("C: 8.0", "C: -1"), "params.yaml: param 'train.C' must be a number > 0"),
            (labels, good_labels.replace(good_labels.splitlines()[5], ",".join(bad_row)),
             "data/labels.csv: line 6: ideology must be 0 or 1, got '2'")):
        path.write_text(text)
        done = run(["dvc", "repro"], cwd=reproduced)
        assert done.returncode != 0 and expected in done.stderr, done.stdout + done.stderr
        assert not {"split", "train", "crossvalidate"} & stages_run(done), done.stdout
        assert {p: sha256(reproduced / p) for p in outputs} == before
        scored = run(["policy-signals", "score", SEED, "-o", str(tmp_path / "s.csv"), "--model", "models"],
                     cwd=reproduced)
        assert scored.returncode == 0 and len((tmp_path / "s.csv").read_text().splitlines()) == 15, scored.stderr
        path.write_text(good_params if path == params else good_labels)
    done = run(["dvc", "repro"], cwd=reproduced)  # fixed: nothing is refitted
    assert done.returncode == 0 and not {"train", "crossvalidate"} & stages_run(done), done.stdout + done.stderr
    assert {p: sha256(reproduced / p) for p in outputs} == before


def test_outputs_are_reproduced_byte_for_byte_and_nothing_machine_specific_leaks(reproduced):
    """The clone retrained everything in another directory, with tracking on where the origin had it off, and
    wrote the dvc.lock the origin committed: every output hash (model, predictions, metrics, plots, errors) is
    the same."""
    assert run(["git", "diff", "--quiet", "HEAD", "--", "dvc.lock"], cwd=reproduced).returncode == 0
    lock = (reproduced / "dvc.lock").read_text()
    for path in ("models/SHA256SUMS", "eval/predictions.parquet", "eval/metrics.json", "eval/plots", "eval/errors.csv"):
        assert f"path: {path}\n" in lock, path
    import socket
    for path in ("dvc.lock", "models/model_card.json", "eval/metrics.json", "data/processed/label_report.json"):
        text = (reproduced / path).read_text()
        assert str(reproduced) not in text and "/tmp/" not in text, path
        assert socket.gethostname() not in text, path
    assert "python -m pipeline" in lock


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


def test_one_truth_after_exp_run_revert_exp_apply_and_checkout(reproduced, tmp_path):
    """The issue's sequence: an experiment, reverting its params, applying it, checking out again."""
    experiment = assert_one_truth(reproduced)  # after the experiment above (train.C=2) ran in the workspace
    cv = json.loads((reproduced / "eval/metrics.json").read_text())["cv"]["macro_f1"]
    champion_cv = float(store(reproduced).get_model_version("policy-signals", "1").tags["cv.macro_f1"])
    assert experiment["version"] == "2"
    assert experiment["models_is_champion"] == (cv >= champion_cv)  # never a worse model

    assert run(["git", "checkout", "HEAD", "--", "params.yaml"], cwd=reproduced).returncode == 0  # revert: DVC restores models/ from its cache
    done = run(["dvc", "repro"], cwd=reproduced)
    assert done.returncode == 0 and not {"train", "crossvalidate"} & stages_run(done), done.stdout + done.stderr
    assert assert_one_truth(reproduced)["version"] == "1"

    name = run(["dvc", "exp", "list", "--name-only"], cwd=reproduced).stdout.split()[0]
    assert run(["dvc", "exp", "apply", name], cwd=reproduced).returncode == 0  # no stage runs
    assert assert_one_truth(reproduced)["version"] == "2"  # the record follows models/ with no stage run
    assert run(["git", "checkout", "HEAD", "--", "params.yaml", "dvc.lock"], cwd=reproduced).returncode == 0
    assert run(["dvc", "checkout"], cwd=reproduced).returncode == 0
    assert assert_one_truth(reproduced)["version"] == "1"
    done = run(["dvc", "repro"], cwd=reproduced)
    assert done.returncode == 0
    final = assert_one_truth(reproduced)
    # what `--model models` serves is what the champion URI serves exactly when models/ is the champion
    outputs = {}
    for spec in ("models", "models:/policy-signals@champion"):
        out = tmp_path / f"{len(outputs)}.csv"
        scored = run(["policy-signals", "score", SEED, "-o", str(out), "--model", spec], cwd=reproduced)
        assert scored.returncode == 0, scored.stderr
        outputs[spec] = out.read_text()
    assert (outputs["models"] == outputs["models:/policy-signals@champion"]) == final["models_is_champion"]


def test_an_edited_gold_set_reruns_evaluate_alone_and_a_broken_one_stops_validate(reproduced):
    """The real-text sets are no DVC deps (a missing one is reported, not an error): validate, which runs on
    every repro, records their SHA-256 for evaluate, which alone scores them: listing or editing a set refits
    nothing. (Last in this file: it leaves a set listed.)"""
    header = "text,ideology,reform,export,technology,risk\n"
    rows = ["MOFCOM tightened export licences for terbium and dysprosium.,0,0,1,0,0",
            "The Party committee studied the plenum's spirit.,1,0,0,0,0",
            "Baotou Steel merged two of its smelting units.,0,1,0,0,0"]
    gold, params = reproduced / "mine.csv", reproduced / "params.yaml"
    gold.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    params.write_text(params.read_text().replace("  real_text:", "  real_text:\n    mine: mine.csv", 1))
    to_evaluate = ["dvc", "repro", "evaluate"]  # up to evaluate: register, which every repro runs, is not the subject
    done = run(to_evaluate, cwd=reproduced)
    assert done.returncode == 0 and "crossvalidate" not in stages_run(done), done.stdout + done.stderr
    metrics = reproduced / "eval/metrics.json"
    first = json.loads(metrics.read_text())["real_text"]["mine"]
    gold.write_text(header + "\n".join(rows[:2]) + "\n", encoding="utf-8")  # one paragraph fewer
    done = run(to_evaluate, cwd=reproduced)
    assert done.returncode == 0 and stages_run(done) == {"validate", "evaluate"}, done.stdout + done.stderr
    assert (first["paragraphs"], json.loads(metrics.read_text())["real_text"]["mine"]["paragraphs"]) == (3, 2)
    before = metrics.read_bytes()
    gold.write_text(header + rows[0].replace(",1,", ",2,") + "\n", encoding="utf-8")
    done = run(["dvc", "repro"], cwd=reproduced)
    assert done.returncode != 0 and "mine.csv: line 2: export must be 0 or 1" in done.stderr, done.stderr
    assert metrics.read_bytes() == before
