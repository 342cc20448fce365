"""The classifier: one scikit-learn Pipeline (TF-IDF, optionally static embeddings -> one linear model per
signal) plus tuned thresholds.

Stock scikit-learn estimators, except the feature blocks of `pipeline.features` (two TfidfVectorizer
subclasses that give the same matrices several times faster, and the optional static-embedding block) and
`pipeline.classifiers`' LogisticRegression subclass, fitted on naive-Bayes-scaled features. Loading the model
needs this package (MLflow ships it with the model as code).
"""
from __future__ import annotations

import hashlib
from contextlib import contextmanager
from typing import Iterator

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import precision_recall_curve
from sklearn.model_selection import GroupKFold, cross_val_predict
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.svm import LinearSVC

from pipeline.classifiers import NBLogisticRegression
from pipeline.config import InputError
from pipeline.features import StaticEmbedding, WordCachedCharVectorizer, WordCachedWordVectorizer
from pipeline.language import DEFAULT
from pipeline.signals import SIGNALS
from pipeline.text import TOKEN_HAN, cleaned


# Types in the saved Pipeline that skops does not trust by default; MLflow's skops loading trusts exactly these.
# (numpy.ravel: the first step of models from before `pipeline.text.cleaned`.)
SKOPS_TRUSTED = ("numpy.ravel", "pipeline.text.cleaned", "pipeline.classifiers.NBLogisticRegression",
                 "pipeline.features.StaticEmbedding", "pipeline.features.WordCachedCharVectorizer",
                 "pipeline.features.WordCachedWordVectorizer",
                 # classifier: svm (CalibratedClassifierCV's fitted parts, scikit-learn's private classes)
                 "sklearn.calibration._CalibratedClassifier", "sklearn.calibration._SigmoidCalibration")
CALIBRATION_FOLDS = 3  # svm: CalibratedClassifierCV's stratified folds; every fold needs a positive
MIN_LANGUAGE_ROWS = 200  # a language needs this many labelled paragraphs for thresholds of its own
# crossvalidate's outer folds are hashed apart from the threshold folds inside them: with one hash, the articles
# an outer fold holds out would leave one inner fold empty (named for the stage that first cut them; renaming it
# would move every fold)
EVALUATE_SALT = "evaluate"

# Words of two or more letters (scikit-learn's default token, exactly, for text without Chinese), and every
# Chinese character as a token of its own, so word n-grams are character uni- and bigrams in Chinese.
TOKEN_PATTERN = rf"[{TOKEN_HAN}]|(?<![^\W{TOKEN_HAN}])[^\W{TOKEN_HAN}]{{2,}}(?![^\W{TOKEN_HAN}])"


