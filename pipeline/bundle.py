"""The local model bundle: pickled pipeline + its scoring tables + JSON model card + SHA-256 manifest.

Loading checks the manifest hashes and the card's signal list, so a tampered,
truncated or mismatched model is refused instead of silently scoring. Scoring reads
the tables (`pipeline.tables`: no scikit-learn); training, evaluation and MLflow the Pipeline.
"""
from __future__ import annotations

import hashlib
import json
import pickle
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.config import InputError, atomic_paths, json_text
from pipeline.language import DEFAULT
from pipeline.signals import SIGNALS

if TYPE_CHECKING:  # scikit-learn is imported where a model is (un)pickled: hashing and checking need none of it
    from sklearn.pipeline import Pipeline

    from pipeline.tables import Tables

MODEL, TABLES, CARD, MANIFEST = "model.joblib", "scoring_tables.bin", "model_card.json", "SHA256SUMS"
HASHED = (MODEL, TABLES, CARD)  # the files SHA256SUMS lists, in its order


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dumps(model: Pipeline) -> bytes:
    """A zlib-compressed standard pickle, which joblib.load also reads. Python's C unpickler loads it in
    0.1 s; joblib's own format goes through its pure-Python unpickler (1.8 s, most of a cold start)."""
    return zlib.compress(pickle.dumps(model, protocol=5), 3)


def loads(path: Path):
    """The pickled model at `path`: this module's format, else (a bundle from before it) joblib's."""
    try:
        return pickle.loads(zlib.decompress(path.read_bytes()))
    except Exception:  # not our format (or corrupt, which joblib then reports)
        import joblib

        return joblib.load(path)


def save(directory: Path, model: Pipeline, card: dict, texts=()) -> None:
    """Write model, scoring tables, card and manifest, renamed into place together. The
    tables carry the analysis of the training `texts`' frequent tokens, so scoring starts with it."""
    from pipeline.ngrams import frequent_tokens
    from pipeline.tables import from_pipeline

    directory.mkdir(parents=True, exist_ok=True)
    pickled = dumps(model)
    digests = {MODEL: hashlib.sha256(pickled).hexdigest()}
    tables = from_pipeline(model, digests[MODEL], frequent_tokens(texts)).dumps()
    digests[TABLES] = hashlib.sha256(tables).hexdigest()
    card_text = json_text(card).encode()
    digests[CARD] = hashlib.sha256(card_text).hexdigest()
    lines = manifest(digests).encode()
    # renamed into place together: a Ctrl-C never leaves a new model beside an old manifest
    with atomic_paths(*(directory / name for name in (*HASHED, MANIFEST))) as tmps:
        for tmp, data in zip(tmps, (pickled, tables, card_text, lines)):
            tmp.write_bytes(data)


def manifest(digests: dict[str, str]) -> str:
    """`SHA256SUMS` for the `HASHED` files' SHA-256 digests, as `_checked` reads it."""
    return "".join(f"{digests[name]}  {name}\n" for name in HASHED)


def verify(directory: Path) -> tuple[dict, str]:
    """Check a bundle's hashes and signals without loading the model; return its card and model digest."""
    card, digests = _checked(Path(directory))
    return card, digests[MODEL]


def _checked(directory: Path) -> tuple[dict, dict[str, str]]:
    """The card and the SHA-256 of each checked file. The scoring tables are checked when the manifest lists
    them (a bundle from before them has none)."""
    manifest = directory / MANIFEST
    if not manifest.is_file():
        raise InputError(manifest, "model manifest not found; is this a policy-signals model directory?")
    try:
        lines = [line for line in manifest.read_text(encoding="utf-8").splitlines() if line]
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(manifest, f"cannot read the manifest ({type(exc).__name__})") from exc
    if any("  " not in line for line in lines):
        raise InputError(manifest, "malformed line (expected '<sha256>  <file name>')")
    expected = {name: digest for digest, name in (line.split("  ", 1) for line in lines)}
    if TABLES not in expected and (directory / TABLES).exists():  # else scoring would fall back to the pickle
        raise InputError(directory / TABLES, "not listed in SHA256SUMS; refusing a modified model")
    actual = {}
    for name in (MODEL, CARD, TABLES) if TABLES in expected else (MODEL, CARD):
        if not (directory / name).is_file():
            raise InputError(directory / name, "missing from the model bundle")
        actual[name] = sha256(directory / name)
        if expected.get(name) != actual[name]:
            raise InputError(directory / name, "SHA-256 does not match SHA256SUMS; refusing a modified model")
    return check_card(directory / CARD), actual


