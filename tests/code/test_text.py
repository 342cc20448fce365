"""Text repair's fast path (plain text skips ftfy) gives exactly what ftfy gives."""

import ftfy
import numpy as np
import pytest
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


def test_the_entity_pattern_is_ftfys_and_only_the_space_is_both_printable_and_whitespace():
    """The fast paths' two assumptions about ftfy and Python, checked here so an upgrade cannot break them quietly."""
    from ftfy.chardata import HTML_ENTITY_RE

    assert text._ENTITY.pattern == HTML_ENTITY_RE.pattern
    assert [c for c in map(chr, range(0x110000)) if c.isspace() and c.isprintable()] == [" "]


def thai_page(raw: str, codecs=("cp874", "cp1252")) -> str:
    """`raw` as a page decoded as Windows-874 shows it: 1252's character where 874 has none, a dropped byte
    where neither has one. With `codecs=("tis-620",)`: as TIS-620 shows it once the page has dropped its control
    characters (0x80-0x9F) and the byte it has no character for (0xA0)."""
    out = []
    for byte in raw.encode("utf-8"):
        for codec in codecs:
            try:
                char = bytes([byte]).decode(codec)
                out.append("" if "\x80" <= char <= "\x9f" else char)  # control characters: pages drop them
                break
            except UnicodeDecodeError:
                continue
    return "".join(out)


@settings(max_examples=1500)
@given(st.lists(st.sampled_from([*"ab .&;#", "\u2019", "\u201c", "\u201d", "\u2014", "\u2022", "\u2026", "\u00e9",
                                  "\uff06\uff41\uff4d\uff50\uff1b", "\u0e42", "\u0e22", "\u20ac", "\u2122", "\u00a0", "\t", "\n",
                                  "(opens in a new tab)", "\u5305\u92fc", "x.Y"]), max_size=30).map("".join))
def test_repair_is_idempotent_so_repairing_twice_changes_nothing(raw):
    """Training text is repaired by the splitter and again by the model's first step; a page in the Thai code
    page's mojibake too."""
    for page in (raw, thai_page(raw), thai_page(raw, ("tis-620",))):
        once = text.clean(page)
        assert text.clean(once) == once


def test_utf8_punctuation_read_as_the_thai_code_page_is_read_back():
    """Pages that went through Windows-874 show "โ€™" for "’"; ftfy leaves it, and it splits words ("Baogangโ")."""
    assert text.clean("Baogangโ€™s chair: โ€œComplacency has no placeโ€. โ€ข Jobs โ€” cut โ€ฆ") == \
        "Baogang's chair: \"Complacency has no place\". • Jobs — cut ..."
    assert text.clean("placeโ€") == 'place"'
    assert text.clean(thai_page("\u201cQuote\u201d\u2014he said it\u2019s")) == '"Quote"\u2014he said it\'s'
    assert text.clean("โรงงานผลิตเหล็ก") == "โรงงานผลิตเหล็ก"  # Thai itself is left alone


@pytest.mark.parametrize("raw, repaired", [
    ("Whatโs new, then?ย Northern Rare Earthโs post", "What's new, then? Northern Rare Earth's post"),
    ("2019โ2020, 10โ12 tonnes, USโChina talks", "2019\u20132020, 10\u201312 tonnes, US\u2013China talks"),
    ("OโNeill, the 1990โs, JOHNโS, $5โ$10", "O'Neill, the 1990's, JOHN'S, $5\u2013$10"),
    ("workersโ rights; he said โno commentโ. Prices โ up", "workers' rights; he said \"no comment\". Prices \u2013 up"),
    ("2020ยโย2021 and oneยยtwo", "2020 \u2013 2021 and one two"),
    ("Earthโ\x80\x99s", "Earth's"),  # the page kept the bytes, as control characters
    ("ราคาโลหะไทย ย่อย", "ราคาโลหะไทย ย่อย"),  # Thai, with its own "โ" and "ย", is left alone
    ("ตัว ย ยักษ์; ก. ข. ย. ร.; สระ โ-ะ", "ตัว ย ยักษ์; ก. ข. ย. ร.; สระ โ-ะ"),
    ("15 ก.ย. 2566, มิ.ย.; โยธาธิการ; Thai: โยเกิร์ต 20 บาท", "15 ก.ย. 2566, มิ.ย.; โยธาธิการ; Thai: โยเกิร์ต 20 บาท"),
])
def test_utf8_punctuation_read_as_tis_620_is_read_back_from_what_is_left(raw, repaired):
    """TIS-620 has no characters for 0x80-0xA0, so a quote or dash is a lone "โ" and a no-break space "ย" glued to
    the word before it: which mark it was is read from its neighbours, and glued words are words again."""
    assert text.clean(raw) == repaired


def test_a_tis_620_page_reads_as_the_words_it_was():
    page = thai_page("What\u2019s new?\u00a0Northern\u2019s chair said \u201cno comment\u201d \u2013 twice.", ("tis-620",))
    assert page == "Whatโs new?ยNorthernโs chair said โno commentโ โ twice."
    assert text.clean(page) == "What's new? Northern's chair said \"no comment\" \u2013 twice."


def test_glued_sentences_link_notes_and_whitespace():
    assert text.clean("projects.Rare Earth output?Yes. U.S. rules") == "projects. Rare Earth output? Yes. U.S. rules"
    assert text.clean("More (Opens in a new window) here\u2028and\u00a0\u00a0there\t") == "More here and there"
    assert text.clean("“Quoted” ‘words’ … ＡＢ") == "\"Quoted\" 'words' ... AB"


def test_the_models_first_step_reads_mlflow_inputs_one_text_each_and_refuses_missing_ones(trained):
    """MLflow hands the pyfunc {"text": [a, b]} as one cell holding the list, which was scored as the one text
    "['a', 'b']"; a blank CSV cell (None, NaN, NA) was scored as the word "None" or "nan"."""
    import pandas as pd

    fitted, _ = trained
    texts = ["MOFCOM tightened export licences for dysprosium.", "包钢集团党委召开理论学习中心组学习会议。"]
    expected = fitted.predict_proba(texts)
    np.testing.assert_array_equal(fitted.predict_proba(pd.DataFrame({"text": texts})), expected)
    np.testing.assert_array_equal(fitted.predict_proba(pd.DataFrame({"text": [texts]})), expected)
    for missing in (None, float("nan"), pd.NA):
        with pytest.raises(ValueError, match="text 1 is missing"):
            fitted.predict_proba(pd.DataFrame({"text": [texts[0], missing]}, dtype=object))
    # each was scored, out of line with its rows: ids and texts in turn, a list cell as rows, bytes as "b'...'"
    with pytest.raises(ValueError, match=r"one column of texts, got shape \(2, 2\) \(columns \['id', 'text'\]\)"):
        fitted.predict_proba(pd.DataFrame({"id": ["a1", "a2"], "text": texts}))
    with pytest.raises(ValueError, match="text 0 is list"):
        fitted.predict_proba(pd.DataFrame({"text": [texts, "reform"]}))
    for value, name in ((texts[0].encode(), "bytes"), (42, "int")):
        with pytest.raises(ValueError, match=f"text 1 is {name} "):
            fitted.predict_proba(pd.DataFrame({"text": [texts[0], value]}, dtype=object))
