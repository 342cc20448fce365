"""MLflow tracking: where runs go, what one run records, and what a tracking failure does.

The default store is `mlflow.db` at the DVC repository root, addressed by an
absolute path (DVC_ROOT points at the parent repo even inside queued
experiments' temporary workspaces). MLFLOW_TRACKING_URI overrides it.
POLICY_SIGNALS_TRACKING switches behaviour: `on` (default: a failure to log is
a warning, the stage still succeeds), `strict` (a failure stops the stage),
`off` (no MLflow at all).
"""
from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import warnings
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any, Callable, Iterator

from pipeline.config import InputError, flatten

SWITCH = "POLICY_SIGNALS_TRACKING"
MODES = ("on", "strict", "off")
EXPERIMENT = "policy-signals"


class TrackingError(InputError):
    """Logging to MLflow failed while POLICY_SIGNALS_TRACKING=strict."""


def mode() -> str:
    value = os.environ.get(SWITCH, "on").strip().lower()
    if value not in MODES:
        raise InputError(f"${SWITCH}", f"must be one of {', '.join(MODES)}, got {value!r}")
    return value


def repo_root() -> Path:
    """The DVC repository this stage belongs to: $DVC_ROOT, else the nearest folder with dvc.yaml."""
    if os.environ.get("DVC_ROOT"):
        return Path(os.environ["DVC_ROOT"]).resolve()
    here = Path.cwd().resolve()
    return next((p for p in (here, *here.parents) if (p / "dvc.yaml").is_file()), here)


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{repo_root() / 'mlflow.db'}"


def require_store(uri: str) -> None:
    """Refuse a models:/ or runs:/ URI when the SQLite store it would be read from does not exist (the default
    one, or a mistyped MLFLOW_TRACKING_URI): opening it would create an empty store, and MLflow would then say
    the model is not found, or that none is champion."""
    store = tracking_uri()
    if not store.startswith("sqlite:///"):  # a server, or another backend: it answers for itself
        return
    path = Path(store[len("sqlite:///"):])
    if not path.exists():
        raise InputError(uri, f"no MLflow store at {path}: run in the project folder, or set MLFLOW_TRACKING_URI "
                              "to the store that holds the model")


def connect():
    """MLflow pointed at our store; an unreachable server fails fast, not after minutes of retries."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "15")
    import mlflow

    mlflow.set_tracking_uri(tracking_uri())
    return mlflow


def artifact_location(uri: str) -> str | None:
    """Where a new experiment in a local SQLite store keeps its artefacts: `mlruns/` beside the database, as an
    absolute URI. MLflow's default, ./mlruns, is the folder of the first run: for a queued experiment DVC's
    temporary copy, deleted after it, which would leave every run's and model's files behind it. A server
    (http, databricks) places artefacts itself: None."""
    if not uri.startswith("sqlite:///"):
        return None
    return (Path(uri[len("sqlite:///"):]).resolve().parent / "mlruns").as_uri()


def client():
    """MLflow pointed at our store and the `policy-signals` experiment (made with `artifact_location`), for
    logging."""
    mlflow = connect()
    location = artifact_location(tracking_uri())
    if location and mlflow.get_experiment_by_name(EXPERIMENT) is None:
        try:
            mlflow.create_experiment(EXPERIMENT, artifact_location=location)
        except mlflow.exceptions.MlflowException:  # another run made it first
            pass
    mlflow.set_experiment(EXPERIMENT)
    return mlflow


def cause(exc: BaseException) -> str:
    """`Type: message` of the root of an exception chain, on one line: the real reason ("attempt to
    write a readonly database"), not a wrapper's first line (SQLAlchemy's autoflush note)."""
    chain = [exc]
    while len(chain) < 20:
        following = chain[-1].__cause__ or chain[-1].__context__
        if following is None or following in chain:
            break
        chain.append(following)
    for candidate in reversed(chain):
        lines = [line.strip() for line in str(candidate).splitlines()
                 if line.strip() and not line.strip().startswith(("(raised as a result of", "(Background on this"))]
        if lines:
            return f"{type(candidate).__name__}: {lines[0]}"[:300]
    return type(exc).__name__


@contextmanager
def quiet() -> Iterator[None]:
    """Silence MLflow's and its libraries' log lines, prints and warnings: our own line says what happened."""
    loggers = [logging.getLogger(name) for name in ("mlflow", "alembic", "sqlalchemy", "urllib3", "git")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL + 1)
    try:
        with warnings.catch_warnings(), redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def guarded(what: str, action: Callable[[], Any]) -> Any:
    """Run an MLflow action per the switch: skipped when off, a warning or an error when it fails."""
    if mode() == "off":
        return None
    try:
        with quiet():
            return action()
    except Exception as exc:  # any store, network or lock failure
        reason = cause(exc)
        if mode() == "strict":
            raise TrackingError(tracking_uri(), f"{what} failed ({reason})") from exc
        print(f"warning: {what} was not logged to MLflow at {tracking_uri()} ({reason}); "
              f"outputs on disk are complete", file=sys.stderr)
        return None


def _git(*args: str) -> str:
    """Git on the stage's own workspace, the working directory: a queued experiment runs in DVC's temporary
    copy while $DVC_ROOT names the main repository, whose tree says nothing about the experiment's."""
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def run_tags(card: dict, model_sha256: str) -> dict[str, str]:
    """Provenance: commit, dirty tree, DVC experiment name and baseline, data and model hashes."""
    tags = {
        "git.commit": _git("rev-parse", "HEAD") or "unknown",
        "git.dirty": str(bool(_git("status", "--porcelain", "--untracked-files=no"))).lower(),
        "data.sha256": card["training_data"]["sha256"],
        "model.sha256": model_sha256,
    }
    for env, tag in (("DVC_EXP_NAME", "dvc.exp_name"), ("DVC_EXP_BASELINE_REV", "dvc.baseline_rev")):
        if os.environ.get(env):
            tags[tag] = os.environ[env]
    return tags


def numeric(metrics: dict) -> dict[str, float]:
    """Flattened metrics with the same dotted names as eval/metrics.json (numbers only)."""
    return {k: float(v) for k, v in flatten(metrics).items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def log_contents(mlflow, params: dict, metrics: dict, tags: dict, artefacts: list[Path]) -> None:
    mlflow.log_params({k: str(v) for k, v in flatten(params).items()})
    mlflow.log_metrics(numeric(metrics))
    mlflow.set_tags(tags)
    for path in artefacts:
        if path.is_dir():
            for png in sorted(path.glob("*.png")):
                mlflow.log_artifact(str(png), artifact_path=path.name)
        elif path.is_file():
            mlflow.log_artifact(str(path))


def log_run(params: dict, metrics: dict, tags: dict, artefacts: list[Path]) -> str | None:
    """One MLflow run for one training + evaluation; returns its id (None when not logged)."""
    def action() -> str:
        mlflow = client()
        with mlflow.start_run(run_name=tags.get("dvc.exp_name")) as run:
            log_contents(mlflow, params, metrics, tags, artefacts)
            return run.info.run_id

    return guarded("the evaluation run", action)
