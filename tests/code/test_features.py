"""The word-cached character n-gram vectoriser gives exactly sklearn's char_wb TF-IDF matrix."""
import pickle

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from pipeline.features import WordCachedCharVectorizer

ODD = ["Ｃafé ΣΊΣΥΦΟΣ naïve x\u00a0y e\u0301 \u0301z", "ﷺ ligature turns into several words", "", "   ",
       "MOFCOM tightened export licences for dysprosium.", "a b c", "稀土出口管制 包钢集团"]


@pytest.fixture(scope="module")
def texts(table):
    return table[0]["text"].tolist() + ODD


@pytest.mark.parametrize("settings", [dict(ngram_range=(3, 5), max_features=120000, sublinear_tf=True),
                                      dict(ngram_range=(1, 3), max_features=500, sublinear_tf=False)])
def test_same_vocabulary_and_matrix_as_sklearn(texts, settings):
    common = dict(analyzer="char_wb", strip_accents="unicode", lowercase=True, **settings)
    stock, fast = TfidfVectorizer(**common), WordCachedCharVectorizer(**common)
    expected, got = stock.fit_transform(texts), fast.fit_transform(texts)
    assert fast.vocabulary_ == stock.vocabulary_
    assert abs(expected - got).max() < 1e-12
    unseen = ODD + ["Lynas Rare Earths opened a heavy rare earth separation circuit in Malaysia."] * 3
    for _ in range(2):  # the second pass is served from the per-token cache
        assert abs(stock.transform(unseen) - fast.transform(unseen)).max() == 0


def test_cache_is_not_saved_with_the_model(texts):
    fast = WordCachedCharVectorizer(analyzer="char_wb", ngram_range=(3, 4)).fit(texts[:200])
    fast.transform(texts[:50])
    assert fast.__dict__.get("_token_rows")
    restored = pickle.loads(pickle.dumps(fast))
    assert "_token_rows" not in restored.__dict__
    assert np.array_equal(restored.transform(texts[:50]).toarray(), fast.transform(texts[:50]).toarray())


def test_refuses_other_analyzers():
    with pytest.raises(ValueError, match="char_wb"):
        WordCachedCharVectorizer(analyzer="word").fit(["some text here"])
