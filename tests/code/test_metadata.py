"""Date, source, title and entities at scoring: saved pages, front matter, table columns, a catalog."""
import datetime as dt
import json

import pandas as pd
import pytest

from pipeline.cli import main
from pipeline.reporting import batchlog
from pipeline.reporting.metadata import front_matter, parse_date
from pipeline.stages.split import paragraph_ids, split_article
from tests.conftest import ARTICLES

PAGE = """<html><head><title>Licences | Example News</title>
<meta property="og:site_name" content="Example News">
<meta property="article:published_time" content="2025-04-04T08:00:00Z">
<meta property="og:title" content="MOFCOM tightens terbium licences"></head>
<body><nav><a href="/">Home</a></nav><article><h1>MOFCOM tightens terbium licences</h1>
<p>The commerce ministry said on Monday it would require licences for terbium exports, raising supply risks
for Japanese magnet makers.</p></article></body></html>"""


@pytest.mark.parametrize("value, expected", [
    ("2025-07-07", "2025-07-07"), ("2025/7/7", "2025-07-07"), ("2025-07-07T08:00:00+08:00", "2025-07-07"),
    ("7 July 2025", "2025-07-07"), ("July 7, 2025", "2025-07-07"), ("2025年7月7日", "2025-07-07"),
    ("2025-07", "2025-07-01"), ("13/04/2025", "2025-04-13"), ("20250707", "2025-07-07"), (20250707, "2025-07-07"),
    ("2025年7月7", "2025-07-07"),  # its day was dropped: 2025-07-01 (dt.date(2025, 7, 7), "2025-07-07"),
    (dt.datetime(2025, 7, 7, 9), "2025-07-07"), ("", None), (None, None), (float("nan"), None),
])
def test_dates_are_read_into_iso(value, expected):
    assert parse_date(value) == expected


@pytest.mark.parametrize("value, problem", [
    ("03/04/2025", "ambiguous"), ("yesterday", "no four-digit year"), ("2025-13-01", "month must be in 1..12"),
    ("1850-01-01", "outside 1900-2100"), ("20251301", "month must be in 1..12"),
    ("2025年13月4日", "'2025年13月4日': month must be in 1..12"),  # the value was not named
    ("2025年第一季度", "is not a date"),  # said 'has no four-digit year'
 ("sometime in 2025 maybe", "is not a date"),
])
def test_unreadable_dates_say_why(value, problem):
    with pytest.raises(ValueError, match=problem):
        parse_date(value)


def test_front_matter_is_read_and_removed_without_moving_paragraph_ids():
    body = (ARTICLES / "seeds" / "000_4351a19fe1e57ad0.txt").read_text(encoding="utf-8")
    fenced = "---\ndate: 2025-07-07\nsource: Rare Earth Exchanges\ntitle: Baogang studies Xi\ntags: [x]\n---\n" + body
    bare = "Date: 7 July 2025\nsource: Rare Earth Exchanges\n\n" + body
    assert front_matter(fenced) == ({"date": dt.date(2025, 7, 7), "source": "Rare Earth Exchanges",
                                     "title": "Baogang studies Xi"}, body)
    assert front_matter(bare) == ({"date": "7 July 2025", "source": "Rare Earth Exchanges"}, body)
    assert front_matter(body) == ({}, body)
    colon = "---\ndate: 2025-07-07\ntitle: Baogang: a study\n---\n" + body  # not valid YAML: read line by line
    assert front_matter(colon) == ({"date": "2025-07-07", "title": "Baogang: a study"}, body)
    # typed with a Chinese IME: full-width colons, no space after them, fenced or bare
    full_width = "---\ndate：2025-03-04\nsource：新华社\n---\n" + body
    assert front_matter(full_width) == ({"date": "2025-03-04", "source": "新华社"}, body)
    assert front_matter("date：2025-03-04\nsource：新华社\n\n" + body) == ({"date": "2025-03-04", "source": "新华社"}, body)
    # front matter written in Chinese was dropped without a word: the document was undated
    chinese = {"date": dt.date(2025, 3, 4), "source": "新华社", "title": "包钢"}
    assert front_matter("---\n日期: 2025-03-04\n来源: 新华社\n标题: 包钢\n---\n" + body) == (chinese, body)
    assert front_matter("日期：2025-03-04\n来源：新华社\n\n" + body) == ({"date": "2025-03-04", "source": "新华社"}, body)
    # a date YAML reads as a timestamp but the calendar lacks stopped the run with a traceback: read by line
    assert front_matter("---\ndate: 2025-02-30\n---\n" + body) == ({"date": "2025-02-30"}, body)
    ids = paragraph_ids("a", [p["text"] for p in split_article(front_matter(fenced)[1])])
    assert ids == paragraph_ids("a", [p["text"] for p in split_article(body)])


