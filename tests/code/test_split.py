"""The splitter on the five bundled articles and on small fixture texts."""
import re

import pytest

from pipeline.config import InputError
from pipeline.stages.split import _hard_wrapped, build_paragraphs, paragraph_ids, read_article, split_article, \
    text_from_bytes
from pipeline.text import clean
from tests.conftest import ARTICLES

SEEDS = sorted((ARTICLES / "seeds").glob("*.txt"))
EXPECTED_COUNTS = {"000": 14, "001": 9, "002": 12, "003": 14, "004": 19}


def split_seed(prefix: str) -> list[dict]:
    path = next(p for p in SEEDS if p.name.startswith(prefix))
    return split_article(read_article(path))


def test_paragraph_counts_of_bundled_articles():
    assert {p.name[:3]: len(split_article(read_article(p))) for p in SEEDS} == EXPECTED_COUNTS


def test_kinds_of_bundled_article_with_title_and_furniture():
    kinds = [p["kind"] for p in split_seed("004")]
    assert kinds[0] == "title"
    assert kinds[1:4] == ["highlight"] * 3
    assert kinds[12:14] == ["question"] * 2
    assert kinds[-4:] == ["furniture"] * 4
    assert kinds.count("body") == 9


def test_question_bullets_and_leave_a_reply():
    paragraphs = split_seed("000")
    assert [p["kind"] for p in paragraphs][7:10] == ["question"] * 3
    assert paragraphs[-1] == {"kind": "furniture", "text": "Leave a Reply", "position": 13, "bullet": False}


@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.name[:3])
def test_every_content_sentence_is_kept(path):
    """Each source line (bullet marker dropped, text repaired) survives inside some paragraph."""
    joined = "\n".join(p["text"] for p in split_article(read_article(path)))
    for line in read_article(path).splitlines():
        text = clean(re.sub(r"^\s*[-•]\s+", "", line))
        for sentence in filter(None, re.split(r"(?<=[.!?])\s+", text)):
            assert sentence in joined, sentence


def test_headings_fold_into_the_paragraph_they_introduce():
    texts = [p["text"] for p in split_seed("004")]
    assert any(t.startswith("Reform Mandate: The company pledged") for t in texts)
    assert not any(t == "Risk Management & Security" for t in texts)
    assert split_seed("001")[4]["text"].startswith("What's Going On? At the heart of the directive")


def test_glued_sentences_quotes_and_link_notes_are_repaired():
    text = " ".join(p["text"] for p in split_seed("004"))
    assert "projects. Rare Earth Base Push" in text
    assert "China's" in text and "\u2019" not in text and "\u201c" not in text
    assert "(opens in a new tab)" not in " ".join(p["text"] for p in split_seed("003"))


def test_mojibake_and_unicode_forms_are_repaired():
    assert clean("Chinaâ€™s rare earths\u00a0are “key”") == 'China\'s rare earths are "key"'
    assert clean("ﬁnal") == "final"  # NFKC folds the ligature


def test_blank_line_documents_join_wrapped_lines_and_split_bullets():
    raw = "Quota Notice Issued\n\nThe ministry said on Monday that\nquotas will rise.\n\n- First bullet.\n- Second bullet.\n"
    paragraphs = split_article(raw)
    assert [p["text"] for p in paragraphs] == [
        "Quota Notice Issued", "The ministry said on Monday that quotas will rise.", "First bullet.", "Second bullet."]
    assert [p["kind"] for p in paragraphs] == ["title", "body", "body", "body"]


def test_paragraph_ids_are_stable_when_other_paragraphs_change():
    before = paragraph_ids("a1", ["One.", "Two.", "Three."])
    after = paragraph_ids("a1", ["One, edited.", "Two.", "A new one.", "Three."])
    assert before[1] == after[1] and before[2] == after[3]
    assert before[0] != after[0]
    assert len(set(paragraph_ids("a1", ["Same.", "Same."]))) == 2


def test_ids_do_not_depend_on_other_articles(tmp_path):
    (tmp_path / "x").mkdir()
    source = next(p for p in SEEDS if p.name.startswith("001"))
    (tmp_path / "x" / source.name).write_bytes(source.read_bytes())
    alone = build_paragraphs(tmp_path)
    (tmp_path / "x" / "other.txt").write_text("Another article.\n\nWith text.\n")
    together = build_paragraphs(tmp_path)
    assert set(alone["paragraph_id"]) <= set(together["paragraph_id"])


@pytest.mark.parametrize("content, problem", [
    (b"", "article is empty"),
    (b"  \n\n \t\n", "article is empty"),
    (b"Caf\xe9 au lait", "not valid UTF-8 (byte 0xe9 at offset 3)"),
    (b"text\x00with nul", "contains NUL bytes"),
])
def test_bad_articles_are_refused_by_name(tmp_path, content, problem):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(InputError, match=re.escape(f"{path}: {problem}")):
        read_article(path)


