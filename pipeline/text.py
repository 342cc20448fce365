"""Text repair shared by training and scoring: mojibake, quotes, Unicode form, glued sentences, Chinese forms.

NFKC turns full-width punctuation into its ASCII form (，→ ,  ：→ :), so English and Chinese text share one
set of punctuation; Traditional Chinese is converted to Simplified (OpenCC) so one model reads both.
"""
from __future__ import annotations

import functools
import re
import unicodedata


@functools.cache
def _ftfy_config():
    """ftfy and its settings, imported on first need (30 ms of every start that needs none)."""
    import ftfy

    return ftfy, ftfy.TextFixerConfig(normalization="NFKC", uncurl_quotes=True)


# "projects.Rare Earth": a sentence end glued to the next sentence's capitalised word. The pattern starts at
# the punctuation mark, so the engine skips straight to candidates instead of testing every position.
_GLUED = re.compile(r"[.!?](?<=[a-z]{2}[.!?])(?=[A-Z][a-z])")
# Link annotations that page scrapes leave inside sentences. `(?<!\s)` starts a match only at the start of a
# run of spaces (where the leftmost match starts anyway), so a long run is not rescanned from each space.
_INLINE_FURNITURE = re.compile(r"(?<!\s)\s*\((?:opens|open) in a new (?:tab|window)\)", re.IGNORECASE)
# A front-matter block: `---` lines fencing YAML at the very top of a text or Markdown file.
FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)


def markdown_text(text: str) -> str:
    """A Markdown file's text with its headings' `#` markers dropped (a front-matter block keeps its lines), so
    a heading reads as the title or heading line it is, not as "# Baotou plant upgrade"; its tables as rows."""
    fence = FRONT_MATTER.match(text)
    head = fence.end() if fence else 0
    return text[:head] + table_rows(_HEADING.sub(r"\1", text[head:]))


_TABLE_LINE = re.compile(r"^[ \t]*\|.*\|[ \t]*\r?$")
_TABLE_RULE = re.compile(r"^[ \t]*\|(?:[ \t]*:?-{3,}:?[ \t]*\|)+[ \t]*\r?$")
_CELL_BAR = re.compile(r"(?<!\\)\|")


def layout_table(text: str) -> bool:
    """Whether a text with pipe tables (trafilatura's) has a row of one cell: a page laid out in a table."""
    return any(len(_CELL_BAR.split(line.strip())) <= 3 for line in text.split("\n") if _TABLE_LINE.match(line))


def table_rows(text: str) -> str:
    """Markdown pipe tables (a Markdown file's, or a web page's as trafilatura writes them) as one paragraph per
    data row, its cells read as a sentence ("Export licences: exporters of ...; ..."); the header row and the
    rule under it are dropped. A table was one paragraph of bars and dashes, or one per line with them."""
    if "|" not in text:
        return text
    lines = text.split("\n")
    if not any(_TABLE_RULE.match(line) for line in lines):
        return text
    spaced = any(not line.strip() for line in lines)  # paragraphs end at blank lines: rows need them too
    out, i = [], 0
    while i < len(lines):
        end = i
        while end < len(lines) and _TABLE_LINE.match(lines[end]):
            end += 1
        block = lines[i:end]
        rule = next((k for k, line in enumerate(block) if _TABLE_RULE.match(line)), None)
        if rule is None:  # no table: the line as it is
            out.append(lines[i])
            i += 1
            continue
        for row in block[rule + 1:]:
            cells = [c.strip().replace("\\|", "|") for c in _CELL_BAR.split(row.strip())[1:-1]]
            cells = [c for c in cells if c]
            if cells:
                line = cells[0] + (": " + "; ".join(cells[1:]) if len(cells) > 1 else "")
                out += ["", line, ""] if spaced else [line]
        i = end
    return "\n".join(out)


# The Han characters the model reads as word tokens of one character each (`pipeline.model.TOKEN_PATTERN`), as a
# character-class body; the report marks explaining n-grams by the same class.
TOKEN_HAN = "\u3400-\u9fff\uf900-\ufaff"
CJK = re.compile(f"[{TOKEN_HAN}\U00020000-\U0003134f]")  # Han, with the supplementary planes
# Mirror sites annotate characters with pinyin: 會(huì)議 -> 會議. A tone mark or tone digit marks pinyin.
_PINYIN = re.compile(f"(?<=[{TOKEN_HAN}])" + r"\((?=[a-zü]*[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ1-5])[a-zāáǎàēéěèīíǐìōóǒòūúǔùüǖǘǚǜ]{1,6}[1-5]?\)")
_T2S = None
# Text made only of these characters, with no HTML entity, comes out of ftfy as NFKC with uncurled quotes and
# nothing else (a property test checks this against ftfy): most paragraphs are such text, and ftfy costs ~100 µs
# each. An ampersand alone ("R&D", "S&P") is plain: ftfy changes only entities ("&amp;"), found by its pattern.
_PLAIN = re.compile("[^\t\n\x20-\x7e\u2018\u2019\u201c\u201d\u2013\u2014\u2026\u00a0\u00b7"
                    "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff01-\uff5e]")
