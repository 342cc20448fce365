"""The local model bundle: joblib pipeline + JSON model card + SHA-256 manifest.

Loading checks the manifest hashes and the card's signal list, so a tampered,
truncated or mismatched model is refused instead of silently scoring.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import joblib
from sklearn.pipeline import Pipeline

from pipeline.config import InputError, atomic_path, write_json
from pipeline.signals import SIGNALS

MODEL, CARD, MANIFEST = "model.joblib", "model_card.json", "SHA256SUMS"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save(directory: Path, model: Pipeline, card: dict) -> None:
    """Write model, card and manifest; each file lands atomically, the manifest last."""
    directory.mkdir(parents=True, exist_ok=True)
    with atomic_path(directory / MODEL) as tmp:
        joblib.dump(model, tmp, compress=3)
    write_json(directory / CARD, card)
    lines = "".join(f"{sha256(directory / name)}  {name}\n" for name in (MODEL, CARD))
    with atomic_path(directory / MANIFEST) as tmp:
        tmp.write_text(lines, encoding="utf-8")


def verify(directory: Path) -> tuple[dict, str]:
    """Check a bundle's hashes and signals without loading the model; return its card and model digest."""
    directory = Path(directory)
    manifest = directory / MANIFEST
    if not manifest.is_file():
        raise InputError(manifest, "model manifest not found; is this a policy-signals model directory?")
    lines = [line for line in manifest.read_text(encoding="utf-8").splitlines() if line]
    if any("  " not in line for line in lines):
        raise InputError(manifest, "malformed line (expected '<sha256>  <file name>')")
    expected = {name: digest for digest, name in (line.split("  ", 1) for line in lines)}
    actual = {}
    for name in (MODEL, CARD):
        if not (directory / name).is_file():
            raise InputError(directory / name, "missing from the model bundle")
        actual[name] = sha256(directory / name)
        if expected.get(name) != actual[name]:
            raise InputError(directory / name, "SHA-256 does not match SHA256SUMS; refusing a modified model")
    card = json.loads((directory / CARD).read_text(encoding="utf-8"))
    if tuple(card.get("signals", ())) != SIGNALS:
        raise InputError(directory / CARD, f"model signals {card.get('signals')} do not match {list(SIGNALS)}")
    return card, actual[MODEL]


def load(directory: Path) -> tuple[Pipeline, dict]:
    """Load a bundle after checking its hashes and signals; raise InputError otherwise."""
    card, _ = verify(directory)
    return joblib.load(Path(directory) / MODEL), card
