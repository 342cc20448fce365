"""Character n-gram TF-IDF computed once per distinct word: the same matrix as sklearn's `char_wb`, faster.

`char_wb` n-grams never cross a word boundary, so a paragraph's n-gram counts are the sum of its
words' counts. Counting each distinct word once and multiplying a document-by-word count matrix by a
word-by-n-gram matrix gives exactly what `TfidfVectorizer(analyzer="char_wb")` gives, without
re-analysing every occurrence of every word. Vocabulary selection, idf and normalisation are
scikit-learn's own (this class only replaces the counting step), so the fitted model, its feature
names and its explanations are unchanged.
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

_CACHE_LIMIT = 200_000  # distinct words whose n-gram counts are kept between batches when scoring


class WordCachedCharVectorizer(TfidfVectorizer):
    """`TfidfVectorizer(analyzer="char_wb", ...)` whose counts are built per distinct word.

    Takes TfidfVectorizer's parameters; `analyzer` must stay "char_wb".
    """

    def _count_vocab(self, raw_documents, fixed_vocab):
        if self.analyzer != "char_wb":
            raise ValueError("WordCachedCharVectorizer only supports analyzer='char_wb'")
        # Documents -> whitespace tokens as written; everything per word happens once per distinct token.
        # Lower-casing and accent stripping act within words, so doing them per token is exact.
        decode = self.decode
        tokens, lengths = [], []
        for document in raw_documents:
            words = decode(document).split()
            tokens.extend(words)
            lengths.append(len(words))
        distinct = list(dict.fromkeys(tokens))
        position = {word: i for i, word in enumerate(distinct)}
        indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        columns = np.fromiter(map(position.__getitem__, tokens), dtype=np.int64, count=len(tokens))
        doc_token = sp.csr_matrix((np.ones(len(tokens), dtype=np.int64), columns, indptr),
                                  shape=(len(lengths), len(distinct)))
        if fixed_vocab:
            vocabulary = self.vocabulary_
            token_ngrams = self._known_ngrams(distinct, vocabulary)
        else:
            vocabulary = defaultdict()
            vocabulary.default_factory = vocabulary.__len__
            token_ngrams = self._ngram_rows(distinct, vocabulary.__getitem__, None)
            vocabulary = dict(vocabulary)
            if not vocabulary:
                raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
        counts = (doc_token @ token_ngrams).tocsr()
        counts.sort_indices()
        return vocabulary, counts.astype(np.int64, copy=False)

    def _ngram_rows(self, tokens, index_of, width: int | None) -> sp.csr_matrix:
        """Token-by-n-gram counts; `index_of(ngram)` gives a column, or None to drop the n-gram."""
        preprocess = self.build_preprocessor()
        indptr, indices = [0], []
        for token in tokens:
            for word in preprocess(token).split():  # normalisation can (rarely) turn one token into two
                for gram in self._char_wb_ngrams(word):
                    column = index_of(gram)
                    if column is not None:
                        indices.append(column)
            indptr.append(len(indices))
        width = 1 + max(indices, default=-1) if width is None else width
        matrix = sp.csr_matrix((np.ones(len(indices), dtype=np.int64), indices, indptr), shape=(len(tokens), width))
        matrix.sum_duplicates()
        return matrix

    def _known_ngrams(self, tokens, vocabulary) -> sp.csr_matrix:
        """Rows for `tokens` over the fitted vocabulary, reusing rows computed for earlier batches."""
        cache = self.__dict__.setdefault("_token_rows", {})
        missing = [t for t in tokens if t not in cache]
        if missing:
            if len(cache) + len(missing) > _CACHE_LIMIT:
                cache.clear()
            rows = self._ngram_rows(missing, vocabulary.get, len(vocabulary))
            for i, token in enumerate(missing):
                start, end = rows.indptr[i], rows.indptr[i + 1]
                cache[token] = (rows.indices[start:end], rows.data[start:end])
        parts = [cache[t] for t in tokens]
        indptr = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum([len(p[0]) for p in parts], out=indptr[1:])
        indices = np.concatenate([p[0] for p in parts]) if parts else np.array([], dtype=np.int32)
        data = np.concatenate([p[1] for p in parts]) if parts else np.array([], dtype=np.int64)
        return sp.csr_matrix((data, indices, indptr), shape=(len(tokens), len(vocabulary)))

    def __getstate__(self):
        """The per-word cache is scoring-time state: never saved with the model."""
        state = super().__getstate__()
        state.pop("_token_rows", None)
        return state
