"""TF-IDF vectorisers that analyse each distinct whitespace token once: sklearn's matrices, faster.

Neither a `char_wb` n-gram nor a word token ever spans whitespace, so a paragraph's features follow
from its whitespace tokens. Both classes analyse each distinct token once (and, when scoring, keep the
result between batches) and leave vocabulary selection, idf and normalisation to scikit-learn: they
only replace the counting step, so the fitted model and its feature names are exactly those of
`TfidfVectorizer`. When scoring, a row's columns are left in the order they were counted, so its
values can differ from sklearn's in the last bit (summation order), never more.
"""
from __future__ import annotations

import threading
from collections import defaultdict
from itertools import chain, repeat
from typing import NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

_CACHE_LIMIT = 200_000  # distinct whitespace tokens whose analysis is kept between batches when scoring


class _TokenRows:
    """Per distinct whitespace token, a row of ints (its word ids, or its n-grams' columns), computed once.

    Rows are stored end to end (`indices`, `indptr`) so that a batch's rows are gathered with numpy.
    Callers hold `lock` from looking rows up to gathering them (threads may share a loaded model).
    """

    def __init__(self, analyse, limit: int | None = None):
        self.analyse, self.limit, self.lock = analyse, limit, threading.RLock()
        self._clear()

    def _clear(self) -> None:
        self.index: dict[str, int] = {}
        self.indptr, self.indices, self.size = np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64), 0

    def lookup(self, distinct: list[str]) -> np.ndarray:
        """The row number of each of these distinct tokens, analysing the ones not seen before."""
        rows = np.fromiter(map(self.index.get, distinct, repeat(-1)), dtype=np.int64, count=len(distinct))
        unseen = np.flatnonzero(rows < 0)
        if len(unseen):
            if self.limit and len(self.index) + len(unseen) > self.limit:
                self._clear()
                return self.lookup(distinct)
            missing = [distinct[i] for i in unseen]
            rows[unseen] = np.arange(len(self.index), len(self.index) + len(missing))
            self._add(missing)
        return rows

    def _add(self, tokens: list[str]) -> None:
        parts = [self.analyse(token) for token in tokens]
        sizes = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
        new = np.fromiter(chain.from_iterable(parts), dtype=np.int64, count=int(sizes.sum()))
        self.index.update(zip(tokens, range(len(self.index), len(self.index) + len(tokens))))
        self.indptr = np.concatenate([self.indptr, self.indptr[-1] + np.cumsum(sizes)])
        if self.size + len(new) > len(self.indices):  # grow by doubling: appending stays linear
            self.indices = np.resize(self.indices, max(2 * len(self.indices), self.size + len(new)))
        self.indices[self.size:self.size + len(new)] = new
        self.size += len(new)

    def gather(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The given rows' ints end to end, and how many each row has."""
        starts, counts = self.indptr[rows], self.indptr[rows + 1] - self.indptr[rows]
        ends = np.cumsum(counts)
        total = int(ends[-1]) if len(ends) else 0
        return self.indices[np.repeat(starts - (ends - counts), counts) + np.arange(total)], counts

    def matrix(self, width: int, dtype) -> sp.csr_matrix:
        """Token-by-column counts (repeated columns count twice)."""
        data = np.ones(self.size, dtype=dtype)
        return sp.csr_matrix((data, self.indices[:self.size], self.indptr), shape=(len(self.index), width))


class _Tokens(NamedTuple):
    """A batch's whitespace tokens: each one's index among the distinct ones, and each document's count."""
    occurrence: np.ndarray
    distinct: list[str]
    lengths: np.ndarray


_LAST_BATCH: tuple = ()  # (the documents, as a list, decode settings, their _Tokens) of the latest batch


def _whitespace_tokens(vectorizer: TfidfVectorizer, raw_documents) -> _Tokens:
    """All documents' whitespace tokens as written. A FeatureUnion hands its vectorisers the same batch,
    so the second one reuses the first one's tokens (when the documents are equal, checked one by one)."""
    documents = list(raw_documents)
    settings = (vectorizer.input, vectorizer.encoding, vectorizer.decode_error)
    latest = _LAST_BATCH
    if latest and latest[1] == settings and latest[0] == documents:
        return latest[2]
    decode, tokens, lengths = vectorizer.decode, [], []
    for document in documents:
        words = decode(document).split()
        tokens.extend(words)
        lengths.append(len(words))
    occurrence, distinct = pd.factorize(np.array(tokens, dtype=object))  # first-appearance order, as sklearn's
    found = _Tokens(occurrence.astype(np.int64, copy=False), distinct.tolist(), np.asarray(lengths, dtype=np.int64))
    globals()["_LAST_BATCH"] = (documents, settings, found)
    return found


def _scoring_rows(vectorizer, build) -> _TokenRows:
    """The vectoriser's token cache for its fitted vocabulary (rebuilt after a refit, never saved)."""
    cache = vectorizer.__dict__.get("_token_rows")
    if cache is None or vectorizer.__dict__.get("_cache_for") is not vectorizer.vocabulary_:
        cache = build()
        vectorizer.__dict__.update(_token_rows=cache, _cache_for=vectorizer.vocabulary_)
    return cache


_SEPARATOR = "\0"


def _saved_state(state: dict) -> dict:
    """What is saved of a vectoriser: no scoring-time caches, and the vocabulary as one string of its terms
    in column order. skops stores a dict entry by entry (half a minute for 160k terms) and a string at once."""
    for key in ("_token_rows", "_cache_for", "_ngram_table"):
        state.pop(key, None)
    vocabulary = state.get("vocabulary_")
    if isinstance(vocabulary, dict) and vocabulary:
        terms = [None] * len(vocabulary)  # by column, in one pass; saved so only if columns are 0..n-1
        for term, column in vocabulary.items():
            if 0 <= column < len(terms):
                terms[column] = term
        if None not in terms and not any(_SEPARATOR in term for term in terms):
            state = {**state, "vocabulary_": None, "_vocabulary_terms": _SEPARATOR.join(terms)}
    return state


def _restored_state(state: dict) -> dict:
    """The inverse of `_saved_state`: the vocabulary dict again, term -> column."""
    terms = state.pop("_vocabulary_terms", None)
    if terms is not None:
        state["vocabulary_"] = {term: column for column, term in enumerate(terms.split(_SEPARATOR))}
    return state


def _counts(rows, columns, n_documents: int, width: int, sort: bool, dtype) -> sp.csr_matrix:
    counts = sp.csr_matrix((np.ones(len(rows), dtype=dtype), (rows, columns)), shape=(n_documents, width))
    if sort:
        counts.sort_indices()
    return counts


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
            vocabulary = self.vocabulary_
            cache = _scoring_rows(self, lambda: _TokenRows(self._analyser(vocabulary.get), _CACHE_LIMIT))
        else:
            vocabulary = defaultdict()
            vocabulary.default_factory = vocabulary.__len__
            cache = _TokenRows(self._analyser(vocabulary.__getitem__))
        with cache.lock:  # the token matrix is a view of the rows as they stand after this lookup
            rows = cache.lookup(tokens.distinct)[tokens.occurrence]
            token_ngrams = cache.matrix(len(vocabulary), self.dtype)
        indptr = np.concatenate([[0], np.cumsum(tokens.lengths)])
        doc_token = sp.csr_matrix((np.ones(len(rows), dtype=self.dtype), rows, indptr),
                                  shape=(len(tokens.lengths), token_ngrams.shape[0]))
        if not fixed_vocab:
            vocabulary = dict(vocabulary)
            if not vocabulary:
                raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
        # In the vectoriser's dtype from the start: astype() would sort the unsorted product's columns.
        counts = (doc_token @ token_ngrams).tocsr()
        if not fixed_vocab:  # fitting: sklearn's own order, so the fitted model is exactly sklearn's
            counts.sort_indices()
        return vocabulary, counts

    def _analyser(self, column_of):
        """Whitespace token -> the columns of its n-grams (`column_of` gives None for an n-gram to drop)."""
        preprocess, ngrams = self.build_preprocessor(), self._char_wb_ngrams

        def analyse(token: str) -> list[int]:
            # normalisation can (rarely) turn one token into two
            found = (column_of(gram) for word in preprocess(token).split() for gram in ngrams(word))
            return [column for column in found if column is not None]
        return analyse

    def __getstate__(self):
        return _saved_state(super().__getstate__())

    def __setstate__(self, state):
        super().__setstate__(_restored_state(state))


def _check_codes_fit(radix: int, n: int) -> None:
    """An n-gram's code is its word ids in base `radix`; it must fit in an int64."""
    if radix ** n >= 2 ** 62:
        raise ValueError(f"{radix} distinct words are too many to code {n}-grams in 64 bits")


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
            return self.vocabulary_, self._known_counts(tokens)
        return self._new_vocabulary(tokens)

    @staticmethod
    def _sequence(cache: _TokenRows, tokens: _Tokens) -> tuple[np.ndarray, np.ndarray]:
        """Every document's word ids in order, end to end, and the document each position belongs to."""
        with cache.lock:
            words, counts = cache.gather(cache.lookup(tokens.distinct)[tokens.occurrence])
        return words, np.repeat(np.repeat(np.arange(len(tokens.lengths)), tokens.lengths), counts)

    @staticmethod
    def _ngram_codes(words, documents, n: int, radix: int, keep=None) -> tuple[np.ndarray, np.ndarray]:
        """The code (word ids in base `radix`) of every n-gram that lies within one document (and has only
        words marked in `keep`, if given), and its document."""
        starts = len(words) - n + 1
        if starts <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        within = documents[:starts] == documents[n - 1:]
        for j in range(n) if keep is not None else ():
            within &= keep[j:starts + j]
        codes = words[:starts][within]
        for j in range(1, n):
            codes = codes * radix + words[j:starts + j][within]
        return codes, documents[:starts][within]

    def _new_vocabulary(self, tokens: _Tokens):
        """Fit: every n-gram of the documents as a term, with its counts (sklearn then sorts and limits them)."""
        names = defaultdict()
        names.default_factory = names.__len__
        analyse = self._analyser()
        words, documents = self._sequence(_TokenRows(lambda token: [names[w] for w in analyse(token)]), tokens)
        spelling = np.array(list(names), dtype=object)
        radix = max(len(spelling), 1)
        _check_codes_fit(radix, self.ngram_range[1])
        found = []  # per n: the unique codes, where each first occurs, and each occurrence's unique code
        for n in range(self.ngram_range[0], self.ngram_range[1] + 1):
            codes, docs = self._ngram_codes(words, documents, n, radix)
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
        counts = _counts(np.concatenate(rows), np.concatenate(columns), len(tokens.lengths), len(vocabulary),
                         True, self.dtype)
        return vocabulary, counts

    def _known_counts(self, tokens: _Tokens) -> sp.csr_matrix:
        """Transform: counts of the fitted vocabulary's n-grams; tokens' word ids are kept between batches."""
        index = self._ngram_index()
        unknown, analyse = len(index["words"]), self._analyser()
        known = index["words"].get
        cache = _scoring_rows(self, lambda: _TokenRows(lambda token: [known(w, unknown) for w in analyse(token)],
                                                       _CACHE_LIMIT))
        words, documents = self._sequence(cache, tokens)
        rows, columns = [], []
        for n, (keys, targets) in index["ngrams"].items():
            codes, docs = self._ngram_codes(words, documents, n, unknown + 1, keep=words != unknown)
            if n == 1:  # a word id indexes its unigram's column directly
                found = index["unigrams"][codes]
                hit = found >= 0
            else:
                at = np.minimum(np.searchsorted(keys, codes), len(keys) - 1)
                hit = keys[at] == codes
                found = targets[at]
            rows.append(docs[hit])
            columns.append(found[hit])
        return _counts(np.concatenate(rows), np.concatenate(columns), len(tokens.lengths), len(self.vocabulary_), False,
                       self.dtype)

    def _ngram_index(self) -> dict:
        """Word ids of the vocabulary's words and, per n, its n-grams' sorted codes and their columns."""
        index = self.__dict__.get("_ngram_table")
        if index is None or index["vocabulary"] is not self.vocabulary_:
            words, by_n = {}, defaultdict(list)
            for term, column in self.vocabulary_.items():
                ids = [words.setdefault(w, len(words)) for w in term.split(" ")]
                by_n[len(ids)].append((ids, column))
            radix, ngrams = len(words) + 1, {}
            _check_codes_fit(radix, max(by_n, default=1))
            for n, entries in sorted(by_n.items()):
                codes = np.zeros(len(entries), dtype=np.int64)
                for j in range(n):
                    codes = codes * radix + np.fromiter((ids[j] for ids, _ in entries), np.int64, len(entries))
                order = np.argsort(codes)
                ngrams[n] = (codes[order], np.fromiter((c for _, c in entries), np.int64, len(entries))[order])
            unigrams = np.full(radix, -1, dtype=np.int64)
            if 1 in ngrams:
                unigrams[ngrams[1][0]] = ngrams[1][1]
            index = {"vocabulary": self.vocabulary_, "words": words, "ngrams": ngrams, "unigrams": unigrams}
            self.__dict__["_ngram_table"] = index
        return index

    def _analyser(self):
        """Whitespace token -> its word tokens, as sklearn's analyser finds them in the whole document."""
        preprocess, tokenize = self.build_preprocessor(), self.build_tokenizer()
        return lambda token: tokenize(preprocess(token))

    def __getstate__(self):
        return _saved_state(super().__getstate__())

    def __setstate__(self, state):
        super().__setstate__(_restored_state(state))
