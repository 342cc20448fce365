"""The fitted model as plain arrays (vocabularies, idf, weights) that score without scikit-learn.

Scoring from these gives the Pipeline's probabilities (up to summation order in the last bits; a test holds
them to 1e-12) without importing scikit-learn or unpickling its objects: that import was most of a cold
start and of every worker's start. The bundle carries the tables beside the pickled Pipeline. Their file is
a JSON header and .npy arrays read without pickle, so loading one cannot run code. `from_pipeline` makes
them from a fitted `pipeline.model.build` Pipeline and refuses any setting they would not reproduce.
"""
from __future__ import annotations

import io
import json
import zlib
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from pipeline import embedding, ngrams
from pipeline.text import cleaned

MAGIC = b"policy-signals scoring tables 3\n"  # 3: the header says whether texts are repaired first
UNREPAIRED = b"policy-signals scoring tables 2\n"  # version 2, the body as it is, never repairing: still read
COMPRESSED = b"policy-signals scoring tables 1\n"  # version 1, version 2's body zlib-compressed: still read
SETTINGS = {"ngram_range", "lowercase", "strip_accents", "token_pattern", "binary", "sublinear_tf", "norm"}
KINDS = {"word": "word", "char": "char_wb"}  # block kind -> TfidfVectorizer analyzer


