"""Stage `register`: log the trained pipeline to MLflow, register it, and gate the champion alias.

Model bytes already registered (same SHA-256) with the same code are not registered again: their version
becomes `challenger` once more; the same bytes with other code (the package changed) are a new version.
`champion` moves only through the gate in `pipeline.stages.champion` (never to a worse or incomparable model
unless `register.allow_worse`). The stage runs on every `dvc repro`
(a registration that failed is retried once the store is reachable). It writes no file (and removes
the models/registry.json older versions kept): `policy-signals models` reads the record of the live
model from the store, so it always describes what `models/` holds now (run ids and versions come
from the store and must not enter dvc.lock either).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from importlib.metadata import version as installed
from pathlib import Path

import pandas as pd

from pipeline import bundle, tracking
from pipeline.config import InputError, load_params
from pipeline.signals import SIGNALS
from pipeline.stages import champion

GATE_METRIC = champion.GATE_METRIC
# What loading the logged pipeline imports (its code ships with it): pinned to what trained it, so MLflow
# need not infer them by loading the model in a subprocess, and never lists this package or test tools.
# (ftfy and opencc: its text repair.)
LOAD_REQUIREMENTS = ("scikit-learn", "numpy", "scipy", "pandas", "pyyaml", "ftfy", "opencc")
EXAMPLE = ["MOFCOM tightened export licences for terbium and dysprosium.",
           "The Party committee held a study session and pledged to cut costs."]


PACKAGE = Path(__file__).resolve().parents[1]  # logged with the model as its code


def code_sha256(package: Path = PACKAGE) -> str:
    """SHA-256 of the package as it is logged with the model (its files but caches). The model's behaviour is
    its bytes and this code (the text repair, the vectorisers), so bytes logged with other code are logged
    again: a registered model always carries the code that evaluated it."""
    digest = hashlib.sha256()
    for path in sorted(p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _logged_run(mlflow, model_sha256: str) -> str | None:
    """The evaluation run that logged this exact model, if tracking was on then."""
    found = mlflow.search_runs(filter_string=f"tags.`model.sha256` = '{model_sha256}'",
                               order_by=["attributes.start_time DESC"], max_results=1, output_format="list")
    return found[0].info.run_id if found else None


def trusted_types(fitted) -> list[str]:
    """The non-stock types skops must trust to load the model: exactly model.SKOPS_TRUSTED, or refuse."""
    import skops.io

    from pipeline import model  # scikit-learn: only when a new model is logged

    found = skops.io.get_untrusted_types(data=skops.io.dumps(fitted))
    unknown = sorted(set(found) - set(model.SKOPS_TRUSTED))
    if unknown:
        raise InputError("model", f"type {unknown[0]} is not on the skops trusted list (pipeline.model.SKOPS_TRUSTED)")
    return found


def serialization(mlflow) -> str:
    """How this MLflow logs the pipeline: skops where it offers it, else cloudpickle."""
    return "skops" if "skops" in getattr(mlflow.sklearn, "SUPPORTED_SERIALIZATION_FORMATS", ()) else "cloudpickle"


def _log_model(mlflow, fitted, card: dict, metrics: dict, params: dict, model_sha256: str, code: str):
    """Log the pipeline (skops where MLflow offers it) in the run that evaluated it, and register it."""
    from mlflow.models import infer_signature

    from pipeline.features import StaticEmbedding

    fitted = fitted() if callable(fitted) else fitted

    example = pd.DataFrame({"text": EXAMPLE})
    signature = infer_signature(example, fitted.predict_proba(example))
    run_id = _logged_run(mlflow, model_sha256)
    with mlflow.start_run(run_id=run_id):
        if run_id is None:  # tracking was off or failed during evaluate: record the essentials here
            tracking.log_contents(mlflow, params, metrics, tracking.run_tags(card, model_sha256), [])
        mlflow.set_tag(champion.CODE_TAG, code)  # before logging: a version left untagged is still recognised
        how = serialization(mlflow)
        skops = how == "skops"
        extra = {"serialization_format": "skops", "skops_trusted_types": trusted_types(fitted)} if skops else {}
        needs = [*LOAD_REQUIREMENTS, how]  # the package that unpickles it; the embedding block's tokenizer
        if any(isinstance(t, StaticEmbedding) for _, t in fitted.named_steps["features"].transformer_list):
            needs.append("tokenizers")
        # The pipeline holds our own vectoriser class, so the package ships with the model as code.
        info = mlflow.sklearn.log_model(fitted, name="model", signature=signature, input_example=example,
                                        pyfunc_predict_fn="predict_proba",
                                        registered_model_name=params["register"]["model_name"],
                                        metadata={"signals": list(SIGNALS), "thresholds": card["thresholds"]},
                                        code_paths=[str(PACKAGE)],
                                        pip_requirements=[f"{name}=={installed(name)}" for name in needs], **extra)
    return str(info.registered_model_version), how


def tag_version(api, name: str, version: str, tags: dict[str, str]) -> None:
    """Set a registered version's tags. Should the store fail here, a retry still finds the version
    by its run's `model.sha256` tag (`champion.versions_by_sha`) and tags it then."""
    for tag, value in tags.items():
        api.set_model_version_tag(name, version, tag, value)


