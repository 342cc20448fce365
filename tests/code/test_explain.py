"""Explanations: the top contributions of a flagged signal, found without sorting every term."""
import numpy as np

from pipeline.explain import _top


def test_top_contributions_match_a_full_stable_sort():
    rng = np.random.default_rng(0)
    for _ in range(500):
        values = rng.choice([-1.0, 0.0, 0.5, 1.0, 2.0, 3.0], size=rng.integers(0, 30))  # many ties
        for k in (1, 3, 5):
            full = [o for o in np.argsort(-values, kind="stable")[:k] if values[o] > 0]
            assert _top(values, k).tolist() == full
