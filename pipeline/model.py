"""The classifier: one scikit-learn Pipeline (TF-IDF -> one linear model per signal) plus tuned thresholds.

Only stock scikit-learn estimators go into the Pipeline, so any environment
with scikit-learn can load it and score raw text.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import precision_recall_curve
from sklearn.model_selection import GroupKFold, cross_val_predict
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.svm import LinearSVC

from pipeline.signals import SIGNALS


def build(train: dict, seed: int) -> Pipeline:
    """TF-IDF word (and optional char) n-grams -> one linear classifier per signal."""
    features = [("word", TfidfVectorizer(
        ngram_range=(1, train["word_ngram_max"]), min_df=train["word_min_df"],
        max_features=train["word_max_features"], sublinear_tf=train["sublinear_tf"],
        strip_accents="unicode", lowercase=True, dtype=np.float64))]
    if train["char_ngrams"]:
        features.append(("char", TfidfVectorizer(
            analyzer="char_wb", ngram_range=(train["char_ngram_min"], train["char_ngram_max"]),
            max_features=train["char_max_features"], sublinear_tf=train["sublinear_tf"],
            strip_accents="unicode", lowercase=True, dtype=np.float64)))
    weight = None if train["class_weight"] == "none" else train["class_weight"]
    if train["classifier"] == "logreg":
        clf = LogisticRegression(C=train["C"], class_weight=weight, max_iter=train["max_iter"],
                                 solver="liblinear", random_state=seed)
    elif train["classifier"] == "svm":
        clf = CalibratedClassifierCV(LinearSVC(C=train["C"], class_weight=weight, max_iter=train["max_iter"],
                                               random_state=seed), cv=3, method="sigmoid")
    else:  # sgd: alpha is the inverse of C, scaled to SGD's usual range
        clf = SGDClassifier(loss="log_loss", alpha=1e-4 / train["C"], class_weight=weight,
                            max_iter=train["max_iter"], random_state=seed, tol=1e-4)
    # np.ravel turns a one-column `text` DataFrame (MLflow pyfunc, CSV input) into the 1-D
    # array of strings TF-IDF expects, and leaves a list of strings as it is.
    return Pipeline([("text", FunctionTransformer(np.ravel)), ("features", FeatureUnion(features)),
                     ("classify", OneVsRestClassifier(clf))])


def labels_matrix(frame: pd.DataFrame) -> np.ndarray:
    return frame[list(SIGNALS)].to_numpy(dtype=np.int8)


def out_of_fold(train: dict, seed: int, frame: pd.DataFrame, folds: int) -> np.ndarray:
    """Probabilities for every row from models that never saw its article."""
    folds = min(folds, frame["article_id"].nunique())
    return cross_val_predict(build(train, seed), frame["text"], labels_matrix(frame),
                             groups=frame["article_id"], cv=GroupKFold(n_splits=folds), method="predict_proba")


def best_thresholds(truth: np.ndarray, proba: np.ndarray, tolerance: float = 0.01) -> dict[str, float]:
    """Per signal, the centre of the cut-offs whose out-of-fold F1 is within `tolerance` of the best.

    The single argmax over-fits the out-of-fold sample; the middle of the near-optimal plateau is
    a steadier choice for new text (nested CV: no worse than the argmax).
    """
    thresholds = {}
    for j, signal in enumerate(SIGNALS):
        if truth[:, j].sum() == 0:
            thresholds[signal] = 0.5
            continue
        precision, recall, cuts = precision_recall_curve(truth[:, j], proba[:, j])
        f1 = 2 * precision[:-1] * recall[:-1] / np.maximum(precision[:-1] + recall[:-1], 1e-12)
        near_best = cuts[f1 >= f1.max() - tolerance]
        thresholds[signal] = round(float((near_best.min() + near_best.max()) / 2), 6)
    return thresholds


def _portable(model: Pipeline) -> Pipeline:
    """Make the fitted vectorisers reproducible and cheap to serialise, without changing behaviour.

    `_stop_words_id` caches a memory address (id()) that differs between processes, so it would
    make the saved bytes irreproducible; it is rebuilt on use. Vocabulary indices become plain
    ints: as numpy scalars, skops stores each one as a separate array (minutes for 100k terms).
    """
    for _, vectorizer in model.named_steps["features"].transformer_list:
        vars(vectorizer).pop("_stop_words_id", None)
        vectorizer.vocabulary_ = {term: int(index) for term, index in vectorizer.vocabulary_.items()}
    return model


def fit(train: dict, seed: int, frame: pd.DataFrame) -> tuple[Pipeline, dict[str, float], np.ndarray]:
    """Tune thresholds on grouped out-of-fold predictions, then fit on all rows."""
    oof = out_of_fold(train, seed, frame, train["cv_folds"])
    thresholds = best_thresholds(labels_matrix(frame), oof)
    model = build(train, seed).fit(frame["text"], labels_matrix(frame))
    return _portable(model), thresholds, oof


def flags(proba: np.ndarray, thresholds: dict[str, float]) -> np.ndarray:
    """0/1 per signal from probabilities and the model's tuned thresholds."""
    return (proba >= np.array([thresholds[s] for s in SIGNALS])).astype(np.int8)
