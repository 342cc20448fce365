"""The word-cached vectorisers give exactly sklearn's TF-IDF vocabulary and matrices."""
import pickle

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from pipeline.features import WordCachedCharVectorizer, WordCachedWordVectorizer
from pipeline.model import TOKEN_PATTERN

ODD = ["Ｃafé ΣΊΣΥΦΟΣ naïve x\u00a0y e\u0301 \u0301z", "ﷺ ligature turns into several words", "", "   ",
       "MOFCOM tightened export licences for dysprosium.", "a b c", "稀土出口管制 包钢集团", "I a I b"]
UNSEEN = ODD + ["Lynas Rare Earths opened a heavy rare earth separation circuit in Malaysia."] * 3
CASES = [
    (WordCachedCharVectorizer, dict(analyzer="char_wb", ngram_range=(3, 5), max_features=120000, sublinear_tf=True)),
    (WordCachedCharVectorizer, dict(analyzer="char_wb", ngram_range=(1, 3), max_features=500, sublinear_tf=False)),
    (WordCachedWordVectorizer, dict(ngram_range=(1, 2), min_df=2, max_features=60000, sublinear_tf=True,
                                    token_pattern=TOKEN_PATTERN)),
    (WordCachedWordVectorizer, dict(ngram_range=(1, 3), max_features=500)),
    (WordCachedWordVectorizer, dict(ngram_range=(2, 2))),
]


@pytest.fixture(scope="module")
def texts(table):
    """Every other corpus paragraph (both languages, every source; its character n-grams still outnumber
    the 120 000 kept, so the cut-off's ties are exercised) and the odd texts."""
    return table[0]["text"].tolist()[::2] + ODD


@pytest.mark.parametrize("cls, settings", CASES)
def test_same_vocabulary_and_matrix_as_sklearn(texts, cls, settings):
    common = dict(strip_accents="unicode", lowercase=True, **settings)
    stock, fast = TfidfVectorizer(**common), cls(**common)
    expected, got = stock.fit_transform(texts), fast.fit_transform(texts)
    assert fast.vocabulary_ == stock.vocabulary_
    assert abs(expected - got).max() == 0  # fitting counts in sklearn's order: the same bits
    for _ in range(2):  # the second pass is served from the per-token cache
        assert abs(stock.transform(UNSEEN) - fast.transform(UNSEEN)).max() < 1e-15  # summation order only


@pytest.mark.parametrize("cls", [WordCachedCharVectorizer, WordCachedWordVectorizer])
def test_cache_is_not_saved_and_is_rebuilt_after_a_refit(texts, cls):
    fast = cls(analyzer="char_wb" if cls is WordCachedCharVectorizer else "word", ngram_range=(1, 2)).fit(texts[:200])
    fast.transform(texts[:50])
    assert fast.__dict__.get("_counter")
    restored = pickle.loads(pickle.dumps(fast))
    assert not {"_counter", "_counter_for"} & set(restored.__dict__)
    assert np.array_equal(restored.transform(texts[:50]).toarray(), fast.transform(texts[:50]).toarray())
    fast.fit(texts[200:400])  # a new vocabulary: rows cached for the old one must not be reused
    fresh = cls(**fast.get_params()).fit(texts[200:400])
    assert np.array_equal(fast.transform(texts[:50]).toarray(), fresh.transform(texts[:50]).toarray())


@pytest.mark.parametrize("cls", [WordCachedCharVectorizer, WordCachedWordVectorizer])
def test_the_vocabulary_is_saved_as_one_string_and_restored_exactly_by_pickle_and_skops(texts, cls):
    import skops.io

    kind = {"analyzer": "char_wb"} if cls is WordCachedCharVectorizer else {}
    fast = cls(ngram_range=(1, 2), **kind).fit(texts)
    state = fast.__getstate__()
    assert state["vocabulary_"] is None and isinstance(state["_vocabulary_terms"], str)
    blob = skops.io.dumps(fast)
    for restored in (pickle.loads(pickle.dumps(fast)), skops.io.loads(blob, trusted=skops.io.get_untrusted_types(data=blob))):
        assert restored.vocabulary_ == fast.vocabulary_ and "_vocabulary_terms" not in restored.__dict__
        assert (restored.transform(UNSEEN) != fast.transform(UNSEEN)).nnz == 0
    odd = cls(vocabulary={"a\0b": 0, "cd": 1}, **kind)  # a term holding the separator keeps the dict as it is
    odd.fit(["cd"])
    assert pickle.loads(pickle.dumps(odd)).vocabulary_ == odd.vocabulary_


def test_refuses_what_they_cannot_reproduce():
    with pytest.raises(ValueError, match="char_wb"):
        WordCachedCharVectorizer(analyzer="word").fit(["some text here"])
    with pytest.raises(ValueError, match="analyzer='word'"):
        WordCachedWordVectorizer(stop_words="english").fit(["some text here"])
    with pytest.raises(ValueError, match="empty vocabulary"):
        WordCachedWordVectorizer().fit(["a b", " "])


def test_the_vectorisers_share_a_batch_tokens_but_never_stale_ones(texts):
    fitted = WordCachedWordVectorizer().fit(texts[:300])
    batch = list(texts[:20])
    fitted.transform(batch)
    batch[0] = texts[25]  # the same list, changed in place
    expected = TfidfVectorizer().fit(texts[:300]).transform(batch)
    assert abs(fitted.transform(batch) - expected).max() < 1e-15



@pytest.mark.parametrize("cls", [WordCachedCharVectorizer, WordCachedWordVectorizer])
def test_threads_sharing_a_fitted_vectoriser_get_the_same_rows(texts, cls):
    from concurrent.futures import ThreadPoolExecutor

    fitted = cls(analyzer="char_wb" if cls is WordCachedCharVectorizer else "word").fit(texts[:300])
    expected = [TfidfVectorizer(**fitted.get_params()).fit(texts[:300]).transform(texts[i::8]) for i in range(8)]
    with ThreadPoolExecutor(8) as pool:  # a fresh cache filled by eight batches at once
        got = list(pool.map(lambda i: fitted.transform(texts[i::8]), range(8)))
    assert all(abs(g - e).max() < 1e-15 for g, e in zip(got, expected))
