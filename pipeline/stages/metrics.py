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


def bootstrap_interval(truth: np.ndarray, pred: np.ndarray, seed: int, rounds: int = 1000) -> tuple[float, float]:
    """95% bootstrap interval of macro-F1 over paragraphs: how much a small test set can be trusted.
    F1 = 2TP / (2TP + FP + FN), 0 where undefined (as `f1_score(zero_division=0)`), for all rounds at once."""
    rng = np.random.default_rng(seed)
    n = len(truth)
    truth, pred = truth.astype(bool), pred.astype(bool)
    scores = []
    for start in range(0, rounds, 100):  # 100 resamples at a time bounds memory on large sets
        idx = np.stack([rng.integers(0, n, n) for _ in range(start, min(start + 100, rounds))])
        t, p = truth[idx], pred[idx]
        tp, wrong = (t & p).sum(axis=1), (t != p).sum(axis=1)
        scores.append(np.divide(2 * tp, 2 * tp + wrong, out=np.zeros(tp.shape), where=2 * tp + wrong > 0).mean(axis=1))
    low, high = np.percentile(np.concatenate(scores), [2.5, 97.5])
    return round(float(low), 4), round(float(high), 4)
