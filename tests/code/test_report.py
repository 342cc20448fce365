"""`policy-signals report`: the README's dated example built for real, its HTML checked, and the page
rendered in headless Chromium (charts drawn, tables filled, no console error, no request)."""
import asyncio
import re

import duckdb
import lxml.html
import pandas as pd
import pytest

from pipeline.cli import main
from pipeline.config import write_json
from pipeline.reporting import batchlog, report
from pipeline.reporting.example import find_date
from pipeline.reporting.index import moves
from pipeline.signals import SIGNALS
from tests import browser
from tests.conftest import REPO, run
from tests.code.test_index import scores


def readme_example() -> list[str]:
    """The commands of the README's dated example (the sh block of its Reports section)."""
    section = REPO.joinpath("README.md").read_text(encoding="utf-8").split("## Reports", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL).group(1)
    return [line for line in block.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def example(tmp_path_factory, model_dir):
    """The README's example, run command by command in a fresh folder with the trained model as models/."""
    folder = tmp_path_factory.mktemp("readme")
    (folder / "models").symlink_to(model_dir)
    for command in readme_example():
        done = run(["bash", "-c", command], folder)
        assert done.returncode == 0, f"{command}\n{done.stderr}"
    return folder / "example"


def test_the_readme_example_scores_dated_html_text_and_csv_into_an_index_and_a_report(example):
    inputs = example / "inputs"
    pages, notes, wire = sorted(inputs.glob("pages/*.html")), sorted(inputs.glob("notes/*.md")), pd.read_csv(inputs / "wire.csv")
    assert min(len(pages), len(notes), len(wire)) > 50
    given = {"pages": sum("article:published_time" in p.read_text(encoding="utf-8") for p in pages),
             "notes": sum("\ndate: " in p.read_text(encoding="utf-8") for p in notes), "csv": int(wire["date"].notna().sum())}
    assert min(given.values()) > 20  # each format carries dates for many of its documents
    scored = pd.read_parquet(example / "scores.parquet")
    per_doc = scored.groupby("doc_id")[["date", "source"]].first()
    # a file's id starts with its folder; a CSV row's is its doc_id column (an article's name, which may hold
    # "pages", as "line-stoppages" does)
    kinds = per_doc.index.str.extract(r"(?:^|/)(pages|notes)/", expand=False).fillna("csv")
    assert per_doc["date"].notna().groupby(kinds.to_numpy()).sum().to_dict() == given  # every date given was read
    assert per_doc["source"].notna().all() and len(per_doc) == len(pages) + len(notes) + len(wire)
    assert scored["entities"].str.contains("Baogang").sum() > 50
    index = pd.read_parquet(example / "index.parquet")
    assert {"Baogang", "MOFCOM", "China Rare Earth Group"} <= set(index["entity"])
    assert (index["share_export_low"] <= index["share_export"]).all() and (index["share_export"] <= index["share_export_high"]).all()
    assert (example / "report.html").stat().st_size < 2_000_000
    # dated from mastheads and datelines, not from history in the prose ("in October 1934", "In September 2010")
    assert pd.to_datetime(per_doc["date"].dropna()).min() >= pd.Timestamp("2009-01-01")


@pytest.mark.parametrize("text, date", [
    ("Client note | Metals | 18 September 2025\n\nPrices rose in March 2024.", "2025-09-18"),
    ("NEW DELHI, June 2025 (wire) - Makers warn of shortages.", "2025-06-01"),
    ("Ganzhou, May 2019: a visit\n\nNotes | an investor blog | December 2021", "2021-12-01"),
    ("The storeroom is a monument to September 2010, when a trawler collided with coastguard vessels.", None),
    ("Rules take effect on 1 October 2024.\n\nThe group was formed in December 2021.", None),
    ("发布时间：2024-06-19\n\n集团于2023年5月召开会议。", "2024-06-19"),
    ("集团于2023年5月召开会议。", None),
])
def test_the_example_dates_an_article_by_its_masthead_or_dateline_only(text, date):
    assert find_date(text) == date


@pytest.fixture(scope="module")
def page(example):
    return lxml.html.fromstring((example / "report.html").read_bytes())


def test_the_report_is_self_contained(example):
    html = (example / "report.html").read_text(encoding="utf-8")
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?!#|data:)\w""", html)  # nothing to fetch, only fragments
    assert "default-src 'none'" in html  # and the page's policy would block it anyway


def test_the_report_sections_agree_with_the_scores(example, page):
    con = duckdb.connect()  # page furniture is left out of the report's counts
    con.execute(f"CREATE VIEW news AS SELECT * FROM '{example}/scores.parquet' WHERE kind <> 'furniture'")
    assert con.execute(f"SELECT count(*) FROM '{example}/scores.parquet' WHERE kind = 'furniture'").fetchall()[0][0] > 0
    documents, paragraphs = con.execute("SELECT count(DISTINCT doc_id), count(*) FROM news").fetchall()[0]
    assert page.get_element_by_id("n-documents").text_content() == f"{documents:,}"
    assert page.get_element_by_id("n-paragraphs").text_content() == f"{paragraphs:,}"
    assert page.get_element_by_id("n-failed").text_content() == "0"
    flagged = {row.xpath("td")[0].text: int(row.xpath("td")[1].text.replace(",", ""))
               for row in page.get_element_by_id("signal-table").xpath("tr[td]")}
    assert flagged == {s: int(con.execute(f"SELECT sum({s}) FROM news").fetchall()[0][0]) for s in SIGNALS}
    figures = page.xpath("//section[@id='trends']//figure")
    undated = con.execute("SELECT count(*) FROM news WHERE date IS NULL").fetchall()[0][0]
    assert f"{undated:,} undated paragraph(s) are left out of the charts" in page.get_element_by_id("trends").text_content()
    mentions = con.execute("SELECT entities FROM news WHERE date IS NOT NULL").df()["entities"].str.split("; ").explode()
    counts = mentions[mentions.ne("")].value_counts()
    most = sorted(counts.index[counts.eq(counts.max())])[0]  # the most-mentioned entity charted first (ties by name)
    assert [f.get("data-entity") for f in figures][:2] == ["All dated paragraphs", most] and len(figures) == 7
    significant = moves(pd.read_parquet(example / "index.parquet"), "entity", "Q")  # the README's index, quarterly too
    assert len(page.get_element_by_id("moves-table").xpath("tr[td]")) == min(20, len(significant)) >= 10
    for signal in SIGNALS:
        shown = page.xpath(f"//div[@data-signal='{signal}']")
        assert len(shown) == 5 and all(p.xpath(".//mark") for p in shown), signal
    rows = page.get_element_by_id("document-table").xpath("tr[td]")
    assert len(rows) == min(300, documents)
    assert all(cell.text.isdigit() for row in rows for cell in row.xpath("td[@class='num']"))  # counts, not "4.0"


def test_failed_inputs_caps_and_missing_text_are_shown(tmp_path, capsys):
    rows = [(f"d{i % 40}", f"2025-0{1 + i % 3}-10", "A", "Lynas" if i % 2 else "MOFCOM; Lynas", i % 3 == 0)
            for i in range(400)]
    path = tmp_path / "s.parquet"
    scores(rows).to_parquet(path)
    write_json(batchlog.path_for(path), batchlog.record(path, ["in/"], ["in/broken.txt", "in/bad.csv"],
                                                      ["x: date 'soon' has no four-digit year"], 400))
    out = tmp_path / "r.html"
    assert main(["report", str(path), "-o", str(out), "--max-documents", "10", "--entities", "1"]) == 0
    page = lxml.html.fromstring(out.read_bytes())
    assert page.get_element_by_id("n-failed").text_content() == "2"
    assert "in/broken.txt, in/bad.csv" in page.text_content() and "1 document(s) had a date" in page.text_content()
    assert len(page.get_element_by_id("document-table").xpath("tr[td]")) == 10
    assert "The 10 documents with the most flags, of 40." in page.text_content()
    assert "score with --include-text" in page.text_content()
    assert len(page.xpath("//section[@id='trends']//svg")) == 2  # all paragraphs + the one entity asked for
    assert main(["report", str(path), "-o", str(tmp_path / "r.pdf")]) == 2
    assert "report output must end in .html" in capsys.readouterr().err


def test_explaining_ngrams_are_highlighted_in_the_text():
    text = "MOFCOM tightened export-licences for terbium; Exporters said licensing slowed."
    pieces = report.highlight(text, "export licences (+1.20); ' licen' (+0.30); terbium (+0.10)")
    assert [p for p, label in pieces if label] == ["export-licences", "terbium", "licen"]
    assert "".join(p for p, _ in pieces) == text
    assert report.highlight(text, "not an explanation (") == [(text, None)]


def test_chinese_ngrams_are_highlighted_where_the_model_reads_them():
    # Every Han character is a word token of its own, so a Han bigram has no word edge around it or inside it;
    # a Latin word beside Han text is still a word of its own, but not a piece of a longer one.
    text = "集团公司深化国企改革，推动辅业资产整合重组，建设5G工厂。"
    pieces = report.highlight(text, "整合 (+2.23); 重组 (+1.11); 改革 (+0.95); 设 5g (+0.40)")
    assert [p for p, label in pieces if label] == ["改革", "整合", "重组", "设5G"]
    assert "".join(p for p, _ in pieces) == text
    assert [p for p, label in report.highlight(text, "5g (+0.40)") if label] == ["5G"]
    assert [p for p, label in report.highlight("The 5Gx line", "5g (+0.40)") if label] == []
    # overlapping n-grams at one place: the longest is marked (the shortest was: 推进<智><能制>造)
    marked = [p for p, label in report.highlight("推进智能制造", "智能 (+2.26); 智 (+1.80); 能制 (+0.90)") if label]
    assert marked == ["智能"]


class RecordingPage(browser.Page):
    """A tab that also records the URL of every request it makes."""

    def __init__(self, socket):
        super().__init__(socket)
        self.requests = []

    def _event(self, message: dict) -> None:
        if message.get("method") == "Network.requestWillBeSent":
            self.requests.append(message["params"]["request"]["url"])
        super()._event(message)


def test_the_report_renders_in_headless_chromium(example, tmp_path, monkeypatch):
    monkeypatch.setattr(browser, "Page", RecordingPage)
    url = (example / "report.html").as_uri()

    async def check(page):
        await page.send("Network.enable")
        await page.send("Page.reload", ignoreCache=True)  # load again with every request recorded
        await page.wait_for("document.readyState === 'complete' && document.querySelectorAll('svg.chart').length > 0")
        charts = await page.js("""[...document.querySelectorAll('svg.chart')].map(svg => {
            const box = svg.getBoundingClientRect();
            const drawn = [...svg.querySelectorAll('path')].filter(p => { const b = p.getBBox(); return b.width > 0 || b.height > 0; });
            return [svg.dataset.chart, Math.round(box.width), Math.round(box.height), drawn.length]; })""")
        tables = await page.js("Object.fromEntries([...document.querySelectorAll('table')].map("
                               "t => [t.id, t.querySelectorAll('tr td').length]))")
        marks = await page.js("document.querySelectorAll('#paragraphs mark').length")
        return charts, tables, marks, page.errors, page.requests

    charts, tables, marks, errors, requests = asyncio.run(browser.open_page(url, tmp_path / "profile", check))
    assert len(charts) == 8  # the counts bars, all dated paragraphs, six entities
    for name, width, height, drawn in charts:
        assert width > 300 and height > 100 and drawn >= 5, (name, width, height, drawn)
    assert all(tables[t] > 10 for t in ("signal-table", "moves-table", "document-table")), tables
    assert marks >= 25
    assert errors == []
    assert requests == [url]  # the page itself and nothing else


def test_a_batch_without_dates_still_gets_a_report(tmp_path):
    path = tmp_path / "s.parquet"
    scores([("a", None, "A", "Lynas", 1), ("b", None, None, "", 0)]).to_parquet(path)
    assert main(["report", str(path), "-o", str(tmp_path / "r.html")]) == 0
    page = lxml.html.fromstring((tmp_path / "r.html").read_bytes())
    assert "No dated paragraphs" in page.text_content() and not page.xpath("//section[@id='trends']//svg")
    assert len(page.get_element_by_id("document-table").xpath("tr[td]")) == 2
