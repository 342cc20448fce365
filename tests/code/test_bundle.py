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
