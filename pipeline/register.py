"""Stage `register`: log the trained pipeline to MLflow, register it, and gate the champion alias.

The new version always becomes `challenger`; `champion` moves to it only when
its cross-validated macro-F1 is no worse than the current champion's by more
than `register.champion_tolerance`.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from pipeline import bundle, model, tracking
from pipeline.config import InputError, load_params, write_json
from pipeline.signals import SIGNALS

GATE_METRIC = "cv.macro_f1"
HEADLINE = ("cv.macro_f1", "cv.micro_f1", "holdout.macro_f1", "baseline.macro_f1")
EXAMPLE = ["MOFCOM tightened export licences for terbium and dysprosium.",
           "The Party committee held a study session and pledged to cut costs."]


def _logged_run(mlflow, model_sha256: str) -> str | None:
    """The evaluation run that logged this exact model, if tracking was on then."""
    found = mlflow.search_runs(filter_string=f"tags.`model.sha256` = '{model_sha256}'",
                               order_by=["attributes.start_time DESC"], max_results=1, output_format="list")
    return found[0].info.run_id if found else None


def promote(current: float | None, candidate: float, tolerance: float) -> bool:
    """The champion gate: no champion yet, or the candidate is at most `tolerance` worse."""
    return current is None or candidate >= current - tolerance


def trusted_types(fitted) -> list[str]:
    """The non-stock types skops must trust to load the model: exactly model.SKOPS_TRUSTED, or refuse."""
    import skops.io

    found = skops.io.get_untrusted_types(data=skops.io.dumps(fitted))
    unknown = sorted(set(found) - set(model.SKOPS_TRUSTED))
    if unknown:
        raise InputError("model", f"type {unknown[0]} is not on the skops trusted list (pipeline.model.SKOPS_TRUSTED)")
    return found


def register(fitted, card: dict, metrics: dict, params: dict, model_sha256: str) -> dict:
    """Log, register and alias one model version; returns what models/registry.json records."""
    mlflow = tracking.client()
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException
    from mlflow.models import infer_signature

    name, tolerance = params["register"]["model_name"], params["register"]["champion_tolerance"]
    flat = tracking.numeric(metrics)
    example = pd.DataFrame({"text": EXAMPLE})
    signature = infer_signature(example, fitted.predict_proba(example))
    run_id = _logged_run(mlflow, model_sha256)
    with mlflow.start_run(run_id=run_id) as run:
        if run_id is None:  # tracking was off or failed during evaluate: record the essentials here
            tracking.log_contents(mlflow, params, metrics, tracking.run_tags(card, model_sha256), [])
        skops = "skops" in getattr(mlflow.sklearn, "SUPPORTED_SERIALIZATION_FORMATS", ())
        extra = {"serialization_format": "skops", "skops_trusted_types": trusted_types(fitted)} if skops else {}
        # The pipeline holds our own vectoriser class, so the package ships with the model as code.
        info = mlflow.sklearn.log_model(fitted, name="model", signature=signature, input_example=example,
                                        pyfunc_predict_fn="predict_proba", registered_model_name=name,
                                        metadata={"signals": list(SIGNALS), "thresholds": card["thresholds"]},
                                        code_paths=[str(Path(__file__).resolve().parent)], **extra)
        run_id = run.info.run_id
    api = MlflowClient()
    version = str(info.registered_model_version)
    api.set_model_version_tag(name, version, GATE_METRIC, str(flat[GATE_METRIC]))
    api.set_model_version_tag(name, version, "model.sha256", model_sha256)
    api.set_registered_model_alias(name, "challenger", version)
    try:
        champion = api.get_model_version_by_alias(name, "champion")
        current = float(champion.tags.get(GATE_METRIC, "nan"))
    except MlflowException as exc:  # only a missing alias means "no champion yet"; other errors propagate
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST" and "alias" not in str(exc).lower():
            raise
        champion, current = None, None
    promoted = promote(current, flat[GATE_METRIC], tolerance)
    if promoted:
        api.set_registered_model_alias(name, "champion", version)
    return {"name": name, "version": version, "run_id": run_id, "uri": f"models:/{name}/{version}",
            "aliases": ["challenger", "champion"] if promoted else ["challenger"],
            "champion_version": version if promoted else str(champion.version),
            "metrics": {k: flat[k] for k in HEADLINE if k in flat},
            "serialization": "skops" if skops else "cloudpickle"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="policy-signals register", description=__doc__)
    parser.add_argument("--model", type=Path, required=True, help="model bundle directory")
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--out", type=Path, required=True, help="registry record (JSON)")
    args = parser.parse_args(argv)

    params = load_params(args.params)
    fitted, card = bundle.load(args.model)
    try:
        metrics = json.loads(args.metrics.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(args.metrics, f"cannot read metrics ({exc})") from exc
    sha = bundle.sha256(args.model / bundle.MODEL)
    record = tracking.guarded("model registration", lambda: register(fitted, card, metrics, params, sha))
    if record is None:
        record = {"name": params["register"]["model_name"], "registered": False,
                  "reason": f"MLflow tracking is {tracking.mode()} or unavailable; see the warning above"}
    write_json(args.out, record)
    if record.get("version"):
        print(f"register: {record['uri']} is challenger; champion is version {record['champion_version']}",
              file=sys.stderr)
    return 0
