"""TF-IDF vectorisers that analyse each distinct whitespace token once: sklearn's matrices, faster.

Neither a `char_wb` n-gram nor a word token ever spans whitespace, so a paragraph's features follow
from its whitespace tokens. Both classes analyse each distinct token once (and, when scoring, keep the
result between batches: `pipeline.ngrams`, which the scoring tables count with too) and leave vocabulary
selection, idf and normalisation to scikit-learn: they only replace the counting step, so the fitted model
and its feature names are exactly those of `TfidfVectorizer`. When scoring, a row's columns are left in the
order they were counted, so its values can differ from sklearn's in the last bit (summation order), never more.
`StaticEmbedding`, the optional third block, reads the same whitespace tokens as word pieces.
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer

from pipeline import embedding
from pipeline.ngrams import (CharCounter, TokenRows, Tokens, WordCounter, char_analyser, check_codes_fit, counts,
                             ngram_codes, sequence, terms_by_column, token_counts, whitespace_tokens,
                             word_analyser)


_LAST_BATCH: tuple = ()  # (the documents, as a list, decode settings, their Tokens) of the latest batch


_DEFAULT_DECODING = TfidfVectorizer()  # how the embedding block reads documents: as a vectoriser's defaults do


def _whitespace_tokens(vectorizer: TfidfVectorizer, raw_documents) -> Tokens:
    """All documents' whitespace tokens as written, decoded by the vectoriser's settings. A FeatureUnion hands
    its blocks the same batch, so the later ones reuse the first one's tokens (when the documents and settings
    are equal, checked one by one)."""
    documents = list(raw_documents)
    settings = (vectorizer.input, vectorizer.encoding, vectorizer.decode_error)
    latest = _LAST_BATCH
    if latest and latest[1] == settings and latest[0] == documents:
        return latest[2]
    found = whitespace_tokens(map(vectorizer.decode, documents))
    globals()["_LAST_BATCH"] = (documents, settings, found)
    return found


def _scoring_counter(vectorizer, build):
    """The vectoriser's counter for its fitted vocabulary (rebuilt after a refit, never saved)."""
    counter = vectorizer.__dict__.get("_counter")
    if counter is None or vectorizer.__dict__.get("_counter_for") is not vectorizer.vocabulary_:
        counter = build()
        vectorizer.__dict__.update(_counter=counter, _counter_for=vectorizer.vocabulary_)
    return counter


_SEPARATOR = "\0"


def _saved_state(state: dict) -> dict:
    """What is saved of a vectoriser: no scoring-time caches, and the vocabulary as one string of its terms
    in column order. skops stores a dict entry by entry (half a minute for 160k terms) and a string at once."""
    for key in ("_counter", "_counter_for"):
        state.pop(key, None)
    vocabulary = state.get("vocabulary_")
    if isinstance(vocabulary, dict) and vocabulary:
        terms = terms_by_column(vocabulary)  # saved as one string only if its columns are 0..n-1
        if terms is not None and not any(_SEPARATOR in term for term in terms):
            state = {**state, "vocabulary_": None, "_vocabulary_terms": _SEPARATOR.join(terms)}
    return state


def _restored_state(state: dict) -> dict:
    """The inverse of `_saved_state`: the vocabulary dict again, term -> column."""
    terms = state.pop("_vocabulary_terms", None)
    if terms is not None:
        state["vocabulary_"] = {term: column for column, term in enumerate(terms.split(_SEPARATOR))}
    return state


class WordCachedCharVectorizer(TfidfVectorizer):
    """`TfidfVectorizer(analyzer="char_wb", ...)` whose counts are built per distinct word.

    Takes TfidfVectorizer's parameters; `analyzer` must stay "char_wb". A paragraph's counts are its
    document-by-token matrix times a token-by-n-gram matrix.
    """

    def _count_vocab(self, raw_documents, fixed_vocab):
        if self.analyzer != "char_wb":
            raise ValueError("WordCachedCharVectorizer only supports analyzer='char_wb'")
        tokens = _whitespace_tokens(self, raw_documents)
        if fixed_vocab:
            counter = _scoring_counter(self, lambda: CharCounter(self.vocabulary_, self._analyser()))
            return self.vocabulary_, counter(tokens, self.dtype)
        vocabulary = defaultdict()
        vocabulary.default_factory = vocabulary.__len__
        analyse = self._analyser()
        cache = TokenRows(lambda token: [vocabulary[gram] for gram in analyse(token)])
        found = token_counts(cache, tokens, vocabulary.__len__, self.dtype)
        vocabulary = dict(vocabulary)
        if not vocabulary:
            raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
        found.sort_indices()  # sklearn's own order, so the fitted model is exactly sklearn's
        return vocabulary, found

    def _analyser(self):
        return char_analyser(self.build_preprocessor(), self._char_wb_ngrams)

    def __getstate__(self):
        return _saved_state(super().__getstate__())

    def __setstate__(self, state):
        super().__setstate__(_restored_state(state))


