"""NB-LR: logistic regression fitted on naive-Bayes-scaled features is saved as one over the unscaled ones."""
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from pipeline import model
from pipeline.classifiers import NBLogisticRegression, log_count_ratio
from pipeline.corpus.labels import training_rows


def test_the_log_count_ratio_favours_the_class_a_feature_is_seen_in():
    X = sp.csr_matrix(np.array([[2.0, 0.0, 1.0], [1.0, 0.0, 1.0], [0.0, 3.0, 1.0], [0.0, 1.0, 1.0]]))
    y = np.array([1, 1, 0, 0])
    ratio = log_count_ratio(X, y, 1.0)
    p, q = np.array([4.0, 1.0, 3.0]), np.array([1.0, 5.0, 3.0])  # column sums + 1
    np.testing.assert_allclose(ratio, np.log(p / p.sum()) - np.log(q / q.sum()))
    assert ratio[0] > 0 > ratio[1]  # only in positives, only in negatives
    small = log_count_ratio(X, np.array(["yes", "yes", "no", "no"]), 0.1)  # labels other than 0/1; smoothing
    p, q = np.array([3.1, 0.1, 2.1]), np.array([0.1, 4.1, 2.1])
    np.testing.assert_allclose(small, np.log(p / p.sum()) - np.log(q / q.sum()))
    X[3, 2] = -1.0  # a signed column (the embedding block's) is no count: left unscaled, the others as they were
    signed = log_count_ratio(X, y, 1.0)
    assert signed[2] == 1.0
    p, q = np.array([4.0, 1.0]), np.array([1.0, 5.0])
    np.testing.assert_allclose(signed[:2], np.log(p / 5) - np.log(q / 6))


@pytest.fixture(scope="module")
def rows(table, params):
    """The bundled seed articles' labelled paragraphs as TF-IDF features, and their risk labels."""
    labelled = training_rows(table[0], False)
    labelled = labelled[labelled["source"].eq("seeds")]
    features = model.build({**params["train"], "word_min_df": 1, "word_max_features": 5000, "char_ngrams": False,
                            "embedding_weight": 0}, 0)[:-1]
    return features.fit_transform(labelled["text"]), labelled["risk"].to_numpy()


def test_the_saved_weights_score_the_unscaled_features_as_the_fit_scored_the_scaled_ones(rows):
    X, y = rows
    settings = dict(C=8.0, class_weight="balanced", solver="liblinear", dual=True, max_iter=2000, random_state=0)
    nb = NBLogisticRegression(0.1, **settings).fit(X, y)
    ratio = log_count_ratio(X, y, 0.1)
    scaled = LogisticRegression(**settings).fit(X @ sp.diags(ratio), y)
    np.testing.assert_allclose(nb.decision_function(X), scaled.decision_function(X @ sp.diags(ratio)), atol=1e-10)
    np.testing.assert_allclose(nb.predict_proba(X), scaled.predict_proba(X @ sp.diags(ratio)), atol=1e-12)
    plain = LogisticRegression(**settings).fit(X, y)
    assert not np.allclose(nb.coef_, plain.coef_, atol=1e-3)  # the scaling changes what is learnt


def test_clones_keep_the_smoothing_and_refuse_none(rows):
    X, y = rows
    copy = clone(NBLogisticRegression(0.3, C=2.0, solver="liblinear"))
    assert copy.get_params()["nb_smoothing"] == 0.3 and copy.C == 2.0
    with pytest.raises(ValueError, match="nb_smoothing > 0"):
        NBLogisticRegression(0, solver="liblinear").fit(X, y)


def test_the_params_choose_the_classifier(params):
    steps = {nb: model.build({**params["train"], "nb_smoothing": nb}, 0).named_steps["classify"].estimator
             for nb in (0, 0.1)}
    assert type(steps[0]) is LogisticRegression
    assert type(steps[0.1]) is NBLogisticRegression and steps[0.1].nb_smoothing == 0.1
