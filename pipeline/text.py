"""Text repair shared by training and scoring: mojibake, quotes, Unicode form, glued sentences, Chinese forms.

NFKC turns full-width punctuation into its ASCII form (，→ ,  ：→ :), so English and Chinese text share one
set of punctuation; Traditional Chinese is converted to Simplified (OpenCC) so one model reads both.
"""
from __future__ import annotations

import re

import ftfy

_FTFY = ftfy.TextFixerConfig(normalization="NFKC", uncurl_quotes=True)
# "projects.Rare Earth": a sentence end glued to the next sentence's capitalised word.
_GLUED = re.compile(r"(?<=[a-z]{2}[.!?])(?=[A-Z][a-z])")
# Link annotations that page scrapes leave inside sentences.
_INLINE_FURNITURE = re.compile(r"\s*\((?:opens|open) in a new (?:tab|window)\)", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# Mirror sites annotate characters with pinyin: 會(huì)議 -> 會議. A tone mark or tone digit marks pinyin.
_PINYIN = re.compile(r"(?<=[\u3400-\u9fff])\((?=[a-zü]*[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ1-5])[a-zāáǎàēéěèīíǐìōóǒòūúǔùüǖǘǚǜ]{1,6}[1-5]?\)")
_T2S = None


def simplified(text: str) -> str:
    """Traditional Chinese characters converted to Simplified (OpenCC t2s); other text unchanged."""
    global _T2S
    if not CJK.search(text):
        return text
    if _T2S is None:
        import opencc

        _T2S = opencc.OpenCC("t2s")
    return _T2S.convert(text)


def clean(text: str) -> str:
    """Repair one line or paragraph of text; idempotent."""
    text = ftfy.fix_text(text, config=_FTFY)
    text = simplified(_PINYIN.sub("", text))
    text = _INLINE_FURNITURE.sub("", text)
    text = _GLUED.sub(" ", text)
    return _SPACE.sub(" ", text).strip()