class WordCachedWordVectorizer(TfidfVectorizer):
    """`TfidfVectorizer(analyzer="word", ...)` whose tokens are found once per distinct whitespace token.

    Takes TfidfVectorizer's parameters except a custom tokenizer, preprocessor or stop words; the token
    pattern must never match whitespace (sklearn's default and `pipeline.model.TOKEN_PATTERN` do not).
    A document's tokens are then its whitespace tokens' tokens in order, and its n-grams are found with
    numpy over integer word ids instead of one string join and dict lookup per occurrence.
    """

    def _count_vocab(self, raw_documents, fixed_vocab):
        if self.analyzer != "word" or self.tokenizer or self.preprocessor or self.stop_words:
            raise ValueError("WordCachedWordVectorizer supports analyzer='word' without a custom tokenizer, "
                             "preprocessor or stop words")
        tokens = _whitespace_tokens(self, raw_documents)
        if fixed_vocab:
            counter = _scoring_counter(self, lambda: WordCounter(self.vocabulary_, self._analyser()))
            return self.vocabulary_, counter(tokens, self.dtype)
        return self._new_vocabulary(tokens)

    def _new_vocabulary(self, tokens: Tokens):
        """Fit: every n-gram of the documents as a term, with its counts (sklearn then sorts and limits them)."""
        names = defaultdict()
        names.default_factory = names.__len__
        analyse = self._analyser()
        words, documents = sequence(TokenRows(lambda token: [names[w] for w in analyse(token)]), tokens)
        spelling = np.array(list(names), dtype=object)
        radix = max(len(spelling), 1)
        check_codes_fit(radix, self.ngram_range[1])
        found = []  # per n: the unique codes, where each first occurs, and each occurrence's unique code
        for n in range(self.ngram_range[0], self.ngram_range[1] + 1):
            codes, docs = ngram_codes(words, documents, n, radix)
            unique, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
            found.append((n, unique, docs, inverse.ravel(), docs[first], first))
        # Columns in order of first appearance (by document, unigrams before bigrams, then position), as
        # sklearn numbers them, so the counts and everything fitted on them are exactly sklearn's.
        position = np.concatenate([f[5] for f in found])
        length = np.concatenate([np.full(len(f[1]), f[0]) for f in found])
        order = np.lexsort((position, length, np.concatenate([f[4] for f in found])))
        column = np.empty(len(order), dtype=np.int64)
        column[order] = np.arange(len(order))
        vocabulary, rows, columns, offset = {}, [], [], 0
        for n, unique, docs, inverse, _, _ in found:
            parts = [spelling[unique // radix ** (n - 1 - j) % radix] for j in range(n)]
            terms = parts[0] if n == 1 else map(" ".join, zip(*parts))
            vocabulary.update(zip(terms, column[offset:offset + len(unique)].tolist()))
            rows.append(docs)
            columns.append(column[offset + inverse])
            offset += len(unique)
        if not vocabulary:
            raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
        return vocabulary, counts(np.concatenate(rows), np.concatenate(columns), len(tokens.lengths), len(vocabulary),
                                  True, self.dtype)

    def _analyser(self):
        return word_analyser(self.build_preprocessor(), self.build_tokenizer())

    def __getstate__(self):
        return _saved_state(super().__getstate__())

    def __setstate__(self, state):
        super().__setstate__(_restored_state(state))


class StaticEmbedding(TransformerMixin, BaseEstimator):
    """An English paragraph's meaning: the L2-normalised sum of its word pieces' static MiniLM vectors
    (`pipeline.embedding`; zeros for text with Chinese characters), times `weight` (its scale beside the
    unit-length TF-IDF blocks), `dims` wide.

    Fitting reads the pinned vectors; the fitted transformer carries them (`vocabulary_`: piece -> column, and
    `vectors_`), so scoring needs only the `tokenizers` package. Each distinct whitespace token is split into
    pieces once. Saved like the vectorisers (`_saved_state`).
    """

    def __init__(self, dims: int = 128, weight: float = 0.5):
        self.dims, self.weight = dims, weight

    def fit(self, X, y=None):
        self.vocabulary_, self.vectors_ = embedding.marked(*embedding.static_vectors(self.dims))
        return self

    def transform(self, X) -> np.ndarray:
        counter = _scoring_counter(self, lambda: embedding.piece_counter(self.vocabulary_))
        sums, inverse = embedding.meaning(counter(_whitespace_tokens(_DEFAULT_DECODING, X), np.float64),
                                          self.vectors_)
        return sums * (self.weight * inverse)[:, None]

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return np.array([f"meaning{i}" for i in range(self.dims)], dtype=object)

    def __getstate__(self):
        return _saved_state(super().__getstate__())

    def __setstate__(self, state):
        super().__setstate__(_restored_state(state))
