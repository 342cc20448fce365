"""Counting n-grams per distinct whitespace token, with numpy and no scikit-learn.

Neither a `char_wb` n-gram nor a word token ever spans whitespace, so a paragraph's counts follow from its
whitespace tokens, each analysed once (and, when scoring, kept between batches). `pipeline.features` fits
scikit-learn vectorisers with this counting; `pipeline.tables` scores with it without importing scikit-learn.
"""
from __future__ import annotations

import re
import threading
import unicodedata
from itertools import chain, repeat
from typing import Callable, NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp

CACHE_LIMIT = 200_000  # distinct whitespace tokens whose analysis is kept between batches when scoring
KNOWN_TOKENS = 50_000  # the training text's most frequent tokens, analysed when the model is saved


def frequent_tokens(documents, limit: int = KNOWN_TOKENS) -> list[str]:
    """The documents' whitespace tokens seen at least twice (95% of the corpus's token occurrences, half its
    distinct tokens: the rest mostly names and figures), most frequent first, ties by token, at most `limit`."""
    tokens = whitespace_tokens(documents)
    counts = np.bincount(tokens.occurrence, minlength=len(tokens.distinct)).tolist()
    return [token for count, token in sorted(zip((-c for c in counts), tokens.distinct))[:limit] if count <= -2]


