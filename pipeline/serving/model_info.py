"""What `GET /v1/model` reports about the model a server serves.

The server pins a registry alias (`models:/policy-signals@champion`) to its version once, before the workers
start (`scorer.pin`), so every worker loads the same version even if the alias moves.
"""
from __future__ import annotations

from pathlib import Path

from pipeline import bundle
from pipeline.language import DEFAULT
from pipeline.scoring.scorer import REGISTRY_PREFIXES, registry_version
from pipeline.signals import SIGNALS

HEADLINE = ("cv.macro_f1", "cv.micro_f1", "holdout.macro_f1", "baseline.macro_f1")  # a run's metrics shown


def describe(spec: str, thresholds: dict[str, dict[str, float]]) -> dict:
    """Name, version or bundle hash, signals, thresholds per language and headline metrics of a loaded model."""
    about = {"model": spec, "name": None, "version": None, "sha256": None, "signals": list(SIGNALS),
             "thresholds": thresholds, "default_language": DEFAULT, "metrics": {}}
    found = registry_version(spec) if spec.startswith("models:/") else None
    if found is not None:
        from mlflow import MlflowClient

        run = MlflowClient().get_run(found.run_id) if found.run_id else None
        about.update(name=found.name, version=str(found.version), sha256=found.tags.get("model.sha256"),
                     metrics={k: v for k, v in (run.data.metrics if run else {}).items() if k in HEADLINE})
    elif not spec.startswith(REGISTRY_PREFIXES):
        card, digest = bundle.verify(Path(spec))
        about.update(sha256=digest, metrics=card.get("metrics", {}))
    return about