def build(train: dict, seed: int) -> Pipeline:
    """TF-IDF word (and optional char) n-grams, and optionally the paragraph's static-embedding meaning ->
    one linear classifier per signal."""
    features = [("word", WordCachedWordVectorizer(
        ngram_range=(1, train["word_ngram_max"]), min_df=train["word_min_df"], token_pattern=TOKEN_PATTERN,
        max_features=train["word_max_features"], sublinear_tf=train["sublinear_tf"],
        strip_accents="unicode", lowercase=True, dtype=np.float64))]
    if train["char_ngrams"]:
        features.append(("char", WordCachedCharVectorizer(
            analyzer="char_wb", ngram_range=(train["char_ngram_min"], train["char_ngram_max"]),
            max_features=train["char_max_features"], sublinear_tf=train["sublinear_tf"],
            strip_accents="unicode", lowercase=True, dtype=np.float64)))
    if train["embedding_weight"] > 0:
        features.append(("meaning", StaticEmbedding(dims=train["embedding_dims"], weight=train["embedding_weight"])))
    weight = None if train["class_weight"] == "none" else train["class_weight"]
    if train["classifier"] == "logreg":
        # Dual: with fewer paragraphs than features (8k against 160k) liblinear reaches the same optimum
        # about five times faster than in the primal.
        settings = dict(C=train["C"], class_weight=weight, max_iter=train["max_iter"], solver="liblinear", dual=True,
                        random_state=seed)
        clf = NBLogisticRegression(train["nb_smoothing"], **settings) if train["nb_smoothing"] > 0 else \
            LogisticRegression(**settings)
    elif train["classifier"] == "svm":
        clf = CalibratedClassifierCV(LinearSVC(C=train["C"], class_weight=weight, max_iter=train["max_iter"],
                                               random_state=seed), cv=CALIBRATION_FOLDS, method="sigmoid")
    else:  # sgd: alpha is the inverse of C, scaled to SGD's usual range
        clf = SGDClassifier(loss="log_loss", alpha=1e-4 / train["C"], class_weight=weight,
                            max_iter=train["max_iter"], random_state=seed, tol=1e-4)
    # `cleaned` turns a one-column `text` DataFrame (MLflow pyfunc, CSV input) or a list into the repaired
    # strings TF-IDF expects, as the splitter repairs every training paragraph.
    return Pipeline([("text", FunctionTransformer(cleaned)), ("features", FeatureUnion(features)),
                     ("classify", OneVsRestClassifier(clf))])


def labels_matrix(frame: pd.DataFrame) -> np.ndarray:
    return frame[list(SIGNALS)].to_numpy(dtype=np.int8)


def min_positives(classifier: str) -> int:
    """Positives of a signal one fit needs, if it has any (a signal with none gets a constant predictor)."""
    return CALIBRATION_FOLDS if classifier == "svm" else 1


def grouped_folds(frame: pd.DataFrame, folds: int, salt: str = "") -> list[tuple[np.ndarray, np.ndarray]]:
    """(fit, test) row positions of `folds` article-grouped folds (fewer with fewer articles).

    Each article's fold is fixed by a hash of its id (and `salt`), so articles added elsewhere never move it, and
    thresholds tuned on these folds move only with what the model learns: GroupKFold deals articles by size, so
    one language's new articles re-dealt the other's and moved its thresholds by up to 0.05 (data card, step 21).
    Where too few articles leave a hashed fold empty, GroupKFold deals them.
    """
    articles = frame["article_id"].to_numpy()
    distinct = set(articles)
    k = min(folds, len(distinct))
    fold_of = {a: int.from_bytes(hashlib.blake2b(f"{salt}/{a}".encode(), digest_size=8).digest(), "big") % k
               for a in distinct}
    if len(set(fold_of.values())) < k:
        return list(GroupKFold(n_splits=k).split(frame, groups=articles))
    fold = np.array([fold_of[a] for a in articles], dtype=int)
    return [(np.flatnonzero(fold != i), np.flatnonzero(fold == i)) for i in range(k)]


def word_presence(texts) -> "scipy.sparse.csr_matrix":
    """Which of the word block's tokens each text holds (0/1, rows in order): a model's word vocabulary is empty
    exactly when no token is in `train.word_min_df` of its training rows, which `check_fits` then sees."""
    from sklearn.feature_extraction.text import CountVectorizer

    return CountVectorizer(token_pattern=TOKEN_PATTERN, strip_accents="unicode", lowercase=True, binary=True,
                           dtype=np.int32).fit_transform(texts).tocsr()