def register(fitted, card: dict, metrics: dict, params: dict, model_sha256: str) -> dict:
    """Register one model (once per SHA-256), gate the champion; returns the store's record of it.
    `fitted` is the pipeline, or a function that loads it: bytes already registered are never unpickled."""
    mlflow = tracking.client()
    from mlflow import MlflowClient

    api = MlflowClient()
    name, allow_worse = params["register"]["model_name"], params["register"]["allow_worse"]
    score = tracking.numeric(metrics)
    key = champion.evaluation_key(card, params)
    code = code_sha256()
    known = champion.versions_by_sha(api, name, model_sha256, code)
    # Bytes already gated on this very evaluation are not gated again: a rerun with nothing changed (register
    # always runs) must not undo a `models promote` made since. A version the store failed to tag is gated.
    gated = bool(known) and champion.DECISION_TAG in known[-1].tags and \
        known[-1].tags.get(champion.EVAL_TAG) == key and known[-1].tags.get(GATE_METRIC) == str(score[GATE_METRIC])
    if known:
        # a version the store failed to tag was logged moments ago, by this MLflow
        version, how = str(known[-1].version), known[-1].tags.get("serialization") or serialization(mlflow)
    else:
        version, how = _log_model(mlflow, fitted, card, metrics, params, model_sha256, code)
    # The latest evaluation of these bytes is what the gate compares.
    tag_version(api, name, version, {champion.SHA_TAG: model_sha256, champion.CODE_TAG: code,
                                     champion.EVAL_TAG: key, GATE_METRIC: str(score[GATE_METRIC]),
                                     "serialization": how})
    api.set_registered_model_alias(name, "challenger", version)
    if not gated:
        before = champion.current_champion(api, name)
        promoted, decision = champion.gate(version, score[GATE_METRIC], key, before, allow_worse)
        if promoted:
            champion.crown(api, name, version, decision, before)
        else:
            api.set_model_version_tag(name, version, champion.DECISION_TAG, decision)
    return {**champion.record(api, name, model_sha256, card["thresholds"]), "new_version": not known,
            "gated_before": gated}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="policy-signals register", description=__doc__)
    parser.add_argument("--model", type=Path, required=True, help="model bundle directory")
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args(argv)

    params = load_params(args.params)
    card, sha = bundle.verify(args.model)  # the model itself is loaded only if these bytes are new
    try:
        metrics = json.loads(args.metrics.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(args.metrics, f"cannot read metrics ({type(exc).__name__})") from exc
    if not isinstance(metrics, dict) or GATE_METRIC not in tracking.numeric(metrics):
        raise InputError(args.metrics, f"no numeric '{GATE_METRIC}' in the metrics")
    (args.model / "registry.json").unlink(missing_ok=True)  # the stale file record of older versions
    record = tracking.guarded("model registration",
                              lambda: register(lambda: bundle.load(args.model)[0], card, metrics, params, sha))
    if record is not None and record["gated_before"]:  # its decision tag is history: say what holds now
        mine = " (this model)" if record["models_is_champion"] else ""
        print(f"register: {args.model} already registered as {record['uri']} (challenger) and gated on this "
              f"evaluation before; champion: version {record['champion_version']}{mine}", file=sys.stderr)
    elif record is not None:
        done = "registered as" if record["new_version"] else "already registered as"
        print(f"register: {args.model} {done} {record['uri']} (challenger); {record['decision']}", file=sys.stderr)
    elif tracking.mode() == "off":
        print(f"register: {args.model} not registered: tracking is off (${tracking.SWITCH}=off)", file=sys.stderr)
    return 0