def _expit(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x), the formula of scipy.special.expit: importing scipy.special costs ~0.07 s of a cold start."""
    with np.errstate(over="ignore"):  # e^-x overflows to inf for x < -709: the probability is 0, as expit's
        return 1.0 / (1.0 + np.exp(-x))


@dataclass(eq=False)
class Block:
    """One fitted TF-IDF vectoriser: its terms by column, idf (or none), and how it reads text. Its counter
    (the vocabulary's index and the per-token cache) is built here, once, before any thread shares it."""
    kind: str  # "word" or "char" (char_wb)
    terms: list[str]
    idf: np.ndarray | None
    settings: dict  # the SETTINGS keys
    counter: object = field(init=False, repr=False)

    def __post_init__(self):
        s = self.settings
        if self.kind not in KINDS or set(s) != SETTINGS:
            raise ValueError(f"a {self.kind!r} block with settings {sorted(s)} is not one of ours")
        if self.idf is not None and len(self.idf) != len(self.terms):
            raise ValueError(f"{len(self.terms)} terms but {len(self.idf)} idf values")
        preprocess = ngrams.preprocessor(s["lowercase"], s["strip_accents"])
        vocabulary = dict(zip(self.terms, range(len(self.terms))))
        if self.kind == "word":
            self.counter = ngrams.WordCounter(vocabulary, ngrams.word_analyser(preprocess,
                                                                              ngrams.tokenizer(s["token_pattern"])))
        else:
            self.counter = ngrams.CharCounter(vocabulary, ngrams.char_analyser(
                preprocess, ngrams.char_wb_ngrams(tuple(s["ngram_range"]))))

    def preload(self, tokens: list[str], rows: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """Keep these whitespace tokens' analysis (`rows`, else analysed here) in the counter's cache; rows
        from a file must fit the tokens and the vocabulary (ValueError)."""
        cache = self.counter.cache
        indptr, indices = rows if rows is not None else cache.rows(tokens)
        bound = getattr(self.counter, "radix", self.counter.width)  # word ids, or columns
        if len(set(tokens)) != len(tokens) or any(a.ndim != 1 or a.dtype.kind not in "iu" for a in (indptr, indices)) \
                or len(indptr) != len(tokens) + 1 or indptr[0] != 0 or indptr[-1] != len(indices) \
                or (np.diff(indptr) < 0).any() or (len(indices) and not 0 <= indices.min() <= indices.max() < bound):
            raise ValueError(f"preloaded rows do not fit {len(tokens)} distinct tokens and a {self.kind} vocabulary")
        cache.preload(tokens, indptr.astype(np.int64, copy=False), indices.astype(np.int64, copy=False))

    def transform(self, tokens: ngrams.Tokens) -> sp.csr_matrix:
        """TfidfVectorizer.transform: counts, then (binary,) sublinear tf, idf and the row norm."""
        s = self.settings
        found = self.counter(tokens, np.float64)
        data = found.data
        if s["binary"]:
            data.fill(1)
        if s["sublinear_tf"]:
            np.log(data, data)
            data += 1.0
        if self.idf is not None:
            data *= self.idf[found.indices]
        if s["norm"] == "l2":  # row by row, in storage order: sklearn's inplace_csr_row_normalize_l2
            rows = np.repeat(np.arange(found.shape[0]), np.diff(found.indptr))
            norms = np.sqrt(np.bincount(rows, weights=data * data, minlength=found.shape[0]))
            data /= np.where(norms == 0, 1.0, norms)[rows]
        return found


@dataclass(eq=False)
class PieceBlock(Block):
    """The static-embedding block, as word-piece columns: a piece's value is its count x weight / |the sum of
    the paragraph's piece vectors|, and its weights are its vector times the classifier's weights for the
    embedding's dimensions. x . weights is then the embedding's contribution exactly, explanations name the
    word pieces that carried it, and scoring adds no dense matrix product of the classifier's."""
    vectors: np.ndarray = None  # (pieces, dims): each term's static vector

    def __post_init__(self):
        vocabulary = dict(zip(self.terms, range(len(self.terms))))
        if self.kind != "piece" or set(self.settings) != {"weight"} or self.idf is not None \
                or self.vectors is None or self.vectors.ndim != 2 or not embedding.is_marked(vocabulary, self.vectors):
            raise ValueError(f"a {self.kind!r} block with settings {sorted(self.settings)} is not a piece block")
        self.counter = embedding.piece_counter(vocabulary)

    def transform(self, tokens: ngrams.Tokens) -> sp.csr_matrix:
        found = self.counter(tokens, np.float64)
        scale = self.settings["weight"] * embedding.meaning(found, self.vectors)[1]
        found.data *= np.repeat(scale, np.diff(found.indptr))
        return found


@dataclass(eq=False)
class Tables:
    """Feature blocks and, per signal, a mean of sigmoid-linear terms: p_j = mean over j's terms k of
    expit(scale_k * (x . weights_k + offset_k) + shift_k). A logistic regression (or SGD log-loss) is one
    term with scale 1 and shift 0; a sigmoid-calibrated SVM one term per calibration fold. `model_sha256`
    names the pickled model file they were made beside (None when made in memory)."""
    blocks: list[Block]
    weights: np.ndarray  # features x terms
    offset: np.ndarray
    scale: np.ndarray
    shift: np.ndarray
    signal: np.ndarray  # the signal each term belongs to
    model_sha256: str | None = None
    repair: bool = False  # repair texts first, as a Pipeline whose first step is `text.cleaned` (older: none)

    def __post_init__(self):
        width, terms = sum(len(b.terms) for b in self.blocks), len(self.signal)
        if self.weights.shape != (width, terms) or not len(self.offset) == len(self.scale) == len(self.shift) == terms:
            raise ValueError(f"weights {self.weights.shape} do not fit {width} features and {terms} terms")
        if terms == 0 or set(self.signal.tolist()) != set(range(self.signals)):
            raise ValueError("every signal needs at least one term")

    @property
    def tokens(self) -> list[str]:
        """The whitespace tokens preloaded in every block's cache (`from_pipeline`'s, or the file's)."""
        known = [block.counter.cache.known[0] for block in self.blocks]
        if any(k != known[0] for k in known[1:]):
            raise ValueError("the feature blocks hold different preloaded tokens")
        return known[0] if known else []

    @property
    def signals(self) -> int:
        return int(self.signal.max()) + 1

    @property
    def plain(self) -> bool:
        """One term per signal with scale 1 and shift 0: p = expit(x . w + b), no averaging."""
        return len(self.signal) == self.signals and bool((self.scale == 1).all() and (self.shift == 0).all())

    def features(self, texts: list[str], repaired: bool = False) -> list[sp.csr_matrix]:
        """Each block's tf-idf matrix for these texts (strings), repaired first where the model repairs them
        (`repaired`: they already are `text.clean`'s output), tokenised once for all blocks."""
        tokens = ngrams.whitespace_tokens(cleaned(texts) if self.repair and not repaired else texts)
        return [block.transform(tokens) for block in self.blocks]

    def proba(self, blocks: list[sp.csr_matrix]) -> np.ndarray:
        """(texts, signals) probabilities from `features`' blocks. Each block's product is summed apart (no
        stacked copy of the features); hence the last bits may differ from the Pipeline's one product."""
        margin, start = self.offset, 0
        for matrix in blocks:
            margin = matrix @ self.weights[start:start + matrix.shape[1]] + margin
            start += matrix.shape[1]
        if self.plain:
            return _expit(margin)
        terms = _expit(self.scale * margin + self.shift)
        total = np.zeros((terms.shape[0], self.signals))
        for k, j in enumerate(self.signal):  # summed in fold order, then divided: as CalibratedClassifierCV
            total[:, j] += terms[:, k]
        return total / np.bincount(self.signal, minlength=self.signals)

    def explain_weights(self) -> np.ndarray:
        """(features, signals): a signal's weights, averaged over its terms (calibration folds); the weights
        themselves when each signal has one term (no copy)."""
        if np.array_equal(self.signal, np.arange(len(self.signal))):
            return self.weights
        return np.column_stack([self.weights[:, self.signal == j].mean(axis=1) for j in range(self.signals)])

    def dumps(self) -> bytes:
        """The tables as bytes: deterministic for the same model."""
        header, arrays, tokens = {"blocks": [], "model_sha256": self.model_sha256, "repair": self.repair}, {}, self.tokens
        for i, block in enumerate(self.blocks):
            header["blocks"].append({"kind": block.kind, "settings": block.settings, "idf": block.idf is not None})
            arrays[f"terms{i}"], arrays[f"ends{i}"] = _packed(block.terms)
            if isinstance(block, PieceBlock):
                arrays[f"vectors{i}"] = block.vectors
            if block.idf is not None:
                arrays[f"idf{i}"] = block.idf
            if tokens:  # optional arrays: a reader that does not know them scores the same, only slower
                _, indptr, indices = block.counter.cache.known
                arrays[f"known_indptr{i}"] = indptr
                arrays[f"known_indices{i}"] = indices.astype(np.int32) if indices.max(initial=0) < 2**31 else indices
        if tokens:
            arrays["tokens"], arrays["token_ends"] = _packed(tokens)
        arrays.update(weights=self.weights, offset=self.offset, scale=self.scale, shift=self.shift, signal=self.signal)
        blobs, header["arrays"], at = [], {}, 0
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
            blobs.append(buffer.getvalue())
            header["arrays"][name] = [at, len(blobs[-1])]
            at += len(blobs[-1])
        head = json.dumps(header, sort_keys=True).encode()
        return b"".join([MAGIC, len(head).to_bytes(8, "little"), head, *blobs])

    @classmethod
    def loads(cls, data: bytes) -> "Tables":
        """The inverse of `dumps`, checked for shape; raises (ValueError, KeyError, zlib.error) otherwise."""
        if data.startswith((MAGIC, UNREPAIRED)):
            body = memoryview(data)[len(MAGIC):]
        elif data.startswith(COMPRESSED):
            body = memoryview(zlib.decompress(data[len(COMPRESSED):]))
        else:
            raise ValueError("not a scoring-tables file")
        size = int.from_bytes(body[:8], "little")
        header, blobs = json.loads(bytes(body[8:8 + size])), body[8 + size:]

        def array(name):
            at, length = header["arrays"][name]
            return np.load(io.BytesIO(blobs[at:at + length]), allow_pickle=False)

        blocks = [PieceBlock("piece", _unpacked(array(f"terms{i}"), array(f"ends{i}")), None, spec["settings"],
                             array(f"vectors{i}")) if spec["kind"] == "piece" else
                  Block(spec["kind"], _unpacked(array(f"terms{i}"), array(f"ends{i}")),
                        array(f"idf{i}") if spec["idf"] else None, spec["settings"])
                  for i, spec in enumerate(header["blocks"])]
        tokens = _unpacked(array("tokens"), array("token_ends")) if "tokens" in header["arrays"] else []
        for i, block in enumerate(blocks if tokens else ()):
            block.preload(tokens, (array(f"known_indptr{i}"), array(f"known_indices{i}")))
        return cls(blocks, *(array(name) for name in ("weights", "offset", "scale", "shift", "signal")),
                   model_sha256=header["model_sha256"], repair=header.get("repair", False))


def _packed(strings: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Strings as one UTF-8 byte array and each one's end (in characters)."""
    return (np.frombuffer("".join(strings).encode("utf-8", "surrogatepass"), np.uint8),
            np.cumsum([len(t) for t in strings], dtype=np.int64))


def _unpacked(data: np.ndarray, ends: np.ndarray) -> list[str]:
    text, ends = data.tobytes().decode("utf-8", "surrogatepass"), ends.tolist()
    return [text[a:b] for a, b in zip([0, *ends[:-1]], ends)]


def _block(vectorizer) -> Block:
    """A fitted TfidfVectorizer (our WordCached* subclasses included) as a Block, or our StaticEmbedding as a
    PieceBlock; ValueError for anything the Block would not reproduce exactly. Transforming uses the settings
    of its fitted `_tfidf`."""
    from pipeline.features import StaticEmbedding

    if isinstance(vectorizer, StaticEmbedding):
        return PieceBlock("piece", ngrams.terms_by_column(vectorizer.vocabulary_), None,
                          {"weight": float(vectorizer.weight)}, np.asarray(vectorizer.vectors_))
    tfidf = vectorizer._tfidf
    kind = next((k for k, analyzer in KINDS.items() if analyzer == vectorizer.analyzer), None)
    if kind is None or vectorizer.input != "content" or vectorizer.preprocessor or vectorizer.tokenizer \
            or vectorizer.stop_words or vectorizer.vocabulary is not None \
            or vectorizer.strip_accents not in (None, "unicode") or tfidf.norm not in (None, "l2") \
            or np.dtype(vectorizer.dtype) != np.float64:
        raise ValueError(f"{type(vectorizer).__name__} with these settings cannot be exported to scoring tables")
    terms = ngrams.terms_by_column(vectorizer.vocabulary_)
    if terms is None:
        raise ValueError(f"{type(vectorizer).__name__}'s vocabulary does not number its columns 0..n-1")
    settings = {"ngram_range": list(vectorizer.ngram_range), "lowercase": bool(vectorizer.lowercase),
                "strip_accents": vectorizer.strip_accents, "token_pattern": vectorizer.token_pattern,
                "binary": bool(vectorizer.binary), "sublinear_tf": bool(tfidf.sublinear_tf), "norm": tfidf.norm}
    return Block(kind, terms, tfidf.idf_ if tfidf.use_idf else None, settings)


def _terms(estimator, width: int) -> list[tuple[np.ndarray, float, float, float]]:
    """A fitted binary classifier as (weights, offset, scale, shift) sigmoid-linear terms."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression, SGDClassifier
    from sklearn.multiclass import _ConstantPredictor

    if isinstance(estimator, (LogisticRegression, SGDClassifier)) and estimator.coef_.shape[0] == 1 \
            and (not isinstance(estimator, SGDClassifier) or estimator.loss == "log_loss"):
        return [(estimator.coef_.ravel(), float(estimator.intercept_[0]), 1.0, 0.0)]
    if isinstance(estimator, CalibratedClassifierCV) and estimator.method == "sigmoid":
        # each fold: expit(-(a * decision + b)), the decision linear (LinearSVC)
        return [(c.estimator.coef_.ravel(), float(c.estimator.intercept_[0]), -float(c.calibrators[0].a_),
                 -float(c.calibrators[0].b_)) for c in estimator.calibrated_classifiers_]
    if isinstance(estimator, _ConstantPredictor):  # a signal with one class in training
        return [(np.zeros(width), 0.0, 0.0, np.inf if estimator.y_ else -np.inf)]
    raise ValueError(f"a {type(estimator).__name__} cannot be exported to scoring tables")


def from_pipeline(model, model_sha256: str | None = None, tokens: list[str] = ()) -> Tables:
    """The scoring tables of a fitted `pipeline.model.build` Pipeline (multi-label one-vs-rest), with these
    whitespace tokens (`ngrams.frequent_tokens` of the training text) analysed in advance."""
    union, classify = model.named_steps["features"], model.named_steps["classify"]
    if union.transformer_weights or not classify.multilabel_:
        raise ValueError("only unweighted feature blocks and multi-label one-vs-rest can be exported")
    blocks = [_block(vectorizer) for _, vectorizer in union.transformer_list]
    # The classifier's columns per block: a piece block's are the embedding's dimensions, which its vectors
    # turn into per-piece weights.
    widths = [b.vectors.shape[1] if isinstance(b, PieceBlock) else len(b.terms) for b in blocks]
    starts = np.cumsum([0, *widths])

    def per_term(weights: np.ndarray) -> np.ndarray:
        return np.concatenate([b.vectors.astype(np.float64) @ weights[a:z] if isinstance(b, PieceBlock)
                               else weights[a:z] for b, a, z in zip(blocks, starts[:-1], starts[1:])])
    columns, offset, scale, shift, signal = [], [], [], [], []
    for j, estimator in enumerate(classify.estimators_):
        for weights, b, a, s in _terms(estimator, int(starts[-1])):
            columns.append(per_term(weights))
            offset.append(b), scale.append(a), shift.append(s), signal.append(j)
    tokens = list(tokens)  # one list, held by every block (`Tables.tokens` compares them)
    for block in blocks if tokens else ():
        block.preload(tokens)
    return Tables(blocks, np.column_stack(columns), np.array(offset), np.array(scale), np.array(shift),
                  np.array(signal, dtype=np.int64), model_sha256, repair=_repairs(model))


def _repairs(model) -> bool:
    """Whether the Pipeline's first step is `text.cleaned` (older models': np.ravel or none, which repair nothing)."""
    step = model.named_steps.get("text")
    if step is None:
        return False
    func = getattr(step, "func", None)
    if func is cleaned:
        return True
    if func is np.ravel:
        return False
    raise ValueError(f"the tables cannot reproduce the first step {step!r}")