def test_utf8_bom_is_accepted(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeffHeadline here\n\nBody text.".encode("utf-8"))
    assert split_article(read_article(path))[0]["text"] == "Headline here"


def test_a_markdown_article_trains_as_it_scores_without_heading_markers(tmp_path):
    """Training reads a .md article as scoring does (`read_article`), so its paragraphs and ids agree."""
    (tmp_path / "note.md").write_text("# Baotou plant upgrade\n\nBaogang opened a smart separation line.\n",
                                      encoding="utf-8")
    paragraphs = build_paragraphs(tmp_path)
    assert paragraphs["text"].tolist() == ["Baotou plant upgrade", "Baogang opened a smart separation line."]
    assert read_article(tmp_path / "note.md").startswith("Baotou plant upgrade\n")


@pytest.mark.parametrize("text, furniture", [
    ("2024-04-29", True), ("2023-01-16 21:40", True), ("2025-04-11 | Source: Party Committee Office", True),
    ("2024-11-08 16:32 Source: Xiamen Tungsten Co., Ltd. Editor: Chen Xiaoyan", True),
    ("2022-03-08 07:12 来源:本报 作者:本报记者", True),
    ("2025-03-04: MOFCOM tightened export licences for terbium.", False),  # news led by its date
    ("2025-03-04 商务部宣布对部分稀土相关物项实施出口管制。", False),
])
def test_a_date_line_is_furniture_but_news_led_by_a_date_is_not(text, furniture):
    paragraphs = split_article(f"Title line\n\nBody text of the article.\n\n{text}\n")
    assert (paragraphs[-1]["kind"] == "furniture") is furniture


@pytest.mark.parametrize("text, furniture", [
    ("By Harriet Cole | PERTH", True), ("By Harriet Cole and Tom Wu in Beijing", True),
    ("By Marcus Delaney, Editor | Strategic Commodities Weekly | 21 January 2025", True),
    ("Related", True), ("Related stories:", True), ("Related: Gallium after the ban | Why Estonia matters", True),
    ("版权所有:包头市人民政府", True), ("Advertisement", True), ("首页", True), ("|", True), ("»", True),
    ("当前位置:首页>政务公开", True),
    # bracketed and Chinese sites' own furniture was scored as body, and counted in index and report
    ("(责任编辑:张伟)", True), ("【关闭窗口】", True), ("【打印】 【关闭】", True), ("蒙ICP备05001234号-1", True),
    ("蒙公网安备 15020302000123号", True), ("相关新闻", True), ("阅读 2.1万", True), ("点赞 在看", True),
    ("编辑/张伟 校对/李丽", True), ("(Reporting by the Tokyo bureau; editing by the Asia desk)", True),
    ("关闭3座高炉,压减粗钢产能500万吨。", False), ("文章指出,要坚持党的全面领导。", False),
    # news that starts like a byline or a link list: marked furniture, it was left out of index and report
    ("By March, Baotou Steel will have cut crude steel output by a fifth under the state-owned enterprise reform.", False),
    ("By Thursday, prices had fallen 5%.", False),
    ("Related measures announced on Friday include export licences for gallium, the Ministry of Commerce said.", False),
    ("Related-party transactions: under the supply agreement Baotou Steel sells concentrate to Northern Rare Earth.",
     False),
])
def test_bylines_and_link_lists_are_furniture_but_news_that_starts_like_them_is_not(text, furniture):
    paragraphs = split_article(f"Title line\n\nBody text of the article.\n\n{text}\n")
    assert (paragraphs[-1]["kind"] == "furniture") is furniture


def test_tables_are_read_one_paragraph_per_row():
    """A Markdown table was one paragraph of bars and dashes (furniture, or Chinese by its punctuation); a web
    page's data table, dropped or run into the whole article as one paragraph. Layout tables keep paragraphs."""
    from pipeline.scoring.inputs import html_text
    from pipeline.text import markdown_text

    md = ("# Quotas\n\nThe ministry issued the 2024 quotas.\n\n| Group | Mining quota | Note |\n|---|---:|---|\n"
          "| China Rare Earth Group | 62,000 t | light \\| heavy |\n| Northern Rare Earth | 196,000 t | |\n\n"
          "Analysts expect more.\n")
    assert [p["text"] for p in split_article(markdown_text(md))] == [
        "Quotas", "The ministry issued the 2024 quotas.", "China Rare Earth Group: 62,000 t; light | heavy",
        "Northern Rare Earth: 196,000 t", "Analysts expect more."]
    rows = "".join(f"<tr><td>{a}</td><td>{b}</td></tr>" for a, b in [
        ("Export licences", "Exporters of dysprosium and terbium must obtain a dual-use export licence for every "
                            "shipment, and licences may be refused for military end users."),
        ("Risk", "Lynas warned that supply disruption risks for Japanese magnet makers would rise sharply.")])
    page = (f"<html><body><article><h1>What the new controls cover</h1><p>The Ministry of Commerce published the "
            f"list of items on Friday. The table below summarises the measures.</p><table><tr><th>Measure</th>"
            f"<th>Detail</th></tr>{rows}</table><p>Analysts expect further measures.</p></article></body></html>")
    texts = [p["text"] for p in split_article(html_text(page.encode(), "page.html"))]
    assert texts[-3:] == ["Export licences: Exporters of dysprosium and terbium must obtain a dual-use export licence "
                          "for every shipment, and licences may be refused for military end users.",
                          "Risk: Lynas warned that supply disruption risks for Japanese magnet makers would rise sharply.",
                          "Analysts expect further measures."]
    layout = ("<html><body><table><tr><td><a href='/'>首页</a> | 政务公开</td></tr><tr><td><p>包钢集团召开深化国有企业改革工作"
              "推进会,研究部署混合所有制改革重点任务。</p><p>北方稀土要加快推进稀土冶炼分离智能化改造,突破高性能稀土永磁材料关键技术。</p>"
              "</td></tr></table></body></html>")
    texts = [p["text"] for p in split_article(html_text(layout.encode(), "gov.html"))]
    assert any(t.startswith("北方稀土") for t in texts) and not any("|" in t and "北方稀土" in t for t in texts)


def test_prose_hard_wrapped_without_blank_lines_is_joined_into_its_paragraphs():
    """Plain-text wire copy wrapped at 72 columns, with no blank lines: every line was a paragraph, so a
    sentence was cut in three ("... heavy rare" / "earths to its export control list, ..." / "shipment.")."""
    import textwrap

    paragraphs = ["China's Ministry of Commerce on Friday added seven medium and heavy rare earths to its export "
                  "control list, requiring a licence for each shipment.",
                  "Baotou-based China Northern Rare Earth said it would keep supplying domestic magnet makers and "
                  "expected no change to its production quota this year.",
                  "Lynas Rare Earths, the largest producer outside China, said the move raised supply risks for its "
                  "customers in Japan and Europe."]
    title = "China adds heavy rare earths to export list"
    flush = title + "\n" + "\n".join(textwrap.fill(p, 72) for p in paragraphs) + "\n"
    indented = "\n".join(textwrap.fill(p, 72, initial_indent="    ") for p in paragraphs) + "\n"
    assert [p["text"] for p in split_article(flush)] == [title, *paragraphs]
    assert [p["text"] for p in split_article(indented)] == paragraphs
    one_per_line = "\n".join(paragraphs) + "\n"  # not wrapped: each line stays a paragraph
    assert [p["text"] for p in split_article(one_per_line)] == paragraphs
    headlines = ["China adds seven heavy rare earths to its export control list", "MP Materials signs offtake deal with "
                 "the Pentagon for magnets", "Iluka secures government loan for Eneabba refinery expansion",
                 "Rare earth prices climb as Myanmar border crossings close again", "EU Critical Raw Materials Act "
                 "names 47 strategic projects", "Baotou Steel to cut crude steel output by a fifth this year"]
    assert not _hard_wrapped("\n".join(headlines))[0]  # a list of headlines of like lengths is not wrapped prose


def test_chinese_hard_wrapped_at_34_characters_is_joined_without_spaces():
    """Chinese wire copy wrapped at 34 characters, paragraphs indented with full-width spaces: every line was a
    paragraph (the width rule counted characters, not columns), and joined lines got a space inside words."""
    paragraphs = ["2025年6月3日,中国稀土集团有限公司召开改革深化提升行动推进会,总结阶段性成果,部署下一阶段重点任务,集团董事长出席会议并讲话。",
                  "会议指出,一年来集团推进专业化整合,压减法人户数31户,资产负债率下降4.2个百分点,经营质量明显提升。",
                  "会议要求,要坚决淘汰落后产能,持续推进智能化改造,加快稀土新材料研发。"]
    lines = lambda p, w: "\n".join(p[i:i + w] for i in range(0, len(p), w))
    indented = "\n".join("\u3000\u3000" + lines(p, 34) for p in paragraphs) + "\n"
    assert [p["text"] for p in split_article(indented)] == paragraphs
    flush = "\n".join(lines(p, 44) for p in paragraphs) + "\n"
    assert [p["text"] for p in split_article(flush)] == paragraphs


@pytest.mark.parametrize("encoding, hint", [("gbk", "it looks Chinese (GBK/GB18030"), ("big5", "or Big5"),
                                            ("cp1252", "it may be Windows-1252")])
def test_a_file_in_a_code_page_says_which_one_it_looks_like(encoding, hint):
    text = "包钢集团召开会议,研究部署改革任务。" if encoding == "gbk" else "包鋼集團召開會議" if encoding == "big5" \
        else "MOFCOM\u2019s licences"
    with pytest.raises(InputError, match=re.escape(hint)):
        text_from_bytes(text.encode(encoding), "x.txt")
