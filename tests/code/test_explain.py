"""Explanations: the top contributions of a flagged signal, found without sorting every term."""
import re
from types import SimpleNamespace

import numpy as np
from scipy import sparse

from pipeline.scoring.explain import FeatureNames, top_contributions
from pipeline.signals import SIGNALS
from pipeline.tables import from_pipeline
from pipeline.text import TOKEN_HAN


def shuffled(matrix: sparse.csr_matrix, rng) -> sparse.csr_matrix:
    """The same matrix with each row's entries in a random stored order and int64 indices, as the n-gram
    counter can leave them (it does not sort a row's columns)."""
    indices, data = matrix.indices.astype(np.int64), matrix.data.copy()
    for a, b in zip(matrix.indptr[:-1], matrix.indptr[1:]):
        order = a + rng.permutation(b - a)
        indices[a:b], data[a:b] = indices[order], data[order]
    return sparse.csr_matrix((data, indices, matrix.indptr.copy()), shape=matrix.shape)


def test_top_contributions_match_a_full_stable_sort():
    """Two blocks of few distinct values (many ties, zeros, negatives, empty rows), indices sorted or not:
    each flag's terms are a stable sort of the row's contributions in stored order, block after block, cut to
    k and to the positive ones."""
    rng = np.random.default_rng(0)
    widths = (7, 11)
    blocks = [SimpleNamespace(kind="word", terms=[f"w{c}" for c in range(widths[0])]),
              SimpleNamespace(kind="word", terms=[f"v{c}" for c in range(widths[1])])]
    names = FeatureNames(blocks)
    for case in range(200):
        rows = int(rng.integers(1, 6))
        matrices = [sparse.random(rows, w, density=rng.uniform(0, 1), format="csr", random_state=rng,
                                  data_rvs=lambda n: rng.choice([0.5, 1.0, 2.0], size=n)) for w in widths]
        if case % 2:
            matrices = [shuffled(m, rng) for m in matrices]
        by_signal = rng.choice([-1.0, 0.0, 0.5, 1.0], size=(len(SIGNALS), sum(widths)))
        flags = rng.integers(0, 2, size=(rows, len(SIGNALS))).astype(np.int8)
        dense = sparse.hstack(matrices).toarray()
        for k in (1, 3, 5):
            got = top_contributions(matrices, by_signal, names, flags, k)
            for i in range(rows):
                order = np.concatenate([m.indices[m.indptr[i]:m.indptr[i + 1]] + sum(widths[:b])
                                        for b, m in enumerate(matrices)])  # the row's terms as stored
                for j in range(len(SIGNALS)):
                    values = dense[i, order] * by_signal[j, order]
                    top = [(order[o], values[o]) for o in np.argsort(-values, kind="stable")[:k] if values[o] > 0]
                    expected = "; ".join(f"{names[c]} ({v:+.2f})" for c, v in top) if flags[i, j] else ""
                    assert got[i][j] == expected


def test_feature_names_are_the_fitted_terms_in_column_order(trained):
    fitted, _ = trained
    names, stock = FeatureNames(from_pipeline(fitted).blocks), fitted.named_steps["features"].get_feature_names_out()
    assert {n.split("__", 1)[0] for n in stock} == {"word", "char"}
    for column in [*range(0, len(stock), 97), len(stock) - 1]:
        kind, term = stock[column].split("__", 1)
        # word n-grams as written (Chinese bigrams without the space between characters), char n-grams quoted
        expected = re.sub(f"(?<=[{TOKEN_HAN}]) (?=[{TOKEN_HAN}])", "", term) if kind == "word" else repr(term)
        assert names[column] == expected