def check_fits(train: dict, frame: pd.DataFrame, params_source, labels_source, held_out=(), words=None) -> None:
    """Refuse rows on which `fit` would fail in one of the models it trains (each grouped fold's, then all rows'):
    fewer rows than `train.word_min_df`, no word in that many of them (given `words`, `word_presence` of
    `frame`), or a signal with fewer positives than the classifier needs.
    `held_out`: articles the caller already left out of `frame` (named in the message)."""
    need = min_positives(train["classifier"])
    for fit_rows, test_rows in [*grouped_folds(frame, train["cv_folds"]), (np.arange(len(frame)), [])]:
        part = frame.iloc[fit_rows]
        without = sorted({*held_out, *frame["article_id"].iloc[test_rows]})
        where = f" (training without article {', '.join(without[:3])}{', ...' if len(without) > 3 else ''})" \
            if without else ""
        if len(part) < train["word_min_df"]:
            raise InputError(params_source, f"param 'train.word_min_df' is {train['word_min_df']}, more than the "
                                            f"{len(part)} labelled paragraphs a model is trained on{where}")
        if words is not None and np.asarray(words[fit_rows].sum(axis=0)).max(initial=0) < train["word_min_df"]:
            raise InputError(params_source, f"param 'train.word_min_df' is {train['word_min_df']}: no word is in "
                                            f"that many of the {len(part)} labelled paragraphs a model is trained "
                                            f"on{where}, so its vocabulary would be empty; lower it")
        counts = part[list(SIGNALS)].sum()
        few = counts[(counts > 0) & (counts < need)]
        if len(few):
            signal, count = few.index[0], int(few.iloc[0])
            raise InputError(labels_source, f"signal '{signal}' has {count} positive training examples{where}; "
                                            f"classifier '{train['classifier']}' needs none or at least {need}")


@contextmanager
def vocabulary_kept(params_source) -> Iterator[None]:
    """scikit-learn's error for a word vocabulary pruned to nothing (no word in `train.word_min_df` of the
    paragraphs some model is trained on; `validate` checks every fit it knows of first) as one InputError naming
    the param."""
    try:
        yield
    except ValueError as exc:
        if "no terms remain" not in str(exc) and "empty vocabulary" not in str(exc):
            raise
        raise InputError(params_source, "param 'train.word_min_df' leaves no word in the vocabulary of a model "
                                        "trained on these labels; lower it") from exc


def out_of_fold(train: dict, seed: int, frame: pd.DataFrame, folds: int) -> np.ndarray:
    """Probabilities for every row from models that never saw its article."""
    return cross_val_predict(build(train, seed), frame["text"], labels_matrix(frame),
                             cv=grouped_folds(frame, folds), method="predict_proba")


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
    """Make the fitted vectorisers' saved bytes reproducible, without changing behaviour.

    `_stop_words_id` caches a memory address (id()) that differs between processes, so it would
    make the saved bytes irreproducible; it is rebuilt on use. (The vectorisers save their
    vocabulary compactly themselves: `pipeline.features`.)
    """
    for _, vectorizer in model.named_steps["features"].transformer_list:
        vars(vectorizer).pop("_stop_words_id", None)
    return model


def tune(truth: np.ndarray, proba: np.ndarray, langs) -> dict[str, dict[str, float]]:
    """Thresholds per language: its own for every language with enough rows, the default language's
    from all other rows. Languages differ in how sure the model is, so one cut-off does not fit both."""
    langs = np.asarray(langs, dtype=object)
    own = [c for c in sorted(set(langs)) if c != DEFAULT and (langs == c).sum() >= MIN_LANGUAGE_ROWS]
    rest = ~np.isin(langs, own)
    rest = rest if rest.any() else np.ones_like(rest)
    return {DEFAULT: best_thresholds(truth[rest], proba[rest]),
            **{c: best_thresholds(truth[langs == c], proba[langs == c]) for c in own}}


def fit(train: dict, seed: int, frame: pd.DataFrame) -> tuple[Pipeline, dict[str, dict[str, float]], np.ndarray]:
    """Tune per-language thresholds on grouped out-of-fold predictions, then fit on all rows."""
    oof = out_of_fold(train, seed, frame, train["cv_folds"])
    thresholds = tune(labels_matrix(frame), oof, frame["lang"])
    model = build(train, seed).fit(frame["text"], labels_matrix(frame))
    return _portable(model), thresholds, oof
