"""params.yaml validation: every wrong type or range is refused with the key named."""
import re

import pytest
import yaml

from pipeline.config import InputError, load_params
from tests.conftest import PARAMS


def with_change(tmp_path, dotted: str, value):
    tree = yaml.safe_load(PARAMS.read_text())
    node = tree
    *parents, leaf = dotted.split(".")
    for key in parents:
        node = node[key]
    node[leaf] = value
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(tree))
    return path


def test_bundled_params_are_valid():
    assert load_params(PARAMS)["train"]["classifier"] in {"logreg", "svm", "sgd"}


@pytest.mark.parametrize("key, value, expected", [
    ("train.C", "high", "must be a number > 0, got 'high'"),
    ("train.C", 0, "must be a number > 0, got 0"),
    ("train.cv_folds", 1, "must be an integer >= 2 and <= 20, got 1"),
    ("train.cv_folds", 2.5, "must be an integer >= 2 and <= 20, got 2.5"),
    ("train.char_ngrams", "yes", "must be true or false, got 'yes'"),
    ("train.classifier", "forest", "must be one of logreg, svm, sgd, got 'forest'"),
    ("seed", -1, "must be an integer >= 0 and <= 4294967295, got -1"),
    ("seed", 2**32, "must be an integer >= 0 and <= 4294967295, got 4294967296"),
    ("train.C", float("nan"), "must be a number > 0, got nan"),
    ("train.C", float("inf"), "must be a number > 0, got inf"),
    ("evaluate.real_text", {"dev": {"path": "x.jsonl"}},
     "must be a non-empty string, got {'path': 'x.jsonl'}"),
    ("evaluate.real_text", {"dev": ""}, "must be a non-empty string, got ''"),
    ("evaluate.real_text", "x.jsonl", "must be a mapping of name -> a non-empty string, got 'x.jsonl'"),
    ("evaluate.errors_per_signal", True, "must be an integer >= 0, got True"),
    ("train.max_iter", 2**31, "must be an integer >= 10 and <= 2147483647, got 2147483648"),
    ("train.nb_smoothing", -0.1, "must be a number >= 0, got -0.1"),
    ("train.nb_smoothing", float("inf"), "must be a number >= 0, got inf"),
])
def test_bad_values_name_the_key(tmp_path, key, value, expected):
    path = with_change(tmp_path, key, value)
    named = f"{key}.{next(iter(value))}" if isinstance(value, dict) else key  # a gold set's own name
    with pytest.raises(InputError, match=re.escape(f"{path}: param '{named}' {expected}")):
        load_params(path)


@pytest.mark.parametrize("name", ["dev_zh(2026)", "my desk", "dev.zh", "", 2026])
def test_a_gold_set_name_mlflow_would_refuse_is_refused_here(tmp_path, name):
    """MLflow refuses the whole batch of a run's params for one bad name, which would leave the run unlogged
    and the model unregistered behind a warning."""
    path = with_change(tmp_path, "evaluate.real_text", {name: "../shared/eval/real_dev.jsonl"})
    with pytest.raises(InputError, match=re.escape(f"{path}: param 'evaluate.real_text' entry name {name!r} may use "
                                                   "only letters, digits, '_' and '-'")):
        load_params(path)
    assert load_params(with_change(tmp_path, "evaluate.real_text", {"desk-2026_v2": "x.csv"}))


def test_blank_real_text_means_no_gold_sets(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(re.sub(r"(?ms)^  real_text:.*?(?=^\S)", "  real_text:\n\n", PARAMS.read_text()))
    assert load_params(path)["evaluate"]["real_text"] == {}


def test_unknown_and_inconsistent_keys(tmp_path):
    with pytest.raises(InputError, match="unknown param 'train.learning_rate'"):
        load_params(with_change(tmp_path, "train.learning_rate", 0.1))
    path = with_change(tmp_path, "train.char_ngram_min", 6)
    with pytest.raises(InputError, match="'train.char_ngram_min' must be <= 'train.char_ngram_max'"):
        load_params(path)


def test_unparseable_params_file(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("train: [unclosed\n")
    with pytest.raises(InputError, match=re.escape(f"{path}: cannot read params")):
        load_params(path)


def test_a_key_given_twice_is_refused_with_its_line(tmp_path):
    """Plain YAML keeps the last of two `C:` lines silently; an experiment would run with the wrong one."""
    path = tmp_path / "params.yaml"
    text = PARAMS.read_text()
    line = next(i for i, row in enumerate(text.splitlines(), start=1) if row.strip().startswith("C:"))
    path.write_text(text.replace("\n  C:", "\n  C: 1.0\n  C:", 1))
    with pytest.raises(InputError, match=re.escape(f"{path}: duplicate key 'C' (line {line + 1})")):
        load_params(path)


def test_a_whole_number_and_its_float_are_one_setting(tmp_path):
    """`C: 4` and `C: 4.0` fit the same model; read as they are written, the saved estimator's C would be an int
    in one and a float in the other: other model bytes, a second registry version of the same model."""
    (tmp_path / "whole").mkdir(), (tmp_path / "real").mkdir()
    whole = load_params(with_change(tmp_path / "whole", "train.C", 4))
    real = load_params(with_change(tmp_path / "real", "train.C", 4.0))
    assert repr(whole) == repr(real) and type(whole["train"]["C"]) is float
    assert type(load_params(with_change(tmp_path, "train.embedding_weight", 0))["train"]["embedding_weight"]) is float
    assert type(whole["train"]["cv_folds"]) is int


@pytest.mark.parametrize("section, value, expected", [
    ("register", None, "missing param 'register.allow_worse'"),
    ("train", 5, "params section 'train' must be a mapping of its keys, got 5"),
    ("evaluate", ["cv_folds"], "params section 'evaluate' must be a mapping of its keys, got ['cv_folds']"),
])
def test_a_blank_or_scalar_section_is_named(tmp_path, section, value, expected):
    """A section left blank (`register:` with its keys commented out) was reported as an unknown param."""
    with pytest.raises(InputError, match=re.escape(f"params.yaml: {expected}")):
        load_params(with_change(tmp_path, section, value))
