"""Text repair shared by training and scoring: mojibake, quotes, Unicode form, glued sentences."""
from __future__ import annotations

import re

import ftfy

_FTFY = ftfy.TextFixerConfig(normalization="NFKC", uncurl_quotes=True)
# "projects.Rare Earth": a sentence end glued to the next sentence's capitalised word.
_GLUED = re.compile(r"(?<=[a-z]{2}[.!?])(?=[A-Z][a-z])")
# Link annotations that page scrapes leave inside sentences.
_INLINE_FURNITURE = re.compile(r"\s*\((?:opens|open) in a new (?:tab|window)\)", re.IGNORECASE)
_SPACE = re.compile(r"\s+")


def clean(text: str) -> str:
    """Repair one line or paragraph of text; idempotent."""
    text = ftfy.fix_text(text, config=_FTFY)
    text = _INLINE_FURNITURE.sub("", text)
    text = _GLUED.sub(" ", text)
    return _SPACE.sub(" ", text).strip()
