"""The optional embedding block: pinned MiniLM vectors, WordPiece split per whitespace token, a unit-length
meaning, and a model with it that scores the same from its tables and names its word pieces."""

import numpy as np
import pytest
from tokenizers import Tokenizer

from pipeline import embedding, model
from pipeline.config import InputError, load_params
from pipeline.corpus.labels import training_rows
from pipeline.features import StaticEmbedding
from pipeline.scoring.explain import FeatureNames, parse
from pipeline.stages import validate
from pipeline.tables import from_pipeline
from pipeline.text import CJK
from tests.code.test_tables import ODD, _same_as_pipeline
from tests.conftest import ARTICLES, LABELS, PARAMS, RULES


def _english_paragraphs() -> list[str]:
    texts = [p for path in sorted((ARTICLES / "seeds").iterdir()) for p in path.read_text(encoding="utf-8").split("\n\n")]
    return [t for t in texts if t.strip()]


def test_the_vectors_come_from_the_pinned_files_and_are_the_same_every_time():
    vocabulary, vectors = embedding.static_vectors(128)
    assert len(vocabulary) == vectors.shape[0] == 30522 and vectors.shape[1] == 128 and vectors.dtype == np.float32
    again = embedding.static_vectors.__wrapped__(128)  # computed afresh, not the cached arrays
    assert again[0] == vocabulary and again[1].tobytes() == vectors.tobytes()
    assert not vectors.flags.writeable  # shared by every model fitted in the process


def test_a_file_that_is_not_the_pinned_one_is_refused(monkeypatch):
    monkeypatch.setattr(embedding, "PINNED", {**embedding.PINNED, "model/vocab.txt": "0" * 64})
    with pytest.raises(InputError, match=r"vocab\.txt: SHA-256 [0-9a-f]{16}\.\.\. is not the pinned 0{16}"):
        embedding.static_vectors.__wrapped__(16)
    monkeypatch.setattr(embedding, "PACKAGE", "no_such_embedding_package")
    with pytest.raises(InputError, match=r"no_such_embedding_package: not installed; .*requirements-embedding\.txt"):
        embedding.static_vectors.__wrapped__(16)


def test_validate_refuses_the_block_without_its_pinned_package(monkeypatch, tmp_path):
    """Before DVC removes any stage's outputs: `validate` names the missing package and what installs it."""
    params = tmp_path / "params.yaml"
    params.write_text(PARAMS.read_text().replace("embedding_weight: 0 ", "embedding_weight: 0.5 "))
    monkeypatch.setattr(embedding, "PACKAGE", "no_such_embedding_package")
    out = tmp_path / "validated.json"
    with pytest.raises(InputError, match="no_such_embedding_package: not installed; .*requirements-embedding"):
        validate.main(["--params", str(params), "--articles", str(ARTICLES), "--labels", str(LABELS),
                       "--rules", str(RULES), "--out", str(out)])
    assert not out.exists()


def test_pieces_per_whitespace_token_are_the_model_tokenizers_pieces_of_the_whole_text():
    """The bundled articles split token by token (as the per-token cache does) give exactly the pieces the
    MiniLM package's own tokenizer gives the whole paragraph, unknown pieces left out; a token with Chinese
    characters is marked instead (the seeds quote a few)."""
    analyse = embedding.piece_analyser(embedding.marked(*embedding.static_vectors(128))[0])
    reference = Tokenizer.from_file(str(embedding.folder() / "model/tokenizer.json"))
    reference.no_truncation(), reference.no_padding()
    texts = _english_paragraphs() + ["Ｃafé naïve\u00a0x (MP Materials') 1,200t—NdPr‘s e\u0301 ﬁ", ""]
    chinese = 0
    for text in texts:
        kept = [token for token in text.split() if not CJK.search(token)]
        chinese += len(text.split()) - len(kept)
        whole = [p for p in reference.encode(" ".join(kept), add_special_tokens=False).tokens if p != embedding.UNKNOWN]
        assert [p for token in kept for p in analyse(token)] == whole, text
    assert chinese > 0 and analyse("（包钢）") == analyse("Baogang包钢") == analyse("𠀀𠀁") == [embedding.CHINESE]
    assert analyse("ore\udcffbody") == analyse("ore body") == ["ore", "body"]  # a lone surrogate is a space


def test_english_meaning_has_the_weights_length_and_chinese_text_has_none():
    texts = ["MOFCOM tightened export licences for dysprosium.", "Baotou Steel 包钢 cut output in 2024.",
             "稀土出口管制 2024", "", "   ", "MOFCOM tightened export licences for dysprosium."]
    meaning = StaticEmbedding(dims=32, weight=0.5).fit(texts).transform(texts)
    assert meaning.shape == (6, 32)
    np.testing.assert_allclose(np.linalg.norm(meaning, axis=1), [0.5, 0, 0, 0, 0, 0.5], atol=1e-12)
    assert np.array_equal(meaning[0], meaning[5])
    related = StaticEmbedding(dims=128, weight=1.0).fit([]).transform(
        ["China restricted exports of rare earths.", "Beijing curbed rare-earth shipments abroad.",
         "The Party committee held a study session."])
    assert related[0] @ related[1] > related[0] @ related[2] + 0.1  # closer in meaning, fewer shared words


@pytest.fixture(scope="module")
def meaning_model(table):
    """A small model with every kind of feature block, the (optional) embedding's included."""
    params = load_params(PARAMS)
    params["train"] = {**params["train"], "cv_folds": 3, "char_max_features": 5000, "word_max_features": 5000,
                       "embedding_weight": 0.5}
    rows = training_rows(table[0], False)
    rows = rows[rows["source"].eq("seeds") | rows["article_id"].isin(sorted(rows["article_id"].unique())[:12])]
    return model.fit(params["train"], params["seed"], rows.reset_index(drop=True))[0]


def test_the_embedding_block_scores_the_same_from_the_tables(meaning_model, table):
    texts = table[0]["text"].sample(600, random_state=1).tolist() + ODD
    _same_as_pipeline(meaning_model, texts)


def test_word_pieces_are_named_so_that_explanations_read_back(meaning_model):
    blocks = from_pipeline(meaning_model).blocks
    assert [b.kind for b in blocks] == ["word", "char", "piece"]
    names, first = FeatureNames(blocks), sum(len(b.terms) for b in blocks[:-1])
    pieces = blocks[-1].terms
    # a whole word as it is; a word's continuation (without ##) and punctuation quoted, like character n-grams
    cases = [("export", "export", "export", "word"), ("##ium", "'ium'", "ium", "char"), ("(", "'('", "(", "char"),
             ("'", "\"'\"", "'", "char")]  # piece, its name, and what `parse` reads back from the name
    for piece, name, _, _ in cases:
        assert names[first + pieces.index(piece)] == name
    text = "; ".join(f"{name} (+0.10)" for _, name, _, _ in cases)
    assert parse(text) == [(term, unit, 0.1) for _, _, term, unit in cases]