def check_card(path: Path) -> dict:
    """The model card, refused unless it is a JSON object with our signals and a threshold in [0, 1] for each."""
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(path, f"model card is not readable JSON ({type(exc).__name__})") from exc
    if not isinstance(card, dict):
        raise InputError(path, "model card must be a JSON object")
    signals = card.get("signals")
    if not isinstance(signals, list) or tuple(signals) != SIGNALS:
        raise InputError(path, f"model signals {signals} do not match {list(SIGNALS)}")
    check_thresholds(card.get("thresholds"), path)
    return card


def check_thresholds(thresholds, source) -> dict:
    """Thresholds per language ({lang: {signal: t}}, the default language's among them; or, from a model
    of before languages, one {signal: t}) with a number in [0, 1] for every signal, or an InputError."""
    if not isinstance(thresholds, dict):
        raise InputError(source, "model has no 'thresholds' mapping")
    nested = bool(thresholds) and all(isinstance(v, dict) for v in thresholds.values())
    if nested and DEFAULT not in thresholds:
        raise InputError(source, f"model has no thresholds for the default language '{DEFAULT}'")
    for language, table in (thresholds.items() if nested else [("", thresholds)]):
        for signal in SIGNALS:
            value = table.get(signal)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                where = f" ({language})" if language else ""
                raise InputError(source, f"threshold for '{signal}'{where} must be a number in [0, 1], got {value!r}")
    return thresholds


def load(directory: Path) -> tuple[Pipeline, dict]:
    """Load a bundle after checking its hashes, card and signals; raise InputError otherwise."""
    card, _ = verify(directory)
    return _unpickled(Path(directory) / MODEL), card


def _unpickled(path: Path) -> Pipeline:
    """The hash-checked model file's Pipeline, or an InputError."""
    try:
        fitted = loads(path)
    except Exception as exc:  # a truncated or corrupt pickle raises almost anything
        reason = " ".join(str(exc).split())[:120]
        raise InputError(path, f"cannot load the model ({type(exc).__name__}: {reason})") from exc
    from sklearn.pipeline import Pipeline

    if not isinstance(fitted, Pipeline) or not hasattr(fitted, "predict_proba"):
        raise InputError(path, f"not a policy-signals model (a {type(fitted).__name__})")
    return fitted


def load_tables(directory: Path) -> tuple[Tables, dict]:
    """A bundle's scoring tables and card, after the same checks as `load`, and made beside this very model
    file. A bundle from before the tables (no tables file at all) has its Pipeline turned into them, which
    unpickles it and imports scikit-learn."""
    from pipeline.tables import Tables, from_pipeline

    card, digests = _checked(Path(directory))
    path = Path(directory) / TABLES
    if TABLES not in digests:
        return from_pipeline(_unpickled(Path(directory) / MODEL)), card
    try:
        tables = Tables.loads(path.read_bytes())
    except Exception as exc:  # a tables file of another format version, or damaged before it was hashed
        raise InputError(path, f"cannot load the scoring tables ({type(exc).__name__}: {exc})") from exc
    if tables.model_sha256 != digests[MODEL]:
        raise InputError(path, f"made for another model file than {MODEL}; refusing a mismatched bundle")
    if tables.signals != len(SIGNALS):
        raise InputError(path, f"scores {tables.signals} signals, not the {len(SIGNALS)} of {list(SIGNALS)}")
    return tables, card
