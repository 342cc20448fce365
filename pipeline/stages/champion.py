"""The live model: the champion gate, and `policy-signals models` (which version is champion, its hash,
and whether `models/` is it).

Every registered version carries tags for its model file's SHA-256, the evaluation it was scored on
(a key over the training data's hash and the cross-validation settings) and its cross-validated
macro-F1. The gate compares a candidate with the champion only on the same evaluation, and never
promotes a worse or incomparable model unless `register.allow_worse` is set or a person runs
`policy-signals models promote VERSION`.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from pathlib import Path

from pipeline import bundle, tracking
from pipeline.config import InputError, load_params

GATE_METRIC = "cv.macro_f1"
SHA_TAG, EVAL_TAG, DECISION_TAG = "model.sha256", "eval.key", "gate.decision"
CODE_TAG = "code.sha256"  # the code logged with the model, which its behaviour depends on too


def evaluation_key(card: dict, params: dict) -> str:
    """Same key, same evaluation: the exact rows scored (ids, texts, labels) and the folds cut from them."""
    spec = {"data": card["training_data"]["sha256"], "cv_folds": params["evaluate"]["cv_folds"], "metric": GATE_METRIC}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def gate(version: str, score: float, key: str, champion, allow_worse: bool) -> tuple[bool, str]:
    """(promote?, what was decided and why) for a candidate against the champion version (or None)."""
    if champion is None:
        return True, f"version {version} is champion (there was none)"
    if str(champion.version) == version:
        return True, f"version {version} is already champion"
    theirs = float(champion.tags.get(GATE_METRIC, "nan"))
    same = champion.tags.get(EVAL_TAG) == key and not math.isnan(theirs)
    versus = f"{GATE_METRIC} {score:.4f} vs champion version {champion.version}'s " + \
        (f"{theirs:.4f} on the same evaluation" if same else "on a different evaluation (data or folds changed)")
    if allow_worse:
        return True, f"version {version} is champion: {versus}; promoted because register.allow_worse is true"
    if same and score >= theirs:
        return True, f"version {version} is champion: {versus}"
    action = "not promoted" if same else "not compared, so not promoted"
    return False, (f"version {version} {action}: {versus}; champion stays version {champion.version} "
                   f"(`policy-signals models promote {version}` overrides)")


def versions_by_sha(api, name: str, sha: str, code: str | None = None) -> list:
    """Registered versions of `name` whose model file has this SHA-256 (and, if given, whose logged code has
    SHA-256 `code`), oldest first."""
    found = api.search_model_versions(f"name = '{name}'")
    mine = (v for v in found if _tag(api, v, SHA_TAG) == sha and (code is None or _tag(api, v, CODE_TAG) == code))
    return sorted(mine, key=lambda v: int(v.version))


def _tag(api, version, tag: str) -> str | None:
    """A version's tag, or, for a version the store failed to tag after registering it, the tag of the run
    that logged it (`register` sets the model's and its code's SHA-256 there before logging the model)."""
    if tag in version.tags or not version.run_id:
        return version.tags.get(tag)
    return api.get_run(version.run_id).data.tags.get(tag)


def current_champion(api, name: str):
    """The champion version, or None when the alias (or the model) does not exist yet."""
    from mlflow.exceptions import MlflowException

    try:
        return api.get_model_version_by_alias(name, "champion")
    except MlflowException as exc:  # only a missing alias/model means "no champion"; other errors propagate
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST" and "alias" not in str(exc).lower():
            raise
        return None


def crown(api, name: str, version: str, decision: str, before) -> None:
    """Give `version` the champion alias and the decision; the version it replaces (`before`, the champion
    until now or None) records why it lost it, so no version's last decision claims an alias it lost."""
    api.set_registered_model_alias(name, "champion", version)
    if before is not None and str(before.version) != str(version):
        api.set_model_version_tag(name, str(before.version), DECISION_TAG, f"replaced as champion: {decision}")
    api.set_model_version_tag(name, version, DECISION_TAG, decision)


def thresholds_of(name: str, version: str) -> dict | None:
    """The thresholds a registered version flags at (its MLflow model metadata), or None if unreadable."""
    import mlflow

    try:
        return (mlflow.models.get_model_info(f"models:/{name}/{version}").metadata or {}).get("thresholds")
    except Exception:  # noqa: BLE001 - a version whose files are gone: not provably the same model
        return None


