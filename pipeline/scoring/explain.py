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


def top_contributions(blocks: list[sparse.csr_matrix], by_signal: np.ndarray, names: FeatureNames,
                      flags: np.ndarray, k: int) -> list[list[str]]:
    """For each row and flagged signal, 'ngram (+contribution); ...' of the k largest positive terms.
    `blocks`: the feature blocks, whose columns follow one another in `by_signal` (signals x features, one
    signal's weights contiguous). The blocks are read side by side: stacking them cost more than explaining."""
    parts, first, longest = [], 0, np.zeros(len(flags), dtype=np.int64)
    for block in blocks:  # row starts, columns (as intp: indexing with int32 converts on every gather), values
        block = block.tocsr()
        width = block.shape[1]
        parts.append((block.indptr.tolist(), block.indices.astype(np.intp), block.data, first,
                      by_signal[:, first:first + width]))
        longest += np.diff(block.indptr)
        first += width
    scratch = np.empty(int(longest.max(initial=0)))  # one row's contributions, block after block
    out = [[""] * flags.shape[1] for _ in range(len(flags))]
    for i, j in zip(*(axis.tolist() for axis in np.nonzero(flags))):
        spans, end = [], 0  # per block: where its terms end and start in scratch, their columns, its first column
        for indptr, indices, data, first, weights in parts:
            a, b = indptr[i], indptr[i + 1]
            columns = indices[a:b]
            np.multiply(data[a:b], weights[j][columns], out=scratch[end:end + b - a])
            spans.append((end + b - a, end, columns, first))
            end += b - a
        terms = []
        for position, value in _top(scratch[:end], k):
            _, start, columns, first = next(span for span in spans if position < span[0])
            terms.append(f"{names[int(columns[position - start]) + first]} ({value:+.2f})")
        out[i][j] = "; ".join(terms)
    return out


def _top(contribution: np.ndarray, k: int) -> list[tuple[int, float]]:
    """(position, value) of the k largest positive values, largest first, ties in position order: a stable
    argsort of -contribution cut to k, found with k argmax passes instead of sorting all (~1,700) of a
    paragraph's terms (argmax returns the first of equal values). Overwrites those values with -inf."""
    picks = []
    for _ in range(min(k, len(contribution))):
        best = int(contribution.argmax())
        value = float(contribution[best])
        if not value > 0:
            break
        picks.append((best, value))
        contribution[best] = -np.inf
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
