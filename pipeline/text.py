"""Text repair shared by training and scoring: mojibake, quotes, Unicode form, glued sentences."""
from __future__ import annotations

import functools
import re

import ftfy

_FTFY = ftfy.TextFixerConfig(normalization="NFKC", uncurl_quotes=True)
# "projects.Rare Earth": a sentence end glued to the next sentence's capitalised word.
_GLUED = re.compile(r"(?<=[a-z]{2}[.!?])(?=[A-Z][a-z])")
# Link annotations that page scrapes leave inside sentences. `(?<!\s)` starts a match only at the start of a
# run of spaces (where the leftmost match starts anyway), so a long run is not rescanned from each space.
_INLINE_FURNITURE = re.compile(r"(?<!\s)\s*\((?:opens|open) in a new (?:tab|window)\)", re.IGNORECASE)
_SPACE = re.compile(r"\s+")


def clean(text: str) -> str:
    """Repair one line or paragraph of text; idempotent."""
    return _clean_short(text) if len(text) <= 200 else _clean(text)


@functools.lru_cache(maxsize=1 << 14)
def _clean_short(text: str) -> str:
    """Short lines repeat (headings, furniture, files of one-character lines): repair each once."""
    return _clean(text)


def _clean(text: str) -> str:
    text = ftfy.fix_text(text, config=_FTFY)
    text = _INLINE_FURNITURE.sub("", text)
    text = _GLUED.sub(" ", text)
    return _SPACE.sub(" ", text).strip()
