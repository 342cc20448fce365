"""Explanations: the top contributions of a flagged signal, found without sorting every term."""
import re

import numpy as np

from pipeline.scoring.explain import FeatureNames, _top
from pipeline.tables import from_pipeline


def test_top_contributions_match_a_full_stable_sort():
    rng = np.random.default_rng(0)
    for _ in range(500):
        values = rng.choice([-1.0, 0.0, 0.5, 1.0, 2.0, 3.0], size=rng.integers(0, 30))  # many ties
        for k in (1, 3, 5):
            full = [o for o in np.argsort(-values, kind="stable")[:k] if values[o] > 0]
            assert [p for p, _ in _top(values.copy(), k)] == full


def test_feature_names_are_the_fitted_terms_in_column_order(trained):
    fitted, _ = trained
    names, stock = FeatureNames(from_pipeline(fitted).blocks), fitted.named_steps["features"].get_feature_names_out()
    assert {n.split("__", 1)[0] for n in stock} == {"word", "char"}
    for column in [*range(0, len(stock), 97), len(stock) - 1]:
        kind, term = stock[column].split("__", 1)
        # word n-grams as written (Chinese bigrams without the space between characters), char n-grams quoted
        expected = re.sub("(?<=[\u3400-\u9fff]) (?=[\u3400-\u9fff])", "", term) if kind == "word" else repr(term)
        assert names[column] == expected
