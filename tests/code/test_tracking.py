"""MLflow tracking and registry against real stores: a SQLite file in a temp dir and a real
`mlflow server` on 127.0.0.1; the champion gate; pyfunc parity; the local bundle's checks."""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pandas as pd
import pytest

from pipeline import bundle, tracking
from pipeline.cli import main
from pipeline.config import InputError
from pipeline.stages import champion, register
from tests.conftest import PARAMS, REPO, rehash, run, run_here

TEXTS = ["MOFCOM tightened export licences for terbium.", "The Party committee studied Xi's speech.",
         "A tailings dam breach halted output.", "Leave a Reply"]


@pytest.fixture
def store(mlflow_db, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{mlflow_db}")
    monkeypatch.delenv(tracking.SWITCH, raising=False)
    monkeypatch.chdir(mlflow_db.parent)  # artefacts land under the test's temp dir
    import mlflow
    return mlflow


def metrics(macro: float) -> dict:
    return {"cv": {"macro_f1": macro, "micro_f1": macro, "macro_f1_std": 0.01, "export": {"f1": 0.9}},
            "holdout": {"source": "seeds", "macro_f1": macro - 0.05}}


def log(small_bundle, params, macro, tmp_path, **env):
    directory, _ = small_bundle
    card = json.loads((directory / bundle.CARD).read_text())
    artefact = tmp_path / "metrics.json"
    artefact.write_text(json.dumps(metrics(macro)))
    tags = tracking.run_tags(card, bundle.sha256(directory / bundle.MODEL))
    return tracking.log_run(params, metrics(macro), tags, [artefact, directory / bundle.CARD])


def test_runs_arrive_with_params_metrics_tags_and_artefacts(store, small_bundle, tmp_path, monkeypatch):
    _, params = small_bundle
    monkeypatch.setenv("DVC_EXP_NAME", "brisk-lamb")
    monkeypatch.setenv("DVC_EXP_BASELINE_REV", "abc123")
    first = log(small_bundle, params, 0.8, tmp_path)
    other = {**params, "train": {**params["train"], "C": 2.0}}
    second = log(small_bundle, other, 0.7, tmp_path)
    runs = {r.info.run_id: r for r in store.search_runs(experiment_names=["policy-signals"], output_format="list")}
    assert set(runs) == {first, second}
    one = runs[first].data
    assert one.params["train.C"] == str(params["train"]["C"]) and runs[second].data.params["train.C"] == "2.0"
    assert one.metrics["cv.macro_f1"] == 0.8 and one.metrics["cv.export.f1"] == 0.9
    assert one.metrics["cv.macro_f1_std"] == 0.01 and "holdout.source" not in one.metrics
    assert one.tags["dvc.exp_name"] == "brisk-lamb" and one.tags["dvc.baseline_rev"] == "abc123"
    assert len(one.tags["data.sha256"]) == 64 and one.tags["git.dirty"] in ("true", "false")
    artefacts = {a.path for a in store.MlflowClient().list_artifacts(first)}
    assert {"metrics.json", "model_card.json"} <= artefacts


def test_artefacts_stay_beside_the_store_when_the_first_run_is_in_a_temporary_copy(store, small_bundle, tmp_path,
                                                                                     monkeypatch):
    """A queued experiment runs in DVC's temporary copy, deleted after it: were the experiment made there, its
    artefacts (every later run's and registered model's too) would go with it."""
    directory, params = small_bundle
    copy = tmp_path / ".dvc" / "tmp" / "exps" / "tmp1234"
    copy.mkdir(parents=True)
    monkeypatch.chdir(copy)
    run = log(small_bundle, params, 0.8, tmp_path)
    fitted, card = bundle.load(directory)
    register.register(fitted, card, metrics(0.80), gated(params), bundle.sha256(directory / bundle.MODEL))
    shutil.rmtree(tmp_path / ".dvc")  # DVC removes the copy
    beside = (tmp_path / "mlruns").as_uri()  # the store is tmp_path/mlflow.db
    assert store.get_experiment_by_name("policy-signals").artifact_location == beside
    assert {"metrics.json", "model_card.json"} <= {a.path for a in store.MlflowClient().list_artifacts(run)}
    champion = store.pyfunc.load_model("models:/policy-signals@champion")  # its files are still there
    assert champion.predict(pd.DataFrame({"text": TEXTS})).shape[0] == len(TEXTS)
    assert tracking.artifact_location("http://tracking.example:5000") is None


def git_repo(path, text: str) -> str:
    """A real repository at `path` with one commit of params.yaml; its HEAD."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "params.yaml").write_text(text)
    commit = ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c"]
    for args in (["init", "-q"], ["add", "params.yaml"], commit):
        subprocess.run(["git", *args], cwd=path, check=True)
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True).stdout.strip()


def test_provenance_tags_describe_the_experiments_own_workspace(tmp_path, monkeypatch):
    """A queued experiment runs in DVC's temporary copy with $DVC_ROOT naming the main repository: its commit and
    dirty tags must be the copy's (its -S changes make it dirty), not whatever the user is editing meanwhile."""
    main_head = git_repo(tmp_path, "C: 8.0\n")
    copy = tmp_path / ".dvc" / "tmp" / "exps" / "tmp1234"
    copy_head = git_repo(copy, "C: 8.0\nseed: 1\n")
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    monkeypatch.chdir(copy)
    card = {"training_data": {"sha256": "0" * 64}}
    (tmp_path / "params.yaml").write_text("C: 1.0\n")  # the user edits the main workspace
    tags = tracking.run_tags(card, "1" * 64)
    assert (tags["git.commit"], tags["git.dirty"]) == (copy_head, "false") and copy_head != main_head
    (copy / "params.yaml").write_text("C: 2.0\nseed: 1\n")  # the experiment's -S train.C=2
    (tmp_path / "params.yaml").write_text("C: 8.0\n")
    assert tracking.run_tags(card, "1" * 64)["git.dirty"] == "true"


def test_default_store_is_an_absolute_sqlite_path_at_the_dvc_root(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    assert tracking.tracking_uri() == f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    monkeypatch.delenv("DVC_ROOT")
    monkeypatch.chdir(REPO / "pipeline")
    assert tracking.tracking_uri() == f"sqlite:///{REPO}/mlflow.db"


def test_tracking_switch(monkeypatch, small_bundle, tmp_path, capsys):
    _, params = small_bundle
    monkeypatch.setenv(tracking.SWITCH, "off")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'never.db'}")
    assert log(small_bundle, params, 0.8, tmp_path) is None
    assert not (tmp_path / "never.db").exists()
    monkeypatch.setenv(tracking.SWITCH, "sometimes")
    with pytest.raises(InputError, match="must be one of on, strict, off"):
        tracking.mode()


def test_unreachable_server_warns_or_fails_as_configured(monkeypatch, small_bundle, tmp_path, capsys):
    _, params = small_bundle
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.delenv(tracking.SWITCH, raising=False)
    assert log(small_bundle, params, 0.8, tmp_path) is None
    assert "the evaluation run was not logged to MLflow" in capsys.readouterr().err
    monkeypatch.setenv(tracking.SWITCH, "strict")
    with pytest.raises(tracking.TrackingError, match="the evaluation run failed"):
        log(small_bundle, params, 0.8, tmp_path)


def gated(params, allow_worse=False):
    return {**params, "register": {"model_name": "policy-signals", "allow_worse": allow_worse}}


def test_same_model_bytes_are_registered_once(store, small_bundle):
    directory, params = small_bundle
    fitted, card = bundle.load(directory)
    sha = bundle.sha256(directory / bundle.MODEL)
    first = register.register(fitted, card, metrics(0.80), gated(params), sha)
    again = register.register(fitted, card, metrics(0.80), gated(params), sha)
    assert (first["version"], first["new_version"]) == ("1", True)
    assert (again["version"], again["new_version"]) == ("1", False)
    assert again["decision"] == "version 1 is champion (there was none)"  # gated once, on this evaluation
    assert len(store.MlflowClient().search_model_versions("name = 'policy-signals'")) == 1


def test_the_same_bytes_with_other_code_are_registered_again_and_take_over(store, small_bundle, monkeypatch):
    """A model's behaviour is its bytes and its code (the text repair, say): the registered model carries the
    code that evaluated it, whatever the bytes."""
    directory, params = small_bundle
    fitted, card = bundle.load(directory)
    sha, code = bundle.sha256(directory / bundle.MODEL), register.code_sha256()
    assert code == register.code_sha256() and len(code) == 64
    first = register.register(fitted, card, metrics(0.80), gated(params), sha)
    monkeypatch.setattr(register, "code_sha256", lambda: "c" * 64)  # the package changed, the bytes did not
    changed = register.register(fitted, card, metrics(0.80), gated(params), sha)
    again = register.register(fitted, card, metrics(0.80), gated(params), sha)
    assert (first["version"], changed["version"], again["version"]) == ("1", "2", "2")
    assert changed["new_version"] and not again["new_version"] and changed["champion_version"] == "2"
    client = store.MlflowClient()
    assert [client.get_model_version("policy-signals", v).tags["code.sha256"] for v in "12"] == [code, "c" * 64]


def test_registration_cut_off_before_tagging_is_completed_not_repeated(store, small_bundle, monkeypatch):
    directory, params = small_bundle
    fitted, card = bundle.load(directory)
    sha = bundle.sha256(directory / bundle.MODEL)
    tag_version = register.tag_version

    def store_fails_once(*args):
        monkeypatch.setattr(register, "tag_version", tag_version)
        raise ConnectionError("the store went away after registering")

    monkeypatch.setattr(register, "tag_version", store_fails_once)
    with pytest.raises(ConnectionError):
        register.register(fitted, card, metrics(0.80), gated(params), sha)
    again = register.register(fitted, card, metrics(0.80), gated(params), sha)
    assert (again["version"], again["new_version"]) == ("1", False) and "champion" in again["aliases"]
    versions = store.MlflowClient().search_model_versions("name = 'policy-signals'")
    assert len(versions) == 1 and versions[0].tags["model.sha256"] == sha
    assert versions[0].tags["serialization"] == register.serialization(store)  # not '' after the retry


def test_champion_gate_never_promotes_a_worse_or_incomparable_model_unless_asked(store, small_bundle):
    directory, params = small_bundle
    fitted, card = bundle.load(directory)
    other_data = {**card, "training_data": {**card["training_data"], "sha256": "0" * 64}}
    first = register.register(fitted, card, metrics(0.80), gated(params), "1" * 64)
    worse = register.register(fitted, card, metrics(0.795), gated(params), "2" * 64)
    assert first["champion_version"] == "1" and "champion" in first["aliases"] and first["models_is_champion"]
    assert worse["champion_version"] == "1" and worse["aliases"] == ["challenger"] and not worse["models_is_champion"]
    assert "not promoted: cv.macro_f1 0.7950 vs champion version 1's 0.8000 on the same evaluation" in worse["decision"]
    incomparable = register.register(fitted, other_data, metrics(0.90), gated(params), "3" * 64)
    assert incomparable["champion_version"] == "1" and "different evaluation" in incomparable["decision"]
    better = register.register(fitted, card, metrics(0.81), gated(params), "4" * 64)
    assert better["champion_version"] == "4" and "0.8100 vs champion version 1's 0.8000" in better["decision"]
    forced = register.register(fitted, card, metrics(0.70), gated(params, allow_worse=True), "5" * 64)
    assert forced["champion_version"] == "5" and "register.allow_worse" in forced["decision"]
    client = store.MlflowClient()
    assert str(client.get_model_version_by_alias("policy-signals", "champion").version) == "5"
    assert client.get_model_version("policy-signals", "5").tags["model.sha256"] == "5" * 64


def test_models_command_tells_which_version_is_champion_and_whether_models_is_it(store, small_bundle, tmp_path,
                                                                                  capsys):
    directory, params = small_bundle
    directory = shutil.copytree(directory, tmp_path / "models")
    fitted, card = bundle.load(directory)
    sha = bundle.sha256(directory / bundle.MODEL)
    (tmp_path / "params.yaml").write_text(PARAMS.read_text())
    register.register(fitted, card, metrics(0.80), gated(params), sha)
    assert main(["models", "--json"]) == 0
    state = json.loads(capsys.readouterr().out)
    assert state["champion_version"] == state["version"] == "1" and state["models_is_champion"]
    assert state["champion_sha256"] == state["model_sha256"] == sha and state["aliases"] == ["challenger", "champion"]
    assert state["decision"] == "version 1 is champion (there was none)"
    register.register(fitted, card, metrics(0.85), gated(params), "f" * 64)  # a better model elsewhere
    assert main(["models"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("champion: policy-signals version 2 (sha256 ffffffffffff")
    assert out[1].endswith("version 1; it is NOT the champion")
    assert out[2].startswith("last gate decision: replaced as champion: version 2 is champion: cv.macro_f1 0.8500")
    assert not (directory / "registry.json").exists()  # nothing on disk to go stale
    assert main(["models", "promote", "01"]) == 0 and "version 1 of policy-signals is champion" in capsys.readouterr().err
    assert main(["models", "--json"]) == 0
    state = json.loads(capsys.readouterr().out)
    assert state["models_is_champion"] and state["decision"] == "version 1 of policy-signals is champion (promoted by hand)"
    for bad in (["promote", "abc"], ["promote"], ["status", "1"]):
        with pytest.raises(SystemExit) as refused:
            main(["models", *bad])
        assert refused.value.code == 2 and "VERSION" in capsys.readouterr().err
    assert main(["models", "promote", "9"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: sqlite:///") and "promoting failed" in err


def test_a_rerun_with_nothing_changed_does_not_undo_a_promotion_by_hand(store, small_bundle, capsys):
    """`register` runs on every `dvc repro`: the model in models/, gated once on its evaluation, is not gated
    again, so a version promoted by hand since stays champion."""
    directory, params = small_bundle
    fitted, card = bundle.load(directory)
    sha = bundle.sha256(directory / bundle.MODEL)
    register.register(fitted, card, metrics(0.80), gated(params), sha)  # models/: version 1, champion
    register.register(fitted, card, metrics(0.85), gated(params), "f" * 64)  # an experiment's: 2, champion
    register.register(fitted, card, metrics(0.78), gated(params), "e" * 64)  # another's: 3, challenger
    champion.promote("policy-signals", "3")
    again = register.register(fitted, card, metrics(0.80), gated(params), sha)  # dvc repro, nothing changed
    assert (again["version"], again["new_version"], again["champion_version"]) == ("1", False, "3")
    assert again["decision"].startswith("replaced as champion: version 2 is champion")  # its last, unchanged
    moved = register.register(fitted, card, metrics(0.81), gated(params), sha)  # re-evaluated: gated again
    assert moved["champion_version"] == "1"


def test_models_without_a_store_says_so_and_makes_none(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("DVC_ROOT", raising=False)
    (tmp_path / "params.yaml").write_text(PARAMS.read_text())
    for args in (["models"], ["models", "promote", "1"]):
        assert main(args) == 2
        assert f"no MLflow store at {tmp_path / 'mlflow.db'}" in capsys.readouterr().err
    assert not (tmp_path / "mlflow.db").exists()
    typo = tmp_path / "elsewhere" / "mlfow.db"  # a mistyped MLFLOW_TRACKING_URI made an empty store: "none is champion"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{typo}")
    (typo.parent).mkdir()
    assert main(["models"]) == 2
    assert f"no MLflow store at {typo}" in capsys.readouterr().err
    assert not typo.exists()


def test_output_into_a_closed_pipe_ends_without_a_traceback(store, small_bundle):
    read, write = os.pipe()
    os.close(read)  # `policy-signals models | head -1` once head has its line
    done = subprocess.run([sys.executable, "-m", "pipeline", "models", "--model", str(small_bundle[0]), "--params",
                           str(PARAMS)], cwd=REPO, stdout=write, stderr=subprocess.PIPE, text=True)
    os.close(write)
    assert done.returncode == 1 and "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr


def test_failed_registration_is_one_line_with_the_real_cause_and_retried(small_bundle, tmp_path, mlflow_db):
    """The `register` stage runs on every `dvc repro` (test_dvc_pipeline), so the next repro is the retry."""
    directory = shutil.copytree(small_bundle[0], tmp_path / "models")
    (directory / "registry.json").write_text('{"version": "7"}')  # the file record of older versions
    (tmp_path / "metrics.json").write_text(json.dumps(metrics(0.8)))
    (tmp_path / "params.yaml").write_text(PARAMS.read_text())
    db = mlflow_db  # an empty store (`models` refuses to make one)
    command = ["python", "-m", "pipeline", "register", "--model", "models", "--metrics", "metrics.json"]
    status = ["models", "--json"]
    done = run(command, cwd=tmp_path, MLFLOW_TRACKING_URI=f"sqlite:///file:{db}?mode=ro&uri=true")
    assert done.returncode == 0
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert "model registration was not logged" in done.stderr and "attempt to write a readonly database" in done.stderr
    assert not (directory / "registry.json").exists()  # a stale record is never left beside the model
    record = json.loads(run_here(status, cwd=tmp_path, MLFLOW_TRACKING_URI=f"sqlite:///{db}").stdout)
    assert record["registered"] is False and "version" not in record
    said = run_here(status[:-1], cwd=tmp_path, MLFLOW_TRACKING_URI=f"sqlite:///{db}").stdout
    assert "not registered (`dvc repro` registers it)" in said, said
    done = run(command, cwd=tmp_path, MLFLOW_TRACKING_URI=f"sqlite:///{db}")  # the store is writable again
    assert done.returncode == 0 and done.stderr.count("\n") == 1, done.stderr
    assert "register: models registered as models:/policy-signals/1 (challenger)" in done.stderr
    record = json.loads(run_here(status, cwd=tmp_path, MLFLOW_TRACKING_URI=f"sqlite:///{db}").stdout)
    assert record["registered"] and record["version"] == "1" and record["model_sha256"] == bundle.sha256(
        directory / bundle.MODEL)
    off = run(command, cwd=tmp_path, POLICY_SIGNALS_TRACKING="off")
    assert off.returncode == 0 and off.stderr == "register: models not registered: tracking is off " \
                                                 "($POLICY_SIGNALS_TRACKING=off)\n", off.stderr


def test_champion_scores_through_pyfunc_like_the_local_bundle(store, small_bundle, tmp_path):
    directory, params = small_bundle
    fitted, card = bundle.load(directory)
    register.register(fitted, card, metrics(0.8), params, bundle.sha256(directory / bundle.MODEL))
    pyfunc = store.pyfunc.load_model("models:/policy-signals@champion")
    served = np.asarray(pyfunc.predict(pd.DataFrame({"text": TEXTS})))
    np.testing.assert_array_equal(served, fitted.predict_proba(TEXTS))
    from pipeline.scoring.scorer import score_texts
    via_uri = score_texts(TEXTS, model="models:/policy-signals@champion")
    np.testing.assert_array_equal(via_uri[[f"p_{s}" for s in ("ideology", "reform", "export", "technology", "risk")]]
                                  .to_numpy(), served)

    csv = tmp_path / "paragraphs.csv"
    pd.DataFrame({"text": TEXTS}).to_csv(csv, index=False)
    out = tmp_path / "out.json"
    done = run(["mlflow", "models", "predict", "-m", "models:/policy-signals@champion", "-i", str(csv),
                "-t", "csv", "--env-manager", "local", "-o", str(out)], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    predicted = np.asarray(json.loads(out.read_text())["predictions"])
    np.testing.assert_allclose(predicted, fitted.predict_proba(TEXTS), rtol=0, atol=1e-12)


def test_real_mlflow_server_receives_runs(small_bundle, tmp_path, monkeypatch):
    _, params = small_bundle
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
         "--artifacts-destination", str(tmp_path / "artefacts"), "--workers", "1"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"})  # no job-runner process: ~3 s of CPU
    try:
        deadline = time.time() + 90
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except OSError:
                assert time.time() < deadline and server.poll() is None, "mlflow server did not start"
                time.sleep(0.5)
        monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{port}")
        monkeypatch.delenv(tracking.SWITCH, raising=False)
        first = log(small_bundle, params, 0.81, tmp_path)
        second = log(small_bundle, {**params, "seed": 7}, 0.79, tmp_path)
        import mlflow
        runs = {r.info.run_id: r.data for r in mlflow.search_runs(experiment_names=["policy-signals"],
                                                                   output_format="list")}
        assert set(runs) == {first, second}
        assert runs[first].metrics["cv.macro_f1"] == 0.81 and runs[second].params["seed"] == "7"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_tampered_or_mismatched_local_model_is_refused(small_bundle, tmp_path):
    directory, _ = small_bundle
    copy = tmp_path / "copy"
    shutil.copytree(directory, copy)
    bundle.load(copy)  # intact: loads
    data = bytearray((copy / bundle.MODEL).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / bundle.MODEL).write_bytes(bytes(data))
    with pytest.raises(InputError, match="model.joblib: SHA-256 does not match SHA256SUMS"):
        bundle.load(copy)

    shutil.rmtree(copy)
    shutil.copytree(directory, copy)
    card = json.loads((copy / bundle.CARD).read_text())
    card["signals"] = ["ideology", "reform"]
    (copy / bundle.CARD).write_text(json.dumps(card))
    rehash(copy)
    with pytest.raises(InputError, match="do not match"):
        bundle.load(copy)
    (copy / bundle.MANIFEST).unlink()
    with pytest.raises(InputError, match="model manifest not found"):
        bundle.load(copy)


def test_models_is_the_champion_only_at_the_champions_thresholds(store, small_bundle):
    """The same model bytes are registered again when their thresholds move (a language fix retuned them) and
    the old version may stay champion: `models` said `models/` was the champion, which flags differently."""
    from mlflow import MlflowClient

    directory, params = small_bundle
    fitted, card = bundle.load(directory)
    sha = bundle.sha256(directory / bundle.MODEL)
    register.register(fitted, card, metrics(0.80), gated(params), sha)
    assert champion.record(MlflowClient(), "policy-signals", sha, card["thresholds"])["models_is_champion"]
    moved = json.loads(json.dumps(card["thresholds"]))  # {language: {signal: threshold}}
    moved["en"]["reform"] += 0.01
    assert not champion.record(MlflowClient(), "policy-signals", sha, moved)["models_is_champion"]