def record(api, name: str, sha: str, thresholds: dict) -> dict:
    """What the store says about model bytes `sha` flagged at `thresholds`: their version, aliases, evaluation
    and last gate decision, and the champion. Read afresh every time, so it cannot disagree with the aliases or
    with `models/`. The champion is `models/` only if it also flags at the same thresholds: the same bytes are
    registered again when their thresholds or code change (a new version), and the old one may stay champion."""
    live = current_champion(api, name)
    same = live is not None and live.tags.get(SHA_TAG) == sha and thresholds_of(name, str(live.version)) == thresholds
    out = {"name": name, "model_sha256": sha, "registered": False,
           "champion_version": str(live.version) if live else None,
           "champion_sha256": live.tags.get(SHA_TAG) if live else None,
           "champion_" + GATE_METRIC: _number(live.tags.get(GATE_METRIC)) if live else None,
           "models_is_champion": same}
    mine = versions_by_sha(api, name, sha)
    if mine:  # the latest logging of these bytes (an earlier one may carry older code)
        version = api.get_model_version(name, mine[-1].version)
        out.update({"registered": True, "version": str(version.version), "uri": f"models:/{name}/{version.version}",
                    "run_id": version.run_id, "aliases": sorted(version.aliases),
                    "evaluation": version.tags.get(EVAL_TAG), GATE_METRIC: _number(version.tags.get(GATE_METRIC)),
                    "serialization": version.tags.get("serialization"), "decision": version.tags.get(DECISION_TAG)})
    return out


def _number(text: str | None) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def status(models: Path, name: str) -> dict:
    """The registry record of the bundle in `models/` (its hash verified), straight from the store: there is
    no file of it to go stale when `dvc exp apply` or `dvc checkout` swaps `models/` without running a stage."""
    card, sha = bundle.verify(models)
    tracking.connect()
    from mlflow import MlflowClient

    return {"models_dir": str(models), **record(MlflowClient(), name, sha, card["thresholds"])}


def describe(state: dict) -> list[str]:
    """`policy-signals models` as lines for people."""
    lines = []
    if state["champion_version"]:
        lines.append(f"champion: {state['name']} version {state['champion_version']} "
                     f"(sha256 {(state['champion_sha256'] or 'unknown')[:12]}, "
                     f"{GATE_METRIC} {state['champion_' + GATE_METRIC]})")
    else:
        lines.append(f"champion: none (no version of '{state['name']}' is champion)")
    held = f"version {state['version']}" if state["registered"] else "not registered (`dvc repro` registers it)"
    verdict = "it is the champion" if state["models_is_champion"] else "it is NOT the champion"
    lines.append(f"{state['models_dir']}: sha256 {state['model_sha256'][:12]}, {held}; {verdict}")
    if state.get("decision"):
        lines.append(f"last gate decision: {state['decision']}")
    return lines


def promote(name: str, version: str) -> str:
    """Move `champion` to a version by hand (a person's decision, whatever the gate says)."""
    tracking.connect()
    from mlflow import MlflowClient

    api = MlflowClient()
    version = str(api.get_model_version(name, version).version)  # refuses an unknown version; '011' is 11
    done = f"version {version} of {name} is champion (promoted by hand)"
    crown(api, name, version, done, current_champion(api, name))
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="policy-signals models", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", nargs="?", choices=["status", "promote"], default="status")
    parser.add_argument("version", nargs="?", help="with promote: the version to make champion")
    parser.add_argument("--model", type=Path, default=Path("models"), help="the local model bundle to check")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--json", action="store_true", help="print the status as JSON")
    args = parser.parse_args(argv)

    if not args.params.is_file():
        raise InputError(args.params, "no such file: run `policy-signals models` in the project folder, whose "
                                      "params name the model and whose mlflow.db (or MLFLOW_TRACKING_URI) holds it")
    name = load_params(args.params)["register"]["model_name"]
    if args.action == "promote" and not (args.version or "").isdigit():
        parser.error(f"promote needs a VERSION number, got {args.version!r}" if args.version else "promote needs a VERSION")
    if args.action == "status" and args.version:
        parser.error("status takes no VERSION (it reports the champion and the model in --model)")
    tracking.require_store(f"models:/{name}")  # not an empty new store, and "none is champion"
    if args.action == "promote":
        done = _store("promoting", lambda: promote(name, args.version))
        print(done, file=sys.stderr)
        return 0
    state = _store("reading the registry", lambda: status(args.model, name))
    print(json.dumps(state, indent=2) if args.json else "\n".join(describe(state)))
    return 0


def _store(what: str, action):
    """Run a registry action; a store failure is one line naming the store and the real cause."""
    try:
        with tracking.quiet():
            return action()
    except InputError:
        raise
    except Exception as exc:
        raise InputError(tracking.tracking_uri(), f"{what} failed ({tracking.cause(exc)})") from exc
