"""Multi-label metrics shared by `train` (model card) and `evaluate`."""
from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, f1_score, precision_recall_fscore_support

from pipeline.signals import SIGNALS


def _r(x: float) -> float:
    return round(float(x), 4)


def summary(truth: np.ndarray, proba: np.ndarray, pred: np.ndarray, per_signal: bool = True) -> dict:
    """Micro and macro F1, and per signal precision, recall, F1, average precision and support."""
    out = {"micro_f1": _r(f1_score(truth, pred, average="micro", zero_division=0)),
           "macro_f1": _r(f1_score(truth, pred, average="macro", zero_division=0))}
    if per_signal:
        p, r, f, s = precision_recall_fscore_support(truth, pred, average=None, zero_division=0)
        for j, signal in enumerate(SIGNALS):
            ap = average_precision_score(truth[:, j], proba[:, j]) if truth[:, j].any() else 0.0
            out[signal] = {"precision": _r(p[j]), "recall": _r(r[j]), "f1": _r(f[j]),
                           "average_precision": _r(ap), "support": int(s[j])}
    return out
