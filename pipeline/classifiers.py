"""Logistic regression on naive-Bayes-scaled features (NB-LR; Wang and Manning, "Baselines and Bigrams", 2012).

Before the fit each feature is scaled by its log-count ratio between the signal's positive and negative
paragraphs, so the regularisation favours the terms that tell the classes apart; the fitted weights are then
multiplied by the same ratios. What is saved is one logistic regression over the unscaled TF-IDF features:
scoring, the scoring tables and explanations read it exactly as a plain one (data card, step 30).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression


def log_count_ratio(X, y, smoothing: float) -> np.ndarray:
    """Per feature, log((p / |p|_1) / (q / |q|_1)) with p and q the feature's summed values over the positive
    and the negative rows, each plus `smoothing`: > 0 where the feature is likelier in positives. A column with
    a negative value is no count (the static-embedding block's dimensions): its ratio is 1, it stays as it is."""
    y = np.asarray(y).ravel()
    positive = y == np.unique(y)[-1]  # the later class, as LogisticRegression's classes_[1]
    X = sp.csr_matrix(X)
    counted = np.ones(X.shape[1], dtype=bool)
    counted[X.indices[X.data < 0]] = False
    p = smoothing + np.asarray(X[positive].sum(axis=0), dtype=np.float64).ravel()[counted]
    q = smoothing + np.asarray(X[~positive].sum(axis=0), dtype=np.float64).ravel()[counted]
    ratio = np.ones(X.shape[1])
    ratio[counted] = np.log(p / p.sum()) - np.log(q / q.sum())
    return ratio


class NBLogisticRegression(LogisticRegression):
    """LogisticRegression fitted on features scaled by their log-count ratio (`nb_smoothing` > 0 smooths the
    counts), its `coef_` folded back onto the unscaled features. Binary targets only (one per signal, inside
    OneVsRestClassifier). It takes only the settings `pipeline.model.build` gives: `warm_start` would start from
    folded weights, and sample weights do not enter the ratios."""

    def __init__(self, nb_smoothing: float = 0.1, *, C: float = 1.0, class_weight=None, dual: bool = False,
                 max_iter: int = 100, solver: str = "lbfgs", tol: float = 1e-4, random_state=None):
        super().__init__(C=C, class_weight=class_weight, dual=dual, max_iter=max_iter, solver=solver, tol=tol,
                         random_state=random_state)
        self.nb_smoothing = nb_smoothing

    def fit(self, X, y, sample_weight=None):
        if not self.nb_smoothing > 0 or len(np.unique(y)) > 2:
            raise ValueError("NBLogisticRegression needs nb_smoothing > 0 and binary targets")
        ratio = log_count_ratio(X, y, self.nb_smoothing)
        super().fit(sp.csr_matrix(X) @ sp.diags(ratio), y, sample_weight=sample_weight)
        self.coef_ = self.coef_ * ratio
        return self
