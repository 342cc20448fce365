"""Why a paragraph was flagged: the n-grams whose tf-idf value x coefficient contributed most.

Exact for the linear models: a signal's decision score is the sum of these
contributions plus the intercept. For the calibrated SVM the coefficients are
averaged over its calibration folds (a faithful ranking, not an exact sum).
"""
from __future__ import annotations

import ast
import re

import numpy as np
from scipy import sparse


_HAN_GAP = re.compile(r"(?<=[\u3400-\u9fff]) (?=[\u3400-\u9fff])")


class FeatureNames:
    """Readable name of a feature column, made when first asked for: word n-grams as they are (Chinese
    character bigrams written as in the text, 包钢 not 包 钢), character n-grams quoted. Naming all ~180,000
    columns up front would cost a third of a second of every cold start."""

    def __init__(self, blocks):
        """`blocks`: the model's feature blocks (`pipeline.tables.Block`), in column order."""
        self.parts, offset = [], 0  # (first column, terms by column, is word n-grams) per block
        for block in blocks:
            self.parts.append((offset, block.terms, block.kind == "word"))
            offset += len(block.terms)
        self.cache: dict[int, str] = {}

    def __getitem__(self, column) -> str:
        column = int(column)
        if column not in self.cache:
            offset, terms, word = next(p for p in reversed(self.parts) if p[0] <= column)
            term = terms[column - offset]
            self.cache[column] = _HAN_GAP.sub("", term) if word else repr(term)
        return self.cache[column]


def top_contributions(features: sparse.csr_matrix, weights: np.ndarray, names: FeatureNames,
                      flags: np.ndarray, k: int) -> list[list[str]]:
    """For each row and flagged signal, 'ngram (+contribution); ...' of the k largest positive terms."""
    features = features.tocsr()
    indptr, indices, data = features.indptr.tolist(), features.indices, features.data
    by_signal = np.ascontiguousarray(weights.T)  # one signal's weights in a row: gathers read contiguous memory
    out = [[""] * flags.shape[1] for _ in range(features.shape[0])]
    for i, j in zip(*(axis.tolist() for axis in np.nonzero(flags))):
        columns = indices[indptr[i]:indptr[i + 1]]
        contribution = data[indptr[i]:indptr[i + 1]] * by_signal[j][columns]
        top = _top(contribution, k)
        terms = zip(columns[top].tolist(), contribution[top].tolist())
        out[i][j] = "; ".join(f"{names[c]} ({v:+.2f})" for c, v in terms)
    return out


def _top(contribution: np.ndarray, k: int) -> list[int]:
    """Positions of the k largest positive values, largest first, ties in position order: a stable argsort
    of -contribution cut to k, found with k argmax passes instead of sorting all (~1,500) of a paragraph's
    terms (argmax returns the first of equal values)."""
    values, picks = contribution.copy(), []
    for _ in range(min(k, len(values))):
        best = int(values.argmax())
        if not values[best] > 0:
            break
        picks.append(best)
        values[best] = -np.inf
    return picks


# One term of top_contributions' text: a word n-gram, or a quoted (repr) character n-gram, and its contribution.
_TERM = re.compile(r"""('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^'"(;][^(;]*?) \(([+-]\d+\.\d+)\)(?:; |$)""")


def parse(explanation: str) -> list[tuple[str, str, float]]:
    """Read top_contributions' text back as (n-gram, "word" or "char", contribution), for front ends."""
    terms, end = [], 0
    for match in _TERM.finditer(explanation):
        if match.start() != end:
            break
        name, end = match.group(1), match.end()
        char = name[0] in "'\""
        terms.append((ast.literal_eval(name) if char else name, "char" if char else "word", float(match.group(2))))
    if end != len(explanation):
        raise ValueError(f"not an explanation: {explanation[:80]!r}")
    return terms
