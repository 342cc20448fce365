"""Text repair's fast path (plain text skips ftfy) gives exactly what ftfy gives."""

import ftfy
from hypothesis import given, settings, strategies as st

from pipeline import text
from tests.conftest import REPO

PLAIN = [chr(c) for c in range(0x30000) if text._PLAIN.match(chr(c)) is None]


def ftfy_only(raw: str) -> str:
    return ftfy.fix_text(raw, config=text._ftfy_config()[1])


@settings(max_examples=2000)
@given(st.text(alphabet=st.sampled_from(PLAIN), max_size=60))
def test_plain_text_is_repaired_exactly_as_ftfy_repairs_it(raw):
    assert text.repaired(raw) == ftfy_only(raw)


def test_every_line_of_the_bundled_articles_is_repaired_as_ftfy_repairs_it():
    paths = [p for p in sorted((REPO / "data/articles").rglob("*")) if p.is_file() and p.suffix in {".txt", ".md"}]
    lines = [line for path in paths
             for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(lines) > 5000
    assert [text.repaired(line) for line in lines] == [ftfy_only(line) for line in lines]


@settings(max_examples=2000)
@given(st.text(alphabet=st.sampled_from([*"&#;amplgtAMPLG01x9 .", "\u2019", "\u00e9"]), max_size=40))
def test_ampersands_are_repaired_exactly_as_ftfy_repairs_them(raw):
    """A bare "&" takes the fast path; anything ftfy could read as an entity still goes through ftfy."""
    assert text.repaired(raw) == ftfy_only(raw)


def test_mojibake_and_entities_still_go_through_ftfy():
    assert text.repaired("Baogangâ€™s caf\u00c3\u00a9") == "Baogang's café"
    assert text.repaired("R&amp;D") == "R&D" and text.repaired("R&D, S&P and M&A") == "R&D, S&P and M&A"
    assert text._ENTITY.search("R&amp;D") and text._PLAIN.search("caf\u00c3\u00a9")


def test_utf8_punctuation_read_as_the_thai_code_page_is_read_back():
    """Pages that went through Windows-874 show "โ€™" for "’"; ftfy leaves it, and it splits words ("Baogangโ")."""
    assert text.clean("Baogangโ€™s chair: โ€œComplacency has no placeโ€. โ€ข Jobs โ€” cut โ€ฆ") == \
        "Baogang's chair: \"Complacency has no place\". • Jobs — cut ..."
    assert text.clean("placeโ€") == 'place"'
    assert text.clean("โรงงานผลิตเหล็ก") == "โรงงานผลิตเหล็ก"  # Thai itself is left alone


def test_glued_sentences_link_notes_and_whitespace():
    assert text.clean("projects.Rare Earth output?Yes. U.S. rules") == "projects. Rare Earth output? Yes. U.S. rules"
    assert text.clean("More (Opens in a new window) here\u2028and\u00a0\u00a0there\t") == "More here and there"
    assert text.clean("“Quoted” ‘words’ … ＡＢ") == "\"Quoted\" 'words' ... AB"