class TokenRows:
    """Per distinct whitespace token, a row of ints (its word ids, or its n-grams' columns), computed once.

    Rows are stored end to end (`indices`, `indptr`) so that a batch's rows are gathered with numpy.
    Callers hold `lock` from looking rows up to gathering them (threads may share a loaded model).
    """

    def __init__(self, analyse: Callable[[str], list[int]], limit: int | None = None):
        self.analyse, self.limit, self.lock = analyse, limit, threading.RLock()
        self.known: tuple = ([], np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64))
        self._clear()

    def preload(self, tokens: list[str], indptr: np.ndarray, indices: np.ndarray) -> None:
        """Start from these tokens' rows (made by `rows` with the same analysis), and keep them through every
        clear: each process that scores then skips analysing the common tokens again."""
        with self.lock:
            self.known = (tokens, indptr, indices)
            self._clear()

    def rows(self, tokens: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """These distinct tokens' rows end to end (indptr, indices), analysed afresh, for `preload`."""
        fresh = TokenRows(self.analyse)
        fresh.lookup(tokens)
        return fresh.indptr, fresh.indices[:fresh.size]

    def _clear(self) -> None:
        tokens, indptr, indices = self.known
        self.index: dict[str, int] = dict(zip(tokens, range(len(tokens))))
        self.indptr, self.indices, self.size = indptr, indices, len(indices)

    def _known_rows(self, distinct: list[str]) -> np.ndarray:
        return np.fromiter(map(self.index.get, distinct, repeat(-1)), dtype=np.int64, count=len(distinct))

    def lookup(self, distinct: list[str]) -> np.ndarray:
        """The row number of each of these distinct tokens, analysing the ones not seen before. Past the
        limit the cache starts again from its preloaded tokens and this batch's (a batch of more is kept
        whole, once)."""
        rows = self._known_rows(distinct)
        unseen = np.flatnonzero(rows < 0)
        if len(unseen) and self.limit and len(self.index) + len(unseen) > self.limit:
            self._clear()
            rows = self._known_rows(distinct)
            unseen = np.flatnonzero(rows < 0)
        if len(unseen):
            first = len(self.indptr) - 1
            rows[unseen] = np.arange(first, first + len(unseen))
            self._add([distinct[i] for i in unseen])
        return rows

    def _add(self, tokens: list[str]) -> None:
        parts = [self.analyse(token) for token in tokens]
        sizes = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
        new = np.fromiter(chain.from_iterable(parts), dtype=np.int64, count=int(sizes.sum()))
        first = len(self.indptr) - 1
        self.index.update(zip(tokens, range(first, first + len(tokens))))
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


class Tokens(NamedTuple):
    """A batch's whitespace tokens: each one's index among the distinct ones, and each document's count."""
    occurrence: np.ndarray
    distinct: list[str]
    lengths: np.ndarray


def whitespace_tokens(documents) -> Tokens:
    """All documents' whitespace tokens as written, numbered in order of first appearance (as sklearn's)."""
    tokens, lengths = [], []
    for document in documents:
        words = document.split()
        tokens.extend(words)
        lengths.append(len(words))
    occurrence, distinct = pd.factorize(np.array(tokens, dtype=object))
    return Tokens(occurrence.astype(np.int64, copy=False), distinct.tolist(), np.asarray(lengths, dtype=np.int64))


def counts(rows, columns, n_documents: int, width: int, sort: bool, dtype) -> sp.csr_matrix:
    """Documents x columns counts of (row, column) occurrences, in sklearn's column order if `sort`."""
    found = sp.csr_matrix((np.ones(len(rows), dtype=dtype), (rows, columns)), shape=(n_documents, width))
    if sort:
        found.sort_indices()
    return found


def token_counts(cache: TokenRows, tokens: Tokens, width: Callable[[], int], dtype) -> sp.csr_matrix:
    """Documents' counts as their document-by-token matrix times the cache's token-by-column matrix, `width()`
    columns wide (asked after the lookup, which may add columns when fitting). Columns stay in counting
    order (sorting every row's ~1,500 would cost a quarter of the time)."""
    with cache.lock:  # the token matrix is a view of the rows as they stand after this lookup
        rows = cache.lookup(tokens.distinct)[tokens.occurrence]
        token_columns = cache.matrix(width(), dtype)
    indptr = np.concatenate([[0], np.cumsum(tokens.lengths)])
    doc_token = sp.csr_matrix((np.ones(len(rows), dtype=dtype), rows, indptr),
                              shape=(len(tokens.lengths), token_columns.shape[0]))
    # In the given dtype from the start: astype() would sort the unsorted product's columns.
    return (doc_token @ token_columns).tocsr()


def terms_by_column(vocabulary: dict[str, int]) -> list[str] | None:
    """A fitted vocabulary's terms in column order, in one pass; None unless its columns are exactly 0..n-1."""
    terms = [None] * len(vocabulary)
    for term, column in vocabulary.items():
        if 0 <= column < len(terms):
            terms[column] = term
    return None if None in terms else terms


def check_codes_fit(radix: int, n: int) -> None:
    """An n-gram's code is its word ids in base `radix`; it must fit in an int64."""
    if radix ** n >= 2 ** 62:
        raise ValueError(f"{radix} distinct words are too many to code {n}-grams in 64 bits")


def sequence(cache: TokenRows, tokens: Tokens) -> tuple[np.ndarray, np.ndarray]:
    """Every document's word ids in order, end to end, and the document each position belongs to."""
    with cache.lock:
        words, sizes = cache.gather(cache.lookup(tokens.distinct)[tokens.occurrence])
    return words, np.repeat(np.repeat(np.arange(len(tokens.lengths)), tokens.lengths), sizes)


def ngram_codes(words, documents, n: int, radix: int, keep=None) -> tuple[np.ndarray, np.ndarray]:
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


class CharCounter:
    """Counts of a fixed vocabulary of `char_wb` n-grams; `analyse(token)` gives a whitespace token's n-grams."""

    def __init__(self, vocabulary: dict[str, int], analyse: Callable[[str], list[str]]):
        get, self.width = vocabulary.get, len(vocabulary)
        self.cache = TokenRows(lambda token: [c for c in map(get, analyse(token)) if c is not None], CACHE_LIMIT)

    def __call__(self, tokens: Tokens, dtype) -> sp.csr_matrix:
        return token_counts(self.cache, tokens, lambda: self.width, dtype)


class WordCounter:
    """Counts of a fixed vocabulary of word n-grams ("a b" for a bigram); `analyse(token)` gives a whitespace
    token's words. Word ids are kept per token between batches; n-grams are integer codes found with numpy
    (unigrams by array index, longer ones by binary search of the vocabulary's sorted codes)."""

    def __init__(self, vocabulary: dict[str, int], analyse: Callable[[str], list[str]]):
        # Words numbered in order of first appearance with numpy (a Python loop was half of loading a model); the
        # terms' words split as one string, not term by term (60,000 small lists were a tenth of loading it).
        sizes = np.fromiter(map(str.count, vocabulary, repeat(" ")), np.int64, len(vocabulary)) + 1
        ids, distinct = pd.factorize(np.array(" ".join(vocabulary).split(" ") if vocabulary else [], dtype=object))
        words = dict(zip(distinct.tolist(), range(len(distinct))))
        columns, starts = np.fromiter(vocabulary.values(), np.int64, len(vocabulary)), np.cumsum(sizes) - sizes
        self.radix, self.ngrams = len(words) + 1, {}  # the last id stands for every unknown word
        check_codes_fit(self.radix, int(sizes.max(initial=1)))
        for n in np.unique(sizes).tolist():
            first = starts[sizes == n]
            codes = np.zeros(len(first), dtype=np.int64)
            for j in range(n):
                codes = codes * self.radix + ids[first + j]
            order = np.argsort(codes)
            self.ngrams[n] = (codes[order], columns[sizes == n][order])
        self.unigrams = np.full(self.radix, -1, dtype=np.int64)
        if 1 in self.ngrams:
            self.unigrams[self.ngrams[1][0]] = self.ngrams[1][1]
        unknown, known, self.width = len(words), words.get, len(vocabulary)
        self.cache = TokenRows(lambda token: [known(w, unknown) for w in analyse(token)], CACHE_LIMIT)

    def __call__(self, tokens: Tokens, dtype) -> sp.csr_matrix:
        words, documents = sequence(self.cache, tokens)
        unknown = self.radix - 1
        rows, columns = [], []
        for n, (keys, targets) in self.ngrams.items():
            codes, docs = ngram_codes(words, documents, n, self.radix, keep=words != unknown)
            if n == 1:  # a word id indexes its unigram's column directly
                found = self.unigrams[codes]
                hit = found >= 0
            else:
                at = np.minimum(np.searchsorted(keys, codes), len(keys) - 1)
                hit = keys[at] == codes
                found = targets[at]
            rows.append(docs[hit])
            columns.append(found[hit])
        return counts(np.concatenate(rows), np.concatenate(columns), len(tokens.lengths), self.width, False, dtype)


# scikit-learn's text analysis, as TfidfVectorizer does it (tests check these against scikit-learn's own).

def strip_accents_unicode(text: str) -> str:
    """sklearn.feature_extraction.text.strip_accents_unicode."""
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def preprocessor(lowercase: bool, strip_accents: str | None) -> Callable[[str], str]:
    """TfidfVectorizer(lowercase=..., strip_accents=None | "unicode").build_preprocessor()."""
    if strip_accents not in (None, "unicode"):
        raise ValueError(f"strip_accents={strip_accents!r} is not supported")
    if lowercase:
        return (lambda text: strip_accents_unicode(text.lower())) if strip_accents else str.lower
    return strip_accents_unicode if strip_accents else str


def char_wb_ngrams(ngram_range: tuple[int, int]) -> Callable[[str], list[str]]:
    """TfidfVectorizer(ngram_range=...)._char_wb_ngrams for one word (a string without whitespace)."""
    low, high = ngram_range

    def ngrams(word: str) -> list[str]:
        padded, found = f" {word} ", []
        for n in range(low, high + 1):
            found.extend(padded[i:i + n] for i in range(max(len(padded) - n, 0) + 1))
            if len(padded) <= n:  # a short word is counted once, at its shortest n
                break
        return found
    return ngrams


def tokenizer(token_pattern: str) -> Callable[[str], list[str]]:
    """TfidfVectorizer(token_pattern=...).build_tokenizer()."""
    pattern = re.compile(token_pattern)
    if pattern.groups > 1:
        raise ValueError("more than one group in token_pattern")
    return pattern.findall


def word_analyser(preprocess: Callable[[str], str], tokenize: Callable[[str], list[str]]):
    """Whitespace token -> its word tokens, as sklearn's analyser finds them in the whole document."""
    return lambda token: tokenize(preprocess(token))


def char_analyser(preprocess: Callable[[str], str], ngrams: Callable[[str], list[str]]):
    """Whitespace token -> its char_wb n-grams (normalisation can, rarely, turn one token into two words)."""
    return lambda token: [gram for word in preprocess(token).split() for gram in ngrams(word)]
