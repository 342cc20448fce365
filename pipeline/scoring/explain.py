"""Why a paragraph was flagged: the n-grams (and word pieces, through their meaning) whose value x coefficient
contributed most.

Exact for the linear models: a signal's decision score is the sum of these
contributions plus the intercept. For the calibrated SVM the coefficients are
averaged over its calibration folds (a faithful ranking, not an exact sum).
"""
from __future__ import annotations

import ast
import re

import numpy as np
from scipy import sparse

from pipeline.text import TOKEN_HAN


_HAN_GAP = re.compile(rf"(?<=[{TOKEN_HAN}]) (?=[{TOKEN_HAN}])")


class FeatureNames(dict):
    """Readable name of a feature column (column -> name), made when first asked for: word n-grams as they are
    (Chinese character bigrams written as in the text, 包钢 not 包 钢), character n-grams quoted; a word piece of
    the embedding block, whose contribution is its meaning's, as a word, or quoted (without its ##) when it
    continues a word or is punctuation. Naming all ~180,000 columns up front would cost a third of a second of
    every cold start. A dict that names what it lacks (`__missing__`), so a known column is a plain dict lookup
    in `top_contributions`' hot loop."""

    def __init__(self, blocks):
        """`blocks`: the model's feature blocks (`pipeline.tables.Block`), in column order."""
        super().__init__()
        self.parts, offset = [], 0  # (first column, terms by column, block kind) per block
        for block in blocks:
            self.parts.append((offset, block.terms, block.kind))
            offset += len(block.terms)

    def __missing__(self, column) -> str:
        column = int(column)
        offset, terms, kind = next(p for p in reversed(self.parts) if p[0] <= column)
        term = terms[column - offset]
        if kind == "piece":
            name = term if term.isalnum() else repr(term.removeprefix("##"))  # punctuation quoted too
        else:
            name = _HAN_GAP.sub("", term) if kind == "word" else repr(term)
        self[column] = name
        return name


def top_contributions(blocks: list[sparse.csr_matrix], by_signal: np.ndarray, names: FeatureNames,
                      flags: np.ndarray, k: int) -> list[list[str]]:
    """For each row and flagged signal, 'ngram (+contribution); ...' of the k largest positive terms, largest
    first, ties in the row's stored order, block after block (a stable sort; column order where a block's
    indices are sorted, which the n-gram counter does not do). `blocks`: the feature blocks, whose columns
    follow one another in `by_signal` (signals x features). The blocks are read side by side (stacking them
    cost more than explaining), and each flag's top terms are k argmax passes rather than a sort of all of a
    paragraph's hundreds of terms: this loop runs ~1.3 times a paragraph, so every Python step in it shows in
    the time explanations cost."""
    parts, first, longest = [], 0, np.zeros(len(flags), dtype=np.int64)
    for block in blocks:  # row starts, columns in by_signal (as intp: int32 would convert on every gather), values
        block = block.tocsr()
        parts.append((block.indptr.tolist(), np.add(block.indices, first, dtype=np.intp), block.data))
        longest += np.diff(block.indptr)
        first += block.shape[1]
    weights = list(by_signal)
    size = int(longest.max(initial=0))
    scratch, columns = np.empty(size), np.empty(size, dtype=np.intp)  # one row's contributions and their columns
    out = [[""] * flags.shape[1] for _ in range(len(flags))]
    for i, j in zip(*(axis.tolist() for axis in np.nonzero(flags))):
        end, signal = 0, weights[j]
        for indptr, indices, data in parts:
            a, b = indptr[i], indptr[i + 1]
            if b > a:
                stop = end + b - a
                found = columns[end:stop] = indices[a:b]
                np.multiply(data[a:b], signal[found], out=scratch[end:stop])
                end = stop
        row, terms = scratch[:end], []
        for _ in range(min(k, end)):
            best = row.argmax()  # the first of equal values
            value = float(row[best])
            if not value > 0:
                break
            column = int(columns[best])
            terms.append(f"{names[column]} ({value:+.2f})")
            row[best] = -np.inf
        out[i][j] = "; ".join(terms)
    return out


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
