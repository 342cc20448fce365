"""The bundle's model file: a compressed standard pickle (fast to load, and joblib reads it too); a
bundle saved by joblib, as before, still loads."""
import pickle
import shutil
import zlib

import joblib
import numpy as np
import pytest

from pipeline import bundle
from pipeline.config import InputError
from tests.conftest import rehash

TEXTS = ["MOFCOM tightened export licences for terbium.", "The Party committee held a study session."]


def test_the_model_file_is_a_compressed_pickle_that_joblib_reads_too(small_bundle):
    directory, _ = small_bundle
    fitted, _ = bundle.load(directory)
    raw = (directory / bundle.MODEL).read_bytes()
    for loaded in (pickle.loads(zlib.decompress(raw)), joblib.load(directory / bundle.MODEL)):
        assert np.array_equal(loaded.predict_proba(TEXTS), fitted.predict_proba(TEXTS))


def test_a_bundle_saved_by_joblib_still_loads(small_bundle, tmp_path):
    directory, _ = small_bundle
    fitted, _ = bundle.load(directory)
    old = tmp_path / "old"
    shutil.copytree(directory, old)
    joblib.dump(fitted, old / bundle.MODEL, compress=3)
    rehash(old)
    loaded, _ = bundle.load(old)
    assert np.array_equal(loaded.predict_proba(TEXTS), fitted.predict_proba(TEXTS))


def test_a_truncated_model_file_with_a_matching_hash_is_refused_in_one_line(small_bundle, tmp_path):
    """Scoring refuses it through its tables (they name another model file); loading the Pipeline, here."""
    copy = tmp_path / "cut"
    shutil.copytree(small_bundle[0], copy)
    (copy / bundle.MODEL).write_bytes((copy / bundle.MODEL).read_bytes()[:5000])
    rehash(copy)
    with pytest.raises(InputError, match="model.joblib: cannot load the model"):
        bundle.load(copy)


def test_the_readme_python_example_flags_as_score_texts_does(model_dir, tmp_path, monkeypatch):
    """The README's bundle example, run as written (beside a `models` folder), gives each text the flags
    `score_texts` gives: its Chinese text at the Chinese thresholds, not the English ones."""
    import re

    from pipeline.scoring.scorer import score_texts
    from pipeline.signals import SIGNALS
    from tests.conftest import REPO

    readme = REPO.joinpath("README.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(from pipeline import bundle.*?)```", readme, re.DOTALL).group(1)
    (tmp_path / "models").symlink_to(model_dir)
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(code, scope)
    expected = score_texts(scope["texts"], model="models")[list(SIGNALS)].to_numpy()
    assert any("\u4e00" <= ch <= "\u9fff" for text in scope["texts"] for ch in text)
    np.testing.assert_array_equal(scope["flagged"], expected)
    # Chinese read through the wrong code page: the raw text's language was French or Italian, the repaired one's zh
    garbled = "包钢集团党委召开理论学习中心组学习会议。".encode().decode("cp1252", errors="replace")
    scope = {}
    exec(code.replace("texts = [", f"texts = [{garbled!r}, "), scope)
    expected = score_texts(scope["texts"], model="models")[list(SIGNALS)].to_numpy()
    np.testing.assert_array_equal(scope["flagged"], expected)
