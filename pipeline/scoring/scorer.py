"""A loaded signal model with its tuned thresholds: probabilities, flags and explanations.

Loads a local bundle (hash-checked; its scoring tables, so no scikit-learn is imported) or an MLflow
model URI; the scoring CLI, its workers and the Python API all score through this class, so they agree
exactly.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import bundle, language
from pipeline.config import InputError
from pipeline.scoring import explain
from pipeline.signals import SIGNALS
from pipeline.tables import Tables, from_pipeline
from pipeline.text import cleaned
from pipeline.thresholds import by_language, flags as flags_at

METADATA = ("date", "source", "title", "entities")  # added to each scored batch by reporting.metadata.annotate
REGISTRY_PREFIXES = ("models:/", "runs:/")  # MLflow model URIs; anything else is a bundle directory


def registry_version(uri: str):
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
    """The same model, named so that it cannot change under a server or a run: an alias or `latest` becomes its
    version (the other URIs name one model already)."""
    found = registry_version(spec) if spec.startswith("models:/") else None
    return f"models:/{found.name}/{found.version}" if found is not None else spec


class Scorer:
    """A loaded model with its thresholds: probabilities, flags and (optionally) explanations."""

    def __init__(self, fitted, thresholds: dict, explain_top: int = 0):
        """`fitted`: the model's scoring tables, or its fitted Pipeline (turned into tables)."""
        self.tables = fitted if isinstance(fitted, Tables) else from_pipeline(fitted)
        self.thresholds, self.explain_top = by_language(thresholds), explain_top
        if explain_top:
            self.by_signal = np.ascontiguousarray(self.tables.explain_weights().T)  # signals x features
            self.names = explain.FeatureNames(self.tables.blocks)

    @classmethod
    def load(cls, spec: str, explain_top: int = 0) -> "Scorer":
        """A local bundle directory, or an MLflow model URI such as models:/policy-signals@champion."""
        if spec.startswith(REGISTRY_PREFIXES):
            from pipeline import tracking

            tracking.require_store(spec)
            mlflow = tracking.connect()
            uri = pin(spec)  # an alias resolved once: a promote between the two reads would pair two versions
            try:
                fitted = mlflow.sklearn.load_model(uri)
                metadata = mlflow.models.get_model_info(uri).metadata or {}
            except Exception as exc:
                raise InputError(spec, f"cannot load model from MLflow ({type(exc).__name__}: "
                                       f"{str(exc).splitlines()[0][:200]})") from exc
            if tuple(metadata.get("signals", ())) != SIGNALS:
                raise InputError(spec, f"model signals {metadata.get('signals')} do not match {list(SIGNALS)}")
            return cls(fitted, bundle.check_thresholds(metadata.get("thresholds"), spec), explain_top)
        tables, card = bundle.load_tables(Path(spec))
        return cls(tables, card["thresholds"], explain_top)

    def empty(self, include_text: bool) -> pd.DataFrame:
        """The output's columns and types with no rows (for an input with nothing to score)."""
        columns = {"doc_id": "object", "paragraph_id": "object", "position": "int64", "kind": "object"}
        if include_text:
            columns["text"] = "object"
        columns["lang"] = "object"
        columns.update({f"p_{s}": "float64" for s in SIGNALS})
        columns.update({s: "int8" for s in SIGNALS})
        if self.explain_top:
            columns.update({f"explain_{s}": "object" for s in SIGNALS})
        columns.update({c: "string" for c in METADATA})
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})

    def score(self, texts: list[str], repaired: bool = False) -> pd.DataFrame:
        """One row per text: lang, p_<signal>, <signal> flag at the language's thresholds, and
        explain_<signal> when explaining. Texts are repaired as the splitter repaired every training
        paragraph (`text.clean`; for any model) unless `repaired` says they already are (its paragraphs)."""
        if not texts:
            return self.empty(include_text=False).drop(columns=["doc_id", "paragraph_id", "position", "kind", *METADATA])
        codes, unique = pd.factorize(pd.Series(texts, dtype=object))
        if len(unique) < len(texts):  # repeated paragraphs (boilerplate, files of short lines) are scored once
            return self.score(list(unique), repaired).iloc[codes].reset_index(drop=True)
        if not repaired:
            texts = cleaned(texts)
        blocks = self.tables.features(texts, repaired=True)
        proba = self.tables.proba(blocks)
        langs = language.detect_all(texts)
        flags = flags_at(proba, self.thresholds, langs)
        out = {"lang": langs, **{f"p_{s}": proba[:, j] for j, s in enumerate(SIGNALS)}}
        out.update({s: flags[:, j] for j, s in enumerate(SIGNALS)})
        if self.explain_top:
            why = explain.top_contributions(blocks, self.by_signal, self.names, flags, self.explain_top)
            out.update({f"explain_{s}": [row[j] for row in why] for j, s in enumerate(SIGNALS)})
        return pd.DataFrame(out)


def score_texts(texts: list[str], model: str | os.PathLike = "models", explain_top: int = 0) -> pd.DataFrame:
    """Python API: score raw paragraphs with a bundle directory or an MLflow model URI. `texts` is a list (or
    Series, array, iterable) of strings; anything else is refused before the model loads, naming the item: a
    None or NaN (a blank CSV cell) got another text's scores, bytes or numbers were scored as their repr."""
    if isinstance(texts, (str, bytes, pd.DataFrame, dict)) or not hasattr(texts, "__iter__"):
        raise TypeError(f"texts must be a list of strings, not a {type(texts).__name__} (for one text: [text]; for a "
                        "table: its text column)")
    if isinstance(model, os.PathLike):
        model = os.fspath(model)
    if not isinstance(model, str):
        raise TypeError(f"model must be a bundle directory (str or Path) or an MLflow model URI, not {model!r:.60}")
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"texts[{i}] is {text!r:.60} ({type(text).__name__}), not a string")
    if isinstance(explain_top, bool) or not isinstance(explain_top, int) or explain_top < 0:
        raise ValueError(f"explain_top must be an integer >= 0, got {explain_top!r}")
    return Scorer.load(model, explain_top).score(texts)