@pytest.fixture
def dated(tmp_path):
    """A folder of dated HTML, Markdown, text and CSV inputs, and a catalog."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "page.html").write_text(PAGE, encoding="utf-8")
    seed = (ARTICLES / "seeds" / "000_4351a19fe1e57ad0.txt").read_text(encoding="utf-8")
    (folder / "seed.md").write_text("---\ndate: 2025-07-08\nsource: Rare Earth Exchanges\n---\n" + seed, encoding="utf-8")
    (folder / "plain.txt").write_text("Northern lifts prices\n\nChina Northern Rare Earth raised its listed prices "
                                      "for PrNd oxide.\n", encoding="utf-8")
    pd.DataFrame({"id": ["w1", "w2", "w3"], "published": ["2025-03-02", "03/04/2025", "2025-05-20"],
                  "outlet": ["Mining Weekly", "Metal Wire", ""],
                  "headline": ["Lynas ships terbium", "", "Baowu merger"],
                  "text": ["Lynas shipped its first terbium to Japan.", "包钢集团召开党委会，北方稀土参加。",
                           "China Baowu took control of a regional mill."]}).to_csv(folder / "wire.csv", index=False)
    catalog = tmp_path / "catalog.csv"
    pd.DataFrame({"path": ["plain.txt", "w3"], "date": ["2025-06-30", ""], "source": ["Catalogued Wire", "Steel Daily"],
                  "title": ["", ""]}).to_csv(catalog, index=False)
    return folder, catalog


def score(capsys, *args):
    code = main(["score", *map(str, args)])
    return code, capsys.readouterr().err


def test_a_folder_of_dated_inputs_gets_date_source_title_and_entities(dated, model_dir, tmp_path, capsys):
    folder, catalog = dated
    out, summary = tmp_path / "scores.parquet", tmp_path / "docs.csv"
    code, err = score(capsys, folder, "-o", out, "--model", model_dir, "--id-column", "id", "--date-column", "published",
                      "--source-column", "outlet", "--title-column", "headline", "--catalog", catalog,
                      "--include-text", "--summary", summary)
    assert code == 0, err  # an unreadable date is reported, not fatal
    assert "w2: date '03/04/2025' is ambiguous" in err and err.count("warning:") == 1
    rows = pd.read_parquet(out)
    assert list(rows.columns[-4:]) == ["date", "source", "title", "entities"]
    per_doc = rows.groupby("doc_id")[["date", "source", "title"]].first()
    page, seed, plain = ("page.html", "seed.md", "plain.txt")  # ids relative to the folder scored
    assert per_doc.loc[page].tolist() == ["2025-04-04", "Example News", "MOFCOM tightens terbium licences"]
    assert per_doc.loc[seed, ["date", "source"]].tolist() == ["2025-07-08", "Rare Earth Exchanges"]
    assert pd.isna(per_doc.loc[seed, "title"])  # no title anywhere (it opens with "Highlights")
    # from the catalog, and the title line the splitter found
    assert per_doc.loc[plain].tolist() == ["2025-06-30", "Catalogued Wire", "Northern lifts prices"]
    assert per_doc.loc["w1"].tolist() == ["2025-03-02", "Mining Weekly", "Lynas ships terbium"]
    assert pd.isna(per_doc.loc["w2", "date"]) and per_doc.loc["w2", "source"] == "Metal Wire"
    assert per_doc.loc["w3"].tolist() == ["2025-05-20", "Steel Daily", "Baowu merger"]  # catalog fills the source
    seed_rows = rows[rows["doc_id"] == seed]
    assert not seed_rows["text"].str.contains("date: 2025").any()  # the front matter is not scored
    assert len(seed_rows) == 14
    entity_of = rows.groupby("doc_id")["entities"].first()
    assert entity_of["w2"] == "Baogang; China Northern Rare Earth" and entity_of["w1"] == "Lynas"
    assert rows.loc[rows["doc_id"] == page, "entities"].eq("MOFCOM").all()
    docs = pd.read_csv(summary, keep_default_na=False).set_index("doc_id")
    assert docs.loc[seed, "entities"] == "Baogang; China Northern Rare Earth"
    assert docs.loc["w2", "entities"] == "Baogang; China Northern Rare Earth" and docs.loc["w2", "date"] == ""
    record = batchlog.read(out)
    assert record["failed_inputs"] == [] and record["date_problems"] == 1 and record["paragraphs"] == len(rows)


def test_a_catalog_names_a_file_by_its_path_as_typed_and_rows_naming_nothing_are_reported(dated, model_dir,
                                                                                            tmp_path, capsys,
                                                                                            monkeypatch):
    folder, _ = dated
    monkeypatch.chdir(folder.parent)
    catalog = tmp_path / "typed.csv"
    pd.DataFrame({"path": ["in/seed.md", "notthere.txt", "in/gone.txt"], "source": ["Typed Path", "X", "Y"]}) \
        .to_csv(catalog, index=False)
    out = tmp_path / "typed.parquet"
    code, err = score(capsys, "in", "-o", out, "--model", model_dir, "--catalog", catalog)
    assert code == 0, err
    assert pd.read_parquet(out).groupby("doc_id")["source"].first()["seed.md"] == "Typed Path"  # id: "seed.md"
    assert f"warning: {catalog}: 2 row(s) named no scored document: 'notthere.txt', 'in/gone.txt'" in err


def test_markdown_headings_lose_their_markers(model_dir, tmp_path, capsys):
    note = tmp_path / "h.md"
    note.write_text("---\ndate: 2025-01-02\n# a YAML comment\nsource: Notes\n---\n# Baotou plant upgrade\n\n"
                    "Baogang opened an AI-driven smart separation line.\n\n## Costs ##\n\nIt cuts energy use. "
                    "#hashtag stays\n", encoding="utf-8")
    out = tmp_path / "h.csv"
    code, err = score(capsys, note, "-o", out, "--model", model_dir, "--include-text")
    assert code == 0, err
    rows = pd.read_csv(out)
    assert rows["text"].tolist() == ["Baotou plant upgrade", "Baogang opened an AI-driven smart separation line.",
                                     "Costs: It cuts energy use. #hashtag stays"]
    assert rows["title"].eq("Baotou plant upgrade").all() and rows["source"].eq("Notes").all()


def test_metadata_survives_csv_and_jsonl_outputs(dated, model_dir, tmp_path, capsys):
    folder, _ = dated
    for suffix in (".csv", ".jsonl"):
        out = tmp_path / f"s{suffix}"
        code, err = score(capsys, folder / "page.html", folder / "plain.txt", "-o", out, "--model", model_dir)
        assert code == 0, err
        frame = pd.read_csv(out) if suffix == ".csv" else pd.read_json(out, lines=True, dtype=False)
        page = frame[frame["doc_id"].str.endswith("page.html")].iloc[0]
        assert (page["date"], page["source"], page["entities"]) == ("2025-04-04", "Example News", "MOFCOM")
        assert pd.isna(frame[frame["doc_id"].str.endswith("plain.txt")]["date"]).all()


def test_failed_inputs_and_missing_columns_are_recorded(dated, model_dir, tmp_path, capsys):
    folder, _ = dated
    (folder / "broken.txt").write_bytes("Baogang’s plan".encode("cp1252"))
    out = tmp_path / "s.parquet"
    code, err = score(capsys, folder, "-o", out, "--model", model_dir, "--date-column", "when")
    assert code == 1
    assert "wire.csv: no column 'when'" in err and "broken.txt: not valid UTF-8" in err
    assert sorted(batchlog.read(out)["failed_inputs"]) == sorted([str(folder / "broken.txt"), str(folder / "wire.csv")])


@pytest.mark.parametrize("catalog, message", [
    ("name,date\na,2025-01-01\n", "catalog needs a 'doc_id' or 'path' column"),
    ("doc_id,genre\na,x\n", "catalog has none of the columns date, source, title"),
    ("doc_id,date\na,2025-01-01\na,2025-01-02\n", "catalog names 'a' twice"),
])
def test_a_bad_catalog_stops_before_any_work(dated, model_dir, tmp_path, capsys, catalog, message):
    folder, _ = dated
    (tmp_path / "bad.csv").write_text(catalog, encoding="utf-8")
    out = tmp_path / "s.parquet"
    code, err = score(capsys, folder, "-o", out, "--model", model_dir, "--catalog", tmp_path / "bad.csv")
    assert code == 2 and f"bad.csv: {message}" in err and not out.exists()


def test_an_empty_batch_still_has_the_metadata_columns(model_dir, tmp_path, capsys):
    (tmp_path / "furniture.txt").write_text("Leave a Reply\n", encoding="utf-8")
    out = tmp_path / "s.parquet"
    code, _ = score(capsys, tmp_path / "furniture.txt", "-o", out, "--model", model_dir, "--no-split")
    frame = pd.read_parquet(out)
    assert code == 0 and list(frame.columns[-4:]) == ["date", "source", "title", "entities"]
    assert json.loads(batchlog.path_for(out).read_text())["paragraphs"] == len(frame)


def test_table_columns_named_date_source_title_are_read_without_flags(model_dir, tmp_path, capsys):
    pd.DataFrame({"text": ["MOFCOM tightened export licences."], "date": ["2025-05-06"], "source": ["Wire"],
                  "title": ["Licences"]}).to_csv(tmp_path / "t.csv", index=False)
    out = tmp_path / "s.parquet"
    assert score(capsys, tmp_path / "t.csv", "-o", out, "--model", model_dir)[0] == 0
    row = pd.read_parquet(out).iloc[0]
    assert (row["date"], row["source"], row["title"], row["entities"]) == ("2025-05-06", "Wire", "Licences", "MOFCOM")


def test_entities_file_can_be_replaced_and_a_bad_one_stops_the_run(model_dir, tmp_path, capsys, monkeypatch):
    from pipeline.reporting import entities

    (tmp_path / "t.txt").write_text("Acme Rare Metals met MOFCOM.\n", encoding="utf-8")
    (tmp_path / "mine.yaml").write_text("Acme: {type: company, aliases: [Acme Rare Metals]}\n", encoding="utf-8")
    monkeypatch.setenv(entities.ENV, str(tmp_path / "mine.yaml"))
    out = tmp_path / "s.parquet"
    assert score(capsys, tmp_path / "t.txt", "-o", out, "--model", model_dir)[0] == 0
    assert pd.read_parquet(out)["entities"].tolist() == ["Acme"]
    (tmp_path / "bad.yaml").write_text("Acme: {type: firm, aliases: [x]}\n", encoding="utf-8")
    monkeypatch.setenv(entities.ENV, str(tmp_path / "bad.yaml"))
    code, err = score(capsys, tmp_path / "t.txt", "-o", tmp_path / "s2.parquet", "--model", model_dir)
    assert code == 2 and "bad.yaml: entity 'Acme': type must be one of" in err
    assert not (tmp_path / "s2.parquet").exists()


@pytest.mark.parametrize("batch_size", ["1", "2000"])
def test_rows_sharing_an_id_keep_their_own_date_and_source(model_dir, tmp_path, capsys, batch_size):
    """Two tables whose ids repeat (1, 2 in January's and June's exports): each paragraph took the date and source
    of the first row of its id in the batch, so June's rows were January's Reuters, unless batches were one row."""
    folder = tmp_path / "tables"
    folder.mkdir()
    text = "MOFCOM tightened export licences for terbium and dysprosium magnets."
    for name, date, source in (("jan", "2025-01-10", "Reuters"), ("jun", "2025-06-10", "Caixin")):
        pd.DataFrame({"id": ["1", "2"], "text": [text, text + " Prices rose."], "date": [date] * 2,
                      "source": [source] * 2}).to_csv(folder / f"{name}.csv", index=False)
    out = tmp_path / "s.csv"
    code, err = score(capsys, folder, "-o", out, "--model", model_dir, "--id-column", "id", "--batch-size", batch_size)
    assert code == 0, err
    rows = pd.read_csv(out, dtype=str)
    assert rows["date"].tolist() == ["2025-01-10"] * 2 + ["2025-06-10"] * 2
    assert rows["source"].tolist() == ["Reuters"] * 2 + ["Caixin"] * 2


def test_a_summary_names_no_firm_that_only_page_furniture_names(model_dir, tmp_path, capsys):
    """Every page of a site got 'China Northern Rare Earth' from its 上一篇 (previous article) link."""
    page = tmp_path / "page.txt"
    page.write_text("包钢集团召开深化改革工作推进会\n\n包钢集团召开会议,研究部署混合所有制改革重点任务。\n\n"
                    "上一篇:北方稀土召开一季度经营分析会\n", encoding="utf-8")
    out, summary = tmp_path / "s.csv", tmp_path / "docs.csv"
    code, err = score(capsys, page, "-o", out, "--model", model_dir, "--summary", summary)
    assert code == 0, err
    assert pd.read_csv(out)["kind"].iloc[-1] == "furniture"
    assert pd.read_csv(summary)["entities"].tolist() == ["Baogang"]


def test_a_pages_headline_outside_its_main_text_is_scored_as_its_title(tmp_path):
    """Chinese news and government pages keep the headline beside the block trafilatura takes: it was never
    a paragraph, though a file of the same article has it as its title."""
    from pipeline.scoring.inputs import html_unit

    title = "包钢集团召开2025年安全环保工作会议"
    body = "".join(f"<p>\u3000\u3000{p}</p>" for p in [
        "2月17日,包钢集团召开2025年安全环保工作会议,总结2024年安全环保工作,安排部署2025年重点工作。",
        "会议通报了两起生产安全事故,要求各单位全面排查治理重大事故隐患,坚决防范遏制重特大事故。",
        "会议强调,要持续推进尾矿库综合治理和稀土冶炼废水达标排放,全力配合中央生态环境保护督察整改工作。",
        "会议还对集团公司2024年度安全环保先进单位和个人进行了表彰。"])
    page = (f"<html><head><meta charset='utf-8'><title>{title}_包头新闻网</title><meta property='og:site_name' "
            f"content='包头新闻网'></head><body><div class='top'>首页 | 新闻 | 时政</div><div class='article'><h1>{title}</h1>"
            f"<div class='info'>2025年02月18日 来源:包头日报 浏览次数:1523</div><div class='content'>{body}</div>"
            f"<div class='editor'>(责任编辑:张伟)</div></div></body></html>").encode()
    paragraphs = split_article(html_unit(page, "page.html", "page.html").text)
    assert (paragraphs[0]["kind"], paragraphs[0]["text"]) == ("title", title), paragraphs[:2]
    assert sum(p["text"] == title for p in paragraphs) == 1