_ENTITY = re.compile(r"&#?[0-9A-Za-z]{1,24};")  # ftfy.chardata.HTML_ENTITY_RE


def _continuation_chars() -> dict[str, str]:
    """Each character that stands for a continuation byte 0x80-0xBF in Windows-874 (else 1252, else Latin-1)
    -> the character E2 80 <that byte> is in UTF-8."""
    found = {}
    for byte in range(0x80, 0xC0):
        for codec in ("cp874", "cp1252", "latin-1"):
            try:
                found.setdefault(bytes([byte]).decode(codec), bytes([0xE2, 0x80, byte]).decode("utf-8"))
                break
            except UnicodeDecodeError:
                continue
    return found


# UTF-8 punctuation (bytes E2 80 xx: quotes, dashes, bullets) read as the Windows Thai code page, as some
# scraped pages carry it: "Baogangโ€™s". ftfy does not undo this one. "โ€" then a character that stands for a
# continuation byte is never Thai; the byte a page dropped (0x9D, undefined in both code pages) is "”".
_THAI_BYTES = _continuation_chars()
_THAI_MOJIBAKE = re.compile("\u0e42\u20ac([" + re.escape("".join(_THAI_BYTES)) + "])?")
# Read as TIS-620 instead, which has no characters for 0x80-0xA0, a page keeps those bytes as control characters
# or, more often, loses them: UTF-8 punctuation (E2 xx yy) then shows as "โ" and two controls, or as a lone "โ"
# ("Baotouโs", "2019โ2020"), and a no-break space (C2 A0) as "ย" glued to what precedes it. In Thai, "โ" always
# stands before a consonant and both stand among Thai letters, so only a "โ" before no consonant, or glued "ย",
# whose nearest letters or digits on both sides (spaces and punctuation skipped) are not Thai, is read back; which
# mark a lone "โ" was (a quote, an apostrophe, a dash) is read from its neighbours. Punctuation whose last byte is a
# Thai letter in TIS-620 ("…" as "โฆ") is left: Thai words begin so too.
_THAI_LOST = re.compile("\u0e42(?P<kept>[\x80-\x9f]{2})?(?![\u0e01-\u0e2e])|\u0e22+")
_THAI_LETTERS = re.compile("[\u0e01-\u0e21\u0e23-\u0e41\u0e43-\u0e7f]")  # Thai, less the two mojibake leaves
_CURRENCY = ("$", "\u20ac", "\u00a3", "\u00a5")
_UNCURL = {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'}


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
    return _clean_short(text) if len(text) <= 200 else _clean(text)


def cleaned(texts) -> list[str]:
    """`clean` of every text of a list or a one-column table: the model's first step, so a text scored
    as it comes (a table row, a gold set, an API call) is read as the splitter read the training text.
    One row per text, or ValueError: a table of several columns was read as ids and texts in turn, a list
    in one cell of several as that many rows, bytes and numbers as their repr."""
    if not isinstance(texts, list):
        import numpy as np  # loaded by then: the model's features need it

        shape = getattr(texts, "shape", None)
        if shape is not None and len(shape) > 1 and any(size != 1 for size in shape[1:]):
            columns = getattr(texts, "columns", None)
            raise ValueError(f"expected one column of texts, got shape {tuple(shape)}"
                             + (f" (columns {list(columns)})" if columns is not None else ""))
        texts = np.asarray(texts, dtype=object).ravel()  # object: no fixed-width copy of the longest text
    if len(texts) == 1 and (isinstance(texts[0], (list, tuple)) or getattr(texts[0], "ndim", 0) == 1):
        return cleaned(list(texts[0]))  # MLflow's {"text": [a, b]}: one cell holding every text
    out = []
    for i, text in enumerate(texts):
        if isinstance(text, str):
            out.append(clean(text))
        elif text is None or _not_itself(text):  # None, NaN, NA: a blank cell was scored as the word "None" or "nan"
            raise ValueError(f"text {i} is missing (None or NaN), not a string")
        else:
            raise ValueError(f"text {i} is {type(text).__name__} ({text!r:.60}), not a string")
    return out


def _not_itself(value) -> bool:
    """NaN and pandas' NA: the values that are not equal to themselves (NA's comparison cannot be a bool)."""
    try:
        return bool(value != value)
    except TypeError:
        return True


@functools.lru_cache(maxsize=1 << 14)
def _clean_short(text: str) -> str:
    """Short lines repeat (headings, furniture, files of one-character lines): repair each once."""
    return _clean(text)


def _thai_byte(match: re.Match) -> str:
    return _THAI_BYTES[match.group(1)] if match.group(1) else "\u201d"


def _nearest(chars) -> str:
    """The first letter, digit or mark among `chars`, or ""."""
    return next((c for c in chars if unicodedata.category(c)[0] in "LNM"), "")


def _thai_lost(match: re.Match) -> str:
    text, start, end = match.string, match.start(), match.end()
    # within a few dozen characters each way: a scan of the whole text per match would make a long page quadratic
    if _THAI_LETTERS.search(_nearest(reversed(text[max(start - 64, 0):start])) + _nearest(text[end:end + 64])):
        return match.group()  # Thai
    if match.group("kept"):  # the bytes are all there
        return bytes([0xE2, *map(ord, match.group("kept"))]).decode("utf-8", "replace")
    if match.group()[0] == "\u0e22":  # no-break spaces, glued to what precedes them
        return " " if text[start - 1:start].strip() else match.group()
    before, after = (" " if c == "\u0e22" else c for c in (text[start - 1:start], text[end:end + 1]))
    if after in ("s", "S") and not text[end + 1:end + 2].isalpha() or \
            before in ("O", "D") and not text[start - 2:start - 1].isalpha():
        return "\u2019"  # "1990โs", "JOHNโS", "OโNeill"
    if before.isalnum() and after.isalnum():  # "2019โ2020", "USโChina": a dash; "Earthโs": an apostrophe
        return "\u2013" if before.isdigit() or after.isdigit() or after.isupper() else "\u2019"
    if before.isdigit() and after in _CURRENCY:
        return "\u2013"  # "$5โ$10"
    if before == "s" and after.isspace():
        return "\u2019"  # "workersโ rights"
    if before.isspace() and after.isspace():
        return "\u2013"
    return "\u201c" if before in ("", "(", "[") or before.isspace() else "\u201d"


def _has_entity(text: str) -> bool:
    return "&" in text and _ENTITY.search(text) is not None


def repaired(text: str) -> str:
    """ftfy's repair (mojibake, quotes, NFKC), skipped for text it would only normalise, and the Thai
    code pages' mojibake, which ftfy leaves. One pass: `clean` repeats it while it can change the text."""
    if not _has_entity(text):
        if text.isascii() and text.isprintable():
            return text  # NFKC and straight quotes leave printable ASCII as it is
        if _PLAIN.search(text) is None:
            for curly, straight in _UNCURL.items():  # str.replace: a fast scan when absent, unlike str.translate
                text = text.replace(curly, straight)
            return unicodedata.normalize("NFKC", text)
    if "\u0e42\u20ac" in text:
        text = _THAI_MOJIBAKE.sub(_thai_byte, text)
    if "\u0e42" in text or "\u0e22" in text:
        text = _THAI_LOST.sub(_thai_lost, text)
    ftfy, config = _ftfy_config()
    return ftfy.fix_text(text, config=config)


def _clean(text: str) -> str:
    """Repair passes to a fixed point, since training text is repaired twice (splitter, model): once whitespace
    is collapsed or a link note removed, ftfy may find more ("Ã\n" -> "Ã " -> "à"), and NFKC can make an
    entity of full-width forms ("＆ａｍｐ；"). Text left with only plain characters and no entity is a fixed point
    already; others take one more pass (at most four in all)."""
    for _ in range(4):
        again = _clean_pass(text)
        if again == text or _PLAIN.search(again) is None and not _has_entity(again):
            return again
        text = again
    return text


def _clean_pass(text: str) -> str:
    text = repaired(text)
    if not text.isascii() and CJK.search(text):
        text = simplified(_PINYIN.sub("", text))
    if "in a new" in text.lower():  # what a note stood between may join into mojibake: `_clean`'s next pass
        text = _INLINE_FURNITURE.sub("", text)
    if _GLUED.search(text):  # rare: searching first is the cheaper scan
        text = _GLUED.sub(r"\g<0> ", text)
    if text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
        return text  # no whitespace but single inner spaces (isprintable is false for every other kind)
    return " ".join(text.split())  # runs of whitespace as one space, as `\s+` would
