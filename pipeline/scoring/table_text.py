"""Strict text fields of tables: a JSONL, Parquet or CSV `text` value must be a string.

A number, list or null in the text column is a fault in the data (a wrong column, a broken export), not
text: it is refused with its row number unless the user asks for it to be scored as text (--coerce-text).
"""
from __future__ import annotations

import math
import numbers

import numpy as np
import pandas as pd

from pipeline.config import InputError


def _null(value) -> bool:
    return value is None or value is pd.NA or isinstance(value, float) and math.isnan(value)


def _describe(value) -> str:
    if _null(value):
        return "null (or missing)"
    if isinstance(value, (bool, np.bool_)):
        return f"a boolean ({value})"
    if isinstance(value, numbers.Number):
        return f"a number ({value})"
    if isinstance(value, (list, tuple, np.ndarray)):
        return "a list"
    return "an object" if isinstance(value, dict) else f"a {type(value).__name__}"


def _as_text(value) -> str:
    if _null(value):
        return ""
    if isinstance(value, (list, tuple, np.ndarray)):
        return " ".join(map(_as_text, value))
    if isinstance(value, float) and value.is_integer():  # a JSON 2026 read into a column of floats
        return str(int(value))
    return str(value)


class BadValue(InputError):
    """A text value that is not a string; `index` is its position in the chunk (the rows before it are good)."""

    def __init__(self, path, problem: str, index: int):
        super().__init__(path, problem)
        self.index = index


def strings(values: pd.Series, path, start: int, column: str, coerce: bool) -> np.ndarray:
    """A chunk's text column (rows `start`+1...) as strings. A value that is not a string (a number, list or
    null) is refused with its row number (BadValue), or, with `coerce` (--coerce-text), written as text (null
    as empty)."""
    texts = values.to_numpy(dtype=object, copy=True)
    for i, value in enumerate(texts):
        if not isinstance(value, str):
            if not coerce:
                raise BadValue(path, f"row {start + i + 1}: '{column}' is {_describe(value)}, not text "
                                     "(fix the table, or pass --coerce-text to score such values as text)", i)
            texts[i] = _as_text(value)
    return texts
