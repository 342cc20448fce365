"""Per-language decision thresholds: which table applies to a row, and the 0/1 flags they give.

Kept apart from `pipeline.model` so that scoring needs no scikit-learn.
"""
from __future__ import annotations

import numpy as np

from pipeline.language import DEFAULT
from pipeline.signals import SIGNALS


def by_language(thresholds: dict) -> dict[str, dict[str, float]]:
    """Thresholds keyed by language; a model card from before languages (one flat dict) is the default's."""
    return thresholds if all(isinstance(v, dict) for v in thresholds.values()) else {DEFAULT: thresholds}


def cutoffs(thresholds: dict, rows: int, langs=None) -> np.ndarray:
    """(rows, signals) thresholds: each row's language's own, the default language's when unknown or not given."""
    table = by_language(thresholds)
    cut = np.tile([table[DEFAULT][s] for s in SIGNALS], (rows, 1))
    if langs is not None:
        langs = np.asarray(langs, dtype=object)
        for code, cuts in table.items():
            cut[langs == code] = [cuts[s] for s in SIGNALS]
    return cut


def flags(proba: np.ndarray, thresholds: dict, langs=None) -> np.ndarray:
    """0/1 per signal at the tuned thresholds of each row's language."""
    return (proba >= cutoffs(thresholds, len(proba), langs)).astype(np.int8)
