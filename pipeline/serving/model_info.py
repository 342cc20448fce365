"""Which model a server serves: an alias pinned to its version, and what `GET /v1/model` reports.

A registry alias (`models:/policy-signals@champion`) is resolved once, before
the workers start, so every worker loads the same version even if the alias moves.
"""
from __future__ import annotations

from pathlib import Path

from pipeline import bundle
from pipeline.config import InputError
from pipeline.language import DEFAULT
from pipeline.signals import SIGNALS

REGISTRY_PREFIXES = ("models:/", "runs:/")
HEADLINE = ("cv.macro_f1", "cv.micro_f1", "holdout.macro_f1", "baseline.macro_f1")  # a run's metrics shown


def _registry_version(uri: str):
    """The MLflow model version a `models:/name@alias`, `models:/name/<version>` or `models:/name/latest` URI
    names; None for one that names no registered version (a logged model, `models:/m-<id>`)."""
    from pipeline import tracking

    tracking.require_store(uri)
    tracking.connect()
    from mlflow import MlflowClient

    name, _, alias = uri[len("models:/"):].partition("@")
    name, _, version = name.partition("/")
    if not alias and not version:
        return None
    client = MlflowClient()
    try:
        if alias:
            return client.get_model_version_by_alias(name, alias)
        if version.lower() == "latest":  # as MLflow reads it: the highest version of the name
            found = client.search_model_versions(f"name = '{name}'")
            if not found:
                raise LookupError(f"no versions of registered model '{name}'")
            return max(found, key=lambda v: int(v.version))
        return client.get_model_version(name, version)
    except Exception as exc:
        raise InputError(uri, f"cannot resolve model version ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0][:200] if str(exc) else ''})") from exc


def pin(spec: str) -> str:
    """The same model, named so that it cannot change under the server: an alias or `latest` becomes its
    version (the other URIs name one model already)."""
    found = _registry_version(spec) if spec.startswith("models:/") else None
    return f"models:/{found.name}/{found.version}" if found is not None else spec


def describe(spec: str, thresholds: dict[str, dict[str, float]]) -> dict:
    """Name, version or bundle hash, signals, thresholds per language and headline metrics of a loaded model."""
    about = {"model": spec, "name": None, "version": None, "sha256": None, "signals": list(SIGNALS),
             "thresholds": thresholds, "default_language": DEFAULT, "metrics": {}}
    found = _registry_version(spec) if spec.startswith("models:/") else None
    if found is not None:
        from mlflow import MlflowClient

        run = MlflowClient().get_run(found.run_id) if found.run_id else None
        about.update(name=found.name, version=str(found.version), sha256=found.tags.get("model.sha256"),
                     metrics={k: v for k, v in (run.data.metrics if run else {}).items() if k in HEADLINE})
    elif not spec.startswith(REGISTRY_PREFIXES):
        card, digest = bundle.verify(Path(spec))
        about.update(sha256=digest, metrics=card.get("metrics", {}))
    return about
